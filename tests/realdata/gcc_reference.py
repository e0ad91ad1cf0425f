"""The reference kstack is compared against: GCC itself, not kstack's code.

In: a kernel header tree, an arch and a config.
Out: the macros GCC's preprocessor ends up with (``gcc -E -dM``), and the values GCC's
compiler gives those macros as C constants (``gcc -S``, read back from the assembly).

``prepare_gcc_build`` stands in for kbuild: it writes ``generated/autoconf.h`` from the
config, and, each time GCC stops on a missing header, either the ``asm/X.h`` ->
``asm-generic/X.h`` wrapper kbuild would have generated or an empty stand-in for a
header a source tree never has (asm-offsets and the like).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

GCC = "gcc"
DEFAULT_ENTRIES = ("asm/page.h", "asm/thread_info.h")
MAX_STAND_INS = 200
STAND_INS_FILE = "kstack-stand-ins.json"


class ArchSpec(NamedTuple):
    srcarch: str  # the directory under arch/
    model: str  # "LP64" or "ILP32"
    defines: dict[str, str]  # what the compiler predefines for the arch
    config: dict[str, str]  # the config symbols (and Kconfig ints) every build of the arch has
    entries: tuple[str, ...] = DEFAULT_ENTRIES  # what kernel code includes to reach the constants
    mach_dirs: tuple[str, ...] = ()  # asm/<dir> the arch Makefile adds to the include path


_LE = {
    "__ORDER_LITTLE_ENDIAN__": "1234",
    "__ORDER_BIG_ENDIAN__": "4321",
    "__BYTE_ORDER__": "__ORDER_LITTLE_ENDIAN__",
}
_BE = {**_LE, "__BYTE_ORDER__": "__ORDER_BIG_ENDIAN__"}

# -undef drops GCC's own predefines, so these and _COMMON_DEFINES are the whole
# environment the headers see. They are written out here from what each target's
# gcc predefines (``<cross>-gcc -dM -E - </dev/null``), not taken from kstack's
# table, so that a slip in either shows up as a disagreement. The config holds the
# symbols a default build of the arch has and its Kconfig ints (as "1" or a number).
# fmt: off
ARCHES = {
    "x86_64": ArchSpec(
        "x86", "LP64",
        {"__x86_64__": "1", "__LP64__": "1", "_LP64": "1"},
        {"CONFIG_X86": "1", "CONFIG_X86_64": "1", "CONFIG_64BIT": "1"},
    ),
    "i386": ArchSpec(
        "x86", "ILP32",
        {"__i386__": "1", "__ILP32__": "1", "_ILP32": "1"},
        {"CONFIG_X86": "1", "CONFIG_X86_32": "1"},
    ),
    "arm64": ArchSpec(
        "arm64", "LP64",
        {"__aarch64__": "1", "__AARCH64EL__": "1", "__LP64__": "1", "_LP64": "1",
         "__ARM_ARCH": "8", "__CHAR_UNSIGNED__": "1", **_LE},
        {"CONFIG_ARM64": "1", "CONFIG_64BIT": "1", "CONFIG_ARM64_4K_PAGES": "1",
         "CONFIG_PAGE_SIZE_4KB": "1", "CONFIG_VMAP_STACK": "1",
         "CONFIG_ARM64_PAGE_SHIFT": "12", "CONFIG_PAGE_SHIFT": "12"},
        # SDEI_STACK_SIZE is in asm/sdei.h, which none of the others include
        ("asm/page.h", "asm/memory.h", "asm/thread_info.h", "asm/sdei.h"),
    ),
    "arm": ArchSpec(
        "arm", "ILP32",
        {"__arm__": "1", "__ARMEL__": "1", "__ARM_EABI__": "1", "__ARM_ARCH": "7",
         "__ARM_ARCH_7A__": "1", "__CHAR_UNSIGNED__": "1", "__ILP32__": "1", **_LE,
         # arch/arm/Makefile: -D__LINUX_ARM_ARCH__=$(arch-y)
         "__LINUX_ARM_ARCH__": "7"},
        {"CONFIG_ARM": "1", "CONFIG_MMU": "1", "CONFIG_AEABI": "1", "CONFIG_CPU_V7": "1",
         "CONFIG_CPU_32v7": "1", "CONFIG_CPU_COPY_V6": "1", "CONFIG_CPU_CACHE_V7": "1",
         "CONFIG_CPU_TLB_V7": "1", "CONFIG_CPU_ABRT_EV7": "1", "CONFIG_CPU_PABRT_V7": "1",
         "CONFIG_CPU_HAS_ASID": "1", "CONFIG_PAGE_SHIFT": "12"},
    ),
    "riscv": ArchSpec(
        "riscv", "LP64",
        {"__riscv": "1", "__riscv_xlen": "64", "__riscv_cmodel_medany": "1",
         "__riscv_float_abi_soft": "1", "__riscv_compressed": "1", "__LP64__": "1",
         "_LP64": "1", **_LE},
        {"CONFIG_RISCV": "1", "CONFIG_64BIT": "1", "CONFIG_MMU": "1",
         "CONFIG_PAGE_SIZE_4KB": "1", "CONFIG_VMAP_STACK": "1", "CONFIG_PAGE_SHIFT": "12",
         "CONFIG_THREAD_SIZE_ORDER": "2"},
    ),
    "powerpc64": ArchSpec(
        "powerpc", "LP64",
        {"__powerpc__": "1", "__powerpc64__": "1", "__PPC__": "1", "__PPC64__": "1",
         "_ARCH_PPC": "1", "_ARCH_PPC64": "1", "__BIG_ENDIAN__": "1", "_BIG_ENDIAN": "1",
         "_CALL_ELF": "1", "__CHAR_UNSIGNED__": "1", "__LP64__": "1", "_LP64": "1", **_BE},
        {"CONFIG_PPC": "1", "CONFIG_PPC64": "1", "CONFIG_64BIT": "1", "CONFIG_PPC_BOOK3S": "1",
         "CONFIG_PPC_BOOK3S_64": "1", "CONFIG_CPU_BIG_ENDIAN": "1",
         "CONFIG_PPC_64K_PAGES": "1", "CONFIG_PAGE_SIZE_64KB": "1",
         "CONFIG_PPC_PAGE_SHIFT": "16", "CONFIG_PAGE_SHIFT": "16", "CONFIG_THREAD_SHIFT": "14"},
    ),
    "powerpc": ArchSpec(
        "powerpc", "ILP32",
        {"__powerpc__": "1", "__PPC__": "1", "_ARCH_PPC": "1", "__BIG_ENDIAN__": "1",
         "_BIG_ENDIAN": "1", "__CHAR_UNSIGNED__": "1", "__ILP32__": "1", **_BE},
        {"CONFIG_PPC": "1", "CONFIG_PPC32": "1", "CONFIG_PPC_BOOK3S": "1",
         "CONFIG_PPC_BOOK3S_32": "1", "CONFIG_CPU_BIG_ENDIAN": "1", "CONFIG_PPC_4K_PAGES": "1",
         "CONFIG_PAGE_SIZE_4KB": "1", "CONFIG_VMAP_STACK": "1", "CONFIG_PPC_PAGE_SHIFT": "12",
         "CONFIG_PAGE_SHIFT": "12", "CONFIG_THREAD_SHIFT": "13"},
    ),
    "s390": ArchSpec(
        "s390", "LP64",
        {"__s390__": "1", "__s390x__": "1", "__zarch__": "1", "__CHAR_UNSIGNED__": "1",
         "__LP64__": "1", "_LP64": "1", **_BE},
        {"CONFIG_S390": "1", "CONFIG_64BIT": "1", "CONFIG_CPU_BIG_ENDIAN": "1",
         "CONFIG_PAGE_SIZE_4KB": "1", "CONFIG_PAGE_SHIFT": "12"},
    ),
    "loongarch": ArchSpec(
        "loongarch", "LP64",
        {"__loongarch__": "1", "__loongarch64": "1", "__loongarch_grlen": "64",
         "__loongarch_lp64": "1", "__loongarch_soft_float": "1", "_ABILP64": "3",
         "_LOONGARCH_SIM": "_ABILP64", "_LOONGARCH_SZINT": "32", "_LOONGARCH_SZLONG": "64",
         "_LOONGARCH_SZPTR": "64", "__LP64__": "1", "_LP64": "1", **_LE},
        {"CONFIG_LOONGARCH": "1", "CONFIG_64BIT": "1", "CONFIG_16KB_3LEVEL": "1",
         "CONFIG_PAGE_SIZE_16KB": "1", "CONFIG_SMP": "1", "CONFIG_TREE_RCU": "1",
         "CONFIG_TREE_SRCU": "1", "CONFIG_PAGE_SHIFT": "14", "CONFIG_HZ": "250"},
        ("asm/page.h", "asm/thread_info.h", "asm/irq.h"),
    ),
    "mips": ArchSpec(
        "mips", "ILP32",
        {"__mips__": "1", "__mips": "32", "mips": "1", "__MIPSEB__": "1", "__MIPSEB": "1",
         "_MIPSEB": "1", "_ABIO32": "1", "_ABIN32": "2", "_ABI64": "3", "_MIPS_SIM": "_ABIO32",
         "_MIPS_SZINT": "32", "_MIPS_SZLONG": "32", "_MIPS_SZPTR": "32",
         "_MIPS_ISA": "_MIPS_ISA_MIPS32", "__mips_isa_rev": "2", "__mips_hard_float": "1",
         "_MIPS_FPSET": "16", "__ILP32__": "1", **_BE},
        {"CONFIG_MIPS": "1", "CONFIG_32BIT": "1", "CONFIG_CPU_MIPS32_R2": "1",
         "CONFIG_CPU_MIPS32": "1", "CONFIG_CPU_MIPSR2": "1", "CONFIG_CPU_BIG_ENDIAN": "1",
         "CONFIG_PAGE_SIZE_4KB": "1", "CONFIG_GENERIC_ATOMIC64": "1", "CONFIG_PAGE_SHIFT": "12"},
        ("asm/page.h", "asm/thread_info.h", "asm/irq.h"),
        ("mach-generic",),
    ),
}
# fmt: on
_COMMON_DEFINES = {
    "__KERNEL__": "1",
    "__GNUC__": "12",
    "__GNUC_MINOR__": "2",
    "__GNUC_PATCHLEVEL__": "0",
    "__CHAR_BIT__": "8",
    "__SIZEOF_SHORT__": "2",
    "__SIZEOF_INT__": "4",
    "__SIZEOF_LONG_LONG__": "8",
}
_MODEL_DEFINES = {
    "LP64": {"__SIZEOF_LONG__": "8", "__SIZEOF_POINTER__": "8"},
    "ILP32": {"__SIZEOF_LONG__": "4", "__SIZEOF_POINTER__": "4"},
}
# Kconfig ints every x86 build has (6.12 spells PAGE_SHIFT as CONFIG_PAGE_SHIFT);
# the other arches set theirs in ArchSpec.config.
_COMMON_CONFIG = {"CONFIG_PAGE_SHIFT": "12"}

_MISSING = re.compile(r"fatal error: (\S+): No such file or directory")
_DEFINE = re.compile(r"#define ([A-Za-z_]\w*)(\([^)]*\))?(?: (.*))?$")


class GccError(RuntimeError):
    """GCC rejected the input; the message carries its stderr."""


class GccMacros(dict[str, str]):
    """{name: body} from ``gcc -dM``; ``text`` is the raw output, ``params`` the
    parameter lists of function-like macros (their bodies are in the dict too)."""

    text: str
    params: dict[str, str]


class GccBuild(NamedTuple):
    """What ``gcc_macros`` needs to see a tree the way kbuild would, for one arch and config."""

    include_dirs: list[Path]
    defines: dict[str, str]
    force_includes: list[str]

    @property
    def generated(self) -> Path:
        """The directory holding autoconf.h, the asm-generic wrappers and stand-ins."""
        return self.include_dirs[1]

    @property
    def stand_ins(self) -> dict[str, str]:
        """{header: "wrapper" | "empty"} for every header written besides autoconf.h."""
        return json.loads((self.generated / STAND_INS_FILE).read_text())

    @property
    def model(self) -> str:
        return "LP64" if self.defines.get("__SIZEOF_LONG__") == "8" else "ILP32"


def _gcc(argv: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [GCC, *argv], input=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as err:
        raise GccError(f"{GCC} is not installed") from err


def _dm_argv(
    tree: Path,
    include_dirs: Iterable[Path],
    defines: Mapping[str, str],
    force_includes: Iterable[str],
    source: Path,
    undef: bool,
) -> list[str]:
    argv = ["-E", "-dM", "-nostdinc", "-x", "c"]
    if undef:
        argv.append("-undef")
    argv += [f"-I{tree / d}" for d in include_dirs]
    argv += [f"-D{k}={v}" for k, v in defines.items()]
    for header in force_includes:
        argv += ["-include", header]
    return [*argv, str(source)]


def _run_dm(
    tree: Path,
    include_dirs: Iterable[Path],
    defines: Mapping[str, str],
    force_includes: Iterable[str],
    entries: Iterable[str],
    undef: bool,
) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="kstack-gcc-") as tmp:
        source = Path(tmp) / "entries.c"
        source.write_text("".join(f"#include <{e}>\n" for e in entries))
        return _gcc(_dm_argv(tree, include_dirs, defines, force_includes, source, undef))


def parse_dm(text: str) -> GccMacros:
    """Parse ``gcc -dM`` output into a GccMacros table."""
    macros = GccMacros()
    macros.text = text
    macros.params = {}
    for line in text.splitlines():
        m = _DEFINE.match(line)
        if m:
            name, params, body = m.groups()
            macros[name] = body or ""
            if params is not None:
                macros.params[name] = params
    return macros


def gcc_macros(
    tree: Path,
    include_dirs: Sequence[Path],
    defines: Mapping[str, str],
    force_includes: Sequence[str],
    entries: Sequence[str],
    undef: bool = True,
) -> GccMacros:
    """Every macro defined after including ``entries``: ``gcc -E -dM -nostdinc``.

    Include dirs relative to ``tree`` are taken from it; absolute ones as they are.
    """
    proc = _run_dm(tree, include_dirs, defines, force_includes, entries, undef)
    if proc.returncode != 0:
        raise GccError(f"gcc -E -dM on {tree} failed:\n{proc.stderr.strip()}")
    return parse_dm(proc.stdout)


# ---------------------------------------------------------------------------- folding

_PROBE = (
    "unsigned long long __kv_{0} = (unsigned long long)({0});\n"
    "int __ks_{0} = (({0}) * 0 - 1 < 0);\n"
    "int __kz_{0} = sizeof({0});\n"
)
_LABEL = re.compile(r"^(__k[vsz]_)(\w+):")
_DATA = re.compile(r"^\s*\.(quad|long|value|short|byte|zero)\s+(\S+)\s*$")
_DATA_SIZES = {"quad": 8, "long": 4, "value": 2, "short": 2, "byte": 1}
_ERROR_LINE = re.compile(r"^<stdin>:(\d+):\d+: error:", re.MULTILINE)


def _compile(prologue: str, names: Sequence[str], model: str) -> tuple[str | None, str, int]:
    """Assembly (or None) and stderr for the probes; also the line the probes start on."""
    first_line = prologue.count("\n") + 1
    source = prologue + "".join(_PROBE.format(n) for n in names)
    flag = {"LP64": "-m64", "ILP32": "-m32"}[model]
    # -undef: the macro text is the whole environment, as it was for `gcc -E -dM`.
    # -ftrack-macro-expansion=0: errors point at the probe line, not into a #define.
    argv = [flag, "-undef", "-w", "-ftrack-macro-expansion=0", "-S", "-O0", "-x", "c"]
    proc = _gcc([*argv, "-", "-o", "-"], stdin=source)
    return (proc.stdout if proc.returncode == 0 else None), proc.stderr, first_line


def _read_assembly(asm: str) -> dict[str, dict[str, int | None]]:
    """{prefix: {name: unsigned value}} from the data directives under each probe label."""
    found: dict[str, dict[str, int | None]] = {"__kv_": {}, "__ks_": {}, "__kz_": {}}
    label: tuple[str, str] | None = None
    blob = bytearray()
    ok = True

    def flush() -> None:
        if label:
            found[label[0]][label[1]] = int.from_bytes(blob, "little") if ok else None

    for line in asm.splitlines():
        m = _LABEL.match(line)
        if m:
            flush()
            label, blob, ok = (m.group(1), m.group(2)), bytearray(), True
            continue
        d = _DATA.match(line)
        if label and d:
            kind, arg = d.groups()
            if kind == "zero":
                blob += bytes(int(arg))
            elif re.fullmatch(r"-?\d+", arg):
                size = _DATA_SIZES[kind]
                blob += (int(arg) % (1 << (8 * size))).to_bytes(size, "little")
            else:
                ok = False  # a relocation: an address, not an integer constant
        elif label and not line.startswith("\t.") and line.strip():
            flush()
            label = None
    flush()
    return found


def _failing(stderr: str, first_line: int, names: Sequence[str]) -> set[str]:
    """Names whose probe lines GCC reported errors on."""
    lines = [int(n) for n in _ERROR_LINE.findall(stderr)]
    if not lines or any(line < first_line for line in lines):
        return set()  # not attributable to probe lines alone
    lines_per_probe = _PROBE.count("\n")
    indices = {(line - first_line) // lines_per_probe for line in lines}
    return {names[i] for i in indices if i < len(names)}


def gcc_fold(
    macros_text: str, names: Sequence[str], model: str
) -> dict[str, tuple[int, bool, int] | None]:
    """{name: (value, signed, size)} as GCC evaluates each name as a C constant.

    ``model`` is "LP64" (``-m64``) or "ILP32" (``-m32``). A name that does not compile
    to an integer constant (undefined, an enum member missing from the macros, a
    function-like macro named bare, ...) maps to None.
    """
    if model not in ("LP64", "ILP32"):
        raise ValueError(f"model must be LP64 or ILP32, not {model!r}")
    prologue = macros_text if macros_text.endswith("\n") or not macros_text else macros_text + "\n"
    results: dict[str, tuple[int, bool, int] | None] = {n: None for n in names}
    pending = list(dict.fromkeys(names))
    while pending:
        asm, stderr, first = _compile(prologue, pending, model)
        if asm is not None:
            results.update(_decode(asm, pending))
            break
        bad = _failing(stderr, first, pending)
        if not bad:
            # An error in the macro text, or one GCC gave no probe line for: if the text
            # compiles on its own, find the culprits one name at a time.
            if _compile(prologue, [], model)[0] is None:
                raise GccError(f"gcc rejects the macro text itself:\n{stderr.strip()}")
            for name in pending:
                one, _, _ = _compile(prologue, [name], model)
                if one is not None:
                    results.update(_decode(one, [name]))
            break
        pending = [n for n in pending if n not in bad]
    return results


def _decode(asm: str, names: Sequence[str]) -> dict[str, tuple[int, bool, int] | None]:
    found = _read_assembly(asm)
    decoded: dict[str, tuple[int, bool, int] | None] = {}
    for name in names:
        raw, signed, size = (found[p].get(name) for p in ("__kv_", "__ks_", "__kz_"))
        if raw is None or signed is None or size is None:
            decoded[name] = None
            continue
        value = raw - (1 << 64) if signed and raw >= 1 << 63 else raw
        decoded[name] = (value, bool(signed), size)
    return decoded


# ------------------------------------------------------------------------- tree prep


def _wrapper_target(tree: Path, header: str) -> str | None:
    """``asm-generic/X.h`` when ``header`` is ``asm/X.h`` and the tree has the generic one."""
    if not header.startswith("asm/"):
        return None
    generic = "asm-generic/" + header.removeprefix("asm/")
    for base in ("include", "include/uapi"):
        if (tree / base / generic).is_file():
            return generic
    return None


def _default_workdir(
    tree: Path, arch: str, config: Mapping[str, str], entries: Sequence[str]
) -> Path:
    from .debian import cache_dir

    # the arch's spec is part of the key: editing its defines or config must not
    # reuse a directory generated for the old one
    spec = ARCHES[arch]._asdict()
    key = json.dumps([str(tree.resolve()), arch, spec, sorted(config.items()), list(entries)])
    return cache_dir() / "gcc-build" / hashlib.sha256(key.encode()).hexdigest()[:16]


def prepare_gcc_build(
    tree: Path,
    arch: str,
    config: Mapping[str, str],
    entries: Sequence[str] | None = None,
    workdir: Path | None = None,
) -> GccBuild:
    """Include dirs, defines and force-includes that let GCC preprocess ``entries``.

    ``config`` adds to the arch's base config (``{"CONFIG_KASAN": "1"}``); the value
    ``"n"`` leaves a symbol out. The generated directory is cached per (tree, arch,
    config, entries) under the Debian cache; a ``workdir`` given instead is (re)filled
    every time and should be dedicated to this one call. ``entries`` defaults to
    the arch's own.
    """
    if arch not in ARCHES:
        raise ValueError(f"unknown arch {arch!r}; known: {', '.join(ARCHES)}")
    entries = ARCHES[arch].entries if entries is None else entries
    if workdir is not None:
        return _fill_generated(tree, arch, config, entries, workdir.resolve())
    generated = _default_workdir(tree, arch, config, entries)
    if not (generated / STAND_INS_FILE).is_file():
        # Fill a scratch sibling and rename it in place, so that concurrent test
        # workers never see a half-made directory.
        generated.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=generated.parent, prefix=".gen-"))
        try:
            _fill_generated(tree, arch, config, entries, scratch)
            scratch.rename(generated)
        except OSError:
            if not (generated / STAND_INS_FILE).is_file():
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return _gcc_build(arch, generated)


def _gcc_build(arch: str, generated: Path, extra_dirs: Sequence[str] | None = None) -> GccBuild:
    spec = ARCHES[arch]
    if extra_dirs is not None:  # kbuild's per-config dirs (the arch Makefile's -I lines)
        return GccBuild(
            include_dirs=[
                Path(f"arch/{spec.srcarch}/include"),
                generated,
                Path("include"),
                Path(f"arch/{spec.srcarch}/include/uapi"),
                Path("include/uapi"),
                *(Path(d) for d in extra_dirs),
            ],
            defines={**_COMMON_DEFINES, **_MODEL_DEFINES[spec.model], **spec.defines},
            force_includes=["linux/kconfig.h"],
        )
    return GccBuild(
        include_dirs=[
            Path(f"arch/{spec.srcarch}/include"),
            generated,
            Path("include"),
            Path(f"arch/{spec.srcarch}/include/uapi"),
            Path("include/uapi"),
            *(Path(f"arch/{spec.srcarch}/include/asm/{d}") for d in spec.mach_dirs),
        ],
        defines={**_COMMON_DEFINES, **_MODEL_DEFINES[spec.model], **spec.defines},
        force_includes=["linux/kconfig.h"],
    )


def real_config_build(
    tree: Path,
    arch: str,
    autoconf: Path,
    extra_dirs: Sequence[str],
    workdir: Path,
    entries: Sequence[str] | None = None,
) -> GccBuild:
    """Like ``prepare_gcc_build``, for a config that kbuild made itself: its
    ``include/generated/autoconf.h`` is used as it is (nothing of the arch's base
    config is added), and ``extra_dirs`` follow kbuild's own -I directories."""
    entries = ARCHES[arch].entries if entries is None else entries
    return _fill_generated(
        tree, arch, {}, entries, workdir.resolve(), autoconf.read_text(), extra_dirs
    )


