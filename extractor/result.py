"""The shape of what the pipeline finds, shared by every stage after it.

In: nothing (data types). Out: ``Result`` (one cell: a revision, an arch and a
config), ``Constant`` (one macro folded to a number, or why not) and
``ChainLink`` (one definition on the way), each with ``as_dict`` (the JSON
contract documented in the README) and ``from_dict``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ExtractorError, error_from_dict


@dataclass(frozen=True)
class Condition:
    """One ``#if``-family branch that enclosed a definition."""

    #: where the branch directive is: the ``#if``, or the ``#elif``/``#else`` reached
    path: str
    line: int
    #: the branch directive as written, e.g. ``#else``
    directive: str
    #: True when this branch was taken (always so for a definition's conditions)
    taken: bool
    #: identifiers the #if/#elif directives of this group tested
    symbols: tuple[str, ...]
    #: the group's opening directive, e.g. ``#ifdef CONFIG_KASAN``, and its line
    opening: str = ""
    opening_line: int = 0


@dataclass(frozen=True)
class ChainLink:
    """One macro on the way from a constant to its number."""

    macro: str
    path: str
    line: int | None
    #: the replacement list as defined, with parameters for function-like macros
    definition: str
    conditions: tuple[Condition, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "macro": self.macro,
            "file": self.path,
            "line": self.line,
            "definition": self.definition,
            "conditions": [
                {
                    "file": c.path,
                    "line": c.line,
                    "directive": c.directive,
                    "taken": c.taken,
                    "opening": c.opening,
                    "opening_line": c.opening_line,
                    "symbols": list(c.symbols),
                }
                for c in self.conditions
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainLink:
        conditions = tuple(
            Condition(
                c["file"],
                c["line"],
                c["directive"],
                c["taken"],
                tuple(c["symbols"]),
                c["opening"],
                c["opening_line"],
            )
            for c in data["conditions"]
        )
        return cls(data["macro"], data["file"], data["line"], data["definition"], conditions)


@dataclass(frozen=True)
class Constant:
    name: str
    value: int | None
    ctype: str | None
    expression: str | None
    path: str | None
    line: int | None
    chain: tuple[ChainLink, ...] = ()
    #: "ok", "unknown" (a value could not be determined), "not-a-macro"
    status: str = "ok"
    reason: str | None = None
    #: config symbols tested by the #if branches on the chain
    symbols: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "type": self.ctype,
            "expression": self.expression,
            "file": self.path,
            "line": self.line,
            "status": self.status,
            "reason": self.reason,
            "config_symbols": list(self.symbols),
            "chain": [link.as_dict() for link in self.chain],
        }

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Constant:
        return cls(
            name=name,
            value=data["value"],
            ctype=data["type"],
            expression=data["expression"],
            path=data["file"],
            line=data["line"],
            chain=tuple(ChainLink.from_dict(link) for link in data["chain"]),
            status=data["status"],
            reason=data["reason"],
            symbols=tuple(data["config_symbols"]),
        )


def _condition_dict(c: Condition) -> dict[str, Any]:
    return {
        "file": c.path,
        "line": c.line,
        "directive": c.directive,
        "taken": c.taken,
        "opening": c.opening,
        "opening_line": c.opening_line,
        "symbols": list(c.symbols),
    }


def _condition(c: dict[str, Any]) -> Condition:
    return Condition(
        c["file"],
        c["line"],
        c["directive"],
        c["taken"],
        tuple(c["symbols"]),
        c["opening"],
        c["opening_line"],
    )


@dataclass
class StackAllocation:
    """How the task stack is allocated in a cell (see ``allocation.py``)."""

    #: "ok", or "unknown" with ``reason``
    status: str = "ok"
    reason: str | None = None
    #: "vmalloc", "pages", "slab", "kmalloc", or "arch" (the arch's own, unread)
    kind: str | None = None
    #: the allocation call, abbreviated: ``alloc_pages_node(..., THREAD_SIZE_ORDER)``
    call: str | None = None
    #: the whole call as written, on one line
    written: str | None = None
    size: int | None = None
    order: int | None = None
    guard_pages: bool = False
    cached_stacks: int | None = None
    thread_info_on_stack: bool | None = None
    #: the function or macro that allocates: ``alloc_thread_stack_node``
    function: str | None = None
    #: "generic" (kernel/fork.c) or "arch" (the arch's headers)
    defined_by: str | None = None
    #: the symbol that turned fork.c's own allocator off, with where it is set
    switch: str | None = None
    file: str | None = None
    line: int | None = None
    conditions: tuple[Condition, ...] = ()
    #: config symbols the branches that chose the call tested
    symbols: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for tables: ``vmalloc, 16384 bytes, guard pages``."""
        if self.kind == "arch" and self.status != "ok":
            return "arch (its own allocator, not read)"
        if self.status != "ok" or self.kind is None:
            return "unknown"
        parts = [self.kind if self.defined_by != "arch" else f"{self.kind} (arch)"]
        if self.order is not None:
            parts.append(f"order {self.order}")
        if self.size is not None:
            parts.append(f"{self.size} bytes")
        if self.guard_pages:
            parts.append("guard pages")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "kind": self.kind,
            "call": self.call,
            "written": self.written,
            "size": self.size,
            "order": self.order,
            "guard_pages": self.guard_pages,
            "cached_stacks": self.cached_stacks,
            "thread_info_on_stack": self.thread_info_on_stack,
            "function": self.function,
            "defined_by": self.defined_by,
            "switch": self.switch,
            "file": self.file,
            "line": self.line,
            "conditions": [_condition_dict(c) for c in self.conditions],
            "config_symbols": list(self.symbols),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StackAllocation:
        return cls(
            status=data["status"],
            reason=data["reason"],
            kind=data["kind"],
            call=data["call"],
            written=data["written"],
            size=data["size"],
            order=data["order"],
            guard_pages=data["guard_pages"],
            cached_stacks=data["cached_stacks"],
            thread_info_on_stack=data["thread_info_on_stack"],
            function=data["function"],
            defined_by=data["defined_by"],
            switch=data["switch"],
            file=data["file"],
            line=data["line"],
            conditions=tuple(_condition(c) for c in data["conditions"]),
            symbols=tuple(data["config_symbols"]),
            warnings=list(data["warnings"]),
        )


@dataclass
class Result:
    rev: str | None
    arch: str
    config: str
    constants: dict[str, Constant] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: ExtractorError | None = None
    #: the tree headers read, by path, with their blob ids (what the cell depends on)
    inputs: dict[str, str] = field(default_factory=dict, repr=False)
    #: how the task stack is allocated; None when the cell did not ask
    stack_allocation: StackAllocation | None = None

    def as_dict(self) -> dict[str, Any]:
        document = {
            "rev": self.rev,
            "arch": self.arch,
            "config": self.config,
            "constants": {name: c.as_dict() for name, c in self.constants.items()},
            "warnings": list(self.warnings),
            "error": self.error.as_dict() if self.error else None,
        }
        if self.stack_allocation is not None:
            document["stack_allocation"] = self.stack_allocation.as_dict()
        return document

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        error = data.get("error")
        return cls(
            rev=data["rev"],
            arch=data["arch"],
            config=data["config"],
            constants={n: Constant.from_dict(n, c) for n, c in data["constants"].items()},
            warnings=list(data["warnings"]),
            error=error_from_dict(error) if error else None,
            inputs=dict(data.get("inputs", {})),
            stack_allocation=StackAllocation.from_dict(data["stack_allocation"])
            if data.get("stack_allocation")
            else None,
        )


class CachedResult(Result):
    """A result read back from the cache, decoded only when looked into.

    A warm scan of thousands of tags mostly writes results straight back out;
    ``json_text`` gives the stored JSON with this cell's revision, without
    building the objects.
    """

    def __init__(self, text: str, inputs: str) -> None:  # noqa: D107
        start = json.loads(text[: text.index(', "constants": ')] + "}")
        self.rev, self.arch, self.config = start["rev"], start["arch"], start["config"]
        self.error = None
        self._text = text
        self._inputs = inputs
        self._decoded: Result | None = None
        #: the id the cache keeps this result's text under, when known
        self.result_id: str | None = None

    def _full(self) -> Result:
        if self._decoded is None:
            self._decoded = Result.from_dict(json.loads(self._text))
        return self._decoded

    @property  # type: ignore[override]
    def constants(self) -> dict[str, Constant]:
        return self._full().constants

    @constants.setter
    def constants(self, value: dict[str, Constant]) -> None:
        self._full().constants = value

    @property  # type: ignore[override]
    def warnings(self) -> list[str]:
        return self._full().warnings

    @warnings.setter
    def warnings(self, value: list[str]) -> None:
        self._full().warnings = value

    @property  # type: ignore[override]
    def stack_allocation(self) -> StackAllocation | None:
        return self._full().stack_allocation

    @stack_allocation.setter
    def stack_allocation(self, value: StackAllocation | None) -> None:
        self._full().stack_allocation = value

    @property  # type: ignore[override]
    def inputs(self) -> dict[str, str]:
        return dict(json.loads(self._inputs))

    @inputs.setter
    def inputs(self, value: dict[str, str]) -> None:
        self._inputs = json.dumps(value)

    def as_dict(self) -> dict[str, Any]:
        document = json.loads(self._text)
        document["rev"] = self.rev
        return document

    def stored(self) -> tuple[str, str]:
        """The result's JSON text and its inputs' JSON text, as the cache keeps them."""
        return self._text, self._inputs

    def json_text(self) -> str:
        """``json.dumps(self.as_dict())``, spliced rather than rebuilt."""
        rest = self._text[self._text.index(', "arch": ') :]
        return '{"rev": ' + json.dumps(self.rev) + rest
