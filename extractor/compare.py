"""Compare: constants across revisions, and the gate against a baseline.

In: scan results (from ``scan``), a repository for history, a baseline file.
Out:
- ``history``: per (arch, config, constant), ranges of tags with one value,
  and for each change the commit that made it;
- ``diff``: the constants that differ between two trees, with the definitions
  that changed;
- ``baseline`` / ``check``: a stable JSON file of the constants and the
  changes against it (values fail, expression-only changes are notes).

The commits behind a change are found by ``blame``, without preprocessing every
commit: only commits that touch a header the constant's cell read (its include
closure) are candidates, bisected along the first-parent line and then into the
merged branches, so a change made on a branch is named with the merge that
carried it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .arches import arch as get_arch
from .batch import Cells, ScanRequest, configs_for, scan
from .blame import Move, blame
from .config import parse_assignment, read_config_file
from .errors import ExtractorError, Location, SourceError, UsageError
from .preprocess import Limits
from .scan import Constant, Result, scan_tree
from .source_git import GitObjects, GitTree
from .source_revisions import Selection

BASELINE_FORMAT = 1


# --- values as comparable text -------------------------------------------------


def value_text(result: Result, name: str) -> str:
    """What a cell says of a constant, as one comparable string."""
    if result.error is not None:
        return f"error ({result.error.kind})"
    constant = result.constants.get(name)
    if constant is None:
        return "absent"
    if constant.status == "not-a-macro":
        return "not a macro"
    if constant.value is None:
        return "unknown"
    return str(constant.value)


# --- history -----------------------------------------------------------------------


@dataclass
class Span:
    first: str
    last: str
    value: str


@dataclass
class Change:
    before: str
    after: str
    old: str
    new: str
    #: the commit that made the change, when one commit did
    commit: str | None = None
    subject: str | None = None
    #: the first-parent merge that carried ``commit`` in, when it came from a branch
    merged_by: str | None = None
    merged_subject: str | None = None
    #: every commit found to move the value (several: none is picked as ``commit``)
    commits: list[Move] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "commits": [vars(m) for m in self.commits]}


@dataclass
class Series:
    arch: str
    config: str
    constant: str
    spans: list[Span] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "config": self.config,
            "constant": self.constant,
            "ranges": [vars(s) for s in self.spans],
            "changes": [c.as_dict() for c in self.changes],
        }


def fold_series(results: list[Result], names: list[str]) -> list[Series]:
    """Ranges of equal value, per (arch, config, constant), in revision order."""
    cells: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        cells.setdefault((result.arch, result.config), []).append(result)
    out: list[Series] = []
    for (arch, config), column in cells.items():
        for name in names:
            series = Series(arch, config, name)
            previous: Result | None = None
            for result in column:
                text = value_text(result, name)
                rev = result.rev or "(dir)"
                if series.spans and series.spans[-1].value == text:
                    series.spans[-1].last = rev
                else:
                    if series.spans and previous is not None:
                        series.changes.append(
                            Change(previous.rev or "(dir)", rev, series.spans[-1].value, text)
                        )
                    series.spans.append(Span(rev, rev, text))
                previous = result
            if any(s.value != "absent" for s in series.spans):
                out.append(series)
    return out


def history(
    request: ScanRequest, progress: Any = None, results: list[Result] | None = None
) -> list[Series]:
    """The value ranges of each constant over the selected tags, with blame.

    ``results``, if given, is the scan of the request (so a caller can see its errors).
    """
    if not request.selection.is_git:
        raise UsageError("history needs --tags or --rev: it reads a repository's revisions")
    if results is None:
        results = scan(request, progress)
    names = list(dict.fromkeys(n for r in results for n in r.constants))
    series = fold_series(results, names)
    by_cell = {(r.rev, r.arch, r.config): r for r in results}
    # the scan's own cells: a commit whose changes leave the directives that
    # matter untouched is answered by the cache's content key, not preprocessed
    cells = Cells(request)
    with contextlib.closing(cells), GitObjects(request.selection.path) as objects:
        for entry in series:
            arch = get_arch(entry.arch)
            (config,) = [c for c in cells.configs[arch.name] if c.name == entry.config]

            def value_at(tree: GitTree, arch=arch, config=config, name=entry.constant) -> str:
                return value_text(cells.one(tree, arch, config), name)

            values_of = _values_of(request, entry)
            for change in entry.changes:
                before = by_cell[(change.before, entry.arch, entry.config)]
                after = by_cell[(change.after, entry.arch, entry.config)]
                _blame_change(objects, change, before, after, value_at, values_of)
    return series


def _values_of(request: ScanRequest, entry: Series) -> Callable[[list[str]], dict[str, str]]:
    """A series' value at many commits, scanned as one request (so in parallel)."""
    arch = get_arch(entry.arch)
    profiles = [
        profile
        for profile, config in zip(request.profiles, configs_for(request, arch), strict=True)
        if config.name == entry.config
    ]

    def values_of(commits: list[str]) -> dict[str, str]:
        selection = dataclasses.replace(
            request.selection, revs=commits, tag_globs=[], since=None, until=None
        )
        cell = dataclasses.replace(
            request, selection=selection, arches=[entry.arch], profiles=profiles[:1]
        )
        return {str(r.rev): value_text(r, entry.constant) for r in scan(cell)}

    return values_of