def _fill_generated(
    tree: Path,
    arch: str,
    config: Mapping[str, str],
    entries: Sequence[str],
    generated: Path,
    autoconf: str | None = None,
    extra_dirs: Sequence[str] | None = None,
) -> GccBuild:
    """Write autoconf.h, then wrappers and stand-ins until GCC gets through ``entries``."""
    build = _gcc_build(arch, generated, extra_dirs)
    full_config = {**_COMMON_CONFIG, **ARCHES[arch].config, **config}
    (generated / "generated").mkdir(parents=True, exist_ok=True)
    (generated / "generated" / "autoconf.h").write_text(
        autoconf
        if autoconf is not None
        else "".join(f"#define {k} {v}\n" for k, v in sorted(full_config.items()) if v != "n")
    )
    stand_ins: dict[str, str] = {}
    for _ in range(MAX_STAND_INS):
        proc = _run_dm(tree, *build, entries=entries, undef=True)
        if proc.returncode == 0:
            (generated / STAND_INS_FILE).write_text(json.dumps(stand_ins, indent=1) + "\n")
            return build
        missing = _MISSING.search(proc.stderr)
        if not missing or missing.group(1) in stand_ins:
            raise GccError(f"gcc -E on {tree} for {arch} failed:\n{proc.stderr.strip()}")
        header = missing.group(1)
        target = generated / header
        target.parent.mkdir(parents=True, exist_ok=True)
        generic = _wrapper_target(tree, header)
        if generic:
            target.write_text(f"#include <{generic}>\n")
            stand_ins[header] = "wrapper"
        else:
            target.write_text("/* stand-in for a generated header */\n")
            stand_ins[header] = "empty"
    raise GccError(f"{tree} for {arch}: more than {MAX_STAND_INS} missing headers")


