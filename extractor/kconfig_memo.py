"""Kconfig answers kept across revisions, and their key.

In: a tree, a srcarch, the symbols set and the symbols asked (or an alldefconfig's
seed and the symbols wanted). Out: ``kconfig``'s answer, from the memo when every
Kconfig file it read is unchanged here, or changed in a way that cannot reach it.

The key of a Kconfig answer (the values ``kconfig_values`` gives the symbols
asked for under the config's own symbols, for one srcarch): the symbols asked
and set, and every Kconfig file read, by path and blob id (and every file a
``source`` named that the tree lacked: one that appears is read), except that a
file whose blob changed still matches when neither version can reach the answer:
it names none of the symbols the evaluation looked up (their entries,
selects and implies), it uses no macro language (no assignment, no ``$(`` in
a keyword's line; help text may say anything), and its block
structure (if/menu/choice and their ends, the dependencies a menu or choice
puts on what follows, and every ``source``) is the same line for line, and
reading it warns the same, line for line (the warnings are part of the answer:
every cell notes the first few). A file's entries are the only way into the
answer; the blocks of a file end with it; what it sources is in its structure.

Checking costs a lookup per directory whose tree id changed, not per file: an
answer keeps the tree id of every directory holding a file it read, and the
files of a directory whose id is the same are the same (123 real tags: 239,000
file checks before, 70,000 after).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from . import kconfig_files
from .errors import ExtractorError

#: Kconfig block structure: these keywords, and a menu's or choice's dependencies
_STRUCTURE = frozenset(
    "if endif menu endmenu choice endchoice source rsource osource orsource mainmenu".split()  # noqa: SIM905
)
#: keywords whose line a macro (``$(...)``) could turn into another entry or symbol
_KEYWORDS = _STRUCTURE | frozenset(
    "config menuconfig select imply depends default def_bool def_tristate bool tristate "  # noqa: SIM905
    "int hex string prompt range visible option requires enable".split()
)
#: a macro-language assignment (4.18+): it changes how other files' lines expand
_ASSIGNMENT = re.compile(r"^[A-Za-z0-9_-]+\s*(?::=|\+=|=)", re.M)
#: blob id -> (a digest of its structure lines, whether it uses macros): small,
#: so that thousands of Kconfig blob versions fit
_KCONFIG_INDEX: dict[str, tuple[bytes, bool]] = {}
#: (blob id, symbols looked up) -> whether the blob names any of them
_KCONFIG_NAMES: dict[tuple[str, frozenset[str]], bool] = {}
#: blob id -> the words it holds, for the blobs checked last: the symbols looked
#: up grow as cells ask for more, and each new set was checked against the text
_KCONFIG_WORDS: OrderedDict[str, frozenset[str]] = OrderedDict()
#: blobs whose words are kept (a changed arch Kconfig file has about 3,000)
MAX_WORD_SETS = 64
_WORD = re.compile(r"[A-Za-z0-9_]+")


def _kconfig_index(decoded: str) -> tuple[bytes, bool]:
    structure: list[str] = []
    in_block_head = False
    for line in decoded.splitlines():
        words = line.split(None, 1)
        if not words:
            continue
        if words[0] in _STRUCTURE:
            structure.append(line.strip())
            in_block_head = words[0] in ("menu", "choice")
        elif in_block_head and words[0] in ("depends", "visible", "requires"):
            structure.append(line.strip())
        elif words[0] in ("config", "menuconfig", "comment"):
            in_block_head = False
    macros = bool(_ASSIGNMENT.search(decoded)) or any(
        "$(" in line and line.split(None, 1)[0] in _KEYWORDS
        for line in decoded.splitlines()
        if "$(" in line
    )
    digest = hashlib.sha1("\n".join(structure).encode()).digest()
    return digest, macros


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
    #: same holds the same files, so they are not looked at one by one (``_dir_still``)
    dir_ids: tuple[str, ...] = ()

    def index_dirs(self, tree: Any) -> None:
        self.contents = _contents(tuple(self.files))
        ids = (_dir_id(tree, head) for head in self.contents)
        self.dir_ids = tuple("?" if found is None else found for found in ids)


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

    def clear(self) -> None:
        self.answers.clear()
        self.by_tree.clear()
        _KCONFIG_INDEX.clear()
        _KCONFIG_NAMES.clear()
        _KCONFIG_WORDS.clear()
        _CONTENTS.clear()
        _IDS.clear()

    def values(self, tree: Any, srcarch: str, symbols: dict[str, str], wanted: list[str]) -> Any:
        """``kconfig.kconfig_values(tree, srcarch, symbols, wanted)``, from the memo if it can."""
        from .kconfig import kconfig_values

        key = (srcarch, tuple(sorted(symbols.items())), tuple(sorted(wanted)))
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
            if self._still(answer, tree, objects, srcarch):
                self.reused += 1
                self.by_tree[(tree_id, key)] = answer.values
                return answer.values
        looked: set[str] = set()
        values = compute(looked)
        if values is None or "*" in looked:
            return values
        files = {path: _shared(tree.blob_id(path) or "") for path in values.files}
        for path in values.missing:  # a file that appears is read
            files.setdefault(path, "")
        variants = self.answers.setdefault(key, [])
        answer = KconfigAnswer(files, frozenset(looked), values)
        answer.index_dirs(tree)
        variants.insert(0, answer)
        del variants[4:]
        if len(self.answers) > 256:
            self.answers.pop(next(iter(self.answers)))
        self.by_tree[(tree_id, key)] = values
        return values

    def _still(self, answer: KconfigAnswer, tree: Any, objects: Any, srcarch: str) -> bool:
        root = next((p for p in ("Kconfig", f"arch/{srcarch}/Kconfig") if tree.exists(p)), None)
        if root is None or root != next(iter(answer.files), None):
            return False
        files, hot = answer.files, answer.hot
        if hot in files and not self._file_still(
            answer, hot, files[hot], tree.blob_id(hot) or "", objects, srcarch
        ):
            return False
        return self._dir_still(answer, "", tree, objects, srcarch)

    def _dir_still(
        self, answer: KconfigAnswer, head: str, tree: Any, objects: Any, srcarch: str
    ) -> bool:
        """Whether the files read under ``head`` cannot change ``answer`` here."""
        files, subdirs, position = answer.contents[head]
        if _dir_id(tree, head) == answer.dir_ids[position]:
            return True
        for path in files:
            now = tree.blob_id(path) or ""
            if not self._file_still(answer, path, answer.files[path], now, objects, srcarch):
                answer.hot = path
                return False
        return all(self._dir_still(answer, sub, tree, objects, srcarch) for sub in subdirs)

    def _file_still(
        self, answer: KconfigAnswer, path: str, blob: str, now: str, objects: Any, srcarch: str
    ) -> bool:
        """Whether the file, at blob ``blob`` when ``answer`` was made and ``now``
        here, cannot change it (see the module docstring)."""
        if now == blob:
            return True
        if not now or not blob:  # a file that appeared or went: its includer's structure
            return False
        old_index, new_index = self._index(objects, blob), self._index(objects, now)
        if old_index is None or new_index is None:
            return False
        if old_index[1] or new_index[1] or old_index[0] != new_index[0]:
            return False
        if self._names(objects, blob, answer.looked) or self._names(objects, now, answer.looked):
            return False
        # what reading the file warns is part of the answer (a note of every cell)
        old, new = (
            self._warnings(objects, path, blob, srcarch),
            self._warnings(objects, path, now, srcarch),
        )
        return old is not None and old == new

    def _warnings(self, objects: Any, path: str, blob: str, srcarch: str) -> list[str] | None:
        """What reading the file at ``blob`` warns, with its lines (None: unreadable)."""

        def read() -> bytes:
            _, data = objects.read_object(bytes.fromhex(blob), None, "")
            return bytes(data)

        try:
            parsed = kconfig_files.parsed(path, blob, read, srcarch)
        except Exception:  # unreadable: not the same, the caller reads the tree
            return None
        return [event[1] for event in parsed.events if event[0] == "warn"]

    @staticmethod
    def _text(objects: Any, blob: str) -> str | None:
        try:
            _, data = objects.read_object(bytes.fromhex(blob), None, "")
        except Exception:  # unreadable: not the same, the caller reads the tree
            return None
        return str(data.decode("utf-8", "replace"))

    def _index(self, objects: Any, blob: str) -> tuple[bytes, bool] | None:
        found = _KCONFIG_INDEX.get(blob)
        if found is None:
            text = self._text(objects, blob)
            if text is None:
                return None
            if len(_KCONFIG_INDEX) > 50_000:
                _KCONFIG_INDEX.clear()
            found = _KCONFIG_INDEX[blob] = _kconfig_index(text)
        return found

    def _names(self, objects: Any, blob: str, looked: frozenset[str]) -> bool:
        """Whether the blob names any of ``looked`` (True when it cannot be read)."""
        found = _KCONFIG_NAMES.get((blob, looked))
        if found is None:
            # a word set, not an alternation: hundreds of names would compile a regex per call
            words = _KCONFIG_WORDS.get(blob)
            if words is None:
                text = self._text(objects, blob)
                if text is None:
                    return True
                words = _KCONFIG_WORDS[blob] = frozenset(_WORD.findall(text))
                while len(_KCONFIG_WORDS) > MAX_WORD_SETS:
                    _KCONFIG_WORDS.popitem(last=False)
            else:
                _KCONFIG_WORDS.move_to_end(blob)
            found = not looked.isdisjoint(words)
            if len(_KCONFIG_NAMES) > 50_000:
                _KCONFIG_NAMES.clear()
            _KCONFIG_NAMES[(blob, looked)] = found
        return found


#: the one Kconfig memo of this process
KCONFIG = KconfigMemo()
