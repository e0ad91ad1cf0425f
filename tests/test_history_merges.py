"""history names the commit that made a change, and the merge that carried it.

Each case is a small repository written by ``git fast-import`` from the table
below: commits on ``main`` (the first-parent line) and on branches, merges
between them, each commit's THREAD_SIZE_ORDER (THREAD_SIZE = 4096 << order)
and a comment naming the commit, so that every commit touches the header
and is a candidate. Tags v1 and v2 bound the change that history reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import badinput
import pytest
from click.testing import CliRunner

from extractor.cli import cli


@dataclass(frozen=True)
class C:
    """A commit: its subject, branch, parents (subjects; the first is the first parent)."""

    subject: str
    branch: str
    parents: tuple[str, ...]
    order: int
    tags: tuple[str, ...] = ()
    #: a merge that takes this commit's tree as it is (the header's comment included)
    tree_of: str | None = None


def stream(commits: list[C]) -> bytes:
    marks = {c.subject: n for n, c in enumerate(commits, 1)}
    out: list[bytes] = []
    for n, commit in enumerate(commits, 1):
        when = b"%d +0000" % (badinput.EPOCH + 3600 * n)
        who = badinput.IDENTITY.encode()
        out += [b"commit refs/heads/%s\n" % commit.branch.encode(), b"mark :%d\n" % n]
        out += [b"committer " + who + b" " + when + b"\n", badinput._data(commit.subject.encode())]
        for number, parent in enumerate(commit.parents):
            verb = b"merge" if number else b"from"
            out.append(b"%s :%d\n" % (verb, marks[parent]))
        comment = (commit.tree_of or commit.subject).encode()
        files = badinput.with_page_64_types(b"/* " + comment + b" */", order=b"%d" % commit.order)
        out.append(b"deleteall\n")
        for path, content in sorted(files.items()):
            assert isinstance(content, bytes)
            out += [b"M 100644 inline " + path.encode() + b"\n", badinput._data(content)]
        for tag in commit.tags:
            out += [b"tag " + tag.encode() + b"\n", b"from :%d\n" % n]
            out += [b"tagger " + who + b" " + when + b"\n", badinput._data(tag.encode())]
    return b"".join(out)


def build(path: Path, commits: list[C]) -> Path:
    path.mkdir(parents=True)
    badinput.git(path, "init", "-q", "--bare")
    badinput.git(path, "fast-import", "--quiet", "--date-format=raw", stdin=stream(commits))
    return path


BASE = C("base", "main", (), 1, ("v1",))

CASES = {
    # a change on a branch, merged later: the branch's commit, and the merge; a
    # branch merged after it, whose commits have the old value, does not confuse it
    "side-branch": (
        [
            BASE,
            C("main: tidy", "main", ("base",), 1),
            C("side: prepare", "side", ("base",), 1),
            C("side: double the stacks", "side", ("side: prepare",), 2),
            C("side: follow-up", "side", ("side: double the stacks",), 2),
            C("Merge branch 'side'", "main", ("main: tidy", "side: follow-up"), 2),
            C("other: step 1", "other", ("base",), 1),
            *[C(f"other: step {n}", "other", (f"other: step {n - 1}",), 1) for n in (2, 3, 4)],
            C("Merge branch 'other'", "main", ("Merge branch 'side'", "other: step 4"), 2),
            C("Linux 2", "main", ("Merge branch 'other'",), 2, ("v2",)),
        ],
        "8192 -> 16384",
        [("8192", "16384", "side: double the stacks", "Merge branch 'side'")],
    ),
    # the merge takes the branch's header as it is (git lists it on the first-parent
    # line all the same: it differs from its first parent)
    "merge-takes-the-branch": (
        [
            BASE,
            C("side: double the stacks", "side", ("base",), 2),
            C("side: follow-up", "side", ("side: double the stacks",), 2),
            C("main: elsewhere", "main", ("base",), 1, tree_of="base"),
            C(
                "Merge branch 'side'",
                "main",
                ("main: elsewhere", "side: follow-up"),
                2,
                tree_of="side: follow-up",
            ),
            C("Linux 2", "main", ("Merge branch 'side'",), 2, ("v2",), tree_of="side: follow-up"),
        ],
        "8192 -> 16384",
        [("8192", "16384", "side: double the stacks", "Merge branch 'side'")],
    ),
    # two branches each make the change, one merged into the other: both named
    "two-branches": (
        [
            BASE,
            C("a: double the stacks", "a", ("base",), 2),
            C("b: double the stacks too", "b", ("base",), 2),
            C("main: tidy", "main", ("base",), 1),
            C(
                "Merge branch 'b' into a",
                "a",
                ("a: double the stacks", "b: double the stacks too"),
                2,
            ),
            C("Merge branch 'a'", "main", ("main: tidy", "Merge branch 'b' into a"), 2),
            C("Linux 2", "main", ("Merge branch 'a'",), 2, ("v2",)),
        ],
        "8192 -> 16384",
        [
            ("8192", "16384", "a: double the stacks", "Merge branch 'a'"),
            ("8192", "16384", "b: double the stacks too", "Merge branch 'a'"),
        ],
    ),
    # one branch changes it, another changes it back, a third changes it again
    "revert-across-branches": (
        [
            BASE,
            C("a: double the stacks", "a", ("base",), 2),
            C("Merge branch 'a'", "main", ("base", "a: double the stacks"), 2),
            C("b: Revert 'a: double the stacks'", "b", ("Merge branch 'a'",), 1),
            C(
                "Merge branch 'b'",
                "main",
                ("Merge branch 'a'", "b: Revert 'a: double the stacks'"),
                1,
            ),
            C("c: quadruple the stacks", "c", ("Merge branch 'b'",), 3),
            C("Merge branch 'c'", "main", ("Merge branch 'b'", "c: quadruple the stacks"), 3),
            C("Linux 2", "main", ("Merge branch 'c'",), 3, ("v2",)),
        ],
        "8192 -> 32768",
        [
            ("8192", "16384", "a: double the stacks", "Merge branch 'a'"),
            ("16384", "8192", "b: Revert 'a: double the stacks'", "Merge branch 'b'"),
            ("8192", "32768", "c: quadruple the stacks", "Merge branch 'c'"),
        ],
    ),
    # within one merged branch: changed, reverted, changed again; the last one landed
    "revert-within-a-branch": (
        [
            BASE,
            C("a: double the stacks", "a", ("base",), 2),
            C("b: Revert 'a: double the stacks'", "b", ("a: double the stacks",), 1),
            C(
                "Merge branch 'b' into a",
                "a",
                ("a: double the stacks", "b: Revert 'a: double the stacks'"),
                1,
            ),  # noqa: E501
            C("a: double the stacks again", "a", ("Merge branch 'b' into a",), 2),
            C("a: follow-up", "a", ("a: double the stacks again",), 2),
            C("Merge branch 'a'", "main", ("base", "a: follow-up"), 2),
            C("Linux 2", "main", ("Merge branch 'a'",), 2, ("v2",)),
        ],
        "8192 -> 16384",
        [("8192", "16384", "a: double the stacks again", "Merge branch 'a'")],
    ),
    # no merge: the commit on the first-parent line, merged by nothing
    "first-parent": (
        [
            BASE,
            C("main: tidy", "main", ("base",), 1),
            C("main: double the stacks", "main", ("main: tidy",), 2),
            C("main: follow-up", "main", ("main: double the stacks",), 2),
            C("Linux 2", "main", ("main: follow-up",), 2, ("v2",)),
        ],
        "8192 -> 16384",
        [("8192", "16384", "main: double the stacks", None)],
    ),
}


def commit_ids(repo: Path) -> dict[str, str]:
    out = badinput.git(repo, "log", "--all", "--format=%H %s")
    return {line.split(" ", 1)[1]: line.split(" ", 1)[0] for line in out.splitlines()}


def history(repo: Path, fmt: str) -> str:
    args = ["history", str(repo), "--tags", "v*", "--macro", "THREAD_SIZE", "--format", fmt]
    result = CliRunner().invoke(cli, [*args, "--no-cache", "-j", "1"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(("case"), list(CASES))
def test_history_names_the_commits_and_their_merges(tmp_path, case):
    commits, values, expected = CASES[case]
    repo = build(tmp_path / "repo.git", commits)
    ids = commit_ids(repo)
    (series,) = json.loads(history(repo, "json"))
    (change,) = series["changes"]
    assert (change["before"], change["after"], f"{change['old']} -> {change['new']}") == (
        "v1",
        "v2",
        values,
    )
    found = [(m["old"], m["new"], m["commit"], m["merged_by"]) for m in change["commits"]]
    assert found == [(old, new, ids[s], m and ids[m]) for old, new, s, m in expected]
    one = expected[0] if len(expected) == 1 else None
    assert change["commit"] == (one and ids[one[2]])
    assert change["merged_by"] == (one and one[3] and ids[one[3]])


def test_history_text_names_the_commit_then_the_merge(tmp_path):
    commits, _, _ = CASES["side-branch"]
    repo = build(tmp_path / "repo.git", commits)
    ids = commit_ids(repo)
    commit, merge = ids["side: double the stacks"], ids["Merge branch 'side'"]
    lines = history(repo, "text").splitlines()
    assert [line for line in lines if line.startswith("  v1 -> v2")] == [
        f"  v1 -> v2: 8192 -> 16384  by {commit[:12]} side: double the stacks"
        f" (merged by {merge[:12]} Merge branch 'side')"
    ]


def test_history_text_lists_every_commit_when_several_moved_the_value(tmp_path):
    commits, _, expected = CASES["two-branches"]
    repo = build(tmp_path / "repo.git", commits)
    ids = commit_ids(repo)
    lines = history(repo, "text").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  v1 -> v2"))
    assert lines[at] == "  v1 -> v2: 8192 -> 16384  (2 commits moved the value; none is picked)"
    assert lines[at + 1 : at + 3] == [
        f"    {old} -> {new} by {ids[s][:12]} {s} (merged by {ids[m][:12]} {m})"
        for old, new, s, m in expected
    ]
