"""Cache, the content key: which of a tree's directives a cell's result depends on.

In: a cell's *template* (the headers one evaluation of it read, and the names
that matter in them), and a tree with its layout.
Out: the *content key* of the tree under that template, or None when it cannot
be keyed; and a stored result's line numbers moved to the tree at hand.

The key is a hash over the template's headers, but only of the directives in
them that can change the cell's macros: conditionals, includes, #error, and the
#define/#undef of *relevant* names (``relevance``: the chain macros, every name a
live #if tests, and what their bodies use). A comment, or a #define of an unrelated macro in a
header on the include path, leaves the key unchanged; an ``#undef`` of a chain
macro in the same header changes it. A git tree's Kconfig files count by what
the cell read of them: the key asks the tree's Kconfig the cell's questions
again (``kconfig_source.answers``, from the Kconfig memo); a directory's count
by their whole content, as a defconfig and the stack allocation's C files do,
but for ``kernel/fork.c``, which counts by what the allocation stage reads of it
(``allocation_text.footprint``: its directives, and its allocators and slab caches
from name to closing bracket; their line numbers only when the answer shows one).

Results are stored with each line number written as the ordinal of its
directive among the relevant ones of its header, and read back with the
lines of the cell at hand, so a comment added above a definition moves the
reported line without a re-run. Where the results are kept is ``cache``'s
business; this module only computes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .allocation_text import allocator_sites, footprint
from .errors import ExtractorError
from .kconfig_source import answers
from .layout import Header, Layout, mentions_in
from .preprocess import decode_header
from .relevance import Facts, projection
from .source import Tree

#: entries kept in each per-process memo before it is cleared (flat memory)
MAX_MEMO = 20_000


# --- templates: what one evaluation read ------------------------------------------


@dataclass
class Template:
    """The headers a cell's evaluation read, and the names that matter in them."""

    files: list[str]
    resolutions: list[tuple[str | None, bool, str, str]]
    names: list[str]
    #: the asm directory scanned for names the entry headers did not define
    scanned: str | None = None
    scanned_names: list[str] = field(default_factory=list)
    #: files keyed by their whole content: the Kconfig files read for
    #: Kconfig-derived values (unless ``kconfig_questions`` stand for them), a
    #: defconfig, the stack allocation's C files
    kconfig: list[str] = field(default_factory=list)
    #: the questions the evaluation put to the tree's Kconfig, keyed by their
    #: answers (``kconfig_source.answers``); None: the Kconfig files are in ``kconfig``
    kconfig_questions: list[Any] | None = None
    #: the CONFIG_ names whose definition the result shows (in a chain, or asked
    #: for): of the others, the Kconfig line that decided the value is not seen
    kconfig_shown: list[str] = field(default_factory=list)
    #: files of ``kconfig`` keyed by what the stack allocation stage reads of them
    #: (``allocation_text.footprint``), not whole: path -> whether their lines count
    footprints: dict[str, bool] = field(default_factory=dict)

    @functools.cached_property
    def name_set(self) -> tuple[bytes, frozenset[str]]:
        """The names as a set, and a short key for them (projections are kept by it)."""
        return _keyed_set(self.names)

    @functools.cached_property
    def shown_set(self) -> tuple[bytes, frozenset[str]]:
        """``kconfig_shown`` as a set, and a short key for it (Kconfig digests are)."""
        return _keyed_set(self.kconfig_shown)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Template:
        data = json.loads(text)
        data["resolutions"] = [tuple(r) for r in data["resolutions"]]
        return cls(**data)


def _keyed_set(names: list[str]) -> tuple[bytes, frozenset[str]]:
    return hashlib.sha1("\0".join(names).encode()).digest(), frozenset(names)


@dataclass
class Keyed:
    """A content key, and the line numbers it lets a stored result be read back with."""

    key: str
    #: per header, the lines of its relevant directives (ordinal -> line)
    lines: dict[str, Sequence[int]]
    #: per (header, name), the lines where the scan saw the name
    mention_lines: dict[str, list[int]] = field(default_factory=dict)
    #: the template's headers in this tree: path -> blob id
    inputs: dict[str, str] = field(default_factory=dict)

    def placement(self) -> tuple[Any, ...]:
        """The key together with every line it reads a result back at."""
        mentioned = tuple((k, tuple(v)) for k, v in self.mention_lines.items())
        return self.key, tuple(self.lines.values()), mentioned


# --- when a key is worth computing --------------------------------------------------


