"""Allocation stage: how the task stack is allocated, for one cell.

In: the cell's tree, layout, config and the ``MacroTable`` its stack constants
came from (the arch's entry headers, already preprocessed under the config).
Out: a ``StackAllocation``: which function or macro allocates the task stack
(the generic one in ``kernel/fork.c``, or the arch's override in its headers,
with the symbol that switched it), which allocation call survives the
preprocessor in its body, that call's size and order folded by the evaluator,
whether the stack has guard pages (vmap), NR_CACHED_STACKS, whether
thread_info sits on the stack, and the ``#if`` branches that chose it. When
it cannot be determined the status is "unknown" with the reason, never a guess.

``kernel/fork.c`` is read the way the stack headers are: through the same
preprocessor, directive lines only, on top of the entry headers' macro state.
Its own ``#include`` lines are not followed: its closure needs a complete
kernel config (it stops at ``#error`` under a partial one) and only the
allocator's branches matter, which test config symbols and macros of the
arch's headers. A non-CONFIG name such a branch tests that no header read
defines is looked for in the arch's asm directory, and said in a warning if
nowhere. Nothing is compiled or run: a body line is live when the branches
around it were taken.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .allocation_text import (
    ALLOCATORS,
    FORK,
    abbreviate,
    argument_value,
    arguments,
    asked_in,
    cache_size,
    closing,
    code_text,
    definition_lines,
    groups_at,
    is_directive_line,
    sites,
    skeleton,
    span,
    tested_names,
)
from .config import Config
from .errors import ExtractorError, Location, PreprocessError
from .layout import Header, Layout, mentions
from .preprocess import MacroTable, decode_header
from .result import Condition, StackAllocation
from .source import Tree

if TYPE_CHECKING:
    from . import evaluate

#: allocation call -> (kind, index of its size argument, index of its order argument)
CALLS: dict[str, tuple[str, int | None, int | None]] = {
    "__vmalloc_node_range": ("vmalloc", 0, None),
    "__vmalloc_node": ("vmalloc", 0, None),
    "alloc_pages_node": ("pages", None, 2),
    "alloc_kmem_pages_node": ("pages", None, 2),
    "alloc_pages_exact_node": ("pages", None, 2),
    "__get_free_pages": ("pages", None, 1),
    "alloc_pages": ("pages", None, 1),
    "kmem_cache_alloc_node": ("slab", None, None),
    "kmem_cache_alloc": ("slab", None, None),
    "kmalloc_node": ("kmalloc", 0, None),
    "kzalloc_node": ("kmalloc", 0, None),
    "kmalloc": ("kmalloc", 0, None),
    "kzalloc": ("kmalloc", 0, None),
}
_CALL = re.compile(r"\b(" + "|".join(sorted(CALLS, key=len, reverse=True)) + r")\s*\(")


@dataclass(frozen=True)
class Listing:
    """What ``explain --allocation`` shows: the allocator's source, live or not."""

    path: str
    #: (line number, text, live) from the definition's first line to its last
    lines: tuple[tuple[int, str, bool], ...]
    #: the call: its line, and the column span of the folded argument on its line
    call_line: int | None = None
    argument: tuple[int, int, int] | None = None  # (line, start column, end column)


@dataclass
class Found:
    allocation: StackAllocation
    listing: Listing | None = None
    #: CONFIG_ symbols the allocator's branches test (for the tree's Kconfig)
    asked: set[str] = field(default_factory=set)
    #: files whose whole text the answer depends on (the call's lines are C code)
    read: list[str] = field(default_factory=list)
    #: macro names whose definitions the answer depends on (for the cache's key)
    names: set[str] = field(default_factory=set)


def _unknown(reason: str, config: Config, **more: Any) -> Found:
    return Found(
        StackAllocation(
            status="unknown", reason=reason, thread_info_on_stack=_on_stack(config), **more
        )
    )


def _unreadable(what: str, err: ExtractorError, config: Config, path: str = FORK) -> Found:
    """Unknown because ``path`` (fork.c, or an arch's process.c) failed: the reason
    names where, but not the revision (a result is kept by content and read back at
    other revisions, as warnings are), and the file is keyed by its whole content
    (the line moves with it)."""
    found = _unknown(f"{what}: {err.without_rev()}", config)
    found.read = [path]
    return found


