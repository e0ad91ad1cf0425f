"""Measuring one command: wall time, CPU time, peak memory, and the machine it ran on.

In: a command line, where its output goes, and its environment.
Out: a ``Measured`` with the wall-clock seconds, the CPU seconds, the max RSS of
the largest process of the run, the peak PSS summed over the whole process tree
(sampled, and only when asked for), and what the command wrote to stderr.

The command is started by a small launcher (``LAUNCHER``), which forks it, waits
for it and writes down what the kernel says of it: the wall time from just
before the fork to just after the reaping, and ``wait4``'s user and system time
and ``ru_maxrss``. ``ru_maxrss`` of a waited-for process is the largest
high-water mark of it and of every descendant it reaped (worker processes,
``git cat-file``): the largest process of the run, measured by the kernel and
not sampled. It has to come from a launcher: Linux carries the high-water mark
of the address space a process had before ``exec`` into ``ru_maxrss``, so a
command forked straight from this benchmark reported the benchmark's own size
(110 MB for a run whose largest process never passed 31 MB); forked from the
launcher, it starts from the launcher's few megabytes (``RSS_FLOOR_KB``).

Nothing watches the command while it runs, unless the caller asks for the PSS of
the tree (``pss=True``), which is then sampled every ``PSS_SAMPLE_SECONDS``.
Until 2026-12-03 both figures were sampled from /proc every 50 ms, and reading
``smaps_rollup`` makes the kernel walk each process's page tables: that made a
cold real-history scan 14.5% slower (the median of 8 paired runs), and the
loop it is compared with was never sampled.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: how often the process tree's PSS is sampled, when a caller asks for it: each
#: sample makes the kernel walk the page tables of every process in the tree
PSS_SAMPLE_SECONDS = 0.5
#: what ``max_rss_kb`` reads for a command that allocates nothing: the launcher's
#: own size, which the command starts from (``python -I -S``)
RSS_FLOOR_KB = 8_000
#: forks the command (argv[2:]), waits for it, writes the kernel's figures as JSON
#: to argv[1] and exits as the command did (a signal: 128 + its number)
LAUNCHER = """
import json, os, sys, time
started = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.monotonic() - started
with open(sys.argv[1], "w") as out:
    json.dump({"seconds": seconds, "user": usage.ru_utime, "system": usage.ru_stime,
               "maxrss": usage.ru_maxrss, "status": status}, out)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


@dataclass
class Measured:
    seconds: float
    #: user + system CPU time of the command and the descendants it waited for
    cpu_seconds: float
    #: kilobytes, the largest single process (``wait4``'s ru_maxrss, from the launcher)
    max_rss_kb: int
    #: kilobytes, the largest sum of PSS over the process tree seen while sampling
    peak_tree_pss_kb: int
    returncode: int
    stderr: str
    #: the 1-minute load average when the command started (others' work skews wall times)
    load: float = 0.0

    @property
    def max_rss_mb(self) -> float:
        return self.max_rss_kb / 1024

    @property
    def peak_tree_pss_mb(self) -> float:
        return self.peak_tree_pss_kb / 1024


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (no CONFIG_PROC_CHILDREN needed)."""
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        out.setdefault(int(fields[1]), []).append(int(entry))
    return out


def _proc_kb(pid: int, name: str, field: bytes) -> int:
    """One ``Field: N kB`` line of a /proc/<pid> file (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_pss_kb(root: int) -> int:
    """The PSS of ``root`` and all its descendants, in kilobytes."""
    children = _children()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _proc_kb(pid, "smaps_rollup", b"Pss:")
        stack += children.get(pid, [])
    return total


def run(
    command: list[str],
    stdout: IO[bytes] | int | None = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: IO[bytes] | int | None = subprocess.DEVNULL,
    pss: bool = False,
) -> Measured:
    """Run ``command`` to the end and measure it (see the module docstring)."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kstack-measure-") as scratch:
        figures = Path(scratch) / "figures.json"
        launched = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(figures), *command]
        process = subprocess.Popen(
            launched, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=cwd,
            text=True,
        )  # fmt: skip
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(PSS_SAMPLE_SECONDS):
                peak = max(peak, tree_pss_kb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        if pss:
            sampler.start()
        assert process.stderr is not None
        stderr = process.stderr.read()
        process.wait()
        done.set()
        if pss:
            sampler.join()
        try:
            kernel = json.loads(figures.read_text())
        except (OSError, ValueError):  # the launcher itself failed
            return Measured(0.0, 0.0, 0, peak, process.returncode or 1, stderr, load)
    returncode = os.waitstatus_to_exitcode(kernel["status"])
    cpu = kernel["user"] + kernel["system"]
    return Measured(kernel["seconds"], cpu, kernel["maxrss"], peak, returncode, stderr, load)


def _output(command: list[str]) -> str:
    try:  # from / so that ``python -c "import extractor"`` finds what a scratch directory would
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
        return done.stdout.strip("\n").rstrip()
    except OSError:
        return "(not found)"


def kstack_version(checkout: Path) -> str:
    """The commit measured, and which product files differed from it."""
    git = ["git", "--no-optional-locks", "-C", str(checkout)]  # never touches the index
    commit = _output([*git, "rev-parse", "--short", "HEAD"])
    dirty = _output([*git, "status", "--porcelain", "--", "extractor", "grammars"]).splitlines()
    if not dirty:
        return commit
    files = ", ".join(line.split(maxsplit=1)[-1] for line in dirty)
    return f"{commit} + uncommitted changes to {files}"


def installed_code() -> str:
    """The fingerprint of the kstack every measured command runs: the installed
    package's (``cache.code_id``), read from outside the checkout. A ``make
    install`` or ``make check`` while a benchmark runs reinstalls it (both
    depend on ``install``), and the runs after that measure other code: a
    warm run then finds no result of the cold run's code, and takes seconds."""
    return _output([sys.executable, "-c", "from extractor.cache import code_id; print(code_id())"])


def machine(python: str) -> dict[str, str]:
    """What the numbers were measured on."""
    model = "unknown"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": _output(["nproc"]),
        "cpu": model,
        "memory (free -h)": _output(["free", "-h"]),
        "kernel": platform.release(),
        "python": _output([python, "--version"]),
        "git": _output(["git", "--version"]),
        "gcc": _output(["gcc", "--version"]).splitlines()[0],
        "kstack": kstack_version(Path(__file__).resolve().parent.parent),
        "kstack imported from": _output(
            [python, "-c", "import extractor; print(extractor.__file__)"]
        ),
    }
