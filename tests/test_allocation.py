"""The stack allocation stage: which allocator builds the task stack, per cell.

The demo history carries model fork.c files (fixtures/eras/*/kernel/fork.c);
the other shapes (an arch's macro, an old kmalloc, a slab cache, an arch
allocator kstack cannot read) are small trees written here, in kstack's own
words, never kernel text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from extractor.allocation_text import get_order, get_order_argument
from extractor.arches import ARCHES
from extractor.cli import cli
from extractor.config import make_config
from extractor.demo import build_demo_repo
from extractor.scan import analyse, scan_tree
from extractor.source import DirectoryTree


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory):
    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo.git")


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def scan_json(repo, *args):
    result = run("scan", repo, "--no-cache", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["results"]


DEMO = [
    # rev, config, --set, (kind, order, size, guard pages, cached stacks, function)
    ("v4.4", "default", [], ("pages", 2, 16384, False, None, "alloc_thread_stack_node")),
    ("v4.4", "kasan", [], ("pages", 3, 32768, False, None, "alloc_thread_stack_node")),
    (
        "v4.4",
        "default",
        ["CONFIG_VMAP_STACK=y"],
        ("vmalloc", None, 16384, True, 2, "alloc_thread_stack_node"),
    ),
    ("v4.4^", "default", [], ("pages", 2, 16384, False, None, "alloc_thread_info_node")),
    ("v5.0", "kasan", [], ("pages", 3, 32768, False, None, "alloc_thread_stack_node")),
    (
        "v6.12",
        "kasan",
        ["CONFIG_VMAP_STACK=y"],
        ("vmalloc", None, 32768, True, 2, "alloc_thread_stack_node"),
    ),
    ("v6.12", "default", [], ("pages", 2, 16384, False, None, "alloc_thread_stack_node")),
]


@pytest.mark.parametrize("rev, config, sets, expected", DEMO)
def test_demo_allocations(demo_repo, rev, config, sets, expected):
    args = ["--rev", rev, "--config", config, *[a for s in sets for a in ("--set", s)]]
    (result,) = scan_json(demo_repo, *args)
    a = result["stack_allocation"]
    kind, order, size, guard, cached, function = expected
    assert a["status"] == "ok", a
    assert (a["kind"], a["order"], a["size"], a["guard_pages"]) == (kind, order, size, guard)
    assert (a["cached_stacks"], a["function"], a["defined_by"]) == (cached, function, "generic")
    assert a["file"] == "kernel/fork.c" and a["thread_info_on_stack"] is True
    assert a["call"].startswith({"pages": "alloc_", "vmalloc": "__vmalloc_node_range("}[kind])


def test_the_chosen_branch_is_a_condition(demo_repo):
    (vmap,) = scan_json(demo_repo, "--rev", "v4.4", "--set", "CONFIG_VMAP_STACK=y")
    (pages,) = scan_json(demo_repo, "--rev", "v4.4")
    directives = {
        "vmap": [c["directive"] for c in vmap["stack_allocation"]["conditions"]],
        "pages": [c["directive"] for c in pages["stack_allocation"]["conditions"]],
    }
    assert directives["vmap"][-1] == "#ifdef CONFIG_VMAP_STACK"
    assert directives["pages"][-1] == "#else"
    assert "CONFIG_VMAP_STACK" in pages["stack_allocation"]["config_symbols"]


def test_a_tree_without_fork_c_says_so(demo_repo):
    (result,) = scan_json(demo_repo, "--rev", "v3.2")
    a = result["stack_allocation"]
    assert a["status"] == "unknown" and a["kind"] is None and a["size"] is None
    assert "kernel/fork.c is not in this tree" in a["reason"]
    # a headers-only scan keeps its table: no column of unknowns
    table = run("scan", demo_repo, "--rev", "v3.2", "--no-cache").output
    assert "stack allocation" not in table


def test_no_allocation_and_table_column(demo_repo):
    (result,) = scan_json(demo_repo, "--rev", "v4.4", "--no-allocation")
    assert "stack_allocation" not in result
    table = run("scan", demo_repo, "--rev", "v4.4", "--no-cache").output.splitlines()
    assert table[0].endswith("stack allocation")
    assert table[2].endswith("pages, order 2, 16384 bytes")
    markdown = run("scan", demo_repo, "--rev", "v4.4", "--no-cache", "--format", "markdown")
    assert "| pages, order 2, 16384 bytes |" in markdown.output


def test_the_cache_answers_like_a_fresh_run(demo_repo, tmp_path):
    """fork.c's C lines are not directives: a cached answer must still follow them."""
    revs = ["--rev", "v4.4^", "--rev", "v4.4", "--rev", "v4.10", "--set", "CONFIG_VMAP_STACK=y"]
    cache = ["--cache", str(tmp_path / "cache.sqlite")]
    fresh = scan_json(demo_repo, *revs)
    for _ in range(2):
        result = run("scan", demo_repo, *revs, *cache, "--format", "json")
        cached = json.loads(result.output)["results"]
        assert [r["stack_allocation"] for r in cached] == [r["stack_allocation"] for r in fresh]
    assert [r["stack_allocation"]["kind"] for r in fresh] == ["pages", "vmalloc", "vmalloc"]
    plain = json.loads(
        run("scan", demo_repo, *revs, *cache, "--no-allocation", "--format", "json").output
    )
    assert all("stack_allocation" not in r for r in plain["results"])


