"""Incremental equals scratch on real headers: Debian's 6.1 and 6.12 builds.

The fixture-history test (``tests/test_incremental.py``) on real material: every
cell (each Debian headers tag × every arch × every profile) computed through the
memos, in several revision orders, must equal the same cell computed with every
memo dropped first. Real headers are where the closure changes between tags in
ways the fixtures do not model.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from extractor import memo, memos
from extractor.arches import ARCHES
from extractor.config import make_config, profile_names
from extractor.scan import analyse
from extractor.source_git import GitObjects

pytestmark = pytest.mark.realdata

#: five of the table's ten arches, every profile of each (all ten take
#: 18 minutes here; these five cover both x86 models, both word sizes and the
#: Kconfig-derived page sizes)
ARCH_NAMES = ("x86_64", "i386", "arm64", "powerpc64", "riscv")
CELLS = [(a, p) for a in ARCH_NAMES for p in profile_names(ARCHES[a])]


def _cell(objects: GitObjects, rev: str, arch_name: str, profile: str) -> tuple:
    arch = ARCHES[arch_name]
    config = make_config(profile, arch, kconfig=arch.kconfig_defaults)
    analysis = analyse(objects.resolve(rev), arch, config, allocation=True)
    table = analysis.table
    regions = table.preprocessor.regions if table is not None else None
    return analysis.result.as_dict(), regions, analysis.result.inputs  # inputs: blob ids read


@pytest.fixture(scope="module")
def scratch(debian_repo: tuple[Path, dict[str, Path]]) -> dict:
    repo, tags = debian_repo
    found = {}
    with GitObjects(repo) as objects:
        for rev in sorted(tags):
            for a, p in CELLS:
                memos.forget()
                found[(rev, a, p)] = _cell(objects, rev, a, p)
    memos.forget()
    return found


@pytest.mark.parametrize("order", ["backward", "shuffled"])
def test_incremental_equals_scratch_on_real_headers(debian_repo, scratch, order):
    repo, tags = debian_repo
    revs = sorted(tags)
    if order == "backward":
        revs.reverse()
    elif order == "shuffled":
        revs = revs * 2
        random.Random(order).shuffle(revs)
    memos.forget()
    replayed = memo.MEMO.replayed
    with GitObjects(repo) as objects:
        differ = [
            (rev, a, p)
            for rev in revs
            for a, p in CELLS
            if _cell(objects, rev, a, p) != scratch[(rev, a, p)]
        ]
    memos.forget()
    assert len(revs) >= 4 and all(a in ARCHES for a in ARCH_NAMES)
    assert differ == []
    assert memo.MEMO.replayed > replayed, "the memo was never used: the test proves nothing"