def _on_stack(config: Config) -> bool:
    """thread_info sits at the bottom of the stack unless THREAD_INFO_IN_TASK (4.9+)."""
    return config.symbols.get("CONFIG_THREAD_INFO_IN_TASK", "n") != "y"


def stack_allocation(
    tree: Tree, layout: Layout, config: Config, table: MacroTable, model: evaluate.DataModel
) -> Found:
    """The cell's stack allocation; ``table`` gains fork.c's macros."""
    try:
        data = tree.read(FORK)
    except ExtractorError as err:  # too big, unreadable: the constants still stand
        return _unreadable(f"{FORK} could not be read", err, config)
    if data is None:
        found = _unknown(
            f"{FORK} is not in this tree (a headers-only tree): nothing says which "
            "allocator builds the task stack",
            config,
        )
        found.read = [FORK]  # its arrival in a later revision changes the answer
        return found
    text = decode_header(Header(FORK, data), tree.rev)
    try:
        warnings = _read_fork(layout, table, data, text, tree.rev)
    except ExtractorError as err:
        return _unreadable(f"{FORK} could not be preprocessed", err, config)
    pp = table.preprocessor
    code = code_text(text)
    name = _called(code, pp)
    asked = asked_in(code)
    if name is None:
        found = _unknown(f"{FORK} calls none of {', '.join(ALLOCATORS)} on a live line", config)
    else:
        switch, defined_in = _switch(code, name, table)
        found = _allocator(tree, layout, config, table, model, code, name, switch)
        if defined_in is not None:  # the switch names a line of it
            found.read.append(defined_in)
    found.asked |= asked
    found.names |= {"PAGE_SIZE", "THREAD_SIZE", "NR_CACHED_STACKS", *ALLOCATORS}
    found.names |= {s for c in found.allocation.conditions for s in c.symbols}
    found.names |= set(re.findall(r"[A-Za-z_]\w*", found.allocation.written or ""))
    found.allocation.warnings.extend(warnings)
    # every file whose line the answer names is read whole by the cache's content
    # key, which moves only the constants' lines: a comment above the switch's
    # #define must not leave its old line in a result read back by content
    named = [*found.read, *(c.path for c in found.allocation.conditions)]
    named += [found.allocation.file] if found.allocation.file else []
    found.read = [FORK, *dict.fromkeys(p for p in named if p != FORK)]
    return found


def shows_fork_lines(allocation: StackAllocation | None) -> bool:
    """Whether an answer names a line of fork.c (its call, a condition, the switch,
    a reason or warning with a place)."""
    if allocation is None:
        return False
    if allocation.file == FORK or any(c.path == FORK for c in allocation.conditions):
        return True
    return bool(re.search(re.escape(FORK) + r":\d", json.dumps(allocation.as_dict())))


def _read_fork(
    layout: Layout, table: MacroTable, data: bytes, text: str, rev: str | None
) -> list[str]:
    """fork.c's directives into ``table``, its includes not followed (see the docstring)."""
    tested = tested_names(code_text(text))
    missing = {n for n in tested if n not in table.macros}
    warnings: list[str] = []
    if missing:
        found = mentions(layout, missing, [layout.asm_dir])
        opened = {h.path for h in table.opened}
        extras = sorted(
            {
                "asm/" + m.path[len(layout.asm_dir) + 1 :]
                for ms in found.values()
                for m in ms
                if m.defines and m.path not in opened
            }
        )
        if extras:
            table.include(extras)
        for name in sorted(missing - set(table.macros)):
            warnings.append(
                f"{FORK}: {name} is tested around the stack allocator and no header read "
                "defines it; taken as undefined"
            )
    _read_directives(table, FORK, data, text, rev)
    return warnings


def _read_directives(table: MacroTable, path: str, data: bytes, text: str, rev: str | None) -> None:
    """A C file's directives into ``table``, its includes not followed."""
    pp = table.preprocessor
    try:
        pp.read_directives(Header(path, data), skeleton(text))
    except ExtractorError:
        pp._frames.clear()  # the table stays usable for the constants
        raise
    except Exception as err:  # pcpp's own failures on hostile input
        pp._frames.clear()
        raise PreprocessError(f"preprocessor failed: {err}", pp.where()) from err
    if pp._frames:
        frame = pp._frames[-1]
        pp._frames.clear()
        raise PreprocessError(f"unterminated {frame.directive}", Location(rev, path, frame.line))


