"""Real mainline releases, arch by arch, against gcc under the same config.

A local check (CI has no mainline history): for every release tag of a repository
(``vX.Y`` or ``vX.Y.Z``, no ``-rc``), kstack's default profile (the tree's own
alldefconfig, read by kstack's Kconfig reader) for each arch asked (arm and mips
unless ``--arch`` says), and gcc on the same
tree: ``git archive`` of ``include/`` and ``arch/<srcarch>/``, ``autoconf.h`` written
from kstack's alldefconfig values, the links the build made (``include/asm``,
``include/asm-arm/arch``), and ``gcc -E -dM`` with kbuild's -I list and the dirs the
arch Makefile adds for that config. A header a build generates is an empty stand-in
(an ``asm-generic`` wrapper where the tree has one), as in ``gcc_reference``.

    python -m tests.realdata.real_history /work/real/linux.git [tag-glob] [--arch A ...]
        [--config PROFILE]

``--config`` seeds the alldefconfig with a profile's symbols (``4kstacks`` for
i386 up to 2.6.37, ``4k-pages`` for powerpc64); gcc is given the same config.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import subprocess
import tempfile
from pathlib import Path

from extractor.arches import ARCHES as KSTACK_ARCHES
from extractor.config import make_config
from extractor.scan import analyse
from extractor.source_git import GitObjects

from .gcc_reference import _COMMON_DEFINES, _MODEL_DEFINES, ARCHES, compare, gcc_fold, parse_dm

_RELEASE = re.compile(r"^v\d+\.\d+(\.\d+)?$")
_MISSING = re.compile(r"fatal error: (\S+): No such file or directory")


def releases(repo: Path, pattern: str = "v*") -> list[str]:
    tags = subprocess.run(
        ["git", "-C", str(repo), "tag"], capture_output=True, text=True, check=True
    ).stdout.split()
    found = [t for t in tags if _RELEASE.match(t) and fnmatch.fnmatch(t, pattern)]
    return sorted(found, key=lambda t: [int(p) for p in t[1:].split(".")])


def _extract(repo: Path, tag: str, srcarch: str, into: Path) -> None:
    paths = ["include"]
    arch_dir = f"arch/{srcarch}"
    here = ["git", "-C", str(repo), "cat-file", "-e", f"{tag}:{arch_dir}"]
    if subprocess.run(here, capture_output=True, check=False).returncode == 0:
        paths.append(arch_dir)  # (arch/powerpc is 2.6.15's; older trees had arch/ppc)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", tag, *paths],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def gcc_values(
    repo: Path, tag: str, arch: str, layout: object, work: Path, extras: tuple[str, ...] = ()
) -> dict:
    """gcc's values of the arch's constants on ``tag`` under kstack's resolved config,
    the arch's entry headers included, then ``extras`` (see ``asm_extras``)."""
    spec = ARCHES[arch]
    tree = work / "tree"
    tree.mkdir()
    _extract(repo, tag, spec.srcarch, tree)
    config = layout.config  # type: ignore[attr-defined]
    generated = work / "generated"
    (generated / "generated").mkdir(parents=True)
    autoconf = generated / "generated" / "autoconf.h"
    autoconf.write_text("".join(f"#define {k} {v}\n" for k, v in config.macros().items()))
    if layout.era != "arch":  # type: ignore[attr-defined]
        # what the old build made: include/asm -> asm-<arch>, include/asm-arm/arch -> ...
        os.symlink(Path(layout.asm_dir).name, tree / "include" / "asm")  # type: ignore[attr-defined]
    for link, target in layout.links.items():  # type: ignore[attr-defined]
        place = tree / link  # (arch/powerpc/include/asm: a directory the build made)
        place.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(tree / target, place.parent), place)
    dirs = [tree / d for d in layout.include_dirs]  # type: ignore[attr-defined]
    dirs.insert(1, generated)
    major = layout.gcc[0]  # type: ignore[attr-defined]
    defines = {**_COMMON_DEFINES, **_MODEL_DEFINES[spec.model], **spec.defines}
    defines |= {"__GNUC__": str(major), "__GNUC_MINOR__": "0", "__GNUC_PATCHLEVEL__": "0"}
    # what any Linux-targeting gcc predefines; old sgidefs.h refuses to go without it
    defines |= {"__linux__": "1", "__linux": "1", "__unix__": "1", "__ELF__": "1"}
    source = work / "entries.c"
    entries = [*KSTACK_ARCHES[arch].entries, *extras]
    source.write_text("".join(f"#include <{e}>\n" for e in entries))
    argv = ["gcc", "-E", "-dM", "-nostdinc", "-undef", "-x", "c"]
    argv += [f"-I{d}" for d in dirs] + [f"-D{k}={v}" for k, v in defines.items()]
    argv += ["-include", str(autoconf), str(source)]
    for _ in range(100):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        missing = _MISSING.search(proc.stderr)
        if proc.returncode == 0 or not missing:
            break
        stand_in = generated / missing.group(1)
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        generic = tree / "include" / "asm-generic" / missing.group(1).removeprefix("asm/")
        wrapper = missing.group(1).startswith("asm/") and generic.is_file()
        stand_in.write_text(f"#include <asm-generic/{generic.name}>\n" if wrapper else "\n")
    if proc.returncode != 0:
        return {"error": " | ".join(x for x in proc.stderr.splitlines() if "error" in x)[:300]}
    macros = parse_dm(proc.stdout)
    return gcc_fold(macros.text, KSTACK_ARCHES[arch].constants, spec.model)


