"""The options the kstack commands share, and the request they make.

In: the command line's path, selection, arch, config, limit and cache options.
Out: a ``ScanRequest`` for the library, or the one tree, arch and config the
explain-like commands work on; a usage error when the options do not fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .arches import ARCHES
from .arches import arch as get_arch
from .batch import ScanRequest, configs_for
from .config import PROFILES
from .errors import UsageError
from .preprocess import Limits
from .source import DEFAULT_MAX_FILE_BYTES
from .source_revisions import Selection


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
            "config_files",
            multiple=True,
            metavar="[ARCH=]FILE",
            help="Read config symbols from a kernel .config: the whole config, with no "
            "Kconfig defaults added. ARCH=FILE is for that --arch only (repeatable, one "
            "per arch); a FILE alone is for every other arch. A file made for another "
            "arch (CONFIG_ARM64=y for x86_64, CONFIG_64BIT=y for i386) is refused.",
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
            type=click.FloatRange(min=0, min_open=True),
            default=Limits.seconds,
            show_default=True,
            help="Preprocessing time allowed per cell.",
        ),
        click.option(
            "--limit-include-depth",
            type=click.IntRange(min=1),
            default=Limits.include_depth,
            show_default=True,
            help="Deepest #include nesting allowed.",
        ),
        click.option(
            "--limit-expansion-depth",
            type=click.IntRange(min=1),
            default=Limits.expansion_depth,
            show_default=True,
            help="Deepest macro expansion nesting allowed.",
        ),
        click.option(
            "--limit-file-size",
            type=click.IntRange(min=1),
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
            help="Print how the cells were answered (cache hits, time) to stderr; "
            "history and diff count their bisection and both sides. explain and "
            "--all-configs read no cache: they say what the preprocessor ran.",
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

    arches = list(dict.fromkeys(kwargs["arches"]))
    for name in arches:  # (an unknown arch is a usage error before the path is read)
        get_arch(name)
    return ScanRequest(
        selection=selection,
        arches=arches,
        profiles=list(dict.fromkeys(kwargs["profiles"])),
        sets=list(kwargs["sets"]),
        **config_files(kwargs["config_files"], kwargs["arches"]),
        macros=[macro_name(name, "--macro") for name in kwargs["macros"]],
        limits=limits,
        cache_path=kwargs["cache_path"] or default_path(),
        use_cache=not kwargs["no_cache"],
        jobs=kwargs["jobs"],
        allocation=not kwargs["no_allocation"],
    )


def macro_name(value: str, what: str) -> str:
    """``value`` if it is one C identifier, as a macro's name must be; else a usage
    error (``THREAD_SIZE,PAGE_SIZE`` would otherwise be reported as not defined)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        several = "; repeat --macro for several" if what == "--macro" else ""
        raise UsageError(f"{what} {value!r}: not a macro name (one C identifier{several})")
    return value


def config_files(values: tuple[str, ...], arches: tuple[str, ...]) -> dict[str, Any]:
    """``--config-file`` values as the request's ``config_file`` (for every arch) and
    ``arch_config_files`` (ARCH=FILE: for that arch only). A value whose part before
    its first ``=`` is not an arch's name is a file name as it stands."""
    every: Path | None = None
    per_arch: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if sep and name in ARCHES:
            if name not in arches:
                raise UsageError(f"--config-file {value}: {name} is not an --arch of this run")
            if name in per_arch:
                raise UsageError(f"--config-file: two files for {name}")
            per_arch[name] = Path(path)
        elif every is not None:
            raise UsageError(
                f"--config-file: {every} and {value} are both for every arch "
                "(give ARCH=FILE for one arch)"
            )
        else:
            every = Path(value)
    return {"config_file": every, "arch_config_files": per_arch}


def single_cell(request: ScanRequest, what: str) -> tuple[Any, Any, Any]:
    """The one tree, arch and config that explain-like commands work on."""
    if len(request.arches) != 1 or len(request.profiles) != 1:
        raise UsageError(f"{what} takes one --arch and one --config")
    if len(request.selection.revs) > 1 or request.selection.tag_globs:
        raise UsageError(f"{what} takes at most one --rev")
    arch = get_arch(request.arches[0])
    config = configs_for(request, arch)[0]
    return arch, config, request.selection
