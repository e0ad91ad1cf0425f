"""Kconfig answers kept across revisions, and their key.

In: a tree, a srcarch, the symbols set and the symbols asked (or an alldefconfig's
seed and the symbols wanted). Out: ``kconfig``'s answer, from the memo when every
Kconfig file it read is unchanged here, or changed in a way that cannot reach it.

The key of a Kconfig answer (the values ``kconfig_values`` gives the symbols
asked for under the config's own symbols, for one srcarch): the symbols asked
and set, and every Kconfig file read, by path and blob id (and every file a
``source`` named that the tree lacked: one that appears is read), except that a
file whose blob changed still matches when neither version can reach the answer
other than by its line numbers:

- both versions read without the full reader (no macro language: no assignment,
  no ``$(`` in a line the reader expands; help text may say anything);
- what it sources is the same (``_sources``): each ``source`` line, the blocks
  around it and their dependencies, in the same order, so the walk below it is
  the same and so is its reading order. Its other block structure can reach the
  answer only through the entries of looked-up symbols, whose blocks are in
  their projection (below). (This was a digest of every block line before: an
  unrelated ``if`` or ``menu`` made on most real tags a full read again);
- reading it warns the same, line for line (the warnings are part of the answer:
  every cell notes the first few);
- what it says of the symbols the evaluation looked up is the same but for line
  numbers (``_projection``): each entry of one (its lines, its blocks, the
  ``source`` lines before it), and each ``select``/``imply`` of one with the entry
  it is in. A ``depends on PCI`` in a driver's entry names PCI but is not read.

A file's entries are the only way into the answer; the blocks of a file end with
it; what it sources is in its structure. When lines moved, the answer's lines in
that file (values and warnings) are moved with them (``_rebound``), and the
rebound answer is kept with the new blob ids.

Checking costs a lookup per directory whose tree id changed, not per file: an
answer keeps the tree id of every directory holding a file it read, and the
files of a directory whose id is the same are the same (123 real tags: 239,000
file checks before, 70,000 after).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from . import kconfig_files
from .errors import ExtractorError
from .kconfig_entries import KconfigValues, _Choice
from .kconfig_read import hidden_choices_pick

#: (path, blob id, symbols looked up) -> ``_projection`` of the blob's parse
_PROJECTIONS: dict[tuple[str, str, frozenset[str]], tuple[tuple[Any, ...], tuple[int, ...]]] = {}
#: a warning's place: "path:line: "
_PLACE = re.compile(r"([^:\s]+):(\d+): ")


def _shape(block: Any) -> tuple[Any, ...]:
    """A block as the answer sees it, without its lines: kind and dependencies
    (and a choice's defaults, members, whether it is optional, its prompts' conditions)."""
    shape: tuple[Any, ...] = (block.kind, tuple(dep.text for dep in block.deps))
    if isinstance(block, _Choice):
        defaults = tuple((d.keyword, d.text) for d in block.defaults)
        prompts = tuple(p.text if p else "" for p in block.prompts)
        shape += (defaults, tuple(block.members), block.optional, prompts)
    return shape


def _sources(parsed: Any) -> tuple[Any, ...]:
    """A parse's ``source`` lines without their line numbers: each one's keyword and
    path as written, and the blocks around it."""
    return tuple(
        (event[1], event[2], tuple(_shape(block) for block in event[5]))
        for event in parsed.events
        if event[0] == "source"
    )


def _projection(path: str, blob: str, parsed: Any, looked: frozenset[str]) -> tuple[Any, ...]:
    """What the parse says of the ``looked`` symbols, with no line number in it, and
    the line numbers it says it on, in the same order (two equal projections give
    a line map). Each entry of a symbol looked up: its lines, its blocks, and how
    many ``source`` lines come before it (reading order); each select and imply of
    one: the selecting symbol, its condition, and the entry it is in."""
    key = (path, blob, looked)
    found = _PROJECTIONS.get(key)
    if found is not None:
        return found
    nodes, lines = parsed.nodes, []
    sources = [event[4] for event in parsed.events if event[0] == "source"]
    places = {id(node): number for number, node in enumerate(nodes)}

    def entry(node: Any) -> tuple[Any, ...]:
        lines.append(node.line)
        lines.extend(line for _, _, line in node.lines)
        number = places.get(id(node), -1)
        blocks = []
        for block in node.blocks:
            if isinstance(block, _Choice):
                lines.append(block.line)
                lines.extend(default.line for default in block.defaults)
            blocks.append(_shape(block))
        before = sum(1 for at in sources if at <= number)
        return (node.name, tuple((k, rest) for k, rest, _ in node.lines), tuple(blocks), before)

    said: list[Any] = []
    named = set(looked.intersection(parsed.index))
    named.update(looked.intersection(parsed.selects), looked.intersection(parsed.implies))
    for name in sorted(named):
        said.extend(entry(nodes[number]) for number in parsed.index.get(name, ()))
        for kind in ("selects", "implies"):
            for reverse in getattr(parsed, kind).get(name, ()):
                lines.append(reverse.line)
                node = None if reverse.node is None else entry(reverse.node)
                said.append((kind, name, reverse.by, reverse.text, node))
    if len(_PROJECTIONS) > 20_000:
        _PROJECTIONS.clear()
    found = _PROJECTIONS[key] = (tuple(said), tuple(lines))
    return found


def _rebound(values: Any, moved: dict[str, dict[int, int]], warned: dict[str, list[str]]) -> Any:
    """``values`` with the lines of the files in ``moved`` (path -> old line -> new)
    moved; None if a line named is not in its map. A file's warnings from reading
    it are the same in both versions (``warned``) and stay as they are."""
    out = KconfigValues()
    for symbol, value in values.items():
        lines = moved.get(value.path)
        if lines is not None:
            if value.line not in lines:
                return None
            value = replace(value, line=lines[value.line])
        out[symbol] = value
    for warning in values.warnings:
        place = _PLACE.match(warning)
        path = place.group(1) if place is not None else None
        if place is not None and path in moved and warning not in warned[path]:
            lines, line = moved[path], int(place.group(2))
            if line not in lines:
                return None
            warning = f"{path}:{lines[line]}: {warning[place.end() :]}"
        out.warnings.append(warning)
    out.files, out.missing = list(values.files), list(values.missing)
    out.defined, out.probed = values.defined, dict(values.probed)
    return out


@dataclass
class KconfigAnswer:
    #: every file read, path -> blob id, in reading order (the first is the root),
    #: then every file a ``source`` named that the tree lacked, -> ""
    files: dict[str, str]
    #: the symbols (without ``CONFIG_``) the evaluation looked up
    looked: frozenset[str]
    values: Any
    #: the file that last kept this answer from a tree: checked first next time
    #: (the arch's own Kconfig changes at most tags; the other 480 files seldom)
    hot: str | None = None
    #: every directory holding a file read, its ancestors and the root (""): the
    #: files read directly in it, its subdirectories here, and its place in ``dir_ids``
    contents: dict[str, tuple[list[str], list[str], int]] = field(default_factory=dict)
    #: each directory's tree id when the answer was made: a directory whose id is the
    #: same holds the same files, so they are not looked at one by one (``_collect``)
    dir_ids: tuple[str, ...] = ()
    #: the tree whose blob and directory ids ``files`` and ``dir_ids`` hold
    tree_id: str = ""

    def index_dirs(self, tree: Any) -> None:
        self.tree_id = tree.tree_id
        self.contents = contents = _contents(tuple(self.files))
        # the answers made at one tree mostly read the same files: their ids are found once
        key = (tree.tree_id, id(contents))
        known = _DIR_IDS.get(key)
        if known is not None and known[0] is contents:
            self.dir_ids = known[1]
            return
        ids = (_dir_id(tree, head) for head in contents)
        self.dir_ids = tuple("?" if found is None else found for found in ids)
        if len(_DIR_IDS) > 16:
            _DIR_IDS.clear()
        _DIR_IDS[key] = (contents, self.dir_ids)


def _advance(answer: KconfigAnswer, tree: Any, moved: dict[str, Any]) -> None:
    """Bring an answer that still holds at ``tree``, with none of its lines moved,
    up to ``tree``: the blob ids of the files that changed (``moved``) and the
    directory ids. Its next check then looks at what changed since this tree,
    not since the tree it was made at, and the answers kept at one tree find
    their changes once (``_changes``). The check is the same: sources, warnings
    and projections equal from one tree to the next are equal along the chain.
    (123 real tags: 2,637 file checks, 7,370 before.)"""
    if answer.tree_id == tree.tree_id:
        return
    if moved:  # (a new dict: the answers made at one tree share their files)
        now = {path: _shared(blob) for path, (blob, _, _) in moved.items()}
        answer.files = {**answer.files, **now}
    answer.index_dirs(tree)


#: (tree id, the id of a ``_contents``) -> it, and its directories' ids in that tree
_DIR_IDS: dict[tuple[Any, int], tuple[Any, tuple[str, ...]]] = {}


def _names(content: tuple[list[str], list[str], int]) -> list[str]:
    """The names looked up in a directory of ``KconfigAnswer.contents``: its files
    read, and its subdirectories holding one."""
    return [path.rpartition("/")[2] for part in content[:2] for path in part]


def _dir_id(tree: Any, head: str) -> str | None:
    """The tree id of the directory ``head`` ("" if absent, None if it escapes), one
    string per id: a thousand answers keep 150 each."""
    try:
        found = (tree.object_id(head) if head else tree.tree_id) or ""
    except ExtractorError:  # a path that escapes: never the same
        return None
    return _shared(found)


def _shared(object_id: str) -> str:
    """One string per object id: 300 answers keep 500 blob and directory ids each."""
    if len(_IDS) > 100_000:
        _IDS.clear()
    return _IDS.setdefault(object_id, object_id)


_IDS: dict[str, str] = {}


#: the files read, in order -> ``KconfigAnswer.contents`` for them: the same list
#: recurs across revisions and configs (kept for the last few lists)
_CONTENTS: OrderedDict[tuple[str, ...], dict[str, tuple[list[str], list[str], int]]] = OrderedDict()


def _contents(paths: tuple[str, ...]) -> dict[str, tuple[list[str], list[str], int]]:
    known = _CONTENTS.get(paths)
    if known is not None:
        _CONTENTS.move_to_end(paths)
        return known
    contents: dict[str, tuple[list[str], list[str], int]] = {}
    for path in paths:
        head = path.rpartition("/")[0]
        child = None
        while True:
            seen = head in contents
            files, subdirs, _ = contents.setdefault(head, ([], [], len(contents)))
            if child is None:
                files.append(path)
            elif child not in subdirs:
                subdirs.append(child)
            if seen or not head:
                break
            child, head = head, head.rpartition("/")[0]
    _CONTENTS[paths] = contents
    while len(_CONTENTS) > 16:
        _CONTENTS.popitem(last=False)
    return contents


class KconfigMemo:
    """Kconfig answers by (srcarch, symbols set, symbols asked), a few variants each."""

    def __init__(self) -> None:
        self.answers: dict[tuple[Any, ...], list[KconfigAnswer]] = {}
        #: (git tree id, key) -> the answer: every cell of a revision asks twice
        #: (the cache's content key, then the pipeline), every arch of a srcarch too
        self.by_tree: dict[tuple[Any, ...], Any] = {}
        self.reused = 0
        #: (tree id, an answer's directory ids) -> (its ``contents``, ``_changes``)
        self._changed: dict[tuple[Any, ...], tuple[Any, list[tuple[str, str, str]]]] = {}
        #: (tree id, files read, files missing) -> an answer's ``files``: the answers
        #: made at one tree read the same files (six questions a revision, 480 files)
        self._files: dict[tuple[Any, ...], dict[str, str]] = {}

    def clear(self) -> None:
        self.answers.clear()
        self.by_tree.clear()
        self._changed.clear()
        self._files.clear()
        _PROJECTIONS.clear()
        _CONTENTS.clear()
        _IDS.clear()
        _DIR_IDS.clear()

    def values(self, tree: Any, srcarch: str, symbols: dict[str, str], wanted: list[str]) -> Any:
        """``kconfig.kconfig_values(tree, srcarch, symbols, wanted)``, from the memo if it can."""
        from .kconfig import kconfig_values

        key = (
            srcarch,
            tuple(sorted(symbols.items())),
            tuple(sorted(wanted)),
            hidden_choices_pick(tree),
        )
        return self._answer(
            tree,
            srcarch,
            key,
            lambda looked: kconfig_values(tree, srcarch, symbols, wanted, looked=looked),
        )

    def alldefconfig(
        self,
        tree: Any,
        srcarch: str,
        make_arch: str,
        seed: dict[str, str],
        forced: dict[str, str],
        wanted: list[str],
    ) -> Any:
        """``kconfig.alldefconfig`` for the ``wanted`` symbols, from the memo if it can."""
        from .kconfig import alldefconfig

        key = (
            "alldefconfig",
            srcarch,
            make_arch,
            tuple(sorted(seed.items())),
            tuple(sorted(forced.items())),
            tuple(sorted(wanted)),
            hidden_choices_pick(tree),  # (the tree's Kconfig tool's own rule)
        )
        return self._answer(
            tree,
            srcarch,
            key,
            lambda looked: alldefconfig(
                tree, srcarch, seed, forced, make_arch=make_arch, wanted=wanted, looked=looked
            ),
        )

    def _answer(self, tree: Any, srcarch: str, key: tuple[Any, ...], compute: Any) -> Any:
        objects, tree_id = getattr(tree, "objects", None), getattr(tree, "tree_id", None)
        if tree_id is None or objects is None:
            return compute(None)
        known = self.by_tree.get((tree_id, key))
        if known is not None:
            return known
        if len(self.by_tree) > 64:
            self.by_tree.clear()
        from .kconfig import is_read

        # the tree is read already (another arch or question of this revision asked):
        # an evaluation costs less than checking the answers kept (40x, on real tags)
        kept = [] if is_read(tree, srcarch) else self.answers.get(key, [])
        for answer in kept:
            moved: dict[str, tuple[str, dict[int, int], list[str]]] = {}
            if not self._still(answer, tree, objects, srcarch, moved):
                continue
            values = answer.values
            if not any(lines for _, lines, _ in moved.values()):
                _advance(answer, tree, moved)
            else:
                values = _rebound(
                    values,
                    {path: lines for path, (_, lines, _) in moved.items() if lines},
                    {path: warned for path, (_, _, warned) in moved.items()},
                )
                if values is None:
                    continue
                now = {path: _shared(blob) for path, (blob, _, _) in moved.items()}
                rebound = KconfigAnswer({**answer.files, **now}, answer.looked, values)
                rebound.index_dirs(tree)
                variants = self.answers[key]
                variants.insert(0, rebound)
                del variants[4:]
            self.reused += 1
            self.by_tree[(tree_id, key)] = values
            return values
        looked: set[str] = set()
        values = compute(looked)
        if values is None or "*" in looked:
            return values
        files = self._read_files(tree, values)
        variants = self.answers.setdefault(key, [])
        answer = KconfigAnswer(files, frozenset(looked), values)
        answer.index_dirs(tree)
        variants.insert(0, answer)
        del variants[4:]
        if len(self.answers) > 256:
            self.answers.pop(next(iter(self.answers)))
        self.by_tree[(tree_id, key)] = values
        return values

    def _read_files(self, tree: Any, values: Any) -> dict[str, str]:
        """``KconfigAnswer.files`` for an answer made at ``tree`` (not to be changed:
        the answers made at one tree share it)."""
        key = (tree.tree_id, tuple(values.files), tuple(values.missing))
        files = self._files.get(key)
        if files is None:
            files = {path: _shared(tree.blob_id(path) or "") for path in values.files}
            for path in values.missing:  # a file that appears is read
                files.setdefault(path, "")
            if len(self._files) > 8:
                self._files.clear()
            self._files[key] = files
        return files

    def _still(
        self, answer: KconfigAnswer, tree: Any, objects: Any, srcarch: str, moved: dict[str, Any]
    ) -> bool:
        """Whether no file ``answer`` read can change it here; ``moved`` gains each
        changed file that cannot: path -> (blob id, old line -> new, its warnings)."""
        root = next((p for p in ("Kconfig", f"arch/{srcarch}/Kconfig") if tree.exists(p)), None)
        if root is None or root != next(iter(answer.files), None):
            return False
        files, hot = answer.files, answer.hot
        if hot in files and not self._file_still(
            answer, hot, files[hot], tree.blob_id(hot) or "", objects, srcarch, moved
        ):
            return False
        changes = self._changes(answer, tree)
        # the versions to compare, read in one round trip (a walk takes the new ones
        # where the check fails)
        objects.prefetch(
            [
                bytes.fromhex(version)
                for path, blob, now in changes
                for version in (blob, now)
                if version and not kconfig_files.is_parsed(path, version)
            ]
        )
        for path, blob, now in changes:
            if path == hot:  # (checked above)
                continue
            if not self._file_still(answer, path, blob, now, objects, srcarch, moved):
                answer.hot = path
                return False
        return True

    def _changes(self, answer: KconfigAnswer, tree: Any) -> list[tuple[str, str, str]]:
        """The files ``answer`` read whose blob is another in ``tree``: (path, blob
        then, blob now). Found once per tree for all the answers made at the same
        tree (the same files and directory ids), not once per answer: a revision
        asks about six questions, and the answers of one revision share a tree."""
        key = (tree.tree_id, answer.dir_ids)
        found = self._changed.get(key)
        if found is not None and found[0] is answer.contents:  # (held: its id is its own)
            return found[1]
        changes: list[tuple[str, str, str]] = []
        self._collect(answer, tree, changes)
        if len(self._changed) > 16:
            self._changed.clear()
        self._changed[key] = (answer.contents, changes)
        return changes

    def _collect(
        self, answer: KconfigAnswer, tree: Any, changes: list[tuple[str, str, str]]
    ) -> None:
        """``changes`` gains the files read whose blob changed: a directory whose tree
        id is the same holds the same files. Breadth first, so that the changed
        directories of one depth are read in one round trip: the directories a
        revision looks into are read ahead at the next one (``GitTree.warm``), but a
        check looks only into those that changed (123 real tags: 5,700 reads of one
        tree each before, on 138 searches)."""
        contents, dir_ids, then = answer.contents, answer.dir_ids, answer.files
        objects = tree.objects
        level = [""]
        while level:
            changed = []
            for head in level:
                now = _dir_id(tree, head)
                if now != dir_ids[contents[head][2]]:
                    changed.append((head, now))
            objects.prefetch_trees(
                [(bytes.fromhex(now), _names(contents[head])) for head, now in changed if now]
            )
            level = []
            for head, _ in changed:
                files, subdirs, _ = contents[head]
                for path in files:
                    blob = tree.blob_id(path) or ""
                    if blob != then[path]:
                        changes.append((path, then[path], blob))
                level.extend(subdirs)

    def _file_still(
        self,
        answer: KconfigAnswer,
        path: str,
        blob: str,
        now: str,
        objects: Any,
        srcarch: str,
        moved: dict[str, Any],
    ) -> bool:
        """Whether the file, at blob ``blob`` when ``answer`` was made and ``now``
        here, cannot change it but by its lines (see the module docstring)."""
        if now == blob:
            return True
        if not now or not blob:  # a file that appeared or went: its includer's structure
            return False
        old, new = (
            self._parsed(objects, path, blob, srcarch),
            self._parsed(objects, path, now, srcarch),
        )
        if old is None or new is None or old.full or new.full:
            return False
        if _sources(old) != _sources(new):  # the walk below it, or its order, differs
            return False
        # what reading the file warns is part of the answer (a note of every cell)
        warned = [event[1] for event in old.events if event[0] == "warn"]
        if warned != [event[1] for event in new.events if event[0] == "warn"]:
            return False
        (said, lines), (says, now_lines) = (
            _projection(path, blob, old, answer.looked),
            _projection(path, now, new, answer.looked),
        )
        if said != says:
            return False
        pairs = set(zip(lines, now_lines, strict=True))  # equal projections: equal lengths
        moves = dict(pairs)
        if len(moves) != len(pairs):  # a line went two ways
            return False
        if lines == now_lines:
            moves = {}
        moved[path] = (now, moves, warned)
        return True

    def _parsed(self, objects: Any, path: str, blob: str, srcarch: str) -> Any:
        """The file at ``blob`` parsed (None: unreadable)."""

        def read() -> bytes:
            _, data = objects.read_object(bytes.fromhex(blob), None, "")
            return bytes(data)

        try:
            return kconfig_files.parsed(path, blob, read, srcarch)
        except Exception:  # unreadable: not the same, the caller reads the tree
            return None


#: the one Kconfig memo of this process
KCONFIG = KconfigMemo()
