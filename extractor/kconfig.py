"""Kconfig stage: the defaults Kconfig gives the few symbols a header needs.

In: a Tree, an arch's SRCARCH, the selected config symbols.
Out: the values Kconfig would give the int/hex/bool symbols asked for.

Some stack constants come from Kconfig symbols (``CONFIG_ARM64_PAGE_SHIFT``,
``CONFIG_THREAD_SHIFT``, ``CONFIG_PAGE_SHIFT``). A real build writes them into
``autoconf.h``; a source tree only says how Kconfig would pick them. This
stage reads the Kconfig files from the root ``Kconfig`` (before 2.6.24, when
there was none, from ``arch/<srcarch>/Kconfig``), following ``source`` and its
variants, and answers with each value and the line that decided it. A tree
with neither file (a headers package) gives ``None``, so the caller can fall
back to per-arch defaults.

The stage, one module per step: ``kconfig_read`` reads files, macros and lines
into entries (``kconfig_entries``: the entries, and the parser of their lines);
``kconfig_files`` does the same once per file blob, for git trees;
``kconfig_eval`` decides values. This module is the entry point
(``kconfig_values``, ``alldefconfig``) and keeps a tree's read for the next
call; ``kconfig_source`` asks it, through ``kconfig_memo.KCONFIG``, for a cell's config.

This is a reader of our own, not kconfiglib. kconfiglib opens, globs and
``exists()``-checks files on disk itself, so a git revision would need a
checkout or patched module globals; its constructor runs ``$(shell,...)``
while parsing and imports a ``kconfigfunctions`` module that the environment
names; and one construct it rejects anywhere in 1,500 files fails the whole
parse. We need a few defaults, so a reader that tolerates what it does not
know (a warning, not an error) and touches only the entries it needs is the
safer and faster tool.

How it reads, and the bounds it keeps:

- The macro language (4.18+: ``X := ...``, ``X = ...``, ``+=``, ``$(X)``,
  ``$(fn,args)`` with ``$(1)``) is expanded, but ``$(shell,...)`` never runs:
  it expands to nothing, so compiler probes (``cc-option`` and friends) are
  ``n``. No code here can start a process.
- The environment is never read. ``$(SRCARCH)``, ``$SRCARCH``, ``$(ARCH)`` and
  ``option env="ARCH"`` are the ``srcarch`` given, ``$(srctree)`` is the root.
- ``source`` stays inside the tree: a path that leaves it (``..``, absolute,
  a link outward) is ignored with a warning, and so is a ``source`` of a file
  that is being read already (a cycle). Files, nesting, macro expansion and
  time are bounded; a bound that trips raises ``LimitError``.
- Lines are split into entries as they are read; an entry's expressions are
  parsed only if a symbol asked for depends on it.
- Values follow Kconfig: the first ``default`` whose condition holds wins
  (ANDed with the entry's ``depends on`` and its enclosing ``if``/``menu``/
  ``choice``), ``select`` and ``imply`` raise bools, ``range`` clamps ints, a
  ``choice`` picks the member the config sets to y, else its first ``default``
  that holds and is visible, else its first visible member. Tristate ``m``
  counts as ``y``. Symbols are decided dependencies first; symbols that
  depend on each other in a loop are repeated until their values settle.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from .kconfig_entries import (  # noqa: F401  (re-exported: the stage's names, in one place)
    MAX_EXPR_DEPTH,
    MAX_WARNINGS,
    Expr,
    KconfigValue,
    KconfigValues,
    _unquote,
)
from .kconfig_eval import MAX_ROUNDS, MAX_SYMBOL_DEPTH, _Decision, _Evaluator  # noqa: F401
from .kconfig_files import indexed_reader
from .kconfig_read import (  # noqa: F401  (re-exported: memo.forget clears _LOGICAL)
    _LOGICAL,
    MAX_EXPANSION_CHARS,
    MAX_EXPANSION_DEPTH,
    MAX_LOGICAL_FILES,
    MAX_SOURCE_DEPTH,
    _Looked,
    _Reader,
)
from .source import Tree

#: (tree id, srcarch, root, bounds) -> the reader that read them, and what it warned
_READ: dict[tuple[Any, ...], tuple[_Reader, list[str], list[str], str | None, list[str]]] = {}
#: trees whose Kconfig files are kept read: a batch goes revision by revision,
#: and a read tree holds every entry of 600 files
MAX_READ_TREES = 1
#: read git trees through ``kconfig_files`` (parsed once per blob, tables filled on
#: demand); tests turn it off to compare with the full reader
INDEXED = [True]


def is_read(tree: Tree, srcarch: str) -> bool:
    """Whether this process keeps a read of ``tree``'s Kconfig files for ``srcarch``:
    an answer then costs an evaluation, less than checking a kept one still holds."""
    tree_id = getattr(tree, "tree_id", None)
    return tree_id is not None and any(k[:2] == (tree_id, srcarch) for k in _READ)


def _read(
    tree: Tree,
    srcarch: str,
    root: str,
    max_files: int,
    max_seconds: float,
    make_arch: str | None = None,
) -> tuple[_Reader, KconfigValues]:
    """The files read from ``root``, once per git tree and srcarch: what they say
    does not depend on the config, and every arch and profile of a revision asks.
    ``make_arch`` is make's ``ARCH`` (``srcarch`` if None); a read whose lines never
    expanded ``ARCH`` serves every ``ARCH`` (i386 and x86_64 share one), and
    ``option env="ARCH"`` is looked up when a value is decided.
    The answer is a fresh ``KconfigValues`` holding the read's warnings and files."""
    make_arch = make_arch or srcarch
    tree_id = getattr(tree, "tree_id", None)
    key = (tree_id, srcarch, root, max_files)
    known = _READ.get(key) if tree_id is not None else None
    if known is not None and known[3] not in (None, make_arch):
        known = None  # its lines expanded another ARCH
    if known is None:
        out = KconfigValues()
        reader = None
        if tree_id is not None and INDEXED[0]:
            reader = indexed_reader(tree, srcarch, root, out, max_files, max_seconds)
            if reader is None:
                out = KconfigValues()
        if reader is None:
            reader = _Reader(tree, srcarch, out, max_files, max_seconds)
            dict.__setitem__(reader.env, "ARCH", make_arch)
            reader.read_file(root)
        if reader.shell_calls:
            (path, line), count = reader.shell_calls[0], len(reader.shell_calls)
            out.warn(f"{path}:{line}: $(shell,...) not run ({count} calls), expanded to ''")
        used = make_arch if "ARCH" in reader.env.read else None
        known = (reader, list(out.warnings), list(out.files), used, list(out.missing))
        if tree_id is not None:
            while len(_READ) >= MAX_READ_TREES:
                _READ.pop(next(iter(_READ)))
            _READ[key] = known
    reader, warnings, files, _, missing = known
    dict.__setitem__(reader.env, "ARCH", make_arch)
    out = KconfigValues()
    out.warnings, out.files, out.missing = list(warnings), list(files), list(missing)
    reader.tree, reader.out = tree, out  # this call's revision name and answer
    reader.deadline = time.monotonic() + max_seconds
    return reader, out