def reference_values(
    tree: Path,
    arch: str,
    config: Mapping[str, str],
    names: Sequence[str],
    entries: Sequence[str] | None = None,
) -> dict[str, tuple[int, bool, int] | None]:
    """prepare_gcc_build + gcc_macros + gcc_fold in one call (``entries``: the arch's)."""
    entries = ARCHES[arch].entries if entries is None else entries
    build = prepare_gcc_build(tree, arch, config, entries)
    macros = gcc_macros(tree, *build, entries=entries)
    return gcc_fold(macros.text, names, build.model)


# --- kstack's answers against gcc's -------------------------------------------


def config_value(value: str | None) -> str:
    """A config value as two configs can be compared: unquoted, m as y, a missing
    or empty one as n, a number in decimal."""
    value = (value or "n").strip('"')
    value = "y" if value == "m" else value or "n"
    try:
        return str(int(value, 0))
    except ValueError:
        return value


def written_values(values: Mapping[str, Any]) -> dict[str, str]:
    """A Kconfig answer as make writes it out: a symbol made from make's environment
    (``option env=``) never is."""
    return {k: v.value for k, v in values.items() if not (v.reason or "").startswith("option env")}


def c_size(ctype: str, model: str) -> int:
    """The size in bytes of a C integer type under ``model`` (LP64 or ILP32)."""
    words = ctype.split()
    if words.count("long") == 2:
        return 8
    if "long" in words:
        return 8 if model == "LP64" else 4
    return 4


