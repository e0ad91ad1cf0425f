"""Which revisions to read: explicit revisions and tag globs, in kernel-version order.

In: the user's ``Selection`` (a path, ``--rev`` values, tag globs, -rc and
since/until bounds) and the repository's tags.
Out: the revision names to read, ``--rev`` values first, then the selected
tags sorted so that v2.6.39 < v3.0-rc1 < v3.0 < v3.0.1.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SourceError
from .source import DEFAULT_MAX_FILE_BYTES
from .source_git import GitObjects

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
        every = objects.tags()
        tags = select_tags(
            every,
            selection.tag_globs,
            rc=selection.rc,
            since=selection.since,
            until=selection.until,
        )
        if not tags:
            raise SourceError(_none_selected(every, selection))
        revs += [t for t in tags if t not in revs]
    return revs


def _none_selected(tags: list[str], selection: Selection) -> str:
    """The error for globs that select none of ``tags``, saying which filter left out
    the tags they match (the -rc rule, or --since/--until), if one did."""
    globs = selection.tag_globs
    message = f"no tag matches {' '.join(globs)} in {selection.path}"
    unfiltered = select_tags(tags, globs, rc=selection.rc)
    if not unfiltered:
        with_rc = [] if selection.rc else select_tags(tags, globs, rc=True)
        return f"{message} but -rc tags, which need --rc ({_some(with_rc)})" if with_rc else message
    bounds = " ".join(
        f"{flag} {value}"
        for flag, value in (("--since", selection.since), ("--until", selection.until))
        if value
    )
    return f"{message} within {bounds}: {len(unfiltered)} outside it ({_some(unfiltered)})"


def _some(tags: list[str]) -> str:
    return ", ".join(tags[:3]) + (", ..." if len(tags) > 3 else "")
