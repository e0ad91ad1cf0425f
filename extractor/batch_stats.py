"""How the cells of a run were answered, and what the run has to say of them.

In: what each process of a batch counted (``batch.Cells`` fills one in).
Out: one line of figures (``--stats``), and the run's warnings: the cache's, and
one for each config file read at revisions of another kernel version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import dotted


@dataclass
class Stats:
    """How the cells of one run were answered."""

    trees: int = 0
    cells: int = 0
    tree_hits: int = 0
    content_hits: int = 0
    computed: int = 0
    errors: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: a config file whose header names a kernel version -> that version, and each
    #: revision of another release it was read at, with the revision's version
    foreign: dict[str, tuple[tuple[int, ...], list[tuple[tuple[int, ...], str]]]] = field(
        default_factory=dict
    )

    @property
    def hits(self) -> int:
        return self.tree_hits + self.content_hits

    def add(self, other: Stats) -> None:
        for name in ("trees", "cells", "tree_hits", "content_hits", "computed", "errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.warnings += [w for w in other.warnings if w not in self.warnings]
        for path, (made, read) in other.foreign.items():
            self.foreign.setdefault(path, (made, []))[1].extend(read)

    def notes(self) -> list[str]:
        """The run's warnings: the cache's, then one per config file read at
        revisions of another release than its header names."""
        out = list(self.warnings)
        for path, (made, read) in sorted(self.foreign.items()):
            if read:
                out.append(foreign_note(path, made, read))
        return out

    def summary(self) -> str:
        rate = 100.0 * self.hits / self.cells if self.cells else 0.0
        return (
            f"{self.trees} trees, {self.cells} cells: {self.hits} from the cache ({rate:.1f}%: "
            f"{self.tree_hits} by tree, {self.content_hits} by content), {self.computed} "
            f"preprocessed, {self.errors} failed, in {self.seconds:.2f} s"
        )


def foreign_note(path: str, made: tuple[int, ...], read: list[tuple[tuple[int, ...], str]]) -> str:
    """What a config file made for Linux ``made`` is, read at the revisions ``read``
    of other releases ((version, revision) each)."""
    read = sorted(set(read))
    (low, first), (high, last) = read[0], read[-1]
    at = f"{first} (Linux {dotted(low)})"
    if len(read) > 1:
        at = f"{len(read)} revisions of other versions, {at} to {last} (Linux {dotted(high)})"
    return (
        f"{path} was made for Linux {dotted(made)} (its header) and read at {at}: "
        "a symbol the file leaves out reads as n, where make oldconfig would give "
        "it its default there"
    )
