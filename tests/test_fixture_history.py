"""The pipeline on the demo history: every era's facts, and the demo's seed table.

The expected values are the same table the fixtures are checked against with
gcc (expected_fixture_values.py), so this compares kstack with the facts.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from expected_fixture_values import NOT_A_MACRO, ROWS

from extractor import ScanRequest, Selection, scan
from extractor.cli import cli
from extractor.demo import build_demo_repo

MACROS = sorted({name for *_, values in ROWS for name in values})


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory):
    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo.git")


@pytest.fixture(scope="module")
def cells(demo_repo):
    request = ScanRequest(
        selection=Selection(path=demo_repo, tag_globs=["v*"]),
        arches=["x86_64", "i386"],
        profiles=["default", "kasan", "kasan-extra", "4kstacks"],
        macros=MACROS,
    )
    return {(r.rev, r.arch, r.config): r for r in scan(request)}


def observed(result, name):
    constant = result.constants.get(name)
    if constant is None or (
        constant.status == "unknown" and "not defined" in (constant.reason or "")
    ):
        return None
    if constant.status == "not-a-macro":
        return NOT_A_MACRO
    assert constant.status == "ok", (name, constant.reason)
    return constant.value


@pytest.mark.parametrize(
    ("era", "arch", "config", "expected"), ROWS, ids=[f"{e}-{a}-{c}" for e, a, c, _ in ROWS]
)
def test_each_era_folds_to_the_facts(cells, era, arch, config, expected):
    result = cells[(f"v{era}", arch, config)]
    assert result.error is None, str(result.error)
    got = {name: observed(result, name) for name in expected}
    assert got == expected


SEED = [
    ("v3.2", "THREAD_SIZE 8192, from THREAD_ORDER 1", "8192"),
    ("v4.4", "THREAD_SIZE 16384, from THREAD_SIZE_ORDER 2", "32768"),
    ("v4.10", "THREAD_SIZE 16384, from THREAD_SIZE_ORDER 2", "32768"),
]


def test_demo_prints_the_seed_table(demo_repo):
    result = CliRunner().invoke(cli, ["demo", "--dest", str(demo_repo)])
    assert result.exit_code == 0, result.output
    rows = {line.split(" | ")[0].strip("| "): line for line in result.output.splitlines()}
    for tag, default, kasan in SEED:
        assert rows[tag] == f"| {tag} | {default} | {kasan} |"


def test_rc_tags_only_with_rc(cells, demo_repo):
    assert ("v3.15-rc1", "x86_64", "default") not in cells
    request = ScanRequest(Selection(path=demo_repo, tag_globs=["v3.15*"], rc=True))
    assert [r.rev for r in scan(request)] == ["v3.15-rc1", "v3.15"]


def test_tag_pointing_at_a_tree_is_read(cells):
    assert cells[("v2.6.11", "x86_64", "default")].constants["THREAD_SIZE"].value == 8192


def test_a_scan_turns_the_collector_off_and_back_on(demo_repo):
    """A scan runs with the garbage collector off (its long-lived tables made
    collections a large part of the run time) and leaves it as it found it."""
    import gc

    from extractor.batch import each

    assert gc.isenabled()
    during = []
    request = ScanRequest(Selection(path=demo_repo, revs=["v3.2"]), jobs=1)
    for _ in each(request):
        during.append(gc.isenabled())
    assert during == [False]
    assert gc.isenabled()


def test_a_scan_collects_once_young_objects_pile_up(demo_repo, monkeypatch):
    """The safety net: with the collector off, a full collection runs between
    revisions once ``GC_YOUNG`` objects have accumulated."""
    import gc

    from extractor import batch

    def scan_counting(young: int) -> int:
        monkeypatch.setattr(batch, "GC_YOUNG", young)
        collections = []

        def seen(phase: str, info: dict[str, int]) -> None:
            if phase == "start" and info["generation"] == 2:
                collections.append(info)

        gc.callbacks.append(seen)
        try:
            request = ScanRequest(Selection(path=demo_repo, revs=["v3.2", "v4.4"]), jobs=1)
            list(batch.each(request))
        finally:
            gc.callbacks.remove(seen)
        return len(collections)

    assert scan_counting(0) >= 2  # every revision
    assert scan_counting(10**12) == 0
