"""Kconfig files parsed once per blob, and a tree's entries found from them on demand.

In: a Tree, its srcarch and Kconfig root.
Out: a ``kconfig_read._Reader`` whose ``nodes``, ``selects`` and ``implies`` tables
fill in only the symbols an evaluation looks up; None when the tree needs the
full reader (see below).

Reading a tree's 600 Kconfig files line by line costs about half a second, and
on real history some Kconfig file changes at nearly every tag. But a file's
entries depend only on its bytes and its path: its ``if``/``menu``/``choice``
blocks end with it, and what encloses it is where its includer sources it. So:

- a file is parsed once per (path, blob id), ever in this process: its entries,
  each with the blocks the file itself puts around it, its ``select``/``imply``
  lines, its ``source`` lines with their blocks, and its warnings, in order;
- a tree is walked through the ``source`` lines only (following the full
  reader's rules: ``$SRCARCH``, optional sources, cycles, globs, paths that
  leave the tree), which gives every file its enclosing blocks and its place in
  reading order;
- a symbol's entries, selects and implies are gathered from the files' indexes
  when the evaluation first asks for it, in reading order, each entry with the
  enclosing blocks followed by its own.

The answers are the full reader's. Trees this cannot model are read in full:
a file that uses the macro language (4.18+: assignments and ``$(...)`` change
how later files read), a ``source`` inside a ``choice`` (its entries join the
choice), or a file that closes a block it did not open.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .errors import EscapeError
from .kconfig_entries import KconfigValues, _BadLine, _Choice, _Node, _Reverse, _tokenize
from .kconfig_read import _Looked, _Reader
from .source import Tree

#: parsed files kept: the walk of an x86 tree visits about 480, real history
#: changes a few dozen per tag (1500 held 25 MB; see memo.MAX_ITEMS for the bound)
MAX_PARSED = 900


@dataclass
class Parsed:
    """One file's parse, independent of the tree it is in."""

    #: the entries, in order: kconfig_entries._Node with the file's own blocks
    nodes: list[Any] = field(default_factory=list)
    #: symbol -> its selects / implies in this file (kconfig_entries._Reverse), in order
    selects: dict[str, list[Any]] = field(default_factory=dict)
    implies: dict[str, list[Any]] = field(default_factory=dict)
    #: ("source", keyword, rest, line, number) and ("warn", text), in reading order;
    #: ``number`` is how many entries come before it
    events: list[tuple[Any, ...]] = field(default_factory=list)
    #: the file needs the full reader (see the module docstring)
    full: bool = False
    #: symbol -> the indexes in ``nodes`` of its entries
    index: dict[str, list[int]] = field(default_factory=dict)
    #: its names are in ``_NAMES`` (a parse dropped from ``_PARSED`` leaves it)
    named: bool = False


_PARSED: OrderedDict[tuple[str, str], Parsed] = OrderedDict()
#: "index" / "selects" / "implies" -> symbol -> the parses held that define, select or
#: imply it, by id: a tree's tables look a symbol's files up here, instead of making
#: a table of the 10,000 names of its 480 files for the few hundred it is asked
_NAMES: dict[str, dict[str, dict[int, Parsed]]] = {"index": {}, "selects": {}, "implies": {}}
#: parses taken out of ``_NAMES`` so far
_UNNAMED = [0]


def forget() -> None:
    _PARSED.clear()
    _LAST_WALK.clear()
    for table in _NAMES.values():
        table.clear()


def _name(parsed: Parsed, add: bool) -> None:
    """Put ``parsed``'s names in ``_NAMES``, or take them out."""
    parsed.named = add
    _UNNAMED[0] += not add
    for kind, table in _NAMES.items():
        for name in getattr(parsed, kind):
            if add:
                table.setdefault(name, {})[id(parsed)] = parsed
            else:
                files = table.get(name)
                if files is not None and files.pop(id(parsed), None) is not None and not files:
                    del table[name]


class _FileReader(_Reader):
    """Reads one file on its own, noting into ``parsed`` what the tree walk needs."""

    def __init__(self, parsed: Parsed, srcarch: str) -> None:
        super().__init__(None, srcarch, KconfigValues(), 1, 3600.0)  # type: ignore[arg-type]
        self.parsed = parsed

    def warn(self, message: str, where: tuple[str, int] | None = None) -> None:
        at_path, line = where or self.where
        text = f"{at_path}:{line}: {message}" if at_path else message
        if " without " in message:
            self.parsed.full = True
        self.parsed.events.append(("warn", text))

    def source(self, keyword: str, rest: str, at: str) -> None:
        tokens = _tokenize(rest)
        if not tokens or len(tokens) != 1:
            raise _BadLine(f"{keyword} needs one path")
        if any(isinstance(b, _Choice) for b in self.blocks):
            self.parsed.full = True
        self.parsed.events.append(
            ("source", keyword, rest, self.where[1], len(self.sequence), tuple(self.blocks))
        )

    def assign(self, name: str, operator: str, value: str) -> None:
        self.parsed.full = True

    def expand(self, text: str, args: tuple[str, ...] = (), depth: int = 0) -> str:
        if "$(" in text:
            self.parsed.full = True
        return text


