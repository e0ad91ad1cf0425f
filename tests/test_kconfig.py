"""Kconfig values: fixture trees read from a directory and from git objects.

The trees under ``kconfig_trees/`` are small models, in our own words, of the
parts of arm64, powerpc and x86 Kconfig that decide the stack constants. Every
row runs twice, once from the directory and once from a git repository that
``git fast-import`` writes from the same files, because git mode must never
need a checkout. Smaller trees are built in the tests from strings.
"""

from __future__ import annotations

import ast
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import extractor.kconfig as kconfig_module
from extractor.errors import LimitError
from extractor.kconfig import KconfigValue, KconfigValues, kconfig_values
from extractor.source import DirectoryTree, Tree
from extractor.source_git import GitObjects

TREES = Path(__file__).parent / "kconfig_trees"
IDENTITY = b"kstack tests <kstack@example.org> 1500000000 +0000"

KASAN = {"CONFIG_KASAN": "y"}
P16K = {"CONFIG_ARM64_16K_PAGES": "y"}
P64K = {"CONFIG_ARM64_64K_PAGES": "y"}
PPC64 = {"CONFIG_PPC64": "y"}
P256K = {"CONFIG_44x": "y", "CONFIG_PPC_256K_PAGES": "y"}

# (tree, config symbols, wanted symbol, expected value; None = no value)
ROWS = [
    # arm64: the page-size choice and the ints derived from it
    ("arm64", {}, "ARM64_PAGE_SHIFT", "12"),
    ("arm64", P16K, "ARM64_PAGE_SHIFT", "14"),
    ("arm64", P64K, "ARM64_PAGE_SHIFT", "16"),
    ("arm64", {"CONFIG_ARM64_PAGE_SHIFT": "13"}, "ARM64_PAGE_SHIFT", "13"),
    ("arm64", {}, "ARM64_4K_PAGES", "y"),
    ("arm64", P16K, "ARM64_4K_PAGES", "n"),
    ("arm64", P64K, "ARM64_16K_PAGES", "n"),
    # the later PAGE_SHIFT: the chosen member selects PAGE_SIZE_*
    ("arm64", {}, "PAGE_SHIFT", "12"),
    ("arm64", P16K, "PAGE_SHIFT", "14"),
    ("arm64", P64K, "PAGE_SHIFT", "16"),
    ("arm64", P16K, "ARM64_CONT_PTE_SHIFT", "7"),
    ("arm64", {}, "ARM64_CONT_PTE_SHIFT", "4"),
    # a choice whose default depends on another choice
    ("arm64", {}, "ARM64_VA_BITS", "48"),
    ("arm64", P64K, "ARM64_VA_BITS", "52"),
    ("arm64", {**P16K, "CONFIG_ARM64_VA_BITS_47": "y"}, "ARM64_VA_BITS", "47"),
    # VMAP_STACK, KASAN and its mode choice
    ("arm64", {}, "HAVE_ARCH_VMAP_STACK", "y"),
    ("arm64", {}, "VMAP_STACK", "y"),
    ("arm64", KASAN, "VMAP_STACK", "n"),
    ("arm64", {**KASAN, "CONFIG_KASAN_HW_TAGS": "y"}, "VMAP_STACK", "y"),
    ("arm64", {**KASAN, "CONFIG_KASAN_VMALLOC": "y"}, "VMAP_STACK", "y"),
    ("arm64", {"CONFIG_VMAP_STACK": "n"}, "VMAP_STACK", "n"),
    ("arm64", {}, "KASAN", "n"),
    ("arm64", {}, "KASAN_GENERIC", "n"),
    ("arm64", KASAN, "KASAN_GENERIC", "y"),
    ("arm64", {"CONFIG_KASAN": "m"}, "KASAN_GENERIC", "y"),
    ("arm64", {**KASAN, "CONFIG_KASAN_SW_TAGS": "y"}, "KASAN_GENERIC", "n"),
    ("arm64", {**KASAN, "CONFIG_KASAN_SW_TAGS": "y"}, "KASAN_SW_TAGS", "y"),
    ("arm64", KASAN, "KASAN_HW_TAGS", "n"),
    # a compiler probe is never run, so what depends on it is n
    ("arm64", {}, "CC_HAS_BRANCH_PROTECTION", "n"),
    ("arm64", {}, "ARM64_BTI_KERNEL", "n"),
    ("arm64", {"CONFIG_CC_HAS_BRANCH_PROTECTION": "y"}, "ARM64_BTI_KERNEL", "y"),
    # help text is not read as directives
    ("arm64", {}, "HELP_TEXT_SYMBOL", None),
    ("arm64", {}, "NOT_IN_THE_TREE", None),
    # powerpc: THREAD_SHIFT's ladder; the first default that holds wins
    ("powerpc", {}, "THREAD_SHIFT", "13"),
    ("powerpc", PPC64, "THREAD_SHIFT", "14"),
    ("powerpc", P256K, "THREAD_SHIFT", "15"),
    ("powerpc", {**PPC64, "CONFIG_PPC_256K_PAGES": "y"}, "THREAD_SHIFT", "15"),
    ("powerpc", {**P256K, "CONFIG_THREAD_SHIFT": "14"}, "THREAD_SHIFT", "14"),
    ("powerpc", {}, "PPC32", "y"),
    ("powerpc", PPC64, "PPC32", "n"),
    ("powerpc", {}, "PPC64", "n"),
    ("powerpc", {}, "PPC_BOOK3S_64", "n"),
    ("powerpc", PPC64, "PPC_BOOK3S_64", "y"),
    ("powerpc", {}, "PPC_BOOK3S_32", "y"),
    ("powerpc", {}, "PPC_PAGE_SHIFT", "12"),
    ("powerpc", PPC64, "PPC_PAGE_SHIFT", "16"),
    ("powerpc", {**PPC64, "CONFIG_PPC_4K_PAGES": "y"}, "PPC_PAGE_SHIFT", "12"),
    ("powerpc", P256K, "PPC_PAGE_SHIFT", "18"),
    ("powerpc", P256K, "PPC_256K_PAGES", "y"),
    ("powerpc", {}, "PPC_256K_PAGES", "n"),
    # x86, written the pre-4.18 way ($SRCARCH, option env=)
    ("x86", {}, "PAGE_SHIFT", "12"),
    ("x86", {}, "SRCARCH", "x86"),
    ("x86", {}, "64BIT", "y"),
    ("x86", {}, "X86_64", "y"),
    ("x86", {}, "X86_32", "n"),
    ("x86", {"CONFIG_64BIT": "n"}, "X86_32", "y"),
    ("x86", {"CONFIG_64BIT": "n"}, "X86_64", "n"),
    ("x86", {}, "4KSTACKS", "n"),
    ("x86", {}, "HAVE_ARCH_KASAN", "y"),
    ("x86", {"CONFIG_64BIT": "n"}, "HAVE_ARCH_KASAN", "n"),
    ("x86", {}, "KASAN_SHADOW_OFFSET", None),
    ("x86", KASAN, "KASAN_SHADOW_OFFSET", "0xdffffc0000000000"),
    ("x86", {}, "PHYSICAL_START", "0x1000000"),
    ("x86", {}, "NR_CPUS", "1"),
    ("x86", {"CONFIG_SMP": "y"}, "NR_CPUS", "64"),
]