def test_explain_allocation_listing(demo_repo):
    result = run("explain", demo_repo, "--rev", "v4.4", "--allocation", "--no-cache")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "alloc_thread_stack_node (generic)  kernel/fork.c:" in result.output
    ifdef = next(line for line in lines if "#ifdef CONFIG_VMAP_STACK" in line)
    assert ifdef.endswith("<- not taken") and ifdef.split("|")[0].strip().isdigit()
    assert any("lines not compiled" in line for line in lines)
    caret = next(i for i, line in enumerate(lines) if re.match(r"\s*\|\s*\^", line))
    above, marks = lines[caret - 1], lines[caret]
    start = marks.index("^")
    assert above[start : start + len("THREAD_SIZE_ORDER")] == "THREAD_SIZE_ORDER"
    assert marks.rstrip().endswith("^" + "~" * (len("THREAD_SIZE_ORDER") - 1))
    assert "THREAD_SIZE_ORDER = (2 + 0) = 2" in result.output
    assert "alloc_pages_node(..., THREAD_SIZE_ORDER): pages, order 2, 16384 bytes" in lines


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "explain takes a MACRO, or --allocation"),
        (["THREAD_SIZE", "--allocation"], "explain takes a MACRO, or --allocation"),
    ],
)
def test_explain_wants_one_question(demo_repo, args, message):
    result = run("explain", demo_repo, "--rev", "v4.4", "--no-cache", *args)
    assert result.exit_code != 0 and message in result.output


# --- shapes the demo history does not have ------------------------------------------

PAGE_H = """#ifndef T_PAGE_H
#define T_PAGE_H
#define PAGE_SHIFT {page_shift}
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#endif
"""

THREAD_INFO_H = """#ifndef T_THREAD_INFO_H
#define T_THREAD_INFO_H
#include <asm/page.h>
#define THREAD_SIZE_ORDER {order}
#define THREAD_SIZE {size}
{extra}
#endif
"""

# an arch that allocates its stacks itself, with a macro over two lines
ARCH_MACRO = """#define __HAVE_ARCH_THREAD_INFO_ALLOCATOR
#ifdef CONFIG_DEBUG_STACK_USAGE
#define STACK_GFP (GFP_KERNEL | __GFP_ZERO)
#else
#define STACK_GFP GFP_KERNEL
#endif
#define alloc_thread_info_node(tsk, node) \\
	page_address(alloc_pages_node(node, STACK_GFP, THREAD_SIZE_ORDER))
"""

# an old arch: kmalloc, with a zeroing variant under a debug option
ARCH_KMALLOC = """#ifdef CONFIG_DEBUG_STACK_USAGE
#define alloc_thread_info(tsk) kzalloc(THREAD_SIZE, GFP_KERNEL)
#else
#define alloc_thread_info(tsk) kmalloc(THREAD_SIZE, GFP_KERNEL)
#endif
"""

