"""Issue 11 point 6: where a tree has Kconfig files, the default profile is the
tree's own alldefconfig, and the arch Makefile's per-config include dirs apply.

The trees are written here, in our own words, in the shape of arm and mips in
2.6.2x-3.x: a machine choice whose member selects the CPU and the abort model a
``glue.h`` insists on, the machine's ``mach/`` (or ``asm/arch``) headers, and
mips's ``war.h`` that needs the board's ``asm/mach-<board>/war.h``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from extractor.cli import cli
from extractor.config import NotingLookups
from extractor.kbuild import arch_includes
from extractor.kconfig import alldefconfig
from extractor.source import DirectoryTree

ARM_KCONFIG = """\
config ARM
\tdef_bool y
config MMU
\tbool
\tdefault y
choice
\tprompt "ARM system type"
\tdefault ARCH_BOARD_B
config ARCH_BOARD_A
\tbool "Board A"
\tselect CPU_OLD
config ARCH_BOARD_B
\tbool "Board B"
\tselect CPU_NEW
endchoice
config CPU_OLD
\tbool
\tselect CPU_ABRT_OLD
config CPU_NEW
\tbool
\tselect CPU_ABRT_NEW
config CPU_ABRT_OLD
\tbool
config CPU_ABRT_NEW
\tbool
config FAST_STACKS
\tbool "Fast stacks" if EXPERT
\tdepends on CPU_NEW
config EXPERT
\tbool "Expert"
"""
GLUE = """\
#if defined(CONFIG_CPU_ABRT_OLD)
#define ABORT_MODEL 1
#elif defined(CONFIG_CPU_ABRT_NEW)
#define ABORT_MODEL 2
#else
#error Unknown data abort handler type
#endif
"""
ARM_MODERN = {
    "arch/arm/Kconfig": ARM_KCONFIG,
    "arch/arm/Makefile": (
        "machine-$(CONFIG_ARCH_BOARD_A) := boarda\n"
        "machine-$(CONFIG_ARCH_BOARD_B) := boardb\n"
        "machdirs := $(patsubst %,arch/arm/mach-%/,$(machine-y))\n"
        "KBUILD_CPPFLAGS += $(patsubst %,-I$(srctree)/%include,$(machdirs) $(platdirs))\n"
    ),
    "arch/arm/include/asm/glue.h": GLUE,
    "arch/arm/include/asm/page.h": (
        "#include <asm/glue.h>\n#include <mach/memory.h>\n"
        "#define PAGE_SHIFT 12\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n"
    ),
    "arch/arm/include/asm/thread_info.h": (
        "#include <asm/page.h>\n#define THREAD_SIZE_ORDER BOARD_STACK_ORDER\n"
        "#define THREAD_SIZE (PAGE_SIZE << THREAD_SIZE_ORDER)\n"
    ),
    "arch/arm/mach-boarda/include/mach/memory.h": "#define BOARD_STACK_ORDER 2\n",
    "arch/arm/mach-boardb/include/mach/memory.h": "#define BOARD_STACK_ORDER 1\n",
}
# before 2.6.27: include/asm-arm, and the build's include/asm-arm/arch link
ARM_LEGACY = {
    "arch/arm/Kconfig": ARM_KCONFIG,
    "arch/arm/Makefile": (
        "machine-$(CONFIG_ARCH_BOARD_A) := boarda\n"
        "  incdir-$(CONFIG_ARCH_BOARD_B) := shared\n"
        "machine-$(CONFIG_ARCH_BOARD_B) := boardb\n"
        "ifeq ($(incdir-y),)\nincdir-y := $(machine-y)\nendif\nINCDIR := arch-$(incdir-y)\n"
        "include/asm-arm/.arch:\n"
        "\t$(Q)ln -fsn $(srctree)/include/asm-arm/$(INCDIR) include/asm-arm/arch\n"
    ),
    "include/asm-arm/glue.h": GLUE,
    "include/asm-arm/page.h": (
        "#include <asm/glue.h>\n#include <asm/arch/memory.h>\n"
        "#define PAGE_SHIFT 12\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n"
    ),
    "include/asm-arm/thread_info.h": (
        "#include <asm/page.h>\n#define THREAD_SIZE (PAGE_SIZE << BOARD_STACK_ORDER)\n"
    ),
    "include/asm-arm/arch-boarda/memory.h": "#define BOARD_STACK_ORDER 2\n",
    "include/asm-arm/arch-shared/memory.h": "#define BOARD_STACK_ORDER 1\n",
}
MIPS = {
    "arch/mips/Kconfig": (
        'choice\n\tprompt "System type"\n\tdefault BOARD_Y\n'
        'config BOARD_X\n\tbool "X"\n\tselect SYS_HAS_CPU_R4X00\n'
        'config BOARD_Y\n\tbool "Y"\n\tselect SYS_HAS_CPU_R4X00\nendchoice\n'
        "config SYS_HAS_CPU_R4X00\n\tbool\n"
        "config 32BIT\n\tdef_bool y\n"
    ),
    "arch/mips/Makefile": (
        "cflags-y += -G 0\n"
        "include $(srctree)/arch/mips/Kbuild.platforms\n"
        "cflags-y += -I$(srctree)/arch/mips/include/asm/mach-generic\n"
    ),
    "arch/mips/Kbuild.platforms": (
        "platforms += boardx\nplatforms += boardy\n"
        "include $(patsubst %, $(srctree)/arch/mips/%/Platform, $(platforms))\n"
    ),
    "arch/mips/boardx/Platform": (
        "cflags-$(CONFIG_BOARD_X) += -I$(srctree)/arch/mips/include/asm/mach-x\n"
    ),
    "arch/mips/boardy/Platform": (
        "cflags-$(CONFIG_BOARD_Y) += \\\n  -I$(srctree)/arch/mips/include/asm/mach-y  # the board\n"
    ),
    "arch/mips/include/asm/war.h": (
        "#include <war.h>\n#ifndef R4600_V1_INDEX_ICACHEOP_WAR\n"
        "#error Check setting of R4600_V1_INDEX_ICACHEOP_WAR for your platform\n#endif\n"
    ),
    "arch/mips/include/asm/page.h": (
        "#define PAGE_SHIFT 12\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n"
    ),
    "arch/mips/include/asm/thread_info.h": (
        "#include <asm/war.h>\n#include <asm/page.h>\n#define THREAD_SIZE_ORDER 1\n"
        "#define THREAD_SIZE (PAGE_SIZE << THREAD_SIZE_ORDER)\n"
    ),
    "arch/mips/include/asm/irq.h": "\n",
    "arch/mips/include/asm/mach-y/war.h": "#define R4600_V1_INDEX_ICACHEOP_WAR 0\n",
    "arch/mips/include/asm/mach-generic/war.h": "\n",
}


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def scan(tree: Path, arch: str, *args: str) -> dict:
    result = CliRunner().invoke(
        cli, ["scan", str(tree), "--arch", arch, "--no-cache", "--format", "json", *args]
    )
    if result.exit_code != 0:  # the one cell failed: its error is the message
        return {"error": {"message": result.output}}
    (cell,) = json.loads(result.stdout)["results"]
    return cell


# tree, arch, extra args, THREAD_SIZE (None: the cell fails with this #error text)
SCANS = [
    # the choice's default board selects its CPU and abort model, and its mach/ dir
    (ARM_MODERN, "arm", [], 8192, None),
    (ARM_MODERN, "arm", ["--set", "CONFIG_ARCH_BOARD_A=y"], 16384, None),
    # the old asm/arch link follows incdir-, else machine-
    (ARM_LEGACY, "arm", [], 8192, None),
    (ARM_LEGACY, "arm", ["--set", "CONFIG_ARCH_BOARD_A=y"], 16384, None),
    # the Platform file of the default board puts asm/mach-y before mach-generic
    (MIPS, "mips", [], 8192, None),
    (MIPS, "mips", ["--set", "CONFIG_BOARD_X=y"], None, "Check setting of R4600"),
]


@pytest.mark.parametrize(("files", "arch", "args", "size", "error"), SCANS)
def test_default_profile_is_the_trees_alldefconfig(tmp_path, files, arch, args, size, error):
    cell = scan(write(tmp_path, files), arch, *args)
    if error is not None:
        assert error in cell["error"]["message"]
        return
    assert cell["error"] is None, cell["error"]
    assert cell["constants"]["THREAD_SIZE"]["value"] == size
    assert any("this tree's alldefconfig" in w for w in cell["warnings"])


# (symbols set, what the arch Makefile adds: include dirs, links)
INCLUDES = [
    ("arm", ARM_MODERN, {"CONFIG_ARCH_BOARD_B": "y"}, ["arch/arm/mach-boardb/include"], {}),
    ("arm", ARM_MODERN, {}, [], {}),
    (
        "arm",
        ARM_LEGACY,
        {"CONFIG_ARCH_BOARD_B": "y"},
        [],
        {"include/asm-arm/arch": "include/asm-arm/arch-shared"},
    ),
    (
        "arm",
        ARM_LEGACY,
        {"CONFIG_ARCH_BOARD_A": "y"},
        [],
        {"include/asm-arm/arch": "include/asm-arm/arch-boarda"},
    ),
    (
        "mips",
        MIPS,
        {"CONFIG_BOARD_Y": "y"},
        ["arch/mips/include/asm/mach-y", "arch/mips/include/asm/mach-generic"],
        {},
    ),
    ("mips", MIPS, {"CONFIG_BOARD_Y": "n"}, ["arch/mips/include/asm/mach-generic"], {}),
]


@pytest.mark.parametrize(("srcarch", "files", "symbols", "dirs", "links"), INCLUDES)
def test_makefile_include_lines_are_data(tmp_path, srcarch, files, symbols, dirs, links):
    found = arch_includes(DirectoryTree(write(tmp_path, files)), srcarch, symbols)
    assert (found.include_dirs, found.links, found.found) == (dirs, links, True)
    assert f"arch/{srcarch}/Makefile" in found.files


# The powerpc merge's "temporary hack" (2.6.14 to 2.6.26), in the three shapes its
# Makefiles had: the old arch's headers linked at arch/$(ARCH)/include/asm, and
# that directory searched after include/. Written here, in our own words.
PPC_MERGE_LINK = (
    "arch/$(ARCH)/include/asm:\n"
    "\t$(Q)mkdir -p arch/$(ARCH)/include\n"
    "\t$(Q)ln -fsn $(srctree)/include/asm-{target} arch/$(ARCH)/include/asm\n"
)
#: 2.6.15-rc1's arch/powerpc: OLDARCH by CONFIG_PPC64, for every config
PPC_MERGE = (
    "ifeq ($(CONFIG_PPC64),y)\nOLDARCH := ppc64\nelse\nOLDARCH := ppc\nendif\n"
    "CPPFLAGS += -Iarch/$(ARCH) -Iarch/$(ARCH)/include\n"
    "LINUXINCLUDE += -Iarch/$(ARCH)/include\n" + PPC_MERGE_LINK.format(target="$(OLDARCH)")
)
#: 2.6.17 to 2.6.26: for ppc32 only, the link inside ifeq ($(CONFIG_PPC32),y)
PPC_MERGE_PPC32 = (
    "ifeq ($(CONFIG_PPC64),y)\nOLDARCH := ppc64\nelse\nOLDARCH := ppc\nendif\n"
    "LINUXINCLUDE-$(CONFIG_PPC32) := -Iarch/$(ARCH)/include\n"
    "LINUXINCLUDE += $(LINUXINCLUDE-y)\n"
    "ifeq ($(CONFIG_PPC32),y)\n" + PPC_MERGE_LINK.format(target="$(OLDARCH)") + "endif\n"
)
#: 2.6.14's arch/ppc64 (and arch/ppc): the new headers linked, by name
PPC64_2614 = "CPPFLAGS += -Iarch/$(ARCH)/include\n" + PPC_MERGE_LINK.format(target="powerpc")
#: OLDARCH set only under a conditional kstack does not follow
PPC_UNKNOWN = (
    "ifeq ($(CROSS32_COMPILE),)\nOLDARCH := ppc\nendif\n"
    "LINUXINCLUDE += -Iarch/$(ARCH)/include\n" + PPC_MERGE_LINK.format(target="$(OLDARCH)")
)

# (the build's arch dir, its Makefile, symbols, include dirs, links, warned)
MERGE = [
    (
        "powerpc",
        PPC_MERGE,
        {"CONFIG_PPC64": "y"},
        ["arch/powerpc/include"],
        {"arch/powerpc/include/asm": "include/asm-ppc64"},
        False,
    ),
    (
        "powerpc",
        PPC_MERGE,
        {"CONFIG_PPC32": "y"},
        ["arch/powerpc/include"],
        {"arch/powerpc/include/asm": "include/asm-ppc"},
        False,
    ),
    (
        "powerpc",
        PPC_MERGE_PPC32,
        {"CONFIG_PPC32": "y"},
        ["arch/powerpc/include"],
        {"arch/powerpc/include/asm": "include/asm-ppc"},
        False,
    ),
    ("powerpc", PPC_MERGE_PPC32, {"CONFIG_PPC64": "y"}, [], {}, False),
    (
        "ppc64",
        PPC64_2614,
        {},
        ["arch/ppc64/include"],
        {"arch/ppc64/include/asm": "include/asm-powerpc"},
        False,
    ),
    ("powerpc", PPC_UNKNOWN, {}, [], {}, True),
]


@pytest.mark.parametrize(("arch_dir", "makefile", "symbols", "dirs", "links", "warned"), MERGE)
def test_the_powerpc_merge_link_and_its_directory(
    tmp_path, arch_dir, makefile, symbols, dirs, links, warned
):
    tree = DirectoryTree(write(tmp_path, {f"arch/{arch_dir}/Makefile": makefile}))
    found = arch_includes(tree, "powerpc", symbols, arch_dir)
    assert (found.include_dirs, found.links, bool(found.warnings)) == (dirs, links, warned)


def test_a_conditional_reads_its_symbol_only_for_the_merge(tmp_path):
    """x86's Makefile sets variables under ``ifeq ($(CONFIG_X86_32),y)``: kbuild
    follows the conditional but reads its symbol only for a merge line (a symbol
    read is one Kconfig must decide, and the cell runs again: 28 more Kconfig
    answers and 2 more pipeline runs on 123 real tags when it read them all)."""
    makefile = "ifeq ($(CONFIG_X86_32),y)\nBITS := 32\nelse\nBITS := 64\nendif\n"
    tree = DirectoryTree(write(tmp_path, {"arch/x86/Makefile": makefile}))
    symbols = NotingLookups({"CONFIG_X86_32": "y"})
    found = arch_includes(tree, "x86", symbols)
    assert (found.include_dirs, found.links, symbols.read) == ([], {}, set())


# (arch, the tree's files, the header asked for, where the build found it)
MERGE_TREES = [
    # 2.6.15-rc1: include/asm-powerpc has no page.h yet; the link finds asm-ppc's
    (
        "powerpc",
        {
            "arch/powerpc/Makefile": PPC_MERGE,
            "arch/ppc/Makefile": "",
            "include/asm-powerpc/types.h": "",
            "include/asm-ppc/page.h": "",
            "include/asm-ppc/types.h": "",
        },
        "asm/page.h",
        "include/asm-ppc/page.h",
    ),
    # include/ comes first: asm-powerpc's own header wins over the old arch's
    (
        "powerpc",
        {
            "arch/powerpc/Makefile": PPC_MERGE,
            "include/asm-powerpc/types.h": "",
            "include/asm-ppc/types.h": "",
        },
        "asm/types.h",
        "include/asm-powerpc/types.h",
    ),
    # 2.6.14: no arch/powerpc; ppc64 builds in arch/ppc64, with asm-powerpc linked
    (
        "powerpc64",
        {
            "arch/ppc64/Makefile": PPC64_2614,
            "include/asm-ppc64/page.h": "",
            "include/asm-powerpc/linkage.h": "",
        },
        "asm/linkage.h",
        "include/asm-powerpc/linkage.h",
    ),
]


@pytest.mark.parametrize(("arch", "files", "name", "path"), MERGE_TREES)
def test_the_layout_follows_the_powerpc_merge_link(tmp_path, arch, files, name, path):
    from extractor.arches import ARCHES
    from extractor.config import make_config
    from extractor.layout import make_layout

    config = make_config("default", ARCHES[arch])
    layout = make_layout(DirectoryTree(write(tmp_path, files)), ARCHES[arch], config)
    found = layout.find(name, quoted=False, includer=None)
    assert found is not None and found.path == path


def test_a_cflags_line_that_adds_no_directory_reads_no_symbol(tmp_path):
    """x86's Makefile_32.cpu sets ``-march`` per CPU symbol: such a line adds no
    include directory whatever its symbol, so the config need not decide it (on
    real x86 the layout read 30 of these, and Kconfig decided each at every tag)."""
    makefile = (
        "cflags-$(CONFIG_CPU_A) += -march=a\n"
        "cflags-$(CONFIG_BOARD_Y) += -I$(srctree)/arch/mips/include/asm/mach-y\n"
    )
    tree = DirectoryTree(write(tmp_path, {"arch/mips/Makefile": makefile}))
    symbols = NotingLookups({"CONFIG_CPU_A": "y", "CONFIG_BOARD_Y": "y"})
    found = arch_includes(tree, "mips", symbols)
    assert (found.include_dirs, symbols.read) == (
        ["arch/mips/include/asm/mach-y"],
        {"CONFIG_BOARD_Y"},
    )


def test_makefile_variables_and_escapes_are_not_followed(tmp_path):
    tree = write(
        tmp_path,
        {
            "arch/mips/Makefile": (
                "cflags-y += -I$(call unknown,x)/mach-a\ncflags-y += -I../../outside\n"
                "cflags-y += $(shell echo -Ievil)\n"
            )
        },
    )
    found = arch_includes(DirectoryTree(tree), "mips", {})
    assert found.include_dirs == []
    assert len(found.warnings) == 2


SEED_TREE = """\
config EXPERT
\tbool "Expert"
config HIDDEN
\tbool
\tdefault y
config SHOWN
\tbool "Shown"
\tdefault y
config SELECTOR
\tdef_bool y
\tselect PICKED
config PICKED
\tbool "Picked"
config NUMBER
\tint "Number" if EXPERT
\tdefault 13
\trange 12 16
choice
\tprompt "Pages"
\tdefault P4K
config P4K
\tbool "4K"
config P64K
\tbool "64K" if EXPERT
endchoice
"""

# seed, symbol, value: a seed takes only where the symbol has a visible prompt
SEEDS = [
    ({}, "SHOWN", "y"),
    ({"CONFIG_SHOWN": "n"}, "SHOWN", "n"),
    ({"CONFIG_HIDDEN": "n"}, "HIDDEN", "y"),  # no prompt: the seed cannot take
    ({"CONFIG_PICKED": "n"}, "PICKED", "y"),  # a select raises it all the same
    ({"CONFIG_NUMBER": "15"}, "NUMBER", "13"),  # the prompt needs EXPERT
    ({"CONFIG_NUMBER": "15", "CONFIG_EXPERT": "y"}, "NUMBER", "15"),
    ({"CONFIG_NUMBER": "99", "CONFIG_EXPERT": "y"}, "NUMBER", "16"),  # clamped
    ({"CONFIG_P64K": "y"}, "P64K", "n"),  # not visible without EXPERT
    ({"CONFIG_P64K": "y", "CONFIG_EXPERT": "y"}, "P64K", "y"),
    ({"CONFIG_P64K": "y", "CONFIG_EXPERT": "y"}, "P4K", "n"),
]


@pytest.mark.parametrize(("seed", "symbol", "value"), SEEDS)
def test_alldefconfig_seed_semantics(tmp_path, seed, symbol, value):
    tree = write(tmp_path, {"Kconfig": SEED_TREE})
    values = alldefconfig(DirectoryTree(tree), "x86", seed)
    assert values is not None
    assert values[f"CONFIG_{symbol}"].value == value


def test_alldefconfig_names_the_compiler_probes(tmp_path):
    tree = write(
        tmp_path,
        {
            "Kconfig": (
                "cc-option = $(shell,true $(1))\n"
                "config CC_HAS_X\n\tdef_bool $(cc-option,-mx)\n"
                'config CC_TEXT\n\tstring\n\tdefault "$(CC_VERSION_TEXT)"\n'
                "config PLAIN\n\tdef_bool y\n"
            )
        },
    )
    values = alldefconfig(DirectoryTree(tree), "x86")
    assert values is not None
    assert set(values.probed) == {"CC_HAS_X", "CC_TEXT"}
    assert values["CONFIG_CC_HAS_X"].value == "n"
    assert values.defined == {"CC_HAS_X", "CC_TEXT", "PLAIN"}


def _unbuildable(files: dict[str, str], defconfig: str | None) -> dict[str, str]:
    """The modern arm tree with a third board, the default, that selects no CPU."""
    kconfig = files["arch/arm/Kconfig"].replace("default ARCH_BOARD_B", "default ARCH_BOARD_C")
    kconfig = kconfig.replace("endchoice", 'config ARCH_BOARD_C\n\tbool "Board C"\nendchoice')
    out = {**files, "arch/arm/Kconfig": kconfig}
    if defconfig is not None:
        out["arch/arm/Makefile"] = f"KBUILD_DEFCONFIG := {defconfig}\n" + files["arch/arm/Makefile"]
        out[f"arch/arm/configs/{defconfig}"] = (
            "CONFIG_ARCH_BOARD_A=y\n# CONFIG_ARCH_BOARD_C is not set\n"
        )
    return out


@pytest.mark.parametrize(
    ("defconfig", "size"), [("boarda_defconfig", 16384), (None, None)], ids=["named", "none"]
)
def test_an_alldefconfig_that_does_not_build_gives_way_to_make_defconfig(tmp_path, defconfig, size):
    _gives_way(tmp_path, defconfig, size)


def test_it_gives_way_after_a_tree_that_builds_filled_the_memo(tmp_path):
    # the buildable tree's glue.h is followed, not run, in the unbuildable one: the
    # #error it meets must keep the symbols it tested (they decide the next config)
    assert scan(write(tmp_path / "builds", ARM_MODERN), "arm")["error"] is None
    _gives_way(tmp_path / "does-not", "boarda_defconfig", 16384)


def _gives_way(tmp_path, defconfig, size):
    cell = scan(write(tmp_path, _unbuildable(ARM_MODERN, defconfig)), "arm")
    if size is None:  # nothing to fall back to: the #error stands
        assert "Unknown data abort handler type" in cell["error"]["message"]
        return
    assert cell["error"] is None, cell["error"]
    assert cell["constants"]["THREAD_SIZE"]["value"] == size
    assert any(
        "does not build" in w and f"arch/arm/configs/{defconfig}" in w for w in cell["warnings"]
    )


# --- the arch a build makes: make's ARCH in each era, and a guard ---------------------

X86_HEADERS = {  # 2.6.24's unified x86 before arch/x86/include, in our words
    "include/asm-x86/page.h": "#define PAGE_SHIFT 12\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n",
    "include/asm-x86/thread_info.h": (
        '#ifdef CONFIG_X86_32\n# include "thread_info_32.h"\n'
        '#else\n# include "thread_info_64.h"\n#endif\n'
    ),
    "include/asm-x86/thread_info_32.h": "#include <asm/page.h>\n#define THREAD_SIZE 8192\n",
    "include/asm-x86/thread_info_64.h": (
        "#include <asm/page.h>\n#define THREAD_ORDER 1\n"
        "#define THREAD_SIZE (PAGE_SIZE << THREAD_ORDER)\n"
    ),
}
X86_BITS = "config X86_32\n\tdef_bool !64BIT\nconfig X86_64\n\tdef_bool 64BIT\n"
# (id, how arch/x86/Kconfig decides 64BIT, arch, THREAD_ORDER, the guard's warning)
X86_ARCH_ROWS = [
    # 2.6.24: ARCH, which Kconfig itself defined from make's (no file does)
    ("ARCH read bare (2.6.24)", '\tbool "64-bit kernel" if ARCH = "x86"\n'
     '\tdefault ARCH = "x86_64"\n', "x86_64", 1, False),
    ("ARCH read bare, i386", '\tbool "64-bit kernel" if ARCH = "x86"\n'
     '\tdefault ARCH = "x86_64"\n', "i386", None, False),
    # 2.6.24-rc1 to -rc3: a plain prompt, "default n"; the arch's seed answers it
    ("a plain prompt (2.6.24-rc3)", '\tbool "64-bit kernel"\n\tdefault n\n', "x86_64", 1, False),
    ("a plain prompt, i386", '\tbool "64-bit kernel"\n\tdefault n\n', "i386", None, False),
    # nothing can make it x86_64: the cell says so
    ("no way to 64 bits", "\tdef_bool n\n", "x86_64", None, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("bits", "arch", "order", "warned"),
    [r[1:] for r in X86_ARCH_ROWS],
    ids=[r[0] for r in X86_ARCH_ROWS],
)
def test_the_default_profile_builds_the_arch_asked_for(tmp_path, bits, arch, order, warned):
    kconfig = 'mainmenu "x86"\nconfig 64BIT\n' + bits + X86_BITS
    cell = scan(write(tmp_path, {**X86_HEADERS, "arch/x86/Kconfig": kconfig}), arch)
    assert cell["error"] is None, cell["error"]
    assert cell["constants"].get("THREAD_ORDER", {}).get("value") == order
    guard = [w for w in cell["warnings"] if "every x86_64 build has CONFIG_64BIT=y" in w]
    assert bool(guard) == warned, cell["warnings"]


# before 2.6.24, arch/i386 and arch/x86_64: kbuild read arch/$(ARCH)/Kconfig
OLD_X86 = {
    "include/asm-i386/page.h": "#define PAGE_SHIFT 12\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n",
    "include/asm-i386/thread_info.h": (
        "#include <asm/page.h>\n#ifdef CONFIG_4KSTACKS\n#define THREAD_SIZE 4096\n"
        "#else\n#define THREAD_SIZE 8192\n#endif\n"
    ),
    "include/asm-x86_64/page.h": "#define PAGE_SHIFT 12\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n",
    "include/asm-x86_64/thread_info.h": (
        "#include <asm/page.h>\n#define THREAD_ORDER 1\n"
        "#define THREAD_SIZE (PAGE_SIZE << THREAD_ORDER)\n"
    ),
    # (a 4KSTACKS that defaults to y: only a read of this file gives 4096)
    "arch/i386/Kconfig": (
        'mainmenu "i386"\nconfig X86_32\n\tdef_bool y\nconfig 4KSTACKS\n\tdef_bool y\n'
    ),
    "arch/x86_64/Kconfig": (
        'mainmenu "x86-64"\nconfig X86_64\n\tdef_bool y\nconfig 64BIT\n\tdef_bool y\n'
    ),
}


@pytest.mark.parametrize(("arch", "size"), [("i386", 4096), ("x86_64", 8192)])
def test_an_old_x86_tree_reads_the_kconfig_of_makes_arch(tmp_path, arch, size):
    cell = scan(write(tmp_path, OLD_X86), arch)
    assert cell["error"] is None, cell["error"]
    assert cell["constants"]["THREAD_SIZE"]["value"] == size
    assert any(f"this tree's alldefconfig for ARCH={arch}" in w for w in cell["warnings"])