def kconfig_values(
    tree: Tree,
    srcarch: str,
    symbols: Mapping[str, str],
    wanted: Iterable[str],
    *,
    max_files: int = 5000,
    max_seconds: float = 10.0,
    looked: set[str] | None = None,
) -> KconfigValues | None:
    """The values Kconfig gives ``wanted`` under ``symbols``; None without Kconfig files.

    ``symbols`` and ``wanted`` name symbols with or without ``CONFIG_``; the
    answer is keyed ``CONFIG_X``. A symbol the config sets is returned as set.
    """
    root = next((p for p in ("Kconfig", f"arch/{srcarch}/Kconfig") if tree.exists(p)), None)
    if root is None:
        return None
    reader, out = _read(tree, srcarch, root, max_files, max_seconds)
    user = {k.removeprefix("CONFIG_"): _unquote(v) for k, v in symbols.items()}
    names = list(dict.fromkeys(w.removeprefix("CONFIG_") for w in wanted))
    decisions = _evaluate(reader, user, None, names, looked)
    for name in names:
        decision = decisions[name]
        symbol = f"CONFIG_{name}"
        if decision is None:
            out.warn(f"{symbol} is not defined in any Kconfig file read")
        elif decision.value == "":
            out.warn(f"{decision.path}:{decision.line}: {symbol} has no value: {decision.reason}")
        else:
            out[symbol] = KconfigValue(
                symbol, decision.value, decision.path, decision.line, decision.reason
            )
    return out


