"""The ``kstack`` command: parse options, call the library, print, map errors.

No logic lives here. Every expected failure is an ``ExtractorError`` and
becomes one line on stderr and an exit status from ``errors.EXIT_*``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__, report
from .errors import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    ExtractorError,
    UsageError,
)
from .preprocess import Limits
from .scan import Result, ScanRequest, failed, scan
from .source import DEFAULT_MAX_FILE_BYTES, Selection

EPILOG_EXIT = """\b
Exit status: 0 success; 1 `check` found a changed value; 2 usage or input
error, or the only revision failed; 3 a batch finished but some cells failed;
70 internal error (a bug: please report it); 130 interrupted."""


def _progress() -> Callable[[int, int, str | None], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, rev: str | None) -> None:
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r\x1b[K[{done}/{total}] {rev or ''}{end}")
        sys.stderr.flush()

    return show


def selection_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say which trees to read, shared by every command."""
    options = [
        click.argument("path", type=click.Path(path_type=Path)),
        click.option("--rev", "revs", multiple=True, metavar="REV",
                     help="A tag, branch or commit to read from git objects (repeatable)."),
        click.option("--tags", "tag_globs", multiple=True, metavar="GLOB",
                     help="Tags matching GLOB, in kernel-version order (repeatable), e.g. 'v4.*'."),
        click.option("--rc", is_flag=True, help="Include -rc tags."),
        click.option("--since", metavar="VERSION", help="Only tags at or after this version."),
        click.option("--until", metavar="VERSION", help="Only tags at or before this version."),
        click.option("--arch", "arches", multiple=True, default=["x86_64"], show_default=True,
                     help="Architecture (repeatable): x86_64, i386."),
        click.option("--config", "profiles", multiple=True, default=["default"], show_default=True,
                     help="Config profile (repeatable, one result each): default, kasan, "
                          "kasan-extra, 4kstacks."),
        click.option("--set", "sets", multiple=True, metavar="CONFIG_FOO=y|n|VALUE",
                     help="Set a config symbol on top of every profile (repeatable)."),
        click.option("--config-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="Read config symbols from a kernel .config."),
        click.option("--macro", "macros", multiple=True, metavar="NAME",
                     help="Also report this macro (repeatable)."),
        click.option("--limit-seconds", type=float, default=Limits.seconds, show_default=True,
                     help="Preprocessing time allowed per cell."),
        click.option("--limit-include-depth", type=int, default=Limits.include_depth,
                     show_default=True, help="Deepest #include nesting allowed."),
        click.option("--limit-expansion-depth", type=int, default=Limits.expansion_depth,
                     show_default=True, help="Deepest macro expansion nesting allowed."),
        click.option("--limit-file-size", type=int, default=DEFAULT_MAX_FILE_BYTES,
                     show_default=True, help="Largest header read, in bytes."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def make_request(kwargs: dict[str, Any]) -> ScanRequest:
    selection = Selection(
        path=kwargs["path"],
        revs=list(kwargs["revs"]),
        tag_globs=list(kwargs["tag_globs"]),
        rc=kwargs["rc"],
        since=kwargs["since"],
        until=kwargs["until"],
        max_file_bytes=kwargs["limit_file_size"],
    )
    limits = Limits(
        seconds=kwargs["limit_seconds"],
        include_depth=kwargs["limit_include_depth"],
        expansion_depth=kwargs["limit_expansion_depth"],
    )
    return ScanRequest(
        selection=selection,
        arches=list(dict.fromkeys(kwargs["arches"])),
        profiles=list(dict.fromkeys(kwargs["profiles"])),
        sets=list(kwargs["sets"]),
        config_file=kwargs["config_file"],
        macros=list(kwargs["macros"]),
        limits=limits,
    )


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {output}: {err.strerror}") from err


def exit_status(results: list[Result]) -> int:
    """2 when the only tree failed, 3 when a batch has failed cells, else 0."""
    bad = failed(results)
    if not bad:
        return EXIT_OK
    revs = {r.rev for r in results}
    for result in bad:
        click.echo(f"kstack: {result.error}", err=True)
    return EXIT_ERROR if len(revs) == 1 else EXIT_PARTIAL


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kstack")
def cli() -> None:
    """kstack: the Linux kernel's stack constants at any revision, arch and config.

    \b
    Examples:
      kstack demo
      kstack scan ~/linux --tags 'v4.*' --config default --config kasan
      kstack scan /usr/src/linux-headers-6.1.0-56-common --arch x86_64 --arch i386
    """


@cli.command("scan", epilog=EPILOG_EXIT)
@selection_options
@click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="table",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file instead of stdout.")
def scan_command(fmt: str, output: Path | None, **kwargs: Any) -> None:
    """Fold the stack constants of a tree, or of git revisions, to numbers.

    PATH is a kernel tree (a directory, an unpacked headers package, or a git
    work tree with its edits), or, with --rev/--tags, a git repository whose
    revisions are read straight from objects.

    \b
    Examples:
      kstack scan ~/linux                                 # the work tree
      kstack scan ~/linux --rev v4.4 --config kasan --format json
      kstack scan ~/linux --tags 'v3.*' --tags 'v4.*' --arch x86_64 --arch i386
      kstack scan ~/linux --tags 'v*' --since v4.0 --until v5.0 --macro IRQ_STACK_ORDER
    """
    request = make_request(kwargs)
    results = scan(request, progress=_progress())
    if any(r.error is None for r in results):
        write_output(report.render(results, fmt), output)
    sys.exit(exit_status(results))


@cli.command("demo", epilog=EPILOG_EXIT)
@click.option("--dest", type=click.Path(path_type=Path, file_okay=False),
              help="Where to build the demo repository (default: the kstack cache).")
def demo_command(dest: Path | None) -> None:
    """Build the built-in demo history (model headers, 2.6.11 to 6.12) and scan it.

    \b
    Example:
      kstack demo
    """
    from . import demo

    path = demo.build_demo_repo(dest or demo.demo_repo_path())
    request = ScanRequest(
        selection=Selection(path=path, tag_globs=["v*"]),
        arches=["x86_64"],
        profiles=["default", "kasan"],
    )
    results = scan(request, progress=_progress())
    click.echo(f"Demo history: {path}\n")
    click.echo(report.render_pivot(results), nl=False)
    click.echo(
        f"\nNext: kstack explain {path} --rev v4.4 --config kasan THREAD_SIZE\n"
        f"      kstack scan {path} --tags 'v4.*' --arch x86_64 --config kasan-extra"
    )
    sys.exit(exit_status(results))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command, turning every failure into one line."""
    try:
        cli.main(args=argv, prog_name="kstack", standalone_mode=False)
    except click.exceptions.Exit as stop:
        sys.exit(stop.exit_code)
    except click.ClickException as err:
        click.echo(f"kstack: {err.format_message()}", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("kstack: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except ExtractorError as err:
        click.echo(f"kstack: {err}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("kstack: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    except Exception as err:  # a bug: still one line, never a traceback
        click.echo(f"kstack: internal error: {err.__class__.__name__}: {err}", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(EXIT_OK)