def parse(path: str, blob: str, data: bytes, srcarch: str) -> Parsed:
    """``data`` parsed as the Kconfig file at ``path`` (memoised by path and blob)."""
    key = (path, blob)
    found = _PARSED.get(key)
    if found is not None:
        _PARSED.move_to_end(key)
        return found
    parsed = Parsed()
    reader = _FileReader(parsed, srcarch)
    reader.parse(path, data.decode("utf-8", "replace").splitlines())  # once per blob
    if reader.blocks:
        reader.warn(f"{len(reader.blocks)} if/menu/choice left open at the end", (path, 0))
    parsed.nodes = reader.sequence
    for number, node in enumerate(parsed.nodes):
        parsed.index.setdefault(node.name, []).append(number)
    parsed.selects = dict(reader.selects)
    parsed.implies = dict(reader.implies)
    _PARSED[key] = parsed
    _name(parsed, True)
    while len(_PARSED) > MAX_PARSED:
        _name(_PARSED.popitem(last=False)[1], False)
    return parsed


def is_parsed(path: str, blob: str) -> bool:
    """Whether the file at ``path`` with blob id ``blob`` is parsed already."""
    return (path, blob) in _PARSED


def parsed(path: str, blob: str, read: Any, srcarch: str) -> Parsed:
    """The parse of the file at ``path`` with blob id ``blob``; ``read()`` gives its
    bytes when it was not parsed yet."""
    found = _PARSED.get((path, blob))
    if found is not None:
        _PARSED.move_to_end((path, blob))
        return found
    return parse(path, blob, read(), srcarch)


@dataclass
class _Place:
    """A file as the walk met it: its parse, enclosing blocks and reading-order key."""

    path: str
    parsed: Parsed
    blocks: tuple[Any, ...]
    order: tuple[int, ...]


#: (srcarch, root file) -> the files the last walk read: the next walk reads ahead
#: those whose blob it has not parsed, in one round trip (123 real tags: 3,600
#: round trips in 38 walks before, one a file)
_LAST_WALK: dict[tuple[str, str], list[str]] = {}


class _Walk:
    def __init__(self, reader: Any, root: str, srcarch: str) -> None:
        self.reader = reader
        self.tree: Tree = reader.tree
        self.places: list[_Place] = []
        self.stack: list[str] = []
        self.full = False
        key = (srcarch, root)
        self.read_ahead(_LAST_WALK.get(key, []))
        self.visit(root, (), (), optional=False)
        _LAST_WALK[key] = [place.path for place in self.places]

    def read_ahead(self, paths: list[str]) -> None:
        """Read in one round trip the files of ``paths`` not parsed at their blob here."""
        blob_ids = getattr(self.tree, "read_ahead", None)
        if paths and blob_ids is not None:
            found = blob_ids(paths).items()
            self.tree.prefetch([blob for path, blob in found if (path, blob) not in _PARSED])

    def visit(
        self, path: str, blocks: tuple[Any, ...], order: tuple[int, ...], optional: bool
    ) -> None:
        reader = self.reader
        reader.check_bounds(path, len(self.stack))
        try:
            blob = self.tree.blob_id(path)
            parsed = _PARSED.get((path, blob)) if blob else None
            if blob and parsed is not None:  # kept fresh: a file every tree reads stays
                _PARSED.move_to_end((path, blob))
            data = self.tree.read(path) if parsed is None else b""
        except EscapeError as err:
            reader.warn(f"source {path!r} ignored: {err.message}")
            return
        if data is None:
            reader.out.missing.append(path)
            if not optional:
                reader.warn(f"source {path!r}: no such file in the tree")
            return
        if parsed is None:
            parsed = parse(path, blob or "", data, reader.env["SRCARCH"])
        if parsed.full:
            self.full = True
            return
        reader.out.files.append(path)
        self.places.append(_Place(path, parsed, blocks, order))
        self.stack.append(path)
        try:
            for position, event in enumerate(parsed.events):
                if self.full:
                    return
                if event[0] == "warn":
                    reader.out.warn(event[1])
                    continue
                _, keyword, rest, line, number, inner = event
                reader.where = (path, line)
                # after the file's first ``number`` entries, before the next one
                here = (*order, 2 * number, position)
                self.source(keyword, rest, path, blocks + inner, here)
        finally:
            self.stack.pop()

    def source(
        self, keyword: str, rest: str, path: str, blocks: tuple[Any, ...], order: tuple[int, ...]
    ) -> None:
        tokens = _tokenize(rest) or [""]  # (one token: the parse checked)
        target = self.reader.source_target(keyword, tokens[0], path, self.stack)
        if target is not None:
            self.visit(target, blocks, order, optional=keyword in ("osource", "orsource"))


