"""Source stage: a kernel tree, from a directory or straight from git objects.

In: a path (a directory, a git work tree, a bare repository) and optionally
revisions or tag globs.
Out: ``Tree`` objects that answer "what bytes are at this path" without ever
checking anything out, plus the revisions in kernel-version order.

Both kinds of tree refuse to leave their root: a ``..`` path, an absolute path
or a symbolic link that points outside raises ``EscapeError``. Git trees read
through one long-lived ``git cat-file --batch`` (started by GitPython, fed many
ids per round trip) and share tree lookups across revisions, so neighbouring
tags that share most subtrees cost little.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import EscapeError, ExtractorError, LimitError, Location, SourceError

#: a header larger than this is refused (``--limit-file-size`` raises it)
DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024
#: symbolic links followed while resolving one path
MAX_LINK_HOPS = 40
#: tags of tags followed to reach a commit or a tree
MAX_TAG_CHAIN = 16
#: directories a new revision reads ahead (those the previous one looked into)
MAX_WARM_DIRS = 256

_MODE_TREE = 0o040000
_MODE_LINK = 0o120000
_MODE_GITLINK = 0o160000


def blob_id(data: bytes) -> str:
    """The git blob id of ``data``: the same key for a file and its blob."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def normalize(path: str, rev: str | None = None) -> str:
    """A tree-relative POSIX path, or ``EscapeError`` if it leaves the tree."""
    known = _NORMALIZED.get(path)
    if known is not None:
        return known
    norm = _normalize(path, rev)
    if len(_NORMALIZED) > 100_000:
        _NORMALIZED.clear()
    _NORMALIZED[path] = norm
    return norm


_NORMALIZED: dict[str, str] = {}


def _normalize(path: str, rev: str | None) -> str:
    if path.startswith("/") or "\0" in path:
        raise EscapeError(f"path {path!r} is absolute, outside the tree", Location(rev, path))
    norm = posixpath.normpath(path)
    if norm == ".":
        return ""
    if norm == ".." or norm.startswith("../"):
        raise EscapeError(f"path {path!r} leaves the tree", Location(rev, path))
    return norm


