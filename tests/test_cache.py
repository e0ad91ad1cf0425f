"""The result cache: never stale, shared by concurrent runs, safe to interrupt,
rebuilt when corrupt. Every cached answer is compared with a run without the cache."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extractor.cache_content import Backoff

ERAS = Path(__file__).resolve().parent.parent / "fixtures" / "eras"
FIXTURE = ERAS / "4.4"
TYPES = "include/linux/types.h"
PAGE64 = "arch/x86/include/asm/page_64_types.h"
#: 5.15 declares N_EXCEPTION_STACKS as an enumerator: the asm directory is
#: scanned for it, and what that scan sees is part of the content key
CEA = "arch/x86/include/asm/cpu_entry_area.h"
NEW_ASM = "arch/x86/include/asm/estack_extra.h"
#: 6.12's PAGE_SHIFT is CONFIG_PAGE_SHIFT, an int this file decides
X86_KCONFIG = "arch/x86/Kconfig"


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def kstack(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "extractor", *args], capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stderr
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def values(document: str) -> list[tuple]:
    """Everything a result says, as comparable rows (lines included)."""
    rows = []
    for r in json.loads(document)["results"]:
        for name, c in sorted(r["constants"].items()):
            rows.append(
                (
                    r["rev"],
                    r["config"],
                    name,
                    c["value"],
                    c["expression"],
                    c["file"],
                    c["line"],
                    json.dumps(c["chain"], sort_keys=True),
                )
            )
        rows.append((r["rev"], r["config"], "warnings", json.dumps(r["warnings"])))
        allocation = json.dumps(r.get("stack_allocation"), sort_keys=True)
        rows.append((r["rev"], r["config"], "stack_allocation", allocation))
    return rows


def stats(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if "cells:" in line)


def make_repo(tmp_path: Path, era: Path = FIXTURE) -> Path:
    work = tmp_path / "linux"
    shutil.copytree(era, work)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "base")
    git(work, "tag", "v1.0")
    return work


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


def edit(repo: Path, path: str, change) -> None:
    file = repo / path
    file.write_text(change(file.read_text() if file.exists() else ""))


def prepend_comment(text: str) -> str:
    return "/* a comment\n   over two lines */\n" + text


def add_unrelated_define(text: str) -> str:
    return text.rstrip("\n").rsplit("#endif", 1)[0] + "#define UNRELATED_MACRO 7\n#endif\n"


def undef_chain_macro(text: str) -> str:
    return text.rstrip("\n").rsplit("#endif", 1)[0] + (
        "#undef THREAD_SIZE_ORDER\n#define THREAD_SIZE_ORDER 5\n#endif\n"
    )


def comment_above_definition(text: str) -> str:
    return text.replace(
        "#define THREAD_SIZE_ORDER", "/* moved down */\n\n#define THREAD_SIZE_ORDER", 1
    )


def change_value(text: str) -> str:
    return text.replace("(2 + KASAN_STACK_ORDER)", "(3 + KASAN_STACK_ORDER)", 1)


def comment_above_enum(text: str) -> str:
    return text.replace(
        "enum exception_stack_ordering", "/* one */\n/* two */\nenum exception_stack_ordering", 1
    )


def one_more_stack(text: str) -> str:
    return text.replace("\tN_EXCEPTION_STACKS", "\tESTACK_EXTRA,\n\tN_EXCEPTION_STACKS", 1)


def unrelated_header(text: str) -> str:
    return "#define SOMETHING_ELSE 3\n"


def header_that_defines_it(text: str) -> str:
    return "#define N_EXCEPTION_STACKS 9\n"


def unrelated_kconfig_entry(text: str) -> str:
    return text + '\nconfig SOME_DRIVER\n\tbool "A driver no cell reads"\n\tdefault y\n'


def comment_above_kconfig_entries(text: str) -> str:
    return "# a comment that moves every entry down\n\n" + text


def kconfig_value(text: str) -> str:
    return text.replace("default 12", "default 14", 1)


EDITS = [
    # era; what changes between v1.0 and v1.1; whether v1.1 may be answered from the cache
    ("4.4", "comment in a header on the path", TYPES, prepend_comment, True),
    ("4.4", "unrelated #define in a header on the path", TYPES, add_unrelated_define, True),
    ("4.4", "comment above a definition (lines move)", PAGE64, comment_above_definition, True),
    ("4.4", "an #undef of a chain macro in an unrelated header", TYPES, undef_chain_macro, False),
    ("4.4", "the value itself", PAGE64, change_value, False),
    ("5.15", "comment above an enumerator (its line moves)", CEA, comment_above_enum, True),
    ("5.15", "a new asm header that does not name it", NEW_ASM, unrelated_header, True),
    ("5.15", "a new asm header that defines it as a macro", NEW_ASM, header_that_defines_it, False),
    ("5.15", "one more enumerator before it (its line moves)", CEA, one_more_stack, True),
    # the Kconfig files count by what the cell reads of their answers
    ("6.12", "a Kconfig entry no cell reads", X86_KCONFIG, unrelated_kconfig_entry, True),
    (
        "6.12",
        "lines above a Kconfig entry a chain shows",
        X86_KCONFIG,
        comment_above_kconfig_entries,
        False,
    ),
    ("6.12", "the Kconfig value a chain reads", X86_KCONFIG, kconfig_value, False),
]


def function_below_the_allocator(text: str) -> str:
    return text + "\nstatic int kstack_unrelated(void)\n{\n\treturn 0;\n}\n"


def comment_above_the_allocator(text: str) -> str:
    return "/* a comment that moves every line down */\n" + text


def allocation_order(text: str) -> str:
    assert "\t\t\t\t\t     THREAD_SIZE_ORDER);" in text
    return text.replace(
        "\t\t\t\t\t     THREAD_SIZE_ORDER);", "\t\t\t\t\t     THREAD_SIZE_ORDER + 1);"
    )


def slab_cache_size(text: str) -> str:
    assert '"thread_stack", THREAD_SIZE,' in text
    return text.replace('"thread_stack", THREAD_SIZE,', '"thread_stack", THREAD_SIZE / 2,')


def slab_cache_align(text: str) -> str:
    """The second line of the slab cache's creation (its alignment): a call is read
    from its name to its closing bracket, not its first line only."""
    assert "\t\t\t\t\t       THREAD_SIZE, 0, NULL);" in text
    return text.replace(
        "\t\t\t\t\t       THREAD_SIZE, 0, NULL);", "\t\t\t\t\t       THREAD_SIZE / 2, 0, NULL);"
    )


def arch_allocator_in_a_header(text: str) -> str:
    return text.replace(
        "#endif /* FIXTURE_ASM_X86_PAGE_64_TYPES_H */",
        "static inline unsigned long *alloc_thread_stack_node(struct task_struct *tsk, int node)\n"
        "{\n\tstruct page *page = alloc_pages_node(node, 0, THREAD_SIZE_ORDER);\n\n"
        "\treturn page ? page_address(page) : NULL;\n}\n\n"
        "#endif /* FIXTURE_ASM_X86_PAGE_64_TYPES_H */",
    )


ARCH_ALLOCATOR = ("--set", "CONFIG_ARCH_THREAD_STACK_ALLOCATOR=y")

FORK = "kernel/fork.c"

ALLOCATION_EDITS = [
    # what changes (4.4 era); the file; --set values; whether v1.1 may be answered from
    # the cache: fork.c counts by what the allocation stage reads of it, and a header
    # by its allocator sites too (the stage looks there for an arch's own allocator)
    ("fork.c: a function below the allocator", FORK, (), function_below_the_allocator, True),
    ("fork.c: a comment above the allocator (the lines shown move)", FORK, (),
     comment_above_the_allocator, False),
    ("fork.c: a comment above it, the arch's own allocator", FORK, ARCH_ALLOCATOR,
     comment_above_the_allocator, True),
    ("fork.c: the allocation call's order", FORK, (), allocation_order, False),
    ("fork.c: the slab cache's object size (a branch not taken)", FORK, (), slab_cache_size,
     False),
    ("fork.c: a later line of the slab cache's creation", FORK, (), slab_cache_align, False),
    ("a header read gains the arch's own allocator", PAGE64, ARCH_ALLOCATOR,
     arch_allocator_in_a_header, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("era", "what", "path", "change", "reused"), EDITS, ids=[f"{e[0]}: {e[1]}" for e in EDITS]
)
def test_cached_answers_equal_uncached_ones(tmp_path, era, what, path, change, reused):
    check_edit(tmp_path, era, what, path, change, reused)


@pytest.mark.parametrize(
    ("what", "path", "more", "change", "reused"),
    ALLOCATION_EDITS,
    ids=[e[0] for e in ALLOCATION_EDITS],
)
def test_the_allocation_counts_by_what_it_reads(tmp_path, what, path, more, change, reused):
    check_edit(tmp_path, "4.4", what, path, change, reused, more)


def check_edit(tmp_path, era, what, path, change, reused, more=()):
    """v1.0, then v1.1 with one change: the cached scan answers as each tag scanned
    alone from scratch does, and reuses v1.0's results by content exactly when
    ``reused``. (Not a two-tag ``--no-cache`` run: that one reuses by content too.)"""
    repo = make_repo(tmp_path, ERAS / era)
    edit(repo, path, change)
    git(repo, "add", "-A")
    git(repo, "commit", "-qam", what)
    git(repo, "tag", "v1.1")
    options = ["--config", "default", "--config", "kasan", "--format", "json", "-j", "1"]
    options += ["--stats", *more]
    args = ["scan", str(repo), "--tags", "v*", *options]
    cached = kstack(*args, "--cache", str(tmp_path / "c.sqlite"))
    scratch = from_scratch(repo, ("v1.0", "v1.1"), options)
    assert values(cached.stdout) == scratch
    line = stats(cached.stderr)
    assert ("2 preprocessed" in line) == reused, line  # v1.0's two configs only
    warm = kstack(*args, "--cache", str(tmp_path / "c.sqlite"))
    assert values(warm.stdout) == scratch
    assert "by tree" in stats(warm.stderr) and "0 preprocessed" in stats(warm.stderr)


def from_scratch(repo: Path, tags, options) -> list[tuple]:
    """``values`` of each tag scanned alone, without a cache: a run of several tags
    answers later ones by content even with ``--no-cache``, from its own memory."""
    return [
        row
        for tag in tags
        for row in values(kstack("scan", str(repo), "--rev", tag, *options, "--no-cache").stdout)
    ]


def test_results_another_kstack_kept_are_not_answers(repo, tmp_path):
    """The version number says little (a fix changes results, not it): a cell's key
    holds the code that made it. A copy of kstack with one module changed, a comment
    only, finds nothing it can use in the cache this one filled, and leaves it whole."""
    args = ["scan", str(repo), "--tags", "v*", "--format", "json", "--stats", "-j", "1"]
    args += ["--cache", str(tmp_path / "c.sqlite")]
    first = kstack(*args)
    other = tmp_path / "other"
    source = Path(__file__).resolve().parents[1]
    shutil.copytree(
        source / "extractor", other / "extractor", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(source / "grammars", other / "grammars")
    with open(other / "extractor" / "cache.py", "a") as module:
        module.write("# another kstack\n")
    proc = subprocess.run(
        [sys.executable, "-m", "extractor", *args], capture_output=True, text=True, cwd=other,
        timeout=300, env={**os.environ, "PYTHONPATH": str(other)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert values(proc.stdout) == values(first.stdout)
    assert "0 from the cache" in stats(proc.stderr), stats(proc.stderr)
    again = kstack(*args)
    assert "1 by tree" in stats(again.stderr), stats(again.stderr)


def test_work_tree_edits_are_seen_through_the_cache(repo, tmp_path):
    cache = str(tmp_path / "c.sqlite")
    before = kstack("scan", str(repo), "--format", "json", "--cache", cache)
    edit(repo, PAGE64, change_value)
    after = kstack("scan", str(repo), "--format", "json", "--cache", cache)
    size = [
        json.loads(d.stdout)["results"][0]["constants"]["THREAD_SIZE"]["value"]
        for d in (before, after)
    ]
    assert size == [16384, 32768]


def test_concurrent_runs_share_one_cache(repo, tmp_path):
    for n in range(2, 12):
        edit(repo, TYPES, lambda t, n=n: t + f"/* {n} */\n")
        git(repo, "commit", "-qam", f"c{n}")
        git(repo, "tag", f"v1.{n}")
    cache = str(tmp_path / "c.sqlite")
    args = [
        sys.executable,
        "-m",
        "extractor",
        "scan",
        str(repo),
        "--tags",
        "v*",
        "--format",
        "json",
        "-j",
        "1",
        "--cache",
        cache,
    ]
    runs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [0, 0, 0], [e for _, e in outputs]
    tags = ["v1.0", *(f"v1.{n}" for n in range(2, 12))]
    scratch = from_scratch(repo, tags, ["--format", "json"])
    for out, _ in outputs:
        assert values(out) == scratch
    db = sqlite3.connect(cache)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_interrupted_scan_leaves_the_cache_consistent(tmp_path):
    from extractor.demo import build_demo_repo

    repo = build_demo_repo(tmp_path / "demo.git")
    cache = tmp_path / "c.sqlite"
    # the cells (arches, configs, output): the same for the scratch scans below
    cells = ["--arch", "x86_64", "--arch", "i386", "--config", "default", "--config", "kasan"]
    cells += ["--format", "json"]
    scan_args = ["scan", str(repo), "--tags", "v*", *cells, "-j", "1", "--cache", str(cache)]
    args = [sys.executable, "-m", "extractor", *scan_args]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (cache.exists() and _cells(cache) >= 4):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err
    assert sqlite3.connect(cache).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = kstack(*scan_args)
    tags = list(dict.fromkeys(r["rev"] for r in json.loads(again.stdout)["results"]))
    assert len(tags) > 4, tags  # (the whole demo history, not the cells before the signal)
    assert values(again.stdout) == from_scratch(repo, tags, cells)


def _cells(cache: Path) -> int:
    try:
        return (
            sqlite3.connect(cache, timeout=1)
            .execute("SELECT count(*) FROM tree_results")
            .fetchone()[0]
        )
    except sqlite3.Error:
        return 0


def not_a_database(cache: Path) -> None:
    cache.write_bytes(b"this is not a database" * 100)


def an_older_schema(cache: Path) -> None:
    """A cache an older kstack wrote (schema 2 kept whole results per tree)."""
    db = sqlite3.connect(cache)
    with db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '2')")
        db.execute(
            "CREATE TABLE tree_results (tree_id TEXT, cell TEXT, result TEXT, inputs TEXT,"
            " PRIMARY KEY (tree_id, cell))"
        )
    db.close()


UNUSABLE = [
    # what the file is; how to make it; the reason the warning gives
    ("not a database", not_a_database, "file is not a database"),
    ("an older schema", an_older_schema, "schema 2, expected"),
]


@pytest.mark.parametrize(("what", "make", "reason"), UNUSABLE, ids=[u[0] for u in UNUSABLE])
def test_an_unusable_cache_is_set_aside_and_rebuilt(repo, tmp_path, what, make, reason):
    cache = tmp_path / "c.sqlite"
    make(cache)
    proc = kstack("scan", str(repo), "--format", "json", "--cache", str(cache))
    assert "set aside" in proc.stderr and proc.stderr.count("\n") == 1
    assert reason in proc.stderr, proc.stderr
    assert [p.name for p in tmp_path.glob("c.sqlite.corrupt-*")]
    fresh = kstack("scan", str(repo), "--format", "json", "--no-cache")
    assert values(proc.stdout) == values(fresh.stdout)
    assert (
        _cells(cache) == 0
        and sqlite3.connect(cache).execute("SELECT count(*) FROM content_results").fetchone()[0]
        >= 1
    )


# (id, what each revision's key did: "h" hit, "m" missed; "worth" before each)
# (outcome per revision: h hit, m miss, - skipped; the key looked up; a template made
# after computing, "." where a hit computed nothing: always right before a lookup)
BACKOFF = [
    ("hits never back off", "hhhhh", "yyyyy", "....."),
    ("one miss is not a streak", "mhmhm", "yyyyy", "y.y.y"),
    ("two misses skip one revision, three skip two", "mm-m--m", "yynynny", "yyyynyy"),
    ("a hit ends the backoff", "mm-hmm-", "yynyyyn", "yyy.yyy"),
    ("the skip stops growing at MAX_SKIP (4 here)", "mm-m--m----m----m", "yynynnynnnnynnnny",
     "yyyynyynnnyynnnyy"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("outcomes", "worth", "made"), [r[1:] for r in BACKOFF], ids=[r[0] for r in BACKOFF]
)
def test_content_key_backoff(outcomes, worth, made, monkeypatch):
    monkeypatch.setattr(Backoff, "STREAK", 2)  # (the table's rows count streaks of two)
    monkeypatch.setattr(Backoff, "MAX_SKIP", 4)
    backoff, seen, templates = Backoff(), "", ""
    for outcome in outcomes:
        asked = backoff.worth("cell")
        seen += "y" if asked else "n"
        assert asked == (outcome != "-"), f"revision {len(seen)}"
        if outcome == "h":
            backoff.hit("cell")
            templates += "."
            continue
        if outcome == "m":
            backoff.missed("cell")
        templates += "y" if asked or backoff.next("cell") else "n"
    assert (seen, templates) == (worth, made)
    assert Backoff().worth("another cell")


def test_a_key_looked_up_after_a_skip_has_a_template_from_the_revision_before(tmp_path):
    """The first ``STREAK`` tags after v1.0 change the value (a streak of misses: the
    next skips the key); that one changes it again and the last only adds a
    comment. The last is answered by content only if the one before, which skipped
    the key, made the template it is looked up with."""
    repo = make_repo(tmp_path)
    orders = [str(3 + n) for n in range(Backoff.STREAK + 1)]
    for number, order in enumerate(orders, 1):
        edit(
            repo,
            PAGE64,
            lambda t, o=order: re.sub(
                r"\(\d \+ KASAN_STACK_ORDER\)", f"({o} + KASAN_STACK_ORDER)", t
            ),
        )
        git(repo, "commit", "-qam", f"order {order}")
        git(repo, "tag", f"v1.{number}")
    edit(repo, PAGE64, prepend_comment)
    git(repo, "commit", "-qam", "a comment")
    git(repo, "tag", f"v1.{len(orders) + 1}")
    args = ["scan", str(repo), "--tags", "v*", "--format", "json", "-j", "1", "--stats"]
    cached = kstack(*args, "--cache", str(tmp_path / "c.sqlite"))
    tags = [f"v1.{n}" for n in range(len(orders) + 2)]
    assert values(cached.stdout) == from_scratch(repo, tags, ["--format", "json", "-j", "1"])
    assert "1 by content" in stats(cached.stderr), stats(cached.stderr)
