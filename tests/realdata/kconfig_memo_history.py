"""Every Kconfig answer the memo reuses against the same answer computed afresh, on
real mainline tags.

A local check (CI has no mainline history; ``tests/test_kconfig_files.py`` has the
memo's table, and ``tests/test_incremental_mutations.py`` random Kconfig edits, in
CI). The tags are scanned in one process, through the memo, as ``kstack scan``
would; each time ``kconfig_memo.KCONFIG`` answers from an answer kept at another
revision (lines moved included), the answer is computed again from the tree and
must be equal: values with their files, lines and reasons, warnings, files read,
files missing, symbols defined. Exit status 1 on any difference.

    python -m tests.realdata.kconfig_memo_history /work/real/linux.git 'v*' \\
        x86_64,i386 default,4kstacks
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from extractor import ScanRequest, Selection, kconfig
from extractor.batch import each
from extractor.kconfig_memo import KCONFIG


def whole(values: Any) -> Any:
    if values is None:
        return None
    return dict(values), values.warnings, values.files, values.missing, values.defined


def main(argv: list[str]) -> int:
    repo, glob, arches, profiles = Path(argv[0]), argv[1], argv[2], argv[3]
    checked, differences = [0], []
    answer = KCONFIG._answer

    def checking(tree: Any, srcarch: str, key: tuple[Any, ...], compute: Any) -> Any:
        reused = KCONFIG.reused
        values = answer(tree, srcarch, key, compute)
        if KCONFIG.reused == reused:
            return values
        kept = dict(kconfig._READ)  # (reading the tree here must not change what follows)
        fresh = compute(set())
        kconfig._READ.clear()
        kconfig._READ.update(kept)
        checked[0] += 1
        if whole(fresh) != whole(values):
            differences.append((tree.rev, key[:3]))
            print(f"DIFFERENT {tree.rev} {key[:3]}", flush=True)
        return values

    KCONFIG._answer = checking  # type: ignore[method-assign]
    began = time.monotonic()
    request = ScanRequest(
        Selection(repo, tag_globs=[glob], rc=True),
        arches=arches.split(","),
        profiles=profiles.split(","),
        jobs=1,
        allocation=True,  # as ``kstack scan`` does: its conditions ask Kconfig too
    )
    cells = sum(1 for _ in each(request))
    seconds = time.monotonic() - began
    print(
        f"{cells} cells; {checked[0]} Kconfig answers reused from another revision, "
        f"{len(differences)} different from scratch ({seconds:.0f} s)"
    )
    return 1 if differences or not checked[0] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