def asked_symbols(tree: Tree) -> set[str]:
    """CONFIG_ symbols fork.c's allocator branches test, read from its text alone."""
    try:
        data = tree.read(FORK)
    except ExtractorError:
        return set()  # stack_allocation says why
    if data is None:
        return set()
    text = decode_header(Header(FORK, data), tree.rev)
    return set(asked_in(code_text(text)))


def _conditions(path: str, lines: list[str], target: int, table: MacroTable) -> list[Condition]:
    out = []
    for group in groups_at(lines, target):
        opening_line, opening = group[0]
        line, directive = group[-1]
        symbols = tuple(
            dict.fromkeys(
                n
                for _, d in group
                if not d.startswith(("#else", "#endif"))
                for n in re.findall(r"[A-Za-z_]\w*", d.split(None, 1)[1] if " " in d else "")
                if n != "defined"
            )
        )
        guard = re.fullmatch(r"#ifndef (\w+)", opening)
        if guard and path.endswith(".h") and len(group) == 1:
            continue  # a header's include guard says nothing
        out.append(Condition(path, line, directive, True, symbols, opening, opening_line))
    return out


def _called(code: str, pp: Any) -> str | None:
    """The allocator fork.c calls on a live line (a call, not its definition)."""
    for name in ALLOCATORS:
        for line, directive, definition in sites(code, name):
            if directive or not pp.line_active(FORK, line):
                continue
            if definition is None:
                return name
    return None


def _allocator(
    tree: Tree,
    layout: Layout,
    config: Config,
    table: MacroTable,
    model: evaluate.DataModel,
    code: str,
    name: str,
    switch: str | None,
) -> Found:
    """The allocator ``name`` and its call, given the switch (None when fork.c's
    own allocator is live)."""
    pp = table.preprocessor
    if name in table.macros and table.definitions.get(name) is not None:
        where = table.definitions[name]
        by = "generic" if where.path == FORK else "arch"
        source = _file_code(tree, where.path) if where.line else None
        if source is None or where.line is None:
            return _unknown(f"{name} is a macro defined by {where.path}", config)
        first, last = where.line, where.line
        lines = source.split("\n")
        while last <= len(lines) and lines[last - 1].rstrip().endswith("\\"):
            last += 1
        conditions = tuple(c for c in where.conditions if not _is_guard(c))
        return _fold(
            tree, config, table, model, name, by, switch, where.path, source, first, last,
            conditions, lambda _line: True,
        )  # fmt: skip
    for path, source in _definers(tree, layout, table, code):
        for first, last in _definitions(source, name):
            if pp.line_active(path, first):
                by = "generic" if path == FORK else "arch"
                return _fold(
                    tree, config, table, model, name, by, switch, path, source, first, last,
                    None, _live(pp, path),
                )  # fmt: skip
    found = _in_arch_code(tree, layout, config, table, model, name, switch)
    if found is not None:
        return found
    found = _unknown(
        f"{name} is defined neither in {FORK}, nor in the headers read, nor in "
        f"{_arch_c(layout)}: the arch provides it in code kstack does not read",
        config,
        kind="arch",
        function=name,
        defined_by="arch",
        switch=switch,
    )
    found.read.append(_arch_c(layout))  # (one that gains it changes the answer)
    return found


def _arch_c(layout: Layout) -> str:
    """The arch C file that held an arch's own allocator in the old kernels: arm's
    ``alloc_thread_info`` was in ``arch/arm/kernel/process.c`` up to 2.6.19."""
    return f"arch/{layout.arch_dir or layout.arch.srcarch}/kernel/process.c"


