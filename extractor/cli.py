"""The ``kstack`` command: parse options, call the library, print, map errors.

No logic lives here. Every expected failure is an ``ExtractorError`` and
becomes one line on stderr and an exit status from ``errors.EXIT_*``. The
options the commands share are in ``cli_options``, what they write in
``cli_output``; this module defines the commands and the entry point.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from . import __version__, report
from .batch import ScanRequest, scan
from .cli_options import macro_name, make_request, selection_options, single_cell
from .cli_output import exit_status, progress_bar, write_output, write_stream
from .errors import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ExtractorError,
    UsageError,
)
from .source_revisions import Selection

EPILOG_EXIT = """\b
Exit status: 0 success; 1 `check` found a changed value; 2 usage or input
error, or the only revision failed; 3 a batch finished but some cells failed;
70 internal error (a bug: please report it); 130 interrupted."""


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
      kstack scan ~/linux --arch x86_64 --arch i386 \\
          --config-file x86_64=config-amd64 --config-file i386=config-686
    """
    show_stats = kwargs.pop("show_stats")
    request = make_request(kwargs)
    if all_configs:  # (no cells, no cache: --stats says what the preprocessor did)
        with _uncached_stats(show_stats, "--all-configs") as counted:
            counted[0] = _all_configs(request, fmt, output)
        return
    batch = request.selection.tag_globs or len(request.selection.revs) > 1
    if batch and fmt in report.STREAMED:
        status = write_stream(request, fmt, output)
    else:
        results = scan(request, progress=progress_bar())
        if any(r.error is None for r in results):
            write_output(report.render(results, fmt), output)
        status = exit_status(results)
    _report_stats(request, show_stats)
    sys.exit(status)


def _report_stats(request: ScanRequest, show: bool) -> None:
    """The cache's warnings, and with --stats how every scan the command made
    answered its cells (a history's bisection and a diff's two sides included)."""
    stats = request.stats
    for warning in stats.notes():
        click.echo(f"kstack: warning: {warning}", err=True)
    if show:
        click.echo(f"kstack: {stats.summary()}", err=True)


@contextlib.contextmanager
def _uncached_stats(show: bool, command: str) -> Iterator[list[int]]:
    """``--stats`` for a command that reads no cache (explain, --all-configs): how
    many trees it read (the body sets ``counted[0]``), and what the preprocessor
    ran and replayed from memory meanwhile."""
    import time

    from . import memo

    counted, started = [0], time.monotonic()
    before = (memo.MEMO.run, memo.MEMO.replayed + memo.MEMO.partial)
    yield counted
    if show:
        run = memo.MEMO.run - before[0]
        replayed = memo.MEMO.replayed + memo.MEMO.partial - before[1]
        click.echo(
            f"kstack: {command} reads no cache: {counted[0]} tree"
            f"{'' if counted[0] == 1 else 's'}, {run} headers preprocessed, "
            f"{replayed} replayed from memory, "
            f"in {time.monotonic() - started:.2f} s",
            err=True,
        )


def _version_note(request: ScanRequest, arch: Any, rev: str | None, tree: Any) -> None:
    """A warning when the arch's config file was made for another release than
    ``tree``'s (``Cells`` notes the same for a scan, once for the run)."""
    from .batch_stats import foreign_note
    from .config import another_release, config_file_version
    from .kbuild import tree_version

    path = request.config_file_for(arch.name)
    made = config_file_version(path) if path is not None else None
    version = tree_version(tree) if made is not None else None
    if made is not None and version is not None and another_release(made, version):
        note = foreign_note(str(path), made, [(version, rev or "the directory")])
        click.echo(f"kstack: warning: {note}", err=True)


