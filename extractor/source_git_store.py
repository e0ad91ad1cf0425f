"""Git objects by id: the object store every revision of a repository reads through.

In: a repository path and binary object ids.
Out: each object's type and bytes, and single entries of tree objects, read
through one long-lived ``git cat-file --batch`` (started by GitPython, fed many
ids per round trip) and remembered within bounds, so that neighbouring tags
that share most subtrees and headers cost little. Nothing here knows a ref, a
revision or a path beyond naming it in errors: ``source_git`` builds those on
top.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .errors import LimitError, Location, SourceError
from .source import DEFAULT_MAX_FILE_BYTES

#: parsed tree entries kept across revisions (a bound on memory, not on speed)
MAX_CACHED_TREE_ENTRIES = 50_000
_TREE_ENTRY = re.compile(rb"([0-7]{5,6}) ([^\0/]+)\0(.{20})", re.S)
#: when set, every object read is logged here (for the benchmark's git floor)
_TRACE = os.environ.get("KSTACK_TRACE_OBJECTS")


#: objects read ahead and not yet taken, at most
MAX_PREFETCHED = 4096
#: bytes of file contents kept by blob id in one process
MAX_BLOB_BYTES = 8 * 1024 * 1024
#: raw tree objects kept for name lookups (bytes)
MAX_RAW_TREE_BYTES = 8 * 1024 * 1024


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


#: git's own caches, bounded so that its memory does not grow with the
#: repository: by default it keeps up to 96 MB of delta bases and maps up to
#: 1 GiB of pack at a time (a 1,500-tag history: 154 MB; with 16m/16m/64m, 57 MB).
#: Not lower: with 64 MB of 16 MB windows, 123 real tags x 2 arches (a 456 MB
#: pack) mapped and unmapped a window 30,000 times, and every page touched
#: again faulted: 1.56 s of system time. With 256 MB of 32 MB windows, 335
#: unmaps, 0.92 s, 0.94x the wall time in paired runs; git's peak RSS on 258 tags
#: x 2 arches x 2 configs 136 MB (83 MB before), under the scan's own 214 MB
BATCH_GIT_CONFIG = (
    "core.deltaBaseCacheLimit=16m",
    "core.packedGitWindowSize=32m",
    "core.packedGitLimit=256m",
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


class ObjectStore:
    """One repository's objects by id, shared by every revision read from it.

    Tree entries are remembered by (tree id, name), so a subtree that did not
    change between two tags is searched once. GitPython, and the ``cat-file``
    process objects are read through, start only when an object must be read;
    closing ends them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._repo: Any = None
        self._trees: dict[bytes, dict[str, tuple[int, bytes]]] = {}
        self._tree_entries = 0
        self._children: dict[tuple[bytes, str], tuple[int, bytes] | None] = {}
        #: (directory, name) -> where the name was found in the directory's tree last
        self._places: dict[tuple[str, str], int] = {}
        self._raw: dict[bytes, bytes] = {}
        self._batch: _Batch | None = None
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

    def close(self) -> None:
        self._drop_batch()
        self._prefetched.clear()
        if self._repo is not None:
            self._repo.close()
            self._repo = None

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

    def prefetch_trees(self, wanted: list[tuple[bytes, Collection[str] | None]]) -> None:
        """``prefetch`` the trees in which a ``child`` lookup of one of their names
        would read the tree: (tree id, names; None: any name). A tree parsed here,
        or whose names are all known, is not read (it would crowd out objects read
        ahead for later)."""
        children, parsed = self._children, self._trees
        self.prefetch(
            [
                sha
                for sha, names in wanted
                if sha not in parsed
                and (names is None or any((sha, name) not in children for name in names))
            ]
        )

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
