"""The target macros and the data model follow the config (issue 11, point 2).

In: ``.config`` files written here for 32- and 64-bit MIPS in either byte order,
32- and 64-bit powerpc, little-endian ppc64, 32-bit riscv, big-endian arm and
arm64, and a 64-bit x86 config read under the i386 entry; and small trees
written here in the shape of the kernel's headers: a byte-order header that
picks big- or little-endian by the compiler's macro and warns when the config
disagrees (as ``linux/byteorder/*.h`` do), ``__BITS_PER_LONG`` the way each
arch's uapi header spells it, and PAGE_MASK, which is ``~(PAGE_SIZE - 1)`` on an
``unsigned long``.
Out: the macros gcc predefines for that target (``__MIPSEL__``, ``_MIPS_SZLONG``,
``__powerpc64__``, ``__riscv_xlen``, ``__ARMEB__``, ``__BYTE_ORDER__``,
``__LP64__``, ``__SIZEOF_LONG__``...), the data model, and the values gcc gives
the same headers for that target: no inconsistency warning, the right width.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from realdata.gcc_reference import gcc_fold, gcc_macros

from extractor import ARCHES, DirectoryTree, make_config
from extractor.config import read_config_file
from extractor.scan import analyse

_LE = {
    "__ORDER_LITTLE_ENDIAN__": "1234",
    "__ORDER_BIG_ENDIAN__": "4321",
    "__BYTE_ORDER__": "__ORDER_LITTLE_ENDIAN__",
}
_BE = {**_LE, "__BYTE_ORDER__": "__ORDER_BIG_ENDIAN__"}
_32 = {"__SIZEOF_LONG__": "4", "__SIZEOF_POINTER__": "4"}
_64 = {"__SIZEOF_LONG__": "8", "__SIZEOF_POINTER__": "8", "__LP64__": "1", "_LP64": "1"}

# fmt: off
#: what gcc predefines for each target, from its target headers (mips.h,
#: rs6000's linux64.h / rs6000-c.cc, riscv-c.cc, arm-c.cc, aarch64-c.cc, i386)
#: with the flags the arch Makefile passes; (model, macros that must be there)
TARGETS = {
    "mips32be": ("ILP32", {**_32, **_BE, "__MIPSEB__": "1", "_MIPSEB": "1", "__mips": "32",
                           "_MIPS_SZLONG": "32", "_MIPS_SZPTR": "32", "_MIPS_SIM": "_ABIO32",
                           "_ABIO32": "1"}),
    "mips32le": ("ILP32", {**_32, **_LE, "__MIPSEL__": "1", "_MIPSEL": "1", "__mips": "32",
                           "_MIPS_SZLONG": "32", "_MIPS_SZPTR": "32", "_MIPS_SIM": "_ABIO32",
                           "_ABIO32": "1"}),
    "mips64be": ("LP64", {**_64, **_BE, "__MIPSEB__": "1", "_MIPSEB": "1", "__mips": "64",
                          "__mips64": "1", "_MIPS_SZLONG": "64", "_MIPS_SZPTR": "64",
                          "_MIPS_SIM": "_ABI64", "_ABI64": "3"}),
    "mips64le": ("LP64", {**_64, **_LE, "__MIPSEL__": "1", "_MIPSEL": "1", "__mips": "64",
                          "__mips64": "1", "_MIPS_SZLONG": "64", "_MIPS_SZPTR": "64",
                          "_MIPS_SIM": "_ABI64", "_ABI64": "3"}),
    "ppc32": ("ILP32", {**_32, **_BE, "__powerpc__": "1", "__powerpc": "1", "__PPC__": "1",
                        "__BIG_ENDIAN__": "1", "_BIG_ENDIAN": "1", "_CALL_SYSV": "1"}),
    "ppc64": ("LP64", {**_64, **_BE, "__powerpc__": "1", "__powerpc64__": "1", "__PPC64__": "1",
                       "_ARCH_PPC64": "1", "__BIG_ENDIAN__": "1", "_CALL_ELF": "1"}),
    "ppc64le": ("LP64", {**_64, **_LE, "__powerpc__": "1", "__powerpc64__": "1",
                         "__LITTLE_ENDIAN__": "1", "_LITTLE_ENDIAN": "1", "_CALL_ELF": "2"}),
    "ppc64-elfv2": ("LP64", {**_64, **_BE, "__powerpc64__": "1", "__BIG_ENDIAN__": "1",
                             "_CALL_ELF": "2"}),
    "rv32": ("ILP32", {**_32, **_LE, "__riscv": "1", "__riscv_xlen": "32"}),
    "rv64": ("LP64", {**_64, **_LE, "__riscv": "1", "__riscv_xlen": "64"}),
    "armeb": ("ILP32", {**_32, **_BE, "__arm__": "1", "__ARMEB__": "1", "__ARM_BIG_ENDIAN": "1"}),
    "arm": ("ILP32", {**_32, **_LE, "__arm__": "1", "__ARMEL__": "1"}),
    "aarch64_be": ("LP64", {**_64, **_BE, "__aarch64__": "1", "__AARCH64EB__": "1",
                            "__ARM_BIG_ENDIAN": "1"}),
    "x86_64": ("LP64", {**_64, **_LE, "__x86_64__": "1", "__amd64__": "1"}),
    "i386": ("ILP32", {**_32, **_LE, "__i386__": "1", "__ILP32__": "1"}),
}
#: macros a target must not have: the other word size's and byte order's
NEVER = {
    "mips32be": ["__MIPSEL__", "_MIPSEL", "__mips64", "__LP64__", "_ABI64"],
    "mips32le": ["__MIPSEB__", "_MIPSEB", "MIPSEB", "__mips64", "__LP64__", "_ABI64"],
    "mips64be": ["__MIPSEL__", "__ILP32__", "_ABIO32", "_R3000"],
    "mips64le": ["__MIPSEB__", "__ILP32__", "_ABIO32", "_R3000"],
    "ppc32": ["__powerpc64__", "__PPC64__", "_ARCH_PPC64", "__LP64__", "_CALL_ELF",
              "__LITTLE_ENDIAN__"],
    "ppc64": ["__powerpc", "__PPC", "__ILP32__", "_CALL_SYSV", "__LITTLE_ENDIAN__"],
    "ppc64le": ["__BIG_ENDIAN__", "_BIG_ENDIAN", "__ILP32__"],
    "ppc64-elfv2": ["__LITTLE_ENDIAN__"],
    "rv32": ["__LP64__", "_LP64"],
    "rv64": ["__ILP32__"],
    "armeb": ["__ARMEL__"],
    "arm": ["__ARMEB__", "__ARM_BIG_ENDIAN"],
    "aarch64_be": ["__AARCH64EL__"],
    "x86_64": ["__i386__", "__ILP32__"],
    "i386": ["__x86_64__", "__LP64__"],
}

ROWS = [
    # --arch, .config lines, gcc's target, BITS_PER_LONG, byte order
    ("mips", ["MIPS", "32BIT", "CPU_BIG_ENDIAN", "CPU_MIPSR2"], "mips32be", 32, 4321),
    # malta_defconfig: 32-bit little-endian
    ("mips", ["MIPS", "32BIT", "CPU_LITTLE_ENDIAN", "CPU_MIPSR2"], "mips32le", 32, 1234),
    ("mips", ["MIPS", "64BIT", "CPU_BIG_ENDIAN", "CPU_MIPSR2"], "mips64be", 64, 4321),
    ("mips", ["MIPS", "64BIT", "CPU_LITTLE_ENDIAN", "CPU_MIPSR2"], "mips64le", 64, 1234),
    ("powerpc", ["PPC", "PPC32", "CPU_BIG_ENDIAN"], "ppc32", 32, 4321),
    # the powerpc entry given a 64-bit config, and the other way round
    ("powerpc", ["PPC", "PPC64", "64BIT", "CPU_BIG_ENDIAN"], "ppc64", 64, 4321),
    ("powerpc64", ["PPC", "PPC32", "CPU_BIG_ENDIAN"], "ppc32", 32, 4321),
    ("powerpc64", ["PPC", "PPC64", "64BIT", "CPU_LITTLE_ENDIAN", "PPC64_ELF_ABI_V2"],
     "ppc64le", 64, 1234),
    ("powerpc64", ["PPC", "PPC64", "64BIT", "CPU_BIG_ENDIAN", "PPC64_ELF_ABI_V2"],
     "ppc64-elfv2", 64, 4321),
    ("riscv", ["RISCV", "32BIT", "ARCH_RV32I"], "rv32", 32, 1234),
    ("riscv", ["RISCV", "64BIT", "ARCH_RV64I"], "rv64", 64, 1234),
    ("arm", ["ARM", "CPU_BIG_ENDIAN"], "armeb", 32, 4321),
    ("arm", ["ARM"], "arm", 32, 1234),
    ("arm64", ["ARM64", "64BIT", "CPU_BIG_ENDIAN"], "aarch64_be", 64, 4321),
    ("i386", ["X86", "X86_64", "64BIT"], "x86_64", 64, 1234),
    ("x86_64", ["X86", "X86_32"], "i386", 32, 1234),
]
#: a powerpc tree before the endianness choice (3.13) has neither symbol, and
#: its headers do not test them: big-endian
OLD_ROWS = [("powerpc64", ["PPC", "PPC64", "64BIT"], "ppc64", 64, 4321)]
# fmt: on


def _config(arch: str, lines: list[str], tmp_path: Path):
    text = "".join(f"CONFIG_{s}=y\n" for s in lines) + "CONFIG_PAGE_SIZE_4KB=y\n"
    (tmp_path / ".config").write_text(text)
    symbols = read_config_file(tmp_path / ".config")
    table = ARCHES[arch]
    return table, make_config("default", table, file_symbols=symbols, kconfig={})


@pytest.mark.parametrize(("arch", "lines", "target", "bits", "order"), ROWS + OLD_ROWS)
def test_target_macros_follow_the_config(tmp_path, arch, lines, target, bits, order) -> None:
    table, config = _config(arch, lines, tmp_path)
    model, present = TARGETS[target]
    predefined = table.predefined(config.symbols)
    assert {m: predefined.get(m) for m in present} == present
    assert [m for m in NEVER[target] if m in predefined] == []
    assert table.data_model(config.symbols) == model


# --------------------------------------------------------------- the pipeline

#: per srcarch: the byte-order macro its header tests, and how its uapi
#: bitsperlong.h spells the word size
SPELLINGS = {
    "mips": ("__MIPSEB__", "#define __BITS_PER_LONG _MIPS_SZLONG\n"),
    "powerpc": (
        "__BIG_ENDIAN__",
        "#ifdef __powerpc64__\n#define __BITS_PER_LONG 64\n"
        "#else\n#define __BITS_PER_LONG 32\n#endif\n",
    ),
    "riscv": (None, "#define __BITS_PER_LONG (__SIZEOF_POINTER__ * 8)\n"),
    "arm": ("__ARMEB__", "#define __BITS_PER_LONG 32\n"),
    "arm64": ("__AARCH64EB__", "#define __BITS_PER_LONG (__CHAR_BIT__ * __SIZEOF_LONG__)\n"),
    "x86": (
        None,
        "#if defined(__x86_64__) && !defined(__ILP32__)\n#define __BITS_PER_LONG 64\n"
        "#else\n#define __BITS_PER_LONG 32\n#endif\n",
    ),
}
COMMON = {
    "include/linux/kconfig.h": "#include <generated/autoconf.h>\n",
    "include/uapi/linux/const.h": "#define __KS_AC(X, Y) (X##Y)\n#define _AC(X, Y) __KS_AC(X, Y)\n",
    "include/linux/byteorder/big_endian.h": (
        "#ifndef CONFIG_CPU_BIG_ENDIAN\n"
        "#warning inconsistent configuration, needs CONFIG_CPU_BIG_ENDIAN\n#endif\n"
        "#define KS_BYTE_ORDER 4321\n"
    ),
    "include/linux/byteorder/little_endian.h": (
        "#ifdef CONFIG_CPU_BIG_ENDIAN\n"
        "#warning inconsistent configuration, CONFIG_CPU_BIG_ENDIAN is set\n#endif\n"
        "#define KS_BYTE_ORDER 1234\n"
    ),
    "include/linux/bitsperlong.h": (
        "#include <asm/bitsperlong.h>\n#define BITS_PER_LONG __BITS_PER_LONG\n"
    ),
}
NAMES = ["THREAD_SIZE", "PAGE_SIZE", "PAGE_MASK", "BITS_PER_LONG", "KS_BYTE_ORDER"]


def _tree_files(srcarch: str) -> dict[str, str]:
    big, bits = SPELLINGS[srcarch]
    asm = f"arch/{srcarch}/include/asm"
    byteorder = "#include <linux/byteorder/little_endian.h>\n"
    if big:
        byteorder = (
            f"#ifdef {big}\n#include <linux/byteorder/big_endian.h>\n#else\n{byteorder}#endif\n"
        )
    return {
        **COMMON,
        f"{asm}/bitsperlong.h": bits,
        f"{asm}/byteorder.h": byteorder,
        f"{asm}/page.h": (
            "#include <uapi/linux/const.h>\n#include <asm/byteorder.h>\n"
            "#include <linux/bitsperlong.h>\n"
            "#define PAGE_SHIFT 12\n#define PAGE_SIZE (_AC(1, UL) << PAGE_SHIFT)\n"
            "#define PAGE_MASK (~(PAGE_SIZE - 1))\n"
        ),
        f"{asm}/thread_info.h": (
            "#include <asm/page.h>\n"
            "#ifdef CONFIG_64BIT\n#define THREAD_SIZE_ORDER 2\n"
            "#else\n#define THREAD_SIZE_ORDER 1\n#endif\n"
            "#define THREAD_SIZE (PAGE_SIZE << THREAD_SIZE_ORDER)\n"
        ),
    }


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    roots = {}
    for srcarch in SPELLINGS:
        root = roots[srcarch] = tmp_path_factory.mktemp(srcarch)
        for path, text in _tree_files(srcarch).items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
    return roots


def _gcc(tree: Path, srcarch: str, config_text: str, target: str, work: Path) -> dict:
    """gcc on the same headers, told what that target's gcc predefines."""
    model, defines = TARGETS[target]
    (work / "generated").mkdir(parents=True)
    (work / "generated" / "autoconf.h").write_text(
        "".join(f"#define {line[:-2]} 1\n" for line in config_text.splitlines())
    )
    dirs = [Path(f"arch/{srcarch}/include"), work, Path("include"), Path("include/uapi")]
    defines = {**defines, "__CHAR_BIT__": "8", "__KERNEL__": "1"}
    macros = gcc_macros(tree, dirs, defines, ["linux/kconfig.h"], ["asm/thread_info.h"])
    assert "warning" not in macros.text
    folded = gcc_fold(macros.text, NAMES, model)
    return {name: (found[0] if found else None) for name, found in folded.items()}