ARCH_INLINE = """#define __HAVE_ARCH_THREAD_INFO_ALLOCATOR
static inline void *alloc_thread_info_node(struct task_struct *tsk, int node)
{
	return (void *)__get_free_pages(GFP_KERNEL, THREAD_SIZE_ORDER + 1);
}
"""

ARCH_ELSEWHERE = "#define __HAVE_ARCH_THREAD_INFO_ALLOCATOR\n"

# 2.6.22-2.6.26 i386's shape: the order is get_order() of the size, a function
ARCH_GET_ORDER = """#define alloc_thread_info(tsk) ((struct thread_info *) \\
	__get_free_pages(GFP_KERNEL, get_order(THREAD_SIZE)))
"""

GENERIC_FORK = """#include <linux/sched.h>
#ifndef __HAVE_ARCH_THREAD_INFO_ALLOCATOR
# if THREAD_SIZE >= PAGE_SIZE
static void *alloc_thread_info_node(struct task_struct *tsk, int node)
{
	struct page *page = alloc_pages_node(node, GFP_KERNEL, THREAD_SIZE_ORDER);
	return page ? page_address(page) : 0;
}
# else
static struct kmem_cache *stack_cache;
static void *alloc_thread_info_node(struct task_struct *tsk, int node)
{
	return kmem_cache_alloc_node(stack_cache, GFP_KERNEL, node);
}
void stack_cache_init(void)
{
	stack_cache = kmem_cache_create("stacks", THREAD_SIZE, THREAD_SIZE, 0, 0);
}
# endif
#endif
static struct task_struct *dup_task_struct(struct task_struct *orig)
{
	struct task_struct *tsk = alloc_task_struct();
	tsk->stack = alloc_thread_info_node(tsk, 0);
	return tsk;
}
"""

OLD_FORK = """static struct task_struct *dup_task_struct(struct task_struct *orig)
{
	void *ti = alloc_thread_info(tsk);
	return ti ? orig : 0;
}
"""


def write_tree(root: Path, extra: str, fork: str | None, page_shift=12, order=2) -> DirectoryTree:
    asm = root / "arch/x86/include/asm"
    asm.mkdir(parents=True)
    (asm / "page.h").write_text(PAGE_H.format(page_shift=page_shift))
    # a stack under a page has a negative order: its size is a shift, as on ppc64
    size = "(PAGE_SIZE << THREAD_SIZE_ORDER)" if order >= 0 else "(1 << 15)"
    (asm / "thread_info.h").write_text(THREAD_INFO_H.format(order=order, size=size, extra=extra))
    if fork is not None:
        (root / "kernel").mkdir()
        (root / "kernel/fork.c").write_text(fork)
    return DirectoryTree(root)


