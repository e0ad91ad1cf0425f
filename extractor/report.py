"""Report stage: results rendered for people and for programs.

In: a list of ``Result`` cells.
Out: text in one of the formats ``table`` (the terminal default), ``json``
(the documented contract), ``csv`` (one row per constant) and ``markdown``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable

from . import __version__
from .result import CachedResult, StackAllocation
from .scan import Constant, Result

FORMATS = ("table", "json", "csv", "markdown", "html")


def cell_text(constant: Constant | None) -> str:
    if constant is None:
        return "-"
    if constant.status == "not-a-macro":
        return "(enum)"
    if constant.value is None:
        return "?"
    return str(constant.value)


def constant_names(results: list[Result]) -> list[str]:
    """Every constant any result reports: the arch table's order, then the rest."""
    from .arches import ARCHES

    canonical = list(dict.fromkeys(n for a in ARCHES.values() for n in a.constants))
    names: dict[str, None] = {}
    for result in results:
        names.update(dict.fromkeys(result.constants))
    rank = {name: i for i, name in enumerate(canonical)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), list(names).index(n)))


def _shows_allocation(results: list[Result]) -> bool:
    """A column only when some cell could have an answer: a headers-only tree
    (no kernel/fork.c anywhere) says so once in the JSON, not in every row."""
    return any(
        r.stack_allocation is not None
        and not (r.stack_allocation.reason or "").startswith("kernel/fork.c is not in")
        for r in results
    )


def allocation_text(result: Result) -> str:
    """The stack allocation column: ``vmalloc, 16384 bytes, guard pages``."""
    allocation = result.stack_allocation
    return "-" if allocation is None else allocation.summary()


def _rows(results: list[Result]) -> tuple[list[str], list[list[str]]]:
    names = constant_names(results)
    allocated = _shows_allocation(results)
    header = ["rev", "arch", "config", *names, *(["stack allocation"] if allocated else [])]
    rows = []
    for result in results:
        row = [result.rev or "(dir)", result.arch, result.config]
        if result.error is not None:
            row += [f"error: {result.error}"] + [""] * (len(names) - 1 if names else 0)
        else:
            row += [cell_text(result.constants.get(n)) for n in names]
            if allocated:
                row.append(allocation_text(result))
        rows.append(row)
    return header, rows


def _notes(results: list[Result]) -> list[str]:
    """Unknown values with their reasons, then warnings, each once."""
    notes: dict[str, None] = {}
    shown = _shows_allocation(results)
    for result in results:
        where = f"{result.rev or '(dir)'} {result.arch} {result.config}"
        for constant in result.constants.values():
            if constant.status == "unknown":
                notes[f"{where}: {constant.name} unknown: {constant.reason}"] = None
        allocation = result.stack_allocation if shown else None
        if allocation is not None and allocation.status == "ok":
            notes[f"{where}: stack allocation: {_allocation_note(allocation)}"] = None
        elif allocation is not None:
            notes[f"{where}: stack allocation unknown: {allocation.reason}"] = None
        for warning in result.warnings + (allocation.warnings if allocation else []):
            notes[f"warning: {warning}"] = None
    return list(notes)


def _allocation_note(allocation: StackAllocation) -> str:
    """``alloc_pages_node(..., THREAD_SIZE_ORDER) in alloc_thread_stack_node
    (kernel/fork.c:371), under CONFIG_VMAP_STACK is not set``."""
    by = (
        f"the arch's {allocation.function}"
        if allocation.defined_by == "arch"
        else (allocation.function or "?")
    )
    text = f"{allocation.call} in {by} ({allocation.file}:{allocation.line})"
    if allocation.switch:
        text += f", switched by {allocation.switch}"
    if allocation.reason:
        text += f"; {allocation.reason}"
    return text


def render_table(results: list[Result]) -> str:
    header, rows = _rows(results)
    if results and all(r.error is not None for r in results):
        header = header[:3] + ["error"]
    widths = [max(len(r[i]) for r in [header, *rows] if i < len(r)) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=False)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in rows
    ]
    lines += _notes(results)
    return "\n".join(lines) + "\n"


