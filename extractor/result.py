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

    def as_dict(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "arch": self.arch,
            "config": self.config,
            "constants": {name: c.as_dict() for name, c in self.constants.items()},
            "warnings": list(self.warnings),
            "error": self.error.as_dict() if self.error else None,
        }

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
