"""The command line: help with examples, both entry points, output formats, exit statuses."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from extractor.cli import cli
from extractor.demo import build_demo_repo

COMMANDS = sorted(cli.commands)


def test_every_command_is_listed():
    assert COMMANDS == ["baseline", "check", "demo", "diff", "explain", "history", "scan"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"kstack {command}" in result.output
    assert "Exit status" in result.output


def test_python_dash_m_and_the_console_script_agree():
    by_module = subprocess.run(
        [sys.executable, "-m", "extractor", "--version"], capture_output=True, text=True, check=True
    ).stdout
    script = shutil.which("kstack", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script, "the kstack console script is installed next to the interpreter"
    by_script = subprocess.run(
        [script, "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert by_module == by_script and "kstack" in by_module


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory):
    return build_demo_repo(tmp_path_factory.mktemp("demo") / "repo.git")


def scan(repo, *args):
    return CliRunner().invoke(
        cli,
        [
            "scan",
            str(repo),
            "--tags",
            "v4.*",
            "--config",
            "default",
            "--config",
            "kasan",
            "--no-cache",
            *args,
        ],
    )


def test_formats_say_the_same_thing(demo_repo):
    document = json.loads(scan(demo_repo, "--format", "json").output)
    sizes = {
        (r["rev"], r["config"]): r["constants"]["THREAD_SIZE"]["value"] for r in document["results"]
    }
    assert sizes[("v4.4", "kasan")] == 32768 and sizes[("v4.10", "default")] == 16384
    rows = list(csv.DictReader(io.StringIO(scan(demo_repo, "--format", "csv").output)))
    assert {
        (r["rev"], r["config"]): int(r["value"]) for r in rows if r["constant"] == "THREAD_SIZE"
    } == sizes
    markdown = scan(demo_repo, "--format", "markdown").output
    assert "| v4.4 | x86_64 | kasan | 32768 |" in markdown
    table = scan(demo_repo).output.splitlines()
    assert table[0].split()[:4] == ["rev", "arch", "config", "THREAD_SIZE"]
    assert any(line.split()[:4] == ["v4.4", "x86_64", "kasan", "32768"] for line in table)


def test_json_contract_fields(demo_repo):
    document = json.loads(scan(demo_repo, "--format", "json").output)
    result = document["results"][0]
    assert set(result) >= {"rev", "arch", "config", "constants", "warnings", "error"}
    constant = result["constants"]["THREAD_SIZE"]
    assert set(constant) >= {"value", "expression", "file", "line", "chain"}
    assert [link["macro"] for link in constant["chain"]][:2] == ["THREAD_SIZE", "PAGE_SIZE"]
    assert all({"macro", "file", "line"} <= set(link) for link in constant["chain"])


def test_html_report_written(demo_repo, tmp_path):
    out = tmp_path / "report.html"
    result = scan(demo_repo, "--format", "html", "-o", str(out))
    assert result.exit_code == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and 'id="results"' in page


EXITS = [
    (["scan", "/nonexistent/kernel"], 2, "no such file or directory"),
    (["scan", "{repo}", "--rev", "v9.9"], 2, "v9.9: unknown revision"),
    (["scan", "{repo}", "--arch", "sparc"], 2, "unknown arch 'sparc'"),
    (["scan", "{repo}", "--rev", "v4.4", "--config", "nope"], 2, "unknown config profile"),
    (["scan", "{repo}", "--rev", "v4.4", "--set", "KASAN"], 2, "expected CONFIG_NAME="),
    (["scan", "{repo}", "--tags", "nothing*"], 2, "no tag matches nothing*"),
    (["scan", "{repo}", "--rev", "v4.4", "--rev", "v9.9"], 3, "v9.9: unknown revision"),
    (["explain", "{repo}", "--rev", "v4.4", "NO_SUCH_MACRO"], 2, "NO_SUCH_MACRO is not defined"),
    (["scan", "{repo}", "--frobnicate"], 2, "No such option"),
    (["scan", "{repo}", "--rev", "v4.4", "--macro", "A,B"], 2, "--macro 'A,B': not a macro name"),
    (["history", "{repo}", "--tags", "v4.*", "--macro", "1X"], 2, "'1X': not a macro name"),
    (["explain", "{repo}", "--rev", "v4.4", "PAGE SIZE"], 2, "'PAGE SIZE': not a macro name"),
    (["scan", "{repo}", "--rev", "v4.4", "--set", "CONFIG_KASAN=no"], 2, "a value is y, n, m"),
    (["scan", "{repo}", "--tags", "v4.*", "--since", "v9.0"], 2, "within --since v9.0: 3 outside"),
    (["scan", "{repo}", "--rev", "v4.4", "--limit-seconds", "0"], 2, "not in the range x>0"),
]


@pytest.mark.parametrize(("args", "status", "message"), EXITS, ids=[" ".join(a) for a, *_ in EXITS])
def test_errors_are_one_line_with_a_status(demo_repo, args, status, message):
    argv = [a.replace("{repo}", str(demo_repo)) for a in args]
    proc = subprocess.run(
        [sys.executable, "-m", "extractor", *argv, "--no-cache"]
        if argv[0] == "scan" and "--frobnicate" not in argv
        else [sys.executable, "-m", "extractor", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == status, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert any(message in line for line in lines), proc.stderr
    assert len([line for line in lines if line.startswith("kstack:")]) == 1


def _scan_stderr(repo, *, terminal: bool) -> str:
    """What ``kstack scan`` writes to stderr, on a terminal (a pty) or on a pipe."""
    import pty

    args = [sys.executable, "-m", "extractor", "scan", str(repo), "--tags", "v*", "--no-cache"]
    if not terminal:
        return subprocess.run(args, capture_output=True, text=True, timeout=300).stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=300)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize(("terminal", "shown"), [(True, True), (False, False)])
def test_progress_goes_to_a_terminal_only(demo_repo, terminal, shown):
    listed = CliRunner().invoke(
        cli, ["scan", str(demo_repo), "--tags", "v*", "--no-cache", "--format", "json"]
    )
    document = json.loads(listed.output)
    tags = {r["rev"] for r in document["results"]}  # the revisions the scan selects
    err = _scan_stderr(demo_repo, terminal=terminal)
    done = f"{len(tags)}/{len(tags)} tags, "
    assert (done in err and " cached" in err) == shown, err
    assert ("tags, " in err) == shown, err


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_run_that_stops_leaves_the_output_file_as_it_was(demo_repo, tmp_path, monkeypatch, fmt):
    """A streamed report goes to a file beside ``-o`` and is renamed into place at
    the end: an error (or Ctrl-C) half-way leaves the old file, not half a report."""
    import extractor.batch as batch
    from extractor.errors import SourceError

    real_each = batch.each

    def stops_after_one(*args, **kwargs):
        results = real_each(*args, **kwargs)
        yield next(results)
        results.close()
        raise SourceError("git cat-file stopped answering")

    monkeypatch.setattr(batch, "each", stops_after_one)
    out = tmp_path / f"report.{fmt}"
    out.write_text("the previous report\n")
    result = scan(demo_repo, "--format", fmt, "-o", str(out))
    assert result.exit_code == 2, result.output
    assert out.read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_a_streamed_report_is_renamed_into_place(demo_repo, tmp_path):
    out = tmp_path / "report.json"
    result = scan(demo_repo, "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["results"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_output_through_a_link_keeps_the_link(demo_repo, tmp_path):
    """-o names what is written, not what is replaced: a link stays a link and
    its target gets the report (renaming onto the link would replace it, as it
    would /dev/stdout)."""
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = scan(demo_repo, "--format", "json", "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert json.loads(real.read_text())["results"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


# (command after the repo, the trees --stats must count: the history counts its
# bisection's commits too, beyond its 13 tags; diff both sides; baseline its one)
STATS_ROWS = [
    (["history", "{repo}", "--tags", "v*", "--macro", "THREAD_SIZE"], lambda trees: trees > 13),
    (["diff", "{repo}", "v4.4", "v4.10"], lambda trees: trees == 2),
    (["baseline", "{repo}", "--rev", "v4.4", "-o", "{out}"], lambda trees: trees == 1),
    (["scan", "{repo}", "--tags", "v4.*"], lambda trees: trees == 3),
]


@pytest.mark.parametrize(("args", "counted"), STATS_ROWS, ids=[r[0][0] for r in STATS_ROWS])
def test_stats_count_every_scan_a_command_made(demo_repo, tmp_path, args, counted):
    argv = [a.replace("{repo}", str(demo_repo)).replace("{out}", str(tmp_path / "b")) for a in args]
    quiet = CliRunner().invoke(cli, [*argv, "--no-cache"])
    assert quiet.exit_code == 0, quiet.output
    assert "trees," not in quiet.stderr
    result = CliRunner().invoke(cli, [*argv, "--no-cache", "--stats"])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stderr.splitlines() if " trees, " in line]
    assert counted(int(line.removeprefix("kstack: ").split()[0])), line


# (command after the repo, the trees it reads): commands that read no cache say
# with --stats what the preprocessor did, and nothing without it
UNCACHED_STATS_ROWS = [
    (["explain", "{repo}", "--rev", "v4.4", "THREAD_SIZE"], 1),
    (["explain", "{repo}", "--rev", "v4.4", "--allocation"], 1),
    (["scan", "{repo}", "--rev", "v4.4", "--all-configs"], 1),
    (["scan", "{repo}", "--tags", "v4.*", "--all-configs"], 3),
]


@pytest.mark.parametrize(
    ("args", "trees"), UNCACHED_STATS_ROWS, ids=["explain", "allocation", "all-configs", "tags"]
)
def test_stats_of_commands_that_read_no_cache(demo_repo, args, trees):
    argv = [a.replace("{repo}", str(demo_repo)) for a in args]
    quiet = CliRunner().invoke(cli, argv)
    assert quiet.exit_code == 0, quiet.output
    assert "reads no cache" not in quiet.stderr
    result = CliRunner().invoke(cli, [*argv, "--stats"])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stderr.splitlines() if "reads no cache" in line]
    match = re.fullmatch(
        r"kstack: \S+ reads no cache: (\d+) trees?, (\d+) headers preprocessed, "
        r"(\d+) replayed from memory, in [\d.]+ s",
        line,
    )
    assert match is not None, line
    assert int(match[1]) == trees, line
    assert int(match[2]) + int(match[3]) > 0, line


def _buffered() -> dict[str, str]:
    """The environment less ``PYTHONUNBUFFERED`` (set on some machines): stdout on a
    pipe is then buffered, as for most users, and a missed flush shows."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def test_the_console_ends_only_when_reports_and_cache_are_whole(demo_repo, tmp_path):
    """``console`` ends the process without Python's teardown (``os._exit``): what
    it wrote to a pipe must be whole, and the cache it filled must serve the next
    run in full. Without its flush, the JSON on the pipe is cut at a buffer."""
    cache = tmp_path / "cache.sqlite"
    args = [sys.executable, "-m", "extractor", "scan", str(demo_repo), "--tags", "v*"]
    args += ["--format", "json", "--cache", str(cache), "--stats"]
    cold, warm = (
        subprocess.run(args, capture_output=True, text=True, timeout=300, env=_buffered())
        for _ in "12"
    )
    assert (cold.returncode, warm.returncode) == (0, 0), cold.stderr + warm.stderr
    values = [
        [(r["rev"], r["arch"], r["config"], r["constants"]) for r in json.loads(out)["results"]]
        for out in (cold.stdout, warm.stdout)
    ]
    assert values[0] and values[0] == values[1]
    assert "(100.0%" in warm.stderr and "0 preprocessed" in warm.stderr, warm.stderr


def test_a_reader_that_stops_early_gets_no_traceback(demo_repo):
    """``kstack scan ... | head``: the reader closes the pipe half-way. The command
    ends with status 0 and says nothing on stderr (Python's own exit used to
    print "Exception ignored ... BrokenPipeError" and end with status 120)."""
    args = [sys.executable, "-m", "extractor", "scan", str(demo_repo), "--tags", "v*"]
    args += ["--format", "csv", "--no-cache"]  # (short rows: some wait in the buffer)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_buffered())
    assert proc.stdout is not None and proc.stderr is not None
    head = proc.stdout.readline()
    proc.stdout.close()  # as head(1) does once it has its lines
    err = proc.stderr.read().decode()
    assert head.startswith(b"rev,arch,config,")
    assert (proc.wait(timeout=300), err) == (0, "")
