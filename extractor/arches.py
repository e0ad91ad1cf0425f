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

The record's fields, and the compiler target each entry derives from a config
(``Switch``), are in ``arches_target``; this module only fills them in.
"""

from __future__ import annotations

from .arches_target import (
    _ARM64_ENDIAN,
    _ARM_ENDIAN,
    _BIG_ENDIAN,
    _ILP32_BUILTINS,
    _LITTLE_ENDIAN,
    _LP64_BUILTINS,
    _MIPS_SWITCHES,
    _PPC_BUILTINS,
    _PPC_SWITCHES,
    _RISCV_WORD,
    _X86_WORD,
    Arch,
)
from .errors import UsageError

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
            # 2.6.24-rc1 to -rc3: "64-bit kernel" was a plain prompt, "default n",
            # whatever ARCH= said (a seed takes only where the prompt shows)
            kconfig_seed={"CONFIG_64BIT": "y"},
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
            # ARCH=s390 built the 31-bit kernel too: "64 bit kernel" was a prompt
            # with no default (so n) until 2.6.38, ARCH_S390X's until 2.6.16
            kconfig_seed={"CONFIG_64BIT": "y", "CONFIG_ARCH_S390X": "y"},
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