def _blame_change(
    objects: GitObjects,
    change: Change,
    before: Result,
    after: Result,
    value_at: Callable[[GitTree], str],
    values_of: Callable[[list[str]], dict[str, str]] | None,
) -> None:
    """Name the commit (or the commits) behind ``change``, or say why none is named."""
    _name_commits(objects, change, set(before.inputs) | set(after.inputs), value_at, values_of)


def _name_commits(
    objects: GitObjects,
    change: Change,
    paths: set[str],
    value_at: Callable[[GitTree], str],
    values_of: Callable[[list[str]], dict[str, str]] | None = None,
) -> None:
    """Blame ``change`` on the commits between its revisions that touch ``paths``."""
    start, end = objects.commit_of(change.before), objects.commit_of(change.after)
    if not paths or start is None or end is None:
        change.note = "no commit between these revisions touches the files read"
        return
    known = {
        objects.resolve(change.before).tree_id: change.old,
        objects.resolve(change.after).tree_id: change.new,
    }
    change.commits = blame(objects, start, end, paths, value_at, known, values_of)
    if not change.commits:
        change.note = "no commit between these revisions touches the files read"
    elif len(change.commits) == 1:
        (move,) = change.commits
        change.commit, change.subject = move.commit, move.subject
        change.merged_by, change.merged_subject = move.merged_by, move.merged_subject
    else:
        change.note = f"{len(change.commits)} commits moved the value; none is picked"


def render_history(series: list[Series]) -> str:
    lines: list[str] = []
    for entry in series:
        lines.append(f"{entry.constant} ({entry.arch}, {entry.config})")
        for span in entry.spans:
            reach = span.first if span.first == span.last else f"{span.first} .. {span.last}"
            lines.append(f"  {reach}: {span.value}")
        for change in entry.changes:
            head = f"  {change.before} -> {change.after}: {change.old} -> {change.new}"
            if change.commit:
                head += f"  by {_by(change.commits[0])}"
            elif change.note:
                head += f"  ({change.note})"
            lines.append(head)
            if len(change.commits) > 1:
                lines += [f"    {m.old} -> {m.new} by {_by(m)}" for m in change.commits]
        lines.append("")
    return "\n".join(lines)


def _by(move: Move) -> str:
    text = f"{move.commit[:12]} {move.subject}"
    if move.merged_by:
        text += f" (merged by {move.merged_by[:12]} {move.merged_subject})"
    return text


# --- diff ------------------------------------------------------------------------


@dataclass
class Difference:
    arch: str
    config: str
    constant: str
    old: str
    new: str
    #: "file:line NAME: old definition -> new definition" for each moved link
    definitions: list[str] = field(default_factory=list)
    #: True when only the expression changed, not the value
    expression_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return vars(self).copy()


def _links(constant: Constant | None) -> dict[str, tuple[str, str]]:
    if constant is None:
        return {}
    return {link.macro: (f"{link.path}:{link.line}", link.definition) for link in constant.chain}


