"""kstack's alldefconfig against each tag's own ``scripts/kconfig``, on real history.

A local check (CI has no mainline history; ``test_kconfig_tier.py`` holds kstack's
Kconfig reader to ``make alldefconfig`` on Linux 6.12 in CI's real-data tier). For
each release tag and arch:

- the tag's ``scripts/kconfig`` is built with the host's gcc, from the parser the
  tag ships (``*_shipped``; ``-fgnu89-inline`` for its old gperf output), once per
  version of that directory;
- it runs as ``conf -D SEED ROOT``, which is what ``make alldefconfig`` runs (2.6.36
  named it; ``-D`` is older), on the tag's Kconfig files from ``git archive``, with
  make's ``ARCH``, ``SRCARCH`` and ``KERNELVERSION`` and the arch's seed (x86_64's
  and s390's ``64BIT=y``, powerpc64's ``PPC64=y``) as the file;
- its ``.config`` is compared, symbol for symbol, with ``kconfig.alldefconfig`` of
  the same tag read from git objects (``m`` counts as ``y``, a missing bool as n).

Nothing in the tree is run but its Kconfig parser, on its Kconfig files.

    python -m tests.realdata.kconfig_history_vs_conf REPO [GLOB] [--arch A ...]

Exit status 1 if any symbol differs on any tag.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from extractor.arches import ARCHES
from extractor.kconfig import alldefconfig
from extractor.kconfig_source import kconfig_srcarch
from extractor.source_git import GitObjects

from .gcc_reference import config_value, written_values
from .real_history import releases

_LINE = re.compile(r"^(?:(CONFIG_\w+)=(.*)|# (CONFIG_\w+) is not set)$")


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True)


def build_conf(repo: Path, tag: str, built: Path) -> Path:
    """The tag's ``conf``, built once per version of ``scripts/kconfig``."""
    version = _git(repo, "rev-parse", f"{tag}:scripts/kconfig").stdout.decode().strip()
    conf = built / f"conf-{version[:12]}"
    if conf.exists():
        return conf
    with tempfile.TemporaryDirectory(prefix="kstack-conf-") as tmp:
        archive = _git(repo, "archive", tag, "scripts/kconfig").stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        source = Path(tmp) / "scripts" / "kconfig"
        for shipped in source.glob("*_shipped"):
            (source / shipped.name.removesuffix("_shipped")).write_bytes(shipped.read_bytes())
        subprocess.run(
            ["gcc", "-w", "-fgnu89-inline", "-o", str(conf), "conf.c", "zconf.tab.c"],
            cwd=source,
            check=True,
            capture_output=True,
        )
        (built / f"{conf.name}.c").write_bytes((source / "conf.c").read_bytes())
    return conf


def run_conf(
    conf: Path, work: Path, tag: str, arch: str, srcarch: str, dot_config: Path
) -> subprocess.CompletedProcess[str]:
    """``conf`` as ``make alldefconfig`` runs it in ``work`` (the tag's Kconfig files, or
    its whole tree): ``conf -D SEED ROOT`` with make's ``ARCH``, ``SRCARCH`` and
    ``KERNELVERSION`` and the arch's seed, writing ``dot_config``."""
    spec = ARCHES[arch]
    root = "Kconfig" if (work / "Kconfig").exists() else f"arch/{srcarch}/Kconfig"
    if not (work / root).exists():  # (kstack uses its arch table there)
        raise RuntimeError(f"no {root}: the tree has no Kconfig for this arch")
    seed = dot_config.with_name(dot_config.name + ".seed")
    seed.write_text("".join(f"{k}={v}\n" for k, v in spec.kconfig_seed.items()))
    env = {
        **os.environ,
        "ARCH": spec.make_arch or spec.name,
        "SRCARCH": srcarch,
        "KERNELVERSION": tag.removeprefix("v"),
        "KCONFIG_CONFIG": str(dot_config),
    }
    # 2.6.36 gave conf long options: --defconfig=FILE is what -D FILE was
    long = b"long_opts" in (conf.parent / f"{conf.name}.c").read_bytes()
    mode = [f"--defconfig={seed}"] if long else ["-D", str(seed)]
    return subprocess.run(
        [str(conf), *mode, root], cwd=work, env=env, capture_output=True, text=True
    )


def conf_values(
    repo: Path, tag: str, arch: str, srcarch: str, conf: Path, work: Path
) -> dict[str, str]:
    """``conf -D seed ROOT`` on the tag's Kconfig files: CONFIG_X -> value."""
    names = _git(repo, "ls-tree", "-r", "--name-only", tag).stdout.decode().split("\n")
    wanted = [n for n in names if Path(n).name.startswith("Kconfig")]
    archive = _git(repo, "archive", tag, *wanted).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    proc = run_conf(conf, work, tag, arch, srcarch, work / ".config")
    if proc.returncode != 0:
        raise RuntimeError(f"conf failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
    values = {}
    for line in (work / ".config").read_text().splitlines():
        match = _LINE.match(line)
        if match:
            name = match.group(1) or match.group(3)
            values[name] = match.group(2) if match.group(1) else "n"
    return values


def compare(repo: Path, tag: str, arch: str, built: Path) -> tuple[list[str], int]:
    """The symbols whose values differ, as ``NAME: kstack X, conf Y``, and how many
    symbols were compared."""
    spec = ARCHES[arch]
    conf = build_conf(repo, tag, built)
    with GitObjects(repo) as objects:
        tree = objects.resolve(tag)
        srcarch = kconfig_srcarch(tree, spec)
        ours = alldefconfig(
            tree, srcarch, dict(spec.kconfig_seed), make_arch=spec.make_arch or arch
        )
    assert ours is not None
    with tempfile.TemporaryDirectory(prefix="kstack-kconfig-") as tmp:
        theirs = conf_values(repo, tag, arch, srcarch, conf, Path(tmp))
    mine = written_values(ours)
    names = set(mine) | set(theirs)
    differ = sorted(
        f"{name}: kstack {mine.get(name, 'n')}, conf {theirs.get(name, 'n')}"
        for name in names
        if config_value(mine.get(name)) != config_value(theirs.get(name))
    )
    return differ, len(names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("pattern", nargs="?", default="v*")
    parser.add_argument("--arch", action="append", choices=sorted(ARCHES))
    options = parser.parse_args()
    arches = options.arch or ["x86_64", "i386"]
    differ = 0
    with tempfile.TemporaryDirectory(prefix="kstack-confs-") as built:
        for tag in releases(options.repo, options.pattern):
            for arch in arches:
                try:
                    found, count = compare(options.repo, tag, arch, Path(built))
                except (RuntimeError, subprocess.CalledProcessError) as err:
                    print(f"{tag:9} {arch:9} conf not run: {err}", flush=True)
                    continue
                differ += bool(found)
                shown = "; ".join(found[:4]) + (
                    f"; {len(found) - 4} more" if len(found) > 4 else ""
                )
                said = f"all {count} symbols the same" if not found else shown
                print(f"{tag:9} {arch:9} {said}", flush=True)
    print(f"{differ} tag and arch pairs differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