def row_id(row: tuple) -> str:
    tree, config, wanted, _ = row
    setting = ",".join(f"{k.removeprefix('CONFIG_')}={v}" for k, v in config.items())
    return f"{tree}-{wanted}" + (f"-{setting}" if setting else "")


# --- building trees --------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A symbolic link in a tree, to ``target`` as written."""

    target: str


Files = dict[str, "str | Link"]


def tree_files(name: str) -> Files:
    root = TREES / name
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def make_repo(path: Path, branches: dict[str, Files]) -> Path:
    """A bare repository with one commit per branch, written by ``git fast-import``."""
    stream = bytearray()
    for branch, files in branches.items():
        stream += f"commit refs/heads/{branch}\n".encode() + b"committer " + IDENTITY + b"\n"
        stream += _data(branch.encode()) + b"deleteall\n"
        for name, content in sorted(files.items()):
            mode, body = (
                (b"120000", content.target) if isinstance(content, Link) else (b"100644", content)
            )
            stream += b"M " + mode + b" inline " + name.encode() + b"\n" + _data(body.encode())
        stream += b"\n"
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(path.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", "init", "-q", "--bare", str(path)], env=env, check=True)
    subprocess.run(
        ["git", f"--git-dir={path}", "fast-import", "--quiet", "--date-format=raw"],
        input=bytes(stream),
        env=env,
        check=True,
        capture_output=True,
    )
    return path


def write_tree(root: Path, files: Files) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            path.symlink_to(content.target)
        else:
            path.write_text(content)
    return root


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory) -> Iterator[GitObjects]:
    path = tmp_path_factory.mktemp("kconfig-git") / "trees.git"
    make_repo(path, {name: tree_files(name) for name in ("arm64", "powerpc", "x86")})
    with GitObjects(path) as objects:
        yield objects


@pytest.fixture(params=["directory", "git"])
def opened(request, tmp_path) -> Iterator[Callable[[Files], Tree]]:
    """Open a tree given as text, as a directory or as a git revision."""
    repos: list[GitObjects] = []

    def open_tree(files: Files) -> Tree:
        if request.param == "directory":
            return DirectoryTree(write_tree(tmp_path / "tree", files))
        objects = GitObjects(make_repo(tmp_path / f"repo{len(repos)}.git", {"main": files}))
        repos.append(objects)
        return objects.resolve("main")

    yield open_tree
    for objects in repos:
        objects.close()


def fixture_tree(mode: str, name: str, fixture_repo: GitObjects) -> Tree:
    return DirectoryTree(TREES / name) if mode == "directory" else fixture_repo.resolve(name)


def line_of(name: str, path: str, text: str) -> int:
    lines = (TREES / name / path).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.strip() == text)


def values(tree: Tree, wanted: str, config: dict[str, str] | None = None, srcarch: str = "fixture"):
    found = kconfig_values(tree, srcarch, config or {}, [wanted])
    assert found is not None
    return found


# --- the fixture trees -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["directory", "git"])
@pytest.mark.parametrize(("tree", "config", "wanted", "expected"), ROWS, ids=map(row_id, ROWS))
def test_fixture_tree_values(fixture_repo, mode, tree, config, wanted, expected):
    found = kconfig_values(fixture_tree(mode, tree, fixture_repo), tree, config, [wanted])
    assert found is not None
    got = found.get(f"CONFIG_{wanted}")
    assert (got.value if got else None) == expected, (got, found.warnings)