SHAPES = [
    # name, thread_info.h extra, fork.c, page shift, order, --set,
    # (kind, call, order, size, defined by, switch, status)
    (
        "generic pages",
        "",
        GENERIC_FORK,
        12,
        2,
        [],
        ("pages", "alloc_pages_node(..., THREAD_SIZE_ORDER)", 2, 16384, "generic", None, "ok"),
    ),
    (
        "slab when the stack is under a page",
        "",
        GENERIC_FORK,
        16,
        -1,
        [],
        ("slab", "kmem_cache_alloc_node(stack_cache, ...)", None, 32768, "generic", None, "ok"),
    ),
    (
        "the arch's macro",
        ARCH_MACRO,
        GENERIC_FORK,
        12,
        1,
        [],
        (
            "pages",
            "alloc_pages_node(..., THREAD_SIZE_ORDER)",
            1,
            8192,
            "arch",
            "__HAVE_ARCH_THREAD_INFO_ALLOCATOR (arch/x86/include/asm/thread_info.h:6)",
            "ok",
        ),
    ),
    (
        "an old arch's kmalloc",
        ARCH_KMALLOC,
        OLD_FORK,
        12,
        0,
        [],
        ("kmalloc", "kmalloc(THREAD_SIZE, ...)", None, 4096, "arch", None, "ok"),
    ),
    (
        "its zeroing variant",
        ARCH_KMALLOC,
        OLD_FORK,
        12,
        1,
        ["CONFIG_DEBUG_STACK_USAGE=y"],
        ("kmalloc", "kzalloc(THREAD_SIZE, ...)", None, 8192, "arch", None, "ok"),
    ),
    (
        "an arch's static inline",
        ARCH_INLINE,
        GENERIC_FORK,
        12,
        1,
        [],
        (
            "pages",
            "__get_free_pages(..., THREAD_SIZE_ORDER + 1)",
            2,
            16384,
            "arch",
            "__HAVE_ARCH_THREAD_INFO_ALLOCATOR (arch/x86/include/asm/thread_info.h:6)",
            "ok",
        ),
    ),
    (
        "an arch's get_order(THREAD_SIZE)",
        ARCH_GET_ORDER,
        OLD_FORK,
        12,
        1,
        [],
        ("pages", "__get_free_pages(..., get_order(THREAD_SIZE))", 1, 8192, "arch", None, "ok"),
    ),
    (
        "get_order of a size over a page's power of two",
        ARCH_GET_ORDER.replace("get_order(THREAD_SIZE)", "get_order(THREAD_SIZE + 1)"),
        OLD_FORK,
        12,
        1,
        [],
        (
            "pages",
            "__get_free_pages(..., get_order(THREAD_SIZE + 1))",
            2,
            16384,
            "arch",
            None,
            "ok",
        ),
    ),
    (
        "an arch allocator in code kstack does not read",
        ARCH_ELSEWHERE,
        GENERIC_FORK,
        12,
        1,
        [],
        (
            "arch",
            None,
            None,
            None,
            "arch",
            "__HAVE_ARCH_THREAD_INFO_ALLOCATOR (arch/x86/include/asm/thread_info.h:6)",
            "unknown",
        ),
    ),
    (
        "no fork.c",
        "",
        None,
        12,
        2,
        [],
        (None, None, None, None, None, None, "unknown"),
    ),
]


@pytest.mark.parametrize(
    "name, extra, fork, page_shift, order, sets, expected", SHAPES, ids=[s[0] for s in SHAPES]
)
def test_allocation_shapes(tmp_path, name, extra, fork, page_shift, order, sets, expected):
    tree = write_tree(tmp_path, extra, fork, page_shift, order)
    arch = ARCHES["x86_64"]
    config = make_config("default", arch, sets=sets, kconfig=arch.kconfig_defaults)
    result = scan_tree(tree, arch, config, allocation=True)
    assert result.error is None, result.error
    a = result.stack_allocation
    assert a is not None
    got = (a.kind, a.call, a.order, a.size, a.defined_by, a.switch, a.status)
    assert got == expected, a.reason
    if a.status == "unknown":
        assert a.reason


# Old arm (2.6.12 to 2.6.19) kept its allocator in arch/arm/kernel/process.c, the
# header only declaring it. Written here, in kstack's own words, in that shape.
ARCH_DECLARED = "extern struct thread_info *alloc_thread_info(struct task_struct *task);\n"
PROCESS_C = """#include <linux/sched.h>
#define SPARE_STACKS 4
struct thread_info *alloc_thread_info(struct task_struct *task)
{
	struct thread_info *ti = take_spare(SPARE_STACKS);
	if (!ti)
		ti = (struct thread_info *)
			__get_free_pages(GFP_KERNEL, THREAD_SIZE_ORDER);
#ifdef CONFIG_DEBUG_STACK_USAGE
	if (ti)
		memset(ti, 0, THREAD_SIZE);
#endif
	return ti;
}
"""
PROCESS_C_BRANCHES = """#ifdef CONFIG_SPARE_NEVER_SET
struct thread_info *alloc_thread_info(struct task_struct *task)
{
	return (struct thread_info *)__get_free_pages(GFP_KERNEL, 3);
}
#else
struct thread_info *alloc_thread_info(struct task_struct *task)
{
	return kmalloc(THREAD_SIZE, GFP_KERNEL);
}
#endif
"""
# 2.6.12's shape: the call is in a macro of the same file, defined above the function
PROCESS_C_MACRO = """#define get_stack() ((struct thread_info *) __get_free_pages(GFP_KERNEL, 1))
struct thread_info *alloc_thread_info(struct task_struct *task)
{
	return get_stack();
}
"""
# the same, the macro defined where the preprocessor does not go: no answer
PROCESS_C_DEAD_MACRO = "#ifdef CONFIG_SPARE_NEVER_SET\n" + PROCESS_C_MACRO.replace(
    "\nstruct", "\n#endif\nstruct", 1
)
# the same, the macro defined in a header (thread_info.h) that the cell read: not followed
HEADER_MACRO, PROCESS_C_HEADER_MACRO = PROCESS_C_MACRO.split("\n", 1)
HEADER_MACRO = ARCH_DECLARED + HEADER_MACRO + "\n"

