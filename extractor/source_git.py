"""Git repositories: revisions named by refs, and each revision's tree, read from objects.

In: a work tree or a bare repository, and a tag, branch or commit.
Out: a ``GitTree`` (the ``Tree`` protocol over one revision) that reads paths
through the repository's ``ObjectStore`` without checking anything out. Refs
are read from the repository's files, tags are peeled to trees in batches, and
symbolic links are followed inside the tree only (``EscapeError`` otherwise).
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import EscapeError, ExtractorError, LimitError, Location, SourceError
from .source import DEFAULT_MAX_FILE_BYTES, normalize
from .source_git_store import (
    MAX_CACHED_TREE_ENTRIES,
    MAX_PREFETCHED,
    ObjectStore,
    _entry_at,
    parse_tree,
)

#: symbolic links followed while resolving one path
MAX_LINK_HOPS = 40
#: tags of tags followed to reach a commit or a tree
MAX_TAG_CHAIN = 16
#: directories a new revision reads ahead (those the previous one looked into):
#: the Kconfig walk alone looks into about 300 (45 real tags x 2 arches: 5,669
#: round trips to git with 256, 3,284 with 1024)
MAX_WARM_DIRS = 1024

_MODE_TREE = 0o040000
_MODE_LINK = 0o120000
_MODE_GITLINK = 0o160000
_WHOLE_ENTRY = re.compile(rb"[0-7]{5,6} [^\0/]+\0.{20}", re.S)


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


class GitObjects(ObjectStore):
    """One repository's object reader, shared by every revision read from it:
    the ``ObjectStore`` plus the repository's refs and the trees they lead to."""

    def __init__(self, path: Path) -> None:
        self.git_dir = git_dir(path)
        super().__init__(path)
        self._refs: dict[str, str] | None = None
        #: path -> (tree id, raw entries, file ids) of the last ``file_ids`` there
        self.listings: dict[str, _Listing] = {}
        #: directories looked into since the last ``GitTree.warm`` (an ordered set)
        self.used_dirs: dict[str, None] = {}
        #: tag or commit id -> the id of its tree (see ``peel``)
        self._peeled: dict[bytes, bytes] = {}

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

    def __enter__(self) -> GitObjects:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        self._read_dirs(dict.fromkeys(used[:MAX_WARM_DIRS]))

    def read_ahead(self, paths: list[str]) -> dict[str, str]:
        """``blob_id`` of each of ``paths`` (those that name a file), the directories on
        the way read a depth at a time: one round trip per depth, not one per
        directory that changed since the last revision looked into it."""
        children: dict[str, set[str]] = {}
        for path in paths:
            head, _, name = path.rpartition("/")
            while name:
                seen = head in children
                children.setdefault(head, set()).add(name)
                if seen:
                    break
                head, _, name = head.rpartition("/")
        self._read_dirs(children)
        found = {}
        for path in paths:
            try:
                blob = self.blob_id(path)
            except ExtractorError:
                continue
            if blob is not None:
                found[path] = blob
        return found

    def _read_dirs(self, dirs: Mapping[str, Collection[str] | None]) -> None:
        """Read the trees of ``dirs`` (directory -> the names to be looked up in it,
        None: any), a depth at a time: each depth's lookups need the trees of the
        one above. A tree whose names are all known is not read."""
        levels: dict[int, list[str]] = {}
        for path in dirs:
            levels.setdefault(path.count("/") if path else -1, []).append(path)
        for depth in sorted(levels):
            wanted = []
            for path in levels[depth]:
                try:
                    entry = self._lookup(path)
                except ExtractorError:
                    continue  # reported when the path is really asked for
                if entry is not None and entry[0] == _MODE_TREE:
                    wanted.append((entry[1], dirs[path]))
            self.objects.prefetch_trees(wanted)

    def object_id(self, path: str) -> str | None:
        """The id of whatever is at ``path``, a directory's tree included."""
        entry = self._lookup(path)
        return None if entry is None else entry[1].hex()
