"""Cache: cell results kept in SQLite, keyed by exactly what they depend on.

In: a cell (a tree, an arch, a config, the names asked for) and, after the
pipeline ran, what it read.
Out: a ``Result`` that is known to be exact for the cell without running the
preprocessor, or None; and the records that make later cells cheap.

Two keys:

- the *tree key*: (tree id, cell). A revision whose tree was evaluated before
  costs one lookup. The row names the result's text by its hash: neighbouring
  tags mostly have the same result, and it is kept once.
- the *content key*: a hash over the headers one evaluation of the cell read
  (its *template*), but only of the directives in them that can change the
  cell's macros: conditionals, includes, #error, and the #define/#undef of
  *relevant* names (the chain macros, every name an #if tests, and what their
  bodies use). A comment, or a #define of an unrelated macro in a header on
  the include path, leaves the key unchanged; an ``#undef`` of a chain macro
  in the same header changes it.

Results are stored with each line number written as the ordinal of its
directive among the relevant ones of its header, and read back with the
lines of the cell at hand, so a comment added above a definition moves the
reported line without a re-run.

Per-blob directive facts are computed once per blob id and shared by every
revision. The file is in WAL mode so concurrent runs can share it; a computed
cell is written in one transaction, and cells found by content are written
in batches of whole rows, so an interrupted run leaves it consistent. Runs
that create a fresh cache at once create its schema once. A file that is
damaged (SQLITE_CORRUPT, SQLITE_NOTADB, a failed quick_check) or has another
schema is set aside and rebuilt, with a warning, but only by a run that has
it to itself: each run holds ``<cache>.lock`` shared while it has the cache
open, and one that finds it unusable while another run holds it leaves it
alone and keeps its own results in memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from . import __version__
from .config import Config
from .errors import CacheError
from .layout import Layout, mentions_in
from .preprocess import CONDITIONALS, Directive, decode_text, directive_facts
from .result import CachedResult, Result
from .source import Tree

SCHEMA = 3
#: rows found by content that are written together, in one transaction
PENDING_ROWS = 128
#: entries kept in each per-process memo before it is cleared (flat memory)
MAX_MEMO = 20_000

_TABLES = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tree_results (tree_id TEXT NOT NULL, cell TEXT NOT NULL,"
    " result_id TEXT NOT NULL, inputs TEXT NOT NULL, PRIMARY KEY (tree_id, cell))",
    "CREATE TABLE IF NOT EXISTS results (id TEXT PRIMARY KEY, result TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS content_results (key TEXT PRIMARY KEY, result TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS templates (cell TEXT PRIMARY KEY, template TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS facts (blob TEXT PRIMARY KEY, facts TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ref_trees (target TEXT PRIMARY KEY, tree_id TEXT NOT NULL)",
]

#: the error codes that mean the file is damaged or not a database at all; any
#: other error (a constraint, a lock, a full disk) says nothing about the file
_CORRUPTION = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class _Unusable(Exception):
    """A readable database that is not one kstack can use (damaged, or another schema)."""


def _primary(err: sqlite3.Error) -> int | None:
    code = getattr(err, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF  # extended codes keep the primary low


def _corrupt(err: sqlite3.Error) -> bool:
    return _primary(err) in _CORRUPTION


def _busy(err: sqlite3.Error) -> bool:
    return _primary(err) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def default_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kstack" / "cache.sqlite"


def cell_id(arch: str, config: Config, names: list[str] | tuple[str, ...]) -> str:
    """Everything besides the tree that a cell's result depends on."""
    from .arches import ARCHES

    # the arch's table entry (builtins, entries, layout) is part of the key: an
    # edited table must not be answered from results made with the old one
    document = [
        SCHEMA,
        __version__,
        repr(ARCHES.get(arch)),
        config.name,
        sorted(config.symbols.items()),
        sorted(config.origins.items()),
        list(names),
    ]
    return hashlib.sha256(json.dumps(document).encode()).hexdigest()


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
    #: the Kconfig files read for Kconfig-derived values (keyed by whole content)
    kconfig: list[str] = field(default_factory=list)

    @functools.cached_property
    def name_set(self) -> tuple[bytes, frozenset[str]]:
        """The names as a set, and a short key for them (projections are kept by it)."""
        return hashlib.sha1("\0".join(self.names).encode()).digest(), frozenset(self.names)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Template:
        data = json.loads(text)
        data["resolutions"] = [tuple(r) for r in data["resolutions"]]
        return cls(**data)


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


def _basic(directive: Directive, names: AbstractSet[str]) -> bool:
    """A directive that matters by itself: an include, an #error, a pragma, or
    the definition of a relevant name."""
    if directive.kind in ("define", "undef"):
        return directive.name in names
    return directive.kind not in _BRANCHES


