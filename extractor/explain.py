"""Explain: why a constant has its value, step by step, as the source says it.

In: a tree, an arch, a config and a macro name.
Out: an ``Explanation``: each definition on the chain with its file, line,
source text and the column of the macro followed, every ``#if`` branch that
led to it with the config symbol that decided it, and the folded value;
rendered as text with carets, or as data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import evaluate
from .arches import Arch
from .config import Config
from .errors import EvaluateError, Location
from .preprocess import Condition, Limits, MacroTable
from .result import StackAllocation
from .scan import Constant, analyse
from .source import Tree


@dataclass(frozen=True)
class Branch:
    condition: Condition
    #: "CONFIG_KASAN is not set", "CONFIG_PAGE_SHIFT is 12", ...
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    macro: str
    path: str
    line: int | None
    #: the definition's source lines as they are in the tree (continuations too)
    source: tuple[str, ...]
    #: 0-based column of the macro's name in ``source[0]``, if found
    column: int | None
    value: int | None
    branches: tuple[Branch, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "macro": self.macro,
            "file": self.path,
            "line": self.line,
            "source": list(self.source),
            "column": self.column,
            "value": self.value,
            "branches": [
                {
                    "file": b.condition.path,
                    "line": b.condition.line,
                    "directive": b.condition.directive,
                    "opening": b.condition.opening,
                    "opening_line": b.condition.opening_line,
                    "taken": b.condition.taken,
                    "because": list(b.reasons),
                }
                for b in self.branches
            ],
        }


@dataclass
class Explanation:
    rev: str | None
    arch: str
    config: str
    constant: Constant
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        c = self.constant
        return {
            "rev": self.rev,
            "arch": self.arch,
            "config": self.config,
            "macro": c.name,
            "value": c.value,
            "type": c.ctype,
            "expression": c.expression,
            "status": c.status,
            "reason": c.reason,
            "config_symbols": list(c.symbols),
            "steps": [s.as_dict() for s in self.steps],
            "warnings": self.warnings,
        }


def _source(tree: Tree, path: str, line: int | None) -> tuple[str, ...]:
    if line is None or path.startswith("<"):
        return ()
    data = tree.read(path)
    if data is None:
        return ()
    lines = data.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    out = []
    index = line - 1
    while 0 <= index < len(lines):
        out.append(lines[index].expandtabs(8))
        if not lines[index].rstrip().endswith("\\"):
            break
        index += 1
    return tuple(out)


def _state(symbol: str, config: Config, table: MacroTable) -> str:
    if symbol.startswith("CONFIG_"):
        value = config.symbols.get(symbol)
        if value in (None, "n"):
            return f"{symbol} is not set"
        return f"{symbol} is set" if value == "y" else f"{symbol} is {value}"
    if symbol in table.macros:
        body = "".join(t.value for t in table.macros[symbol].value).strip()
        return f"{symbol} is defined" + (f" as {body}" if body else "")
    return f"{symbol} is not defined"


def _value(table: MacroTable, name: str, model: evaluate.DataModel) -> int | None:
    if table.macros[name].arglist is not None:
        return None
    return evaluate.evaluate(table.expand(name), model).value


def explain(
    tree: Tree, arch: Arch, config: Config, macro: str, limits: Limits | None = None
) -> Explanation:
    """The chain behind ``macro`` in this cell (``ExtractorError`` if it fails)."""
    analysis = analyse(tree, arch, config, [macro], limits)
    result, table = analysis.result, analysis.table
    if result.error is not None:
        raise result.error
    assert table is not None
    constant = result.constants[macro]
    explanation = Explanation(
        result.rev, arch.name, config.name, constant, warnings=result.warnings
    )
    if constant.status == "not-a-macro" or macro not in table.macros:
        if constant.status != "not-a-macro":
            raise EvaluateError(f"{macro} is not defined here", Location(tree.rev))
        return explanation
    assert analysis.layout is not None
    model = evaluate.data_model(analysis.layout.model)  # the target the config chose
    for link in constant.chain:
        source = _source(tree, link.path, link.line)
        column = None
        if source:
            found = re.search(r"#\s*define\s+(" + re.escape(link.macro) + r")\b", source[0])
            column = found.start(1) if found else None
        branches = tuple(
            Branch(c, tuple(_state(s, config, table) for s in c.symbols)) for c in link.conditions
        )
        explanation.steps.append(
            Step(
                link.macro,
                link.path,
                link.line,
                source,
                column,
                _value(table, link.macro, model),
                branches,
            )
        )
    return explanation


def _branch_text(branch: Branch, step: Step) -> str:
    c = branch.condition
    opening = (
        c.opening
        if c.opening == c.directive
        else f"{c.directive} of {c.opening} (line {c.opening_line})"
    )
    because = "; ".join(branch.reasons) if branch.reasons else "no symbols tested"
    so = (
        f", so {step.macro} is {step.value}"
        if step.value is not None and c.path == step.path
        else ""
    )
    return f"{c.path}:{c.line}: {opening}: taken, because {because}{so}"


def render_text(explanation: Explanation) -> str:
    c = explanation.constant
    where = explanation.rev or "the work tree"
    lines = [f"{c.name} at {where}, {explanation.arch}, config {explanation.config}", ""]
    if c.status == "not-a-macro":
        lines.append(c.reason or "not a macro")
        return "\n".join(lines) + "\n"
    for number, step in enumerate(explanation.steps, 1):
        lines.append(f"[{number}] {step.macro}  {step.path}:{step.line or '?'}")
        width = len(str((step.line or 0) + len(step.source)))
        for offset, text in enumerate(step.source):
            lines.append(f"    {str((step.line or 0) + offset).rjust(width)} | {text}")
            if offset == 0 and step.column is not None:
                caret = "^" + "~" * (len(step.macro) - 1)
                lines.append(f"    {' ' * width} | {' ' * step.column}{caret}")
        if not step.source:
            lines.append(f"    (defined by kstack: {step.path})")
        for branch in step.branches:
            lines.append("    " + _branch_text(branch, step))
        lines.append("")
    value = "unknown: " + (c.reason or "") if c.value is None else f"{c.value} ({c.ctype})"
    if c.symbols:
        lines.append("config symbols tested on this chain: " + ", ".join(c.symbols))
    lines.append(f"{c.name} = {c.expression} = {value}")
    lines += [f"warning: {w}" for w in explanation.warnings]
    return "\n".join(lines) + "\n"


# --- the stack allocation (explain --allocation) ------------------------------------


@dataclass
class AllocationExplanation:
    """The allocator's source with its live lines, the call and the branches that chose it."""

    rev: str | None
    arch: str
    config: str
    allocation: StackAllocation
    #: (line, text, live, note): note says whether a directive's branch was taken
    lines: list[tuple[int, str, bool, str]] = field(default_factory=list)
    #: (line, start column, end column) of the folded argument, tabs expanded
    caret: tuple[int, int, int] | None = None
    branches: tuple[Branch, ...] = ()
    #: the macro under the caret, its expansion and value: ("THREAD_SIZE_ORDER", "(2 + 0)", 2)
    argument: tuple[str, str, int | None] | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "arch": self.arch,
            "config": self.config,
            "stack_allocation": self.allocation.as_dict(),
            "argument": list(self.argument) if self.argument else None,
            "listing": [
                {"line": n, "source": text, "live": live, "note": note}
                for n, text, live, note in self.lines
            ],
            "caret": list(self.caret) if self.caret else None,
            "branches": [
                {
                    "file": b.condition.path,
                    "line": b.condition.line,
                    "directive": b.condition.directive,
                    "opening": b.condition.opening,
                    "opening_line": b.condition.opening_line,
                    "because": list(b.reasons),
                }
                for b in self.branches
            ],
            "warnings": self.warnings,
        }


