"""One family of errors, each carrying where it happened.

In: a message and a location (revision, path inside the tree, line).
Out: an exception whose ``str()`` is the one line the user sees,
``rev:path:line: message``, with the parts that are unknown left out.

Every failure kstack expects is an ``ExtractorError``; the CLI maps the class
to an exit status (see ``EXIT_*``), so a new stage never needs a new ``except``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Exit statuses: the README documents this table.
EXIT_OK = 0
EXIT_CHANGED = 1  # `kstack check` found a changed value
EXIT_ERROR = 2  # usage or input error, or a single revision that failed
EXIT_PARTIAL = 3  # a batch finished, but some cells carry an error
EXIT_INTERNAL = 70  # a bug in kstack, reported in one line
EXIT_INTERRUPTED = 130  # SIGINT


@dataclass(frozen=True)
class Location:
    """Where in a tree something happened: ``rev:path:line``."""

    rev: str | None = None
    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        parts = []
        if self.rev is not None:
            parts.append(self.rev)
        if self.path is not None:
            parts.append(self.path)
            if self.line is not None:
                parts.append(str(self.line))
        return ":".join(parts)

    def with_rev(self, rev: str | None) -> Location:
        return Location(rev, self.path, self.line)


class ExtractorError(Exception):
    """Root of every error kstack reports to the user."""

    #: the word shown in the JSON ``error.kind`` field
    kind = "error"

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location or Location()

    def __str__(self) -> str:
        return self._line(self.location)

    def without_rev(self) -> str:
        """The one line without the revision: for text kept in a result, which the
        cache reads back by content at other revisions (the result names its own)."""
        return self._line(self.location.with_rev(None))

    def _line(self, location: Location) -> str:
        where = str(location)
        text = " ".join(self.message.split())  # always one line
        return f"{where}: {text}" if where else text

    def at_rev(self, rev: str | None) -> ExtractorError:
        """Fill in the revision if the raiser did not know it."""
        if self.location.rev is None and rev is not None:
            self.location = self.location.with_rev(rev)
        return self

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "message": " ".join(self.message.split()),
            "rev": self.location.rev,
            "file": self.location.path,
            "line": self.location.line,
        }


class UsageError(ExtractorError):
    """The command line or an option value is wrong."""

    kind = "usage"


class SourceError(ExtractorError):
    """The path is not a tree, the revision does not exist, an object is missing."""

    kind = "source"


class EscapeError(SourceError):
    """An include or a link tried to leave the tree."""

    kind = "escape"


class LayoutError(ExtractorError):
    """The tree has no headers for the requested arch at this revision."""

    kind = "layout"


class PreprocessError(ExtractorError):
    """The preprocessor reported an error (#error, bad directive, unbalanced #if)."""

    kind = "preprocess"


class LimitError(PreprocessError):
    """A time, depth or size bound tripped; a ``--limit-*`` option raises it."""

    kind = "limit"


class EvaluateError(ExtractorError):
    """A constant expression could not be folded where a value was required."""

    kind = "evaluate"


class ConfigError(ExtractorError):
    """An unknown profile, a bad ``--set`` or a bad ``.config`` line."""

    kind = "config"


class CacheError(ExtractorError):
    """The result cache could not be used."""

    kind = "cache"


def error_from_dict(data: dict[str, object]) -> ExtractorError:
    """The error ``ExtractorError.as_dict`` described (for results that crossed a process)."""
    kinds: dict[str, type[ExtractorError]] = {
        cls.kind: cls for cls in _all_subclasses(ExtractorError)
    }
    cls = kinds.get(str(data.get("kind")), ExtractorError)
    line = data.get("line")
    location = Location(
        data.get("rev"),  # type: ignore[arg-type]
        data.get("file"),  # type: ignore[arg-type]
        int(line) if isinstance(line, int) else None,
    )
    return cls(str(data.get("message", "")), location)


def _all_subclasses(cls: type[ExtractorError]) -> list[type[ExtractorError]]:
    out = [cls]
    sub: type[ExtractorError]
    for sub in cls.__subclasses__():
        out += _all_subclasses(sub)
    return out