def _live_groups(facts: list[Directive], names: AbstractSet[str]) -> set[int] | None:
    """The #if groups that enclose something that matters (None: unbalanced,
    so every group counts)."""
    owner = _groups(facts)
    if owner is None:
        return None
    live: set[int] = set()
    open_groups: list[int] = []
    for index, directive in enumerate(facts):
        if directive.kind in ("if", "ifdef", "ifndef"):
            open_groups.append(index)
        elif directive.kind == "endif":
            open_groups.pop()
        elif _basic(directive, names):
            live.update(open_groups)
    return live


_PARAMETERS = re.compile(r"#define\s+\w+\(([^)]*)\)")


def _parameters(directive: Directive) -> set[str]:
    match = _PARAMETERS.match(directive.text)
    return {p.strip() for p in match.group(1).split(",")} if match else set()


def relevant_names(facts: list[list[Directive]], seeds: set[str]) -> set[str]:
    """Names whose definitions can change a cell: the seeds, every name an
    include uses or a *live* conditional tests (one that encloses an include, an
    #error or a relevant definition), and, transitively, what their bodies use.
    A conditional around unrelated definitions only does not make its names matter.
    """
    definitions: dict[str, list[Directive]] = {}
    names = set(seeds)
    for header in facts:
        for directive in header:
            if directive.kind in ("define", "undef"):
                definitions.setdefault(directive.name, []).append(directive)
            elif directive.kind == "include":
                names.update(directive.identifiers)
    defined = list(definitions)
    while True:
        before = len(names)
        queue = list(names)
        while queue:
            name = queue.pop()
            for directive in definitions.get(name, []):
                more = set(directive.identifiers)
                params = _parameters(directive)
                for fragment in directive.pasted:
                    if fragment not in params:  # `X##Y` pastes arguments, not names
                        more.update(n for n in defined if fragment in n)
                for new in more - names:
                    names.add(new)
                    queue.append(new)
        for header in facts:
            live = _live_groups(header, names)
            owner = _groups(header) if live is not None else None
            for index, directive in enumerate(header):
                if directive.kind in CONDITIONALS and (
                    live is None or (owner is not None and owner[index] in live)
                ):
                    names.update(directive.identifiers)
        if len(names) == before:
            return names


def projection(facts: list[Directive], names: AbstractSet[str]) -> list[Directive]:
    """The directives of a header that can matter to a cell with these names:
    the live #if groups' branches and what matters by itself."""
    live = _live_groups(facts, names)
    if live is None:
        return [d for d in facts if d.kind not in ("define", "undef") or d.name in names]
    owner = _groups(facts)
    assert owner is not None
    return [
        d
        for index, d in enumerate(facts)
        if (owner[index] in live if d.kind in _BRANCHES else _basic(d, names))
    ]


# --- the store ----------------------------------------------------------------------