class Tree(Protocol):
    """What every later stage needs from a kernel tree."""

    #: the revision exactly as the user selected it; None for a directory
    rev: str | None
    #: how to name this tree in messages
    label: str

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when there is no file at ``path``."""

    def is_dir(self, path: str) -> bool: ...

    def exists(self, path: str) -> bool:
        """Whether a file (not a directory) is at ``path``, without reading it."""

    def listdir(self, path: str) -> list[str]:
        """Names in a directory (files and subdirectories), sorted; [] if absent."""

    def blob_id(self, path: str) -> str | None:
        """A content id for the file (the git blob id), None if absent."""

    def file_ids(self, path: str) -> dict[str, str]:
        """The files directly in a directory (links followed): name -> blob id."""

    def prefetch(self, blobs: list[str]) -> None:
        """Say which files (by blob id) are about to be read, so they can be read together."""

    def names_starting(self, path: str, prefix: str) -> list[str]:
        """The names in a directory that start with ``prefix``, sorted."""


@dataclass
class DirectoryTree:
    """A plain directory: an unpacked tarball, a headers package, a work tree."""

    root: Path
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    rev: str | None = None
    _ids: dict[str, str | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(os.path.realpath(self.root))
        self.label = str(self.root)

    def _real(self, path: str) -> str | None:
        rel = normalize(path, self.rev)
        full = os.path.join(self.root, rel) if rel else str(self.root)
        real = os.path.realpath(full)
        root = str(self.root)
        if real != root and not real.startswith(root + os.sep):
            # name the link that leaves, as git mode does, even when the file
            # asked for does not exist behind it
            link = self._leaving_link(rel)
            raise EscapeError(
                f"{link} is a symbolic link to {os.path.realpath(os.path.join(root, link))}, "
                "outside the tree",
                Location(self.rev, link),
            )
        if not os.path.lexists(full):
            return None
        if os.path.islink(real):  # realpath stops where links go round in a loop
            raise EscapeError("too many symbolic links", Location(self.rev, rel))
        return real

    def _leaving_link(self, rel: str) -> str:
        """The first component of ``rel`` that is a link out of the tree."""
        root = str(self.root)
        parts = rel.split("/")
        for end in range(1, len(parts) + 1):
            prefix = "/".join(parts[:end])
            full = os.path.join(root, prefix)
            if os.path.islink(full):
                real = os.path.realpath(full)
                if real != root and not real.startswith(root + os.sep):
                    return prefix
        return rel

    def read(self, path: str) -> bytes | None:
        real = self._real(path)
        if real is None or not os.path.isfile(real):
            return None
        size = os.stat(real).st_size
        if size > self.max_file_bytes:
            raise LimitError(
                f"file is {size} bytes, over the {self.max_file_bytes}-byte limit "
                "(raise it with --limit-file-size)",
                Location(self.rev, normalize(path)),
            )
        with open(real, "rb") as handle:
            return handle.read()

    def is_dir(self, path: str) -> bool:
        real = self._real(path)
        return real is not None and os.path.isdir(real)

    def exists(self, path: str) -> bool:
        real = self._real(path)
        return real is not None and os.path.isfile(real)

    def listdir(self, path: str) -> list[str]:
        real = self._real(path)
        if real is None or not os.path.isdir(real):
            return []
        return sorted(os.listdir(real))

    def blob_id(self, path: str) -> str | None:
        if path not in self._ids:
            data = self.read(path)
            self._ids[path] = None if data is None else blob_id(data)
        return self._ids[path]

    def prefetch(self, blobs: list[str]) -> None:
        pass  # files are read when asked for

    def names_starting(self, path: str, prefix: str) -> list[str]:
        return [name for name in self.listdir(path) if name.startswith(prefix)]

    def file_ids(self, path: str) -> dict[str, str]:
        prefix = f"{path}/" if path else ""
        found = {name: self.blob_id(prefix + name) for name in self.listdir(path)}
        return {name: blob for name, blob in found.items() if blob is not None}


#: parsed tree entries kept across revisions (a bound on memory, not on speed)
MAX_CACHED_TREE_ENTRIES = 50_000
_WHOLE_ENTRY = re.compile(rb"[0-7]{5,6} [^\0/]+\0.{20}", re.S)
_TREE_ENTRY = re.compile(rb"([0-7]{5,6}) ([^\0/]+)\0(.{20})", re.S)
#: when set, every object read is logged here (for the benchmark's git floor)
_TRACE = os.environ.get("KSTACK_TRACE_OBJECTS")


#: objects read ahead and not yet taken, at most
MAX_PREFETCHED = 4096
#: bytes of file contents kept by blob id in one process
MAX_BLOB_BYTES = 16 * 1024 * 1024
#: raw tree objects kept for name lookups (bytes)
MAX_RAW_TREE_BYTES = 16 * 1024 * 1024


def find_entry(data: bytes, name: str, hint: int = -1) -> tuple[tuple[int, bytes] | None, int]:
    """The (mode, id) of ``name`` in a raw tree object, without parsing it all,
    and where its name starts (-1 if absent).

    A tree entry is ``<octal mode> <name>\\0<20-byte id>``; a match counts only
    where a mode starts an entry (at 0, or right after the previous entry's id),
    so bytes inside an id cannot pass for a name. ``hint`` is where the name
    was in an earlier version of the tree: a file whose content changed keeps
    its place, so most lookups in a changed directory need no search.
    """
    needle = b" " + name.encode("utf-8", "surrogateescape") + b"\0"
    if hint >= 0 and data.startswith(needle, hint):
        found = _entry_at(data, hint, len(needle))
        if found is not None:
            return found, hint
    position = data.find(needle)
    while position != -1:
        found = _entry_at(data, position, len(needle))
        if found is not None:
            return found, position
        position = data.find(needle, position + 1)
    return None, -1


def _entry_at(data: bytes, position: int, end: int) -> tuple[int, bytes] | None:
    """The entry whose `` name\\0`` is at ``position``, if one really starts there."""
    for start in (position - 6, position - 5):  # modes are 5 or 6 octal digits
        mode = data[max(start, 0) : position]
        # only the modes git writes: 40000, 100644/100755 (and old 100664),
        # 120000, 160000; any other digits are the previous entry's id
        if start < 0 or not (mode == b"40000" or mode[:3] in (b"100", b"120", b"160")):
            continue
        if not mode.isdigit() or b"8" in mode or b"9" in mode:
            continue
        if (start == 0 or (start >= 21 and data[start - 21] == 0)) and (
            position + end + 20 <= len(data)
        ):
            return int(mode, 8), data[position + end : position + end + 20]
    return None


def parse_tree(data: bytes, rev: str | None, path: str) -> dict[str, tuple[int, bytes]]:
    """A git tree object's entries: name -> (mode, binary object id)."""
    entries: dict[str, tuple[int, bytes]] = {}
    end = 0
    for match in _TREE_ENTRY.finditer(data):
        if match.start() != end:
            break
        end = match.end()
        name = match.group(2).decode("utf-8", "surrogateescape")
        entries[name] = (int(match.group(1), 8), match.group(3))
    if end != len(data) or any(n in (".", "..") for n in entries):
        raise SourceError("corrupt tree object", Location(rev, path or None))
    return entries


def git_dir(path: Path) -> Path:
    """The repository directory of a work tree or a bare repository."""
    dot = path / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        text = dot.read_text(errors="replace").strip()
        if text.startswith("gitdir:"):
            found = Path(text[len("gitdir:") :].strip())
            return found if found.is_absolute() else (path / found).resolve()
    if (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir():
        return path
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    raise SourceError(f"{path}: not a directory or a git repository")


def read_refs(directory: Path) -> dict[str, str]:
    """Every ref of a repository and the object id it names, from the files.

    Reading packed-refs and refs/ directly answers "which tags, pointing at
    what" without a git process, which a warm scan of thousands of tags needs.
    """
    common = directory
    commondir = directory / "commondir"
    if commondir.is_file():
        common = (directory / commondir.read_text().strip()).resolve()
    refs: dict[str, str] = {}
    packed = common / "packed-refs"
    if packed.is_file():
        # names are bytes to git; keep them as os.walk keeps the loose ones
        for line in packed.read_text(errors="surrogateescape").splitlines():
            if line and line[0] not in "#^":
                sha, _, name = line.partition(" ")
                refs[name.strip()] = sha.strip()
    base = common / "refs"
    for root, _, files in os.walk(base):
        for name in files:
            full = Path(root) / name
            if not full.is_file():  # a FIFO would block the read forever
                continue
            try:
                sha = full.read_text(errors="replace").strip()
            except OSError:
                continue
            if len(sha) == 40 and all(c in "0123456789abcdef" for c in sha):
                refs[full.relative_to(common).as_posix()] = sha
    return refs


class FileIds(dict[str, str]):
    """A directory's files (name -> blob id), and what changed since ``base``,
    the listing of the same directory before it (if it was derived from one)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.base: FileIds | None = None
        #: names added, changed or removed since ``base``
        self.delta: set[str] = set()


#: (tree id, raw entries (whole), file name -> blob id, whether it has links)
_Listing = tuple[bytes, frozenset[bytes], FileIds, bool]


def _points_at(kind: str, data: bytes) -> bytes | None:
    """The id a tag's ``object`` line or a commit's ``tree`` line names."""
    field = {"tag": b"object ", "commit": b"tree "}.get(kind)
    if field is None or not data.startswith(field):
        return None
    line = data[len(field) : data.find(b"\n")]
    try:
        return bytes.fromhex(line.decode("ascii")) if len(line) == 40 else None
    except (UnicodeDecodeError, ValueError):
        return None


#: git's own caches, bounded so that its memory does not grow with the
#: repository: by default it keeps up to 96 MB of delta bases and maps up to
#: 1 GiB of pack at a time (a 1,500-tag history: 154 MB; with these, 57 MB)
BATCH_GIT_CONFIG = (
    "core.deltaBaseCacheLimit=16m",
    "core.packedGitWindowSize=16m",
    "core.packedGitLimit=64m",
)


class _Batch:
    """One ``git cat-file --batch``, started by GitPython, fed many ids per round trip.

    GitPython's object stream asks for one object and waits for its answer;
    a scan that knows the dozen objects it needs next writes all their ids,
    then reads the answers, so git works while Python does.
    """

    #: ids written before the answers are read: their requests must fit in the
    #: pipe to git (64 KiB) so that writing can never wait on git's output
    PER_WRITE = 1000

    def __init__(self, repo: Any) -> None:
        import subprocess

        self.handle = repo.git(c=list(BATCH_GIT_CONFIG)).cat_file(
            "--batch", as_process=True, istream=subprocess.PIPE
        )
        self.proc = self.handle.proc

    def read(self, ids: list[bytes], limit: int) -> list[tuple[str, bytes | int] | None]:
        """Per id: (type, data), (type, size) when over ``limit``, or None if missing."""
        out: list[tuple[str, bytes | int] | None] = []
        stdin, stdout = self.proc.stdin, self.proc.stdout
        for start in range(0, len(ids), self.PER_WRITE):
            part = ids[start : start + self.PER_WRITE]
            stdin.write(b"".join(binsha.hex().encode() + b"\n" for binsha in part))
            stdin.flush()
            for _ in part:
                fields = stdout.readline().split()
                if len(fields) == 2 and fields[1] == b"missing":
                    out.append(None)
                    continue
                if len(fields) != 3:
                    raise OSError("git cat-file stopped answering")
                kind, size = fields[1].decode(), int(fields[2])
                if size > limit:
                    left = size + 1
                    while left:  # drain, so the pipe stays in step
                        chunk = stdout.read(min(left, 1 << 20))
                        if not chunk:
                            raise OSError("git cat-file stopped answering")
                        left -= len(chunk)
                    out.append((kind, size))
                    continue
                data = stdout.read(size + 1)
                if len(data) != size + 1:
                    raise OSError("git cat-file stopped answering")
                out.append((kind, data[:-1]))
        return out

    def close(self) -> None:
        proc = self.proc
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:  # already gone, or stuck: make sure it ends
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout:
                proc.stdout.close()
            if proc.stderr:
                proc.stderr.close()


class GitObjects:
    """One repository's object reader, shared by every revision read from it.

    Tree entries are remembered by (tree id, name), so a subtree that did not
    change between two tags is searched once. GitPython, and the ``cat-file``
    process objects are read through, start only when an object must be read;
    closing ends them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git_dir = git_dir(path)
        self._repo: Any = None
        self._refs: dict[str, str] | None = None
        self._trees: dict[bytes, dict[str, tuple[int, bytes]]] = {}
        self._tree_entries = 0
        self._children: dict[tuple[bytes, str], tuple[int, bytes] | None] = {}
        #: (directory, name) -> where the name was found in the directory's tree last
        self._places: dict[tuple[str, str], int] = {}
        self._raw: dict[bytes, bytes] = {}
        #: path -> (tree id, raw entries, file ids) of the last ``file_ids`` there
        self.listings: dict[str, _Listing] = {}
        #: directories looked into since the last ``GitTree.warm`` (an ordered set)
        self.used_dirs: dict[str, None] = {}
        self._batch: _Batch | None = None
        #: tag or commit id -> the id of its tree (see ``peel``)
        self._peeled: dict[bytes, bytes] = {}
        #: objects read ahead in one round trip, not yet asked for
        self._prefetched: dict[bytes, tuple[str, bytes | int]] = {}
        self._raw_bytes = 0
        #: file contents by blob id, oldest first (see ``_remember_blob``)
        self._blobs: dict[bytes, bytes] = {}
        self._blob_bytes = 0
        #: objects larger than this are refused before they are read into memory
        self.max_object_bytes = DEFAULT_MAX_FILE_BYTES

    @property
    def repo(self) -> Any:
        if self._repo is None:
            import git  # GitPython, only when objects are read

            try:
                self._repo = git.Repo(self.path)
            except git.NoSuchPathError as err:
                raise SourceError(f"{self.path}: no such file or directory") from err
            except git.InvalidGitRepositoryError as err:
                raise SourceError(f"{self.path}: not a directory or a git repository") from err
        return self._repo

    def refs(self) -> dict[str, str]:
        if self._refs is None:
            self._refs = read_refs(self.git_dir)
        return self._refs

    def target(self, rev: str) -> str | None:
        """The object id a tag or branch name points at, from the ref files."""
        refs = self.refs()
        for name in (f"refs/tags/{rev}", f"refs/heads/{rev}", rev):
            if name in refs:
                return refs[name]
        return None

    def close(self) -> None:
        self._drop_batch()
        self._prefetched.clear()
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def __enter__(self) -> GitObjects:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_object(self, binsha: bytes, rev: str | None, path: str) -> tuple[str, bytes]:
        blob = self._blobs.get(binsha)
        if blob is not None:
            return "blob", blob
        found = self._prefetched.pop(binsha, None)
        if found is None:
            found = self._read([binsha], rev, path)[0]
        if found is None:
            raise SourceError(
                f"object {binsha.hex()} is missing from the repository (a shallow clone?)",
                Location(rev, path or None),
            )
        kind, data = found
        if kind == "blob" and not isinstance(data, int):
            self._remember_blob(binsha, data)
        if isinstance(data, int):
            raise LimitError(
                f"{'file' if path else 'object'} is {data} bytes, over the "
                f"{self.max_object_bytes}-byte limit "
                "(raise it with --limit-file-size)",
                Location(rev, path or None),
            )
        return kind, data

    def _remember_blob(self, binsha: bytes, data: bytes) -> None:
        """Keep a file's bytes by blob id: the Kconfig files and headers a
        revision reads are mostly the last one's, and a read costs a round trip."""
        if len(data) > MAX_BLOB_BYTES // 16:
            return
        while self._blob_bytes + len(data) > MAX_BLOB_BYTES and self._blobs:
            self._blob_bytes -= len(self._blobs.pop(next(iter(self._blobs))))
        self._blobs[binsha] = data
        self._blob_bytes += len(data)

    def prefetch(self, ids: list[bytes]) -> None:
        """Read these objects in one round trip; ``read_object`` then takes them."""
        wanted = [i for i in dict.fromkeys(ids) if i not in self._prefetched and i not in self._raw]
        if len(wanted) < 2:
            return
        for binsha, found in zip(wanted, self._read(wanted, None, ""), strict=True):
            if found is not None:
                self._prefetched[binsha] = found
        while len(self._prefetched) > MAX_PREFETCHED:  # not taken after all: forget
            self._prefetched.pop(next(iter(self._prefetched)))

    def _read(
        self, ids: list[bytes], rev: str | None, path: str
    ) -> list[tuple[str, bytes | int] | None]:
        if _TRACE is not None:  # the benchmark's git floor replays exactly these reads
            with open(_TRACE, "a") as trace:
                trace.write("".join(binsha.hex() + "\n" for binsha in ids))
        try:
            if self._batch is None:
                self._batch = _Batch(self.repo)
            return self._batch.read(ids, self.max_object_bytes)
        except (OSError, ValueError) as err:
            self._drop_batch()
            raise SourceError(
                f"reading objects failed: git cat-file: {err}", Location(rev, path or None)
            ) from err

    def _drop_batch(self) -> None:
        if self._batch is not None:
            batch, self._batch = self._batch, None
            batch.close()

    def child(
        self, binsha: bytes, name: str, rev: str | None, path: str
    ) -> tuple[int, bytes] | None:
        """One entry of a tree, found in its raw bytes and remembered by (tree, name).

        Neighbouring tags share most subtrees, so most lookups are one dict
        hit; a changed tree (include/linux has thousands of entries) is
        searched for the one name rather than parsed whole.
        """
        key = (binsha, name)
        if key in self._children:
            return self._children[key]
        parsed = self._trees.get(binsha)
        if parsed is not None:
            entry = parsed.get(name)
        else:
            place = (path, name)
            entry, at = find_entry(
                self.raw_tree(binsha, rev, path), name, self._places.get(place, -1)
            )
            if at >= 0:
                self._places[place] = at
        if len(self._children) > MAX_CACHED_TREE_ENTRIES:
            self._children.clear()
            self._places.clear()
        self._children[key] = entry
        return entry

    def raw_tree(self, binsha: bytes, rev: str | None, path: str) -> bytes:
        data = self._raw.get(binsha)
        if data is None:
            kind, data = self.read_object(binsha, rev, path)
            if kind != "tree":
                raise SourceError(f"expected a tree, found a {kind}", Location(rev, path or None))
            self._raw_bytes += len(data)
            while self._raw_bytes > MAX_RAW_TREE_BYTES and self._raw:
                self._raw_bytes -= len(self._raw.pop(next(iter(self._raw))))
            self._raw[binsha] = data
        return data

    def tree_entries(
        self, binsha: bytes, rev: str | None, path: str
    ) -> dict[str, tuple[int, bytes]]:
        entries = self._trees.get(binsha)
        if entries is None:
            kind, data = self.read_object(binsha, rev, path)
            if kind != "tree":
                raise SourceError(f"expected a tree, found a {kind}", Location(rev, path or None))
            entries = parse_tree(data, rev, path)
            self._tree_entries += len(entries)
            if self._tree_entries > MAX_CACHED_TREE_ENTRIES:
                # keep memory flat over thousands of tags: forget the older half
                for key in list(self._trees)[: len(self._trees) // 2]:
                    self._tree_entries -= len(self._trees.pop(key))
            self._trees[binsha] = entries
        return entries

    def peel(self, targets: list[bytes]) -> None:
        """Find the trees these tag or commit ids lead to, one round trip per level
        for all of them; ``resolve`` then costs no read. Ids that lead nowhere
        are left for ``resolve`` to report."""
        pending = {t: t for t in dict.fromkeys(targets) if t not in self._peeled}
        for _ in range(MAX_TAG_CHAIN):
            if len(pending) < 2:
                return
            ids = list(dict.fromkeys(pending.values()))
            found = dict(zip(ids, self._read(ids, None, ""), strict=True))
            following: dict[bytes, bytes] = {}
            for start, current in pending.items():
                answer = found[current]
                if answer is None:
                    continue
                kind, data = answer
                if isinstance(data, int):
                    continue
                if kind == "tree":
                    self._prefetched[current] = answer  # the root: read first of all
                    if len(self._peeled) > MAX_PREFETCHED:
                        self._peeled.clear()
                    self._peeled[start] = current
                elif (peeled := _points_at(kind, data)) is not None:
                    following[start] = peeled
            pending = following

    def resolve(self, rev: str) -> GitTree:
        """The tree of a tag, branch or commit (a tag may point straight at a tree)."""
        import git

        target = self.target(rev)
        if target is not None and len(target) == 40:
            known = self._peeled.get(bytes.fromhex(target))
            if known is not None:
                return GitTree(self, known, rev)

        # a tag or branch name is looked up in the ref files, which read names as
        # bytes (GitPython gives up on a packed-refs file that is not UTF-8)
        try:
            obj = self.repo.rev_parse(target or rev)
        except (git.BadName, git.BadObject, ValueError, IndexError) as err:
            if target is not None:  # the ref is there, its object is not
                raise SourceError(
                    "the objects of this revision are missing (a shallow clone?)", Location(rev)
                ) from err
            raise SourceError(f"unknown revision {rev!r}", Location(rev)) from err
        except Exception as err:
            raise SourceError(f"cannot read revision: {err}", Location(rev)) from err
        for _ in range(MAX_TAG_CHAIN):  # tag -> tag -> ... -> commit/tree
            try:
                kind = obj.type
                if kind == "tag":
                    obj = obj.object
                    continue
                if kind == "commit":
                    return GitTree(self, obj.tree.binsha, rev)
            except Exception as err:  # missing objects in a shallow clone
                raise SourceError(
                    f"the objects of this revision are missing ({err.__class__.__name__})",
                    Location(rev),
                ) from err
            if kind == "tree":
                return GitTree(self, obj.binsha, rev)
            raise SourceError(f"revision points at a {kind}, not a commit or tree", Location(rev))
        raise SourceError("tag chain too long", Location(rev))

    def tags(self) -> list[str]:
        return [name[len("refs/tags/") :] for name in self.refs() if name.startswith("refs/tags/")]

    def commit_of(self, rev: str) -> str | None:
        """The commit id a revision names, None when it names a tree."""
        try:
            obj = self.repo.rev_parse(self.target(rev) or rev)
            while obj.type == "tag":
                obj = obj.object
            return obj.hexsha if obj.type == "commit" else None
        except Exception:
            return None


@dataclass
class GitTree:
    """One revision's tree, read from objects (nothing is checked out)."""

    objects: GitObjects
    root_sha: bytes
    rev: str | None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    def __post_init__(self) -> None:
        self.label = f"{self.objects.path}@{self.rev}"
        #: path -> resolved (mode, sha), for this revision: the cells of one tag
        #: and the directories of every path share it
        self._entries: dict[str, tuple[int, bytes] | None] = {}

    @property
    def tree_id(self) -> str:
        return self.root_sha.hex()

    def _lookup(self, path: str) -> tuple[int, bytes] | None:
        """(mode, sha) of the entry at ``path``, following links inside the tree.

        A path costs one lookup of its directory (remembered for this
        revision) and one of its name in that directory's tree (remembered
        by tree id across revisions); links take the slow walk.
        """
        entries = self._entries
        if path in entries:
            return entries[path]
        norm = normalize(path, self.rev)
        if norm != path and norm in entries:
            found = entries[norm]
        elif not norm:
            found = (_MODE_TREE, self.root_sha)
        else:
            head, _, name = norm.rpartition("/")
            parent = self._lookup(head) if head else (_MODE_TREE, self.root_sha)
            if parent is None or parent[0] != _MODE_TREE:
                found = None
            else:
                used = self.objects.used_dirs
                if head not in used:
                    if len(used) > MAX_WARM_DIRS * 4:  # never warmed: stay small
                        used.clear()
                    used[head] = None
                found = self.objects.child(parent[1], name, self.rev, head)
                if found is not None and found[0] == _MODE_LINK:
                    found = self._walk(norm)
        if len(entries) > MAX_CACHED_TREE_ENTRIES // 8:
            entries.clear()
        entries[path] = found
        return found

    def _walk(self, path: str) -> tuple[int, bytes] | None:
        """The lookup from the root, one name at a time, following links."""
        norm = normalize(path, self.rev)
        parts = norm.split("/") if norm else []
        hops = 0
        done: list[str] = []
        mode, sha = _MODE_TREE, self.root_sha
        while parts:
            name = parts.pop(0)
            if mode != _MODE_TREE:
                return None
            entry = self.objects.child(sha, name, self.rev, "/".join(done))
            if entry is None:
                return None
            mode, sha = entry
            if mode == _MODE_LINK:
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise EscapeError("too many symbolic links", Location(self.rev, path))
                _, target = self.objects.read_object(sha, self.rev, "/".join([*done, name]))
                link = target.decode("utf-8", "replace")
                joined = posixpath.join("/".join(done), link)
                try:
                    rel = normalize(joined, self.rev) if not link.startswith("/") else None
                except EscapeError:
                    rel = None
                if rel is None:
                    where = "/".join([*done, name])
                    raise EscapeError(
                        f"{where} is a symbolic link to {link!r}, outside the tree",
                        Location(self.rev, where),
                    )
                parts = (rel.split("/") if rel else []) + parts
                done = []
                mode, sha = _MODE_TREE, self.root_sha
                continue
            done.append(name)
        return mode, sha

    def read(self, path: str) -> bytes | None:
        entry = self._lookup(path)
        if entry is None or entry[0] in (_MODE_TREE, _MODE_GITLINK):
            return None
        kind, data = self.objects.read_object(entry[1], self.rev, path)
        if len(data) > self.max_file_bytes:
            raise LimitError(
                f"file is {len(data)} bytes, over the {self.max_file_bytes}-byte limit "
                "(raise it with --limit-file-size)",
                Location(self.rev, normalize(path)),
            )
        return data if kind == "blob" else None

    def is_dir(self, path: str) -> bool:
        entry = self._lookup(path)
        return entry is not None and entry[0] == _MODE_TREE

    def exists(self, path: str) -> bool:
        entry = self._lookup(path)
        return entry is not None and entry[0] not in (_MODE_TREE, _MODE_GITLINK)

    def listdir(self, path: str) -> list[str]:
        entry = self._lookup(path)
        if entry is None or entry[0] != _MODE_TREE:
            return []
        return sorted(self.objects.tree_entries(entry[1], self.rev, path))

    def blob_id(self, path: str) -> str | None:
        entry = self._lookup(path)
        if entry is None or stat.S_ISDIR(entry[0]):
            return None
        return entry[1].hex()

    def file_ids(self, path: str) -> dict[str, str]:
        """Read off the directory's raw tree object, not name by name: the asm
        directory has hundreds of headers and changes at most tags, so only the
        entries that differ from the last listing of the same path are decoded.
        The dict returned is shared: do not change it."""
        entry = self._lookup(path)
        if entry is None or entry[0] != _MODE_TREE:
            return {}
        listings = self.objects.listings
        last = listings.get(path)
        if last is not None and last[0] == entry[1] and not last[3]:
            return last[2]  # (a link's target can change while the directory does not)
        raw = self.objects.raw_tree(entry[1], self.rev, path)
        whole = _WHOLE_ENTRY.findall(raw)
        if b"".join(whole) != raw:  # bytes no entry accounts for
            parse_tree(raw, self.rev, path)  # raises: not a well-formed tree
        found = frozenset(whole)
        links = b"120000 " in raw  # a false alarm costs a full listing; never a miss
        if last is None or links or last[3]:
            # a link's target can change while the link does not: list anew
            out = FileIds()
            added = found
        else:
            out = FileIds(last[2])
            last[2].base = None  # only the one before is ever compared with
            out.base = last[2]
            for gone in last[1] - found:
                name = gone[gone.index(b" ") + 1 : -21].decode("utf-8", "surrogateescape")
                out.pop(name, None)
                out.delta.add(name)
            added = found - last[1]
        prefix = f"{path}/" if path else ""
        for item in added:
            mode = item[: item.index(b" ")]
            if mode in (b"40000", b"160000"):
                continue
            name = item[len(mode) + 1 : -21].decode("utf-8", "surrogateescape")
            out.delta.add(name)
            sha = item[-20:]
            if mode == b"120000":
                linked = self.blob_id(prefix + name)
                if linked is not None:
                    out[name] = linked
            else:
                out[name] = sha.hex()
        if len(listings) > MAX_WARM_DIRS:
            listings.clear()
        listings[path] = (entry[1], found, out, links)
        return out

    def prefetch(self, blobs: list[str]) -> None:
        self.objects.prefetch([bytes.fromhex(blob) for blob in blobs])

    def names_starting(self, path: str, prefix: str) -> list[str]:
        """Found in the raw tree in one pass: a dozen names that are mostly absent
        would each cost a search of the whole tree (include/linux changes at
        nearly every tag, so those searches are not remembered)."""
        entry = self._lookup(path)
        if entry is None or entry[0] != _MODE_TREE:
            return []
        raw = self.objects.raw_tree(entry[1], self.rev, path)
        needle = b" " + prefix.encode("utf-8", "surrogateescape")
        found = []
        position = raw.find(needle)
        while position != -1:
            end = raw.find(b"\0", position)
            if end != -1 and _entry_at(raw, position, end - position + 1) is not None:
                found.append(raw[position + 1 : end].decode("utf-8", "surrogateescape"))
            position = raw.find(needle, position + 1)
        return sorted(found)

    def warm(self) -> None:
        """Read the directories the previous revision looked into, one round trip
        per level of depth rather than one per directory."""
        used = list(self.objects.used_dirs)
        self.objects.used_dirs.clear()
        levels: dict[int, list[str]] = {}
        for path in used[:MAX_WARM_DIRS]:
            levels.setdefault(path.count("/") if path else -1, []).append(path)
        for depth in sorted(levels):
            wanted = []
            for path in levels[depth]:
                try:
                    entry = self._lookup(path)
                except ExtractorError:
                    continue  # reported when the path is really asked for
                if entry is not None and entry[0] == _MODE_TREE:
                    wanted.append(entry[1])
            self.objects.prefetch(wanted)

    def object_id(self, path: str) -> str | None:
        """The id of whatever is at ``path``, a directory's tree included."""
        entry = self._lookup(path)
        return None if entry is None else entry[1].hex()


# --- revisions in kernel order ------------------------------------------------

_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(?:-rc(\d+))?(.*)$")


def version_key(tag: str) -> tuple:
    """Sort key so that v2.6.39 < v3.0-rc1 < v3.0 < v3.0.1 < v3.1.

    Names that are not versions sort after every version, by name.
    """
    match = _VERSION.match(tag)
    if not match:
        return (1, (), 0, 0, tag)
    numbers = tuple(int(n) for n in match.group(1).split("."))
    # trailing zeros do not make a different version: v3.0 == v3.0.0
    while len(numbers) > 2 and numbers[-1] == 0:
        numbers = numbers[:-1]
    rc = match.group(2)
    return (0, numbers, 0 if rc else 1, int(rc or 0), match.group(3))


def is_rc(tag: str) -> bool:
    match = _VERSION.match(tag)
    return bool(match and match.group(2))


def select_tags(
    tags: list[str],
    globs: list[str],
    *,
    rc: bool = False,
    since: str | None = None,
    until: str | None = None,
) -> list[str]:
    """The tags matching any glob, without -rc unless asked, in kernel order."""
    chosen = {t for t in tags if any(fnmatch.fnmatchcase(t, g) for g in globs)}
    if not rc:
        chosen = {t for t in chosen if not is_rc(t)}
    if since is not None:
        low = version_key(since)
        chosen = {t for t in chosen if version_key(t) >= low}
    if until is not None:
        high = version_key(until)
        chosen = {t for t in chosen if version_key(t) <= high}
    return sorted(chosen, key=version_key)


@dataclass
class Selection:
    """What the user asked to read: a directory, or revisions of a repository."""

    path: Path
    revs: list[str] = field(default_factory=list)
    tag_globs: list[str] = field(default_factory=list)
    rc: bool = False
    since: str | None = None
    until: str | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    @property
    def is_git(self) -> bool:
        return bool(self.revs or self.tag_globs)


def revisions(objects: GitObjects, selection: Selection) -> list[str]:
    """Explicit ``--rev`` values first, then the tags the globs select."""
    revs = list(selection.revs)
    if selection.tag_globs:
        tags = select_tags(
            objects.tags(),
            selection.tag_globs,
            rc=selection.rc,
            since=selection.since,
            until=selection.until,
        )
        if not tags:
            globs = " ".join(selection.tag_globs)
            raise SourceError(f"no tag matches {globs} in {selection.path}")
        revs += [t for t in tags if t not in revs]
    return revs