_BRANCH_LINE = re.compile(r"\s*#\s*(if|ifdef|ifndef|elif|else)\b")


def explain_allocation(
    tree: Tree, arch: Arch, config: Config, limits: Limits | None = None
) -> AllocationExplanation:
    """How this cell allocates the task stack, as the source says it."""
    analysis = analyse(tree, arch, config, [], limits, allocation=True)
    result, table, found = analysis.result, analysis.table, analysis.allocation
    if result.error is not None:
        raise result.error
    assert table is not None and found is not None and result.stack_allocation is not None
    allocation = result.stack_allocation
    decided = analysis.layout.config if analysis.layout is not None else config
    out = AllocationExplanation(
        result.rev, arch.name, config.name, allocation, warnings=list(result.warnings)
    )
    out.warnings += allocation.warnings
    listing = found.listing
    if listing is None:
        return out
    for number, text, live in listing.lines:
        note = ""
        if _BRANCH_LINE.match(text):
            note = "taken" if live else "not taken"
        out.lines.append((number, text.expandtabs(8), live, note))
    if listing.argument is not None:
        line, start, end = listing.argument
        raw = next((t for n, t, _ in listing.lines if n == line), "")
        out.caret = (line, len(raw[:start].expandtabs(8)), len(raw[:end].expandtabs(8)))
        word = raw[start:end]
        if word in table.macros and table.macros[word].arglist is None:
            model = evaluate.data_model(arch.model)
            out.argument = (word, table.expand(word), _value(table, word, model))
    out.branches = tuple(
        Branch(c, tuple(_state(s, decided, table) for s in c.symbols))
        for c in allocation.conditions
    )
    return out


