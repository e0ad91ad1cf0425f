"""Relevance: which names and directives of a cell's headers can change its result.

In: the directive facts of the headers one evaluation of a cell read (``directives``),
and the names it was asked for (its constants, their chains, what the stack
allocation looked up).
Out: the *relevant* names (``relevant_names``): the seeds, every name an include
uses or a live conditional tests (one that encloses an include, an ``#error``, a
``#warning``, a pragma or a relevant definition), and, transitively, what their
bodies use; and a header's *projection* on them (``projection``): the directives
that can matter.

A result depends on its headers only through these, and on the config only through
the values of the relevant ``CONFIG_`` names: two runs whose relevant names have
the same values open the same headers (every conditional around an include is
live) and give the same constants, chains and notes. So the cache keys a cell by
its projections (``cache_content``), and a cell asks the tree's Kconfig only for
the relevant ``CONFIG_`` names it read (``scan``), not for every symbol its
headers test.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Set as AbstractSet

from .directives import CONDITIONALS, Directive, decode_text, directive_facts
from .source import Tree

#: (tree, path, blob id) -> the directive facts of that header version
Facts = Callable[[Tree, str, str], list[Directive]]
#: header versions whose facts ``facts`` keeps in memory
MAX_FACTS = 4096


def facts_of(data: bytes) -> list[Directive]:
    """The directive facts of a header's bytes (none for a binary file)."""
    return [] if b"\0" in data else directive_facts(decode_text(data))


_FACTS: OrderedDict[str, list[Directive]] = OrderedDict()


def header_facts(tree: Tree, path: str, blob: str, load: Facts | None = None) -> list[Directive]:
    """``facts_of`` the header at ``path``, kept in memory per blob id, the one memo
    of them in a process; ``load`` finds them where this memo has none (the cache
    reads its disk first), else the header is read."""
    found = _FACTS.get(blob)
    if found is None:
        found = load(tree, path, blob) if load is not None else facts_of(tree.read(path) or b"")
        _FACTS[blob] = found
        if len(_FACTS) > MAX_FACTS:
            _FACTS.popitem(last=False)
    return found


_BRANCHES = frozenset({"if", "ifdef", "ifndef", "elif", "else", "endif"})


def _groups(facts: list[Directive]) -> list[int] | None:
    """For each directive, the #if group it opens, continues or closes (-1 if
    none); None when the conditionals do not balance."""
    owner = [-1] * len(facts)
    stack: list[int] = []
    for index, directive in enumerate(facts):
        if directive.kind in ("if", "ifdef", "ifndef"):
            stack.append(index)
            owner[index] = index
        elif directive.kind in ("elif", "else", "endif"):
            if not stack:
                return None
            owner[index] = stack[-1] if directive.kind != "endif" else stack.pop()
    return None if stack else owner


class _Shape:
    """What relevance reads of one header version, worked out once per facts list
    (the facts are kept per blob, and a cell's closure asks about each header in
    every round): its groups, and which groups a directive makes live."""

    __slots__ = ("facts", "owner", "always", "by_name", "tests", "defines", "definitions",
                 "included")  # fmt: skip

    def __init__(self, facts: list[Directive]) -> None:
        self.facts = facts  # (held: the memo is keyed by its id)
        self.owner = _groups(facts)
        #: the groups enclosing a directive that matters by itself (``_basic`` but
        #: a definition); name -> the groups enclosing a #define/#undef of it
        self.always: set[int] = set()
        self.by_name: dict[str, set[int]] = {}
        #: each conditional that tests names: its group (-1: unbalanced), the names
        self.tests: list[tuple[int, tuple[str, ...]]] = []
        #: name -> its #define/#undef directives, in order; the names includes use
        self.definitions: dict[str, list[Directive]] = {}
        self.included: list[str] = []
        open_groups: list[int] = []
        for index, directive in enumerate(facts):
            kind = directive.kind
            if kind in CONDITIONALS:
                group = self.owner[index] if self.owner is not None else -1
                self.tests.append((group, directive.identifiers))
            if kind in ("if", "ifdef", "ifndef"):
                open_groups.append(index)
            elif kind == "endif":
                if open_groups:
                    open_groups.pop()
            elif kind in ("define", "undef"):
                self.definitions.setdefault(directive.name, []).append(directive)
                self.by_name.setdefault(directive.name, set()).update(open_groups)
            elif kind not in _BRANCHES:
                self.always.update(open_groups)
                if kind == "include":
                    self.included.extend(directive.identifiers)
        self.defines = set(self.definitions)

    def live(self, names: AbstractSet[str]) -> set[int] | None:
        """The #if groups that enclose something that matters with these names (an
        include, an #error, a #warning, a pragma, a relevant definition); None when
        the header does not balance, so every group counts."""
        if self.owner is None:
            return None
        live = set(self.always)
        for name in self.by_name.keys() & names:
            live |= self.by_name[name]
        return live