class Backoff:
    """Whether a cell's content key is worth computing at the next revision.

    A key costs a Kconfig answer, a layout and a projection of every header the
    template names, before the pipeline and again after it. On a history whose
    include closure seldom changes (the synthetic one: 99.7% of cells answered by
    content) it pays many times over; on real mainline, where some closure
    header changes at almost every tag, it answered 11% of the cells and cost 13%
    of the time. So after ``STREAK`` misses in a row a cell skips the key (before
    and after the pipeline) for 1, 2, 4 ... at most ``MAX_SKIP`` revisions, and a
    hit ends the backoff. The revision before a lookup still makes the template
    (``next``): one from the last lookup would be revisions old, and on real
    history, with one, a single lane that backed off at 2.6.28's merge windows
    never hit again (6 of 246 cells; 132 with it). The answers are the same either
    way: a skipped key only sends the cell to the pipeline.

    A streak is four misses (two until the eleventh session): once fork.c counted by
    what the allocation reads of it, 73% of real cells were answered by content,
    and backing off after two misses skipped keys that would have hit (123 tags x
    2 arches: 180 by content; 191 after four; 189 with no backoff; paired runs
    of four against two, 0.94x the wall time).
    """

    STREAK = 4
    MAX_SKIP = 8

    def __init__(self) -> None:
        #: cell -> [misses in a row, revisions left to skip]
        self._state: dict[str, list[int]] = {}

    def worth(self, cell: str) -> bool:
        state = self._state.setdefault(cell, [0, 0])
        if state[1] > 0:
            state[1] -= 1
            return False
        return True

    def next(self, cell: str) -> bool:
        """Whether the next revision looks its key up: a cell computed now makes
        the template for it then, even when it skipped the key itself."""
        return self._state.get(cell, [0, 0])[1] == 0

    def missed(self, cell: str) -> None:
        state = self._state.setdefault(cell, [0, 0])
        state[0] += 1
        if state[0] >= self.STREAK:
            state[1] = min(2 ** (state[0] - self.STREAK), self.MAX_SKIP)

    def hit(self, cell: str) -> None:
        self._state[cell] = [0, 0]


# --- the key ----------------------------------------------------------------------


class ContentKeys:
    """Content keys of trees, with the per-process memos that make neighbouring
    revisions cheap: a header version is projected once per set of names, and a
    scanned directory is looked at only where it changed since the last scan."""

    def __init__(self) -> None:
        self._mentions: dict[tuple[str, tuple[str, ...]], list[tuple[str, int, bool, bool]]] = {}
        self._projected: dict[tuple[str, bytes], tuple[tuple[int, ...], str]] = {}
        #: (blob id, whether lines count) -> ``allocation_text.footprint`` of it
        self._footprints: dict[Any, str | None] = {}
        #: blob id -> ``allocation_text.allocator_sites`` of it
        self._allocator_sites: dict[Any, str | None] = {}
        #: (directory, names) -> the file ids of its last scan, and the headers
        #: in it that mention a name (with their blob and mentions)
        self._scans: dict[tuple[str, tuple[str, ...]], tuple[dict[str, str], dict[str, Any]]] = {}

    def content_key(
        self, cell: str, template: Template, layout: Layout, facts: Facts
    ) -> Keyed | None:
        """The content key of this tree under ``template`` (None: not keyable);
        ``facts`` reads a header's directive facts, kept per blob by the store."""
        tree = layout.tree
        names_key, names = template.name_set
        parts: list[Any] = [
            cell,
            layout.era,
            layout.asm_dir,
            layout.include_dirs,
            list(layout.gcc),
            layout.force_includes,
        ]
        keyed = Keyed("", {})
        for path in template.files:
            blob = tree.blob_id(path)
            if blob is None:
                parts.append([path, None])
                continue
            keyed.inputs[path] = blob
            projected = self._projected.get((blob, names_key))
            if projected is None:
                kept = projection(facts(tree, path, blob), names)
                if any("__has_include" in d.text for d in kept):
                    return None  # depends on which files exist: not keyed here
                digest = hashlib.sha1("\n".join(d.text for d in kept).encode()).hexdigest()
                projected = (tuple(d.line for d in kept), digest)
                if len(self._projected) > MAX_MEMO:
                    self._projected.clear()
                self._projected[(blob, names_key)] = projected
            keyed.lines[path] = projected[0]
            parts.append([path, projected[1]])
            if template.footprints and path not in template.footprints:
                parts.append(self._sites(tree, path, blob))
        for includer, quoted, name, _ in template.resolutions:
            parts.append(layout.locate(name, quoted=quoted, includer=includer))
        if template.scanned:
            parts.append(self._scan(layout, template, keyed))
        parts.append([self._whole(tree, path, template.footprints) for path in template.kconfig])
        if template.kconfig_questions is not None:
            shown_key, shown = template.shown_set
            parts.append(answers(tree, template.kconfig_questions, shown, shown_key))
        arch = layout.arch
        roots = (
            "Kconfig",
            f"arch/{arch.srcarch}/Kconfig",
            f"arch/{arch.make_arch or arch.name}/Kconfig",
        )
        parts.append([tree.exists(p) for p in roots])
        keyed.key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
        return keyed

    def _sites(self, tree: Tree, path: str, blob: str) -> str | None:
        """``allocation_text.allocator_sites`` of a header the stack allocation looked
        through for an arch's allocator (None: unreadable, which a rerun reports)."""
        return self._of_text(self._allocator_sites, blob, tree, path, allocator_sites)

    def _whole(self, tree: Tree, path: str, footprints: Mapping[str, bool]) -> Any:
        """A file keyed whole: its blob id, or what the allocation stage reads of it
        (its blob id if unreadable: a rerun reports it)."""
        blob = tree.blob_id(path)
        if blob is None or path not in footprints:
            return blob
        lines = footprints[path]
        found = self._of_text(
            self._footprints, (blob, lines), tree, path, lambda t: footprint(t, lines)
        )
        return blob if found is None else ["footprint", found]

    def _of_text(
        self, memo: dict[Any, str | None], key: Any, tree: Tree, path: str, make: Any
    ) -> str | None:
        """``make`` of the decoded text of ``path``, kept in ``memo`` under ``key``
        (a blob's); None when the file cannot be read."""
        if key in memo:
            return memo[key]
        try:
            found = make(decode_header(Header(path, tree.read(path) or b""), tree.rev))
        except ExtractorError:
            found = None
        if len(memo) > MAX_MEMO:
            memo.clear()
        memo[key] = found
        return found  # type: ignore[no-any-return]

    def _scan(self, layout: Layout, template: Template, keyed: Keyed) -> list[Any]:
        """What the textual scan for undefined names would see, without lines: the
        headers of the scanned directory that mention a wanted name, and how.

        A header that mentions none cannot change what the scan finds, so only
        the others are in the signature. Each header version is scanned once,
        and only the headers that differ from the last scan of the directory
        are looked at.
        """
        tree = layout.tree
        wanted = tuple(sorted(template.scanned_names))
        directory = template.scanned or ""
        files = tree.file_ids(directory)
        last = self._scans.get((directory, wanted))
        if last is None:
            changed: Any = files.items()
            mentioning: dict[str, tuple[str, list[tuple[str, int, bool, bool]]]] = {}
        elif files is last[0]:  # the same listing: the other configs of a revision
            changed, mentioning = [], last[1]
        elif getattr(files, "base", None) is last[0]:  # it knows what changed since
            changed = [(n, files[n]) for n in files.delta if n in files]  # type: ignore[attr-defined]
            mentioning = {n: m for n, m in last[1].items() if n in files}
        else:
            changed = files.items() - last[0].items()
            mentioning = {n: m for n, m in last[1].items() if n in files}
        changed = sorted((n, b) for n, b in changed if n.endswith(".h"))
        memo = self._mentions
        tree.prefetch([blob for _, blob in changed if (blob, wanted) not in memo])
        for name, blob in changed:
            seen = memo.get((blob, wanted))
            if seen is None:
                path = f"{directory}/{name}"
                found = mentions_in(path, tree.read(path) or b"", frozenset(wanted))
                seen = [
                    (n, m.line, m.defines, m.enumerator)
                    for n, ms in sorted(found.items())
                    for m in ms
                ]
                if len(memo) > MAX_MEMO:
                    memo.clear()
                memo[(blob, wanted)] = seen
            if seen:
                mentioning[name] = (blob, seen)
            else:
                mentioning.pop(name, None)
        if len(self._scans) > 64:
            self._scans.clear()
        self._scans[(directory, wanted)] = (files, mentioning)
        out: list[Any] = []
        for name, (_, seen) in sorted(mentioning.items()):
            path = f"{directory}/{name}"
            for n, line, _, _ in seen:
                keyed.mention_lines.setdefault(f"{path}\0{n}", []).append(line)
            out.append([path, [[n, d, e] for n, _, d, e in seen]])
        return out