class Cache:
    """The SQLite store, or an in-memory one (``path=None``, for --no-cache)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.warnings: list[str] = []
        self._facts: dict[str, list[Directive]] = {}
        self._mentions: dict[tuple[str, tuple[str, ...]], list[tuple[str, int, bool, bool]]] = {}
        self._templates: dict[str, Template] = {}
        self._projected: dict[tuple[str, bytes], tuple[tuple[int, ...], str]] = {}
        #: (directory, names) -> the file ids of its last scan, and the headers
        #: in it that mention a name (with their blob and mentions)
        self._scans: dict[tuple[str, tuple[str, ...]], tuple[dict[str, str], dict[str, Any]]] = {}
        #: (content key, lines) -> the result's JSON text at those lines
        self._placed: dict[tuple[Any, ...], tuple[str, str]] = {}
        #: result, tree and tag -> tree rows not yet written (see ``flush``)
        self._pending_results: list[tuple[str, str]] = []
        self._pending_trees: list[tuple[str, str, str, str]] = []
        #: result ids this process wrote (or queued)
        self._written: set[str] = set()
        self._pending_refs: list[tuple[str, str]] = []
        self._lock: BinaryIO | None = None
        self.db = self._open(path)

    def _open(self, path: Path | None) -> sqlite3.Connection:
        if path is None:
            return self._init(sqlite3.connect(":memory:"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # every run holds this lock shared for as long as it has the cache
            # open; setting the file aside takes it alone (see ``_set_aside``)
            self._lock = open(path.with_name(path.name + ".lock"), "ab")  # noqa: SIM115
        except OSError as err:
            raise CacheError(f"cache {path} could not be opened ({err}); try --no-cache") from err
        fcntl.flock(self._lock, fcntl.LOCK_SH)
        for attempt in range(20):
            db = sqlite3.connect(path, timeout=30)
            try:
                return self._init(db)
            except _Unusable as err:
                db.close()
                return self._set_aside(path, str(err))
            except sqlite3.DatabaseError as err:
                db.close()
                if _corrupt(err):
                    return self._set_aside(path, str(err))
                if not _busy(err):
                    raise CacheError(
                        f"cache {path} could not be opened ({err}); try --no-cache"
                    ) from err
                # locked by a concurrent run past the timeout: not corruption
                if attempt == 19:
                    raise CacheError(f"cache {path} stayed locked; try --no-cache") from None
                time.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")

    def _set_aside(self, path: Path, reason: str) -> sqlite3.Connection:
        """A file that is not our database: keep it for inspection, start anew.

        Only a run that has the cache to itself may move it: the database, its
        WAL and its shared-memory index move together (a WAL left behind would
        be replayed into the new file, and one deleted could hold what another
        run committed). When another run has the cache open, it is left as it
        is and this run keeps its results in memory.
        """
        assert self._lock is not None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._unlock()
            self.warnings.append(
                f"cache {path} is not usable ({reason}) and another run has it open; "
                "left as it is, and this run's results are not kept"
            )
            return self._init(sqlite3.connect(":memory:"))
        try:
            return self._rebuild(path, reason)
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_SH)

    def _rebuild(self, path: Path, reason: str) -> sqlite3.Connection:
        """Set the file aside and start a new one (with the lock held alone)."""
        db = sqlite3.connect(path, timeout=30)
        try:
            return self._init(db)  # set aside and rebuilt by another run since we looked
        except _Unusable:
            db.close()
        except sqlite3.DatabaseError as err:
            db.close()
            if not _corrupt(err):
                raise CacheError(
                    f"cache {path} could not be opened ({err}); try --no-cache"
                ) from err
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{path}{suffix}", f"{aside}{suffix}")
        self.warnings.append(
            f"cache {path} was not a usable database ({reason}); set aside as {aside.name}, rebuilt"
        )
        return self._init(sqlite3.connect(path, timeout=30))

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # which releases the lock
            self._lock = None

    def _init(self, db: sqlite3.Connection) -> sqlite3.Connection:
        """Make ``db`` ours: checked, the schema created once, in WAL mode.

        The check for the schema row and its creation are one immediate
        transaction, so runs that create a fresh cache at once create it once;
        a file found unusable is left unchanged (rolled back), and only one
        found usable is switched to WAL.
        """
        checked = db.execute("PRAGMA quick_check").fetchone()[0]
        if checked != "ok":
            raise _Unusable(f"quick_check: {checked}")
        db.execute("BEGIN IMMEDIATE")
        try:
            for table in _TABLES:
                db.execute(table)
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
            elif row[0] != str(SCHEMA):
                raise _Unusable(f"schema {row[0]}, expected {SCHEMA}")
            db.commit()
        except BaseException:
            db.rollback()
            raise
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.db.close()
            self._unlock()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- per-blob facts --------------------------------------------------------

    def facts(self, tree: Tree, path: str, blob: str) -> list[Directive]:
        found = self._facts.get(blob)
        if found is not None:
            return found
        row = self.db.execute("SELECT facts FROM facts WHERE blob=?", (blob,)).fetchone()
        if row is not None:
            found = [
                Directive(d[0], d[1], d[2], d[3], tuple(d[4]), tuple(d[5]))
                for d in json.loads(row[0])
            ]
        else:
            data = tree.read(path) or b""
            found = [] if b"\0" in data else directive_facts(decode_text(data))
            rows = [[d.line, d.kind, d.name, d.text, d.identifiers, d.pasted] for d in found]
            with self.db:
                self.db.execute(
                    "INSERT OR IGNORE INTO facts VALUES (?, ?)", (blob, json.dumps(rows))
                )
        if len(self._facts) > MAX_MEMO // 10:
            self._facts.clear()
        self._facts[blob] = found
        return found

    # -- tree key --------------------------------------------------------------

    def by_tree(self, tree_id: str, cell: str) -> Result | None:
        row = self.db.execute(
            "SELECT r.result, t.inputs FROM tree_results t JOIN results r ON r.id = t.result_id"
            " WHERE t.tree_id=? AND t.cell=?",
            (tree_id, cell),
        ).fetchone()
        return CachedResult(row[0], row[1]) if row else None

    def tree_of(self, target: str) -> str | None:
        row = self.db.execute("SELECT tree_id FROM ref_trees WHERE target=?", (target,)).fetchone()
        return row[0] if row else None

    def remember_tree(self, target: str, tree_id: str) -> None:
        self._pending_refs.append((target, tree_id))

    # -- content key -----------------------------------------------------------

    def template(self, cell: str) -> Template | None:
        if cell not in self._templates:
            row = self.db.execute("SELECT template FROM templates WHERE cell=?", (cell,)).fetchone()
            if row is None:
                return None
            self._templates[cell] = Template.from_json(row[0])
        return self._templates[cell]

    def content_key(self, cell: str, template: Template, layout: Layout) -> Keyed | None:
        """The content key of this tree under ``template`` (None: not keyable)."""
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
                kept = projection(self.facts(tree, path, blob), names)
                if any("__has_include" in d.text for d in kept):
                    return None  # depends on which files exist: not keyed here
                digest = hashlib.sha1("\n".join(d.text for d in kept).encode()).hexdigest()
                projected = (tuple(d.line for d in kept), digest)
                if len(self._projected) > MAX_MEMO:
                    self._projected.clear()
                self._projected[(blob, names_key)] = projected
            keyed.lines[path] = projected[0]
            parts.append([path, projected[1]])
        for includer, quoted, name, _ in template.resolutions:
            parts.append(layout.locate(name, quoted=quoted, includer=includer))
        if template.scanned:
            parts.append(self._scan(layout, template, keyed))
        parts.append([tree.blob_id(path) for path in template.kconfig])
        parts.append([tree.exists(p) for p in ("Kconfig", f"arch/{layout.arch.srcarch}/Kconfig")])
        keyed.key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
        return keyed

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

    def by_content(self, keyed: Keyed) -> CachedResult | None:
        """The stored result for this content key, at this tree's lines.

        Neighbouring tags mostly share both the key and the lines, so the
        result read back last is kept as JSON text and not decoded again.
        """
        placed = keyed.placement()
        known = self._placed.get(placed)
        if known is None:
            row = self.db.execute(
                "SELECT result FROM content_results WHERE key=?", (keyed.key,)
            ).fetchone()
            if row is None:
                return None
            document = relocate(json.loads(row[0]), keyed, to_lines=True)
            if document is None:
                return None
            text = json.dumps(document)
            known = (text, _result_id(text))
            if len(self._placed) > 64:
                self._placed.clear()
            self._placed[placed] = known
        found = CachedResult(known[0], json.dumps(keyed.inputs))
        found.result_id = known[1]
        return found

    # -- storing ---------------------------------------------------------------

    def store(
        self,
        cell: str,
        tree_id: str | None,
        result: Result,
        template: Template | None,
        keyed: Keyed | None,
    ) -> None:
        """Everything learnt from one computed cell, in one transaction."""
        document = result.as_dict()
        with self.db:
            if tree_id is not None:
                text = json.dumps(document)
                self.db.execute(
                    "INSERT OR IGNORE INTO results VALUES (?, ?)", (_result_id(text), text)
                )
                self.db.execute(
                    "INSERT OR REPLACE INTO tree_results VALUES (?, ?, ?, ?)",
                    (tree_id, cell, _result_id(text), json.dumps(result.inputs)),
                )
            if template is not None:
                self._templates[cell] = template
                self.db.execute(
                    "INSERT OR REPLACE INTO templates VALUES (?, ?)", (cell, template.to_json())
                )
            if keyed is not None:
                relocatable = relocate(document, keyed, to_lines=False)
                if relocatable is not None:
                    self.db.execute(
                        "INSERT OR REPLACE INTO content_results VALUES (?, ?)",
                        (keyed.key, json.dumps(relocatable)),
                    )

    def store_tree(self, cell: str, tree_id: str, result: CachedResult) -> None:
        """Remember a result found by content under its tree too (written in batches)."""
        text, inputs = result.stored()
        result_id = result.result_id or _result_id(text)
        if result_id not in self._written:
            if len(self._written) > MAX_MEMO:
                self._written.clear()
            self._written.add(result_id)
            self._pending_results.append((result_id, text))
        self._pending_trees.append((tree_id, cell, result_id, inputs))
        if len(self._pending_trees) >= PENDING_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the rows kept back, in one transaction."""
        if not (self._pending_trees or self._pending_refs or self._pending_results):
            return
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO results VALUES (?, ?)", self._pending_results
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO tree_results VALUES (?, ?, ?, ?)", self._pending_trees
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO ref_trees VALUES (?, ?)", self._pending_refs
            )
        self._pending_results.clear()
        self._pending_trees.clear()
        self._pending_refs.clear()


def _result_id(text: str) -> str:
    """Results are kept once, by their text: neighbouring tags mostly share one."""
    return hashlib.sha1(text.encode()).hexdigest()


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
