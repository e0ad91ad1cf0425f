"""What the kstack commands write: progress, results, and the exit status they earn.

In: rendered text or a stream of results, the results of a run. Out: text on
stdout or in a file, a progress bar on stderr when it is a terminal, failed
cells as one line each on stderr, and the exit status from ``errors.EXIT_*``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import report
from .batch import ScanRequest, failed
from .errors import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, UsageError
from .scan import Result


def progress_bar() -> Callable[..., None] | None:
    """A one-line progress bar on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, rev: str | None, stats: Any) -> None:
        width = 24
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done >= total else ""
        sys.stderr.write(
            f"\r\x1b[K[{bar}] {done}/{total} tags, {stats.hits}/{stats.cells} cached"
            f"  {rev or ''}{end}"
        )
        sys.stderr.flush()

    return show


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8", errors="backslashreplace")
    except OSError as err:
        raise UsageError(f"cannot write {output}: {err.strerror}") from err


def exit_status(results: list[Result]) -> int:
    """2 when the only tree failed, 3 when a batch has failed cells, else 0."""
    return _status(failed(results), len({r.rev for r in results}), len(results))


def _status(bad: list[Result], trees: int, cells: int) -> int:
    if not bad:
        return EXIT_OK
    # a revision that cannot be read fails every arch and config the same way
    for line in dict.fromkeys(f"kstack: {result.error}" for result in bad):
        click.echo(line, err=True)
    # one tree whose cells all failed printed nothing; any value printed makes it partial
    return EXIT_ERROR if trees == 1 and len(bad) == cells else EXIT_PARTIAL


def write_stream(request: ScanRequest, fmt: str, output: Path | None) -> int:
    """A batch written result by result: memory stays flat however many tags."""
    from .batch import each

    revs: set[str | None] = set()
    cells = 0

    def counted() -> Any:
        nonlocal cells
        for result in each(request, progress_bar()):
            revs.add(result.rev)
            cells += 1
            yield result

    if output is None:
        bad = report.STREAMED[fmt](counted(), sys.stdout.write)
        return _status(bad, len(revs), cells)
    # A regular file (or a new one) is written beside itself and renamed into
    # place at the end: a run that stops on an error or Ctrl-C leaves it as it
    # was, never half a report. Anything else (a pipe, /dev/stdout) is written
    # as it goes: renaming onto it would replace it.
    target = output.resolve()
    renamed = target.is_file() or not target.exists()
    written = target.with_name(f".{target.name}.partial") if renamed else output
    try:
        handle = written.open("w", encoding="utf-8", errors="backslashreplace")
    except OSError as err:
        raise UsageError(f"cannot write {output}: {err.strerror}") from err
    try:
        with handle:
            bad = report.STREAMED[fmt](counted(), handle.write)
        if renamed:
            try:
                os.replace(written, target)
            except OSError as err:
                raise UsageError(f"cannot write {output}: {err.strerror}") from err
    except BaseException:
        if renamed:
            written.unlink(missing_ok=True)
        raise
    return _status(bad, len(revs), cells)
