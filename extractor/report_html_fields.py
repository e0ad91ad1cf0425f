"""Report stage, HTML: the result dicts' fields as every part of the page spells them.

In: result dicts (the JSON contract). Out: the words the charts, the table and
the chains share: a revision's label, a cell's place, a source location, an
error's one line, a size in the kernel's shorthand, and the revisions and
arch/config pairs in the order given.
"""

from __future__ import annotations

#: the kernel's own shorthand for sizes (``SZ_16K``)
SIZE_SUFFIXES = ((60, "E"), (50, "P"), (40, "T"), (30, "G"), (20, "M"), (10, "K"))

#: (result index, constant) -> ``n`` of the ``chain-n`` section the cell links to
ChainIds = dict[tuple[int, str], int]


def rev_label(rev: str | None) -> str:
    return rev if rev is not None else "(dir)"


def revisions(results: list[dict]) -> list[str]:
    """The revisions in the order given: the chart's x axis."""
    return list(dict.fromkeys(rev_label(r["rev"]) for r in results))


def series_keys(results: list[dict]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((r["arch"], r["config"]) for r in results))


def cell_label(result: dict) -> str:
    return f"{rev_label(result['rev'])} · {result['arch']} · {result['config']}"


def location(path: str | None, line: int | None, rev: str | None = None) -> str:
    parts = [str(p) for p in (rev, path, line) if p is not None]
    return ":".join(parts)


def error_text(error: dict) -> str:
    where = location(error.get("file"), error.get("line"), error.get("rev"))
    text = f"{error.get('kind', 'error')} error: {error.get('message', '')}"
    return f"{where}: {text}" if where else text


def size_text(value: int) -> str:
    """``16384`` -> ``16K``, the way the kernel's ``SZ_*`` names spell sizes."""
    for shift, suffix in SIZE_SUFFIXES:
        if value and value % (1 << shift) == 0:
            return f"{value >> shift}{suffix}"
    return str(value)
