"""Scan: the pipeline run for one (revision, arch, config) cell.

In: a ``Tree``, an ``Arch``, a ``Config`` made from a profile, extra macro
names and limits.
Out: the cell's ``Result``: each constant's value, C type, fully expanded
expression, the file and line of its definition and the chain of macros
behind it, plus warnings, or the error that stopped that cell; ``analyse``
also keeps the stages behind it (an ``Analysis``).

source -> layout -> preprocess -> evaluate happens here, under the config the
tree's Kconfig gives (``kconfig_source``). Every cell of a request, with the
cache, is the batch module's job; rendering is the report module's.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .arches import Arch
from .config import Config, WatchedSymbols
from .errors import EscapeError, ExtractorError, Location, PreprocessError
from .kconfig_source import KconfigSource, defconfig_instead
from .layout import (
    COMPILER_DIR,
    MISSING_DIR,
    REFUSED_DIR,
    Layout,
    make_layout,
    mentions,
    textual_includes,
)
from .preprocess import Limits, MacroTable, preprocess
from .relevance import Facts, header_facts, relevant_names
from .result import ChainLink, Condition, Constant, Result
from .source import Tree

if TYPE_CHECKING:  # the evaluator (and lark) load when a cell is first computed
    from . import evaluate


def _definition_text(macro: Any) -> str:
    body = " ".join("".join(t.value for t in macro.value).split())
    if macro.arglist is None:
        return body
    params = ", ".join(macro.arglist)
    return f"({params}) {body}"


def _invoked(table: MacroTable, body: list[Any]) -> list[str]:
    """Macro names a replacement list expands: a function-like one only before '('."""
    tokens = [t for t in body if t.type not in ("CPP_WS", "CPP_COMMENT1", "CPP_COMMENT2")]
    names = []
    for i, tok in enumerate(tokens):
        macro = table.macros.get(tok.value) if tok.type == "CPP_ID" else None
        if macro is None:
            continue
        if macro.arglist is not None and (i + 1 >= len(tokens) or tokens[i + 1].value != "("):
            continue
        names.append(tok.value)
    return names


def _chain(table: MacroTable, name: str) -> tuple[ChainLink, ...]:
    links: list[ChainLink] = []
    seen: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        if current in seen or current not in table.macros:
            continue
        seen.add(current)
        macro = table.macros[current]
        where = table.definitions.get(current)
        links.append(
            ChainLink(
                current,
                where.path if where else "<builtin>",
                where.line if where else None,
                _definition_text(macro),
                tuple(c for c in where.conditions if not _is_guard(c, table)) if where else (),
            )
        )
        stack.extend(reversed(_invoked(table, macro.value)))
    return tuple(links)


_GUARD = re.compile(r"#ifndef\s+(\w+)")


def _is_guard(condition: Condition, table: MacroTable) -> bool:
    """``#ifndef _ASM_X_H`` around a whole header says nothing about a value."""
    match = _GUARD.fullmatch(condition.opening)
    if not match:
        return False
    guard = table.definitions.get(match.group(1))
    body = table.macros.get(match.group(1))
    return (
        guard is not None and guard.path == condition.path and body is not None and not body.value
    )


def fold(table: MacroTable, name: str, model: evaluate.DataModel) -> Constant:
    """One macro to a ``Constant``: expanded, evaluated, with its chain."""
    from . import evaluate

    where = table.definitions.get(name)
    chain = _chain(table, name)
    symbols = sorted(
        {s for link in chain for c in link.conditions for s in c.symbols if s.startswith("CONFIG_")}
        | {link.macro for link in chain if link.macro.startswith("CONFIG_")}
    )
    expression = table.expand(name)
    if table.macros[name].arglist is not None:
        value = evaluate.Value(None, None, "function-like macro; name it with arguments instead")
    else:
        value = evaluate.evaluate(expression, model)
    return Constant(
        name=name,
        value=value.value,
        ctype=value.ctype.name if value.ctype else None,
        expression=expression,
        path=where.path if where else None,
        line=where.line if where else None,
        chain=chain,
        status="ok" if value.known else "unknown",
        reason=value.reason,
        symbols=tuple(symbols),
    )