def _same_cells(old: list[Result], new: list[Result]) -> list[tuple[Result, Result]]:
    """(old, new) results of each (arch, config) cell that both lists have."""
    before = {(r.arch, r.config): r for r in old}
    return [(before[k], r) for r in new if (k := (r.arch, r.config)) in before]


def differences(old: list[Result], new: list[Result]) -> list[Difference]:
    """Constants whose value or expression differs, cell by cell."""
    out: list[Difference] = []
    for previous, result in _same_cells(old, new):
        names = list(dict.fromkeys([*previous.constants, *result.constants]))
        for name in names:
            a, b = value_text(previous, name), value_text(result, name)
            ca, cb = previous.constants.get(name), result.constants.get(name)
            expr_a = ca.expression if ca else None
            expr_b = cb.expression if cb else None
            if a == b and expr_a == expr_b:
                continue
            links_a, links_b = _links(ca), _links(cb)
            moved = [
                f"{links_b.get(m, links_a.get(m, ('?', '')))[0]} {m}: "
                f"{links_a[m][1] if m in links_a else '(none)'} -> "
                f"{links_b[m][1] if m in links_b else '(none)'}"
                for m in dict.fromkeys([*links_a, *links_b])
                if (links_a.get(m) or ("", None))[1] != (links_b.get(m) or ("", None))[1]
            ]
            out.append(Difference(result.arch, result.config, name, a, b, moved, a == b))
    return out


def render_differences(diffs: list[Difference], *, label: str = "") -> str:
    lines = []
    for d in diffs:
        kind = "note: expression changed" if d.expression_only else f"{d.old} -> {d.new}"
        lines.append(f"{d.constant} ({d.arch}, {d.config}): {kind}")
        lines += [f"    {m}" for m in d.definitions]
    if not lines:
        lines.append(f"no constant changed{label}")
    return "\n".join(lines) + "\n"


def diff(request: ScanRequest, old_rev: str, new_rev: str | None) -> list[Difference]:
    """``old_rev`` against ``new_rev``, or against the work tree when it is None."""
    old = _scan_one(request, old_rev)
    new = _scan_one(request, new_rev)
    return differences(old, new) + allocation_differences(old, new)


def _scan_one(request: ScanRequest, rev: str | None) -> list[Result]:
    selection = Selection(
        path=request.selection.path,
        revs=[rev] if rev else [],
        max_file_bytes=request.selection.max_file_bytes,
    )
    # the same cells, one revision, no cache and no workers
    one = dataclasses.replace(
        request, selection=selection, cache_path=None, use_cache=False, jobs=0
    )
    results = scan(one)
    for result in results:
        if result.error is not None:
            raise result.error
    return results


# --- baseline and check --------------------------------------------------------------


def baseline_document(request: ScanRequest, results: list[Result]) -> dict[str, Any]:
    cells: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.error is not None:
            raise result.error
        key = f"{result.arch}/{result.config}"
        cells[key] = {
            name: {
                "value": c.value,
                "status": c.status,
                "expression": c.expression,
                "file": c.path,
                "line": c.line,
                "chain": [
                    f"{link.macro} = {link.definition}  [{link.path}:{link.line}]"
                    for link in c.chain
                ],
            }
            for name, c in sorted(result.constants.items())
        }
    revs = sorted({r.rev for r in results if r.rev})
    return {
        "kstack_baseline": BASELINE_FORMAT,
        "revisions": revs,
        "arches": request.arches,
        "configs": request.profiles,
        "sets": request.sets,
        "config_files": _config_files(request),
        "macros": request.macros,
        "cells": cells,
    }


def _config_files(request: ScanRequest) -> dict[str, dict[str, Any]]:
    """Each arch's .config as the baseline keeps it: its path and its symbols, so
    that ``check`` reads the config the values were made with, not the file as it
    is then (or not there at all)."""
    return {
        arch: {"path": path, "symbols": dict(sorted(symbols.items()))}
        for arch, (path, symbols) in request.config_symbols.items()
    }