def compare(
    result: dict, reference: dict, known_gaps: Mapping[tuple[str, str], str] | None = None
) -> tuple[list[str], list[str], list[str]]:
    """One kstack cell (its JSON) against ``reference_values`` for the same tree:
    (disagreements, names compared, known gaps met). A known gap must come out
    "unknown" with its reason, never as a number."""
    problems: list[str] = []
    compared: list[str] = []
    gaps: list[str] = []
    where = f"{result['rev']} {result['arch']} {result['config']}"
    model = ARCHES[result["arch"]].model
    for name, expected in reference.items():
        got = result["constants"].get(name)
        if expected is None:  # gcc does not define it as a constant macro
            if got is not None and got["status"] == "ok":
                problems.append(f"{where} {name}: kstack says {got['value']}, gcc defines none")
            continue
        value, signed, size = expected
        gap = (known_gaps or {}).get((result["arch"], name))
        if gap and got is not None and got["value"] is None:
            if got["status"] != "unknown" or gap not in (got["reason"] or ""):
                problems.append(f"{where} {name}: expected an unknown about {gap}, got {got}")
            gaps.append(f"{where} {name}: gcc {value}, kstack unknown ({got['reason']})")
            continue
        if got is None or got["value"] is None:
            problems.append(f"{where} {name}: gcc says {value}, kstack reports {got}")
            continue
        compared.append(name)
        mask = (1 << (8 * size)) - 1
        if got["value"] & mask != value & mask:
            problems.append(f"{where} {name}: kstack {got['value']} != gcc {value}")
        if got["type"].startswith("unsigned") == signed:
            problems.append(f"{where} {name}: kstack type {got['type']}, gcc signed={signed}")
        if c_size(got["type"], model) != size:
            problems.append(f"{where} {name}: kstack type {got['type']}, gcc size {size}")
    return problems, compared, gaps


def kbuild_autoconf(config_text: str) -> str:
    """What kbuild's ``autoconf.h`` holds for a ``.config`` (written independently
    of kstack's reader: ``=y`` is 1, ``=m`` is _MODULE, a value is itself)."""
    lines = []
    for line in config_text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            name, value = line.split("=", 1)
            if value == "y":
                lines.append(f"#define {name} 1")
            elif value == "m":
                lines.append(f"#define {name}_MODULE 1")
            else:
                lines.append(f"#define {name} {value}")
    return "\n".join(lines) + "\n"
