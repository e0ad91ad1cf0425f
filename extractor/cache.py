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
  cell's macros. ``cache_content`` computes it, and moves the lines of a
  result stored under it to those of the cell at hand.

Both keys, and the per-blob directive facts, hold ``code_id``: the code that
made them (a cache another kstack filled answers nothing here).

This module is the store: the schema, the transactions, and what is kept in
it. Per-blob directive facts are computed once per blob id and shared by every
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
import fcntl
import functools
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, BinaryIO

from . import __version__
from .cache_content import MAX_MEMO, ContentKeys, Keyed, Template, relocate
from .config import Config
from .errors import CacheError
from .layout import Layout
from .preprocess import Directive
from .relevance import facts_of, header_facts
from .result import CachedResult, Result
from .source import Tree

SCHEMA = 3
#: rows found by content that are written together, in one transaction
PENDING_ROWS = 128

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


@functools.cache
def code_id() -> str:
    """The code that makes results: every module of this package, the ``#if``
    grammar, and the versions of pcpp and lark. A result kept by other code (an
    older kstack, a fix since) is not this code's answer, though the version
    number may be the same."""
    from importlib import metadata

    from .evaluate_grammar import grammar_text

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(grammar_text().encode())
    for package in ("pcpp", "lark"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{package}={metadata.version(package)}".encode())
    return digest.hexdigest()


def cell_id(arch: str, config: Config, names: list[str] | tuple[str, ...]) -> str:
    """Everything besides the tree that a cell's result depends on."""
    from .arches import ARCHES

    # the arch's table entry (builtins, entries, layout) is part of the key: an
    # edited table must not be answered from results made with the old one
    document = [
        SCHEMA,
        __version__,
        code_id(),
        repr(ARCHES.get(arch)),
        config.name,
        sorted(config.symbols.items()),
        sorted(config.origins.items()),
        list(names),
    ]
    return hashlib.sha256(json.dumps(document).encode()).hexdigest()


# --- the store ----------------------------------------------------------------------


class Cache:
    """The SQLite store, or an in-memory one (``path=None``, for --no-cache)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.warnings: list[str] = []
        self._keys = ContentKeys()
        self._templates: dict[str, Template] = {}
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
        """``relevance.header_facts``, read from the cache where the memory has none."""
        return header_facts(tree, path, blob, self._stored_facts)

    def _stored_facts(self, tree: Tree, path: str, blob: str) -> list[Directive]:
        key = f"{blob}:{code_id()[:16]}"  # (what this code's parser makes of the blob)
        row = self.db.execute("SELECT facts FROM facts WHERE blob=?", (key,)).fetchone()
        if row is not None:
            found = [
                Directive(d[0], d[1], d[2], d[3], tuple(d[4]), tuple(d[5]))
                for d in json.loads(row[0])
            ]
        else:
            data = tree.read(path) or b""
            found = facts_of(data)
            rows = [[d.line, d.kind, d.name, d.text, d.identifiers, d.pasted] for d in found]
            with self.db:
                self.db.execute(
                    "INSERT OR IGNORE INTO facts VALUES (?, ?)", (key, json.dumps(rows))
                )
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
        return self._keys.content_key(cell, template, layout, self.facts)

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
