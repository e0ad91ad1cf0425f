"""An arch's record, and the compiler target it derives from a config.

In: a config's symbols (``.config``, a profile, or the arch's base config).
Out: from an ``Arch``, the macros gcc predefines for a build under those symbols
(``Arch.predefined``) and so its data model (``Arch.data_model``).

``Arch`` is what an entry of the table (``arches``) says about one architecture;
this module holds its fields and the pieces entries are built from: the macro
sets gcc predefines (for every Linux target, per data model, per byte order,
per arch family) and the ``Switch``es that choose between them.

The target follows the config the way the arch Makefile makes it: a ``Switch``
names the config symbol behind ``-m64``/``-m32``, ``-EB``/``-EL`` or ``-mabi=``
and the macros gcc predefines either way, so a ``.config`` for 32-bit
little-endian MIPS is read with ``__MIPSEL__`` and ``_MIPS_SZLONG`` 32, and an
int that depends on ``sizeof(long)`` comes out as that gcc gives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Switch:
    """A config symbol that changes the compiler's target, as the arch Makefile's
    ``-m64``, ``-EL`` or ``-mabi=`` do: the macros gcc predefines when it is set
    (``y``) and when it is not. ``None`` undefines a macro set before."""

    symbol: str
    on: Mapping[str, str | None]
    off: Mapping[str, str | None] = field(default_factory=dict)


_LP64_BUILTINS = {
    "__SIZEOF_SHORT__": "2",
    "__LP64__": "1",
    "_LP64": "1",
    "__SIZEOF_INT__": "4",
    "__SIZEOF_LONG__": "8",
    "__SIZEOF_LONG_LONG__": "8",
    "__SIZEOF_POINTER__": "8",
    "__SIZEOF_SIZE_T__": "8",
    "__CHAR_BIT__": "8",
}
_ILP32_BUILTINS = {
    "__SIZEOF_SHORT__": "2",
    "__ILP32__": "1",
    "__SIZEOF_INT__": "4",
    "__SIZEOF_LONG__": "4",
    "__SIZEOF_LONG_LONG__": "8",
    "__SIZEOF_POINTER__": "4",
    "__SIZEOF_SIZE_T__": "4",
    "__CHAR_BIT__": "8",
}
_LITTLE_ENDIAN = {
    "__ORDER_LITTLE_ENDIAN__": "1234",
    "__ORDER_BIG_ENDIAN__": "4321",
    "__BYTE_ORDER__": "__ORDER_LITTLE_ENDIAN__",
}
_BIG_ENDIAN = {
    "__ORDER_LITTLE_ENDIAN__": "1234",
    "__ORDER_BIG_ENDIAN__": "4321",
    "__BYTE_ORDER__": "__ORDER_BIG_ENDIAN__",
}
#: what any Linux-targeting gcc predefines, whatever the arch
_COMMON_BUILTINS = {
    "__linux__": "1",
    "__linux": "1",
    "__unix__": "1",
    "__ELF__": "1",
    "__STDC__": "1",
    "__STDC_VERSION__": "201112L",
    "__STDC_HOSTED__": "0",
    "__KERNEL__": "1",
}


#: what gcc predefines for every powerpc target (the rest: _PPC_SWITCHES)
_PPC_BUILTINS = {"__powerpc__": "1", "__PPC__": "1", "_ARCH_PPC": "1", "__CHAR_UNSIGNED__": "1"}


def _either(symbol: str, on: Mapping[str, str], off: Mapping[str, str]) -> Switch:
    """A switch between two macro sets: each side undefines what only the other has."""
    return Switch(symbol, {**dict.fromkeys(off, None), **on}, {**dict.fromkeys(on, None), **off})


# x86: kbuild passes -m64 where CONFIG_X86_64 (ARCH=x86_64 before 2.6.24), else -m32
_X86_WORD = _either(
    "CONFIG_X86_64",
    {**_LP64_BUILTINS, "__x86_64__": "1", "__x86_64": "1", "__amd64__": "1", "__amd64": "1"},
    {**_ILP32_BUILTINS, "__i386__": "1", "__i386": "1", "__i686__": "1"},
)
# powerpc: -m64 where CONFIG_PPC64; -mlittle-endian where CONFIG_CPU_LITTLE_ENDIAN
# (a tree before the endianness choice, 3.13, has neither and is big-endian).
# gcc's Linux targets: 64-bit adds __powerpc64__ and the AIX-style ELFv1 calling
# convention (_CALL_ELF 1); 32-bit adds __powerpc and the SysV one; ELFv2
# (_CALL_ELF 2) comes with little-endian, or with CONFIG_PPC64_ELF_ABI_V2 (6.x).
_PPC_SWITCHES = (
    _either(
        "CONFIG_PPC64",
        {
            **_LP64_BUILTINS,
            "__powerpc64__": "1",
            "__PPC64__": "1",
            "_ARCH_PPC64": "1",
            "_CALL_ELF": "1",
        },
        {**_ILP32_BUILTINS, "__powerpc": "1", "__PPC": "1", "_CALL_SYSV": "1"},
    ),
    Switch(
        "CONFIG_CPU_LITTLE_ENDIAN",
        {
            **_LITTLE_ENDIAN,
            "__LITTLE_ENDIAN__": "1",
            "_LITTLE_ENDIAN": "1",
            "__BIG_ENDIAN__": None,
            "_BIG_ENDIAN": None,
            "_CALL_ELF": "2",
        },
        {
            **_BIG_ENDIAN,
            "__BIG_ENDIAN__": "1",
            "_BIG_ENDIAN": "1",
            "__LITTLE_ENDIAN__": None,
            "_LITTLE_ENDIAN": None,
        },
    ),
    Switch("CONFIG_PPC64_ELF_ABI_V2", {"_CALL_ELF": "2"}),
)
# mips: -mabi=64 where CONFIG_64BIT, else -mabi=32; -EL where
# CONFIG_CPU_LITTLE_ENDIAN, else -EB (gcc's default). What gcc's mips.h defines
# for each: the ISA level, the ABI, the type sizes, R4000/R3000, MIPSEB/MIPSEL;
# -msoft-float, always passed, gives 16 FP registers of a format on o32, 32 on n64.
_MIPS_SWITCHES = (
    _either(
        "CONFIG_64BIT",
        {
            **_LP64_BUILTINS,
            "__mips": "64",
            "__mips64": "1",
            "_MIPS_ISA": "_MIPS_ISA_MIPS64",
            "_ABI64": "3",
            "_MIPS_SIM": "_ABI64",
            "_MIPS_SZLONG": "64",
            "_MIPS_SZPTR": "64",
            "_MIPS_FPSET": "32",
            "R4000": "1",
            "_R4000": "1",
            "__R4000": "1",
            "__R4000__": "1",
        },
        {
            **_ILP32_BUILTINS,
            "__mips": "32",
            "_MIPS_ISA": "_MIPS_ISA_MIPS32",
            "_ABIO32": "1",
            "_MIPS_SIM": "_ABIO32",
            "_MIPS_SZLONG": "32",
            "_MIPS_SZPTR": "32",
            "_MIPS_FPSET": "16",
            "R3000": "1",
            "_R3000": "1",
            "__R3000": "1",
            "__R3000__": "1",
        },
    ),
    _either(
        "CONFIG_CPU_LITTLE_ENDIAN",
        {**_LITTLE_ENDIAN, "MIPSEL": "1", "__MIPSEL": "1", "__MIPSEL__": "1", "_MIPSEL": "1"},
        {**_BIG_ENDIAN, "MIPSEB": "1", "__MIPSEB": "1", "__MIPSEB__": "1", "_MIPSEB": "1"},
    ),
    # -march=mips32 / mips32r2 / ...: the ISA revision
    *(Switch(f"CONFIG_CPU_MIPSR{rev}", {"__mips_isa_rev": rev}) for rev in ("1", "2", "5", "6")),
)
# arm and arm64: -mbig-endian where CONFIG_CPU_BIG_ENDIAN, else little-endian
_ARM_ENDIAN = _either(
    "CONFIG_CPU_BIG_ENDIAN",
    {**_BIG_ENDIAN, "__ARMEB__": "1", "__ARM_BIG_ENDIAN": "1"},
    {**_LITTLE_ENDIAN, "__ARMEL__": "1"},
)
_ARM64_ENDIAN = _either(
    "CONFIG_CPU_BIG_ENDIAN",
    {**_BIG_ENDIAN, "__AARCH64EB__": "1", "__ARM_BIG_ENDIAN": "1"},
    {**_LITTLE_ENDIAN, "__AARCH64EL__": "1"},
)
# riscv: -mabi=lp64 where CONFIG_64BIT (ARCH_RV64I), else -mabi=ilp32
_RISCV_WORD = _either(
    "CONFIG_64BIT",
    {**_LP64_BUILTINS, "__riscv_xlen": "64"},
    {**_ILP32_BUILTINS, "__riscv_xlen": "32"},
)


@dataclass(frozen=True)
class Arch:
    name: str
    #: the directory under arch/ (x86 for both x86_64 and i386)
    srcarch: str
    #: the include/asm-<name> directories that the pre-2.6.28 ``asm`` link
    #: pointed at, in the order the build preferred them
    legacy_asm: tuple[str, ...]
    #: macros the compiler predefines for every target of this arch (and any the
    #: arch Makefile passes with -D to every file)
    builtins: Mapping[str, str]
    #: config symbols a build of this arch has when no ``.config`` is given
    base_config: Mapping[str, str]
    #: Kconfig int/hex values used when the tree carries no Kconfig files
    kconfig_defaults: Mapping[str, str]
    #: headers kernel code includes to reach the stack constants
    entries: tuple[str, ...]
    #: the constants reported by default, each only where a revision defines it
    constants: tuple[str, ...]
    #: profiles only this arch has (added to the common ones; one with a common
    #: name replaces it for this arch)
    profiles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: directories under the arch's asm directory that the arch Makefile adds
    #: to the include path after kbuild's own (x86's old ``mach-default``,
    #: mips's ``mach-generic``), where the tree has them
    mach_dirs: tuple[str, ...] = ()
    #: the base config's symbols that are Kconfig defaults a real config may set
    #: otherwise (a choice's default, a ``default y``), not what makes the arch:
    #: a result that depends on one names it in a warning
    assumed: tuple[str, ...] = ()
    #: config symbols that change the target, applied in order after ``builtins``
    switches: tuple[Switch, ...] = ()
    #: the ``ARCH=`` a build of it is made with, where that is not ``name``
    make_arch: str | None = None
    #: what a tree's Kconfig needs beyond ``ARCH=`` to build this arch (powerpc64's
    #: ``PPC64=y``): the seed of its alldefconfig (see ``kconfig.alldefconfig``)
    kconfig_seed: Mapping[str, str] = field(default_factory=dict)

    def predefined(self, symbols: Mapping[str, str] | None = None) -> dict[str, str]:
        """What gcc predefines for a build under ``symbols`` (the base config if None)."""
        if symbols is None:
            symbols = self.base_config
        out = {**_COMMON_BUILTINS, **self.builtins}
        for switch in self.switches:
            chosen = switch.on if symbols.get(switch.symbol) == "y" else switch.off
            for macro, value in chosen.items():
                if value is None:
                    out.pop(macro, None)
                else:
                    out[macro] = value
        return out

    def data_model(self, symbols: Mapping[str, str] | None = None) -> str:
        """ "LP64" or "ILP32": the evaluator's data model under ``symbols``."""
        return "LP64" if self.predefined(symbols).get("__SIZEOF_LONG__") == "8" else "ILP32"

    @property
    def model(self) -> str:
        """The data model of the base config."""
        return self.data_model()
