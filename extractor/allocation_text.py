"""The allocation stage's reading of C text: where a name is called or defined,
the ``#if`` groups open at a line, and a call's arguments.

In: fork.c's (or a header's, or an arch's process.c) text, with comments blanked,
as ``allocation`` reads it. Out: lines, spans and argument lists; the names the
``#if`` groups around the allocators test (``tested_names``, ``asked_in``); a
call as a report shows it (``abbreviate``); and the digests of what the stage
reads (``footprint``, ``allocator_sites``) for the cache's content key. Nothing
here knows the config or runs the preprocessor. A fork.c
version's call sites are the same for every cell that reads it, so they are
found once per text (``sites``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable

from .preprocess import directive_skeleton

FORK = "kernel/fork.c"
#: what fork.c calls to get a task stack, newest name first
ALLOCATORS = ("alloc_thread_stack_node", "alloc_thread_info_node", "alloc_thread_info")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
ALLOCATOR_CALL = re.compile(r"\b(" + "|".join(ALLOCATORS) + r")\s*\(")


def groups_at(lines: list[str], target: int) -> list[list[tuple[int, str]]]:
    """The ``#if`` groups open at line ``target`` (1-based): each one's directives
    so far, (line, text), the opening first."""
    stack: list[list[tuple[int, str]]] = []
    for number, line in enumerate(lines[: target - 1], 1):
        match = BRANCH.match(line)
        if match:
            step(stack, number, match)
    return stack


BRANCH = re.compile(r"\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)")


def step(stack: list[list[tuple[int, str]]], number: int, match: re.Match[str]) -> None:
    kind = match.group(1)
    text = " ".join(f"#{kind}{match.group(2)}".split())
    if kind in ("if", "ifdef", "ifndef"):
        stack.append([(number, text)])
    elif kind in ("elif", "else") and stack:
        stack[-1].append((number, text))
    elif kind == "endif" and stack:
        stack.pop()


@functools.lru_cache(maxsize=64)
def sites(code: str, name: str) -> tuple[tuple[int, bool, tuple[int, int] | None], ...]:
    """Where ``name(`` stands in ``code``: (line, on a directive line, the (first,
    last) lines of the function it defines there, or None for a call). The same
    for every config of a fork.c version, which every cell of a revision reads;
    finding definitions walks the text brace by brace."""
    found = []
    for match in re.finditer(r"\b" + name + r"\s*\(", code):
        line = code.count("\n", 0, match.start()) + 1
        found.append((line, is_directive_line(code, match.start()), definition_lines(code, match)))
    return tuple(found)


def is_directive_line(code: str, offset: int) -> bool:
    start = code.rfind("\n", 0, offset) + 1
    return code[start:offset].lstrip().startswith("#")


def closing(code: str, open_paren: int) -> int:
    """Where the parenthesis at ``open_paren`` closes (the end of ``code`` if it does not)."""
    found = matching(code, open_paren, "(", ")")
    return len(code) - 1 if found is None else found


def matching(code: str, at: int, left: str, right: str) -> int | None:
    """Where the ``left`` bracket at ``at`` is closed by its ``right``, or None if it is not."""
    depth = 0
    for index in range(at, len(code)):
        if code[index] == left:
            depth += 1
        elif code[index] == right:
            depth -= 1
            if depth == 0:
                return index
    return None


def definition_lines(code: str, match: re.Match[str]) -> tuple[int, int] | None:
    """(first, last) line of a function defined at ``match``, or None for a call."""
    if is_directive_line(code, match.start()):
        return None
    start = code.rfind("\n", 0, match.start()) + 1
    before = code[start : match.start()].strip()
    if not before or before.endswith(("=", "(", ",", "return", "!")):
        return None
    after = closing(code, match.end() - 1) + 1
    rest = code[after:].lstrip()
    if not rest.startswith("{"):
        return None
    end = matching(code, after + code[after:].index("{"), "{", "}")
    if end is None:
        return None
    return code.count("\n", 0, match.start()) + 1, code.count("\n", 0, end) + 1


def arguments(source: str, start: int, end: int) -> list[tuple[str, int]]:
    """A call's top-level arguments, each with its offset in ``source``."""
    out: list[tuple[str, int]] = []
    depth = 0
    begin = start
    for index in range(start, end + 1):
        char = source[index] if index < end else ","
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            piece = source[begin:index]
            lead = len(re.match(r"(?:\s|\\\n)*", piece).group(0))  # type: ignore[union-attr]
            out.append((" ".join(piece.replace("\\\n", " ").split()), begin + lead))
            begin = index + 1
    return out


def span(source: str, start: int, text: str) -> tuple[int, int, int]:
    line = source.count("\n", 0, start) + 1
    column = start - (source.rfind("\n", 0, start) + 1)
    return line, column, column + len(text.split()[0]) if " " in text else column + len(text)


#: an order argument written as ``get_order(SIZE)`` (2.6.22-2.6.26 i386, and others)
_GET_ORDER = re.compile(r"\s*get_order\s*\((.*)\)\s*", re.S)


def get_order_argument(text: str) -> str | None:
    """``SIZE`` of an argument that is one call ``get_order(SIZE)``, else None."""
    match = _GET_ORDER.fullmatch(text)
    if match is None or matching(text, text.index("("), "(", ")") != len(text.rstrip()) - 1:
        return None  # (``get_order(a) + get_order(b)`` is two calls)
    return match.group(1)


def get_order(size: int, page_shift: int) -> int | None:
    """The kernel's ``get_order(size)``: the least order whose ``PAGE_SIZE << order``
    holds ``size`` (as ``asm-generic``'s loop computes it); None for a size under 1."""
    if size < 1 or page_shift < 1:
        return None
    rest, order = (size - 1) >> (page_shift - 1), -1
    while True:
        rest >>= 1
        order += 1
        if not rest:
            return order


def argument_value(text: str, order: bool, value_of: Callable[[str], int | None]) -> int | None:
    """A call's size or order argument folded by ``value_of``; an order written
    ``get_order(SIZE)`` is SIZE's order, under the tree's ``PAGE_SHIFT``."""
    sized = get_order_argument(text) if order else None
    if sized is None:
        return value_of(text)
    size = value_of(sized)
    shift = value_of("PAGE_SHIFT") if size is not None else None
    return None if size is None or shift is None else get_order(size, shift)


@functools.lru_cache(maxsize=8)
def code_text(text: str) -> str:
    """A C file's text with comments blanked (lines kept), once per text: every
    arch and config of a revision asks for fork.c's, and fork.c changes rarely."""
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


@functools.lru_cache(maxsize=8)
def skeleton(text: str) -> str:
    """A C file's directive lines, its includes blanked, once per text."""
    return "\n".join(
        "" if re.match(r"\s*#\s*include\b", line) else line
        for line in directive_skeleton(text).split("\n")
    )


_FOOTPRINT_SITE = re.compile(r"\b(" + "|".join(ALLOCATORS) + r"|kmem_cache_create\w*)\s*\(")


def footprint(text: str, with_lines: bool) -> str:
    """A digest of all that this stage reads of fork.c's ``text``: its directive
    lines (the preprocessor reads them all; includes are not followed), and each
    allocator's definition or call and each slab cache's creation, from the
    name to the closing bracket, as written and with comments blanked, all in
    file order. The rest of fork.c (copy_process and the like, 2,000 lines that
    change at most tags) cannot reach the answer. ``with_lines``: the lines'
    numbers count too (for an answer that shows a line of fork.c).
    """
    code = code_text(text)
    raw, blanked = text.split("\n"), code.split("\n")
    kept = {n for n, line in enumerate(skeleton(text).split("\n"), 1) if line.strip()}
    for match in _FOOTPRINT_SITE.finditer(code):
        first = code.count("\n", 0, match.start()) + 1
        span = definition_lines(code, match)
        last = span[1] if span is not None else code.count("\n", 0, _site_end(code, match)) + 1
        kept.update(range(first, last + 1))
    digest = hashlib.sha1()
    for number in sorted(kept):
        if number <= len(raw):
            shown = f"{number}\0" if with_lines else ""
            digest.update(f"{shown}{raw[number - 1]}\0{blanked[number - 1]}\n".encode())
    return digest.hexdigest()


def allocator_sites(text: str) -> str:
    """A digest of where a header's code names an allocator (``ALLOCATORS``): each
    site from its line's start to the first ``;`` or ``{`` after its arguments. The
    stage looks for an arch's ``static inline`` allocator in every tree header read
    (``_definers``), so a header that gains, loses or changes one changes the answer
    even where its directives do not change."""
    digest = hashlib.sha1()
    if not any(name in text for name in ALLOCATORS):  # (most headers: nothing to blank)
        return digest.hexdigest()
    code = code_text.__wrapped__(text)  # (not kept: fork.c's is, for every cell)
    for match in ALLOCATOR_CALL.finditer(code):
        start = code.rfind("\n", 0, match.start()) + 1
        digest.update(code[start : _site_end(code, match) + 1].encode() + b"\0")
    return digest.hexdigest()


def _site_end(code: str, match: re.Match[str]) -> int:
    """Where a site named at ``match`` ends: the first ``;`` or ``{`` after its
    arguments (a ``{`` there makes it a definition), or the end of ``code``."""
    after = closing(code, match.end() - 1) + 1
    found = [i for i in (code.find(";", after), code.find("{", after)) if i >= 0]
    return min(found, default=len(code) - 1)


# --- what the stage asks of fork.c, and how it shows a call -------------------------


@functools.lru_cache(maxsize=8)
def tested_names(code: str) -> frozenset[str]:
    """Names (not CONFIG_) the allocator branches test."""
    return frozenset(
        name
        for group in allocator_groups(code)
        for _, directive in group
        for name in re.findall(r"[A-Za-z_]\w*", directive.split(None, 1)[-1])
        if not name.startswith("CONFIG_") and name != "defined" and not directive.startswith("#e")
    )


def allocator_groups(code: str) -> list[list[tuple[int, str]]]:
    """The ``#if`` groups open at any line of an allocator's definition or call."""
    targets: set[int] = set()
    for match in ALLOCATOR_CALL.finditer(code):
        span = definition_lines(code, match)
        line = code.count("\n", 0, match.start()) + 1
        targets.update(range(span[0], span[1] + 1) if span else (line,))
    groups: dict[int, list[tuple[int, str]]] = {}
    stack: list[list[tuple[int, str]]] = []
    for number, text in enumerate(code.split("\n"), 1):
        if number in targets:
            for group in stack:
                groups[group[0][0]] = group
        branch = BRANCH.match(text)
        if branch:
            step(stack, number, branch)
    return list(groups.values())


@functools.lru_cache(maxsize=8)
def asked_in(code: str) -> frozenset[str]:
    """CONFIG_ symbols of the conditionals around the allocators and their calls."""
    asked = {"CONFIG_THREAD_INFO_IN_TASK"}
    for group in allocator_groups(code):
        for _, directive in group:
            asked.update(re.findall(r"\bCONFIG_\w+", directive))
    return frozenset(asked)


def abbreviate(callee: str, args: list[str], size_at: int | None, order_at: int | None) -> str:
    """``alloc_pages_node(..., THREAD_SIZE_ORDER)``: the argument that counts kept."""
    keep = order_at if order_at is not None else size_at
    if keep is None or keep >= len(args):
        shown = args[:1] + (["..."] if len(args) > 1 else [])
    else:
        shown = (["..."] if keep > 0 else []) + [args[keep]]
        if keep < len(args) - 1:
            shown.append("...")
    return f"{callee}({', '.join(shown)})"


def cache_size(source: str, cache: str) -> str | None:
    """The object size the slab cache that the call allocates from was created with."""
    if not re.fullmatch(r"\w+", cache):
        return None
    match = re.search(r"\b" + cache + r"\s*=\s*kmem_cache_create\w*\s*\(", source)
    if match is None:
        return None
    args = arguments(source, match.end(), closing(source, match.end() - 1))
    return args[1][0] if len(args) > 1 else None
