"""The architecture table: one declarative entry per arch, nothing else.

In: an arch name from the command line.
Out: an ``Arch`` saying where its headers live in each era, the macros its
compiler predefines under a config (and so its data model: ILP32 or LP64), the
config symbols a build of it has when no ``.config`` says otherwise,
the Kconfig int values a build derives, the headers kernel code includes to
reach the stack constants, which constants to report, and its own profiles.

Every later stage reads these fields; no stage branches on an arch name.

Kconfig values (``kconfig_defaults`` and the int symbols inside profiles) stand
in for the arch's Kconfig files, which header-only trees do not carry: each is
the Kconfig ``default`` that applies under the entry's base config (or under the
profile that changes it), and the comment next to it says which default that is.
A profile that switches a choice (page size) switches the ints derived from it
too, because nothing else would.

The target follows the config the way the arch Makefile makes it: a ``Switch``
names the config symbol behind ``-m64``/``-m32``, ``-EB``/``-EL`` or ``-mabi=``
and the macros gcc predefines either way, so a ``.config`` for 32-bit
little-endian MIPS is read with ``__MIPSEL__`` and ``_MIPS_SZLONG`` 32, and an
int that depends on ``sizeof(long)`` comes out as that gcc gives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import UsageError


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

#: arm64's page-size choice and the ints derived from it, per granule. From 6.9
#: the generic CONFIG_PAGE_SHIFT (mm/Kconfig: 12/14/16 for PAGE_SIZE_4KB/16KB/64KB)
#: replaces CONFIG_ARM64_PAGE_SHIFT (arch/arm64/Kconfig: 16 if ARM64_64K_PAGES,
#: 14 if ARM64_16K_PAGES, else 12); both are set so that either era reads right.
_ARM64_GRANULES = ("4K", "16K", "64K")


def _arm64_pages(granule: str) -> dict[str, str]:
    shift = {"4K": "12", "16K": "14", "64K": "16"}[granule]
    symbols = {f"CONFIG_ARM64_{g}_PAGES": "y" if g == granule else "n" for g in _ARM64_GRANULES}
    symbols |= {f"CONFIG_PAGE_SIZE_{g}B": "y" if g == granule else "n" for g in _ARM64_GRANULES}
    return symbols | {"CONFIG_ARM64_PAGE_SHIFT": shift, "CONFIG_PAGE_SHIFT": shift}


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


ARCHES: dict[str, Arch] = {
    arch.name: arch
    for arch in (
        Arch(
            name="x86_64",
            srcarch="x86",
            legacy_asm=("asm-x86", "asm-x86_64"),
            builtins=_LITTLE_ENDIAN,
            switches=(_X86_WORD,),
            base_config={"CONFIG_X86": "y", "CONFIG_X86_64": "y", "CONFIG_64BIT": "y"},
            # mm/Kconfig (6.9+): 12 under PAGE_SIZE_4KB, x86's only page size
            kconfig_defaults={"CONFIG_PAGE_SHIFT": "12"},
            entries=("asm/page.h", "asm/thread_info.h"),
            constants=(
                "THREAD_SIZE",
                "THREAD_ORDER",
                "THREAD_SIZE_ORDER",
                "KASAN_STACK_ORDER",
                "IRQSTACKSIZE",
                "IRQ_STACK_SIZE",
                "EXCEPTION_STKSZ",
                "DEBUG_STKSZ",
                "N_EXCEPTION_STACKS",
                "PAGE_SIZE",
            ),
            mach_dirs=("mach-default",),
        ),
        Arch(
            name="i386",
            srcarch="x86",
            legacy_asm=("asm-x86", "asm-i386"),
            builtins=_LITTLE_ENDIAN,
            switches=(_X86_WORD,),
            # "n" for the 64-bit symbols, as a real .config says: a tree's Kconfig
            # would otherwise derive them from SRCARCH, which is x86 for both
            base_config={
                "CONFIG_X86": "y",
                "CONFIG_X86_32": "y",
                "CONFIG_64BIT": "n",
                "CONFIG_X86_64": "n",
            },
            kconfig_defaults={
                # mm/Kconfig (6.9+): 12 under PAGE_SIZE_4KB
                "CONFIG_PAGE_SHIFT": "12",
                # arch/x86/Kconfig: 0xC0000000 under the default VMSPLIT_3G
                "CONFIG_PAGE_OFFSET": "0xC0000000",
            },
            entries=("asm/page.h", "asm/thread_info.h"),
            constants=("THREAD_SIZE", "THREAD_ORDER", "THREAD_SIZE_ORDER", "PAGE_SIZE"),
            mach_dirs=("mach-default",),
        ),
        Arch(
            name="arm64",
            srcarch="arm64",
            legacy_asm=(),  # arm64 arrived in 3.7 with arch/arm64/include
            builtins={
                **_LP64_BUILTINS,
                "__aarch64__": "1",
                "__ARM_64BIT_STATE": "1",
                "__ARM_ARCH": "8",
                "__ARM_ARCH_8A": "1",
                "__CHAR_UNSIGNED__": "1",
            },
            base_config={
                "CONFIG_ARM64": "y",
                "CONFIG_64BIT": "y",
                # the page-size choice: "default ARM64_4K_PAGES"
                "CONFIG_ARM64_4K_PAGES": "y",
                "CONFIG_PAGE_SIZE_4KB": "y",
                # VMAP_STACK: "default y" where the arch has it (4.14+),
                # mandatory by 6.19
                "CONFIG_VMAP_STACK": "y",
            },
            kconfig_defaults={
                # arch/arm64/Kconfig (4.14-6.8): "default 12" under ARM64_4K_PAGES
                "CONFIG_ARM64_PAGE_SHIFT": "12",
                # mm/Kconfig (6.9+): "default 12 if PAGE_SIZE_4KB"
                "CONFIG_PAGE_SHIFT": "12",
            },
            # THREAD_SIZE is in asm/thread_info.h up to 4.12, in asm/memory.h after
            entries=("asm/page.h", "asm/memory.h", "asm/thread_info.h"),
            constants=(
                "THREAD_SIZE",
                "THREAD_SHIFT",
                "MIN_THREAD_SHIFT",
                "THREAD_SIZE_ORDER",
                "IRQ_STACK_SIZE",
                "OVERFLOW_STACK_SIZE",
                "SDEI_STACK_SIZE",
                "PAGE_SIZE",
            ),
            profiles={
                "16k-pages": _arm64_pages("16K"),
                "64k-pages": _arm64_pages("64K"),
                # a tag-based KASAN build carries its mode and not GENERIC; from
                # 5.11 the stack doubling tests GENERIC || SW_TAGS, so HW tags
                # never double it
                "kasan-sw-tags": {"CONFIG_KASAN": "y", "CONFIG_KASAN_SW_TAGS": "y"},
                "kasan-hw-tags": {"CONFIG_KASAN": "y", "CONFIG_KASAN_HW_TAGS": "y"},
                "no-vmap-stack": {"CONFIG_VMAP_STACK": "n"},
            },
            assumed=("CONFIG_ARM64_4K_PAGES", "CONFIG_PAGE_SIZE_4KB", "CONFIG_VMAP_STACK"),
            switches=(_ARM64_ENDIAN,),
        ),
        Arch(
            name="arm",
            srcarch="arm",
            legacy_asm=("asm-arm",),
            builtins={
                **_ILP32_BUILTINS,
                # an ARMv7-A EABI target (gcc -march=armv7-a)
                "__arm__": "1",
                "__ARM_EABI__": "1",
                "__ARM_ARCH": "7",
                "__ARM_ARCH_7A__": "1",
                "__CHAR_UNSIGNED__": "1",
                # arch/arm/Makefile passes it to every file: the CPU's architecture
                "__LINUX_ARM_ARCH__": "7",
            },
            base_config={
                "CONFIG_ARM": "y",
                "CONFIG_MMU": "y",
                "CONFIG_AEABI": "y",
                # what CPU_V7 selects; page.h needs a user copy model
                "CONFIG_CPU_V7": "y",
                "CONFIG_CPU_32v7": "y",
                "CONFIG_CPU_COPY_V6": "y",
                "CONFIG_CPU_CACHE_V7": "y",
                "CONFIG_CPU_TLB_V7": "y",
                "CONFIG_CPU_ABRT_EV7": "y",
                "CONFIG_CPU_PABRT_V7": "y",
                "CONFIG_CPU_HAS_ASID": "y",
            },
            # mm/Kconfig (6.9+): "default 12 if PAGE_SIZE_4KB", arm's only page size
            kconfig_defaults={"CONFIG_PAGE_SHIFT": "12"},
            entries=("asm/page.h", "asm/thread_info.h"),
            constants=("THREAD_SIZE", "THREAD_SIZE_ORDER", "OVERFLOW_STACK_SIZE", "PAGE_SIZE"),
            assumed=(
                "CONFIG_MMU",
                "CONFIG_AEABI",
                "CONFIG_CPU_V7",
                "CONFIG_CPU_32v7",
                "CONFIG_CPU_COPY_V6",
                "CONFIG_CPU_CACHE_V7",
                "CONFIG_CPU_TLB_V7",
                "CONFIG_CPU_ABRT_EV7",
                "CONFIG_CPU_PABRT_V7",
                "CONFIG_CPU_HAS_ASID",
            ),
            switches=(_ARM_ENDIAN,),
        ),
        Arch(
            name="riscv",
            srcarch="riscv",
            legacy_asm=(),  # riscv arrived in 4.15 with arch/riscv/include
            builtins={
                **_LITTLE_ENDIAN,
                # the kernel's -mcmodel=medany, soft float, compressed instructions
                "__riscv": "1",
                "__riscv_cmodel_medany": "1",
                "__riscv_float_abi_soft": "1",
                "__riscv_compressed": "1",
            },
            base_config={
                "CONFIG_RISCV": "y",
                "CONFIG_64BIT": "y",
                "CONFIG_MMU": "y",
                "CONFIG_PAGE_SIZE_4KB": "y",
                # VMAP_STACK: "default y"; riscv has it with MMU && 64BIT (5.18+)
                "CONFIG_VMAP_STACK": "y",
            },
            kconfig_defaults={
                # mm/Kconfig (6.9+): "default 12 if PAGE_SIZE_4KB", riscv's only size
                "CONFIG_PAGE_SHIFT": "12",
                # arch/riscv/Kconfig: "default 2" for 64BIT. Between its arrival and
                # the fix that moved KASAN back into the header (6.12.y), the
                # default was "3 if 64BIT && KASAN" and the header added nothing;
                # that era's kasan value needs --set CONFIG_THREAD_SIZE_ORDER=3.
                "CONFIG_THREAD_SIZE_ORDER": "2",
            },
            entries=("asm/page.h", "asm/thread_info.h"),
            constants=(
                "THREAD_SIZE",
                "THREAD_SIZE_ORDER",
                "THREAD_SHIFT",
                "KASAN_STACK_ORDER",
                "IRQ_STACK_SIZE",
                "OVERFLOW_STACK_SIZE",
                "PAGE_SIZE",
            ),
            # the base-ISA choice's "default ARCH_RV64I", which makes 64BIT
            assumed=("CONFIG_64BIT", "CONFIG_MMU", "CONFIG_PAGE_SIZE_4KB", "CONFIG_VMAP_STACK"),
            switches=(_RISCV_WORD,),
        ),
        Arch(
            name="powerpc64",
            srcarch="powerpc",
            legacy_asm=("asm-powerpc", "asm-ppc64"),
            builtins=_PPC_BUILTINS,
            base_config={
                "CONFIG_PPC": "y",
                "CONFIG_PPC64": "y",
                "CONFIG_PPC32": "n",
                "CONFIG_64BIT": "y",
                "CONFIG_PPC_BOOK3S": "y",
                "CONFIG_PPC_BOOK3S_64": "y",
                "CONFIG_CPU_BIG_ENDIAN": "y",
                # the page-size choice: "default PPC_64K_PAGES if PPC_BOOK3S_64"
                "CONFIG_PPC_64K_PAGES": "y",
                "CONFIG_PAGE_SIZE_64KB": "y",
                # no platform (PSERIES/POWERNV): see CONFIG_THREAD_SHIFT below
            },
            kconfig_defaults={
                # arch/powerpc/Kconfig (up to 6.8): "default 16 if PPC_64K_PAGES"
                "CONFIG_PPC_PAGE_SHIFT": "16",
                # mm/Kconfig (6.9+): "default 16 if PAGE_SIZE_64KB"
                "CONFIG_PAGE_SHIFT": "16",
                # arch/powerpc/Kconfig: "default 14 if PPC64". From 6.8 a PSERIES
                # or POWERNV build gets "15"; the base config selects neither.
                "CONFIG_THREAD_SHIFT": "14",
            },
            entries=("asm/page.h", "asm/thread_info.h"),
            constants=(
                "THREAD_SIZE",
                "THREAD_SHIFT",
                "MIN_THREAD_SHIFT",
                "THREAD_SIZE_ORDER",
                "PAGE_SIZE",
            ),
            make_arch="powerpc",
            kconfig_seed={"CONFIG_PPC64": "y"},
            profiles={
                "4k-pages": {
                    "CONFIG_PPC_64K_PAGES": "n",
                    "CONFIG_PAGE_SIZE_64KB": "n",
                    "CONFIG_PPC_4K_PAGES": "y",
                    "CONFIG_PAGE_SIZE_4KB": "y",
                    # the same two defaults under PPC_4K_PAGES: 12
                    "CONFIG_PPC_PAGE_SHIFT": "12",
                    "CONFIG_PAGE_SHIFT": "12",
                },
            },
            assumed=(
                "CONFIG_PPC_BOOK3S",
                "CONFIG_PPC_BOOK3S_64",
                "CONFIG_CPU_BIG_ENDIAN",
                "CONFIG_PPC_64K_PAGES",
                "CONFIG_PAGE_SIZE_64KB",
            ),
            switches=_PPC_SWITCHES,
        ),
        Arch(
            name="powerpc",
            srcarch="powerpc",
            legacy_asm=("asm-powerpc", "asm-ppc"),
            builtins=_PPC_BUILTINS,
            base_config={
                "CONFIG_PPC": "y",
                "CONFIG_PPC32": "y",
                # "n" as in a real .config: Kconfig alone cannot tell ppc32 from ppc64
                "CONFIG_PPC64": "n",
                "CONFIG_64BIT": "n",
                # the processor-type choice's default: "6xx/7xx/74xx" (book3s/32)
                "CONFIG_PPC_BOOK3S": "y",
                "CONFIG_PPC_BOOK3S_32": "y",
                "CONFIG_CPU_BIG_ENDIAN": "y",
                # the page-size choice: "default PPC_4K_PAGES"
                "CONFIG_PPC_4K_PAGES": "y",
                "CONFIG_PAGE_SIZE_4KB": "y",
                # VMAP_STACK: "default y"; book3s/32 has it (5.6+)
                "CONFIG_VMAP_STACK": "y",
            },
            kconfig_defaults={
                # arch/powerpc/Kconfig (up to 6.8): "default 12" under PPC_4K_PAGES
                "CONFIG_PPC_PAGE_SHIFT": "12",
                # mm/Kconfig (6.9+): "default 12 if PAGE_SIZE_4KB"
                "CONFIG_PAGE_SHIFT": "12",
                # arch/powerpc/Kconfig: "default 13" (not PPC64, not 256K pages)
                "CONFIG_THREAD_SHIFT": "13",
            },
            entries=("asm/page.h", "asm/thread_info.h"),
            constants=(
                "THREAD_SIZE",
                "THREAD_SHIFT",
                "MIN_THREAD_SHIFT",
                "THREAD_SIZE_ORDER",
                "PAGE_SIZE",
            ),
            assumed=(
                "CONFIG_PPC_BOOK3S",
                "CONFIG_PPC_BOOK3S_32",
                "CONFIG_CPU_BIG_ENDIAN",
                "CONFIG_PPC_4K_PAGES",
                "CONFIG_PAGE_SIZE_4KB",
                "CONFIG_VMAP_STACK",
            ),
            switches=_PPC_SWITCHES,
        ),
        Arch(
            name="s390",
            srcarch="s390",
            legacy_asm=("asm-s390",),
            builtins={
                **_LP64_BUILTINS,
                **_BIG_ENDIAN,
                # s390x: 64-bit z/Architecture
                "__s390__": "1",
                "__s390x__": "1",
                "__zarch__": "1",
                "__CHAR_UNSIGNED__": "1",
            },
            base_config={
                "CONFIG_S390": "y",
                "CONFIG_64BIT": "y",
                # arch/s390/Kconfig: "def_bool y"
                "CONFIG_CPU_BIG_ENDIAN": "y",
                "CONFIG_PAGE_SIZE_4KB": "y",
            },
            # mm/Kconfig (6.9+): "default 12 if PAGE_SIZE_4KB", s390's only size
            kconfig_defaults={"CONFIG_PAGE_SHIFT": "12"},
            entries=("asm/page.h", "asm/thread_info.h"),
            constants=("THREAD_SIZE", "THREAD_SIZE_ORDER", "BOOT_STACK_SIZE", "PAGE_SIZE"),
        ),
        Arch(
            name="loongarch",
            srcarch="loongarch",
            legacy_asm=(),  # loongarch arrived in 5.19 with arch/loongarch/include
            builtins={
                **_LP64_BUILTINS,
                **_LITTLE_ENDIAN,
                # loongarch64 with the kernel's -mabi=lp64s
                "__loongarch__": "1",
                "__loongarch64": "1",
                "__loongarch_grlen": "64",
                "__loongarch_lp64": "1",
                "__loongarch_soft_float": "1",
                "_ABILP64": "3",
                "_LOONGARCH_SIM": "_ABILP64",
                "_LOONGARCH_SZINT": "32",
                "_LOONGARCH_SZLONG": "64",
                "_LOONGARCH_SZPTR": "64",
            },
            base_config={
                "CONFIG_LOONGARCH": "y",
                "CONFIG_64BIT": "y",
                # the page-table-layout choice: "default 16KB_3LEVEL if 64BIT"
                "CONFIG_16KB_3LEVEL": "y",
                "CONFIG_PAGE_SIZE_16KB": "y",
                # asm/irq.h reaches rcupdate.h and srcu.h, which want their
                # flavours: SMP is "default y" on loongarch, so TREE_RCU and
                # TREE_SRCU (kernel/rcu/Kconfig: "default y if SMP")
                "CONFIG_SMP": "y",
                "CONFIG_TREE_RCU": "y",
                "CONFIG_TREE_SRCU": "y",
            },
            kconfig_defaults={
                # arch/loongarch/Kconfig (up to 6.8) and mm/Kconfig (6.9+):
                # 14 under PAGE_SIZE_16KB
                "CONFIG_PAGE_SHIFT": "14",
                # kernel/Kconfig.hz: the timer-frequency choice's "default HZ_250";
                # asm/irq.h reaches linux/jiffies.h, which refuses to go without it
                "CONFIG_HZ": "250",
            },
            entries=("asm/page.h", "asm/thread_info.h", "asm/irq.h"),
            constants=("THREAD_SIZE", "THREAD_SIZE_ORDER", "IRQ_STACK_SIZE", "PAGE_SIZE"),
            assumed=(
                "CONFIG_16KB_3LEVEL",
                "CONFIG_PAGE_SIZE_16KB",
                "CONFIG_SMP",
                "CONFIG_TREE_RCU",
                "CONFIG_TREE_SRCU",
            ),
        ),
        Arch(
            name="mips",
            srcarch="mips",
            legacy_asm=("asm-mips",),
            # with the base config: MIPS32r2, o32 ABI, big-endian (the Kconfig
            # default endianness)
            builtins={
                "__mips__": "1",
                "_mips": "1",
                "mips": "1",
                "_MIPS_SZINT": "32",
                "__mips_soft_float": "1",
            },
            base_config={
                "CONFIG_MIPS": "y",
                "CONFIG_32BIT": "y",
                "CONFIG_64BIT": "n",
                "CONFIG_CPU_MIPS32_R2": "y",
                "CONFIG_CPU_MIPS32": "y",
                "CONFIG_CPU_MIPSR2": "y",
                "CONFIG_CPU_BIG_ENDIAN": "y",
                # the page-size choice: "default PAGE_SIZE_4KB"
                "CONFIG_PAGE_SIZE_4KB": "y",
                # arch/mips/Kconfig: "select GENERIC_ATOMIC64 if !64BIT"
                "CONFIG_GENERIC_ATOMIC64": "y",
            },
            # mm/Kconfig (6.9+): "default 12 if PAGE_SIZE_4KB"
            kconfig_defaults={"CONFIG_PAGE_SHIFT": "12"},
            # the IRQ stack size is in asm/irq.h, which the others do not include
            entries=("asm/page.h", "asm/thread_info.h", "asm/irq.h"),
            constants=("THREAD_SIZE", "THREAD_SIZE_ORDER", "IRQ_STACK_SIZE", "PAGE_SIZE"),
            # a generic-platform build: arch/mips/Makefile puts mach-generic last
            # on every build; a board's own mach-<board> would come before it
            mach_dirs=("mach-generic",),
            assumed=(
                "CONFIG_32BIT",
                "CONFIG_64BIT",
                "CONFIG_CPU_MIPS32_R2",
                "CONFIG_CPU_MIPS32",
                "CONFIG_CPU_MIPSR2",
                "CONFIG_CPU_BIG_ENDIAN",
                "CONFIG_PAGE_SIZE_4KB",
                "CONFIG_GENERIC_ATOMIC64",
            ),
            switches=_MIPS_SWITCHES,
        ),
    )
}


def arch(name: str) -> Arch:
    try:
        return ARCHES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHES))
        raise UsageError(f"unknown arch {name!r} (known: {known})") from None
