"""What a correct preprocessor and evaluator must find in fixtures/eras.

In: nothing; this module is data.  Out: ``ROWS``, one row per (era, arch,
config), each with the macro values that /work/shared/KERNEL-FACTS.md says
that kind of tree has.  ``tests/test_fixture_facts_gcc.py`` checks the
fixtures against this table with gcc; the pipeline tests reuse it unchanged.

A value is an int (the macro folds to it, evaluated as C), ``None`` (no such
macro under that config: renamed, removed, or belonging to the other arch), or
``NOT_A_MACRO`` (the name exists, but as an enum member, so a tool reports it
as "not a macro" and does not fail).
"""

from __future__ import annotations

NOT_A_MACRO = "not a macro"

#: the eras, oldest first: one directory each under fixtures/eras/
ERAS = [
    "2.6.11",
    "2.6.20",
    "2.6.25",
    "3.2",
    "3.14",
    "3.15",
    "4.4",
    "4.10",
    "4.20",
    "5.0",
    "5.15",
    "6.12",
]

#: the autoconf.h a build would write for each (arch, config) row
CONFIG_SYMBOLS: dict[tuple[str, str], dict[str, int]] = {
    ("x86_64", "default"): {"CONFIG_X86": 1, "CONFIG_X86_64": 1, "CONFIG_64BIT": 1},
    ("x86_64", "kasan"): {
        "CONFIG_X86": 1,
        "CONFIG_X86_64": 1,
        "CONFIG_64BIT": 1,
        "CONFIG_KASAN": 1,
        "CONFIG_KASAN_GENERIC": 1,
    },
    ("x86_64", "kasan-extra"): {
        "CONFIG_X86": 1,
        "CONFIG_X86_64": 1,
        "CONFIG_64BIT": 1,
        "CONFIG_KASAN": 1,
        "CONFIG_KASAN_GENERIC": 1,
        "CONFIG_KASAN_EXTRA": 1,
    },
    ("i386", "default"): {"CONFIG_X86": 1, "CONFIG_X86_32": 1},
    ("i386", "4kstacks"): {"CONFIG_X86": 1, "CONFIG_X86_32": 1, "CONFIG_4KSTACKS": 1},
}

#: Kconfig ints with a fixed default that every config of that era carries
KCONFIG_DEFAULTS: dict[str, dict[str, int]] = {
    "6.12": {"CONFIG_PAGE_SHIFT": 12},
}


def config_symbols(era: str, arch: str, config: str) -> dict[str, int]:
    """The CONFIG_* symbols (name -> value) of one row's autoconf.h."""
    return {**CONFIG_SYMBOLS[(arch, config)], **KCONFIG_DEFAULTS.get(era, {})}