# process.c's text (None: no such file), (kind, call, order, size, file, status),
# a word the reason of an unknown answer has, and thread_info.h's extra lines
UNKNOWN = ("arch", None, None, None, "unknown")
ARCH_C = [
    (PROCESS_C, ("pages", "__get_free_pages(..., THREAD_SIZE_ORDER)", 1, 8192, "ok"), None, ""),
    (PROCESS_C_BRANCHES, ("kmalloc", "kmalloc(THREAD_SIZE, ...)", None, 8192, "ok"), None, ""),
    (PROCESS_C_MACRO, ("pages", "__get_free_pages(..., 1)", 1, 8192, "ok"), None, ""),
    (PROCESS_C_DEAD_MACRO, UNKNOWN, "no known allocation call", ""),
    (PROCESS_C_HEADER_MACRO, UNKNOWN, "no known allocation call", HEADER_MACRO),
    ("int unrelated(void);\n", UNKNOWN, "process.c", ""),
    (None, UNKNOWN, "process.c", ""),
]


@pytest.mark.parametrize("process_c, expected, reason, header", ARCH_C)
def test_an_old_arch_allocator_in_its_process_c(tmp_path, process_c, expected, reason, header):
    tree = write_tree(tmp_path, header or ARCH_DECLARED, OLD_FORK, 12, 1)
    if process_c is not None:
        (tmp_path / "arch/x86/kernel").mkdir(parents=True)
        (tmp_path / "arch/x86/kernel/process.c").write_text(process_c)
    arch = ARCHES["x86_64"]
    config = make_config("default", arch, kconfig=arch.kconfig_defaults)
    result = scan_tree(tree, arch, config, allocation=True)
    assert result.error is None, result.error
    a = result.stack_allocation
    assert a is not None
    assert (a.kind, a.call, a.order, a.size, a.status) == expected, a.reason
    if a.status == "ok":
        assert (a.file, a.defined_by) == ("arch/x86/kernel/process.c", "arch")
    else:
        assert reason in a.reason


def test_a_call_through_a_macro_of_process_c_names_both(tmp_path):
    """The answer's line is where the function calls the macro; what is written
    shows the macro and its allocation call, and the listing starts at the macro."""
    tree = write_tree(tmp_path, ARCH_DECLARED, OLD_FORK, 12, 1)
    (tmp_path / "arch/x86/kernel").mkdir(parents=True)
    (tmp_path / "arch/x86/kernel/process.c").write_text(PROCESS_C_MACRO)
    arch = ARCHES["x86_64"]
    config = make_config("default", arch, kconfig=arch.kconfig_defaults)
    analysis = analyse(tree, arch, config, [], allocation=True)
    a = analysis.result.stack_allocation
    assert (a.line, a.written) == (4, "get_stack() = __get_free_pages(GFP_KERNEL, 1)")
    listing = analysis.allocation.listing
    assert [n for n, _, _ in listing.lines] == [1, 2, 3, 4, 5]
    assert (listing.call_line, listing.argument[0]) == (4, 1)


# (id, thread_info.h's extra lines): an answer naming a line of thread_info.h
MOVED = [
    ("the switch of an allocator kstack cannot read", ARCH_ELSEWHERE),
    ("the switch and the arch's macro", ARCH_MACRO),
    ("an old arch's kmalloc under a debug option", ARCH_KMALLOC),
]


