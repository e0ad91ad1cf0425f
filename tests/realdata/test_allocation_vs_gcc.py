"""The stack allocation against gcc, on Debian's full 6.1 and 6.12 trees.

For every arch kstack knows, default and kasan, with and without VMAP_STACK:
kstack says which allocator function and which allocation call survive in
kernel/fork.c. gcc preprocesses a translation unit of the arch's entry headers
followed by the real fork.c (its own #include lines blanked, as kstack reads
it: fork.c's whole closure needs a complete kernel config), under the config
kstack used, and this test finds the allocator's surviving body in gcc's
output with a parser of its own. Both must name the same function and call.

The matrix reads the trees without their Kconfig files (kstack then takes the
arch table's documented values): the reader parses every Kconfig file of a
tree per cell, which would make 80 cells take most of an hour on two shared
cores, and what is compared here is the preprocessing, under whatever config.
The cells the README shows are checked with the tree's Kconfig at the end.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from extractor.arches import ARCHES as KSTACK_ARCHES
from extractor.config import make_config
from extractor.scan import analyse
from extractor.source import DirectoryTree

from .gcc_reference import _gcc, prepare_gcc_build

pytestmark = pytest.mark.realdata

ARCHES = sorted(KSTACK_ARCHES)
PROFILES = ("default", "kasan")
VMAP = ("y", "n")
ALLOCATORS = ("alloc_thread_stack_node", "alloc_thread_info_node", "alloc_thread_info")
CALLS = (
    "__vmalloc_node_range",
    "__vmalloc_node",
    "alloc_pages_node",
    "alloc_kmem_pages_node",
    "__get_free_pages",
    "alloc_pages",
    "kmem_cache_alloc_node",
    "kmem_cache_alloc",
    "kmalloc_node",
    "kzalloc_node",
    "kmalloc",
    "kzalloc",
)
# 6.10+ wraps allocators in alloc_hooks(name_noprof(...)) where a header defines it
_CALL = re.compile(r"\b(" + "|".join(CALLS) + r")(?:_noprof)?\s*\(")


def _gcc_config(symbols: dict[str, str]) -> dict[str, str]:
    """kstack's decided config as gcc_reference takes it ("n" leaves a symbol out)."""
    out = {}
    for name, value in symbols.items():
        out[name] = {"y": "1", "m": "n"}.get(value, value)
    return out


def _bodies(text: str, name: str) -> list[str]:
    """Bodies of the functions called ``name`` defined in preprocessed C."""
    bodies = []
    for match in re.finditer(r"\b" + name + r"\s*\(", text):
        depth, index = 0, match.end() - 1
        while index < len(text):
            depth += {"(": 1, ")": -1}.get(text[index], 0)
            if depth == 0:
                break
            index += 1
        rest = text[index + 1 :].lstrip()
        before = text[text.rfind("\n", 0, match.start()) + 1 : match.start()].strip()
        if not rest.startswith("{") or not before or before.endswith(("=", "return")):
            continue
        start = text.index("{", index)
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                bodies.append(text[start : end + 1])
                break
    return bodies


