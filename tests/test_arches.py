"""The arch table, row by row, on tiny hand-written trees.

In: header trees written here from KERNEL-FACTS.md (no kernel text), one per
era that matters, and the table's own profiles. Out: the values the facts say a
build gets: arm64 16 KiB by default, doubled by generic or software-tag KASAN
but never by hardware tags, raised to the page size on 64 KiB pages with
VMAP_STACK; OVERFLOW_STACK_SIZE reached through the generated ``asm/sizes.h``
wrapper in the 4.14-5.0 layout; and the ``#if`` arithmetic on macros
(``MIN_THREAD_SHIFT < PAGE_SHIFT``) evaluated after expansion.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import extractor
from extractor import ARCHES, PROFILES, DirectoryTree, make_config
from extractor.scan import analyse

# ---------------------------------------------------------------- the trees

_CONST = """\
#ifndef _KS_UAPI_CONST_H
#define _KS_UAPI_CONST_H
#ifdef __ASSEMBLY__
#define _AC(X, Y) X
#else
#define __AC(X, Y) (X##Y)
#define _AC(X, Y) __AC(X, Y)
#endif
#define _UL(x) (_AC(x, UL))
#endif
"""
_COMMON = {
    "include/linux/kconfig.h": "#include <generated/autoconf.h>\n",
    "include/uapi/linux/const.h": _CONST,
    "include/linux/const.h": "#include <uapi/linux/const.h>\n#define UL(x) (_UL(x))\n",
    "include/linux/sizes.h": "#define SZ_4K 0x00001000\n#define SZ_16K 0x00004000\n",
}

#: arm64 from 5.11 on: THREAD_SIZE in asm/memory.h, the doubling tests the KASAN
#: mode, linux/sizes.h included directly, PAGE_SHIFT from CONFIG_PAGE_SHIFT (6.9+)
_ARM64_MEMORY = """\
#ifndef _KS_ARM64_MEMORY_H
#define _KS_ARM64_MEMORY_H
#include <linux/const.h>
#include <{sizes}>
#include <asm/page-def.h>

#if {kasan_test}
#define KASAN_THREAD_SHIFT 1
#else
#define KASAN_THREAD_SHIFT 0
#endif

#define MIN_THREAD_SHIFT (14 + KASAN_THREAD_SHIFT)

/* VMAP'd stacks are whole pages */
#if defined(CONFIG_VMAP_STACK) && (MIN_THREAD_SHIFT < PAGE_SHIFT)
#define THREAD_SHIFT PAGE_SHIFT
#else
#define THREAD_SHIFT MIN_THREAD_SHIFT
#endif

#if THREAD_SHIFT >= PAGE_SHIFT
#define THREAD_SIZE_ORDER (THREAD_SHIFT - PAGE_SHIFT)
#endif

