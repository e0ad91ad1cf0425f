"""Kconfig eval: symbol values under one config, each with the line that decided it.

In: a ``_Reader`` (``kconfig_read``) holding a tree's entries, the symbols the
config sets (``user``), a ``KCONFIG_ALLCONFIG`` seed, and the symbols asked for.
Out: a ``_Decision`` per symbol: its value, the file and line that decided it,
and why (``default 14 if PPC64 (PPC64=y)``), or None for a symbol no file
defines.

Values follow Kconfig: the first ``default`` whose condition holds wins (ANDed
with the entry's ``depends on`` and its enclosing ``if``/``menu``/``choice``),
``select`` and ``imply`` raise bools, ``range`` clamps ints, a ``choice`` picks
its member; symbols are decided dependencies first, and loops are repeated until
their values settle.

A word no file defines stands for itself, as in Kconfig, except ``ARCH``: before
2.6.25 Kconfig defined it itself, from make's ``ARCH`` (``sym_init`` in
``scripts/kconfig/symbol.c``; 2.6.25 moved it to ``option env="ARCH"`` in
``init/Kconfig``). 2.6.24's unified x86 ``Kconfig`` reads it bare, in
``default ARCH = "x86_64"`` for ``64BIT``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .kconfig_entries import Expr, _Choice, _compile, _Cond, _Default, _Node, _Reverse
from .kconfig_read import _Reader, hidden_choices_pick

#: symbols decided inside one another (only loops nest: the rest is decided in order)
MAX_SYMBOL_DEPTH = 48
MAX_ROUNDS = 16

_IN_PROGRESS = "the choice is being decided"
#: symbols Kconfig itself defined from make's variables before 2.6.25 (``sym_init``)
#: and no file had to: an undefined one reads the variable. (``KERNELVERSION`` and
#: ``UNAME_RELEASE`` were the others; nothing a stack constant depends on reads them.)
_IMPLICIT = frozenset({"ARCH"})


def _symbols_in(expr: Expr | None) -> Iterator[str]:
    if expr is None:
        return
    kind = expr[0]
    if kind == "sym":
        yield expr[1]
    elif kind == "not":
        yield from _symbols_in(expr[1])
    elif kind in ("and", "or"):
        for item in expr[1]:
            yield from _symbols_in(item)
    elif kind == "cmp":
        yield from _symbols_in(expr[2])
        yield from _symbols_in(expr[3])


def _number(text: str, kind: str | None = None) -> int | None:
    try:
        if kind == "hex" or text[:2] in ("0x", "0X"):
            return int(text, 16)
        return int(text, 10)
    except (ValueError, IndexError):
        return None


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, left: str, right: str) -> bool:
    """Numbers compare as numbers (``12 > 9``), anything else as text, with m as y."""
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return _ORDER[op]("y" if left == "m" else left, "y" if right == "m" else right)
    return _ORDER[op](a, b)


# --- deciding values ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    value: str  # "" when the symbol has no value (an int whose dependencies fail)
    path: str
    line: int
    reason: str


class _Evaluator:
    """Symbol values under one config: dependencies first, loops repeated to a fixpoint."""

    def __init__(
        self, reader: _Reader, user: Mapping[str, str], seed: Mapping[str, str] | None = None
    ) -> None:
        self.reader = reader
        #: a choice whose prompt is hidden still picks (the tree's Kconfig is 6.11's)
        self.hidden_picks = hidden_choices_pick(reader.tree)
        #: values that hold whatever Kconfig says (``--set``, a profile's symbols)
        self.user = user
        #: values a KCONFIG_ALLCONFIG file gives: taken only where the symbol has a
        #: visible prompt, and a ``select`` still raises a bool seeded n
        self.seed = seed or {}
        self.previous: dict[str, str] = {}
        self.decided: dict[str, _Decision | None] = {}
        self.choices: dict[int, tuple[str | None, _Decision]] = {}
        self.previous_choices: dict[int, tuple[str | None, _Decision]] = {}
        self.active: list[str] = []
        self.looped = False

    def nodes(self, name: str) -> list[_Node]:
        found = self.reader.nodes.get(name, [])
        return [_compile(n, self.reader.env, self.reader.out) for n in found]

    def run(self, names: list[str]) -> dict[str, _Decision | None]:
        order = self.order(names)
        for _ in range(MAX_ROUNDS):
            self.decided, self.choices, self.looped = {}, {}, False
            for number, name in enumerate(order):
                if number % 256 == 0:
                    self.reader.check_time()
                self.decide(name)
            values = {name: d.value if d else "" for name, d in self.decided.items()}
            chosen = {key: answer[0] for key, answer in self.choices.items()}
            settled = chosen == {k: a[0] for k, a in self.previous_choices.items()}
            if not self.looped or (values == self.previous and settled):
                break
            self.previous, self.previous_choices = values, dict(self.choices)
        else:  # a loop that flips (`default y if !X` in X): Kconfig itself rejects these
            self.reader.out.warn(f"values did not settle in {MAX_ROUNDS} rounds; the last is used")
        return {name: self.decided[name] for name in names}

    def order(self, names: list[str]) -> list[str]:
        """``names`` and every symbol they depend on, dependencies first."""
        seen: set[str] = set()
        out: list[str] = []
        for root in names:
            if root in seen:
                continue
            seen.add(root)
            stack = [(root, iter(self.references(root)))]
            while stack:
                name, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    out.append(name)
                elif child not in seen:
                    seen.add(child)
                    stack.append((child, iter(self.references(child))))
                    if len(seen) % 256 == 0:
                        self.reader.check_time()
        return out

    def references(self, name: str) -> set[str]:
        """The symbols whose values ``name``'s value may read.

        The same for every config of a read tree, so kept on the reader with the
        symbols whose entries it looked up: a later evaluation notes those again
        (``_Looked``), as if it had looked them up itself."""
        if name in self.user:
            return set()
        memo: dict[str, tuple[set[str], set[str]]] = self.reader.__dict__.setdefault(
            "references_memo", {}
        )
        tables: tuple[Any, ...] = (self.reader.nodes, self.reader.selects, self.reader.implies)
        known = memo.get(name)
        if known is not None:
            found, looked = known
            for table in tables:
                if getattr(table, "looked", None) is not None:
                    table.looked.update(looked)
            return set(found)
        outer = [getattr(table, "looked", None) for table in tables]
        here: set[str] = set()
        for table in tables:
            if hasattr(table, "looked"):
                table.looked = here
        try:
            found = self._references(name)
        finally:
            for table, was in zip(tables, outer, strict=True):
                if hasattr(table, "looked"):
                    table.looked = was
                    if was is not None:
                        was.update(here)
        memo[name] = (found, here)
        return set(found)

    def _references(self, name: str) -> set[str]:
        found: set[str] = set()
        for node in self.nodes(name):
            exprs: list[Expr | None] = [c.expr for c in node.all_deps()]
            exprs += [p.expr for p in node.prompts if p]
            for default in node.defaults:
                exprs += [default.value, default.cond.expr if default.cond else None]
            for low, high, cond in node.ranges:
                exprs += [low, high, cond.expr if cond else None]
            choice = node.choice
            if choice is not None:
                exprs += [c.expr for b in choice.outer for c in b.deps]
                exprs += [d.cond.expr for d in choice.defaults if d.cond]
                exprs += [p.expr for p in choice.prompts if p]
                for member in choice.members:
                    for other in self.nodes(member):
                        exprs += [c.expr for c in other.all_deps()]
                        exprs += [p.expr for p in other.prompts if p]
            found.update(s for e in exprs for s in _symbols_in(e))
        for table in (self.reader.selects, self.reader.implies):
            for reverse in table.get(name, []):
                cond = reverse.condition(self.reader.out)
                found.add(reverse.by)
                found.update(_symbols_in(cond.expr if cond else None))
                if reverse.node is not None and len(self.reader.nodes.get(reverse.by, ())) > 1:
                    node = _compile(reverse.node, self.reader.env, self.reader.out)
                    found.update(s for c in node.all_deps() for s in _symbols_in(c.expr))
        found.discard(name)
        return found

    # what expressions see

    def string(self, expr: Expr) -> str:
        if expr[0] == "const":
            return str(expr[1])
        if expr[0] == "env":  # ``option env=``: make's variable, at evaluation time
            return str(dict.get(self.reader.env, expr[1], ""))
        if expr[0] == "sym":
            name = expr[1]
            if name in self.user:
                return self.user[name]
            if name not in self.reader.nodes:
                if name in _IMPLICIT:  # (make's, at evaluation time, as ``option env``)
                    return str(dict.get(self.reader.env, name, ""))
                return str(name)  # an undefined word stands for itself, as in Kconfig
            decision = self.decide(name)
            return decision.value if decision else ""
        return "y" if self.true(expr) else "n"

    def true(self, expr: Expr) -> bool:
        kind = expr[0]
        if kind in ("const", "env"):
            return self.string(expr) in ("y", "m")
        if kind == "sym":
            known = expr[1] in self.reader.nodes or expr[1] in self.user
            return known and self.string(expr) in ("y", "m")
        if kind == "not":
            return not self.true(expr[1])
        if kind == "and":
            return all(self.true(item) for item in expr[1])
        if kind == "or":
            return any(self.true(item) for item in expr[1])
        return _compare(expr[1], self.string(expr[2]), self.string(expr[3]))

    def holds(self, cond: _Cond | None) -> bool:
        return cond is None or self.true(cond.expr)

    def enabled(self, node: _Node) -> bool:
        return all(self.true(c.expr) for c in node.all_deps())

    def shown(self, *exprs: Expr | None) -> str:
        """`` (A=y, B=n)``: the symbols a reason reads, with their values."""
        names = dict.fromkeys(n for e in exprs for n in _symbols_in(e))
        values = [
            f"{name}={self.string(('sym', name)) or 'n'}"
            if name in self.user or name in self.reader.nodes or name in _IMPLICIT
            else f"{name} undefined"
            for name in names
        ]
        return f" ({', '.join(values)})" if values else ""

    def because(self, default: _Default, value: str, *, show_value: bool = True) -> _Decision:
        cond = default.cond.expr if default.cond else None
        shown = self.shown(default.value if show_value else None, cond)
        return _Decision(
            value, default.path, default.line, f"{default.keyword} {default.text}{shown}"
        )

    # one symbol

    def decide(self, name: str) -> _Decision | None:
        if name in self.decided:
            return self.decided[name]
        if name in self.active or len(self.active) >= MAX_SYMBOL_DEPTH:
            self.looped = True  # take the last round's value; run() goes round again
            value = self.previous.get(name, "")
            return _Decision(value, "", 0, "depends on itself") if value else None
        self.active.append(name)
        try:
            nodes = self.nodes(name)
            kind = next((n.kind for n in nodes if n.kind), "bool") if nodes else None
            if name in self.user:
                where = (nodes[0].path, nodes[0].line) if nodes else ("", 0)
                decision: _Decision | None = _Decision(self.user[name], *where, "set by the config")
            elif kind is None:
                decision = None
            elif name in self.seed and self.prompted(nodes) and not self.in_choice(nodes):
                decision = self.seeded(name, nodes, kind)
            elif kind == "bool":
                decision = self.boolean(name, nodes)
            else:
                decision = self.scalar(nodes, kind)
        finally:
            self.active.pop()
        self.decided[name] = decision
        return decision

    def prompted(self, nodes: list[_Node]) -> bool:
        """The symbol has a prompt a user could answer: the only way a seed takes."""
        return any(
            self.enabled(node) and any(self.holds(p) for p in node.prompts) for node in nodes
        )

    @staticmethod
    def in_choice(nodes: list[_Node]) -> bool:
        return any(node.choice is not None for node in nodes)

    def seeded(self, name: str, nodes: list[_Node], kind: str) -> _Decision:
        value, node = self.seed[name], nodes[0]
        if kind != "bool":
            bounds = self.active_range(nodes, kind)
            number = _number(value, kind)
            if bounds is not None and number is not None:
                value = _format(min(max(number, bounds[0]), bounds[1]), kind)
            return _Decision(value, node.path, node.line, "set by the seed")
        if value in ("y", "m"):
            return _Decision("y", node.path, node.line, "set by the seed")
        selected = self.reverse(name, self.reader.selects, "selected")
        return selected or _Decision("n", node.path, node.line, "set by the seed")

    def reverse(self, name: str, table: dict[str, list[_Reverse]], verb: str) -> _Decision | None:
        """The first ``select``/``imply`` of ``name`` whose selector is y and condition holds."""
        for reverse in table.get(name, []):
            condition = reverse.condition(self.reader.out)
            node = reverse.node
            if (
                node is not None
                and len(self.reader.nodes.get(reverse.by, ())) > 1
                and not self.enabled(_compile(node, self.reader.env, self.reader.out))
            ):
                continue
            if self.true(("sym", reverse.by)) and self.holds(condition):
                cond = condition.expr if condition else None
                text = f" if {condition.text}" if condition else ""
                reason = f"{verb} by {reverse.by}{text}{self.shown(('sym', reverse.by), cond)}"
                return _Decision("y", reverse.path, reverse.line, reason)
        return None

    def unmet(self, nodes: list[_Node]) -> _Decision | None:
        """Why no entry of the symbol is enabled; None if one is."""
        if any(self.enabled(node) for node in nodes):
            return None
        node = nodes[0]
        failed = next(c for c in node.all_deps() if not self.true(c.expr))
        reason = f"depends on {failed.text}{self.shown(failed.expr)}"
        return _Decision("", node.path, node.line, reason)

    def first_default(self, nodes: list[_Node]) -> _Default | None:
        for node in nodes:
            if self.enabled(node):
                for default in node.defaults:
                    if self.holds(default.cond):
                        return default
        return None

    def boolean(self, name: str, nodes: list[_Node]) -> _Decision:
        choice = next((n.choice for n in nodes if n.choice is not None), None)
        if choice is not None:
            chosen, why = self.choose(choice)
            if chosen == name:
                return why
            reason = f"the choice picks {chosen}" if chosen else why.reason
            return _Decision("n", why.path, why.line, reason)
        unmet = self.unmet(nodes)
        default = self.first_default(nodes) if unmet is None else None
        if default is not None and self.true(default.value):
            return self.because(default, "y")
        for table, verb in ((self.reader.selects, "selected"), (self.reader.implies, "implied")):
            if verb == "implied" and unmet is not None:
                continue  # imply respects the target's dependencies, select does not
            found = self.reverse(name, table, verb)
            if found is not None:
                return found
        if default is not None:
            return self.because(default, "n")
        if unmet is not None:
            return _Decision("n", unmet.path, unmet.line, unmet.reason)
        return _Decision("n", nodes[0].path, nodes[0].line, "no default applies")

    def choose(self, choice: _Choice) -> tuple[str | None, _Decision]:
        """The member a choice picks, and why."""
        key = id(choice)
        if key in self.choices:
            answer = self.choices[key]
            if answer[1].reason == _IN_PROGRESS:  # a member's dependency reads the choice
                self.looped = True
                return self.previous_choices.get(key, answer)
            return answer
        self.choices[key] = (None, _Decision("n", choice.path, choice.line, _IN_PROGRESS))
        answer = self._choose(choice)
        self.choices[key] = answer
        return answer

    def _choose(self, choice: _Choice) -> tuple[str | None, _Decision]:
        here = (choice.path, choice.line)
        for name in choice.members:
            if self.user.get(name) in ("y", "m"):
                node = self.nodes(name)[0]
                return name, _Decision("y", node.path, node.line, "set by the config")
        deps = [c for block in choice.outer for c in block.deps] + choice.deps
        failed = next((c for c in deps if not self.true(c.expr)), None)
        if failed is not None:
            reason = f"choice depends on {failed.text}{self.shown(failed.expr)}"
            return None, _Decision("n", *here, reason)
        if not self.hidden_picks and not any(self.holds(p) for p in choice.prompts):
            hidden = next((p for p in choice.prompts if p is not None), None)
            reason = (
                f"the choice's prompt is hidden: if {hidden.text}{self.shown(hidden.expr)}"
                if hidden is not None
                else "the choice has no prompt, so it is hidden"
            )
            return None, _Decision("n", *here, reason)
        visible = [m for m in choice.members if self.visible(m, choice)]
        for name in visible:
            if self.seed.get(name) in ("y", "m"):
                node = self.nodes(name)[0]
                return name, _Decision("y", node.path, node.line, "set by the seed")
        if choice.optional:
            return None, _Decision("n", *here, "optional choice; the config picks nothing")
        for default in choice.defaults:
            member = default.value[1] if default.value[0] == "sym" else None
            if member in visible and self.holds(default.cond):
                # the member's own value is what is being decided: do not show it
                return member, self.because(default, "y", show_value=False)
        if visible:
            return visible[0], _Decision("y", *here, "first visible member of the choice")
        return None, _Decision("n", *here, "no member of the choice is visible")

    def visible(self, member: str, choice: _Choice) -> bool:
        return any(
            choice in node.blocks
            and self.enabled(node)
            and (not node.prompts or any(self.holds(p) for p in node.prompts))
            for node in self.nodes(member)
        )

    def scalar(self, nodes: list[_Node], kind: str) -> _Decision:
        unmet = self.unmet(nodes)
        if unmet is not None:
            return _Decision("", unmet.path, unmet.line, f"{unmet.reason}: no value")
        default = self.first_default(nodes)
        bounds = self.active_range(nodes, kind)
        first = nodes[0]
        if default is None:
            if bounds is None or not self.prompted(nodes):  # make writes no value then
                return _Decision("", first.path, first.line, "no default applies")
            return _Decision(
                _format(bounds[0], kind), first.path, first.line, "low end of the range"
            )
        decision = self.because(default, self.string(default.value))
        number = _number(decision.value, kind)
        if bounds is None or number is None or bounds[0] <= number <= bounds[1]:
            return decision
        clamped = _format(min(max(number, bounds[0]), bounds[1]), kind)
        reason = f"{decision.reason}, clamped to the range {bounds[0]}..{bounds[1]}"
        return _Decision(clamped, decision.path, decision.line, reason)

    def active_range(self, nodes: list[_Node], kind: str) -> tuple[int, int] | None:
        for node in nodes:
            for low, high, cond in node.ranges:
                if self.holds(cond):
                    bounds = _number(self.string(low), kind), _number(self.string(high), kind)
                    if bounds[0] is not None and bounds[1] is not None:
                        return bounds[0], bounds[1]
        return None


def _format(number: int, kind: str) -> str:
    return hex(number) if kind == "hex" else str(number)