def indexed_reader(
    tree: Tree, srcarch: str, root: str, out: Any, max_files: int, max_seconds: float
) -> Any:
    """A reader for ``tree`` whose tables fill in on demand, or None where only the
    full reader models the tree."""
    reader = _Reader(tree, srcarch, out, max_files, max_seconds)
    walk = _Walk(reader, root, srcarch)
    if walk.full:
        return None
    tables = _Tables(walk.places)
    reader.nodes = _Lazy(tables.nodes)
    reader.selects = _Lazy(lambda name: tables.reverses(name, "selects"))
    reader.implies = _Lazy(lambda name: tables.reverses(name, "implies"))
    return reader


class _Tables:
    """A tree's entries and selects, made for one symbol at a time."""

    def __init__(self, places: list[_Place]) -> None:
        self.places = places
        #: id of a parse -> its places in this tree (a file sourced twice has two)
        self.at: dict[int, list[_Place]] = {}
        for place in places:
            self.at.setdefault(id(place.parsed), []).append(place)
        #: ``_UNNAMED`` when every parse placed was last seen named
        self.unnamed = -1
        #: kind -> symbol -> places, made from this tree's own parses when ``_NAMES``
        #: lacks one of them (a tree of more than MAX_PARSED files drops its own)
        self.local: dict[str, dict[str, list[_Place]]] | None = None
        #: (id of a file's own node, the file's place) -> the node in this tree
        self.made: dict[tuple[int, int], Any] = {}
        self.choices: dict[tuple[int, int], Any] = {}

    def node(self, place: _Place, own: Any) -> Any:
        key = (id(own), id(place))
        node = self.made.get(key)
        if node is None:
            blocks = place.blocks + tuple(self.block(place, b) for b in own.blocks)
            node = _Node(own.name, own.path, own.line, blocks, own.lines, own=own)
            self.made[key] = node
        return node

    def block(self, place: _Place, block: Any) -> Any:
        """A file's own block in this tree: a choice's outer blocks start at the file's."""
        if not place.blocks or not isinstance(block, _Choice):
            return block
        key = (id(block), id(place))
        choice = self.choices.get(key)
        if choice is None:
            import dataclasses

            outer = place.blocks + tuple(self.block(place, b) for b in block.outer)
            choice = self.choices[key] = dataclasses.replace(block, outer=outer)
        return choice

    def placed(self, kind: str, name: str) -> list[_Place]:
        """This tree's places of the files that define (``kind`` "index"), select or
        imply ``name``."""
        if self.local is None and self.unnamed != _UNNAMED[0]:
            if all(place.parsed.named for place in self.places):
                self.unnamed = _UNNAMED[0]
            else:
                self.local = {kind: {} for kind in _NAMES}
                for place in self.places:
                    for each, table in self.local.items():
                        for symbol in getattr(place.parsed, each):
                            table.setdefault(symbol, []).append(place)
        if self.local is not None:
            return self.local[kind].get(name, [])
        files = _NAMES[kind].get(name, {})
        # (both alive, a parse held and one placed here have one id only if they are one)
        return [place for parsed in files.values() for place in self.at.get(id(parsed), ())]

    def nodes(self, name: str) -> list[Any] | None:
        found = [
            ((*place.order, 2 * number + 1), self.node(place, place.parsed.nodes[number]))
            for place in self.placed("index", name)
            for number in place.parsed.index[name]
        ]
        found.sort(key=lambda item: item[0])
        return [node for _, node in found] or None

    def reverses(self, name: str, kind: str) -> list[Any] | None:
        found = []
        for place in self.placed(kind, name):
            for own in getattr(place.parsed, kind)[name]:
                node = self.node(place, own.node) if own.node is not None else None
                number = place.parsed.nodes.index(own.node) if own.node is not None else 0
                reverse = _Reverse(own.by, own.text, own.path, own.line, node=node)
                found.append(((*place.order, 2 * number + 1), own.line, reverse))
        found.sort(key=lambda item: (item[0], item[1]))
        return [reverse for _, _, reverse in found] or None


class _Lazy(_Looked):
    """A symbol table whose rows are made when first looked up; it notes lookups
    as ``kconfig_read._Looked`` does (a listing of the whole table is refused: the
    caller reads the tree in full)."""

    def __init__(self, make: Any) -> None:
        super().__init__()
        self.make = make
        self.absent: set[str] = set()

    def _fill(self, name: str) -> bool:
        if self.looked is not None:
            self.looked.add(name)
        if dict.__contains__(self, name):
            return True
        if name in self.absent:
            return False
        rows = self.make(name)
        if rows is None:
            self.absent.add(name)
            return False
        dict.__setitem__(self, name, rows)
        return True

    def __contains__(self, name: object) -> bool:
        return self._fill(str(name))

    def __getitem__(self, name: str) -> Any:
        if not self._fill(name):
            raise KeyError(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        return dict.__getitem__(self, name) if self._fill(name) else default

    def __iter__(self) -> Any:
        raise TypeError("a lazily read Kconfig table cannot be listed")

    keys = values = items = __iter__  # type: ignore[assignment]