def _all_configs(request: ScanRequest, fmt: str, output: Path | None) -> int:
    """Write ``--all-configs``' spaces; how many trees were read."""
    import json

    from .arches import arch as get_arch
    from .batch import configs_for, trees
    from .configspace import explore

    if fmt not in ("table", "json"):
        raise UsageError("--all-configs writes --format table or json")
    spaces, count = [], 0
    for _, tree in trees(request.selection):
        if isinstance(tree, ExtractorError):
            raise tree
        count += 1
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
    return count


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
    results = scan(request, progress=progress_bar())
    click.echo(f"Demo history: {path}\n")
    click.echo(report.render_pivot(results), nl=False)
    click.echo(
        f"\nNext: kstack explain {path} --rev v4.4 --config kasan THREAD_SIZE\n"
        f"      kstack scan {path} --tags 'v4.*' --arch x86_64 --config kasan-extra"
    )
    sys.exit(exit_status(results))


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
    if (name is None) == (not allocation):
        raise UsageError("explain takes a MACRO, or --allocation (not both)")
    if name is not None:
        macro_name(name, "explain")
    show_stats = kwargs.pop("show_stats")
    request = make_request(kwargs)
    arch, config, selection = single_cell(request, "explain")
    with _uncached_stats(show_stats, "explain") as counted:
        _explain(selection, arch, config, name, allocation, fmt, request)
        counted[0] = 1


def _explain(
    selection: Selection,
    arch: Any,
    config: Any,
    name: str | None,
    allocation: bool,
    fmt: str,
    request: ScanRequest,
) -> None:
    import json

    from .batch import trees as _trees
    from .explain import explain, explain_allocation, render_allocation, render_text

    for rev, tree in _trees(selection):
        if isinstance(tree, ExtractorError):
            raise tree
        _version_note(request, arch, rev, tree)
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

    show_stats = kwargs.pop("show_stats")
    request = make_request(kwargs)
    if not request.selection.is_git:
        raise UsageError("history needs --tags or --rev: it reads a repository's revisions")
    if request.macros:  # a history of named macros does not pay for the allocation
        request.allocation = False
    results = scan(request, progress=progress_bar())
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
    _report_stats(request, show_stats)
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

    show_stats = kwargs.pop("show_stats")
    request = make_request(kwargs)
    differences = diff(request, old_rev, new_rev)
    if fmt == "json":
        click.echo(json.dumps([d.as_dict() for d in differences], indent=2))
    else:
        click.echo(render_differences(differences), nl=False)
    _report_stats(request, show_stats)


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

    show_stats = kwargs.pop("show_stats")
    request = make_request(kwargs)
    request.allocation = False  # a baseline records the constants
    document = write_baseline(request, output)
    cells = len(document["cells"])
    click.echo(f"wrote {output}: {cells} cells", err=True)
    _report_stats(request, show_stats)


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

    The arches, configs, --set values, macros and .config files (their symbols as
    the baseline recorded them) come from the baseline. A changed expression
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


def console() -> None:
    """The ``kstack`` executable (and ``python -m extractor``): ``main`` in a
    process that ends as soon as it is done.

    A batch leaves millions of objects in its per-process memos. Python's own
    exit would first collect them (the batch runs with the collector off, and
    turning it back on sweeps the lot) and then free them one by one: on
    real mainline, 123 tags x 2 arches at ``-j 1``, 1.7 s of an 11 s run; 0.4 s
    of ``kstack history`` v2.6.36..v2.6.37. By the time ``main`` returns there
    is nothing left to release: reports are written and renamed into place,
    the cache is closed, worker pools are shut down and every ``git
    cat-file`` has ended (each closes in a ``finally``). So the collector
    stays off for the whole short-lived process, and it ends with ``main``'s
    status once the standard streams are flushed. Library callers and tests
    call ``main`` or ``cli`` and keep the usual exit.
    """
    gc.disable()
    status: object = EXIT_OK
    try:
        main()
    except SystemExit as stop:
        status = stop.code
    if status is None:
        status = EXIT_OK
    elif not isinstance(status, int):  # sys.exit("text"): printed, and a failure
        print(status, file=sys.stderr)
        status = EXIT_ERROR
    for stream in (sys.stdout, sys.stderr):
        # (a reader that went away, or a closed stream: nothing left to say there)
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
