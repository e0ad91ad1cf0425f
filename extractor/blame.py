"""Blame: the commits that moved a constant between two revisions.

In: a repository, two revisions whose value of one cell differs, the headers
the cell read (its include closure), and a way to evaluate the cell on a tree.
Out: ``Move``s, each the first commit whose tree gives a new value, with the
first-parent merge that carried it into the line between the revisions.

Work is kept to commits that touch the closure, listed by ``git rev-list``
with the closure as pathspec (git's own history simplification: a commit that
leaves every closure path as its parent had it has its parent's value):

1. Every candidate on the first-parent line from the old revision to the
   new one is evaluated, so each step of the value along it is found: a
   change, its revert, and a change again are three steps, not one. (Most
   candidates cost no preprocessing: their changes leave the directives that
   matter alone, and the cache's content key answers them.)
2. A step made by a merge is followed into the merged side (commits reachable
   from the merge but not from its first parent): from the merge down through
   parents that already have the new value, bisecting straight runs of
   commits, to the commits whose tree has the new value and whose parents do
   not. More than one such commit means several branches each made the
   change; all are named, none is picked.

Values are memoized by tree id, so a tree is evaluated once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .source_git import GitObjects, GitTree

__all__ = ["Move", "blame"]


@dataclass
class Move:
    """One commit that moved the value, and the merge that brought it in."""

    old: str
    new: str
    commit: str
    subject: str
    #: the first-parent merge that carried ``commit`` in; None when it is on that line
    merged_by: str | None = None
    merged_subject: str | None = None


@dataclass
class _Graph:
    """Commits touching the closure, each with its parents in the simplified history."""

    objects: GitObjects
    paths: list[str]
    evaluate_at: Callable[[GitTree], str]
    evaluate_many: Callable[[list[str]], dict[str, str]] | None = None
    values: dict[str, str] = field(default_factory=dict)  # tree id -> value
    commits: dict[str, Any] = field(default_factory=dict)

    def prefetch(self, shas: list[str]) -> None:
        """Evaluate many commits at once (in worker processes, where the caller has them)."""
        if self.evaluate_many is None:
            return
        tree_of = {sha: self.commit(sha).tree.hexsha for sha in shas}
        wanted = list(dict.fromkeys(s for s, t in tree_of.items() if t not in self.values))
        if wanted:
            for sha, value in self.evaluate_many(wanted).items():
                self.values[tree_of[sha]] = value

    def commit(self, sha: str) -> Any:
        if sha not in self.commits:
            self.commits[sha] = self.objects.repo.commit(sha)
        return self.commits[sha]

    def value(self, sha: str) -> str:
        commit = self.commit(sha)
        tree_id = commit.tree.hexsha
        if tree_id not in self.values:
            self.values[tree_id] = self.evaluate_at(
                GitTree(self.objects, commit.tree.binsha, commit.hexsha)
            )
        return self.values[tree_id]

    def rev_list(self, *args: str) -> list[list[str]]:
        """``git rev-list --parents ARGS -- closure``: [commit, parent, ...] per line."""
        out = self.objects.repo.git.rev_list("--parents", *args, "--", *self.paths)
        return [line.split() for line in out.splitlines()]


def blame(
    objects: GitObjects,
    start: str,
    end: str,
    paths: Iterable[str],
    evaluate_at: Callable[[GitTree], str],
    known: dict[str, str] | None = None,
    evaluate_many: Callable[[list[str]], dict[str, str]] | None = None,
) -> list[Move]:
    """Every commit that moved the value between commits ``start`` and ``end``.

    ``evaluate_at`` gives the value on one tree; ``evaluate_many``, if given,
    the values of many commits at once (commit id -> value), for the
    first-parent line. ``known`` seeds the memo (tree id -> value).
    """
    graph = _Graph(objects, sorted(paths), evaluate_at, evaluate_many, dict(known or {}))
    line = [row[0] for row in graph.rev_list("--first-parent", "--reverse", f"{start}..{end}")]
    if not line:
        return []
    base = _base_of(graph, start, end)
    graph.prefetch([base, *line])
    moves: list[Move] = []
    for step in _steps(graph, [base, *line]):
        moves += _into(graph, step)
    return moves


def _base_of(graph: _Graph, start: str, end: str) -> str:
    """The commit the first-parent line from ``end`` leaves at: ``start`` when on it."""
    oldest = graph.objects.repo.git.rev_list("--first-parent", f"{start}..{end}").split()[-1]
    parents = graph.commit(oldest).parents
    return parents[0].hexsha if parents else start


def _steps(graph: _Graph, line: list[str]) -> list[tuple[str, str]]:
    """(commit, the candidate before it) where the value changes along a first-parent line."""
    return [
        (line[n], line[n - 1])
        for n in range(1, len(line))
        if graph.value(line[n]) != graph.value(line[n - 1])
    ]


def _into(graph: _Graph, step: tuple[str, str]) -> list[Move]:
    """The commits behind one step of the first-parent line."""
    sha, before = step
    commit = graph.commit(sha)
    old, new = graph.value(before), graph.value(sha)
    if len(commit.parents) < 2:
        return [Move(old, new, sha, commit.summary)]
    # the side: what the merge brought in, i.e. not reachable from its first parent
    # (``before`` is the last candidate before it on the line, maybe further back)
    first = commit.parents[0].hexsha
    side: dict[str, list[str]] = {}
    for parent in commit.parents[1:]:
        for row in graph.rev_list("--topo-order", f"{first}..{parent.hexsha}"):
            side[row[0]] = row[1:]
    named = {p for parents in side.values() for p in parents}
    heads = [c for c in side if c not in named]
    firsts = _first_with(graph, side, heads, new)
    if not firsts:  # the merge itself made the value (a resolution), or no side commit did
        return [Move(old, new, sha, commit.summary)]
    return [
        Move(old, new, made, graph.commit(made).summary, sha, commit.summary) for made in firsts
    ]


def _first_with(
    graph: _Graph, side: dict[str, list[str]], heads: list[str], value: str
) -> list[str]:
    """The side's commits with ``value`` whose parents on the side lack it."""
    found: list[str] = []
    seen: set[str] = set()
    todo = [h for h in heads if graph.value(h) == value]
    while todo:
        head = todo.pop()
        if head in seen:
            continue
        seen.add(head)
        run = [head]  # a straight run: each commit the only parent of the one before
        while len(side[run[-1]]) == 1 and side[run[-1]][0] in side:
            run.append(side[run[-1]][0])
        low, high = 0, len(run) - 1  # the deepest commit of the run still with the value
        while low < high:
            middle = (low + high + 1) // 2
            if graph.value(run[middle]) == value:
                low = middle
            else:
                high = middle - 1
        last = run[low]
        if low < len(run) - 1:
            found.append(last)
            continue
        parents = [p for p in side[last] if p in side and graph.value(p) == value]
        if parents:
            todo += parents
        else:
            found.append(last)
    return sorted(set(found), key=lambda c: (graph.commit(c).committed_date, c))