def gcc_allocation(tree: Path, arch: str, symbols: dict[str, str]) -> tuple[str, str] | None:
    """(allocator, call) in gcc's preprocessed fork.c, or None if not found."""
    entries = KSTACK_ARCHES[arch].entries
    build = prepare_gcc_build(tree, arch, _gcc_config(symbols), entries)
    fork = (tree / "kernel/fork.c").read_text(errors="replace")
    fork = re.sub(r"(?m)^[ \t]*#[ \t]*include\b.*$", "", fork)
    with tempfile.TemporaryDirectory(prefix="kstack-alloc-") as tmp:
        source = Path(tmp) / "fork.c"
        source.write_text("".join(f"#include <{e}>\n" for e in entries) + fork)
        argv = ["-E", "-P", "-nostdinc", "-undef", "-x", "c"]
        argv += [f"-I{tree / d}" for d in build.include_dirs]
        argv += [f"-D{k}={v}" for k, v in build.defines.items()]
        for header in build.force_includes:
            argv += ["-include", header]
        proc = _gcc([*argv, str(source)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout
    for name in ALLOCATORS:
        bodies = _bodies(text, name)
        if len(bodies) > 1:
            return (name, "several definitions survive")
        for body in bodies:
            call = _CALL.search(body)
            return (name, call.group(1) if call else "no call")
    return None


class WithoutKconfig(DirectoryTree):
    """The tree as a headers package would show it: no Kconfig files."""

    def exists(self, path: str) -> bool:
        return not path.endswith("Kconfig") and super().exists(path)


_TREES: dict[Path, DirectoryTree] = {}


def kstack_allocation(tree: Path, arch: str, profile: str, vmap: str, kconfig: bool = False):
    spec = KSTACK_ARCHES[arch]
    config = make_config(
        profile, spec, sets=[f"CONFIG_VMAP_STACK={vmap}"], kconfig=spec.kconfig_defaults
    )
    # one tree object per tree: what it has read serves every cell
    shared = DirectoryTree(tree) if kconfig else _TREES.setdefault(tree, WithoutKconfig(tree))
    analysis = analyse(shared, spec, config, [], None, allocation=True)
    assert analysis.result.error is None, analysis.result.error
    assert analysis.layout is not None
    return analysis.result.stack_allocation, dict(analysis.layout.config.symbols)


def check(tree: Path) -> tuple[list[str], int, dict[str, int]]:
    problems, cells, kinds = [], 0, {}
    for arch in ARCHES:
        for profile in PROFILES:
            for vmap in VMAP:
                allocation, symbols = kstack_allocation(tree, arch, profile, vmap)
                where = f"{arch} {profile} VMAP_STACK={vmap}"
                cells += 1
                if allocation is None or allocation.status != "ok":
                    problems.append(f"{where}: kstack: {allocation and allocation.reason}")
                    continue
                ours = (allocation.function, (allocation.written or "").split("(")[0])
                theirs = gcc_allocation(tree, arch, symbols)
                if ours != theirs:
                    problems.append(f"{where}: kstack {ours}, gcc {theirs}")
                kinds[allocation.kind or "?"] = kinds.get(allocation.kind or "?", 0) + 1
    return problems, cells, kinds


@pytest.mark.parametrize("series", ["6.1", "6.12"])
def test_allocation_agrees_with_gcc(series, request):
    tree = request.getfixturevalue(f"linux_source_{series.replace('.', '_')}")
    problems, cells, kinds = check(tree)
    print(f"\n{series}: {cells} cells, {len(problems)} disagreements, kinds {kinds}")
    assert problems == []
    assert cells == len(ARCHES) * len(PROFILES) * len(VMAP)
    # the cells are not all alike: both branches of VMAP_STACK are exercised
    assert {"vmalloc", "pages"} <= set(kinds)


# the README's cells, with the tree's own Kconfig deciding the rest of the config
WITH_KCONFIG = [
    ("x86_64", "default", "y", ("vmalloc", None, 16384, True)),
    ("x86_64", "default", "n", ("pages", 2, 16384, False)),
]


@pytest.mark.parametrize("arch, profile, vmap, expected", WITH_KCONFIG)
def test_readme_cells_with_kconfig(linux_source_6_12, arch, profile, vmap, expected):
    allocation, symbols = kstack_allocation(linux_source_6_12, arch, profile, vmap, kconfig=True)
    got = (allocation.kind, allocation.order, allocation.size, allocation.guard_pages)
    assert got == expected
    assert symbols.get("CONFIG_THREAD_INFO_IN_TASK") == "y"
    assert allocation.thread_info_on_stack is False
    ours = (allocation.function, (allocation.written or "").split("(")[0])
    assert gcc_allocation(linux_source_6_12, arch, symbols) == ours
