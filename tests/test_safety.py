"""kstack runs nothing it finds in a tree, and leaves no process or file behind.

In: ``badinput.trapped_tree`` (a work tree and repository whose Makefile,
Kconfig, scripts, hooks, filters, textconv, pager ... would each touch a
marker; a make, gcc, perl ... first on PATH that would too), and batches
with broken tags. Out: checks that every command, in directory and git mode,
leaves the marker directory empty; that no git process outlives a run, even
an interrupted one; and that the temporary directory is empty afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import badinput
import pytest

#: the environment variable that marks every process a run starts
RUN_MARK = "KSTACK_SAFETY_RUN"


@pytest.fixture(scope="module")
def trapped(tmp_path_factory: pytest.TempPathFactory) -> badinput.Trapped:
    return badinput.trapped_tree(tmp_path_factory.mktemp("trapped"))


# command (with {repo} and {tmp}), exit status, a line the output must show
COMMANDS: dict[str, tuple[tuple[str, ...], int, str]] = {
    "scan-dir": (("scan", "{repo}"), 0, "16384"),
    "scan-tags": (("scan", "{repo}", "--tags", "*", "--format", "json"), 0, "32768"),
    "explain-dir": (("explain", "{repo}", "THREAD_SIZE"), 0, "16384"),
    "explain-rev": (("explain", "{repo}", "--rev", "v2", "THREAD_SIZE"), 0, "32768"),
    "history": (("history", "{repo}", "--tags", "*"), 0, "32768"),
    "diff-revs": (("diff", "{repo}", "v1", "v2"), 0, "32768"),
    "diff-work-tree": (("diff", "{repo}", "v2"), 0, "16384"),
    "baseline-dir": (("baseline", "{repo}", "-o", "{tmp}/baseline.json"), 0, ""),
    "check-rev": (("check", "{repo}", "--baseline", "{tmp}/baseline.json", "--rev", "v2"), 1, ""),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_nothing_in_the_tree_runs(command: str, trapped: badinput.Trapped, tmp_path: Path) -> None:
    args, status, shows = COMMANDS[command]
    if command == "check-rev":  # needs a baseline of the work tree
        baseline = ("baseline", str(trapped.repo), "-o", str(tmp_path / "baseline.json"))
        first = badinput.run_kstack(baseline, tmp_path, _env(trapped, tmp_path))
        assert first.returncode == 0, first.stderr
    argv = [a.format(repo=trapped.repo, tmp=tmp_path) for a in args]
    process = badinput.run_kstack(argv, trapped.repo, _env(trapped, tmp_path))

    assert "Traceback" not in process.stdout + process.stderr
    assert process.returncode == status, process.stderr
    assert shows in process.stdout
    assert sorted(os.listdir(trapped.markers)) == [], "a command from the tree ran"


def _env(trapped: badinput.Trapped, tmp: Path) -> dict[str, str]:
    path = f"{trapped.bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    return badinput.kstack_env(tmp, PATH=path)


# --- nothing left behind ------------------------------------------------------------


def _marked(mark: str) -> list[str]:
    """The command lines of live processes that carry ``mark`` in their environment."""
    found = []
    needle = f"{RUN_MARK}={mark}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if needle not in handle.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                found.append(handle.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # gone, or not ours
            continue
    return found


def _left_behind(mark: str, grace: float = 3.0) -> list[str]:
    """Processes of a finished run still alive after ``grace`` seconds (a git cat-file
    whose kstack is gone reads end-of-file and exits on its own: that is no leak)."""
    deadline = time.monotonic() + grace
    while (found := _marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def _run_env(tmp: Path, mark: str) -> dict[str, str]:
    scratch = tmp / "tmpdir"
    scratch.mkdir(exist_ok=True)
    return badinput.kstack_env(tmp, TMPDIR=str(scratch), **{RUN_MARK: mark})


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("batches")
    return {
        "broken": badinput.broken_batch(tmp),
        "slow": badinput.slow_batch(tmp),
        # about 6 s on two idle cores, 1.4 s for "slow": under a full suite's load
        # "slow" once finished before the signal reached it
        "slower": badinput.slow_batch(tmp / "slower", tags=32, lines=96_000),
    }


@pytest.mark.parametrize(
    "args, status",
    [
        (("scan", "{broken}", "--tags", "*", "-j", "1"), 3),
        (("scan", "{broken}", "--tags", "*", "-j", "2"), 3),
        (("scan", "{broken}", "--tags", "*", "--rev", "v9.9", "--format", "json"), 3),
        (("history", "{broken}", "--tags", "*"), 3),
        (("diff", "{broken}", "v1.0", "v1.2"), 2),
    ],
    ids=["serial", "workers", "unknown-rev", "history", "diff"],
)
def test_a_batch_with_errors_leaves_nothing_behind(
    args: tuple[str, ...], status: int, batches: dict[str, Path], tmp_path: Path
) -> None:
    mark = uuid.uuid4().hex
    env = _run_env(tmp_path, mark)
    argv = [a.format(**batches) for a in args]
    process = badinput.run_kstack(argv, tmp_path, env)

    assert "Traceback" not in process.stdout + process.stderr
    assert process.returncode == status, process.stderr
    assert all(line.startswith("kstack: ") for line in process.stderr.splitlines())
    assert _left_behind(mark) == []
    assert os.listdir(env["TMPDIR"]) == []


def test_ctrl_c_stops_promptly_and_leaves_nothing_behind(
    batches: dict[str, Path], tmp_path: Path
) -> None:
    """Ctrl-C at a terminal (SIGINT to the whole job) while workers read objects."""
    mark = uuid.uuid4().hex
    env = _run_env(tmp_path, mark)
    command = [sys.executable, "-m", "extractor", "scan", str(batches["slower"]), "--tags", "*"]
    process = subprocess.Popen(
        [*command, "-j", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell job has
    )
    try:
        deadline = time.monotonic() + 20
        while not any("cat-file" in c for c in _marked(mark)) and time.monotonic() < deadline:
            time.sleep(0.05)
        sent = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=40)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    assert "Traceback" not in stdout + stderr
    assert process.returncode != 0, "the scan finished before the signal: make the batch slower"
    assert process.returncode == 130, stderr
    assert stderr == "kstack: interrupted\n"
    assert _left_behind(mark) == []
    assert os.listdir(env["TMPDIR"]) == []
    # the workers are stopped, not left to drain the queued chunks (generous
    # bound: these machines are shared and noisy)
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"


def test_an_interrupted_pool_winds_down_before_the_interpreter_exits(
    batches: dict[str, Path],
) -> None:
    """Ctrl-C leaves no pool manager thread running into interpreter exit.

    Left running, that thread can close its wake-up pipe while Python's exit
    hook writes to it, which prints a traceback (a CPython race, seen once in
    CI as ``OSError: Bad file descriptor`` after "kstack: interrupted").
    """
    import threading

    from extractor import ScanRequest, Selection
    from extractor.batch import each

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    request = ScanRequest(Selection(path=batches["slow"], tag_globs=["*"]), jobs=2)
    with pytest.raises(KeyboardInterrupt):
        for _ in each(request, progress=interrupt):
            pass

    managers = [t for t in threading.enumerate() if type(t).__name__ == "_ExecutorManagerThread"]
    assert [t for t in managers if t.is_alive()] == []


def test_workers_report_each_revision_as_it_is_done(batches: dict[str, Path]) -> None:
    """With progress shown, a worker says when each revision of its task is done,
    not only when the whole task is: the counts never go back and end at the
    total, and counts inside tasks are shown, not only at the tasks' ends (16
    revisions make about six tasks on two workers)."""
    from extractor import ScanRequest, Selection
    from extractor.batch import each

    calls: list[tuple[int, int, str | None]] = []
    request = ScanRequest(Selection(path=batches["slow"], tag_globs=["*"]), jobs=2)
    results = list(each(request, progress=lambda d, t, rev, _: calls.append((d, t, rev))))

    total = len({r.rev for r in results})
    counts = [done for done, _, _ in calls]
    assert counts == sorted(counts) and counts[-1] == total
    assert all(t == total for _, t, _ in calls)
    assert len(set(counts)) > total // 2, calls
