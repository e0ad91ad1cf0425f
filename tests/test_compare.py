"""history, explain, diff, baseline and check on the demo history."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from extractor.cli import cli
from extractor.demo import build_demo_repo


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory):
    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo.git")


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def commit_with_subject(repo, subject):
    out = subprocess.run(
        ["git", f"--git-dir={repo}", "log", "--all", "--format=%H %s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ids = [line.split(" ", 1)[0] for line in out.splitlines() if line.split(" ", 1)[1] == subject]
    assert len(ids) == 1, (subject, ids)
    return ids[0]


HISTORY = [
    # config, ranges, (before, after, subject of the commit that made the change)
    (
        "default",
        ["v2.6.11 .. v3.14: 8192", "v3.15 .. v6.12: 16384"],
        [("v3.14", "v3.15", "x86_64: expand the kernel stack to 16 KiB")],
    ),
    (
        "kasan",
        ["v2.6.11 .. v3.14: 8192", "v3.15: 16384", "v4.4 .. v6.12: 32768"],
        [
            ("v3.14", "v3.15", "x86_64: expand the kernel stack to 16 KiB"),
            ("v3.15", "v4.4", "x86_64, kasan: double the kernel stacks under KASAN"),
        ],
    ),
    (
        "kasan-extra",
        [
            "v2.6.11 .. v3.14: 8192",
            "v3.15: 16384",
            "v4.4 .. v4.20: 32768",
            "v5.0: 65536",
            "v5.15 .. v6.12: 32768",
        ],
        [
            ("v3.14", "v3.15", "x86_64: expand the kernel stack to 16 KiB"),
            ("v3.15", "v4.4", "x86_64, kasan: double the kernel stacks under KASAN"),
            ("v4.20", "v5.0", "x86_64, kasan: quadruple the stacks under KASAN_EXTRA"),
            ("v5.0", "v5.15", "kasan: remove KASAN_EXTRA"),
        ],
    ),
]


@pytest.mark.parametrize(("config", "ranges", "changes"), HISTORY, ids=[h[0] for h in HISTORY])
def test_history_ranges_and_the_commit_of_each_change(demo_repo, config, ranges, changes):
    result = run(
        "history",
        demo_repo,
        "--tags",
        "v*",
        "--config",
        config,
        "--macro",
        "THREAD_SIZE",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    (series,) = [s for s in json.loads(result.output) if s["arch"] == "x86_64"]
    assert [
        f"{r['first']}{'' if r['first'] == r['last'] else ' .. ' + r['last']}: {r['value']}"
        for r in series["ranges"]
    ] == ranges
    found = [(c["before"], c["after"], c["commit"]) for c in series["changes"]]
    assert found == [(b, a, commit_with_subject(demo_repo, s)) for b, a, s in changes]


def test_explain_shows_lines_carets_and_the_branch(demo_repo):
    result = run("explain", demo_repo, "--rev", "v4.4", "--config", "default", "THREAD_SIZE")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "#ifdef CONFIG_KASAN" in text and "CONFIG_KASAN is not set" in text
    assert "so KASAN_STACK_ORDER is 0" in text
    assert (
        text.rstrip().splitlines()[-1].endswith("= 16384 (unsigned long)")
        or "= 16384 (unsigned long)" in text
    )
    lines = text.splitlines()
    define = next(
        i
        for i, line in enumerate(lines)
        if "#define THREAD_SIZE " in line or "#define THREAD_SIZE\t" in line
    )
    caret = lines[define + 1]
    column = lines[define].index("THREAD_SIZE", lines[define].index("define"))
    assert caret.index("^") == column and caret.count("~") == len("THREAD_SIZE") - 1


def test_explain_json_line_numbers_match_the_blob(demo_repo):
    result = run(
        "explain",
        demo_repo,
        "--rev",
        "v5.0",
        "--config",
        "kasan-extra",
        "THREAD_SIZE",
        "--format",
        "json",
    )
    document = json.loads(result.output)
    assert document["value"] == 65536
    for step in document["steps"]:
        if step["file"].startswith("<"):
            continue
        blob = subprocess.run(
            ["git", f"--git-dir={demo_repo}", "show", f"v5.0:{step['file']}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert blob.splitlines()[step["line"] - 1].expandtabs(8) == step["source"][0]


def test_diff_between_two_tags(demo_repo):
    result = run("diff", demo_repo, "v4.20", "v5.0", "--config", "kasan-extra")
    assert result.exit_code == 0
    assert "THREAD_SIZE (x86_64, kasan-extra): 32768 -> 65536" in result.output
    assert "KASAN_STACK_ORDER" in result.output


@pytest.fixture()
def work_tree(demo_repo, tmp_path):
    tree = tmp_path / "linux"
    subprocess.run(["git", "clone", "-q", str(demo_repo), str(tree)], check=True)
    subprocess.run(["git", "-C", str(tree), "checkout", "-q", "v4.4"], check=True)
    return tree


def test_check_passes_fails_and_refuses(work_tree, tmp_path):
    baseline = tmp_path / "kstack.json"
    made = run("baseline", work_tree, "--config", "default", "--config", "kasan", "-o", baseline)
    assert made.exit_code == 0, made.output
    assert run("check", work_tree, "--baseline", baseline).exit_code == 0

    header = work_tree / "arch/x86/include/asm/page_64_types.h"
    text = header.read_text()
    assert "(2 + KASAN_STACK_ORDER)" in text
    header.write_text(text.replace("(2 + KASAN_STACK_ORDER)", "(3 + KASAN_STACK_ORDER)", 1))
    line = 1 + next(
        i for i, source in enumerate(text.splitlines()) if "(2 + KASAN_STACK_ORDER)" in source
    )
    changed = run("check", work_tree, "--baseline", baseline)
    assert changed.exit_code == 1
    assert "THREAD_SIZE (x86_64, default): 16384 -> 32768" in changed.output
    assert f"arch/x86/include/asm/page_64_types.h:{line}" in changed.output

    missing = run("check", work_tree, "--baseline", tmp_path / "nope.json")
    assert missing.exit_code == 2


def test_check_expression_only_change_is_a_note_unless_strict(work_tree, tmp_path):
    baseline = tmp_path / "kstack.json"
    run("baseline", work_tree, "-o", baseline)
    header = work_tree / "arch/x86/include/asm/page_64_types.h"
    text = header.read_text()
    header.write_text(text.replace("(2 + KASAN_STACK_ORDER)", "(KASAN_STACK_ORDER + 2)", 1))
    assert run("check", work_tree, "--baseline", baseline).exit_code == 0
    assert run("check", work_tree, "--baseline", baseline, "--strict").exit_code == 1


AMD64 = "CONFIG_X86=y\nCONFIG_X86_64=y\nCONFIG_64BIT=y\nCONFIG_KASAN=y\n"
I686 = "CONFIG_X86=y\nCONFIG_X86_32=y\n# CONFIG_64BIT is not set\n"

# (the --config-file arguments, what becomes of the files before check, check's
# exit status, what its output holds). A baseline keeps the config it was made with:
# check read none, so every cell of a "+file" baseline was "absent" (exit 1).
CHECK_WITH_FILES = [
    (["{amd64}"], "kept", 0, "ok: no constant changed"),
    (["x86_64={amd64}", "i386={i686}"], "kept", 0, "ok: no constant changed"),
    (["{amd64}"], "deleted", 0, "ok: no constant changed"),  # (the baseline has it)
    (["{amd64}"], "edited", 0, "ok: no constant changed"),  # (and not the file as it is)
]


@pytest.mark.parametrize(("files", "after", "status", "said"), CHECK_WITH_FILES)
def test_check_reads_the_config_files_the_baseline_was_made_with(
    work_tree, tmp_path, files, after, status, said
):
    amd64, i686 = tmp_path / "amd64.config", tmp_path / "686.config"
    amd64.write_text(AMD64)
    i686.write_text(I686)
    arches = ["--arch", "x86_64"] + (["--arch", "i386"] if len(files) > 1 else [])
    given = [f"--config-file={f.format(amd64=amd64, i686=i686)}" for f in files]
    baseline = tmp_path / "kstack.json"
    made = run("baseline", work_tree, *arches, *given, "-o", baseline)
    assert made.exit_code == 0, made.output
    if after == "deleted":
        amd64.unlink()
    elif after == "edited":
        amd64.write_text(AMD64.replace("CONFIG_KASAN=y", "# CONFIG_KASAN is not set"))
    checked = run("check", work_tree, "--baseline", baseline)
    assert checked.exit_code == status, checked.output
    assert said in checked.output
    assert "absent" not in checked.output


# (what is done to a baseline made with a --config-file, check's one-line error)
BROKEN_RECORDS = [
    ("dropped", "this baseline was made with a --config-file, which an older kstack did "
     "not record: make the baseline again"),
    ("not a table", "baseline's config_files are not as kstack writes them"),
    ("a bad value", "CONFIG_KASAN=yes: a value is y, n, m, a number or a quoted string"),
]  # fmt: skip


@pytest.mark.parametrize(("damage", "error"), BROKEN_RECORDS)
def test_check_refuses_a_baseline_whose_config_files_it_cannot_read(
    work_tree, tmp_path, damage, error
):
    config = tmp_path / "amd64.config"
    config.write_text(AMD64)
    baseline = tmp_path / "kstack.json"
    assert run("baseline", work_tree, "--config-file", config, "-o", baseline).exit_code == 0
    document = json.loads(baseline.read_text())
    if damage == "dropped":
        del document["config_files"]
    elif damage == "not a table":
        document["config_files"]["x86_64"] = ["CONFIG_X86_64=y"]
    else:
        document["config_files"]["x86_64"]["symbols"]["CONFIG_KASAN"] = "yes"
    baseline.write_text(json.dumps(document))
    checked = run("check", work_tree, "--baseline", baseline)
    assert checked.exit_code == 2, checked.output
    assert error in checked.output, checked.output
    assert len(checked.output.strip().splitlines()) == 1, checked.output