@pytest.mark.parametrize("extra", [m[1] for m in MOVED], ids=[m[0] for m in MOVED])
def test_a_line_the_answer_names_moves_in_a_cached_scan_too(tmp_path, extra):
    """A comment above thread_info.h's lines leaves its directives as they were,
    and the cache's content key would answer the next revision from the last
    one's result; the allocation's switch, file and conditions must still name
    the lines of that revision (they were the last one's before the fix)."""
    from test_kconfig import make_repo

    branches = {}
    for i in range(3):
        thread_info = THREAD_INFO_H.format(order=1, size="(PAGE_SIZE << 1)", extra=extra)
        branches[f"r{i}"] = {
            "arch/x86/include/asm/page.h": PAGE_H.format(page_shift=12),
            "arch/x86/include/asm/thread_info.h": "/* moved */\n" * i + thread_info,
            "kernel/fork.c": OLD_FORK if extra == ARCH_KMALLOC else GENERIC_FORK,
        }
    repo = make_repo(tmp_path / "moved.git", branches)
    revs = [a for i in range(3) for a in ("--rev", f"r{i}")]
    cache = ["--cache", str(tmp_path / "cache.sqlite"), "-j", "1"]
    result = run("scan", repo, *revs, *cache, "--arch", "x86_64", "--format", "json")
    cached = [r["stack_allocation"] for r in json.loads(result.output)["results"]]
    fresh = [scan_json(repo, "--rev", f"r{i}", "--arch", "x86_64")[0] for i in range(3)]
    assert cached == [r["stack_allocation"] for r in fresh]
    lines = [(a["switch"], a["line"]) for a in cached]
    assert len(set(lines)) == 3  # the line moved at every revision


def test_a_fork_c_that_fails_names_its_own_line_and_no_revision(tmp_path):
    """fork.c that does not preprocess: each revision's reason names the line of
    that revision, and no revision (the result may be read back at another)."""
    from test_kconfig import make_repo

    thread_info = THREAD_INFO_H.format(order=1, size="(PAGE_SIZE << 1)", extra="")
    branches = {
        f"r{i}": {
            "arch/x86/include/asm/page.h": PAGE_H.format(page_shift=12),
            "arch/x86/include/asm/thread_info.h": thread_info,
            "kernel/fork.c": "/* moved */\n" * i + "#if 1 +\n#endif\n",
        }
        for i in range(3)
    }
    repo = make_repo(tmp_path / "failing.git", branches)
    revs = [a for i in range(3) for a in ("--rev", f"r{i}")]
    cache = ["--cache", str(tmp_path / "cache.sqlite"), "-j", "1", "--arch", "x86_64"]
    result = run("scan", repo, *revs, *cache, "--format", "json")
    reasons = [r["stack_allocation"]["reason"] for r in json.loads(result.output)["results"]]
    assert [f"kernel/fork.c:{i + 1}:" in reason for i, reason in enumerate(reasons)] == [True] * 3
    assert not any(f"r{i}:" in reason for i in range(3) for reason in reasons)


# --- history, diff and the HTML report ------------------------------------------------


def test_history_names_the_commit_that_changed_the_allocation(demo_repo):
    args = ["--rev", "v4.4^", "--rev", "v4.4", "--rev", "v4.10", "--set", "CONFIG_VMAP_STACK=y"]
    result = run("history", demo_repo, *args, "--no-cache", "--format", "json")
    assert result.exit_code == 0, result.output
    (series,) = [s for s in json.loads(result.output) if s["constant"] == "stack allocation"]
    assert [(r["first"], r["last"], r["value"]) for r in series["ranges"]] == [
        ("v4.4^", "v4.4^", "pages order 2"),
        ("v4.4", "v4.10", "vmalloc 16384 bytes (VMAP_STACK)"),
    ]
    (change,) = series["changes"]
    assert change["subject"] == "Linux 4.4" and len(change["commit"]) == 40
    # a history of named macros does not look at the allocation
    named = run("history", demo_repo, *args, "--no-cache", "--macro", "THREAD_SIZE")
    assert "stack allocation" not in named.output


def test_diff_reports_an_allocation_change(demo_repo):
    result = run("diff", demo_repo, "v4.4^", "v4.4", "--set", "CONFIG_VMAP_STACK=y", "--no-cache")
    assert result.exit_code == 0, result.output
    assert (
        "stack allocation (x86_64, default+VMAP_STACK=y): pages order 2 -> "
        "vmalloc 16384 bytes (VMAP_STACK)" in result.output
    )
    assert (
        "kmem_pages_node" in result.output and "__vmalloc_node_range(THREAD_SIZE" in result.output
    )
    same = run("diff", demo_repo, "v4.4", "v4.10", "--no-cache")
    assert "stack allocation" not in same.output