# fmt: off
ROWS: list[tuple[str, str, str, dict[str, int | str | None]]] = [
    # --- 2.6.11: asm-x86_64, IRQ stack in pda.h, IST stacks in processor.h
    ("2.6.11", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096,
        "THREAD_ORDER": 1, "THREAD_SIZE": 8192, "THREAD_SIZE_ORDER": None,
        "IRQSTACK_ORDER": 2, "IRQSTACKSIZE": 16384, "IRQ_STACK_SIZE": None,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 5, "KASAN_STACK_ORDER": None}),
    ("2.6.11", "x86_64", "kasan", {"THREAD_SIZE": 8192, "IRQSTACKSIZE": 16384}),
    ("2.6.11", "x86_64", "kasan-extra", {"THREAD_SIZE": 8192}),
    ("2.6.11", "i386", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "THREAD_SIZE": 8192,
        "THREAD_ORDER": None, "THREAD_SIZE_ORDER": None, "IRQSTACKSIZE": None}),
    ("2.6.11", "i386", "4kstacks", {"THREAD_SIZE": 4096, "PAGE_SIZE": 4096}),

    # --- 2.6.20: the IRQ and IST stack macros moved to page.h
    ("2.6.20", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096,
        "THREAD_ORDER": 1, "THREAD_SIZE": 8192, "THREAD_SIZE_ORDER": None,
        "IRQSTACK_ORDER": 2, "IRQSTACKSIZE": 16384, "IRQ_STACK_SIZE": None,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 5, "KASAN_STACK_ORDER": None}),
    ("2.6.20", "x86_64", "kasan", {"THREAD_SIZE": 8192, "DEBUG_STKSZ": 8192}),
    ("2.6.20", "x86_64", "kasan-extra", {"THREAD_SIZE": 8192}),
    ("2.6.20", "i386", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "THREAD_SIZE": 8192,
        "THREAD_ORDER": None, "THREAD_SIZE_ORDER": None}),
    ("2.6.20", "i386", "4kstacks", {"THREAD_SIZE": 4096}),

    # --- 2.6.25: include/asm-x86, page.h dispatches on CONFIG_X86_32
    ("2.6.25", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096,
        "THREAD_ORDER": 1, "THREAD_SIZE": 8192, "THREAD_SIZE_ORDER": None,
        "IRQSTACK_ORDER": 2, "IRQSTACKSIZE": 16384, "IRQ_STACK_SIZE": None,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 5, "KASAN_STACK_ORDER": None}),
    ("2.6.25", "x86_64", "kasan", {"THREAD_SIZE": 8192}),
    ("2.6.25", "x86_64", "kasan-extra", {"THREAD_SIZE": 8192}),
    ("2.6.25", "i386", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "THREAD_SIZE": 8192,
        "THREAD_ORDER": None, "THREAD_SIZE_ORDER": None, "N_EXCEPTION_STACKS": None}),
    ("2.6.25", "i386", "4kstacks", {"THREAD_SIZE": 4096}),

    # --- 3.2: arch/x86/include/asm, page_types.h + page_{64,32}_types.h
    ("3.2", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096,
        "THREAD_ORDER": 1, "THREAD_SIZE": 8192, "THREAD_SIZE_ORDER": None,
        "IRQ_STACK_ORDER": 2, "IRQ_STACK_SIZE": 16384, "IRQSTACKSIZE": None,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 5, "KASAN_STACK_ORDER": None}),
    ("3.2", "x86_64", "kasan", {"THREAD_ORDER": 1, "THREAD_SIZE": 8192}),
    ("3.2", "x86_64", "kasan-extra", {"THREAD_SIZE": 8192}),
    ("3.2", "i386", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096,
        "THREAD_ORDER": 1, "THREAD_SIZE": 8192, "THREAD_SIZE_ORDER": None,
        "IRQ_STACK_SIZE": None, "N_EXCEPTION_STACKS": None}),
    # CONFIG_4KSTACKS is gone after 2.6.36: setting it changes nothing
    ("3.2", "i386", "4kstacks", {"THREAD_ORDER": 1, "THREAD_SIZE": 8192}),

    # --- 3.14: THREAD_ORDER renamed THREAD_SIZE_ORDER; _AC in uapi
    ("3.14", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096,
        "THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192, "THREAD_ORDER": None,
        "IRQ_STACK_ORDER": 2, "IRQ_STACK_SIZE": 16384,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 5, "KASAN_STACK_ORDER": None}),
    ("3.14", "x86_64", "kasan", {"THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192}),
    ("3.14", "x86_64", "kasan-extra", {"THREAD_SIZE": 8192}),
    ("3.14", "i386", "default", {
        "PAGE_SIZE": 4096, "THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192,
        "THREAD_ORDER": None}),
    ("3.14", "i386", "4kstacks", {"THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192}),

    # --- 3.15: x86_64 goes to 16 KiB
    ("3.15", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096,
        "THREAD_SIZE_ORDER": 2, "THREAD_SIZE": 16384, "THREAD_ORDER": None,
        "IRQ_STACK_ORDER": 2, "IRQ_STACK_SIZE": 16384,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 5, "KASAN_STACK_ORDER": None}),
    ("3.15", "x86_64", "kasan", {"THREAD_SIZE_ORDER": 2, "THREAD_SIZE": 16384}),
    ("3.15", "x86_64", "kasan-extra", {"THREAD_SIZE": 16384}),
    ("3.15", "i386", "default", {"THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192}),
    ("3.15", "i386", "4kstacks", {"THREAD_SIZE": 8192}),

    # --- 4.4: KASAN doubles every x86_64 stack; four IST stacks
    ("4.4", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "KASAN_STACK_ORDER": 0,
        "THREAD_SIZE_ORDER": 2, "THREAD_SIZE": 16384,
        "IRQ_STACK_ORDER": 2, "IRQ_STACK_SIZE": 16384,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 4}),
    ("4.4", "x86_64", "kasan", {
        "KASAN_STACK_ORDER": 1,
        "THREAD_SIZE_ORDER": 3, "THREAD_SIZE": 32768,
        "IRQ_STACK_ORDER": 3, "IRQ_STACK_SIZE": 32768,
        "EXCEPTION_STACK_ORDER": 1, "EXCEPTION_STKSZ": 8192,
        "DEBUG_STACK_ORDER": 2, "DEBUG_STKSZ": 16384,
        "N_EXCEPTION_STACKS": 4}),
    ("4.4", "x86_64", "kasan-extra", {"KASAN_STACK_ORDER": 1, "THREAD_SIZE": 32768}),
    ("4.4", "i386", "default", {
        "PAGE_SIZE": 4096, "THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192,
        "KASAN_STACK_ORDER": None}),
    ("4.4", "i386", "4kstacks", {"THREAD_SIZE": 8192}),

    # --- 4.10: same values as 4.4
    ("4.10", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "KASAN_STACK_ORDER": 0,
        "THREAD_SIZE_ORDER": 2, "THREAD_SIZE": 16384,
        "IRQ_STACK_ORDER": 2, "IRQ_STACK_SIZE": 16384,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 4}),
    ("4.10", "x86_64", "kasan", {
        "KASAN_STACK_ORDER": 1,
        "THREAD_SIZE_ORDER": 3, "THREAD_SIZE": 32768,
        "IRQ_STACK_ORDER": 3, "IRQ_STACK_SIZE": 32768,
        "EXCEPTION_STACK_ORDER": 1, "EXCEPTION_STKSZ": 8192,
        "DEBUG_STACK_ORDER": 2, "DEBUG_STKSZ": 16384,
        "N_EXCEPTION_STACKS": 4}),
    ("4.10", "x86_64", "kasan-extra", {"THREAD_SIZE": 32768}),
    ("4.10", "i386", "default", {"THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192}),
    ("4.10", "i386", "4kstacks", {"THREAD_SIZE": 8192}),

    # --- 4.20: mainline has no KASAN_EXTRA stack quadrupling
    ("4.20", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "KASAN_STACK_ORDER": 0,
        "THREAD_SIZE_ORDER": 2, "THREAD_SIZE": 16384,
        "IRQ_STACK_ORDER": 2, "IRQ_STACK_SIZE": 16384,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 4}),
    ("4.20", "x86_64", "kasan", {
        "KASAN_STACK_ORDER": 1, "THREAD_SIZE_ORDER": 3, "THREAD_SIZE": 32768,
        "EXCEPTION_STKSZ": 8192, "DEBUG_STKSZ": 16384, "IRQ_STACK_SIZE": 32768}),
    ("4.20", "x86_64", "kasan-extra", {
        "KASAN_STACK_ORDER": 1, "THREAD_SIZE_ORDER": 3, "THREAD_SIZE": 32768,
        "EXCEPTION_STKSZ": 8192, "DEBUG_STKSZ": 16384, "IRQ_STACK_SIZE": 32768}),
    ("4.20", "i386", "default", {"THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192}),
    ("4.20", "i386", "4kstacks", {"THREAD_SIZE": 8192}),

    # --- 5.0: KASAN_EXTRA quadruples; DEBUG_STKSZ still a macro
    ("5.0", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "KASAN_STACK_ORDER": 0,
        "THREAD_SIZE_ORDER": 2, "THREAD_SIZE": 16384,
        "IRQ_STACK_ORDER": 2, "IRQ_STACK_SIZE": 16384,
        "EXCEPTION_STACK_ORDER": 0, "EXCEPTION_STKSZ": 4096,
        "DEBUG_STACK_ORDER": 1, "DEBUG_STKSZ": 8192,
        "N_EXCEPTION_STACKS": 4}),
    ("5.0", "x86_64", "kasan", {
        "KASAN_STACK_ORDER": 1, "THREAD_SIZE_ORDER": 3, "THREAD_SIZE": 32768,
        "IRQ_STACK_ORDER": 3, "IRQ_STACK_SIZE": 32768,
        "EXCEPTION_STACK_ORDER": 1, "EXCEPTION_STKSZ": 8192,
        "DEBUG_STACK_ORDER": 2, "DEBUG_STKSZ": 16384}),
    ("5.0", "x86_64", "kasan-extra", {
        "KASAN_STACK_ORDER": 2, "THREAD_SIZE_ORDER": 4, "THREAD_SIZE": 65536,
        "IRQ_STACK_ORDER": 4, "IRQ_STACK_SIZE": 65536,
        "EXCEPTION_STACK_ORDER": 2, "EXCEPTION_STKSZ": 16384,
        "DEBUG_STACK_ORDER": 3, "DEBUG_STKSZ": 32768,
        "N_EXCEPTION_STACKS": 4}),
    ("5.0", "i386", "default", {"THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192}),
    ("5.0", "i386", "4kstacks", {"THREAD_SIZE": 8192}),

    # --- 5.15: no DEBUG_STKSZ, exception stacks order 1, N_EXCEPTION_STACKS an enum
    ("5.15", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "KASAN_STACK_ORDER": 0,
        "THREAD_SIZE_ORDER": 2, "THREAD_SIZE": 16384,
        "IRQ_STACK_ORDER": 2, "IRQ_STACK_SIZE": 16384,
        "EXCEPTION_STACK_ORDER": 1, "EXCEPTION_STKSZ": 8192,
        "DEBUG_STACK_ORDER": None, "DEBUG_STKSZ": None,
        "N_EXCEPTION_STACKS": NOT_A_MACRO}),
    ("5.15", "x86_64", "kasan", {
        "KASAN_STACK_ORDER": 1, "THREAD_SIZE_ORDER": 3, "THREAD_SIZE": 32768,
        "IRQ_STACK_ORDER": 3, "IRQ_STACK_SIZE": 32768,
        "EXCEPTION_STACK_ORDER": 2, "EXCEPTION_STKSZ": 16384,
        "DEBUG_STKSZ": None, "N_EXCEPTION_STACKS": NOT_A_MACRO}),
    ("5.15", "x86_64", "kasan-extra", {
        "KASAN_STACK_ORDER": 1, "THREAD_SIZE": 32768, "EXCEPTION_STKSZ": 16384}),
    ("5.15", "i386", "default", {
        "PAGE_SIZE": 4096, "THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192,
        "KASAN_STACK_ORDER": None, "N_EXCEPTION_STACKS": None}),
    ("5.15", "i386", "4kstacks", {"THREAD_SIZE": 8192}),

    # --- 6.12: PAGE_SHIFT is CONFIG_PAGE_SHIFT (12 on x86)
    ("6.12", "x86_64", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "KASAN_STACK_ORDER": 0,
        "THREAD_SIZE_ORDER": 2, "THREAD_SIZE": 16384,
        "IRQ_STACK_ORDER": 2, "IRQ_STACK_SIZE": 16384,
        "EXCEPTION_STACK_ORDER": 1, "EXCEPTION_STKSZ": 8192,
        "DEBUG_STACK_ORDER": None, "DEBUG_STKSZ": None,
        "N_EXCEPTION_STACKS": NOT_A_MACRO}),
    ("6.12", "x86_64", "kasan", {
        "PAGE_SHIFT": 12, "KASAN_STACK_ORDER": 1,
        "THREAD_SIZE_ORDER": 3, "THREAD_SIZE": 32768,
        "IRQ_STACK_ORDER": 3, "IRQ_STACK_SIZE": 32768,
        "EXCEPTION_STACK_ORDER": 2, "EXCEPTION_STKSZ": 16384,
        "DEBUG_STKSZ": None, "N_EXCEPTION_STACKS": NOT_A_MACRO}),
    ("6.12", "x86_64", "kasan-extra", {"THREAD_SIZE": 32768}),
    ("6.12", "i386", "default", {
        "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "THREAD_SIZE_ORDER": 1, "THREAD_SIZE": 8192}),
    ("6.12", "i386", "4kstacks", {"THREAD_SIZE": 8192}),
]
# fmt: on