def render_markdown(results: list[Result]) -> str:
    header, rows = _rows(results)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = row + [""] * (len(header) - len(row))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    notes = _notes(results)
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def render_json(results: Iterable[Result]) -> str:
    out = io.StringIO()
    write_json(results, out.write)
    return out.getvalue()


def write_json(results: Iterable[Result], write: Callable[[str], object]) -> list[Result]:
    """The JSON document, one result per line, written as each result comes.

    Returns the failed cells. One line per result keeps the output greppable and
    lets a scan of thousands of tags run in flat memory.
    """
    failed = []
    write('{"kstack": ' + json.dumps(__version__) + ', "results": [')
    for index, result in enumerate(results):
        text = (
            result.json_text() if isinstance(result, CachedResult) else json.dumps(result.as_dict())
        )
        write(("\n" if index == 0 else ",\n") + text)
        if result.error is not None:
            failed.append(result)
    write("\n]}\n")
    return failed


CSV_FIELDS = [
    "rev",
    "arch",
    "config",
    "constant",
    "value",
    "type",
    "status",
    "file",
    "line",
    "expression",
    "reason",
    "error",
]


def render_csv(results: Iterable[Result]) -> str:
    out = io.StringIO()
    write_csv(results, out.write)
    return out.getvalue()


def write_csv(results: Iterable[Result], write: Callable[[str], object]) -> list[Result]:
    """One CSV row per constant, written as each result comes; returns the failed cells."""

    class _Sink:
        def write(self, text: str) -> object:
            return write(text)

    failed = []
    writer = csv.writer(_Sink(), lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for r in results:
        if r.error is not None:
            failed.append(r)
        base = [r.rev or "", r.arch, r.config]
        if r.error is not None:
            writer.writerow(base + [""] * 8 + [str(r.error)])
            continue
        for c in r.constants.values():
            writer.writerow(
                base
                + [
                    c.name,
                    "" if c.value is None else c.value,
                    c.ctype or "",
                    c.status,
                    c.path or "",
                    c.line or "",
                    c.expression or "",
                    c.reason or "",
                    "",
                ]
            )
    return failed


def render_html(results: list[Result]) -> str:
    from .report_html import render_html as page

    return page([r.as_dict() for r in results])


#: formats written result by result, in flat memory
STREAMED: dict[str, Callable[[Iterable[Result], Callable[[str], object]], list[Result]]] = {
    "json": write_json,
    "csv": write_csv,
}

RENDERERS: dict[str, Callable[[list[Result]], str]] = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
    "markdown": render_markdown,
    "html": render_html,
}


def render(results: list[Result], fmt: str) -> str:
    return RENDERERS[fmt](results)


def thread_size_cell(result: Result, *, with_order: bool) -> str:
    """``THREAD_SIZE 16384, from THREAD_SIZE_ORDER 2`` (the demo's seed table)."""
    if result.error is not None:
        return f"error: {result.error}"
    size = result.constants.get("THREAD_SIZE")
    if size is None:
        return "-"
    if not with_order:
        return cell_text(size)
    text = f"THREAD_SIZE {cell_text(size)}"
    for order in ("THREAD_SIZE_ORDER", "THREAD_ORDER"):
        if order in result.constants:
            return f"{text}, from {order} {cell_text(result.constants[order])}"
    return text


def render_pivot(results: list[Result]) -> str:
    """One row per revision, one column per arch and config: THREAD_SIZE."""
    columns: dict[tuple[str, str], None] = {}
    revs: dict[str | None, dict[tuple[str, str], Result]] = {}
    for result in results:
        key = (result.arch, result.config)
        columns[key] = None
        revs.setdefault(result.rev, {})[key] = result
    keys = list(columns)
    lines = ["| tag | " + " | ".join(f"{a} {c}" for a, c in keys) + " |"]
    lines.append("|---|" + "---|" * len(keys))
    for rev, cells in revs.items():
        texts = [
            thread_size_cell(cells[k], with_order=i == 0) if k in cells else "-"
            for i, k in enumerate(keys)
        ]
        lines.append(f"| {rev or '(dir)'} | " + " | ".join(texts) + " |")
    return "\n".join(lines) + "\n"
