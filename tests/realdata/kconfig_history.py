"""The per-blob Kconfig reader against the full reader, on real mainline tags.

A local check (CI has no mainline history; ``tests/test_kconfig_files.py`` runs the
same comparison on fixture trees in CI). For each tag and srcarch, every symbol the
tree defines is decided by the full reader and by ``kconfig_files`` (tables filled
on demand, files parsed once per blob): value, deciding file and line, reason,
warnings and the files read must be equal. Exit status 1 on any difference.

    python -m tests.realdata.kconfig_history /work/real/linux.git \\
        v2.6.12,v2.6.20,v2.6.28,v3.1 x86:x86_64,i386:i386,arm:arm,mips:mips,powerpc:powerpc
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from extractor import kconfig, kconfig_files
from extractor.source_git import GitObjects


def decide(tree, srcarch: str, make_arch: str, indexed: bool, wanted=None):
    kconfig.INDEXED[0] = indexed
    kconfig._READ.clear()
    kconfig_files.forget()
    try:
        return kconfig.alldefconfig(tree, srcarch, make_arch=make_arch, wanted=wanted)
    finally:
        kconfig.INDEXED[0] = True


def rows(values) -> dict[str, tuple[str, str, int, str]]:
    return {s: (v.value, v.path, v.line, v.reason) for s, v in values.items()}


def main(argv: list[str]) -> int:
    repo, revs, arches = Path(argv[0]), argv[1].split(","), argv[2].split(",")
    differences = 0
    with GitObjects(repo) as objects:
        for rev in revs:
            tree = objects.resolve(rev)
            for srcarch, make_arch in (a.split(":") for a in arches):
                full = decide(tree, srcarch, make_arch, False)
                if full is None:
                    print(f"{rev} {srcarch}: no Kconfig root")
                    continue
                names = sorted(full.defined)
                started = time.monotonic()
                lazy = decide(tree, srcarch, make_arch, True, names)
                seconds = time.monotonic() - started
                full_rows, lazy_rows = rows(full), rows(lazy)
                differ = sorted(n for n in full_rows.keys() | lazy_rows.keys()
                                if full_rows.get(n) != lazy_rows.get(n))  # fmt: skip
                same = full.warnings == lazy.warnings and full.files == lazy.files
                differences += len(differ) + (not same)
                print(
                    f"{rev} {srcarch} ARCH={make_arch}: {len(names)} symbols, "
                    f"{len(differ)} differ {differ[:3]}, warnings and files "
                    f"{'equal' if same else 'DIFFER'} ({seconds:.2f} s)"
                )
    print(f"{differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