def _evaluate(
    reader: _Reader,
    user: Mapping[str, str],
    seed: Mapping[str, str] | None,
    names: list[str],
    looked: set[str] | None,
) -> dict[str, _Decision | None]:
    """``names`` decided (dependencies first); ``looked`` gains every symbol whose
    entries, selects or implies the decisions read."""
    tables: list[_Looked] = []
    for name in ("nodes", "selects", "implies"):
        table = getattr(reader, name)
        if not isinstance(table, _Looked):
            table = _Looked(table)
            setattr(reader, name, table)
        tables.append(table)
    for table in tables:
        table.looked = looked
    try:
        return _Evaluator(reader, user, seed).run(names)
    finally:
        for table in tables:
            table.looked = None


def alldefconfig(
    tree: Tree,
    srcarch: str,
    seed: Mapping[str, str] | None = None,
    forced: Mapping[str, str] | None = None,
    *,
    make_arch: str | None = None,
    wanted: Iterable[str] | None = None,
    looked: set[str] | None = None,
    max_files: int = 5000,
    max_seconds: float = 60.0,
) -> KconfigValues | None:
    """Every symbol's value as ``make ARCH=<make_arch> alldefconfig`` gives it; None
    without Kconfig files.

    ``seed`` is a ``KCONFIG_ALLCONFIG`` file's symbols: each takes only where the
    symbol has a visible prompt, as in Kconfig. ``make_arch`` is the ``ARCH`` make is
    run with (``i386`` and ``x86_64`` share SRCARCH x86); it defaults to ``srcarch``.
    Bools come out ``y`` or ``n``; an int/hex/string without a value is left out.

    With ``wanted``, only those symbols (and what they depend on) are decided, each
    to the value the whole alldefconfig gives it, and ``defined`` names only the
    wanted symbols some file defines (a ``forced`` symbol is decided, as asked,
    whether or not one does); ``looked`` gains every symbol whose entries,
    selects or implies were read (see ``kconfig_memo.KconfigMemo``).
    """
    root = next((p for p in ("Kconfig", f"arch/{srcarch}/Kconfig") if tree.exists(p)), None)
    if root is None:
        return None
    seeded = {k.removeprefix("CONFIG_"): _unquote(v) for k, v in (seed or {}).items()}
    user = {k.removeprefix("CONFIG_"): _unquote(v) for k, v in (forced or {}).items()}
    if wanted is None:
        out = KconfigValues()
        reader = _Reader(tree, srcarch, out, max_files, max_seconds)
        dict.__setitem__(reader.env, "ARCH", make_arch or srcarch)
        reader.read_file(root)
        if reader.shell_calls:
            (path, line), count = reader.shell_calls[0], len(reader.shell_calls)
            out.warn(f"{path}:{line}: $(shell,...) not run ({count} calls), expanded to ''")
        decisions = _Evaluator(reader, user, seeded).run(sorted(reader.nodes))
        out.defined = frozenset(reader.nodes)
    else:
        reader, out = _read(tree, srcarch, root, max_files, max_seconds, make_arch)
        names = list(dict.fromkeys(w.removeprefix("CONFIG_") for w in wanted))
        decisions = _evaluate(reader, user, seeded, names, looked)
        # a symbol set as asked (``forced``) is defined only where a file defines it:
        # whether one does is part of the answer (``kconfig_source`` warns where not)
        if looked is not None:
            looked.update(n for n in names if n in user)
        out.defined = frozenset(
            n
            for n in names
            if decisions.get(n) is not None and (n not in user or n in reader.nodes)
        )
    out.probed = dict(reader.probed)
    for name, decision in decisions.items():
        if decision is not None and decision.value != "":
            symbol = f"CONFIG_{name}"
            out[symbol] = KconfigValue(
                symbol, decision.value, decision.path, decision.line, decision.reason
            )
    return out
