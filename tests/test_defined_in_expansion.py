"""A ``defined`` that a macro's expansion yields in ``#if`` is the operator, as gcc has it.

The C standard leaves it undefined; GNU cpp treats it as the operator and does
not expand its operand. Old kernels rely on it (powerpc's cputable.h in 2.6.15:
``#define CLASSIC_PPC (!defined(CONFIG_8xx) && ...)``, then ``#if CLASSIC_PPC``).
kstack expanded the operand first: an operand defined as a number was an error,
and one defined as another name tested that name instead, a wrong branch taken
without a word. Each row is a tree whose THREAD_SIZE depends on such an ``#if``;
kstack and gcc (kbuild's search directories) must agree on it.
"""

from __future__ import annotations

import pytest
from test_layout_includes import GCC, arm64_tree, gcc_thread_size, kstack_scan, result_of

THREAD_INFO = (
    "#ifndef THREAD_INFO_FIXTURE\n#define THREAD_INFO_FIXTURE\n"
    "#include <asm/opcodes.h>\n"
    "#if CLASSIC\n#define THREAD_SIZE 8192\n#else\n#define THREAD_SIZE 16384\n#endif\n"
    "#endif\n"
)

# (id, arch/arm64/include/asm/defs.h, THREAD_SIZE)
ROWS = [
    ("nothing defined", "#define CLASSIC (!defined(A) && !defined(B))\n", 8192),
    ("an operand defined as a number",
     "#define A 1\n#define CLASSIC (!defined(A) && !defined(B))\n", 16384),
    # the operand expanded first tested B, undefined: 8192, the wrong branch
    ("an operand defined as another name", "#define A B\n#define CLASSIC (!defined(A))\n", 16384),
    ("one macro down", "#define A 1\n#define NOT_A !defined(A)\n#define CLASSIC (NOT_A && 1)\n",
     16384),
    ("without parentheses", "#define A\n#define CLASSIC !defined A\n", 16384),
    # the argument is expanded on its own first (A is no macro), then the body
    ("through a function-like macro", "#define IS(x) defined(x)\n#define CLASSIC !IS(A)\n", 8192),
    # a macro that is the operator itself: gcc reads the operand after it unexpanded
    ("a macro that is the operator", "#define A 1\n#define D defined\n#define CLASSIC (!D A)\n",
     16384),
    ("the operator macro, parentheses", "#define A 1\n#define D defined\n#define CLASSIC (!D(A))\n",
     16384),
    ("the operator macro, nothing defined", "#define D defined\n#define CLASSIC (!D A)\n", 8192),
    ("the operator macro, two down",
     "#define A 1\n#define D defined\n#define E D\n#define CLASSIC (!E A)\n", 16384),
    ("the operator macro, an operand naming another", "#define A B\n#define D defined\n"
     "#define CLASSIC (!D A)\n", 16384),
    ("a macro ending in the operator", "#define A 1\n#define D !defined\n#define CLASSIC (D A)\n",
     16384),
]  # fmt: skip


@pytest.mark.skipif(GCC is None, reason="needs gcc")
@pytest.mark.parametrize(("defs", "size"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_defined_from_an_expansion_is_the_operator(tmp_path, defs, size):
    extra = {
        "arch/arm64/include/asm/defs.h": defs,
        "arch/arm64/include/asm/thread_info.h": THREAD_INFO,
    }
    tree = arm64_tree(tmp_path, "<asm/defs.h>", extra)
    work = tmp_path / "gcc"
    work.mkdir()
    assert gcc_thread_size(tree, work) == size
    result = result_of(kstack_scan(tree))
    assert result["constants"]["THREAD_SIZE"]["value"] == size