def write_baseline(request: ScanRequest, path: Path) -> dict[str, Any]:
    if len(request.selection.revs) > 1 or request.selection.tag_globs:
        raise UsageError("a baseline records one tree: give at most one --rev")
    # each file read once: the scan reads the symbols the baseline records
    for arch in request.arches:
        file = request.config_file_for(arch)
        if file is not None and arch not in request.config_symbols:
            request.config_symbols[arch] = (str(file), read_config_file(file))
    results = scan(request)
    document = baseline_document(request, results)
    try:
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write baseline {path}: {err.strerror}") from err
    return document


def read_baseline(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SourceError("baseline file not found", Location(None, str(path))) from err
    except (OSError, UnicodeDecodeError) as err:
        raise SourceError(f"cannot read baseline: {err}", Location(None, str(path))) from err
    except json.JSONDecodeError as err:
        raise SourceError(
            f"baseline is not JSON: {err.msg}", Location(None, str(path), err.lineno)
        ) from err
    if not isinstance(document, dict) or document.get("kstack_baseline") != BASELINE_FORMAT:
        raise SourceError("not a kstack baseline (format 1)", Location(None, str(path)))
    return document


@dataclass
class CheckReport:
    failures: list[Difference]
    notes: list[Difference]

    def as_dict(self) -> dict[str, Any]:
        return {
            "failures": [d.as_dict() for d in self.failures],
            "notes": [d.as_dict() for d in self.notes],
        }


def check(
    path: Path,
    baseline_file: Path,
    rev: str | None,
    limits: Limits | None = None,
    max_file_bytes: int | None = None,
) -> CheckReport:
    """The tree at ``path`` (or ``rev`` of it) against a baseline."""
    document = read_baseline(baseline_file)
    selection = Selection(path=path, revs=[rev] if rev else [])
    if max_file_bytes:
        selection.max_file_bytes = max_file_bytes
    recorded = _recorded_configs(document, baseline_file)
    request = ScanRequest(
        selection=selection,
        arches=list(document["arches"]),
        profiles=list(document["configs"]),
        sets=list(document.get("sets", [])),
        macros=list(document.get("macros", [])),
        limits=limits or Limits(),
        config_symbols=recorded,
    )
    results = scan(request)
    for result in results:
        if result.error is not None:
            raise result.error
    current = baseline_document(request, results)["cells"]
    failures: list[Difference] = []
    notes: list[Difference] = []
    for key, constants in sorted(document["cells"].items()):
        arch, _, config = key.partition("/")
        now = current.get(key, {})
        for name in sorted({*constants, *now}):
            old, new = constants.get(name), now.get(name)
            old_value = _baseline_value(old)
            new_value = _baseline_value(new)
            if old_value != new_value:
                failures.append(
                    Difference(arch, config, name, old_value, new_value, _moved(old, new))
                )
            elif (old or {}).get("expression") != (new or {}).get("expression"):
                notes.append(
                    Difference(
                        arch,
                        config,
                        name,
                        old_value,
                        new_value,
                        _moved(old, new),
                        expression_only=True,
                    )
                )
    return CheckReport(failures, notes)


def _recorded_configs(
    document: dict[str, Any], baseline_file: Path
) -> dict[str, tuple[str, dict[str, str]]]:
    """The .config files a baseline was made with, per arch: (path, symbols)."""
    where = Location(None, str(baseline_file))
    recorded = document.get("config_files", {})
    out: dict[str, tuple[str, dict[str, str]]] = {}
    try:
        for arch, entry in recorded.items():
            symbols = {
                name: value
                for name, value in (
                    parse_assignment(f"{k}={v}", where) for k, v in entry["symbols"].items()
                )
            }
            out[str(arch)] = (str(entry["path"]), symbols)
    except (AttributeError, KeyError, TypeError) as err:
        raise SourceError(
            f"baseline's config_files are not as kstack writes them ({err})", where
        ) from err
    made_with_file = any("+file" in key.partition("/")[2] for key in document.get("cells", {}))
    if made_with_file and not out:
        raise SourceError(
            "this baseline was made with a --config-file, which an older kstack did not "
            "record: make the baseline again",
            where,
        )
    return out


def _baseline_value(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "absent"
    if entry.get("status") == "not-a-macro":
        return "not a macro"
    return "unknown" if entry.get("value") is None else str(entry["value"])


def _moved(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """The chain definitions that differ, named with their current file:line."""
    before = {item.split(" = ", 1)[0]: item for item in (old or {}).get("chain", [])}
    after = {item.split(" = ", 1)[0]: item for item in (new or {}).get("chain", [])}
    out = []
    for macro in dict.fromkeys([*before, *after]):
        a, b = before.get(macro), after.get(macro)
        if a is None or b is None or a.rsplit("  [", 1)[0] != b.rsplit("  [", 1)[0]:
            out.append(f"was: {a or '(none)'}")
            out.append(f"now: {b or '(none)'}")
    return out


__all__ = [
    "CheckReport",
    "Difference",
    "ExtractorError",
    "Series",
    "check",
    "diff",
    "history",
    "write_baseline",
]


# --- the stack allocation over revisions (allocation.py) ----------------------------

#: the "constant" name allocation series and differences are reported under
ALLOCATION = "stack allocation"


def allocation_text(result: Result) -> str:
    """What a cell says of its stack allocation, as one comparable string:
    ``pages order 2``, ``vmalloc 16384 bytes (VMAP_STACK)``, ``slab 32768 bytes``."""
    if result.error is not None:
        return f"error ({result.error.kind})"
    allocation = result.stack_allocation
    if allocation is None:
        return "absent"
    if allocation.kind == "arch" and allocation.status != "ok":
        return "arch"
    if allocation.status != "ok" or allocation.kind is None:
        return "unknown"
    text = allocation.kind + (" (arch)" if allocation.defined_by == "arch" else "")
    if allocation.order is not None:
        text += f" order {allocation.order}"
    elif allocation.size is not None:
        text += f" {allocation.size} bytes"
    switches = [s.removeprefix("CONFIG_") for s in allocation.symbols if "VMAP" in s]
    if allocation.guard_pages and switches:
        text += f" ({', '.join(switches)})"
    return text


def allocation_history(request: ScanRequest, results: list[Result]) -> list[Series]:
    """Ranges of one stack allocation per (arch, config), each change with its commit.

    The commit is found as a constant's is: among the commits that touch a file
    either cell read (kernel/fork.c is one), by bisection.
    """
    cells: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        cells.setdefault((result.arch, result.config), []).append(result)
    out: list[Series] = []
    with GitObjects(request.selection.path) as objects:
        for (arch_name, config_name), column in cells.items():
            series = Series(arch_name, config_name, ALLOCATION)
            #: per change, the files either cell read: where its commit must be
            paths: list[set[str]] = []
            previous: Result | None = None
            for result in column:
                text, rev = allocation_text(result), result.rev or "(dir)"
                if series.spans and series.spans[-1].value == text:
                    series.spans[-1].last = rev
                else:
                    if series.spans and previous is not None:
                        old = series.spans[-1].value
                        series.changes.append(Change(previous.rev or "(dir)", rev, old, text))
                        paths.append(set(previous.inputs) | set(result.inputs))
                    series.spans.append(Span(rev, rev, text))
                previous = result
            if all(s.value == "absent" for s in series.spans):
                continue
            arch = get_arch(arch_name)
            (config,) = [c for c in configs_for(request, arch) if c.name == config_name]

            def text_at(tree: GitTree, arch: Any = arch, config: Any = config) -> str:
                found = scan_tree(tree, arch, config, request.macros, request.limits, True)
                return allocation_text(found)

            for change, read in zip(series.changes, paths, strict=True):
                _name_commits(objects, change, read, text_at)
            out.append(series)
    return out


def allocation_differences(old: list[Result], new: list[Result]) -> list[Difference]:
    """A cell's stack allocation when it differs, with the call before and after."""
    out: list[Difference] = []
    for previous, result in _same_cells(old, new):
        a, b = allocation_text(previous), allocation_text(result)
        if a == b or "absent" in (a, b):
            continue
        calls = [
            f"{x.stack_allocation.file}:{x.stack_allocation.line} {x.stack_allocation.call}"
            if x.stack_allocation is not None and x.stack_allocation.call
            else "(none)"
            for x in (previous, result)
        ]
        out.append(Difference(result.arch, result.config, ALLOCATION, a, b, [" -> ".join(calls)]))
    return out
