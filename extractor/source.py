"""Source stage: a kernel tree, from a directory or straight from git objects.

In: a path (a directory, a git work tree, a bare repository) and optionally
revisions or tag globs.
Out: ``Tree`` objects that answer "what bytes are at this path" without ever
checking anything out, plus the revisions in kernel-version order.

This module holds what every tree shares: the ``Tree`` protocol the later
stages read through, tree-relative paths (``normalize``), content ids
(``blob_id``), and ``DirectoryTree``, a tree on disk. Git repositories are read
by ``source_git`` (revisions and their trees) over ``source_git_store`` (objects
by id, through one ``git cat-file --batch``); ``source_revisions`` chooses the
revisions and puts them in kernel order.

Both kinds of tree refuse to leave their root: a ``..`` path, an absolute path
or a symbolic link that points outside raises ``EscapeError``.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .errors import EscapeError, LimitError, Location

#: a header larger than this is refused (``--limit-file-size`` raises it)
DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024


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


def is_git_directory(path: Path) -> bool:
    """Whether ``path`` is a bare repository or a work tree's ``.git``: git's own
    files, no sources (a kernel tree has its Makefile at the top)."""
    return (
        (path / "HEAD").is_file()
        and (path / "objects").is_dir()
        and (path / "refs").is_dir()
        and not (path / "Makefile").exists()
    )


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