# --- line relocation ---------------------------------------------------------------


def relocate(document: dict[str, Any], keyed: Keyed, *, to_lines: bool) -> Any:
    """Line numbers to ordinals (``to_lines=False``), or ordinals back to lines.

    A definition's or branch's line becomes the ordinal of its directive among
    its header's relevant ones; an enum member's line, the ordinal of the
    scan's mention. Returns None when a line is neither (such a result is
    simply not stored).
    """

    def move(table: Mapping[str, Sequence[int]], key: str, line: int | None) -> int | None:
        if line is None or key not in table:
            return line
        if to_lines:
            if not 0 <= line < len(table[key]):
                raise LookupError(key)
            return table[key][line]
        return table[key].index(line)  # ValueError when not a relevant directive

    def at(path: str | None, line: int | None) -> int | None:
        return move(keyed.lines, path or "", line)

    out = json.loads(json.dumps(document))
    try:
        for name, constant in out["constants"].items():
            if constant["status"] == "not-a-macro":
                constant["line"] = move(
                    keyed.mention_lines, f"{constant['file']}\0{name}", constant["line"]
                )
                if to_lines:
                    constant["reason"] = (
                        f"an enum member at {constant['file']}:{constant['line']}, not a macro"
                    )
                continue
            constant["line"] = at(constant["file"], constant["line"])
            for link in constant["chain"]:
                link["line"] = at(link["file"], link["line"])
                for condition in link["conditions"]:
                    condition["line"] = at(condition["file"], condition["line"])
                    condition["opening_line"] = at(condition["file"], condition["opening_line"])
        out["warnings"] = [_move_warning(w, at) for w in out["warnings"]]
    except (LookupError, ValueError):
        return None
    return out


def _move_warning(text: str, at: Any) -> str:
    path, sep, rest = text.partition(":")
    number, sep2, tail = rest.partition(":")
    if sep and sep2 and number.isdigit():
        return f"{path}:{at(path, int(number))}:{tail}"
    return text
