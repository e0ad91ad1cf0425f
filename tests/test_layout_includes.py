"""Include names that climb with ``..`` resolve as gcc resolves them.

arm64 (3.7 to 4.9) reaches arm's header with ``#include
<../../arm/include/asm/opcodes.h>`` from ``arch/arm64/include/asm/opcodes.h``.
gcc tries the name against each search directory in turn, each candidate
climbing from its own directory: next to the includer (for a quoted name) it
misses, and through ``arch/arm64/include`` it is ``arch/arm/include/asm/opcodes.h``.
A candidate that would leave the tree (through ``include``, say) is skipped
and never read; only when nothing inside the tree answers is it an error.

The trees are built here from a few lines modelled on arm64 4.9's layout (no
kernel text), with a decoy next to the tree where an escaping candidate would
land. gcc, run with kbuild's search directories, must agree on every value.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GCC = shutil.which("gcc")

ARM64 = "arch/arm64/include"
#: kbuild's -I directories for arm64 from 3.7 (as the layout gives them)
SEARCH = [
    ARM64,
    f"{ARM64}/generated",
    "include",
    f"{ARM64}/uapi",
    f"{ARM64}/generated/uapi",
    "include/uapi",
    "include/generated/uapi",
]
#: the line of arch/arm64/include/asm/opcodes.h that holds the include
INCLUDE_LINE = 3


def arm64_tree(tmp: Path, include: str, extra: dict[str, str]) -> Path:
    """A tree whose THREAD_SIZE comes from a header arm64's opcodes.h includes,
    and a decoy outside it (``tmp/arm``, ``tmp/nowhere``) that gcc would reach
    through ``include/../../``."""
    files = {
        f"{ARM64}/asm/page.h": "#define PAGE_SHIFT 12\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n",
        f"{ARM64}/asm/memory.h": "#define MEMORY_FIXTURE 1\n",
        f"{ARM64}/asm/thread_info.h": (
            "#ifndef THREAD_INFO_FIXTURE\n#define THREAD_INFO_FIXTURE\n"
            "#include <asm/opcodes.h>\n"
            "#define THREAD_SIZE (1UL << OPCODES_FIXTURE_SHIFT)\n#endif\n"
        ),
        f"{ARM64}/asm/opcodes.h": f"/* a fixture in arm64 4.9's place */\n\n#include {include}\n",
        "arch/arm/include/asm/opcodes.h": "#define OPCODES_FIXTURE_SHIFT 14\n",
        # gcc skips a search directory that does not exist
        "include/linux/types.h": "#define TYPES_FIXTURE 1\n",
        **extra,
    }
    tree = tmp / "linux"
    for path, text in files.items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(text)
    for decoy in ("arm/include/asm/opcodes.h", "nowhere/opcodes.h"):
        (tmp / decoy).parent.mkdir(parents=True, exist_ok=True)
        (tmp / decoy).write_text("#define OPCODES_FIXTURE_SHIFT 1\n")
    return tree


def kstack_scan(tree: Path, arch: str = "arm64") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "extractor", "scan", str(tree), "--arch", arch]
        + ["--format", "json", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr
    return proc


def result_of(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)["results"]
    return result


def gcc_thread_size(tree: Path, work: Path) -> int | None:
    """THREAD_SIZE as gcc folds it with kbuild's search directories (None:
    gcc found no header for an include)."""
    (work / "entry.c").write_text(
        "#include <asm/thread_info.h>\nunsigned long kstack_thread_size = THREAD_SIZE;\n"
    )
    proc = subprocess.run(
        [GCC or "gcc", "-S", "-O0", "-w", "-nostdinc", "-o", "-"]
        + [f"-I{tree / d}" for d in SEARCH]
        + ["entry.c"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    if "No such file or directory" in proc.stderr:
        return None
    assert proc.returncode == 0, proc.stderr
    match = re.search(
        r"kstack_thread_size:\s*\n\s*\.(?:quad|long|dword|xword)\s+(\d+)", proc.stdout
    )
    assert match, proc.stdout
    return int(match.group(1))


FOUND = [
    # how arm64's opcodes.h names arm's; other files; THREAD_SIZE; where its shift is
    ("<../../arm/include/asm/opcodes.h>", {}, 16384, "arch/arm/include/asm/opcodes.h"),
    ('"../../arm/include/asm/opcodes.h"', {}, 16384, "arch/arm/include/asm/opcodes.h"),
    (
        # a quoted name tries the includer's directory first, and finds this
        '"../../arm/include/asm/opcodes.h"',
        {"arch/arm64/arm/include/asm/opcodes.h": "#define OPCODES_FIXTURE_SHIFT 15\n"},
        32768,
        "arch/arm64/arm/include/asm/opcodes.h",
    ),
    (
        # an angle name does not
        "<../../arm/include/asm/opcodes.h>",
        {"arch/arm64/arm/include/asm/opcodes.h": "#define OPCODES_FIXTURE_SHIFT 15\n"},
        16384,
        "arch/arm/include/asm/opcodes.h",
    ),
]


@pytest.mark.parametrize(("include", "extra", "size", "where"), FOUND)
def test_a_climbing_include_resolves_as_gcc_resolves_it(tmp_path, include, extra, size, where):
    tree = arm64_tree(tmp_path, include, extra)
    result = result_of(kstack_scan(tree))
    constant = result["constants"]["THREAD_SIZE"]
    assert (constant["value"], constant["chain"][-1]["file"]) == (size, where)
    if GCC is not None:
        work = tmp_path / "gcc"
        work.mkdir()
        assert gcc_thread_size(tree, work) == size


NOT_FOUND = [
    # the include; the message (after "rev:path:line: ")
    (
        '"../../nowhere/opcodes.h"',
        "#include '../../nowhere/opcodes.h' not found in the tree (searched: "
        "arch/arm64/nowhere/opcodes.h, arch/nowhere/opcodes.h, "
        "arch/arm64/include/nowhere/opcodes.h, nowhere/opcodes.h, include/nowhere/opcodes.h); "
        "a candidate outside the tree was not read",
    ),
    (
        "<../../nowhere/opcodes.h>",
        "#include '../../nowhere/opcodes.h' not found in the tree (searched: "
        "arch/nowhere/opcodes.h, arch/arm64/nowhere/opcodes.h, "
        "arch/arm64/include/nowhere/opcodes.h, nowhere/opcodes.h, include/nowhere/opcodes.h); "
        "a candidate outside the tree was not read",
    ),
    (
        # deeper than every search directory: no candidate is in the tree
        '"../../../../../../nowhere/opcodes.h"',
        "#include '../../../../../../nowhere/opcodes.h' resolves outside the tree; refused",
    ),
]


@pytest.mark.parametrize(("include", "message"), NOT_FOUND)
def test_nothing_in_the_tree_is_an_error_that_says_what_was_searched(tmp_path, include, message):
    tree = arm64_tree(tmp_path, include, {})
    proc = kstack_scan(tree)
    assert (proc.returncode, proc.stdout) == (2, "")  # and no value from the decoy
    assert proc.stderr == f"kstack: {ARM64}/asm/opcodes.h:{INCLUDE_LINE}: {message}\n"
    if GCC is not None and "searched" in message:
        work = tmp_path / "gcc"
        work.mkdir()
        assert gcc_thread_size(tree, work) == 2  # gcc reads the decoy outside the tree


STAND_INS = [
    # what loongarch's asm/loongarch.h includes; what the warning calls it
    (
        "<larchintrin.h>",
        "larchintrin.h is not in the tree (a compiler header kstack does not model)",
    ),
    ("<asm/cpucap-defs.h>", "asm/cpucap-defs.h is not in the tree (a build generates it)"),
]


@pytest.mark.parametrize(("include", "warning"), STAND_INS)
def test_a_header_read_as_empty_is_named_for_what_it_is(tmp_path, include, warning):
    tree = tmp_path / "linux"
    asm = tree / "arch/loongarch/include/asm"
    asm.mkdir(parents=True)
    (asm / "page.h").write_text("#define PAGE_SHIFT 14\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n")
    (asm / "irq.h").write_text("#define IRQ_STACK_SIZE 16384\n")
    (asm / "loongarch.h").write_text(f"#include {include}\n")
    (asm / "thread_info.h").write_text("#include <asm/loongarch.h>\n#define THREAD_SIZE 16384\n")
    result = result_of(kstack_scan(tree, "loongarch"))
    assert result["constants"]["THREAD_SIZE"]["value"] == 16384
    assert (
        f"arch/loongarch/include/asm/loongarch.h:1: {warning}; read as an empty header"
        in (result["warnings"])
    )