# (tree, config, wanted, reason, file, the line that decided)
REASONS = [
    ("powerpc", PPC64, "THREAD_SHIFT", "default 14 if PPC64 (PPC64=y)",
     "arch/powerpc/Kconfig", "default 14 if PPC64"),
    ("powerpc", {**PPC64, "CONFIG_PPC_256K_PAGES": "y"}, "THREAD_SHIFT",
     "default 15 if PPC_256K_PAGES (PPC_256K_PAGES=y)",
     "arch/powerpc/Kconfig", "default 15 if PPC_256K_PAGES"),
    ("powerpc", {}, "THREAD_SHIFT", "default 13", "arch/powerpc/Kconfig", "default 13"),
    ("powerpc", {"CONFIG_THREAD_SHIFT": "15"}, "THREAD_SHIFT", "set by the config",
     "arch/powerpc/Kconfig", "config THREAD_SHIFT"),
    ("powerpc", PPC64, "PPC_64K_PAGES",
     "default PPC_64K_PAGES if PPC_BOOK3S_64 (PPC_BOOK3S_64=y)",
     "arch/powerpc/Kconfig", "default PPC_64K_PAGES if PPC_BOOK3S_64"),
    ("arm64", {}, "ARM64_PAGE_SHIFT", "default 12", "arch/arm64/Kconfig", "default 12"),
    ("arm64", {}, "ARM64_4K_PAGES", "default ARM64_4K_PAGES",
     "arch/arm64/Kconfig", "default ARM64_4K_PAGES"),
    ("arm64", {}, "ARM64_64K_PAGES", "the choice picks ARM64_4K_PAGES",
     "arch/arm64/Kconfig", "default ARM64_4K_PAGES"),
    ("arm64", {}, "HAVE_ARCH_VMAP_STACK", "selected by ARM64 (ARM64=y)",
     "arch/arm64/Kconfig", "select HAVE_ARCH_VMAP_STACK"),
    ("arm64", {}, "KASAN_GENERIC", "choice depends on KASAN (KASAN=n)",
     "lib/Kconfig.kasan", "choice"),
    ("arm64", KASAN, "VMAP_STACK",
     "depends on !KASAN || KASAN_HW_TAGS || KASAN_VMALLOC "
     "(KASAN=y, KASAN_HW_TAGS=n, KASAN_VMALLOC=n)",
     "init/Kconfig", "config VMAP_STACK"),
    ("x86", {}, "SRCARCH", 'option env="SRCARCH"', "Kconfig", 'option env="SRCARCH"'),
    ("x86", {}, "64BIT", 'default ARCH != "i386" (ARCH=x86)',
     "arch/x86/Kconfig", 'default ARCH != "i386"'),
]  # fmt: skip


@pytest.mark.parametrize(("tree", "config", "wanted", "reason", "path", "line"), REASONS)
def test_reason_and_place(fixture_repo, tree, config, wanted, reason, path, line):
    for mode in ("directory", "git"):
        found = kconfig_values(fixture_tree(mode, tree, fixture_repo), tree, config, [wanted])
        assert found is not None
        got = found[f"CONFIG_{wanted}"]
        assert isinstance(got, KconfigValue)
        assert (got.symbol, got.reason, got.path) == (f"CONFIG_{wanted}", reason, path)
        assert got.line == line_of(tree, path, line)


def test_files_are_read_in_kconfig_order_and_warnings_are_data(fixture_repo):
    for tree in (DirectoryTree(TREES / "arm64"), fixture_repo.resolve("arm64")):
        found = kconfig_values(tree, "arm64", {}, ["ARM64_PAGE_SHIFT", "ARM64_VA_BITS"])
        assert isinstance(found, KconfigValues)
        assert found.files == [
            "Kconfig",
            "scripts/Kconfig.include",
            "init/Kconfig",
            "arch/arm64/Kconfig",
            "arch/Kconfig",
            "lib/Kconfig.kasan",
        ]
        assert [w for w in found.warnings if "$(shell" not in w] == []
        assert any("$(shell,...) not run" in w for w in found.warnings)


def test_unset_int_is_missing_with_a_warning_that_says_why():
    found = kconfig_values(DirectoryTree(TREES / "x86"), "x86", {}, ["KASAN_SHADOW_OFFSET"])
    assert found is not None and "CONFIG_KASAN_SHADOW_OFFSET" not in found
    assert any(
        "CONFIG_KASAN_SHADOW_OFFSET has no value: depends on KASAN (KASAN=n)" in w
        for w in found.warnings
    )


def test_wanted_and_config_accept_names_without_prefix():
    found = kconfig_values(
        DirectoryTree(TREES / "powerpc"),
        "powerpc",
        {"PPC64": "y"},
        ["CONFIG_THREAD_SHIFT", "THREAD_SHIFT"],
    )
    assert found is not None and list(found) == ["CONFIG_THREAD_SHIFT"]
    assert found["CONFIG_THREAD_SHIFT"].value == "14"


# --- expressions -------------------------------------------------------------------

EXPRESSIONS = [
    ("A", {"A": "y"}, "y"),
    ("A", {}, "n"),
    ("!A", {}, "y"),
    ("!A", {"A": "y"}, "n"),
    ("A && B", {"A": "y"}, "n"),
    ("A && B", {"A": "y", "B": "y"}, "y"),
    ("A || B", {"B": "y"}, "y"),
    ("A || B", {}, "n"),
    ("!(A || B)", {}, "y"),
    ("(A || B) && !C", {"A": "y", "C": "y"}, "n"),
    ("(A || B) && !C", {"A": "y"}, "y"),
    ("A && (B || (C && !D))", {"A": "y", "C": "y"}, "y"),
    ("A && (B || (C && !D))", {"A": "y", "C": "y", "D": "y"}, "n"),
    ("A || B && C", {"A": "y"}, "y"),  # && binds tighter
    ("!A = y", {"A": "y"}, "n"),  # ! applies to the comparison
    ("A = y", {"A": "y"}, "y"),
    ("A = n", {}, "y"),
    ("A != y", {}, "y"),
    ("M", {"M": "m"}, "y"),  # m counts as y
    ("M = y", {"M": "m"}, "y"),
    ("m", {}, "y"),
    ("y", {}, "y"),
    ("n", {}, "n"),
    ("N = 12", {"N": "12"}, "y"),
    ("N != 12", {"N": "12"}, "n"),
    ("N < 13", {"N": "12"}, "y"),
    ("N > 9", {"N": "12"}, "y"),  # numbers, not text: "12" < "9"
    ("N <= 0x10", {"N": "17"}, "n"),
    ("N >= 0x10", {"N": "16"}, "y"),
    ("N = 16", {}, "y"),  # N's own default
    ('S = "x86"', {"S": '"x86"'}, "y"),
    ('S != "x86"', {"S": "arm64"}, "y"),
    ("UNDEFINED", {}, "n"),
    ("!UNDEFINED", {}, "y"),
    ('"$(SRCARCH)" = "fixture"', {}, "y"),
    ("$(ARCH) = fixture", {}, "y"),
    ('"$(SRCARCH)" = "x86"', {}, "n"),
    ("$(undefined-macro)", {}, "n"),
]


