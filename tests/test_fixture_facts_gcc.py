"""The fixture trees hold the kernel facts: gcc says so.

In: each row of ``expected_fixture_values.ROWS`` and its tree under
fixtures/eras/.  Out: pass when ``gcc -E -dM``, run the way a kbuild of that
era would run it (include order, the ``asm`` symlink or generated ``asm-generic``
wrappers, autoconf.h, the force-included config header, a ``__GNUC__`` the tree
accepts), defines every macro of the row, and ``gcc -S`` folds it to the value.

This checks the fixtures, not kstack: the pipeline tests reuse the same table.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from expected_fixture_values import ERAS, NOT_A_MACRO, ROWS, config_symbols

from extractor.demo import fixtures_root

GCC = shutil.which("gcc")
pytestmark = pytest.mark.skipif(GCC is None, reason="gcc is not installed")

ERAS_DIR = fixtures_root() / "eras"
ARCH_DEFINES = {"x86_64": ["-D__x86_64__", "-D__LP64__"], "i386": ["-D__i386__"]}
ARCH_CFLAG = {"x86_64": "-m64", "i386": "-m32"}
#: before 2.6.28 the build linked include/asm to one of these
OLD_ASM_DIRS = {"x86_64": ["asm-x86_64", "asm-x86"], "i386": ["asm-i386", "asm-x86"]}
#: headers a kbuild writes that gcc needs; none is in a tree
MINIMAL_STDARG = (
    "typedef __builtin_va_list va_list;\n"
    "#define va_start(ap, last) __builtin_va_start(ap, last)\n"
    "#define va_end(ap) __builtin_va_end(ap)\n"
)


def _gcc(args: list[str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GCC or "gcc", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )


def _gcc_major(tree: Path) -> int:
    """The newest compiler-gcc<N>.h the tree has, else a current gcc."""
    found = [
        int(m.group(1))
        for p in (tree / "include/linux").glob("compiler-gcc*.h")
        if (m := re.fullmatch(r"compiler-gcc(\d+)\.h", p.name))
    ]
    return max(found, default=12)


def _asm_dir(tree: Path, arch: str) -> Path:
    modern = tree / "arch/x86/include/asm"
    if modern.is_dir():
        return modern
    for name in OLD_ASM_DIRS[arch]:
        if (tree / "include" / name).is_dir():
            return tree / "include" / name
    raise AssertionError(f"{tree}: no asm directory for {arch}")


def _write_generic_wrappers(tree: Path, out: Path) -> None:
    """What kbuild does for each ``generic-y`` the arch has no header for."""
    kbuild = tree / "arch/x86/include/asm/Kbuild"
    for line in kbuild.read_text().splitlines():
        m = re.match(r"\s*generic-y\s*\+=\s*(\S+)", line)
        if m and not (tree / "arch/x86/include/asm" / m.group(1)).exists():
            wrapper = out / "asm" / m.group(1)
            wrapper.parent.mkdir(parents=True, exist_ok=True)
            wrapper.write_text(f"#include <asm-generic/{m.group(1)}>\n")


def _preprocess_args(
    tree: Path,
    arch: str,
    config: dict[str, int],
    work: Path,
    gnuc: int | None = None,
    wrappers: bool = True,
) -> list[str]:
    """gcc arguments for the entry headers, and the files kbuild would write."""
    cfg = work / "cfg"
    autoconf = "".join(f"#define {name} {value}\n" for name, value in sorted(config.items()))
    for rel in ("generated/autoconf.h", "linux/autoconf.h"):
        (cfg / rel).parent.mkdir(parents=True, exist_ok=True)
        (cfg / rel).write_text(autoconf)
    (cfg / "stdarg.h").write_text(MINIMAL_STDARG)

    asm = _asm_dir(tree, arch)
    if (tree / "arch/x86/include").is_dir():
        generated = work / "arch-generated"
        generated.mkdir()
        if wrappers:
            _write_generic_wrappers(tree, generated)
        include_dirs = [
            tree / "arch/x86/include",
            generated,
            tree / "include",
            tree / "arch/x86/include/uapi",
            tree / "include/uapi",
            cfg,
        ]
    else:
        link = work / "asm-link"
        link.mkdir()
        (link / "asm").symlink_to(asm, target_is_directory=True)
        include_dirs = [tree / "include", link, cfg]

    entries = ["asm/thread_info.h", "asm/page.h"]
    entries += [f"asm/{n}" for n in ("processor.h", "cpu_entry_area.h") if (asm / n).exists()]
    (work / "entry.c").write_text("".join(f"#include <{e}>\n" for e in entries))

    # kbuild force-includes kconfig.h from 3.1; before that, autoconf.h itself
    forced = (
        "linux/kconfig.h" if (tree / "include/linux/kconfig.h").exists() else "linux/autoconf.h"
    )
    return [
        "-E",
        "-undef",
        "-nostdinc",
        "-x",
        "c",
        *(f"-I{d}" for d in include_dirs),
        "-D__KERNEL__",
        f"-D__GNUC__={gnuc if gnuc is not None else _gcc_major(tree)}",
        *ARCH_DEFINES[arch],
        "-include",
        forced,
        "entry.c",
    ]


def _fold(defines: str, names: list[str], arch: str, work: Path) -> dict[str, int]:
    """Let gcc evaluate each macro as a C initializer and read the data back."""
    keep = [line for line in defines.splitlines() if not line.startswith("#define __STDC")]
    body = "".join(f"unsigned long long kstack_v_{n} = ({n});\n" for n in names)
    result = _gcc(
        ["-S", "-O0", "-w", "-undef", "-nostdinc", ARCH_CFLAG[arch], "-x", "c", "-", "-o", "-"],
        work,
        "\n".join(keep) + "\n" + body,
    )
    assert result.returncode == 0, result.stderr
    values: dict[str, int] = {}
    current: str | None = None
    parts: list[tuple[int, int]] = []  # (value, size in bytes)
    for line in result.stdout.splitlines():
        line = line.strip()
        if m := re.fullmatch(r"kstack_v_(\w+):", line):
            current, parts = m.group(1), []
            continue
        if current is None:
            continue
        directive = line.split(None, 1)
        if directive[0] in (".quad", ".long"):
            parts.append((int(directive[1], 0), 8 if directive[0] == ".quad" else 4))
        elif directive[0] == ".zero":
            parts.append((0, int(directive[1])))
        if sum(size for _, size in parts) >= 8:
            value, shift = 0, 0
            for part, size in parts:  # little endian: low word first
                value |= (part & ((1 << (8 * size)) - 1)) << shift
                shift += 8 * size
            values[current] = value
            current = None
    return values


def _macros(dm_output: str) -> dict[str, str]:
    out = {}
    for line in dm_output.splitlines():
        if m := re.match(r"#define (\w+)(?:\s+(.*))?$", line):
            out[m.group(1)] = m.group(2) or ""
    return out


def _row_id(row: tuple) -> str:
    era, arch, config, _ = row
    return f"{era}-{arch}-{config}"


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
def test_fixture_defines_the_fact(row, tmp_path: Path) -> None:
    era, arch, config, expected = row
    tree = ERAS_DIR / era
    args = _preprocess_args(tree, arch, config_symbols(era, arch, config), tmp_path)
    dm = _gcc(["-dM", *args], tmp_path)
    assert dm.returncode == 0, dm.stderr
    macros = _macros(dm.stdout)

    wanted_ints = sorted(n for n, v in expected.items() if isinstance(v, int))
    missing = [n for n in wanted_ints if n not in macros]
    assert not missing, f"not defined as macros: {missing}"
    defined_but_absent = [n for n, v in expected.items() if v is None and n in macros]
    assert not defined_but_absent, f"should not be macros: {defined_but_absent}"

    got = _fold(dm.stdout, wanted_ints, arch, tmp_path)
    assert got == {n: expected[n] for n in wanted_ints}

    enums = [n for n, v in expected.items() if v == NOT_A_MACRO]
    if enums:
        assert not [n for n in enums if n in macros]
        text = _gcc(args, tmp_path)
        assert text.returncode == 0, text.stderr
        code = "\n".join(ln for ln in text.stdout.splitlines() if not ln.startswith("#"))
        for name in enums:
            assert re.search(rf"\b{name}\b", code), f"{name} is not in the preprocessed code"


def test_table_covers_every_era_and_arch() -> None:
    on_disk = sorted(p.name for p in ERAS_DIR.iterdir() if p.is_dir())
    assert sorted(ERAS) == on_disk
    have = {(era, arch) for era, arch, config, _ in ROWS if config == "default"}
    assert have == {(era, arch) for era in ERAS for arch in ("x86_64", "i386")}


@pytest.mark.parametrize(
    ("era", "complaint"),
    [
        ("2.6.11", "#error"),  # compiler.h refuses gcc > 4
        ("2.6.20", "#error"),
        ("2.6.25", "compiler-gcc12.h"),  # the computed #include finds no header
        ("3.2", "compiler-gcc12.h"),
        ("3.15", "compiler-gcc12.h"),
    ],
)
def test_old_trees_need_a_gcc_they_have_a_header_for(era, complaint, tmp_path: Path) -> None:
    config = config_symbols(era, "x86_64", "default")
    args = _preprocess_args(ERAS_DIR / era, "x86_64", config, tmp_path, gnuc=12)
    result = _gcc(["-dM", *args], tmp_path)
    assert result.returncode != 0
    assert complaint in result.stderr


@pytest.mark.parametrize("era", [e for e in ERAS if (ERAS_DIR / e / "arch").is_dir()])
def test_modern_trees_need_the_generated_asm_wrappers(era, tmp_path: Path) -> None:
    config = config_symbols(era, "x86_64", "default")
    args = _preprocess_args(ERAS_DIR / era, "x86_64", config, tmp_path, wrappers=False)
    result = _gcc(["-dM", *args], tmp_path)
    assert result.returncode != 0
    assert "asm/memory_model.h" in result.stderr


@pytest.mark.parametrize("era", ERAS)
def test_trees_hold_no_build_products(era) -> None:
    tree = ERAS_DIR / era
    assert not (tree / "include/asm").exists()
    assert not (tree / "arch/x86/include/generated").exists()
    assert not list(tree.rglob("autoconf.h"))
    assert not list(tree.rglob("stdarg.h")) or era in ("5.15", "6.12")  # linux/stdarg.h


def test_fixtures_stay_small_and_our_own() -> None:
    files = [p for p in ERAS_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 200_000
    for p in files:
        assert "SPDX-License-Identifier" not in p.read_text(), p
