"""Memo: the effect of including a header, kept across revisions and cells, and its key.

(Kconfig answers have their own memo, ``kconfig_memo``.) Verified on lookup
against exactly what it read; per process: workers keep theirs from task to task.

In: a header about to be included, and the preprocessor's state at that point.
Out: the header's *effect*, replayed into the preprocessor without running
pcpp, when one is known for exactly this input; else nothing, and the
preprocessor runs the header while this module records its effect.

The key. The effect of ``#include``-ing a header depends on exactly:

- the header: its tree path and its directive lines, as pcpp reads them (the
  path is part of the key because it is part of the effect: every definition
  names its file, and a quoted include resolves next to it). Not its blob id:
  the preprocessor reads only a header's directive skeleton
  (``directives.directive_skeleton``: the directive lines in place, the rest
  blank), so two versions that differ only outside directive lines, as most
  real header changes do, have the same effect. The key holds a digest of the
  skeleton, made once per blob; the one part of the effect that names the
  blob, its ``("h", header)`` item, is put right on replay;
- the values at entry of the names its live conditionals test: every name an
  ``#if``/``#elif`` expansion, ``defined``, ``#ifdef``/``#ifndef`` or a
  computed ``#include`` looked up, with its definition (replacement tokens,
  parameters) or its absence, as it was before the header touched it;
- how its includes resolve: for each ``#include``/``__has_include`` it made,
  the (path, blob id) the layout gives, and whether that header had already
  been read once (pcpp's include-once set);
- what is the same for a whole run: the data model as ``#if`` arithmetic
  sees it (``intmax_t``'s width and whether ``char`` is signed, all that
  ``evaluate``'s directive dialect reads of it: LP64 and ILP32 agree, so
  x86_64 and i386 cells share entries) and the include and expansion limits.

All of this is verified on lookup, nothing else is compared: a revision or a
config never appears in a key, so a header whose inputs recur anywhere in the
history replays. Nested headers are memoised the same way, and an entry holds
its children's entries by reference, so a changed header costs pcpp only for
itself: its includers are followed (below), its siblings and the headers
after it replay.

The effect: the ``#define``/``#undef`` sequence (pcpp's macro objects with
the file, line and the ``#if`` branches of each definition, relative to the
include point), the headers opened, the include-once marks, warnings, the
branch regions and names tested (for ``line_active`` and ``--all-configs``),
and the include resolutions. A header that failed (``#error``, any error)
leaves no entry. Entries live for the process (workers keep theirs from task
to task) and are bounded: past ``MAX_ITEMS`` logged items, the entries used
longest ago are dropped.

Early cutoff. When no variant of a header's entry verifies (a header it
includes changed, or a name it tests), the one whose macros at entry are
closest to the state here is *followed* rather than run: its own items are
applied in order, each of its own lookups (the ``own`` list: what its
directives looked up, where, and what they saw) is checked at the point it was
made, and each ``#include`` it made is done again live, replayed, followed or
run by its own key. A header's behaviour is a function of its own lookups and
of how its includes resolve, so when every check holds this is what pcpp would
do; at the first check that differs the state is put back and pcpp runs the
header. So a changed leaf costs pcpp for itself, not for every includer up to
the entry.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .errors import EscapeError
from .layout import COMPILER_DIR, MISSING_DIR, REFUSED_DIR, Layout
from .source import blob_id

#: logged effect items kept in the memo, over all entries: a definition holds
#: pcpp's macro and its tokens (a kilobyte or more), and a tag adds a few thousand.
#: This and the other per-process bounds (kconfig_files.MAX_PARSED,
#: preprocess_lex.MAX_LEXED_TOKENS, source_git_store.MAX_BLOB_BYTES and
#: MAX_RAW_TREE_BYTES) were lowered together to keep a worker under 300 MB: on all
#: 258 real tags x 2 arches x 2 configs, 352 MB peak before, 284 MB after, in the
#: same wall time. Raised to 100k once object-like definitions shared their tokens
#: with the lexed lines (an item got cheaper): 123 real tags x 2 arches, -j 1,
#: 249 MB -> 257 MB peak, pcpp runs 1,586 -> 1,149
MAX_ITEMS = 100_000

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
    #: the header's own lookups, in order: (items logged before it, key, value seen);
    #: what a partial replay checks at the same points (see ``_replay_partially``)
    own: list[tuple[int, DepKey, Any]] = field(default_factory=list)
    #: the blob of the header version recorded, whose ``("h", header)`` is the first item
    #: (versions with the same directive lines share the entry: ``Recorder._rebound``)
    blob: str = ""
    #: the memo key it is kept under (``HeaderMemo.keep``)
    key: tuple[Any, ...] = ()


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
    own: list[tuple[int, DepKey, Any]] = field(default_factory=list)


class HeaderMemo:
    """Effects by (scope, path, text key); each key holds a few variants, newest first.

    Past ``MAX_ITEMS`` logged items the entries used longest ago are dropped. (A
    wholesale clear, as before, restarted every header cold about every 15 real
    tags: on 45 tags x 2 arches, a third of the 1,350 pcpp runs were of a header
    version the memo had held.)
    """

    #: variants kept per key
    VARIANTS = 8

    def __init__(self) -> None:
        self.effects: OrderedDict[tuple[Any, ...], list[Effect]] = OrderedDict()
        self.items = 0
        #: headers replayed, replayed with their includes done live, and run by pcpp in
        #: this process (for --stats and tests)
        self.replayed = 0
        self.partial = 0
        self.run = 0

    def candidates(self, key: tuple[Any, ...]) -> list[Effect]:
        found = self.effects.get(key)
        if found is None:
            return []
        self.effects.move_to_end(key)
        return found

    def store(self, key: tuple[Any, ...], effect: Effect) -> None:
        variants = self.effects.get(key)
        if variants is None:
            variants = self.effects[key] = []
        else:
            self.effects.move_to_end(key)
        variants.insert(0, effect)
        self.items += _size(effect)
        for dropped in variants[self.VARIANTS :]:
            self.items -= _size(dropped)
        del variants[self.VARIANTS :]
        while self.items > MAX_ITEMS and len(self.effects) > 1:
            _, gone = self.effects.popitem(last=False)
            self.items -= sum(_size(e) for e in gone)

    def keep(self, effect: Effect) -> None:
        """``effect`` was replayed inside an includer's: keep it as used now. An entry
        whose includers replay whole is never looked up itself, but it is in use,
        and in memory through them: dropped, the next sibling change would run it
        through pcpp again."""
        variants = self.effects.get(effect.key)
        if variants is None:
            if effect.key:
                self.store(effect.key, effect)
        else:
            self.effects.move_to_end(effect.key)

    def replace(self, key: tuple[Any, ...], old: Effect, new: Effect) -> None:
        """``new`` in the place of ``old``, which holds as many items (a rebound copy)."""
        variants = self.effects.get(key, [])
        for number, effect in enumerate(variants):
            if effect is old:
                variants[number] = new

    def clear(self) -> None:
        self.effects.clear()
        self.items = 0


def _size(effect: Effect) -> int:
    return len(effect.items) + len(effect.deps)


#: the one memo of this process
MEMO = HeaderMemo()
#: blob id -> a digest of its directive lines, as pcpp reads them (``text_key``)
_SKELETONS: dict[str, bytes] = {}
#: digests kept (a digest and its blob id are about 150 bytes)
MAX_SKELETONS = 200_000
#: follow a header whose includes changed without pcpp (``_replay_partially``);
#: tests turn it off to compare
PARTIAL = [True]


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
    if path.startswith(REFUSED_DIR + "/"):
        layout.find(name, quoted=quoted, includer=includer)  # raises the refusal, as it says
    if path.startswith((COMPILER_DIR + "/", MISSING_DIR + "/")):
        return path, ""
    blob = layout.tree.blob_id(path)
    if blob is not None:
        return path, blob
    header = layout.find(name, quoted=quoted, includer=includer)  # generated: no object read
    return path, blob_id(header.text) if header is not None else ""


class Recorder:
    """The preprocessor's side of the memo: what a header needed, and replaying it.

    Mixed into ``KernelPreprocessor``, which calls ``_depend`` where a
    conditional or an include reads the state, ``_touch`` where a definition
    or an include-once mark changes it, and logs what a header did in
    ``_log`` while ``_recordings`` is not empty.
    """

    layout: Layout
    macros: Any
    include_once: dict[str, Any]
    include_depth: int
    limits: Any
    warnings: list[str]
    tested: set[str]
    _recordings: list[Recording]
    _log: list[tuple[Any, ...]]
    _seq: int
    _touched: dict[Any, int]
    _resolved: dict[tuple[str | None, bool, str], tuple[str, str]]
    _frames: list[Any]
    _directive_at: tuple[str, int]
    definitions: dict[str, Any]
    regions: dict[str, list[tuple[int, bool]]]
    opened: list[Any]
    resolutions: list[Any]
    #: (include, header, its skeleton or None): the header ``_header_now`` read last
    _last_read: tuple[Any, Any, str | None] | None

    def include_header(self, name: str, quoted: bool) -> Any:
        raise NotImplementedError

    def _conditions(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def _resolve(self, name: str, quoted: bool, includer: str | None) -> tuple[str, str]:
        found = self._resolved.get((includer, quoted, name))
        if found is None:
            found = self._resolved[(includer, quoted, name)] = resolve(
                self.layout, name, quoted, includer
            )
        return found

    # -- the key's text part, and the header version an effect names ----------------

    def _skeleton_of(self, header: Any) -> str:
        """The directive lines pcpp reads of ``header`` (``preprocess`` says how)."""
        raise NotImplementedError

    def _header_now(self, name: str, quoted: bool, includer: str | None) -> Any:
        """The header the include reaches here, read (the last one is kept)."""
        found = self._last_read
        if found is not None and found[0] == (includer, quoted, name):
            return found[1]
        header = self.layout.find(name, quoted=quoted, includer=includer)
        if header is None:
            header = self.layout.stand_in(name)
        self._last_read = ((includer, quoted, name), header, None)
        return header

    def text_key(self, name: str, quoted: bool, includer: str | None, blob: str) -> Any:
        """The key's part for the header's text: a digest of its directive lines,
        once per blob ("" for a compiler or missing stand-in, named by path alone)."""
        if not blob:
            return ""
        digest = _SKELETONS.get(blob)
        if digest is None:
            header = self._header_now(name, quoted, includer)
            skeleton = self._skeleton_of(header)
            self._last_read = ((includer, quoted, name), header, skeleton)
            if len(_SKELETONS) >= MAX_SKELETONS:
                _SKELETONS.clear()
            digest = _SKELETONS[blob] = hashlib.sha1(skeleton.encode()).digest()
        return digest

    def _rebound(
        self, key: tuple[Any, ...], effect: Effect, blob: str, include: tuple[Any, ...]
    ) -> Effect:
        """``effect`` naming the header version here: recorded from another blob with
        the same directive lines, it differs only in its first item, ``("h", header)``.
        The copy takes the memo's place of ``effect`` (children are shared, not
        copied): entries that held it are unchanged, and a memo that kept both would
        fill with copies and drop other entries."""
        if effect.blob == blob:
            return effect
        assert effect.items[0][0] == "h", "an effect starts with the header it opened"
        header = self._header_now(*include)
        rebound = Effect(
            effect.deps, [("h", header), *effect.items[1:]], effect.depth, effect.own, blob, key
        )
        MEMO.replace(key, effect, rebound)
        return rebound

    def _touch(self, key: Any) -> None:
        self._seq += 1
        self._touched[key] = self._seq

    def _depend(self, key: Any, value: Any) -> None:
        """Every open recording that had not changed ``key`` itself depends on its value."""
        for recording in reversed(self._recordings):
            if key in recording.deps or self._touched.get(key, 0) > recording.seq:
                break
            recording.deps[key] = value

    def _depend_on_macro(self, name: str) -> None:
        """A lookup by the header being run, in one of its own directives."""
        if self._recordings:
            self._own(name, fingerprint(dict.get(self.macros, name)))

    def _own(self, key: Any, value: Any) -> None:
        """The header being run looked ``key`` up itself and saw ``value``: a
        dependency of every open recording, and a check at this point of its items."""
        self._depend(key, value)
        recording = self._recordings[-1]
        recording.own.append((len(self._log) - recording.start, key, value))

    def _seen(self, key: Any) -> Any:
        """What a lookup of ``key`` sees here (as ``_own`` recorded it)."""
        if key.__class__ is str:
            return fingerprint(dict.get(self.macros, key))
        try:
            return self._resolve(key[3], key[2], key[1])
        except EscapeError:
            return None

    def _warn(self, text: str) -> None:
        self.warnings.append(text)
        if self._recordings:
            self._log.append(("w", text))

    def _tested(self, names: tuple[str, ...]) -> None:
        self.tested.update(names)
        if self._recordings:
            self._log.append(("t", names))

    def _mark_once(self, abspath: str, guard: Any) -> None:
        self.include_once[abspath] = guard
        if self._recordings:
            self._touch(("once", abspath))
            self._log.append(("1", abspath, guard))

    def _verify(self, effect: Effect) -> bool:
        """Whether the state here is the one ``effect`` was recorded in (its key)."""
        if self.include_depth + effect.depth >= self.limits.include_depth:
            return False
        macros, once = self.macros, self.include_once
        for key, value in effect.deps.items():
            if key.__class__ is str:
                if fingerprint(dict.get(macros, key)) != value:
                    return False
            elif key[0] == "once":
                if (key[1] in once) != value:
                    return False
            else:
                try:
                    if self._resolve(key[3], key[2], key[1]) != value:
                        return False
                except EscapeError:
                    return False
        return True

    def _closest(self, candidates: list[Effect]) -> Effect:
        """The variant to follow when none verifies: the one whose macros at entry
        differ from the state here in the fewest names (the newest of those). The
        variants of one header come from every arch that shares the scope; the
        newest is often another arch's, whose ``#ifdef CONFIG_X86_32`` fails."""
        macros = self.macros

        def differing(effect: Effect) -> int:
            return sum(
                1
                for key, value in effect.deps.items()
                if key.__class__ is str and fingerprint(dict.get(macros, key)) != value
            )

        return min(candidates, key=differing) if len(candidates) > 1 else candidates[0]

    def _adopt(self, effect: Effect) -> None:
        """Log ``effect`` as a child of the recording that includes it."""
        if not self._recordings:
            return
        parent = self._recordings[-1]
        parent.max_depth = max(parent.max_depth, self.include_depth + effect.depth)
        self._log.append(("c", effect, self._conditions()[parent.frames :]))

    def _replay(self, effect: Effect) -> None:
        if self._recordings:
            for key, value in effect.deps.items():
                self._depend(key, value)
        replay(self, effect, self._conditions())
        self._adopt(effect)

    # -- early cutoff: a header whose includes changed, followed without pcpp --------

    def _push_conditions(self, conditions: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def _pop_conditions(self, count: int) -> None:
        raise NotImplementedError

    def _replay_partially(
        self, effect: Effect, key: tuple[Any, ...], blob: str, include: tuple[Any, ...]
    ) -> Any:
        """Follow ``effect``, an earlier inclusion of this same header (same path and
        directive lines) that no longer verifies, without pcpp: its own items are applied in
        order, each of its own lookups is checked at the point it was made, and
        each ``#include`` it made is done again, live (replayed or run as its own
        key says). A header's behaviour is a function of what its own directives
        look up and of how its includes resolve, so when every check holds this is
        exactly what running it would do; the first check that fails puts the
        state back and answers False (the caller runs pcpp). A generator: the
        includes done live may run pcpp. On success the new effect is memoised.
        """
        saved, directive_at = self._save(), self._directive_at
        recording = Recording(key, self._seq, len(self._log), len(self._frames), self.include_depth)
        recording.max_depth = self.include_depth
        self._recordings.append(recording)
        prefix = self._conditions()
        self.include_depth += 1  # as pcpp's parsegen of the header would
        done = differs = False
        try:
            items, own, checked, index = effect.items, effect.own, 0, 0
            if effect.blob != blob:  # another version, same directive lines: name this one
                items = [("h", self._header_now(*include)), *items[1:]]
            while True:
                while checked < len(own) and own[checked][0] <= index:
                    _, dep, value = own[checked]
                    checked += 1
                    if self._seen(dep) != value:
                        differs = True
                        return False
                    self._own(dep, value)
                if index == len(items):
                    break
                item = items[index]
                if item[0] == "s":  # an #include: done live; its recorded items skipped
                    end = index + 1
                    while items[end][0] != "e":
                        end += 1
                    (includer, quoted, name, _), conditions, line = item[1], item[2], item[3]
                    self._push_conditions(conditions)
                    self._directive_at = (includer or "", line)
                    try:
                        yield from self.include_header(name, quoted)
                    finally:
                        self._pop_conditions(len(conditions))
                    index = end + 1
                    continue
                apply(self, item, prefix, bool(self._recordings))
                self._log.append(item)
                index += 1
            done = True
        finally:
            self.include_depth -= 1
            self._directive_at = directive_at  # as _run leaves it
            self._recordings.pop()
            logged = self._log[recording.start :]
            del self._log[recording.start :]
            if differs:  # (an error on the way is the header's own: the state stands)
                self._restore(saved)
        if not done:
            return False
        found = Effect(
            recording.deps,
            logged,
            recording.max_depth - recording.include_depth,
            recording.own,
            blob,
            key,
        )
        if len(self._frames) == recording.frames:
            MEMO.store(key, found)
        self._adopt(found)
        return True

    def _save(self) -> tuple[Any, ...]:
        return (
            dict(self.macros),
            dict(self.definitions),
            dict(self.include_once),
            {path: list(marks) for path, marks in self.regions.items()},
            set(self.tested),
            len(self.opened),
            len(self.resolutions),
            len(self.warnings),
            dict(self._touched),
            self._seq,
        )

    def _restore(self, saved: tuple[Any, ...]) -> None:
        macros, definitions, once, regions, tested, opened, resolutions, warnings = saved[:8]
        dict.clear(self.macros)
        dict.update(self.macros, macros)
        self.definitions.clear()
        self.definitions.update(definitions)
        self.include_once.clear()
        self.include_once.update(once)
        self.regions.clear()
        self.regions.update(regions)
        self.tested.clear()
        self.tested.update(tested)
        del self.opened[opened:]
        del self.resolutions[resolutions:]
        del self.warnings[warnings:]
        self._touched, self._seq = saved[8], saved[9]


def replay(pp: Any, effect: Effect, prefix: tuple[Any, ...]) -> None:
    """Apply ``effect`` to the preprocessor ``pp`` as if pcpp had run the header.

    ``prefix`` is the ``#if`` branches open at the include point: each
    definition's conditions are those followed by the ones it was recorded under.
    """
    macros, definitions, recording = pp.macros, pp.definitions, bool(pp._recordings)
    for item in effect.items:
        tag = item[0]
        if tag == "d":  # most items: inline
            _, name, macro, path, line, relative = item
            dict.__setitem__(macros, name, macro)
            definitions[name] = pp.definition(name, path, line, prefix + relative)
            if recording:
                pp._touch(name)
        elif tag == "c":
            MEMO.keep(item[1])
            replay(pp, item[1], prefix + item[2])
        else:
            apply(pp, item, prefix, recording)


def apply(pp: Any, item: tuple[Any, ...], prefix: tuple[Any, ...], recording: bool) -> None:
    """One logged item of an effect (not a child's: ``replay`` nests those)."""
    macros, definitions, tag = pp.macros, pp.definitions, item[0]
    if tag == "d":
        _, name, macro, path, line, relative = item
        dict.__setitem__(macros, name, macro)
        definitions[name] = pp.definition(name, path, line, prefix + relative)
        if recording:
            pp._touch(name)
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
    # "e" ends an include's items: nothing to apply