@pytest.mark.parametrize(("arch", "lines", "target", "bits", "order"), ROWS)
def test_values_follow_the_config_as_gcc_gives_them(
    trees, tmp_path, arch, lines, target, bits, order
) -> None:
    table, config = _config(arch, lines, tmp_path)
    result = analyse(DirectoryTree(trees[table.srcarch]), table, config, NAMES).result
    assert result.error is None, result.error
    assert [w for w in result.warnings if "inconsistent" in w] == []
    got = {name: result.constants[name].value for name in NAMES}
    assert (got["BITS_PER_LONG"], got["KS_BYTE_ORDER"]) == (bits, order)
    mask = (1 << bits) - 1
    assert got["PAGE_MASK"] == mask & ~4095  # ~(PAGE_SIZE - 1) in an unsigned long
    text = (tmp_path / ".config").read_text()
    assert got == _gcc(trees[table.srcarch], table.srcarch, text, target, tmp_path / "gcc")


# ------------------------------------------------------------- the table itself


@pytest.mark.parametrize("arch", [pytest.param(a, id=a.name) for a in ARCHES.values()])
def test_every_switch_setting_gives_a_consistent_target(arch) -> None:
    """Under every combination of the arch's switch symbols: one word size, one
    byte order, and the data model that goes with them."""
    symbols = sorted({s.symbol for s in arch.switches})
    for values in itertools.product("yn", repeat=len(symbols)):
        config = dict(zip(symbols, values, strict=True))
        macros = arch.predefined(config)
        word = macros["__SIZEOF_LONG__"]
        assert macros["__SIZEOF_POINTER__"] == word, config
        assert ("__LP64__" in macros) == (word == "8") == ("_LP64" in macros), config
        assert ("__ILP32__" in macros) == (word == "4"), config
        assert arch.data_model(config) == {"8": "LP64", "4": "ILP32"}[word]
        assert macros["__BYTE_ORDER__"] in ("__ORDER_LITTLE_ENDIAN__", "__ORDER_BIG_ENDIAN__")
        assert all(s.startswith("CONFIG_") for s in symbols)