def asm_extras(result: object, asm_dir: str) -> tuple[str, ...]:
    """The asm headers kstack read after the entries: a constant no entry header
    reaches is looked for in the asm directory and its header included (old
    x86_64 keeps ``EXCEPTION_STKSZ`` in ``processor.h``); gcc is given the same."""
    files = {c.path for c in result.constants.values() if c.path}  # type: ignore[attr-defined]
    inside = sorted(f[len(asm_dir) + 1 :] for f in files if f.startswith(asm_dir + "/"))
    return tuple(f"asm/{name}" for name in inside)


#: the arches checked unless asked for others
DEFAULT_ARCHES = ("arm", "mips")


def check(
    repo: Path,
    pattern: str = "v*",
    arches: tuple[str, ...] = DEFAULT_ARCHES,
    profile: str = "default",
) -> list[tuple[str, str, object, str]]:
    """(tag, arch, kstack's THREAD_SIZE or its error, gcc's verdict) per release,
    under ``profile`` (the tree's alldefconfig seeded with the profile's symbols)."""
    rows: list[tuple[str, str, object, str]] = []
    with GitObjects(repo) as objects:
        for tag in releases(repo, pattern):
            tree = objects.resolve(tag)
            for arch in arches:
                if rows:
                    print("{:9} {:5} THREAD_SIZE={}  gcc: {}".format(*rows[-1]), flush=True)
                analysis = analyse(
                    tree, KSTACK_ARCHES[arch], make_config(profile, KSTACK_ARCHES[arch])
                )
                result = analysis.result
                if result.error is not None or analysis.layout is None:
                    rows.append((tag, arch, f"error: {result.error}", "-"))
                    continue
                size = (
                    result.constants["THREAD_SIZE"].value
                    if "THREAD_SIZE" in result.constants
                    else None
                )
                with tempfile.TemporaryDirectory(prefix="kstack-history-") as tmp:
                    extras = asm_extras(result, analysis.layout.asm_dir)
                    reference = gcc_values(repo, tag, arch, analysis.layout, Path(tmp), extras)
                if "error" in reference:
                    rows.append((tag, arch, size, f"gcc failed: {reference['error']}"))
                    continue
                problems, compared, _ = compare(result.as_dict() | {"rev": tag}, reference)
                verdict = f"agrees on {len(compared)}" if not problems else "; ".join(problems)
                rows.append((tag, arch, size, verdict))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("pattern", nargs="?", default="v*")
    parser.add_argument("--arch", action="append", choices=sorted(ARCHES))
    parser.add_argument("--config", default="default", help="a profile (default: default)")
    options = parser.parse_args()
    chosen = tuple(options.arch or DEFAULT_ARCHES)
    table = check(options.repo, options.pattern, chosen, options.config)
    print("{:9} {:5} THREAD_SIZE={}  gcc: {}".format(*table[-1]))
    for arch in chosen:
        mine = [row for row in table if row[1] == arch]
        sized = [row for row in mine if isinstance(row[2], int)]
        agree = [row for row in mine if str(row[3]).startswith("agrees")]
        print(
            f"{arch}: THREAD_SIZE on {len(sized)}/{len(mine)} releases, gcc agrees on {len(agree)}"
        )
