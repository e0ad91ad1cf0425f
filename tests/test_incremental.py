"""Incremental equals scratch: every cell computed through the memos equals the
same cell computed with every memo dropped first.

The demo history's revisions are visited in several orders (forward, backward,
shuffled, jumping between eras); every arch and every profile of each arch is
computed at each, once with the process's memos (memo.py: header effects,
Kconfig reads) kept from cell to cell, and once from scratch. The full result
documents must be equal. A last row breaks the memo's key on purpose and
checks that this comparison catches it.
"""

from __future__ import annotations

import random

import pytest

from extractor import memo, memos, preprocess, preprocess_lex
from extractor.arches import ARCHES
from extractor.config import make_config, profile_names
from extractor.demo import build_demo_repo
from extractor.scan import analyse
from extractor.source_git import GitObjects
from extractor.source_revisions import Selection, revisions

CELLS = [(a, p) for a in sorted(ARCHES) for p in profile_names(ARCHES[a])]


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory):
    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo.git")


@pytest.fixture(scope="module")
def tags(demo_repo):
    with GitObjects(demo_repo) as objects:
        return revisions(objects, Selection(path=demo_repo, tag_globs=["v*"]))


def _order(name: str, tags: list[str]) -> list[str]:
    if name == "forward":
        return list(tags)
    if name == "backward":
        return list(reversed(tags))
    if name == "jumping":  # oldest, newest, second oldest, ...: every step crosses eras
        old, new = list(tags), list(reversed(tags))
        return [(old if i % 2 == 0 else new)[i // 2] for i in range(len(tags))]
    shuffled = list(tags) * 2  # each revision twice: a revision seen before, out of order
    random.Random(name).shuffle(shuffled)
    return shuffled


def _cell(objects, rev, arch_name, profile):
    arch = ARCHES[arch_name]
    config = make_config(profile, arch, kconfig=arch.kconfig_defaults)
    # allocation=True: fork.c's directives are read on top of the headers' replayed macros
    analysis = analyse(objects.resolve(rev), arch, config, allocation=True)
    # the taken and skipped regions of every file read (``line_active``) must match too:
    # a replay once restored an #if's region as noted before pcpp evaluated it
    table = analysis.table
    regions = table.preprocessor.regions if table is not None else None
    # and the blob of every file read: a header replayed from another version with the
    # same directive lines names its own (memo.Recorder._rebound)
    return analysis.result.as_dict(), regions, analysis.result.inputs


@pytest.fixture(scope="module")
def scratch(demo_repo, tags):
    """Every cell from scratch: all memos dropped before each (computed once per module)."""
    found = {}
    with GitObjects(demo_repo) as objects:
        for rev in tags:
            for a, p in CELLS:
                memos.forget()
                found[(rev, a, p)] = _cell(objects, rev, a, p)
    memos.forget()
    return found


def _differences(repo, order, scratch, cells=CELLS):
    """(rev, arch, profile) of every cell whose incremental result is not its scratch one."""
    memos.forget()
    with GitObjects(repo) as objects:
        differ = [
            (rev, a, p)
            for rev in order
            for a, p in cells
            if _cell(objects, rev, a, p) != scratch[(rev, a, p)]
        ]
    memos.forget()
    return differ


@pytest.mark.parametrize("order", ["forward", "backward", "jumping", "shuffled-1", "shuffled-2"])
def test_incremental_equals_scratch(demo_repo, tags, scratch, order):
    assert len(tags) > 5
    replayed, partial = memo.MEMO.replayed, memo.MEMO.partial
    assert _differences(demo_repo, _order(order, tags), scratch) == []
    assert memo.MEMO.replayed > replayed, "the memo was never used: the test proves nothing"
    assert memo.MEMO.partial > partial, "no header was followed with live includes"


class _Anything:
    """Equal to every value: a partial replay that checks nothing."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False


def test_a_partial_replay_that_checks_nothing_is_caught(demo_repo, tags, scratch, monkeypatch):
    # a header followed with its includes done live, its own lookups never checked
    monkeypatch.setattr(memo.Recorder, "_seen", lambda self, key: _Anything())
    assert _differences(demo_repo, _order("jumping", tags), scratch) != []


def test_a_broken_memo_key_is_caught(demo_repo, tags, scratch, monkeypatch):
    # the key without the values of the names a header's conditionals test
    monkeypatch.setattr(preprocess.KernelPreprocessor, "_depend_on_macro", lambda self, name: None)
    x86 = [(a, p) for a, p in CELLS if a in ("x86_64", "i386")]
    assert _differences(demo_repo, _order("jumping", tags), scratch, x86) != []


# --- bounds: what is dropped when a memo is full ----------------------------------


def _effect(items: int) -> memo.Effect:
    return memo.Effect({}, [("w", "x")] * items, 0, [])


def test_a_full_header_memo_drops_the_entries_used_longest_ago(monkeypatch):
    """Past MAX_ITEMS the oldest entries go, not all of them: a wholesale clear
    restarted every header cold every ~15 real tags."""
    monkeypatch.setattr(memo, "MAX_ITEMS", 30)
    headers = memo.HeaderMemo()
    for key in ("a", "b", "c"):
        headers.store((key,), _effect(10))
    assert headers.candidates(("a",))  # used: now the newest
    headers.store(("d",), _effect(10))
    assert [k for (k,) in headers.effects] == ["c", "a", "d"]
    assert headers.items == 30


def test_a_header_memo_counts_the_variants_it_drops(monkeypatch):
    monkeypatch.setattr(memo, "MAX_ITEMS", 1000)
    headers = memo.HeaderMemo()
    for _ in range(headers.VARIANTS + 5):
        headers.store(("a",), _effect(10))
    assert len(headers.effects[("a",)]) == headers.VARIANTS
    assert headers.items == 10 * headers.VARIANTS


def test_lexed_texts_are_dropped_least_recently_used_first(monkeypatch):
    monkeypatch.setattr(preprocess_lex, "MAX_LEXED_TOKENS", 6)
    monkeypatch.setattr(preprocess_lex, "_LEXED", type(preprocess_lex._LEXED)())
    monkeypatch.setattr(preprocess_lex, "_LEXED_TOKENS", [0])
    for key in ("a", "b", "c"):
        preprocess_lex.remember_lexed((key, ""), [["t", "t"]])
    preprocess_lex._LEXED.move_to_end(("a", ""))  # as a hit does
    preprocess_lex.remember_lexed(("d", ""), [["t", "t"]])
    assert [k for k, _ in preprocess_lex._LEXED] == ["c", "a", "d"]
    assert preprocess_lex._LEXED_TOKENS == [6]


def test_an_if_frame_makes_its_condition_again_after_it_changes():
    """Conditions are kept per frame between #defines; an #elif/#else must not
    leave the old branch's condition in place."""
    from extractor.conditionals import _Frame

    frame = _Frame("a.h", 3, "#if X", True, "#if X", 3, active=True, symbols=("X",))
    first = frame.condition()
    assert frame.condition() is first  # unchanged frame: the same object
    frame.line, frame.directive, frame.active = 5, "#else", False
    again = frame.condition()
    assert (again.line, again.directive, again.taken) == (5, "#else", False)