def test_html_report_has_an_allocation_column(demo_repo, tmp_path):
    out = tmp_path / "report.html"
    result = run("scan", demo_repo, "--rev", "v4.4", "--no-cache", "--format", "html", "-o", out)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert '<th scope="col">stack allocation</th>' in page
    assert 'href="#allocation-0"' in page and 'id="allocation-0"' in page
    assert "pages, order 2, 16384 bytes" in page


def test_all_configs_folds_the_allocation(demo_repo):
    result = run("scan", demo_repo, "--rev", "v4.4", "--all-configs", "--no-cache")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("stack allocation"))
    assert line.startswith(
        "stack allocation on v4.4 x86_64: pages order 2; arch if ARCH_THREAD_STACK_ALLOCATOR; "
        "pages order 3 if KASAN; vmalloc 16384 bytes (VMAP_STACK) if VMAP_STACK; "
    )
    assert "vmalloc 32768 bytes (VMAP_STACK) if KASAN && VMAP_STACK" in line
    plain = run(
        "scan", demo_repo, "--rev", "v4.4", "--all-configs", "--no-cache", "--no-allocation"
    )
    assert "stack allocation" not in plain.output


@pytest.mark.parametrize(
    "fork, reason",
    [
        ("#ifdef CONFIG_X\nstatic int x;\n", "Unterminated #ifdef CONFIG_X"),
        ("#if 1\n#error no stacks here\n#endif\n", "#error no stacks here"),
        ("#if 1 +\n#endif\n", "could not be preprocessed"),
        ("int main(void) { return 0; }\n", "calls none of alloc_thread_stack_node"),
    ],
)
def test_a_bad_fork_c_leaves_the_constants_alone(tmp_path, fork, reason):
    tree = write_tree(tmp_path, "", fork)
    arch = ARCHES["x86_64"]
    config = make_config("default", arch, kconfig=arch.kconfig_defaults)
    result = scan_tree(tree, arch, config, allocation=True)
    assert result.error is None and result.constants["THREAD_SIZE"].value == 16384
    a = result.stack_allocation
    assert a is not None and a.status == "unknown" and a.size is None
    assert reason in (a.reason or "")


# --- get_order(), folded as the kernel computes it ------------------------------------

# (size, PAGE_SHIFT, order): the least order whose PAGE_SIZE << order holds size
GET_ORDER_ROWS = [
    (1, 12, 0),
    (4096, 12, 0),
    (4097, 12, 1),
    (8192, 12, 1),
    (8193, 12, 2),
    (16384, 12, 2),
    (1 << 15, 16, 0),  # a stack under a 64 KiB page
    (1 << 17, 16, 1),
    (0, 12, None),  # (the kernel's loop would wrap: not folded)
]


@pytest.mark.parametrize(("size", "shift", "order"), GET_ORDER_ROWS)
def test_get_order(size, shift, order):
    assert get_order(size, shift) == order


def test_get_order_is_the_least_order_that_holds_the_size():
    for shift in (12, 13, 14, 16):
        for size in [*range(1, 70_000, 97), *(1 << n for n in range(25)), (1 << 20) + 1]:
            least = next(o for o in range(64) if (1 << shift) << o >= size)
            assert get_order(size, shift) == least, (size, shift)


# (an order argument as written, the size get_order is given, or None: not one call)
GET_ORDER_ARGUMENTS = [
    ("get_order(THREAD_SIZE)", "THREAD_SIZE"),
    (" get_order ( THREAD_SIZE * 2 ) ", " THREAD_SIZE * 2 "),
    ("get_order(f(1), 2)", "f(1), 2"),  # (the evaluator then says why it cannot fold)
    ("THREAD_SIZE_ORDER", None),
    ("get_order(A) + get_order(B)", None),
    ("get_order(A) + 1", None),
    ("1 + get_order(A)", None),
]


@pytest.mark.parametrize(("text", "size"), GET_ORDER_ARGUMENTS)
def test_get_order_argument(text, size):
    assert get_order_argument(text) == size