@pytest.mark.parametrize(("expr", "config", "expected"), EXPRESSIONS)
def test_expression(opened, expr, config, expected):
    tree = opened(
        {
            "Kconfig": (
                "config A\n\tbool\nconfig B\n\tbool\nconfig C\n\tbool\nconfig D\n\tbool\n"
                "config M\n\ttristate\nconfig S\n\tstring\n"
                "config N\n\tint\n\tdefault 16\n"
                f"config T\n\tbool\n\tdefault y if {expr}\n"
            )
        }
    )
    found = values(tree, "T", {f"CONFIG_{k}": v for k, v in config.items()})
    assert found["CONFIG_T"].value == expected, found.warnings


# --- smaller trees from strings: language corners ------------------------------------

CORNERS = [
    # (what, Kconfig text, config, wanted, expected)
    ("first definition's default wins",
     "config X\n\tint\n\tdefault 1 if A\nconfig X\n\tint\n\tdefault 2\nconfig A\n\tdef_bool y\n",
     {}, "X", "1"),
    ("a definition whose deps fail is skipped",
     "config X\n\tint\n\tdepends on A\n\tdefault 1\n"
     "config X\n\tint\n\tdefault 2\nconfig A\n\tbool\n",
     {}, "X", "2"),
    ("range clamps a default", "config X\n\tint\n\trange 13 15\n\tdefault 16\n", {}, "X", "15"),
    ("range with a condition", "config X\n\tint\n\trange 1 4 if A\n\tdefault 8\nconfig A\n\tbool\n",
     {}, "X", "8"),
    ("a range alone gives its low end", "config X\n\tint \"X\"\n\trange 3 9\n", {}, "X", "3"),
    # make writes no value for one without a prompt (6.12's BCH_CONST_M)
    ("a range alone, no prompt: no value", "config X\n\tint\n\trange 3 9\n", {}, "X", None),
    ("hex range clamps", "config X\n\thex\n\trange 0x10 0x20\n\tdefault 0x40\n", {}, "X", "0x20"),
    ("an int default may name an int",
     "config BASE\n\tint\n\tdefault 14\nconfig X\n\tint\n\tdefault BASE\n", {}, "X", "14"),
    ("def_bool with a condition",
     "config X\n\tdef_bool A || B if C\n"
     "config A\n\tdef_bool y\nconfig B\n\tbool\nconfig C\n\tbool\n",
     {"C": "y"}, "X", "y"),
    ("def_bool with a false condition",
     "config X\n\tdef_bool A if C\nconfig A\n\tdef_bool y\nconfig C\n\tbool\n", {}, "X", "n"),
    ("select raises a bool past its default",
     "config X\n\tbool\nconfig A\n\tdef_bool y\n\tselect X\n", {}, "X", "y"),
    ("select ignores the target's dependencies",
     "config X\n\tbool\n\tdepends on NEVER\nconfig A\n\tdef_bool y\n\tselect X\n", {}, "X", "y"),
    ("select with a false condition",
     "config X\n\tbool\nconfig A\n\tdef_bool y\n\tselect X if B\nconfig B\n\tbool\n", {}, "X", "n"),
    ("imply raises a bool",
     "config X\n\tbool \"x\"\nconfig A\n\tdef_bool y\n\timply X\n", {}, "X", "y"),
    ("imply respects dependencies",
     "config X\n\tbool\n\tdepends on NEVER\nconfig A\n\tdef_bool y\n\timply X\n", {}, "X", "n"),
    ("if blocks nest",
     "config A\n\tdef_bool y\nif A\nif B\nconfig X\n\tint\n\tdefault 1\nendif\nendif\n"
     "config X\n\tint\n\tdefault 2\nconfig B\n\tbool\n", {}, "X", "2"),
    ("menu dependencies reach the entries",
     'menu "m"\n\tdepends on B\nconfig X\n\tdef_bool y\nendmenu\nconfig B\n\tbool\n', {}, "X", "n"),
    ("a comment's dependencies do not",
     'comment "c"\n\tdepends on B\nconfig X\n\tdef_bool y\nconfig B\n\tbool\n', {}, "X", "y"),
    ("a choice without a default picks its first visible member",
     'choice\n\tprompt "p"\nconfig P\n\tbool "p"\n\tdepends on NEVER\nconfig Q\n\tbool "q"\n'
     "endchoice\n", {}, "Q", "y"),
    ("an optional choice picks nothing",
     'choice\n\tprompt "p"\n\toptional\nconfig P\n\tbool "p"\nendchoice\n', {}, "P", "n"),
    ("a choice default that is not visible is passed over",
     'choice\n\tprompt "p"\n\tdefault P\n\tdefault Q\nconfig P\n\tbool "p"\n\tdepends on NEVER\n'
     'config Q\n\tbool "q"\nconfig R\n\tbool "r"\nendchoice\n', {}, "Q", "y"),
    ("line continuation", "config X\n\tint\n\tdefault 7 \\\n\t\tif A\nconfig A\n\tdef_bool y\n",
     {}, "X", "7"),
    ("a comment after a default",
     "config X\n\tint\n\tdefault 5 # not 6\n", {}, "X", "5"),
    ("macros: simple, recursive, append, user functions",
     "one := 1\ntwo = $(one)2\nmore := $(two)\nmore += 3\npick = $(2)\n"
     "config X\n\tstring\n\tdefault \"$(more)-$(pick,a,b)-$(filename)\"\n",
     {}, "X", "12 3-b-Kconfig"),
    ("old-style depends without on (2.6 era)",
     "config X\n\tbool\n\tdefault y\n\tdepends B\nconfig B\n\tbool\n", {}, "X", "n"),
    ("a mutual dependency settles at n",
     "config X\n\tbool\n\tdefault y if Y\nconfig Y\n\tbool\n\tdefault y if X\n", {}, "X", "n"),
    ("2.6-era enable is select",
     "config X\n\tbool\nconfig A\n\tdef_bool y\n\tenable X\n", {}, "X", "y"),
    ("a select loop settles",
     "config X\n\tdef_bool y\n\tselect Y\nconfig Y\n\tbool\n\tselect X\n", {}, "Y", "y"),
    ("a long chain of defaults is decided dependencies first",
     "".join(f"config S{i}\n\tdef_bool S{i + 1}\n" for i in range(300))
     + "config S300\n\tdef_bool y\n",
     {}, "S0", "y"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "config", "wanted", "expected"), [c[1:] for c in CORNERS], ids=[c[0] for c in CORNERS]
)
def test_language_corner(opened, text, config, wanted, expected):
    found = values(opened({"Kconfig": text}), wanted, {f"CONFIG_{k}": v for k, v in config.items()})
    got = found.get(f"CONFIG_{wanted}")
    assert (got.value if got else None) == expected, found.warnings


