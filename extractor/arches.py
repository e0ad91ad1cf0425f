"""The architecture table: one declarative entry per arch, nothing else.

In: an arch name from the command line.
Out: an ``Arch`` saying where its headers live in each era, its data model,
the macros its compiler predefines, the config symbols every build of it has,
the headers kernel code includes to reach the stack constants, and which
constants to report.

Every later stage reads these fields; no stage branches on an arch name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import UsageError

_LP64_BUILTINS = {
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


@dataclass(frozen=True)
class Arch:
    name: str
    #: the directory under arch/ (x86 for both x86_64 and i386)
    srcarch: str
    #: "LP64" or "ILP32"; the evaluator's data model
    model: str
    #: the include/asm-<name> directories that the pre-2.6.28 ``asm`` link
    #: pointed at, in the order the build preferred them
    legacy_asm: tuple[str, ...]
    #: macros the compiler predefines for this target
    builtins: Mapping[str, str]
    #: config symbols every build of this arch has
    base_config: Mapping[str, str]
    #: Kconfig int/hex values used when the tree carries no Kconfig files
    kconfig_defaults: Mapping[str, str]
    #: headers kernel code includes to reach the stack constants
    entries: tuple[str, ...]
    #: the constants reported by default, each only where a revision defines it
    constants: tuple[str, ...]
    #: profiles only this arch has (added to the common ones)
    profiles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def predefined(self) -> dict[str, str]:
        return {**_COMMON_BUILTINS, **self.builtins}


ARCHES: dict[str, Arch] = {
    arch.name: arch
    for arch in (
        Arch(
            name="x86_64",
            srcarch="x86",
            model="LP64",
            legacy_asm=("asm-x86", "asm-x86_64"),
            builtins={
                **_LP64_BUILTINS,
                **_LITTLE_ENDIAN,
                "__x86_64__": "1",
                "__x86_64": "1",
                "__amd64__": "1",
                "__amd64": "1",
            },
            base_config={"CONFIG_X86": "y", "CONFIG_X86_64": "y", "CONFIG_64BIT": "y"},
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
        ),
        Arch(
            name="i386",
            srcarch="x86",
            model="ILP32",
            legacy_asm=("asm-x86", "asm-i386"),
            builtins={
                **_ILP32_BUILTINS,
                **_LITTLE_ENDIAN,
                "__i386__": "1",
                "__i386": "1",
                "__i686__": "1",
            },
            base_config={"CONFIG_X86": "y", "CONFIG_X86_32": "y"},
            kconfig_defaults={"CONFIG_PAGE_SHIFT": "12", "CONFIG_PAGE_OFFSET": "0xC0000000"},
            entries=("asm/page.h", "asm/thread_info.h"),
            constants=("THREAD_SIZE", "THREAD_ORDER", "THREAD_SIZE_ORDER", "PAGE_SIZE"),
        ),
    )
}


def arch(name: str) -> Arch:
    try:
        return ARCHES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHES))
        raise UsageError(f"unknown arch {name!r} (known: {known})") from None