#define THREAD_SIZE (UL(1) << THREAD_SHIFT)
#define IRQ_STACK_SIZE THREAD_SIZE
#define OVERFLOW_STACK_SIZE SZ_4K
#endif
"""
_ARM64_PAGE_DEF = """\
#ifndef _KS_ARM64_PAGE_DEF_H
#define _KS_ARM64_PAGE_DEF_H
#include <linux/const.h>
#define PAGE_SHIFT {page_shift}
#define PAGE_SIZE (_AC(1, UL) << PAGE_SHIFT)
#endif
"""
_ARM64_COMMON = {
    "arch/arm64/include/asm/page.h": "#include <asm/page-def.h>\n",
    "arch/arm64/include/asm/thread_info.h": "#include <asm/memory.h>\n",
}
TREES: dict[str, dict[str, str]] = {
    # 4.14-5.0: asm/sizes.h is generic-y, so only a generated wrapper leads to
    # asm-generic/sizes.h; the doubling tests CONFIG_KASAN; CONFIG_ARM64_PAGE_SHIFT
    "arm64-4.14": {
        **_COMMON,
        **_ARM64_COMMON,
        "include/asm-generic/sizes.h": "#include <linux/sizes.h>\n",
        "arch/arm64/include/asm/memory.h": _ARM64_MEMORY.format(
            sizes="asm/sizes.h", kasan_test="defined(CONFIG_KASAN)"
        ),
        "arch/arm64/include/asm/page-def.h": _ARM64_PAGE_DEF.format(
            page_shift="CONFIG_ARM64_PAGE_SHIFT"
        ),
    },
    "arm64-6.12": {
        **_COMMON,
        **_ARM64_COMMON,
        "arch/arm64/include/asm/memory.h": _ARM64_MEMORY.format(
            sizes="linux/sizes.h",
            kasan_test="defined(CONFIG_KASAN_GENERIC) || defined(CONFIG_KASAN_SW_TAGS)",
        ),
        "arch/arm64/include/asm/page-def.h": _ARM64_PAGE_DEF.format(page_shift="CONFIG_PAGE_SHIFT"),
    },
    # powerpc: THREAD_SHIFT from the Kconfig int, one more with KASAN below 15
    "powerpc-6.1": {
        **_COMMON,
        "arch/powerpc/include/asm/page.h": (
            "#include <linux/const.h>\n#define PAGE_SHIFT CONFIG_PPC_PAGE_SHIFT\n"
            "#define PAGE_SIZE (_AC(1, UL) << PAGE_SHIFT)\n"
        ),
        "arch/powerpc/include/asm/thread_info.h": (
            "#include <asm/page.h>\n"
            "#if defined(CONFIG_KASAN) && CONFIG_THREAD_SHIFT < 15\n"
            "#define MIN_THREAD_SHIFT (CONFIG_THREAD_SHIFT + 1)\n"
            "#else\n#define MIN_THREAD_SHIFT CONFIG_THREAD_SHIFT\n#endif\n"
            "#if defined(CONFIG_VMAP_STACK) && MIN_THREAD_SHIFT < PAGE_SHIFT\n"
            "#define THREAD_SHIFT PAGE_SHIFT\n"
            "#else\n#define THREAD_SHIFT MIN_THREAD_SHIFT\n#endif\n"
            "#define THREAD_SIZE (1 << THREAD_SHIFT)\n"
            "#define THREAD_SIZE_ORDER (THREAD_SHIFT - PAGE_SHIFT)\n"
        ),
    },
    # mips: the page header reaches <spaces.h>, which only asm/mach-generic has,
    # and the order is an #ifdef ladder on the page size and the word size
    "mips-6.1": {
        **_COMMON,
        "arch/mips/include/asm/mach-generic/spaces.h": "#define KS_FROM_MACH_GENERIC 1\n",
        "arch/mips/include/asm/page.h": (
            "#include <spaces.h>\n#include <linux/const.h>\n"
            "#ifdef CONFIG_PAGE_SIZE_4KB\n#define PAGE_SHIFT 12\n#endif\n"
            "#ifdef CONFIG_PAGE_SIZE_16KB\n#define PAGE_SHIFT 14\n#endif\n"
            "#define PAGE_SIZE (_AC(1, UL) << PAGE_SHIFT)\n"
        ),
        "arch/mips/include/asm/thread_info.h": (
            "#include <asm/page.h>\n"
            "#if defined(CONFIG_PAGE_SIZE_4KB) && defined(CONFIG_32BIT)\n"
            "#define THREAD_SIZE_ORDER (1)\n#endif\n"
            "#if defined(CONFIG_PAGE_SIZE_4KB) && defined(CONFIG_64BIT)\n"
            "#define THREAD_SIZE_ORDER (2)\n#endif\n"
            "#ifdef CONFIG_PAGE_SIZE_16KB\n#define THREAD_SIZE_ORDER (0)\n#endif\n"
            "#define THREAD_SIZE (PAGE_SIZE << THREAD_SIZE_ORDER)\n"
        ),
        "arch/mips/include/asm/irq.h": "#define IRQ_STACK_SIZE THREAD_SIZE\n",
    },
}


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    roots = {}
    for name, files in TREES.items():
        root = tmp_path_factory.mktemp(name)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        roots[name] = root
    return roots


def run(trees: dict[str, Path], tree: str, arch: str, profile: str, sets: tuple[str, ...] = ()):
    table = ARCHES[arch]
    config = make_config(profile, table, sets=sets, kconfig=table.kconfig_defaults)
    analysis = analyse(DirectoryTree(trees[tree]), table, config)
    assert analysis.result.error is None, analysis.result.error
    return analysis


# ------------------------------------------------------------ the values

ABSENT = None  # the revision does not define it under this config (an #if left it out)
KASAN = ("CONFIG_KASAN=y", "CONFIG_KASAN_GENERIC=y")
NO_VMAP = ("CONFIG_VMAP_STACK=n",)

# fmt: off
ROWS = [
    # tree, arch, profile, --set, {constant: value}
    ("arm64-6.12", "arm64", "default", (),
     {"THREAD_SIZE": 16384, "THREAD_SHIFT": 14, "THREAD_SIZE_ORDER": 2, "PAGE_SIZE": 4096,
      "IRQ_STACK_SIZE": 16384, "OVERFLOW_STACK_SIZE": 4096}),
    ("arm64-6.12", "arm64", "kasan", (),
     {"THREAD_SIZE": 32768, "MIN_THREAD_SHIFT": 15, "THREAD_SIZE_ORDER": 3}),
    ("arm64-6.12", "arm64", "kasan-sw-tags", (), {"THREAD_SIZE": 32768, "MIN_THREAD_SHIFT": 15}),
    # hardware tags never double the stack
    ("arm64-6.12", "arm64", "kasan-hw-tags", (), {"THREAD_SIZE": 16384, "MIN_THREAD_SHIFT": 14}),
    ("arm64-6.12", "arm64", "no-vmap-stack", (), {"THREAD_SIZE": 16384, "THREAD_SIZE_ORDER": 2}),
    ("arm64-6.12", "arm64", "16k-pages", (),
     {"THREAD_SIZE": 16384, "PAGE_SIZE": 16384, "THREAD_SIZE_ORDER": 0}),
    ("arm64-6.12", "arm64", "16k-pages", KASAN, {"THREAD_SIZE": 32768, "THREAD_SIZE_ORDER": 1}),
    ("arm64-6.12", "arm64", "16k-pages", NO_VMAP, {"THREAD_SIZE": 16384}),
    # 64K pages with VMAP_STACK: MIN_THREAD_SHIFT < PAGE_SHIFT, so the page size
    ("arm64-6.12", "arm64", "64k-pages", (),
     {"THREAD_SIZE": 65536, "THREAD_SHIFT": 16, "THREAD_SIZE_ORDER": 0, "PAGE_SIZE": 65536}),
    # (generic KASAN keeps VMAP_STACK only with KASAN_VMALLOC; the row assumes it)
    ("arm64-6.12", "arm64", "64k-pages", KASAN, {"THREAD_SIZE": 65536, "MIN_THREAD_SHIFT": 15}),
    # ... and without it, a stack smaller than a page: no order at all
    ("arm64-6.12", "arm64", "64k-pages", NO_VMAP,
     {"THREAD_SIZE": 16384, "THREAD_SHIFT": 14, "THREAD_SIZE_ORDER": ABSENT}),
    # the 4.14-5.0 layout: same values, CONFIG_ARM64_PAGE_SHIFT, sizes via asm-generic
    ("arm64-4.14", "arm64", "default", (),
     {"THREAD_SIZE": 16384, "PAGE_SIZE": 4096, "OVERFLOW_STACK_SIZE": 4096}),
    ("arm64-4.14", "arm64", "kasan", (), {"THREAD_SIZE": 32768, "THREAD_SIZE_ORDER": 3}),
    ("arm64-4.14", "arm64", "64k-pages", (), {"THREAD_SIZE": 65536, "PAGE_SIZE": 65536}),
    ("arm64-4.14", "arm64", "64k-pages", NO_VMAP, {"THREAD_SIZE": 16384}),
    ("arm64-4.14", "arm64", "16k-pages", (), {"THREAD_SIZE": 16384, "PAGE_SIZE": 16384}),
    # powerpc64: CONFIG_THREAD_SHIFT 14 on 64K pages (no VMAP_STACK): a negative order
    ("powerpc-6.1", "powerpc64", "default", (),
     {"THREAD_SIZE": 16384, "PAGE_SIZE": 65536, "THREAD_SIZE_ORDER": -2}),
    ("powerpc-6.1", "powerpc64", "kasan", (), {"THREAD_SIZE": 32768, "MIN_THREAD_SHIFT": 15}),
    ("powerpc-6.1", "powerpc64", "4k-pages", (),
     {"THREAD_SIZE": 16384, "PAGE_SIZE": 4096, "THREAD_SIZE_ORDER": 2}),
    # a PSERIES/POWERNV build of 6.8+ gets 15 from Kconfig; KASAN then adds nothing
    ("powerpc-6.1", "powerpc64", "kasan", ("CONFIG_THREAD_SHIFT=15",), {"THREAD_SIZE": 32768}),
    ("powerpc-6.1", "powerpc", "default", (), {"THREAD_SIZE": 8192, "THREAD_SIZE_ORDER": 1}),
    # with VMAP_STACK and KASAN: 14 >= 12, the page size does not matter
    ("powerpc-6.1", "powerpc", "kasan", (), {"THREAD_SIZE": 16384, "THREAD_SIZE_ORDER": 2}),
    ("mips-6.1", "mips", "default", (),
     {"THREAD_SIZE": 8192, "THREAD_SIZE_ORDER": 1, "IRQ_STACK_SIZE": 8192, "PAGE_SIZE": 4096}),
    ("mips-6.1", "mips", "default", ("CONFIG_PAGE_SIZE_4KB=n", "CONFIG_PAGE_SIZE_16KB=y"),
     {"THREAD_SIZE": 16384, "THREAD_SIZE_ORDER": 0}),
]
# fmt: on


@pytest.mark.parametrize(("tree", "arch", "profile", "sets", "expected"), ROWS)
def test_values(trees: dict[str, Path], tree, arch, profile, sets, expected) -> None:
    constants = run(trees, tree, arch, profile, sets).result.constants
    got = {name: (constants[name].value if name in constants else ABSENT) for name in expected}
    assert got == expected
    for name, value in expected.items():
        if value is not ABSENT:
            assert constants[name].status == "ok"


def test_64k_pages_raise_the_stack_through_the_if_on_macros(trees: dict[str, Path]) -> None:
    """THREAD_SHIFT is PAGE_SHIFT because ``MIN_THREAD_SHIFT < PAGE_SHIFT`` held
    once both were expanded (14 < 16), not because the names were compared."""
    constant = run(trees, "arm64-6.12", "arm64", "64k-pages").result.constants["THREAD_SHIFT"]
    assert constant.value == 16
    link = next(link for link in constant.chain if link.macro == "THREAD_SHIFT")
    assert link.definition == "PAGE_SHIFT"
    (branch,) = [c for c in link.conditions if "MIN_THREAD_SHIFT" in c.symbols]
    assert branch.directive.startswith("#if") and branch.taken
    assert {"CONFIG_VMAP_STACK", "MIN_THREAD_SHIFT", "PAGE_SHIFT"} <= set(branch.symbols)


def test_overflow_stack_reaches_sz_4k_through_the_generated_wrapper(
    trees: dict[str, Path],
) -> None:
    analysis = run(trees, "arm64-4.14", "arm64", "default")
    opened = {h.path: h.origin for h in analysis.table.opened}
    wrapper = "arch/arm64/include/generated/asm/sizes.h"
    assert opened.get(wrapper) == "generated"
    assert opened.get("include/asm-generic/sizes.h") == "tree"
    constant = analysis.result.constants["OVERFLOW_STACK_SIZE"]
    assert constant.value == 4096
    assert [link.macro for link in constant.chain] == ["OVERFLOW_STACK_SIZE", "SZ_4K"]
    assert constant.chain[1].path == "include/linux/sizes.h"


def test_mips_finds_platform_headers_in_mach_generic(trees: dict[str, Path]) -> None:
    analysis = run(trees, "mips-6.1", "mips", "default")
    assert "arch/mips/include/asm/mach-generic/spaces.h" in {h.path for h in analysis.table.opened}
    assert analysis.layout is not None
    assert analysis.layout.include_dirs[-1] == "arch/mips/include/asm/mach-generic"


def test_kconfig_defaults_are_noted_as_such(trees: dict[str, Path]) -> None:
    """A headers-only tree: the Kconfig int comes from the table, and says so."""
    warnings = run(trees, "arm64-6.12", "arm64", "default").result.warnings
    assert any(w.startswith("CONFIG_PAGE_SHIFT=12 ") and "arch table" in w for w in warnings)
    # a profile that sets the int itself is not using the table's default
    warnings = run(trees, "arm64-6.12", "arm64", "64k-pages").result.warnings
    assert not any("arch table's default" in w for w in warnings)


# ----------------------------------------------------------- the table itself

ARCH_ROWS = [pytest.param(arch, id=arch.name) for arch in ARCHES.values()]
_INT = re.compile(r"^(-?\d+|0x[0-9a-fA-F]+)$")


@pytest.mark.parametrize("arch", ARCH_ROWS)
def test_every_entry_is_complete(arch) -> None:
    assert arch.model in ("LP64", "ILP32")
    word = {"LP64": "8", "ILP32": "4"}[arch.model]
    predefined = arch.predefined()  # under the base config
    assert predefined["__SIZEOF_LONG__"] == predefined["__SIZEOF_POINTER__"] == word
    assert predefined["__BYTE_ORDER__"] in ("__ORDER_LITTLE_ENDIAN__", "__ORDER_BIG_ENDIAN__")
    assert set(arch.assumed) <= set(arch.base_config)
    assert arch.entries and all(e.startswith("asm/") for e in arch.entries)
    assert arch.constants[0] == "THREAD_SIZE"
    assert all(s.startswith("CONFIG_") for s in arch.base_config)
    for symbol, value in arch.kconfig_defaults.items():
        assert symbol.startswith("CONFIG_") and _INT.match(value), (symbol, value)


@pytest.mark.parametrize("arch", ARCH_ROWS)
def test_profiles_switch_whole_choices(arch) -> None:
    """A profile that picks a page size drops the default one and brings the ints
    Kconfig derives from it; every profile's symbols are config symbols."""
    for name, symbols in arch.profiles.items():
        assert name not in ("default",), name
        assert all(s.startswith("CONFIG_") for s in symbols), name
        config = make_config(name, arch, kconfig=arch.kconfig_defaults).symbols
        chosen = [
            s for s, v in config.items() if re.match(r"CONFIG_\w*_\d+K_PAGES$", s) and v == "y"
        ]
        assert len(chosen) <= 1, (name, chosen)
        if chosen:
            size = int(re.search(r"_(\d+)K_PAGES$", chosen[0]).group(1)) * 1024
            shifts = {s: v for s, v in config.items() if s.endswith("PAGE_SHIFT")}
            assert shifts and all(1 << int(v) == size for v in shifts.values()), (name, shifts)


