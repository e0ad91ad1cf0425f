"""Memo: the effect of including one header, kept across revisions and cells.

In: a header about to be included, and the preprocessor's state at that point.
Out: the header's *effect*, replayed into the preprocessor without running
pcpp, when one is known for exactly this input; else nothing, and the
preprocessor runs the header while this module records its effect.

The key. The effect of ``#include``-ing a header depends on exactly:

- the header: its tree path and its blob id (the path is part of the key
  because it is part of the effect: every definition names its file, and a
  quoted include resolves next to it);
- the values at entry of the names its live conditionals test: every name an
  ``#if``/``#elif`` expansion, ``defined``, ``#ifdef``/``#ifndef`` or a
  computed ``#include`` looked up, with its definition (replacement tokens,
  parameters) or its absence, as it was before the header touched it;
- how its includes resolve: for each ``#include``/``__has_include`` it made,
  the (path, blob id) the layout gives, and whether that header had already
  been read once (pcpp's include-once set);
- what is the same for a whole run: the arch's data model (``#if``
  arithmetic) and the include and expansion limits.

All of this is verified on lookup, nothing else is compared: a revision or a
config never appears in a key, so a header whose inputs recur anywhere in the
history replays. Nested headers are memoised the same way, and an entry holds
its children's entries by reference, so a changed header costs pcpp only for
itself and the headers that include it (their own directives); its siblings,
and the headers after it, replay.

The effect: the ``#define``/``#undef`` sequence (pcpp's macro objects with
the file, line and the ``#if`` branches of each definition, relative to the
include point), the headers opened, the include-once marks, warnings, the
branch regions and names tested (for ``line_active`` and ``--all-configs``),
and the include resolutions. A header that failed (``#error``, any error)
leaves no entry. Entries live for the process (workers keep theirs from task
to task) and are bounded: past ``MAX_ITEMS`` logged items the memo is cleared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .layout import COMPILER_DIR, MISSING_DIR, Layout
from .source import blob_id

#: logged effect items kept in the memo, over all entries (about 100 bytes each)
MAX_ITEMS = 600_000

#: a dependency's key: a macro name, ("once", abspath) or ("inc", includer, quoted, name)
DepKey = Any


@dataclass
class Effect:
    """One recorded inclusion of a header: what it needed and what it did."""

    deps: dict[DepKey, Any]
    #: tagged tuples in order (see ``Recording``); ("child", Effect, conditions) nests
    items: list[tuple[Any, ...]]
    #: deepest include nesting below the header, relative to it
    depth: int


@dataclass
class Recording:
    """An inclusion being run by pcpp, whose effect is being logged."""

    key: tuple[Any, ...]
    #: the touch counter when it started: names touched later were touched inside
    seq: int
    #: index into the preprocessor's log where its items start
    start: int
    #: ``#if`` frames open when it started
    frames: int
    include_depth: int
    deps: dict[DepKey, Any] = field(default_factory=dict)
    max_depth: int = 0


class HeaderMemo:
    """Effects by (scope, path, blob); each key holds a few variants, newest first."""

    def __init__(self) -> None:
        self.effects: dict[tuple[Any, ...], list[Effect]] = {}
        self.items = 0
        #: headers replayed and headers run by pcpp in this process (for --stats and tests)
        self.replayed = 0
        self.run = 0

    def candidates(self, key: tuple[Any, ...]) -> list[Effect]:
        return self.effects.get(key, [])

    def store(self, key: tuple[Any, ...], effect: Effect) -> None:
        self.items += len(effect.items) + len(effect.deps)
        if self.items > MAX_ITEMS:
            self.effects.clear()
            self.items = len(effect.items) + len(effect.deps)
        variants = self.effects.setdefault(key, [])
        variants.insert(0, effect)
        del variants[8:]

    def clear(self) -> None:
        self.effects.clear()
        self.items = 0


#: the one memo of this process
MEMO = HeaderMemo()


def fingerprint(macro: Any) -> Any:
    """What a conditional can see of a macro: its tokens and parameters (None: undefined)."""
    if macro is None:
        return None
    found = macro.__dict__.get("_kstack_fp")
    if found is None:
        arglist = tuple(macro.arglist) if macro.arglist is not None else None
        found = (tuple(t.value for t in macro.value), arglist, bool(macro.variadic))
        macro._kstack_fp = found
    return found


def resolve(layout: Layout, name: str, quoted: bool, includer: str | None) -> tuple[str, str]:
    """(path, blob id) an include reaches, without reading a tree header's text.

    Agrees with ``Layout.find`` (and the preprocessor's stand-ins): a tree
    header is named by its blob id, a generated one by the id of the text
    kstack generates, a compiler or missing stand-in by its path alone.
    """
    path = layout.locate(name, quoted=quoted, includer=includer)
    if path.startswith((COMPILER_DIR + "/", MISSING_DIR + "/")):
        return path, ""
    blob = layout.tree.blob_id(path)
    if blob is not None:
        return path, blob
    header = layout.find(name, quoted=quoted, includer=includer)  # generated: no object read
    return path, blob_id(header.text) if header is not None else ""


def replay(pp: Any, effect: Effect, prefix: tuple[Any, ...]) -> None:
    """Apply ``effect`` to the preprocessor ``pp`` as if pcpp had run the header.

    ``prefix`` is the ``#if`` branches open at the include point: each
    definition's conditions are those followed by the ones it was recorded under.
    """
    macros, definitions, recording = pp.macros, pp.definitions, bool(pp._recordings)
    for item in effect.items:
        tag = item[0]
        if tag == "d":
            _, name, macro, path, line, relative = item
            dict.__setitem__(macros, name, macro)
            definitions[name] = pp.definition(name, path, line, prefix + relative)
            if recording:
                pp._touch(name)
        elif tag == "c":
            replay(pp, item[1], prefix + item[2])
        elif tag == "r":
            pp.regions.setdefault(item[1], []).append((item[2], item[3]))
        elif tag == "t":
            pp.tested.update(item[1])
        elif tag == "s":
            pp.resolutions.append(item[1])
        elif tag == "h":
            pp.opened.append(item[1])
        elif tag == "D":
            dict.__setitem__(macros, item[1], item[2])
            definitions[item[1]] = item[3]
            if recording:
                pp._touch(item[1])
        elif tag == "u":
            dict.pop(macros, item[1], None)
            definitions.pop(item[1], None)
            if recording:
                pp._touch(item[1])
        elif tag == "F":
            dict.__setitem__(macros, "__FILE__", item[1])
        elif tag == "w":
            pp.warnings.append(item[1])
        elif tag == "1":
            pp.include_once[item[1]] = item[2]
            if recording:
                pp._touch(("once", item[1]))


def forget() -> None:
    """Drop every memo this process keeps across cells: the next cell runs from scratch."""
    from . import kconfig, preprocess

    MEMO.clear()
    kconfig._READ.clear()
    kconfig._LOGICAL.clear()
    preprocess._LEXED.clear()
    preprocess._LEXED_TOKENS[0] = 0