def test_unbalanced_blocks_are_warnings(opened):
    tree = opened({"Kconfig": "endmenu\nif A\nconfig X\n\tdef_bool y\n", "arch/x/Kconfig": ""})
    found = values(tree, "X", {"CONFIG_A": "y"})
    assert found["CONFIG_X"].value == "y"
    assert any("endmenu without menu" in w for w in found.warnings)
    assert any("left open at the end" in w for w in found.warnings)


# --- safety: no command ever runs ----------------------------------------------------

SHELL_PLACES = {
    "int default": "config X\n\tint\n\tdefault $(shell, touch {m})\n",
    "string default": 'config X\n\tstring\n\tdefault "$(shell,touch {m})"\n',
    "def_bool": "config X\n\tdef_bool $(shell, touch {m})\n",
    "depends on": "config X\n\tbool\n\tdepends on $(shell,touch {m})\n",
    "select": "config X\n\tbool\n\tselect $(shell,touch {m})\n",
    "range": "config X\n\tint\n\trange $(shell,touch {m}) 9\n",
    "prompt": 'config X\n\tbool "$(shell,touch {m})"\n',
    "if block": "if $(shell,touch {m})\nconfig X\n\tbool\nendif\n",
    "source": 'source "$(shell, touch {m})/Kconfig"\n',
    "source, old style": 'source "$(shell,touch {m})$SRCARCH/Kconfig"\n',
    "rsource": 'rsource "$(shell,touch {m})"\n',
    "mainmenu": 'mainmenu "$(shell,touch {m})"\n',
    "simple assignment": "X := $(shell, touch {m})\n",
    "recursive assignment, used": 'X = $(shell,touch {m})\nY := $(X)\nconfig X\n\tbool "$(X)"\n',
    "append": "X := a\nX += $(shell,touch {m})\n",
    "user function": "run = $(shell,$(1))\nok := $(run,touch {m})\n",
    "Kconfig.include helpers": (
        'if-success = $(shell,{{ $(1); }} >/dev/null 2>&1 && echo "$(2)" || echo "$(3)")\n'
        "success = $(if-success,$(1),y,n)\n"
        "config X\n\tdef_bool $(success,touch {m})\n"
    ),
    "info": "$(info,$(shell,touch {m}))\n",
    "warning-if": "$(warning-if,y,$(shell,touch {m}))\n",
    "error-if": "$(error-if,y,$(shell,touch {m}))\n",
    "variable name": "$(shell,touch {m}) := 1\n",
    "option env": 'config X\n\tstring\n\toption env="$(shell,touch {m})"\n',
    "backquotes": 'config X\n\tstring\n\tdefault "`touch {m}`"\n',
    "help text": "config X\n\tbool\n\thelp\n\t  $(shell,touch {m})\n",
    "comment line": "# $(shell,touch {m})\nconfig X\n\tbool # $(shell,touch {m})\n",
}


@pytest.mark.parametrize("place", sorted(SHELL_PLACES))
def test_shell_never_runs(opened, tmp_path, place):
    marker = tmp_path / "MARKER"
    text = SHELL_PLACES[place].format(m=marker)
    tree = opened({"Kconfig": text, "sub/Kconfig": text, "arch/fixture/Kconfig": text})
    found = values(tree, "X")
    assert not marker.exists()
    if "$(shell" in text and place not in ("help text", "comment line"):
        assert any("$(shell,...) not run" in w for w in found.warnings)