def _reachable(layout: Layout, table: MacroTable) -> set[str]:
    """Headers the ones read could include under some other config."""
    paths = {h.path for h in table.opened}
    for header in table.opened:
        for quoted, name in textual_includes(header.text):
            try:  # where find would resolve it, without reading (memoised by the layout)
                found = layout.locate(name, quoted=quoted, includer=header.path)
            except EscapeError:
                continue
            if not found.startswith(_NOT_IN_TREE):
                paths.add(found)
    return paths


#: where ``Layout.locate`` puts what no tree header answers
_NOT_IN_TREE = (COMPILER_DIR + "/", MISSING_DIR + "/", REFUSED_DIR + "/")


def _find_more(layout: Layout, table: MacroTable, missing: set[str]) -> tuple[list[str], dict]:
    """Headers outside the entries' include graph that define a missing name."""
    found = mentions(layout, missing, [layout.asm_dir])
    reachable = _reachable(layout, table)
    extras: list[str] = []
    for name in sorted(found):
        for mention in found[name]:
            if mention.defines and mention.path not in reachable:
                include = mention.path[len(layout.asm_dir) + 1 :]
                if f"asm/{include}" not in extras:
                    extras.append(f"asm/{include}")
    return extras, found


@dataclass
class Analysis:
    """A cell's result with the stages behind it, for commands that look deeper."""

    result: Result
    layout: Layout | None = None
    table: MacroTable | None = None
    #: the Kconfig files read for this cell, with their blob ids
    kconfig_files: dict[str, str] = field(default_factory=dict)
    #: the questions the cell put to the tree's Kconfig (``KconfigSource.questions``)
    kconfig_questions: list[Any] = field(default_factory=list)
    #: files besides Kconfig that decided the config (a defconfig and its Makefile)
    kconfig_extra: list[str] = field(default_factory=list)
    #: the stack allocation stage's findings, when the cell asked for them
    allocation: Any = None
    #: CONFIG_ symbols the layout and the target macros looked up in the config
    looked: set[str] = field(default_factory=set)
    #: names the live conditionals tested, kept when preprocessing fails
    tested: set[str] = field(default_factory=set)
    #: the seeds and the names that can change the result (``relevance``), when found
    relevant: tuple[frozenset[str], set[str]] | None = None


def analyse(
    tree: Tree,
    arch: Arch,
    config: Config,
    macros: list[str] | tuple[str, ...] = (),
    limits: Limits | None = None,
    allocation: bool = False,
    facts: Facts = header_facts,
) -> Analysis:
    """Run the pipeline for one cell; failures land in ``result.error``.

    When the tree has Kconfig files, the Kconfig-derived values the arch table
    would otherwise supply come from them, and so do the defaults of bool
    symbols the constants' branches test that the config leaves unset; the
    pipeline runs again while that changes the config (at most three times).
    A config read from a ``.config`` is complete and left as it is.

    The tree's Kconfig decides only the symbols that can change the result: the
    relevant ones (``relevance``) among those the cell's conditionals tested. One
    the stack allocation found relevant after the pipeline ran sends the cell
    round again with it decided up front. ``facts`` reads a header's directive
    facts (the cache passes its own).
    """
    early: set[str] = set()
    if allocation:  # decided up front: a changed config later costs a second run
        from .allocation import asked_symbols

        early = asked_symbols(tree)
    for _ in range(MAX_RESOLVES):
        kconfig = KconfigSource(tree, arch)
        analysis = _analysed(tree, arch, config, kconfig, early, macros, limits, allocation, facts)
        extra = _undecided(analysis, kconfig, arch, macros, facts)
        if not extra:
            break
        early |= extra
    return analysis


