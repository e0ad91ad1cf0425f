"""Config space: which config symbols a constant depends on, and its value under each.

In: a tree, an arch, a base config and the constants to report.
Out: per constant, the config symbols that the ``#if``/``#ifdef`` branches on
its definition chain tested, and its value under every combination of them,
folded to a short answer such as
``THREAD_SIZE: 16384; 32768 if KASAN; 65536 if KASAN && KASAN_EXTRA``.

Symbols are discovered as they show up: setting one can reach a branch that
tests another (KASAN_EXTRA is tested only inside ``#ifdef CONFIG_KASAN``), so
the enumeration repeats until no new symbol appears. The arch's own symbols
(CONFIG_X86_64 for x86_64) are fixed, not enumerated. Above ``MAX_SYMBOLS``
symbols the enumeration is refused.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from .arches import Arch
from .config import Config
from .errors import ExtractorError, Location, UsageError
from .preprocess import Limits
from .result import Result
from .scan import scan_tree
from .source import Tree

MAX_SYMBOLS = 10  # 2**10 combinations


@dataclass
class Case:
    value: str
    #: symbols that must be set for this case (a later case wins over an earlier one)
    when: tuple[str, ...]


@dataclass
class Space:
    rev: str | None
    arch: str
    constant: str
    symbols: list[str]
    cases: list[Case] = field(default_factory=list)
    #: every combination: the set symbols and the value
    table: list[tuple[tuple[str, ...], str]] = field(default_factory=list)

    def text(self) -> str:
        parts = []
        for case in self.cases:
            condition = " && ".join(s.removeprefix("CONFIG_") for s in case.when)
            parts.append(case.value + (f" if {condition}" if condition else ""))
        where = f" on {self.rev}" if self.rev else ""
        return f"{self.constant}{where} {self.arch}: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "arch": self.arch,
            "constant": self.constant,
            "symbols": self.symbols,
            "cases": [{"value": c.value, "when": list(c.when)} for c in self.cases],
            "combinations": [{"set": list(s), "value": v} for s, v in self.table],
        }


def _value(result: Result, name: str) -> str:
    if result.error is not None:
        return f"error ({result.error.kind})"
    constant = result.constants.get(name)
    if constant is None:
        return "absent"
    if constant.value is None:
        return "not a macro" if constant.status == "not-a-macro" else "unknown"
    return str(constant.value)


def _tested(result: Result, fixed: set[str]) -> set[str]:
    symbols = {s for c in result.constants.values() for s in c.symbols}
    if result.stack_allocation is not None:  # the branches that chose the allocator
        symbols |= set(result.stack_allocation.symbols)
    return symbols - fixed


def explore(
    tree: Tree,
    arch: Arch,
    base: Config,
    macros: list[str],
    limits: Limits | None = None,
    allocation: bool = False,
) -> list[Space]:
    """Every reported constant's value over the config symbols its chain tests
    (and, with ``allocation``, the stack allocation's over its branches')."""
    from .arches import ARCHES

    # the symbols that say which arch this is (CONFIG_X86_64 and CONFIG_X86_32
    # for x86) are not enumerated, nor are int/hex/string values
    identity = {s for a in ARCHES.values() if a.srcarch == arch.srcarch for s in a.base_config}
    fixed = identity | {s for s, v in base.symbols.items() if v not in ("y", "n", "m")}
    #: the values forced -> the cell under them (the symbols enumerated grow: a run
    #: with fewer of them forced is another run)
    runs: dict[frozenset[tuple[str, str]], Result] = {}

    def run(on: frozenset[str], symbols: set[str]) -> Result:
        values = {s: ("y" if s in on else "n") for s in symbols}
        key = frozenset(values.items())
        if key not in runs:
            # forced, as --set is: the tree's Kconfig would otherwise decide them
            # again (its alldefconfig), and 6.12's x86_64, whose KASAN hangs on a
            # compiler probe kstack never runs, showed no KASAN case at all
            config = replace(
                base,
                symbols={**base.symbols, **values},
                forced={**base.forced, **values},
            )
            runs[key] = scan_tree(tree, arch, config, macros, limits, allocation)
            error = runs[key].error
            if error is not None:
                raise error
        return runs[key]

    start = frozenset(s for s, v in base.symbols.items() if v == "y") - fixed
    symbols = _tested(run(start, set()), fixed) | set(start)
    while True:
        if len(symbols) > MAX_SYMBOLS:
            names = ", ".join(sorted(symbols))
            raise UsageError(
                f"the constants depend on {len(symbols)} config symbols ({names}): "
                f"{2 ** len(symbols)} combinations, over the limit of {2**MAX_SYMBOLS}",
                Location(tree.rev),
            )
        order = sorted(symbols)
        found = set(symbols)
        for bits in itertools.product((False, True), repeat=len(order)):
            on = frozenset(s for s, b in zip(order, bits, strict=True) if b)
            found |= _tested(run(on, symbols), fixed)
        if found == symbols:
            break
        symbols = found
    order = sorted(symbols)
    combos = [
        frozenset(s for s, b in zip(order, bits, strict=True) if b)
        for bits in itertools.product((False, True), repeat=len(order))
    ]
    constants = list(dict.fromkeys(n for on in combos for n in run(on, symbols).constants))
    spaces = []
    for name in constants:
        tested: set[str] = set()
        for on in combos:
            constant = run(on, symbols).constants.get(name)
            tested |= set(constant.symbols) if constant else set()
        relevant = sorted(tested - fixed)
        table = [(tuple(sorted(on)), _value(run(on, symbols), name)) for on in combos]
        spaces.append(Space(tree.rev, arch.name, name, relevant, fold(table), table))
    if allocation:
        spaces.append(_allocation_space(tree, arch, combos, lambda on: run(on, symbols), fixed))
    return spaces


def _allocation_space(
    tree: Tree, arch: Arch, combos: list[frozenset[str]], run: Any, fixed: set[str]
) -> Space:
    """The stack allocation as one more "constant": ``pages order 2; vmalloc ... if VMAP_STACK``."""
    from .compare import ALLOCATION, allocation_text

    tested: set[str] = set()
    for on in combos:
        found = run(on).stack_allocation
        tested |= set(found.symbols) if found is not None else set()
    table = [(tuple(sorted(on)), allocation_text(run(on))) for on in combos]
    return Space(tree.rev, arch.name, ALLOCATION, sorted(tested - fixed), fold(table), table)


def fold(table: list[tuple[tuple[str, ...], str]]) -> list[Case]:
    """The shortest priority list of cases that reproduces ``table``, a later case
    winning over an earlier one.

    The combinations are taken from the fewest symbols up; each one whose value
    the cases so far do not give adds a case of its own. A case applies to the
    combinations that hold its symbols, which come later in that order, so
    adding one never changes a combination already taken, and the list always
    reproduces the table. A value can take several cases: arm64's stack doubles
    under KASAN_GENERIC or KASAN_SW_TAGS ("32768 if KASAN_GENERIC; 32768 if
    KASAN_SW_TAGS"), which a single case per value could not say.
    """
    cases: list[Case] = []
    for on, value in sorted(table, key=lambda row: (len(row[0]), row[0])):
        decided = None
        for case in cases:
            if set(case.when) <= set(on):
                decided = case.value
        if decided != value:
            cases.append(Case(value, on))
    return cases


def explore_all(
    tree: Tree,
    arch: Arch,
    base: Config,
    macros: list[str],
    limits: Limits | None = None,
    allocation: bool = False,
) -> list[Space] | ExtractorError:
    try:
        return explore(tree, arch, base, macros, limits, allocation)
    except ExtractorError as err:
        return err.at_rev(tree.rev)