def _in_arch_code(
    tree: Tree,
    layout: Layout,
    config: Config,
    table: MacroTable,
    model: evaluate.DataModel,
    name: str,
    switch: str | None,
) -> Found | None:
    """The allocator ``name`` where the arch's ``process.c`` defines it (None where
    it does not): read as fork.c is, its directives on top of the headers' macros."""
    path = _arch_c(layout)
    try:
        data = tree.read(path)
    except ExtractorError as err:
        return _unreadable(f"{path} could not be read", err, config, path)
    if data is None:
        return None
    text = decode_header(Header(path, data), tree.rev)
    code = code_text(text)
    spans = _definitions(code, name)
    if not spans:
        return None
    try:
        _read_directives(table, path, data, text, tree.rev)
    except ExtractorError as err:
        return _unreadable(f"{path} could not be preprocessed", err, config, path)
    pp = table.preprocessor
    for first, last in spans:
        if pp.line_active(path, first):
            return _fold(
                tree, config, table, model, name, "arch", switch, path, code, first, last,
                None, _live(pp, path),
            )  # fmt: skip
    return None


_WORD_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
#: a line with its continuation lines
_LOGICAL_LINE = re.compile(r"(?:[^\n]*\\\n)*[^\n]*")


def _through_macros(
    table: MacroTable,
    path: str,
    source: str,
    offsets: list[int],
    first: int,
    last: int,
    conditions: tuple[Condition, ...] | None,
    live: Any,
) -> list[tuple[re.Match[str], int, str]]:
    """The allocation calls that lines first..last of ``source`` make through a
    macro the same file defines: (the call in the macro's definition, the line
    that calls the macro, ``"name() = "`` for the written call). Early 2.6 arm:
    ``alloc_thread_info`` calls ``ll_alloc_task_struct()``, which process.c
    defines a few lines above it as a ``__get_free_pages`` call. Only macros
    that ``path`` defines, as the preprocessor read it (so on a live line), in
    force at the end of the file, are followed; one level deep."""
    out = []
    for match in _WORD_CALL.finditer(source, offsets[first - 1], offsets[last]):
        line = source.count("\n", 0, match.start()) + 1
        if not live(line) or (conditions is None and is_directive_line(source, match.start())):
            continue
        name = match.group(1)
        where = table.definitions.get(name)
        macro = table.macros.get(name)
        if where is None or macro is None or where.path != path or where.line is None:
            continue
        start = offsets[where.line - 1]
        inner = _CALL.search(source, start, _LOGICAL_LINE.match(source, start).end())  # type: ignore[union-attr]
        if inner is not None:
            out.append((inner, line, f"{name}() = " if macro.arglist is not None else f"{name} = "))
    return out


def _definitions(code: str, name: str) -> list[tuple[int, int]]:
    """The (first, last) lines of each definition of the function ``name`` in ``code``."""
    return [
        span
        for match in re.finditer(r"\b" + name + r"\s*\(", code)
        if (span := definition_lines(code, match)) is not None
    ]


def _live(pp: Any, path: str) -> Any:
    """Whether a line of ``path`` is live, as the preprocessor read its directives."""
    return lambda line: bool(pp.line_active(path, line))


def _is_guard(condition: Condition) -> bool:
    return bool(re.fullmatch(r"#ifndef \w+", condition.opening)) and condition.path.endswith(".h")


def _file_code(tree: Tree, path: str) -> str | None:
    data = tree.read(path)
    if data is None:
        return None
    text = decode_header(Header(path, data), tree.rev)
    return code_text(text)


def _definers(tree: Tree, layout: Layout, table: MacroTable, code: str) -> list[tuple[str, str]]:
    """fork.c, then the tree headers read (an arch's ``static inline`` allocator)."""
    out = [(FORK, code)]
    for header in table.opened:
        if header.origin == "tree" and header.path != FORK:
            source = _file_code(tree, header.path)
            if source is not None:
                out.append((header.path, source))
    return out


def _switch(code: str, name: str, table: MacroTable) -> tuple[str | None, str | None]:
    """The symbol that turned fork.c's own allocator off, where it has one, and the
    file that defines it."""
    lines = code.split("\n")
    spans = [lines_ for _, _, lines_ in sites(code, name) if lines_ is not None]
    if any(table.preprocessor.line_active(FORK, first) for first, _ in spans):
        return None, None
    for first, _ in spans:
        for group in groups_at(lines, first):
            for symbol in re.findall(r"[A-Za-z_]\w*", group[0][1].split(None, 1)[-1]):
                where = table.definitions.get(symbol)
                if symbol.startswith("CONFIG_"):
                    return f"{symbol} (kernel config)", None
                if symbol != "defined" and where is not None and where.line is not None:
                    return f"{symbol} ({where.path}:{where.line})", where.path
    return None, None


