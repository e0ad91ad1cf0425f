"""The benchmark: kstack against the shell loop and the git floor, on a synthetic history.

In: how many tags (``--tags``, default 1,500; ``--quick`` for a smoke run) and
the size of the scaling run (``--big``, default 6,000 tags).
Out: a markdown report on stdout (also written to ``--report``): times, the
cache hit rate, peak memory and the ratios the targets are stated in. The run
fails (exit 1) when any two ways of getting THREAD_SIZE disagree.

For the main repository it runs (a) kstack on an empty cache, (b) kstack again
on the full cache, both with the default ``-j`` and with ``-j 1``, (c) the
shell loop people use today (``shell_loop.sh``: checkout + ``gcc -E -dM`` per
tag) and (d) the floor: one ``git cat-file --batch`` reading exactly the
objects a cold kstack run read (logged through ``KSTACK_TRACE_OBJECTS``). For
the big repository it runs (a) and (b) only, with the default ``-j``, to show
how time and memory grow.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import measure
from synthetic_repo import CONFIGS, Params, build, default_work, git_env

HERE = Path(__file__).resolve().parent
STATS = re.compile(
    r"kstack: (?P<trees>\d+) trees, (?P<cells>\d+) cells: (?P<hits>\d+) from the cache "
    r"\((?P<rate>[\d.]+)%: (?P<by_tree>\d+) by tree, (?P<by_content>\d+) by content\), "
    r"(?P<computed>\d+) preprocessed, (?P<failed>\d+) failed, in (?P<seconds>[\d.]+) s"
)
#: THREAD_SIZE per (tag, config)
Values = dict[tuple[str, str], int | None]


@dataclass
class Run:
    """One measured run and what it answered."""

    label: str
    tags: int
    command: str
    measured: measure.Measured
    values: Values = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    note: str = ""
    failed: bool = False
    #: the cache file the run ended with (a retried cold run starts a new one)
    cache: Path | None = None


def kstack_command(repo: Path, cache: Path, jobs: int | None) -> list[str]:
    """The measured command. It runs in a scratch directory: ``python -m`` puts the working
    directory first on ``sys.path``, and a source checkout there would shadow the installed
    kstack."""
    command = [sys.executable, "-m", "extractor", "scan", str(repo), "--tags", "v*"]
    command += ["--arch", "x86_64", *(f"--config={c}" for c in CONFIGS)]
    command += ["--format", "json", "--cache", str(cache), "--stats"]
    return command + ([] if jobs is None else ["-j", str(jobs)])


def shown(command: list[str]) -> str:
    """A command as one would type it (the interpreter and paths shortened)."""
    words = ["python" if w == sys.executable else w for w in command]
    return " ".join(f"'{w}'" if "*" in w else w for w in words)


def read_values(path: Path) -> Values:
    """THREAD_SIZE per (rev, config) from ``kstack --format json`` output.

    The output of a few thousand tags is hundreds of megabytes; this reads its
    indented lines instead of building the whole document in memory.
    """
    values: Values = {}
    rev = config = None
    in_thread_size = False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith('      "rev": '):
                rev, config, in_thread_size = line[13:].strip().rstrip(",").strip('"'), None, False
            elif line.startswith('      "config": '):
                config = line[16:].strip().rstrip(",").strip('"')
                values[(str(rev), config)] = None
            elif line.startswith('        "THREAD_SIZE": {'):
                in_thread_size = True
            elif in_thread_size and line.startswith('          "value": '):
                text = line[19:].strip().rstrip(",")
                values[(str(rev), str(config))] = None if text == "null" else int(text)
                in_thread_size = False
    return values


def read_expected(repo: Path) -> Values:
    values: Values = {}
    for line in (repo / "expected.tsv").read_text().splitlines():
        tag, config, value = line.split("\t")
        values[(tag, config)] = int(value)
    return values


def kstack(label: str, repo: Path, scratch: Path, cache: Path, jobs: int | None, tags: int) -> Run:
    """One kstack run; a failed attempt is noted and tried again (on a fresh cache if it was)."""
    output = scratch / (re.sub(r"\W+", "-", label).strip("-") + ".json")
    fresh = not cache.exists()
    failures: list[str] = []
    for attempt in (1, 2):
        if fresh and attempt > 1:
            cache = cache.with_name(f"{cache.stem}-retry{cache.suffix}")
        command = kstack_command(repo, cache, jobs)
        with open(output, "wb") as handle:
            measured = measure.run(command, stdout=handle, cwd=scratch, pss=True)
        if measured.returncode == 0:
            break
        last = (measured.stderr.strip().splitlines() or ["(no message)"])[-1]
        failures.append(f"attempt {attempt} FAILED, exit {measured.returncode}: {last}")
        print(f"{label}: {failures[-1]}", file=sys.stderr, flush=True)
    output.with_suffix(".stderr").write_text(measured.stderr)
    # kstack's own warnings (a cache it set aside and rebuilt, say) belong in the report
    failures += [line[:300] for line in measured.stderr.splitlines() if "warning" in line]
    found = STATS.search(measured.stderr)
    stats = {k: float(v) for k, v in found.groupdict().items()} if found else {}
    values = read_values(output) if measured.returncode == 0 else {}
    run = Run(label, tags, shown(command), measured, values, stats, note="; ".join(failures))
    run.failed = measured.returncode != 0
    run.cache = cache
    output.unlink()
    return run


def median(runs: list[Run]) -> Run:
    """The run of median wall time, noting every run's wall time (the machine is noisy)."""
    ordered = sorted(runs, key=lambda r: r.measured.seconds)
    chosen = ordered[len(ordered) // 2]
    if len(runs) > 1:
        walls = ", ".join(f"{r.measured.seconds:.2f}" for r in runs)
        chosen.note = "; ".join(n for n in (f"median of {len(runs)}: {walls} s", chosen.note) if n)
    chosen.failed = any(r.failed for r in runs)
    return chosen


def floor(repo: Path, scratch: Path, tags: int, repeat: int = 1) -> Run:
    """(d): the objects a cold run read, in order, fed to one ``git cat-file --batch``."""
    trace = scratch / "objects.trace"
    env = {**os.environ, "KSTACK_TRACE_OBJECTS": str(trace)}
    cache = scratch / "trace.sqlite"
    command = kstack_command(repo, cache, 1)
    done = subprocess.run(command, env=env, cwd=scratch, capture_output=True, check=False)
    if done.returncode != 0 or not trace.is_file():
        sys.exit(f"the traced kstack run failed:\n{done.stderr.decode()[-3000:]}")
    reads = trace.read_text().split()
    unique = list(dict.fromkeys(reads))
    objects = scratch / "objects.list"
    objects.write_text("\n".join(unique) + "\n")
    command = ["git", f"--git-dir={repo}", "cat-file", "--batch"]
    runs = []
    for _ in range(repeat):
        with open(objects, "rb") as feed:
            measured = measure.run(command, stdin=feed)
        if measured.returncode != 0:
            sys.exit("git cat-file --batch failed")
        runs.append(Run("(d) git floor", tags, shown(command) + " < objects.list", measured))
    check = ["git", f"--git-dir={repo}", "cat-file", "--batch-check=%(objectsize)"]
    with open(objects, "rb") as feed:
        sizes = subprocess.run(command[:-1] + check[-1:], stdin=feed, capture_output=True)
    size = sum(int(n) for n in sizes.stdout.split())
    chosen = median(runs)
    chosen.note = f"{len(unique)} objects ({len(reads)} reads), {size / 1e6:.1f} MB; {chosen.note}"
    return chosen


def shell_loop(repo: Path, scratch: Path, tags: int) -> Run:
    """(c): one work tree, checked out tag by tag, gcc per tag and config."""
    tree = scratch / "worktree"
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    subprocess.run(
        ["git", "clone", "-q", "--shared", "--no-checkout", str(repo), str(tree)],
        env=git_env(home),
        check=True,
    )
    output = scratch / "shell.out"
    command = ["bash", str(HERE / "shell_loop.sh"), str(tree), str(output)]
    measured = measure.run(command, env=git_env(home))
    if measured.returncode != 0:
        sys.exit(f"the shell loop failed ({measured.returncode}):\n{measured.stderr[-3000:]}")
    values: Values = {}
    for line in output.read_text().splitlines():
        tag, config, value = line.split()
        values[(tag, config)] = None if value == "-" else int(value)
    shutil.rmtree(tree)
    return Run(
        "(c) shell loop", tags, "bash benchmarks/shell_loop.sh WORKTREE OUT", measured, values
    )


def check(expected: Values, runs: list[Run]) -> list[str]:
    """Every disagreement between a run and the history's own values."""
    problems = []
    for run in runs:
        if run.failed:
            problems.append(f"{run.label} ({run.tags} tags) failed: {run.note}")
        if not run.values:
            continue
        if set(run.values) != set(expected):
            missing = sorted(set(expected) - set(run.values))[:5]
            problems.append(
                f"{run.label}: {len(run.values)} cells, expected {len(expected)}; "
                f"missing e.g. {missing}"
            )
        wrong = [(k, run.values[k], v) for k, v in expected.items() if run.values.get(k, v) != v]
        for (tag, config), got, want in wrong[:10]:
            problems.append(f"{run.label}: {tag} {config}: THREAD_SIZE {got}, expected {want}")
        if len(wrong) > 10:
            problems.append(f"{run.label}: ... {len(wrong)} wrong cells in all")
    return problems


def profile(repo: Path, scratch: Path, out: Path) -> str:
    """cProfile of a cold and a warm ``-j 1`` run; the top functions by own time."""
    out.mkdir(parents=True, exist_ok=True)
    cache = scratch / "profile.sqlite"
    text = []
    for name in ("cold", "warm"):
        prof = out / f"{name}.prof"
        # (cli.main, not the executable's entry: that one ends the process with
        # os._exit, before cProfile could write its file)
        runner = "import cProfile, sys; from extractor.cli import main; "
        runner += "cProfile.run('main()', sys.argv.pop(1))"
        command = [sys.executable, "-c", runner, str(prof)]
        command += kstack_command(repo, cache, 1)[3:]
        subprocess.run(
            command, cwd=scratch, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        for order in ("tottime", "cumulative"):
            stream = _Capture()
            stats = pstats.Stats(str(prof), stream=stream)  # type: ignore[arg-type]
            stats.strip_dirs().sort_stats(order).print_stats(25)
            text.append(f"### {name}, by {order}\n\n```\n{stream.text.strip()}\n```\n")
    return "\n".join(text)


class _Capture:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text


# --- the report -------------------------------------------------------------------------


def row(run: Run) -> str:
    m, s = run.measured, run.stats
    cells = f"{int(s['cells'])}" if s else str(len(run.values) or "")
    hits = (
        f"{s['rate']:.1f}% ({int(s['by_tree'])} tree, {int(s['by_content'])} content)" if s else ""
    )
    computed = f"{int(s['computed'])}" if s else ""
    rss = f"{m.max_rss_mb:.0f}" if m.max_rss_kb else ""
    cpu = f"{m.cpu_seconds:.2f}" if m.cpu_seconds else ""
    pss = f"{m.peak_tree_pss_mb:.0f}" if m.peak_tree_pss_kb else ""
    return (
        f"| {run.label} | {run.tags} | {m.seconds:.2f} | {cpu} | {m.load:.1f} | {cells} | {hits} "
        f"| {computed} | "
        f"{rss} | {pss} | {run.note} |"
    )


COLUMNS = (
    "run", "tags", "wall s", "CPU s", "load", "cells", "from the cache", "preprocessed",
    "max RSS MB", "peak tree PSS MB", "notes",
)  # fmt: skip


def table(runs: list[Run]) -> list[str]:
    head = "| " + " | ".join(COLUMNS) + " |"
    return [
        head,
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
        *(row(run) for run in runs),
    ]


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def targets(main: dict[str, Run], big: dict[str, Run]) -> list[str]:
    cold, warm, loop, git = main["cold"], main["warm"], main.get("shell"), main["floor"]
    lines = ["| target | measured | |", "|---|---|---|"]
    if loop is not None:
        ratio = loop.measured.seconds / cold.measured.seconds
        lines.append(
            f"| cold >= 20x faster than the shell loop | (c)/(a) = {ratio:.1f}x "
            f"| {verdict(ratio >= 20)} |"
        )
        ratio = loop.measured.seconds / warm.measured.seconds
        lines.append(
            f"| warm >= 200x faster than the shell loop | (c)/(b) = {ratio:.1f}x "
            f"| {verdict(ratio >= 200)} |"
        )
    ratio = cold.measured.seconds / git.measured.seconds
    lines.append(
        f"| cold within 5x of the git floor | (a)/(d) = {ratio:.1f}x | {verdict(ratio <= 5)} |"
    )
    peak = max(cold.measured.max_rss_mb, warm.measured.max_rss_mb)
    tree = max(cold.measured.peak_tree_pss_mb, warm.measured.peak_tree_pss_mb)
    lines.append(
        f"| peak memory < 300 MB at {cold.tags} tags | max RSS {peak:.0f} MB "
        f"(whole process tree: {tree:.0f} MB PSS) | {verdict(peak < 300)} |"
    )
    rate = cold.stats.get("rate", 0.0)
    lines.append(
        f"| >= 95% of cells without the preprocessor (cold) | {rate:.1f}% | {verdict(rate >= 95)} |"
    )
    if big:
        grow = big["cold"].tags / cold.tags
        for name in ("cold", "warm"):
            t = big[name].measured.seconds / main[name].measured.seconds
            m = big[name].measured.max_rss_mb / main[name].measured.max_rss_mb
            lines.append(f"| {name}: {grow:.0f}x the tags | time x{t:.2f}, max RSS x{m:.2f} | |")
    return lines


def report(
    info: dict[str, str], main: dict[str, Run], big: dict[str, Run], problems: list[str], extra: str
) -> str:
    out = ["# kstack benchmark", ""]
    out += [
        f"- {k}: {v}" if "\n" not in v else f"- {k}:\n\n```\n{v}\n```\n" for k, v in info.items()
    ]
    out += ["", "## Runs", "", *table([*main.values(), *big.values()]), ""]
    out += ["## Targets", "", *targets(main, big), ""]
    out += ["## Commands", ""]
    out += [
        f"- {run.label} ({run.tags} tags): `{run.command}`"
        for run in [*main.values(), *big.values()]
    ]
    out += ["", "## Agreement", ""]
    out += [f"- MISMATCH: {p}" for p in problems] or [
        "(a), (b) and (c) gave the THREAD_SIZE the history was written with, "
        "for every tag and config."
    ]
    if extra:
        out += ["", "## Profile (cold and warm, -j 1)", "", extra]
    return "\n".join(out) + "\n"


#: in a ``--report`` file, what follows this line is written by people and kept
KEEP = "<!-- analysis below: kept when run.py rewrites this file -->"


def write_report(path: Path, text: str) -> None:
    """Write the measured report, keeping the hand-written analysis under ``KEEP``."""
    kept = ""
    if path.is_file():
        old = path.read_text()
        if KEEP in old:
            kept = KEEP + old.split(KEEP, 1)[1]
    path.write_text(text + ("\n" + kept if kept else ""))


def bench(
    repo: Path, scratch: Path, tags: int, *, full: bool, repeat: int = 1
) -> tuple[dict[str, Run], list[Run]]:
    """The runs of one repository, the median of ``repeat`` each (the shell loop
    once), and every run made (all of them are checked)."""
    runs: dict[str, Run] = {}
    made: list[Run] = []

    def say(text: str) -> None:
        print(f"[{tags} tags] {text}", file=sys.stderr, flush=True)

    for suffix, jobs in [("", None), *([(", -j 1", 1)] if full else [])]:
        name = "cold1" if jobs else "cold"
        colds, warms = [], []
        for attempt in range(repeat):
            say(f"(a) kstack cold{suffix} ({attempt + 1} of {repeat})")
            cache = scratch / f"{name}-{attempt}.sqlite"
            colds.append(kstack(f"(a) kstack cold{suffix}", repo, scratch, cache, jobs, tags))
            say(f"(b) kstack warm{suffix} ({attempt + 1} of {repeat})")
            cache = colds[-1].cache or Path()
            warms.append(kstack(f"(b) kstack warm{suffix}", repo, scratch, cache, jobs, tags))
        made += colds + warms
        runs[name], runs[name.replace("cold", "warm")] = median(colds), median(warms)
    if full:
        say(f"(d) git floor ({repeat} times)")
        runs["floor"] = floor(repo, scratch, tags, repeat)
        say("(c) shell loop")
        runs["shell"] = shell_loop(repo, scratch, tags)
        made += [runs["floor"], runs["shell"]]
    return runs, made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=1500, help="tags of the main repository")
    parser.add_argument("--big", type=int, default=6000, help="tags of the scaling run (0: none)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 150 and 600 tags")
    parser.add_argument("--work", type=Path, default=None, help="where repositories are cached")
    parser.add_argument("--report", type=Path, default=None, help="also write the report here")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of kstack")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each kstack run and the floor (median)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.tags, args.big = 150, 600
    work = args.work or default_work()
    info = measure.machine(sys.executable)
    code = measure.installed_code()
    main_repo = build(Params(tags=args.tags), work)
    scratch = work / f"run-{args.tags}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    main_runs, made = bench(main_repo, scratch, args.tags, full=True, repeat=args.repeat)
    expected = read_expected(main_repo)
    problems = check(expected, made)
    if args.report:  # the main numbers survive whatever happens to the big run
        write_report(args.report, report(info, main_runs, {}, problems, ""))
    big_runs: dict[str, Run] = {}
    if args.big:
        big_repo = build(Params(tags=args.big), work)
        big_scratch = work / f"run-{args.big}"
        shutil.rmtree(big_scratch, ignore_errors=True)
        big_scratch.mkdir(parents=True)
        big_runs, made = bench(big_repo, big_scratch, args.big, full=False)
        problems += check(read_expected(big_repo), made)
    extra = profile(main_repo, scratch, work / "profile") if args.profile else ""
    after = measure.kstack_version(HERE.parent)
    if after != info["kstack"]:  # other people edit the product while this runs
        info["kstack"] += f" at the start; {after} at the end"
    if measure.installed_code() != code:  # and reinstall it: the runs measured two versions
        problems.append("the installed kstack changed during the run (make install or check)")
    text = report(info, main_runs, big_runs, problems, extra)
    print(text)
    if args.report:
        write_report(args.report, text)
    if problems:
        print("\n".join(["", "PROBLEMS:", *problems]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