def test_a_hostile_srcarch_is_text(opened, tmp_path):
    marker = tmp_path / "MARKER"
    tree = opened({"Kconfig": 'source "arch/$(SRCARCH)/Kconfig"\nsource "arch/$SRCARCH/x"\n'})
    for srcarch in (f"$(shell,touch {marker})", f"x; touch {marker}", f"`touch {marker}`"):
        assert kconfig_values(tree, srcarch, {}, ["X"]) is not None
    assert not marker.exists()


def test_the_environment_is_never_read(opened, tmp_path, monkeypatch):
    outside = write_tree(tmp_path / "outside", {"Kconfig": "config LEAK\n\tdef_bool y\n"})
    monkeypatch.setenv("FIXTURE_DIR", str(outside))
    monkeypatch.setenv("SRCARCH", "leak")
    tree = opened(
        {
            "Kconfig": 'source "$(FIXTURE_DIR)/Kconfig"\nosource "$FIXTURE_DIR/Kconfig"\n'
            'config ARCHNAME\n\tstring\n\tdefault "$(SRCARCH)"\n',
        }
    )
    found = kconfig_values(tree, "fixture", {}, ["LEAK", "ARCHNAME"])
    assert found is not None and "CONFIG_LEAK" not in found
    assert found["CONFIG_ARCHNAME"].value == "fixture"


KCONFIG_MODULES = ["kconfig", "kconfig_entries", "kconfig_read", "kconfig_eval", "kconfig_files"]


@pytest.mark.parametrize("module", KCONFIG_MODULES)
def test_the_module_cannot_start_processes(module):
    source = Path(kconfig_module.__file__).with_name(f"{module}.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "collections", "dataclasses", "functools", "operator",
                        "posixpath", "re", "time", "typing"}  # fmt: skip
    for word in ("subprocess", "popen", "system(", "exec(", "eval(", "import_module"):
        assert word not in source.lower()


# --- sources: cycles, escapes, missing files, bounds -----------------------------------


def test_source_cycle_is_a_warning(opened):
    tree = opened(
        {
            "Kconfig": 'source "a/Kconfig"\nsource "Kconfig"\n',
            "a/Kconfig": 'config A\n\tdef_bool y\nsource "b/Kconfig"\n',
            "b/Kconfig": 'rsource "../a/Kconfig"\nconfig B\n\tint\n\tdefault 7\n',
        }
    )
    found = kconfig_values(tree, "fixture", {}, ["A", "B"])
    assert found is not None
    assert (found["CONFIG_A"].value, found["CONFIG_B"].value) == ("y", "7")
    assert any("cycle a/Kconfig -> b/Kconfig -> a/Kconfig" in w for w in found.warnings)
    assert any("cycle Kconfig -> Kconfig" in w for w in found.warnings)


ESCAPES = {
    "dot-dot": 'source "../../outside/Kconfig"\n',
    "rsource dot-dot": 'rsource "sub/../../outside/Kconfig"\n',
    "absolute": 'source "{outside}/Kconfig"\n',
    "srctree prefix": 'source "$(srctree)/../outside/Kconfig"\n',
    "link out": 'source "arch/fixture/Kconfig"\n',
}


@pytest.mark.parametrize("how", sorted(ESCAPES))
def test_escape_is_ignored_with_a_warning(opened, tmp_path, how):
    outside = write_tree(
        tmp_path / "outside",
        {"Kconfig": "config LEAK\n\tdef_bool y\nconfig SAFE\n\tint\n\tdefault 99\n"},
    )
    tree = opened(
        {
            "Kconfig": ESCAPES[how].format(outside=outside) + "config SAFE\n\tint\n\tdefault 1\n",
            "arch/fixture/Kconfig": Link(str(outside / "Kconfig")),
        }
    )
    found = kconfig_values(tree, "fixture", {}, ["LEAK", "SAFE"])
    assert found is not None and "CONFIG_LEAK" not in found
    assert found["CONFIG_SAFE"].value == "1"
    assert any("leaves the tree" in w or "outside the tree" in w for w in found.warnings)


def test_missing_source_warns_and_osource_does_not(opened):
    tree = opened(
        {"Kconfig": 'source "gone/Kconfig"\nosource "also/gone"\nconfig X\n\tdef_bool y\n'}
    )
    found = values(tree, "X")
    assert found["CONFIG_X"].value == "y"
    assert [w for w in found.warnings if "no such file" in w] == [
        "Kconfig:1: source 'gone/Kconfig': no such file in the tree"
    ]


def test_bound_on_files(fixture_repo):
    with pytest.raises(LimitError, match="more than 2 Kconfig files"):
        kconfig_values(DirectoryTree(TREES / "arm64"), "arm64", {}, ["X"], max_files=2)
    with pytest.raises(LimitError, match="more than 2 Kconfig files"):
        kconfig_values(fixture_repo.resolve("arm64"), "arm64", {}, ["X"], max_files=2)


def test_bound_on_time():
    with pytest.raises(LimitError, match="more than 0 s"):
        kconfig_values(DirectoryTree(TREES / "arm64"), "arm64", {}, ["X"], max_seconds=0)


def test_bound_on_source_depth(opened):
    files: Files = {"Kconfig": 'source "d0/Kconfig"\n'}
    files |= {f"d{i}/Kconfig": f'source "d{i + 1}/Kconfig"\n' for i in range(40)}
    with pytest.raises(LimitError, match="nest deeper than 32"):
        kconfig_values(opened(files), "fixture", {}, ["X"])


MACRO_BOMBS = {
    "self reference": "X = $(X)\nY := $(X)\n",
    "doubling": "A0 = xxxxxxxx\n"
    + "".join(f"A{i + 1} = $(A{i})$(A{i})\n" for i in range(40))
    + "B := $(A40)\n",
    "unbalanced": "Y := $(info,\n",
    "deep parentheses": "config Y\n\tdef_bool " + "(" * 500 + "A" + ")" * 500 + "\n",
}  # fmt: skip