def _fold(
    tree: Tree,
    config: Config,
    table: MacroTable,
    model: evaluate.DataModel,
    name: str,
    by: str,
    switch: str | None,
    path: str,
    source: str,
    first: int,
    last: int,
    conditions: tuple[Condition, ...] | None,
    live: Any,
) -> Found:
    """Find the live allocation call in lines first..last of ``source``; fold it.

    ``conditions`` are a macro's (from the preprocessor); a function's are the
    groups open at the call's line, read from the file.
    """
    lines = source.split("\n")
    offsets = [0]
    for text in lines:
        offsets.append(offsets[-1] + len(text) + 1)
    raw = tree.read(path) or b""
    shown = decode_header(Header(path, raw), tree.rev).split("\n")
    listing_lines = tuple((n, shown[n - 1], bool(live(n))) for n in range(first, last + 1))
    calls = [
        (match, line, "")
        for match in _CALL.finditer(source, offsets[first - 1], offsets[last])
        if live(line := source.count("\n", 0, match.start()) + 1)
        and (conditions is not None or not is_directive_line(source, match.start()))
    ]
    if not calls:  # (the allocator may call a macro of its own file that allocates)
        calls = _through_macros(table, path, source, offsets, first, last, conditions, live)
    for match, line, via in calls:
        at = match.start()
        callee = match.group(1)
        kind, size_at, order_at = CALLS[callee]
        open_paren = match.end() - 1
        close = closing(source, open_paren)
        args = arguments(source, open_paren + 1, close)
        written = via + " ".join(source[at : close + 1].replace("\\\n", " ").split())
        allocation = StackAllocation(
            status="ok",
            kind=kind,
            function=name,
            defined_by=by,
            switch=switch,
            call=abbreviate(callee, [a for a, _ in args], size_at, order_at),
            written=written,
            file=path,
            line=line,
            conditions=conditions
            if conditions is not None
            else tuple(_conditions(path, lines, line, table)),
            guard_pages=kind == "vmalloc",
            thread_info_on_stack=_on_stack(config),
        )
        found = Found(allocation, read=[path])
        argument = None
        picked = order_at if order_at is not None else size_at
        if kind == "slab":
            size_text = cache_size(source, args[0][0] if args else "")
            if size_text is None:
                allocation.reason = "the cache's object size was not found in " + path
            else:
                allocation.size = _value(table, size_text, model, allocation)
        elif picked is not None and picked < len(args):
            text, start = args[picked]
            argument = span(source, start, text)
            fold = functools.partial(_value, table, model=model, allocation=allocation)
            value = argument_value(text, order_at is not None, fold)
            if order_at is not None:
                allocation.order = value
                page = _value(table, "PAGE_SIZE", model, allocation)
                if value is not None and page is not None:
                    allocation.size = page << value
            else:
                allocation.size = value
        if "NR_CACHED_STACKS" in table.macros and kind == "vmalloc":
            allocation.cached_stacks = _value(table, "NR_CACHED_STACKS", model, allocation)
        symbols = {s for c in allocation.conditions for s in c.symbols if s.startswith("CONFIG_")}
        allocation.symbols = tuple(sorted(symbols))
        found.asked |= symbols
        defined_at = source.count("\n", 0, at) + 1  # (a macro's: above the function)
        if defined_at != line:
            listing_lines = (
                (defined_at, shown[defined_at - 1], bool(live(defined_at))),
                *listing_lines,
            )
        found.listing = Listing(path, listing_lines, line, argument)
        return found
    return Found(
        StackAllocation(
            status="unknown",
            reason=f"no known allocation call on a live line of {name} ({path}:{first})",
            function=name,
            defined_by=by,
            switch=switch,
            kind="arch" if by == "arch" else None,
            file=path,
            line=first,
            thread_info_on_stack=_on_stack(config),
        ),
        Listing(path, listing_lines),
        read=[path],
    )


def _value(
    table: MacroTable, text: str, model: evaluate.DataModel, allocation: StackAllocation
) -> int | None:
    from . import evaluate

    try:
        value = evaluate.evaluate(table.expand(text), model)
    except ExtractorError as err:
        allocation.reason = f"{text}: {err.without_rev()}"
        return None
    if not value.known:
        allocation.reason = f"{text}: {value.reason}"
    return value.value