def _analysed(
    tree: Tree,
    arch: Arch,
    profile: Config,
    kconfig: KconfigSource,
    early: set[str],
    macros: list[str] | tuple[str, ...],
    limits: Limits | None,
    allocation: bool,
    facts: Facts,
) -> Analysis:
    """``analyse`` with ``early`` decided from the start."""
    notes: list[str] = []
    config, analysis = _configured(
        tree, arch, profile, kconfig, notes, early, macros, limits, facts
    )
    failure = _does_not_build(analysis.result, arch)
    if failure and kconfig.resolved:
        instead = defconfig_instead(tree, arch, profile, kconfig, failure, notes)
        if instead is not None:
            profile = instead
            config, analysis = _configured(
                tree, arch, profile, kconfig, notes, early, macros, limits, facts
            )
    for _ in range(3):
        if not kconfig.present or analysis.result.error is not None:
            break
        asked = _open_symbols(analysis.result, config)
        decided = kconfig.decide(config, asked, notes)
        if decided == config:
            break
        config = decided
        analysis = _pipeline(tree, arch, config, macros, limits)
    # -- the stack allocation (issue 12): only for cells that ask for it --------
    if allocation and analysis.result.error is None:
        analysis = _allocate(tree, arch, profile, config, kconfig, notes, analysis, macros, limits)
    analysis.result.warnings[:0] = notes
    analysis.kconfig_files = kconfig.files()
    analysis.kconfig_questions = list(kconfig.questions)
    analysis.kconfig_extra = list(kconfig.extra_files)
    return analysis


def _configured(
    tree: Tree,
    arch: Arch,
    profile: Config,
    kconfig: KconfigSource,
    notes: list[str],
    early: set[str],
    macros: list[str] | tuple[str, ...],
    limits: Limits | None,
    facts: Facts,
) -> tuple[Config, Analysis]:
    """The profile made this tree's config, and the pipeline run under it.

    The tree's alldefconfig decides only the symbols cells needed so far (see
    ``KconfigSource.resolve``); when this cell read another that can change its
    result (``_undecided``), that one is decided too and the cell runs again, so
    every such symbol has the value the whole alldefconfig gives it.
    """
    start = len(notes)
    more = set(early)
    for _ in range(MAX_RESOLVES):
        del notes[start:]
        config = kconfig.resolve(profile, notes, more)
        asked = set(config.derived) | {s for s in early if s not in config.symbols}
        config = kconfig.decide(config, asked, notes)
        analysis = _pipeline(tree, arch, config, macros, limits)
        extra = _undecided(analysis, kconfig, arch, macros, facts)
        if not extra:
            break
        more |= extra
    return config, analysis


#: times a cell runs again because it read a symbol the alldefconfig had not decided
MAX_RESOLVES = 6


def _undecided(
    analysis: Analysis,
    kconfig: KconfigSource,
    arch: Arch,
    macros: list[str] | tuple[str, ...],
    facts: Facts,
) -> set[str]:
    """The symbols this cell read that can change its result and the tree's
    alldefconfig has not decided (none without one).

    Of the symbols its conditionals tested, only the relevant ones count: a
    conditional around definitions no constant uses changes nothing a result
    shows. A cell that failed counts them all, since a branch taken on an
    undecided symbol might be where it failed."""
    if not kconfig.resolved:
        return set()
    tested = {n for n in analysis.tested if n.startswith("CONFIG_")}
    if analysis.result.error is None and analysis.table is not None:
        tested &= relevant(analysis, [*arch.constants, *macros], facts)
    return (_symbols_read(analysis) | tested) - kconfig.wanted


def relevance_seeds(
    analysis: Analysis, wanted: list[str], allocation: bool = True
) -> frozenset[str]:
    """The names a result is made of: those asked for, their chains' macros, and
    (unless ``allocation`` is False) what the stack allocation looked up."""
    constants = analysis.result.constants.values()
    seeds = set(wanted) | {link.macro for c in constants for link in c.chain}
    if allocation and analysis.allocation is not None:
        seeds |= analysis.allocation.names
    return frozenset(seeds)