@pytest.mark.parametrize("bomb", sorted(MACRO_BOMBS))
def test_macro_and_expression_bombs_are_warnings(opened, bomb):
    text = MACRO_BOMBS[bomb] + "config X\n\tint\n\tdefault 3\n"
    start = time.monotonic()
    # Y is asked for too: an entry's expressions are parsed only when it matters
    found = kconfig_values(opened({"Kconfig": text}), "fixture", {}, ["X", "Y"])
    assert time.monotonic() - start < 5
    assert found is not None and found["CONFIG_X"].value == "3"
    assert found.warnings


# --- trees without Kconfig -------------------------------------------------------------


def test_no_kconfig_is_none(opened):
    headers = opened({"include/linux/sizes.h": "#define SZ_4K 0x1000\n", "Kconfig.d/x": ""})
    assert kconfig_values(headers, "x86", {}, ["PAGE_SHIFT"]) is None


def test_before_the_root_kconfig_the_arch_file_is_the_root(opened):
    # until 2.6.24 the build started from arch/$ARCH/Kconfig; there was no root Kconfig
    tree = opened(
        {
            "arch/i386/Kconfig": 'config X86\n\tdef_bool y\nsource "arch/i386/Kconfig.cpu"\n',
            "arch/i386/Kconfig.cpu": "config X86_L1_CACHE_SHIFT\n\tint\n\tdefault 7\n",
        }
    )
    assert kconfig_values(tree, "x86_64", {}, ["X86"]) is None
    found = kconfig_values(tree, "i386", {}, ["X86_L1_CACHE_SHIFT"])
    assert found is not None and found["CONFIG_X86_L1_CACHE_SHIFT"].value == "7"


# --- a tree the size of a kernel's ------------------------------------------------------


def big_tree(files: int = 1500, entries: int = 12) -> Files:
    """``files`` Kconfig files with ``entries`` symbols each, help text and a few macros."""
    helpers = SHELL_PLACES["Kconfig.include helpers"].format(m="/nonexistent/x")
    root = ['source "scripts/Kconfig.include"\n']
    tree: Files = {"scripts/Kconfig.include": helpers}
    for number in range(files):
        path = f"drivers/d{number % 40}/s{number}/Kconfig"
        root.append(f'source "{path}"\n')
        body = []
        for entry in range(entries):
            name = f"D{number}_{entry}"
            body.append(
                f'config {name}\n\ttristate "Driver {name}"\n\tdepends on D{number}_0 || PCI\n'
                f"\tdefault m if PCI\n\tselect CRC32 if {name}_EXTRA\n"
                + ("\tdepends on $(success,true)\n" if entry == 0 else "")
                + "\thelp\n\t  A driver.\n\t  It does things.\n\n\t  More text.\n\n"
            )
        tree[path] = "".join(body)
    root.append("config PCI\n\tdef_bool y\nconfig THREAD_SHIFT\n\tint\n\tdefault 14 if PCI\n")
    tree["Kconfig"] = "".join(root)
    return tree


def test_a_kernel_sized_tree_is_read_within_the_bounds(opened):
    tree = opened(big_tree())
    start = time.monotonic()
    found = kconfig_values(tree, "fixture", {}, ["THREAD_SHIFT", "D1499_11", "D1499_0"])
    elapsed = time.monotonic() - start
    assert found is not None and len(found.files) == 1502
    assert found["CONFIG_THREAD_SHIFT"].value == "14"
    assert found["CONFIG_D1499_0"].value == "n"  # $(success,...) ran nothing: n
    assert found["CONFIG_D1499_11"].value == "y"  # default m, and m counts as y
    assert elapsed < 8, elapsed


def test_a_loop_that_never_settles_is_a_warning(opened):
    tree = opened(
        {"Kconfig": "config X\n\tbool\n\tdefault y if !X\nconfig Y\n\tint\n\tdefault 4\n"}
    )
    found = kconfig_values(tree, "fixture", {}, ["X", "Y"])
    assert found is not None and found["CONFIG_Y"].value == "4"
    assert found["CONFIG_X"].value in ("y", "n")
    assert any("did not settle in 16 rounds" in w for w in found.warnings)


# --- the same rows through kconfiglib, when it is installed --------------------------------

# Trees with no $(shell,...) only: kconfiglib would run it. Rows where the config
# sets a symbol that Kconfig would not let it set are left out: kconfiglib drops
# such a value (an int without a prompt, PPC_256K_PAGES on PPC64), and kstack
# keeps what the config says, because the config is what the headers will see.
IMPOSSIBLE = {"PPC64=y,PPC_256K_PAGES=y"}
DIFFERENTIAL = [
    r
    for r in ROWS
    if r[0] != "arm64"
    and f"CONFIG_{r[2]}" not in r[1]
    and row_id(r).split("-", 2)[-1] not in IMPOSSIBLE
]


@pytest.mark.parametrize(("tree", "config", "wanted", "expected"), DIFFERENTIAL)
def test_kconfiglib_agrees(monkeypatch, tree, config, wanted, expected):
    kconfiglib = pytest.importorskip("kconfiglib")
    monkeypatch.chdir(TREES / tree)
    for name in ("srctree", "KCONFIG_FUNCTIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SRCARCH", tree)
    monkeypatch.setenv("ARCH", tree)
    reference = kconfiglib.Kconfig("Kconfig", warn=False)
    for name, value in config.items():
        reference.syms[name.removeprefix("CONFIG_")].set_value(value)
    symbol = reference.syms.get(wanted)
    theirs = symbol.str_value if symbol is not None and symbol.nodes else ""
    ours = kconfig_values(DirectoryTree(TREES / tree), tree, config, [wanted])
    assert ours is not None
    mine = ours.get(f"CONFIG_{wanted}")
    assert (mine.value if mine else "") == theirs