def render_allocation(explanation: AllocationExplanation) -> str:
    a = explanation.allocation
    where = explanation.rev or "the work tree"
    lines = [f"stack allocation at {where}, {explanation.arch}, config {explanation.config}", ""]
    if a.file is None:
        lines.append(f"unknown: {a.reason}")
        lines += [f"warning: {w}" for w in explanation.warnings]
        return "\n".join(lines) + "\n"
    by = "the arch's own" if a.defined_by == "arch" else "generic"
    lines.append(f"{a.function} ({by})  {a.file}:{a.line}")
    width = len(str(max((n for n, *_ in explanation.lines), default=0)))
    dead = 0
    for number, text, live, note in explanation.lines:
        if not live and not note:
            dead += 1
            continue
        if dead:
            lines.append(f"    {' ' * width} |   ... {dead} line{'s' * (dead > 1)} not compiled")
            dead = 0
        mark = f"    <- {note}" if note else ""
        lines.append(f"    {str(number).rjust(width)} | {text}{mark}".rstrip())
        if explanation.caret and explanation.caret[0] == number:
            _, start, end = explanation.caret
            lines.append(f"    {' ' * width} | {' ' * start}^{'~' * max(end - start - 1, 0)}")
    if dead:
        lines.append(f"    {' ' * width} |   ... {dead} line{'s' * (dead > 1)} not compiled")
    for branch in explanation.branches:
        c = branch.condition
        opening = (
            c.opening
            if c.opening == c.directive
            else f"{c.directive} of {c.opening} (line {c.opening_line})"
        )
        because = "; ".join(branch.reasons) if branch.reasons else "no symbols tested"
        lines.append(f"    {c.path}:{c.line}: {opening}: taken, because {because}")
    if a.switch:
        lines.append(f"    fork.c's own allocator is switched off by {a.switch}")
    lines.append("")
    if explanation.argument is not None:
        word, expanded, value = explanation.argument
        lines.append(f"{word} = {expanded} = {'?' if value is None else value}")
    lines.append(f"{a.call}: {a.summary()}" if a.status == "ok" else f"unknown: {a.reason}")
    if a.status == "ok" and a.reason:
        lines.append(f"note: {a.reason}")
    if a.cached_stacks is not None:
        lines.append(f"NR_CACHED_STACKS = {a.cached_stacks} freed stacks kept per CPU")
    place = "on the stack" if a.thread_info_on_stack else "in task_struct (THREAD_INFO_IN_TASK)"
    lines.append(f"thread_info: {place}")
    lines += [f"warning: {w}" for w in explanation.warnings]
    return "\n".join(lines) + "\n"