def opened_paths(analysis: Analysis) -> list[str]:
    """Every tree header the cell opened, once each, in the order first opened."""
    assert analysis.table is not None
    return list(dict.fromkeys(h.path for h in analysis.table.opened if h.origin == "tree"))


def opened_facts(analysis: Analysis, facts: Facts) -> list[Any]:
    """The directive facts of every tree header the cell opened, once each."""
    assert analysis.layout is not None
    tree = analysis.layout.tree
    return [facts(tree, p, b) for p in opened_paths(analysis) if (b := tree.blob_id(p))]


def relevant(analysis: Analysis, wanted: list[str], facts: Facts) -> set[str]:
    """``relevance.relevant_names`` of the cell's headers, kept on the analysis."""
    seeds = relevance_seeds(analysis, wanted)
    if analysis.relevant is None or analysis.relevant[0] != seeds:
        analysis.relevant = (seeds, relevant_names(opened_facts(analysis, facts), set(seeds)))
    return analysis.relevant[1]


def _symbols_read(analysis: Analysis) -> set[str]:
    """The CONFIG_ symbols the result reads besides its conditionals' (``_undecided``
    adds those): those in its constants' chains and reasons, and those the layout
    and the target macros looked up in the config."""
    found = set(analysis.looked)
    table = analysis.table
    for constant in analysis.result.constants.values():
        found |= {s for s in constant.symbols if s.startswith("CONFIG_")}
        found |= set(re.findall(r"\bCONFIG_\w+", constant.reason or ""))
        found |= set(re.findall(r"\bCONFIG_\w+", constant.expression or ""))
        if table is not None:
            for link in constant.chain:
                macro = table.macros.get(link.macro)
                body = getattr(macro, "value", None) or ()
                found |= {t.value for t in body if str(t.value).startswith("CONFIG_")}
    return found


def _allocate(
    tree: Tree,
    arch: Arch,
    profile: Config,
    config: Config,
    kconfig: KconfigSource,
    notes: list[str],
    analysis: Analysis,
    macros: list[str] | tuple[str, ...],
    limits: Limits | None,
) -> Analysis:
    """``analysis`` with its stack allocation; the symbols its branches test are
    decided by the tree's Kconfig like the constants' (the cell re-runs if that
    changes the config)."""
    from . import evaluate
    from .allocation import stack_allocation

    for attempt in range(3):
        assert analysis.layout is not None and analysis.table is not None
        found = stack_allocation(
            tree,
            analysis.layout,
            config,
            analysis.table,
            evaluate.data_model(analysis.layout.model),
        )
        asked = {s for s in found.asked if s not in config.symbols}
        if kconfig.resolved and set(found.asked) - kconfig.wanted:
            more = kconfig.wanted | set(found.asked)
            config = kconfig.decide(kconfig.resolve(profile, None, more), set(config.derived), [])
        decided = kconfig.decide(config, asked, notes) if kconfig.present else config
        if decided == config or attempt == 2:  # the answer is always the last table's
            break
        config = decided
        analysis = _pipeline(tree, arch, config, macros, limits)
        if analysis.result.error is not None:
            return analysis
    analysis.allocation = found
    analysis.result.stack_allocation = found.allocation
    opened = analysis.table.opened if analysis.table is not None else []
    analysis.result.inputs = {h.path: h.blob for h in opened if h.origin == "tree"}
    return analysis


def _does_not_build(result: Result, arch: Arch) -> str | None:
    """Why the headers show that this config does not build, or None."""
    if isinstance(result.error, PreprocessError):
        return result.error.without_rev()  # (a note of the result: see without_rev)
    first = result.constants.get(arch.constants[0])
    if result.error is None and (first is None or first.status == "unknown"):
        why = first.reason if first is not None else "not defined"
        return f"{arch.constants[0]} {why}"
    return None