# --- make's ARCH, as Kconfig of each era saw it -----------------------------------

#: 2.6.24's unified x86 (our words): 64BIT reads ARCH, which no file defines
BARE_ARCH = (
    'config 64BIT\n\tbool "64-bit kernel" if ARCH = "x86"\n\tdefault ARCH = "x86_64"\n'
    "config X86_32\n\tdef_bool !64BIT\n"
)
#: 2.6.25 to 4.17: init/Kconfig defines it from the environment
ENV_ARCH = 'config ARCH\n\tstring\n\toption env="ARCH"\n' + BARE_ARCH
#: a file that defines ARCH itself: its own default, whatever make's is
OWN_ARCH = 'config ARCH\n\tstring\n\tdefault "i386"\n' + BARE_ARCH

# (id, the root Kconfig, make's ARCH, 64BIT, X86_32)
ARCH_ROWS = [
    ("before 2.6.25, Kconfig defined ARCH itself: x86_64", BARE_ARCH, "x86_64", "y", "n"),
    ("before 2.6.25: i386", BARE_ARCH, "i386", "n", "y"),
    ("option env=ARCH: x86_64", ENV_ARCH, "x86_64", "y", "n"),
    ("option env=ARCH: i386", ENV_ARCH, "i386", "n", "y"),
    ("a file's own ARCH wins", OWN_ARCH, "x86_64", "n", "y"),
]


@pytest.mark.parametrize("opened", ["directory", "git"], indirect=True)
@pytest.mark.parametrize(
    ("root", "make_arch", "bits64", "x86_32"),
    [r[1:] for r in ARCH_ROWS],
    ids=[r[0] for r in ARCH_ROWS],
)
def test_make_arch_as_each_era_saw_it(opened, root, make_arch, bits64, x86_32):
    tree = opened({"Kconfig": root})
    found = kconfig_module.alldefconfig(
        tree, "x86", make_arch=make_arch, wanted=["64BIT", "X86_32"]
    )
    assert (found["CONFIG_64BIT"].value, found["CONFIG_X86_32"].value) == (bits64, x86_32)
    if root is BARE_ARCH:  # the reason shows what ARCH read
        assert f"ARCH={make_arch}" in found["CONFIG_X86_32"].reason + found["CONFIG_64BIT"].reason


# --- a choice's own prompt: hidden, it picks nothing ------------------------------------

CHOICE = (
    'config CMDLINE\n\tstring "line"\n\tdefault "{line}"\n'
    "choice\n\t{prompt}\n\tdefault FROM_BOOT\n"
    'config FROM_BOOT\n\tbool "boot"\nconfig FORCE\n\tbool "force"\nendchoice\n'
)
#: the tree's own Kconfig tool, as kstack tells its rule: before 6.11 a hidden
#: choice picked nothing, since then it picks its default (the signature differs)
TOOL = {
    "6.10": {
        "scripts/kconfig/symbol.c": "static struct symbol *sym_calc_choice(struct symbol *sym);\n"
    },
    "6.11": {"scripts/kconfig/symbol.c": "struct symbol *sym_calc_choice(struct menu *choice);\n"},
    "a 6.12 Makefile": {"Makefile": "VERSION = 6\nPATCHLEVEL = 12\n"},
    "a 2.6 Makefile": {"Makefile": "VERSION = 2\nPATCHLEVEL = 6\n"},
}
HIDDEN = 'prompt "type" if CMDLINE != ""'
# (id, the line's default, the choice's prompt line, the tool, FROM_BOOT, FORCE)
CHOICE_ROWS = [
    ("its prompt shows: the default member", "x", HIDDEN, "6.10", "y", "n"),
    # arm's "Kernel command line type" from 2.6.3x: its conf leaves every member n
    ("its prompt is hidden: no member", "", HIDDEN, "6.10", "n", "n"),
    ("a type's prompt, hidden", "", 'bool "type" if CMDLINE != ""', "6.10", "n", "n"),
    ("a prompt with no condition", "", 'prompt "type"', "6.10", "y", "n"),
    ("a type alone is no prompt: hidden", "", "bool", "6.10", "n", "n"),
    ("the version from the Makefile, before 6.11", "", HIDDEN, "a 2.6 Makefile", "n", "n"),
    # x86's "Memory split" if EXPERT: 6.12's make alldefconfig gives VMSPLIT_3G
    ("since 6.11 a hidden prompt still picks the default", "", HIDDEN, "6.11", "y", "n"),
    ("the version from the Makefile, 6.12", "", HIDDEN, "a 6.12 Makefile", "y", "n"),
]


@pytest.mark.parametrize("opened", ["directory", "git"], indirect=True)
@pytest.mark.parametrize(
    ("line", "prompt", "tool", "boot", "force"),
    [r[1:] for r in CHOICE_ROWS],
    ids=[r[0] for r in CHOICE_ROWS],
)
def test_a_hidden_choice_picks_by_the_trees_kconfig(opened, line, prompt, tool, boot, force):
    tree = opened({"Kconfig": CHOICE.format(line=line, prompt=prompt), **TOOL[tool]})
    found = kconfig_module.alldefconfig(
        tree, "x86", make_arch="x86_64", wanted=["FROM_BOOT", "FORCE"]
    )
    values = (found["CONFIG_FROM_BOOT"].value, found["CONFIG_FORCE"].value)
    assert values == (boot, force)
    if boot == "n":
        assert "hidden" in found["CONFIG_FROM_BOOT"].reason