#: id of a facts list -> its shape (which holds the list, so the id stays its own)
_SHAPES: OrderedDict[int, _Shape] = OrderedDict()


def _shape(facts: list[Directive]) -> _Shape:
    found = _SHAPES.get(id(facts))
    if found is not None and found.facts is facts:
        _SHAPES.move_to_end(id(facts))
        return found
    found = _SHAPES[id(facts)] = _Shape(facts)
    if len(_SHAPES) > MAX_FACTS:
        _SHAPES.popitem(last=False)
    return found


def _basic(directive: Directive, names: AbstractSet[str]) -> bool:
    """A directive that matters by itself: an include, an #error, a #warning, a
    pragma, or the definition of a relevant name."""
    if directive.kind in ("define", "undef"):
        return directive.name in names
    return directive.kind not in _BRANCHES


_PARAMETERS = re.compile(r"#define\s+\w+\(([^)]*)\)")


def _parameters(directive: Directive) -> set[str]:
    match = _PARAMETERS.match(directive.text)
    return {p.strip() for p in match.group(1).split(",")} if match else set()


def relevant_names(facts: list[list[Directive]], seeds: set[str]) -> set[str]:
    """Names whose definitions can change a cell: the seeds, every name an
    include uses or a *live* conditional tests (one that encloses an include, an
    #error or a relevant definition), and, transitively, what their bodies use.
    A conditional around unrelated definitions only does not make its names matter.

    Worked to a fixpoint in rounds; a round expands only the names new since the
    last through their definitions, and looks again only at the headers that define
    one of them (a header's live groups change with nothing else).
    """
    shapes = [_shape(header) for header in facts]
    definitions: dict[str, list[Directive]] = {}
    names = set(seeds)
    for shape in shapes:
        for name, found in shape.definitions.items():
            definitions.setdefault(name, []).extend(found)
        names.update(shape.included)
    defined = list(definitions)
    expanded: set[str] = set()
    looked: set[str] | None = None  # the names the headers were last looked at with
    while True:
        queue = list(names - expanded)
        while queue:
            name = queue.pop()
            expanded.add(name)
            for directive in definitions.get(name, []):
                more = set(directive.identifiers)
                params = _parameters(directive)
                for fragment in directive.pasted:
                    if fragment not in params:  # `X##Y` pastes arguments, not names
                        more.update(n for n in defined if fragment in n)
                for new in more - names:
                    names.add(new)
                    queue.append(new)
        new_names = names if looked is None else names - looked
        if looked is not None and not new_names:  # (the first round looks at every header)
            return names
        looked = set(names)
        for shape in shapes:
            if new_names is not names and (
                shape.owner is None or shape.defines.isdisjoint(new_names)
            ):
                continue  # (unbalanced: all its conditionals count, taken the first time)
            live = shape.live(names)
            for group, tested in shape.tests:
                if live is None or group in live:
                    names.update(tested)


def projection(facts: list[Directive], names: AbstractSet[str]) -> list[Directive]:
    """The directives of a header that can matter to a cell with these names:
    the live #if groups' branches and what matters by itself."""
    shape = _shape(facts)
    live = shape.live(names)
    if live is None:
        return [d for d in facts if d.kind not in ("define", "undef") or d.name in names]
    owner = shape.owner
    assert owner is not None
    return [
        d
        for index, d in enumerate(facts)
        if (owner[index] in live if d.kind in _BRANCHES else _basic(d, names))
    ]
