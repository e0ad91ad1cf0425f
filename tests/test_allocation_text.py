"""``allocation_text.allocator_sites``: what the cache's key sees of a header's
allocators, as a table of pairs that must key the same or differently."""

from __future__ import annotations

import pytest

from extractor.allocation_text import allocator_sites

NONE = "struct thread_info;\n#define THREAD_SIZE 8192\n"
SITE = (
    "static inline struct thread_info *alloc_thread_info_node(struct task_struct *tsk,"
    " int node)\n{\n\treturn page_address(alloc_pages_node(node, GFP_KERNEL, 1));\n}\n"
)

PAIRS = [
    # (why, one header, another, whether their keys are the same)
    ("headers without an allocator key alike", NONE, "int x;\n", True),
    ("a mention in a comment is no site", NONE, NONE + "/* alloc_thread_info(tsk) */\n", True),
    ("a site is a change", NONE, NONE + SITE, False),
    ("each allocator name counts", NONE, NONE + "#define alloc_thread_stack_node(t, n) f(t)\n",
     False),
    ("code elsewhere is not", SITE, "int unrelated;\n" + SITE + "long more;\n", True),
    ("a site's own text is", SITE, SITE.replace("int node)", "int node, int x)"), False),
]  # fmt: skip


@pytest.mark.parametrize(("why", "one", "other", "same"), PAIRS, ids=[p[0] for p in PAIRS])
def test_allocator_sites(why, one, other, same):
    assert (allocator_sites(one) == allocator_sites(other)) is same