def test_the_common_kasan_profile_carries_its_mode() -> None:
    assert PROFILES["kasan"] == {"CONFIG_KASAN": "y", "CONFIG_KASAN_GENERIC": "y"}


def test_no_stage_branches_on_an_arch_name() -> None:
    """The table is the only place arches differ: no module compares an arch's
    name (or srcarch) with a string."""
    package = Path(extractor.__file__).parent
    names = {a.name for a in ARCHES.values()} | {a.srcarch for a in ARCHES.values()}
    offenders = []
    for module in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                literals = {
                    c.value
                    for c in ast.walk(ast.Tuple(elts=operands))
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
                if literals & names:
                    offenders.append(f"{module.name}:{node.lineno}")
    assert offenders == []


# (id, directories the tree has, arch, the asm directory the layout reads)
LEGACY_ASM_ROWS = [
    # 2.6.14 added include/asm-powerpc for the merge to come, but still built
    # ppc64 from arch/ppc64 with include/asm-ppc64
    ("2.6.14, ppc64", ["include/asm-powerpc", "include/asm-ppc64", "arch/ppc64", "arch/ppc"],
     "powerpc64", "include/asm-ppc64"),
    ("2.6.14, ppc32", ["include/asm-powerpc", "include/asm-ppc", "arch/ppc64", "arch/ppc"],
     "powerpc", "include/asm-ppc"),
    ("2.6.15, arch/powerpc", ["include/asm-powerpc", "include/asm-ppc", "arch/powerpc", "arch/ppc"],
     "powerpc", "include/asm-powerpc"),
    ("headers only: the build's first choice", ["include/asm-powerpc", "include/asm-ppc64"],
     "powerpc64", "include/asm-powerpc"),
    ("2.6.23, x86_64", ["include/asm-x86_64", "include/asm-i386", "arch/x86_64", "arch/i386"],
     "x86_64", "include/asm-x86_64"),
    ("2.6.24, x86", ["include/asm-x86", "arch/x86"], "i386", "include/asm-x86"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("dirs", "arch", "asm_dir"),
    [r[1:] for r in LEGACY_ASM_ROWS],
    ids=[r[0] for r in LEGACY_ASM_ROWS],
)
def test_an_old_tree_reads_the_asm_directory_its_build_linked(tmp_path, dirs, arch, asm_dir):
    from extractor.layout import make_layout

    for directory in dirs:
        (tmp_path / directory).mkdir(parents=True)
        (tmp_path / directory / "Makefile").write_text("# a file, so the directory is kept\n")
    layout = make_layout(
        DirectoryTree(tmp_path), ARCHES[arch], make_config("default", ARCHES[arch])
    )
    assert layout.asm_dir == asm_dir