def _open_symbols(result: Result, config: Config) -> set[str]:
    """CONFIG_ symbols the constants depend on that the config does not set."""
    symbols = {s for c in result.constants.values() for s in c.symbols}
    for constant in result.constants.values():
        reason = constant.reason or ""
        if reason.startswith("unknown identifier CONFIG_"):
            symbols.add(reason.split()[2])
    return {s for s in symbols if s.startswith("CONFIG_") and s not in config.symbols}


def _pipeline(
    tree: Tree,
    arch: Arch,
    config: Config,
    macros: list[str] | tuple[str, ...] = (),
    limits: Limits | None = None,
) -> Analysis:
    from . import evaluate

    analysis = Analysis(Result(tree.rev, arch.name, config.name))
    result = analysis.result
    try:
        watched = WatchedSymbols(config.symbols)
        analysis.looked = watched.read
        layout = make_layout(tree, arch, dataclasses.replace(config, symbols=watched))
        analysis.layout = layout
        result.warnings.extend(layout.warnings)
        table = analysis.table = preprocess(layout, list(arch.entries), limits, analysis.tested)
        wanted = list(dict.fromkeys([*arch.constants, *macros]))
        missing = {n for n in wanted if n not in table.macros}
        found: dict = {}
        if missing:
            extras, found = _find_more(layout, table, missing)
            opened = {h.path for h in table.opened}
            for name in missing:
                for mention in _enumerator(found.get(name, [])):
                    include = "asm/" + mention.path[len(layout.asm_dir) + 1 :]
                    if mention.path not in opened and include not in extras:
                        extras.append(include)
            if extras:
                table.include(extras)
        result.warnings.extend(table.warnings)
        result.inputs = {h.path: h.blob for h in table.opened if h.origin == "tree"}
        model = evaluate.data_model(layout.model)
        for name in wanted:
            if name in table.macros:
                result.constants[name] = fold(table, name, model)
            elif declared := [
                m
                for m in _enumerator(found.get(name, []))
                if table.preprocessor.line_active(m.path, m.line)
            ]:
                first = declared[0]
                result.constants[name] = Constant(
                    name,
                    None,
                    None,
                    None,
                    first.path,
                    first.line,
                    status="not-a-macro",
                    reason=f"an enum member at {first.path}:{first.line}, not a macro",
                )
            elif name in macros:
                result.constants[name] = Constant(
                    name,
                    None,
                    None,
                    None,
                    None,
                    None,
                    status="unknown",
                    reason="not defined at this revision for this arch and config",
                )
        _note_kconfig_defaults(result, arch, config)
    except ExtractorError as err:
        result.error = err.at_rev(tree.rev)
    return analysis


def scan_tree(
    tree: Tree,
    arch: Arch,
    config: Config,
    macros: list[str] | tuple[str, ...] = (),
    limits: Limits | None = None,
    allocation: bool = False,
) -> Result:
    """One cell's ``Result``."""
    return analyse(tree, arch, config, macros, limits, allocation).result


def _enumerator(mentions: list[Any]) -> list[Any]:
    """Lines that declare the name as an enum member (taken or not)."""
    return [m for m in mentions if m.enumerator]


def _note_kconfig_defaults(result: Result, arch: Arch, config: Config) -> None:
    used = {link.macro for c in result.constants.values() for link in c.chain}
    for symbol in sorted(config.derived & used):
        result.warnings.append(
            f"{symbol}={config.symbols[symbol]} is the arch table's default for {arch.name}: "
            "this tree has no Kconfig files to take it from"
        )
    # a symbol a constant's branches test counts as well as one in its chain
    tested = used | {s for c in result.constants.values() for s in c.symbols}
    for symbol in sorted(config.assumed & tested):
        result.warnings.append(
            f"{symbol}={config.symbols[symbol]} is the arch table's assumption for "
            f"{arch.name}; a real config may differ (give one with --config-file)"
        )


__all__ = [
    "ChainLink",
    "Constant",
    "Location",
    "Result",
    "fold",
    "scan_tree",
]
