"""Header versions that differ only outside directive lines share one memo entry.

pcpp reads a header's directive skeleton only (its directive lines in place, the
rest blank), so the memo keys an effect by a digest of that skeleton, not by the
blob. Each row is a version of ``page_64_types.h`` at one tag: the lines put
before its defines, and whether pcpp must run it again after the rows above.
Every tag's cell, computed with the memos kept from tag to tag, must equal the
same cell computed from scratch, with the blob ids of the files it read; a
replay that kept the blob of the version recorded is caught. The last table is
the same for what a scan of the asm directory finds (``layout.mentions``).
"""

from __future__ import annotations

import badinput
import pytest

from extractor import memo, memos, preprocess
from extractor.arches import ARCHES
from extractor.config import make_config
from extractor.scan import analyse
from extractor.source import blob_id
from extractor.source_git import GitObjects

# (tag, the lines before the defines, pcpp runs page_64_types.h again)
ROWS = [
    ("v1", (b"/* one */",), True),  # first seen
    ("v2", (b"/* two */",), False),  # a comment changed: same directive lines
    ("v3", (b"struct page;",), False),  # a declaration in place of the comment
    ("v4", (b"#define EXTRA 1",), True),  # a directive: other directive lines
    ("v5", (b"#define EXTRA 1 /* why */",), True),  # a comment on a directive line
    ("v6", (b"/* six */",), False),  # v1's directive lines again, in a blob not seen
    ("v7", (b"", b"#define EXTRA 1"), True),  # the directive a line further down
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    files = [(badinput.with_page_64_types(*middle), tag) for tag, middle, _ in ROWS]
    commits = [badinput.Commit(tree, tags=(tag,)) for tree, tag in files]
    return badinput.make_repo(tmp_path_factory.mktemp("skeleton") / "repo.git", commits)


def _cell(objects, tag):
    arch = ARCHES["x86_64"]
    analysis = analyse(objects.resolve(tag), arch, make_config("default", arch))
    return analysis.result.as_dict(), analysis.result.inputs


def _runs(monkeypatch) -> list[str]:
    """The headers pcpp runs, in order (recorded from here on)."""
    ran: list[str] = []
    original = preprocess.KernelPreprocessor._run

    def run(self, header, *args, **kwargs):
        ran.append(header.path)
        return original(self, header, *args, **kwargs)

    monkeypatch.setattr(preprocess.KernelPreprocessor, "_run", run)
    return ran


@pytest.fixture(scope="module")
def scratch(repo):
    """Each tag's cell with every memo dropped first."""
    found = {}
    with GitObjects(repo) as objects:
        for tag, _, _ in ROWS:
            memos.forget()
            found[tag] = _cell(objects, tag)
    memos.forget()
    return found


def _incremental(repo, monkeypatch):
    """Each tag's cell with the memos kept from tag to tag, and pcpp's runs of the header."""
    memos.forget()
    ran = _runs(monkeypatch)
    found = {}
    with GitObjects(repo) as objects:
        for tag, _, _ in ROWS:
            before = len(ran)
            found[tag] = (_cell(objects, tag), ran[before:].count(badinput.PAGE_64_TYPES))
    memos.forget()
    return found


@pytest.fixture(scope="module")
def incremental(repo):
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _incremental(repo, monkeypatch)


@pytest.mark.parametrize("row", ROWS, ids=[tag for tag, _, _ in ROWS])
def test_a_version_with_the_same_directive_lines_is_replayed(incremental, scratch, row):
    tag, middle, runs_again = row
    kept, runs = incremental[tag]
    assert kept == scratch[tag]
    assert kept[1][badinput.PAGE_64_TYPES] == blob_id(badinput.page_64_types(*middle))
    assert runs == (1 if runs_again else 0)


def test_a_replay_that_keeps_the_recorded_blob_is_caught(repo, scratch, monkeypatch):
    monkeypatch.setattr(memo.Recorder, "_rebound", lambda self, key, effect, blob, include: effect)
    found = _incremental(repo, monkeypatch)
    assert [tag for tag, (kept, _) in found.items() if kept != scratch[tag]] == ["v2", "v3", "v6"]


# --- one scope for the data models #if cannot tell apart --------------------------


def _pcpp_runs(repo, monkeypatch, cells):
    """pcpp's runs for each (tag, arch) cell in turn, the memos kept between them."""
    memos.forget()
    ran = _runs(monkeypatch)
    counts = []
    with GitObjects(repo) as objects:
        for tag, arch_name in cells:
            arch = ARCHES[arch_name]
            before = len(ran)
            analyse(objects.resolve(tag), arch, make_config("default", arch))
            counts.append(len(ran) - before)
    memos.forget()
    return counts


def test_i386_follows_what_x86_64_recorded(repo, monkeypatch):
    # LP64 and ILP32 #if arithmetic is the same (intmax_t), so the two arches share
    # entries: i386 after x86_64 runs pcpp only on what tests CONFIG_X86_64 itself
    alone, after = _pcpp_runs(repo, monkeypatch, [("v1", "i386"), ("v1", "x86_64")])
    first, shared = _pcpp_runs(repo, monkeypatch, [("v1", "x86_64"), ("v1", "i386")])
    assert (alone, first) == (5, 6)  # the base tree's 5 headers; x86_64 adds page_64_types.h
    assert shared < alone and after < first


def test_the_variant_followed_is_the_one_recorded_for_this_config(repo, monkeypatch):
    # at v4 page_64_types.h changed: page_types.h is followed, not run, from the
    # variant x86_64 recorded at v1, not from i386's, which is newer
    counts = _pcpp_runs(repo, monkeypatch, [("v1", "x86_64"), ("v1", "i386"), ("v4", "x86_64")])
    assert counts[2] == 1  # page_64_types.h itself


# --- a header's mentions of a name no entry header defines (layout.mentions) -----------

EXTRA = f"{badinput.ASM}/extra.h"
# (tag, extra.h, what kstack says of EXTRA there)
MENTION_ROWS = [
    ("v1", b"#define EXTRA 5\n", ("ok", 5, 1)),
    ("v2", b"enum {\n\tEXTRA = 3,\n};\n", ("not-a-macro", None, 2)),  # same path, other blob
    ("v3", b"/* none */\n", ("unknown", None, None)),
]


def test_mentions_of_a_missing_name_follow_the_header_version(tmp_path):
    # extra.h is on no include path: kstack finds it by scanning the asm directory,
    # and what it found is kept by blob, so each tag reads its own version
    files = [({**badinput.base_tree(), EXTRA: text}, tag) for tag, text, _ in MENTION_ROWS]
    commits = [badinput.Commit(tree, tags=(tag,)) for tree, tag in files]
    repo = badinput.make_repo(tmp_path / "repo.git", commits)
    arch = ARCHES["x86_64"]
    memos.forget()
    with GitObjects(repo) as objects:
        for tag, _, (status, value, line) in MENTION_ROWS:
            found = analyse(objects.resolve(tag), arch, make_config("default", arch), ["EXTRA"])
            constant = found.result.as_dict()["constants"]["EXTRA"]
            seen = (constant["status"], constant["value"], constant["line"])
            assert seen == (status, value, line), tag
    memos.forget()
