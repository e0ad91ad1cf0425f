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
from .arches import ARCHES
from .batch import ScanRequest, failed, scan
from .config import PROFILES
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
from .scan import Result
from .source import DEFAULT_MAX_FILE_BYTES
from .source_revisions import Selection

EPILOG_EXIT = """\b
Exit status: 0 success; 1 `check` found a changed value; 2 usage or input
error, or the only revision failed; 3 a batch finished but some cells failed;
70 internal error (a bug: please report it); 130 interrupted."""


def _progress() -> Callable[..., None] | None:
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


def selection_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say which trees to read, shared by every command."""
    options = [
        click.argument("path", type=click.Path(path_type=Path)),
        click.option(
            "--rev",
            "revs",
            multiple=True,
            metavar="REV",
            help="A tag, branch or commit to read from git objects (repeatable).",
        ),
        click.option(
            "--tags",
            "tag_globs",
            multiple=True,
            metavar="GLOB",
            help="Tags matching GLOB, in kernel-version order (repeatable), e.g. 'v4.*'.",
        ),
        click.option("--rc", is_flag=True, help="Include -rc tags."),
        click.option("--since", metavar="VERSION", help="Only tags at or after this version."),
        click.option("--until", metavar="VERSION", help="Only tags at or before this version."),
        click.option(
            "--arch",
            "arches",
            multiple=True,
            default=["x86_64"],
            show_default=True,
            help="Architecture (repeatable): " + ", ".join(ARCHES) + ".",
        ),
        click.option(
            "--config",
            "profiles",
            multiple=True,
            default=["default"],
            show_default=True,
            help="Config profile (repeatable, one result each): "
            + ", ".join(PROFILES)
            + "; "
            + "; ".join(
                f"{a.name} adds {', '.join(a.profiles)}" for a in ARCHES.values() if a.profiles
            )
            + ".",
        ),
        click.option(
            "--set",
            "sets",
            multiple=True,
            metavar="CONFIG_FOO=y|n|VALUE",
            help="Set a config symbol on top of every profile (repeatable).",
        ),
        click.option(
            "--config-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Read config symbols from a kernel .config.",
        ),
        click.option(
            "--macro",
            "macros",
            multiple=True,
            metavar="NAME",
            help="Also report this macro (repeatable).",
        ),
        click.option(
            "--limit-seconds",
            type=float,
            default=Limits.seconds,
            show_default=True,
            help="Preprocessing time allowed per cell.",
        ),
        click.option(
            "--limit-include-depth",
            type=int,
            default=Limits.include_depth,
            show_default=True,
            help="Deepest #include nesting allowed.",
        ),
        click.option(
            "--limit-expansion-depth",
            type=int,
            default=Limits.expansion_depth,
            show_default=True,
            help="Deepest macro expansion nesting allowed.",
        ),
        click.option(
            "--limit-file-size",
            type=int,
            default=DEFAULT_MAX_FILE_BYTES,
            show_default=True,
            help="Largest header read, in bytes.",
        ),
        click.option(
            "--cache",
            "cache_path",
            type=click.Path(path_type=Path, dir_okay=False),
            help="The result cache file [default: $XDG_CACHE_HOME/kstack/cache.sqlite].",
        ),
        click.option("--no-cache", is_flag=True, help="Keep no results between runs."),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=0),
            default=0,
            help="Worker processes for git revisions [default: one per core].",
        ),
        click.option(
            "--no-allocation",
            is_flag=True,
            help="Do not find how the task stack is allocated (skips kernel/fork.c).",
        ),
        click.option(
            "--stats",
            "show_stats",
            is_flag=True,
            help="Print how the cells were answered (cache hits, time) to stderr.",
        ),
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
    from .cache import default_path

    return ScanRequest(
        selection=selection,
        arches=list(dict.fromkeys(kwargs["arches"])),
        profiles=list(dict.fromkeys(kwargs["profiles"])),
        sets=list(kwargs["sets"]),
        config_file=kwargs["config_file"],
        macros=list(kwargs["macros"]),
        limits=limits,
        cache_path=kwargs["cache_path"] or default_path(),
        use_cache=not kwargs["no_cache"],
        jobs=kwargs["jobs"],
        allocation=not kwargs["no_allocation"],
    )


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


class KstackGroup(click.Group):
    """Maps every failure to one line on stderr and a documented exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ExtractorError as err:
            click.echo(f"kstack: {err}", err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("kstack: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except BrokenPipeError:
            ctx.exit(EXIT_OK)
        except Exception as err:  # a bug: still one line, never a traceback
            click.echo(f"kstack: internal error: {err.__class__.__name__}: {err}", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(
    cls=KstackGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(report.FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of stdout.",
)
@click.option(
    "--all-configs",
    is_flag=True,
    help="Try every combination of the config symbols each constant's #if branches "
    "test, and fold equal values (refused above 2^10 combinations).",
)
def scan_command(fmt: str, output: Path | None, all_configs: bool, **kwargs: Any) -> None:
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
      kstack scan ~/linux --rev v5.0 --all-configs
    """
    from .batch import Stats

    if all_configs:
        kwargs.pop("show_stats")
        _all_configs(make_request(kwargs), fmt, output)
        return

    show_stats = kwargs.pop("show_stats")
    request = make_request(kwargs)
    stats = Stats()
    batch = request.selection.tag_globs or len(request.selection.revs) > 1
    if batch and fmt in report.STREAMED:
        status = _stream(request, fmt, output, stats)
    else:
        results = scan(request, progress=_progress(), stats=stats)
        if any(r.error is None for r in results):
            write_output(report.render(results, fmt), output)
        status = exit_status(results)
    for warning in stats.warnings:
        click.echo(f"kstack: warning: {warning}", err=True)
    if show_stats:
        click.echo(f"kstack: {stats.summary()}", err=True)
    sys.exit(status)


def _stream(request: ScanRequest, fmt: str, output: Path | None, stats: Any) -> int:
    """A batch written result by result: memory stays flat however many tags."""
    from .batch import each

    revs: set[str | None] = set()
    cells = 0

    def counted() -> Any:
        nonlocal cells
        for result in each(request, _progress(), stats):
            revs.add(result.rev)
            cells += 1
            yield result

    if output is None:
        bad = report.STREAMED[fmt](counted(), sys.stdout.write)
    else:
        try:
            handle = output.open("w", encoding="utf-8", errors="backslashreplace")
        except OSError as err:
            raise UsageError(f"cannot write {output}: {err.strerror}") from err
        with handle:
            bad = report.STREAMED[fmt](counted(), handle.write)
    return _status(bad, len(revs), cells)


def _all_configs(request: ScanRequest, fmt: str, output: Path | None) -> None:
    import json

    from .arches import arch as get_arch
    from .batch import configs_for, trees
    from .configspace import explore

    if fmt not in ("table", "json"):
        raise UsageError("--all-configs writes --format table or json")
    spaces = []
    for _, tree in trees(request.selection):
        if isinstance(tree, ExtractorError):
            raise tree
        for arch_name in request.arches:
            arch = get_arch(arch_name)
            for base in configs_for(request, arch):
                spaces += explore(
                    tree, arch, base, request.macros, request.limits, request.allocation
                )
    if fmt == "json":
        text = json.dumps([s.as_dict() for s in spaces], indent=2) + "\n"
    else:
        text = "".join(s.text() + "\n" for s in spaces)
    write_output(text, output)


@cli.command("demo", epilog=EPILOG_EXIT)
@click.option(
    "--dest",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to build the demo repository (default: the kstack cache).",
)
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


def _single(request: ScanRequest, what: str) -> tuple[Any, Any, Any]:
    """The one tree, arch and config that explain-like commands work on."""
    from .arches import arch as get_arch
    from .config import make_config, read_config_file

    if len(request.arches) != 1 or len(request.profiles) != 1:
        raise UsageError(f"{what} takes one --arch and one --config")
    if len(request.selection.revs) > 1 or request.selection.tag_globs:
        raise UsageError(f"{what} takes at most one --rev")
    arch = get_arch(request.arches[0])
    file_symbols = read_config_file(request.config_file) if request.config_file else None
    config = make_config(
        request.profiles[0],
        arch,
        sets=request.sets,
        file_symbols=file_symbols,
        kconfig=arch.kconfig_defaults,
    )
    return arch, config, request.selection


@cli.command("explain", epilog=EPILOG_EXIT)
@selection_options
@click.argument("name", metavar="MACRO", required=False)
@click.option(
    "--allocation",
    is_flag=True,
    help="Explain how the task stack is allocated instead of a macro.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def explain_command(name: str | None, allocation: bool, fmt: str, **kwargs: Any) -> None:
    """Show the chain of definitions behind MACRO, with the branches taken; or,
    with --allocation, the function that allocates the task stack, its live
    lines and the call that survives the preprocessor.

    \b
    Examples:
      kstack explain ~/linux --rev v4.4 --config kasan THREAD_SIZE
      kstack explain /usr/src/linux-headers-6.1.0-56-common THREAD_SIZE --format json
      kstack explain ~/linux --rev v4.9 --allocation --set CONFIG_VMAP_STACK=n
    """
    import json

    from .batch import trees as _trees
    from .explain import explain, explain_allocation, render_allocation, render_text

    if (name is None) == (not allocation):
        raise UsageError("explain takes a MACRO, or --allocation (not both)")
    request = make_request(kwargs)
    arch, config, selection = _single(request, "explain")
    for _, tree in _trees(selection):
        if isinstance(tree, ExtractorError):
            raise tree
        if allocation:
            found = explain_allocation(tree, arch, config, request.limits)
            text = render_allocation(found)
            click.echo(
                json.dumps(found.as_dict(), indent=2) if fmt == "json" else text, nl=fmt == "json"
            )
            return
        assert name is not None
        result = explain(tree, arch, config, name, request.limits)
        if fmt == "json":
            click.echo(json.dumps(result.as_dict(), indent=2))
        else:
            click.echo(render_text(result), nl=False)
        return


@cli.command("history", epilog=EPILOG_EXIT)
@selection_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def history_command(fmt: str, **kwargs: Any) -> None:
    """Fold a constant's values over tags into ranges, naming the commit of each change.

    \b
    Examples:
      kstack history ~/linux --tags 'v3.*' --tags 'v4.*' --macro THREAD_SIZE
      kstack history ~/linux --tags 'v*' --config kasan --config kasan-extra
    """
    import json

    from .compare import history, render_history

    request = make_request(kwargs)
    if not request.selection.is_git:
        raise UsageError("history needs --tags or --rev: it reads a repository's revisions")
    if request.macros:  # a history of named macros does not pay for the allocation
        request.allocation = False
    results = scan(request, progress=_progress())
    series = history(request, results=results)
    if request.macros:
        series = [s for s in series if s.constant in request.macros]
    if request.allocation:
        from .compare import allocation_history

        series += allocation_history(request, results)
    if any(r.error is None for r in results):
        if fmt == "json":
            click.echo(json.dumps([s.as_dict() for s in series], indent=2))
        else:
            click.echo(render_history(series), nl=False)
    sys.exit(exit_status(results))


@cli.command("diff", epilog=EPILOG_EXIT)
@selection_options
@click.argument("old_rev", metavar="A")
@click.argument("new_rev", metavar="[B]", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def diff_command(old_rev: str, new_rev: str | None, fmt: str, **kwargs: Any) -> None:
    """List the constants that differ between revision A and B (default: the work tree).

    \b
    Examples:
      kstack diff ~/linux v4.19 v5.0 --config kasan-extra
      kstack diff ~/linux HEAD                 # HEAD against your uncommitted edits
    """
    import json

    from .compare import diff, render_differences

    request = make_request(kwargs)
    differences = diff(request, old_rev, new_rev)
    if fmt == "json":
        click.echo(json.dumps([d.as_dict() for d in differences], indent=2))
    else:
        click.echo(render_differences(differences), nl=False)


@cli.command("baseline", epilog=EPILOG_EXIT)
@selection_options
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The baseline file to write.",
)
def baseline_command(output: Path, **kwargs: Any) -> None:
    """Record the constants of a tree (or one --rev) in a stable, sorted JSON file.

    \b
    Examples:
      kstack baseline ~/linux --arch x86_64 --config default --config kasan -o kstack.json
      kstack baseline ~/linux --rev v6.1 -o kstack-6.1.json
    """
    from .compare import write_baseline

    request = make_request(kwargs)
    request.allocation = False  # a baseline records the constants
    document = write_baseline(request, output)
    cells = len(document["cells"])
    click.echo(f"wrote {output}: {cells} cells", err=True)


@cli.command("check", epilog=EPILOG_EXIT)
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="A file written by `kstack baseline`.",
)
@click.option("--rev", help="Check this revision instead of the directory.")
@click.option("--strict", is_flag=True, help="Fail on changed expressions too, not only values.")
def check_command(path: Path, baseline_file: Path, rev: str | None, strict: bool) -> None:
    """Exit 1 if a constant's value changed against the baseline, 0 if not.

    The arches, configs and macros come from the baseline. A changed expression
    with an unchanged value is a note (a failure with --strict).

    \b
    Examples:
      kstack check ~/linux --baseline kstack.json
      kstack check ~/linux --baseline kstack.json --rev HEAD --strict
    """
    from .compare import check, render_differences
    from .errors import EXIT_CHANGED

    outcome = check(path, baseline_file, rev)
    for difference in outcome.failures:
        click.echo("changed: " + render_differences([difference]), nl=False)
    for difference in outcome.notes:
        click.echo(("changed: " if strict else "") + render_differences([difference]), nl=False)
    if outcome.failures or (strict and outcome.notes):
        sys.exit(EXIT_CHANGED)
    click.echo(f"ok: no constant changed against {baseline_file}")


def _quiet_interrupts(unraisable: Any) -> None:
    """Ctrl-C landing in a finaliser is an interruption, not a traceback."""
    if not issubclass(unraisable.exc_type, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command, turning every failure into one line."""
    sys.unraisablehook = _quiet_interrupts
    # a tag or path name that is not UTF-8 (git allows it) must not crash the output
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        # without standalone mode, click returns the status of ctx.exit(n) instead
        # of raising it; KstackGroup maps errors to statuses that way
        status = cli.main(args=argv, prog_name="kstack", standalone_mode=False)
    except click.exceptions.Exit as stop:
        sys.exit(stop.exit_code)
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.format_message())
        sys.exit(EXIT_OK)
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
    sys.exit(status if isinstance(status, int) else EXIT_OK)
