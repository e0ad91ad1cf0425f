"""The real-history benchmark: kstack against the plain loop and the git floor on mainline.

In: a bare repository of real mainline history, tagged v2.6.12 ... v3.1.10
(``--repo``, default ``/work/real/linux.git``; README.md says how to make one).
Out: a markdown report (stdout, and ``--report FILE``): wall and CPU time,
peak memory, and the ratios the targets are stated in. It fails (exit 1) if
kstack's THREAD_SIZE differs from gcc's anywhere the loop has a value.

Runs, each on a fresh cache where it says cold:

- (a) kstack cold: tags from v2.6.28 with -rc, x86_64 and i386, default config:
  the median of ``ROUNDS`` runs, each on a fresh cache, whose results must be the
  same; its ratio to the loop is the median of the rounds' ratios (``ROUNDS``);
- (b) kstack warm: (a) again on its cache;
- (c) the plain loop (the median of ``ROUNDS``): one scratch work tree, an
  incremental ``git checkout -f`` per tag, then per arch one ``gcc -E -P`` of a
  two-line unit
  (``#include <asm/page_types.h>``, or ``<asm/page.h>`` before that header
  existed, then ``THREAD_SIZE``) with kbuild's include path and kstack's
  config as ``autoconf.h``, the expansion folded by Python;
- (d) the git floor: one ``git cat-file --batch`` of the THREAD_SIZE closure
  (every header a cold kstack cell opened) at every tag;
- (e) all tags × x86_64, i386 × default, 4kstacks, cold: time and peak RSS;
- (f) ``kstack history`` over v2.6.36..v2.6.37 with -rc, i386 4kstacks, cold;
- (g) incremental equals scratch: every tenth tag of (e), each scanned alone in a
  fresh process without the cache, must give (e)'s results cell for cell (not timed);
- (h) (a) with the loop's own config: each arch's ``.config`` is the config the loop
  writes as ``autoconf.h`` (``--config-file ARCH=FILE``), so kstack evaluates no
  Kconfig, as the loop does not; the median of ``ROUNDS``, and its THREAD_SIZE
  must equal gcc's wherever the loop folded one. (a)'s default profile is each
  tag's own alldefconfig, which the loop never computes;
- (i) (c) under each tag's own alldefconfig, the config (a) evaluates: the tag's own
  ``scripts/kconfig`` (built as make builds it, once per version) run as ``make
  alldefconfig`` runs it, its ``.config`` written as ``autoconf.h``. Not a target's
  yardstick (the issue names (c)); it says what (a) costs against a loop that
  gives the same answer, and its values must equal (a)'s where it folds one. The
  median of ``ROUNDS``, run in each round after (c), and its ratio to (a) is the
  median of the rounds' ratios, as (c)'s is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import measure

HERE = Path(__file__).resolve().parent
SINCE = "v2.6.28"
ARCHES = ("x86_64", "i386")
#: rounds of (a), (h) and the loop (c), in turn; the report takes each one's median,
#: and the median of the rounds' ratios. A few seconds' run is at the mercy of a
#: moment's load on a shared machine (four single runs of (a) on one afternoon: 8.2x
#: to 10.2x the loop). In one round, kstack and the loop run while the machine runs
#: at about one speed. Until 2026-12-03 each round deleted its loop's work tree
#: before the next round, and the later rounds' loops ran about twice as long as
#: the first (48.5 s, 99.6 s, 122.8 s in one run): the deletion, not the loop.
ROUNDS = 3
#: what gcc's -m flag is for each arch
MACHINE = {"x86_64": "-m64", "i386": "-m32"}


def kstack(repo: Path, cache: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "extractor",
        *args[:1],
        str(repo),
        *args[1:],
        "--cache",
        str(cache),
    ]


def selection_args(since: str | None) -> list[str]:
    return ["--tags", "v*", "--rc", *(["--since", since] if since else [])]


def tags(repo: Path, since: str | None) -> list[str]:
    from extractor.source_git import GitObjects
    from extractor.source_revisions import Selection, revisions

    with GitObjects(repo) as objects:
        return revisions(objects, Selection(path=repo, tag_globs=["v*"], rc=True, since=since))


def thread_sizes(results: str) -> dict[tuple[str, str, str], int | None]:
    """(rev, arch, config) -> THREAD_SIZE of a scan's results (as ``cold_run`` gives them)."""
    found = {}
    for result in json.loads(results) or []:
        constant = (result.get("constants") or {}).get("THREAD_SIZE") or {}
        found[(result["rev"], result["arch"], result["config"])] = constant.get("value")
    return found


def table_config(name: str) -> Any:
    """The arch table's config for ``name``: what the loop writes as ``autoconf.h`` and
    (h) hands kstack as a ``.config``; the closure is read under it too."""
    from extractor.arches import arch as get_arch
    from extractor.config import make_config

    arch = get_arch(name)
    return make_config("default", arch, kconfig=arch.kconfig_defaults)


def closure(repo: Path, revs: list[str]) -> list[str]:
    """Every tree header a kstack cell opened, at a sample of the tags (the floor's paths)."""
    from extractor.arches import arch as get_arch
    from extractor.scan import scan_tree
    from extractor.source_git import GitObjects

    paths: set[str] = set()
    with GitObjects(repo) as objects:
        for rev in revs[:: max(1, len(revs) // 12)] + revs[-1:]:
            for name in ARCHES:
                config = table_config(name)
                paths |= set(scan_tree(objects.resolve(rev), get_arch(name), config).inputs)
    return sorted(paths)


_SUFFIX = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b")


def fold(expansion: str) -> int | None:
    """The value of the expanded THREAD_SIZE line, as C would fold it (None: not defined)."""
    text = _SUFFIX.sub(r"\1", expansion.strip())
    if not text or re.search(r"[A-Za-z_]", text.replace("0x", "")):
        return None
    try:
        return int(eval(text, {"__builtins__": {}}))  # digits and operators only (checked)
    except (SyntaxError, ZeroDivisionError, TypeError):
        return None


def plain_loop(
    repo: Path, revs: list[str], scratch: Path
) -> dict[tuple[str, str, str], int | None]:
    """(c): checkout per tag, one ``gcc -E -P`` per arch, folded by Python."""
    configs = {}
    for name in ARCHES:
        path = scratch / f"autoconf-{name}.h"
        path.write_text(table_config(name).autoconf())
        configs[name] = path
    return _loop(repo, revs, scratch, lambda work, rev, name: configs[name])


def own_config_loop(
    repo: Path, revs: list[str], scratch: Path
) -> dict[tuple[str, str, str], int | None]:
    """(i): (c) under each tag's own alldefconfig, the config (a) evaluates: per tag
    and arch the tag's ``conf`` as ``make alldefconfig`` runs it (its
    ``scripts/kconfig`` built with the host's gcc, once per version of that
    directory, as make would), its ``.config`` written as kbuild writes
    ``autoconf.h``. Its values must equal (a)'s wherever it folds one."""
    sys.path.insert(0, str(HERE.parent))  # (the repository: its tests' conf runner)
    from tests.realdata.gcc_reference import kbuild_autoconf
    from tests.realdata.kconfig_history_vs_conf import build_conf, run_conf

    built = scratch / "confs"
    built.mkdir()

    def autoconf(work: Path, rev: str, name: str) -> Path | None:
        dot_config = scratch / f"config-{name}"
        made = run_conf(build_conf(repo, rev, built), work, rev, name, "x86", dot_config)
        if made.returncode != 0:
            return None
        header = scratch / f"autoconf-{name}.h"
        header.write_text(kbuild_autoconf(dot_config.read_text()))
        return header

    return _loop(repo, revs, scratch, autoconf)


def _loop(
    repo: Path, revs: list[str], scratch: Path, autoconf: Any
) -> dict[tuple[str, str, str], int | None]:
    """One scratch work tree, ``git checkout -f`` of each tag in turn, then per arch
    one ``gcc -E -P`` under ``autoconf(work, rev, arch)`` (None: no value), folded."""
    work = scratch / "work"
    subprocess.run(
        ["git", "clone", "-q", "--shared", "--no-checkout", str(repo), str(work)], check=True
    )
    unit = scratch / "unit.c"
    found: dict[tuple[str, str, str], int | None] = {}
    for rev in revs:
        subprocess.run(["git", "-C", str(work), "checkout", "-q", "-f", rev], check=True)
        modern = (work / "arch/x86/include/asm/page_types.h").exists()
        unit.write_text(f"#include <asm/{'page_types' if modern else 'page'}.h>\nTHREAD_SIZE\n")
        for name in ARCHES:
            found[(rev, name, "default")] = None
            header = autoconf(work, rev, name)
            if header is None:
                continue
            command = ["gcc", "-E", "-P", "-nostdinc", MACHINE[name], "-D__KERNEL__"]
            command += ["-Iarch/x86/include", "-Iinclude", "-include", str(header), str(unit)]
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
            lines = [line for line in done.stdout.splitlines() if line.strip()]
            if done.returncode == 0 and lines:
                found[(rev, name, "default")] = fold(lines[-1])
    return found


def scratch_agreement(repo: Path, sample: list[str], incremental: Path, work: Path) -> str:
    """How many cells of ``sample``'s tags, each scanned alone from scratch, equal
    the same cells of the incremental scan written to ``incremental``; the cells
    that differ, named."""
    from concurrent.futures import ThreadPoolExecutor

    found = {
        (r["rev"], r["arch"], r["config"]): r
        for r in json.loads(incremental.read_text())["results"]
    }

    def alone(rev: str) -> list[dict]:
        out = work / f"alone-{rev}.json"
        command = [sys.executable, "-m", "extractor", "scan", str(repo), "--rev", rev]
        command += [a for name in ARCHES for a in ("--arch", name)]
        command += ["--config", "default", "--config", "4kstacks", "--no-cache"]
        command += ["--format", "json", "-o", str(out), "-j", "1"]
        subprocess.run(command, cwd=work, capture_output=True, check=False)
        return json.loads(out.read_text())["results"] if out.exists() else []

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = [r for rs in pool.map(alone, sample) for r in rs]
    differ = [k for r in results if found.get(k := (r["rev"], r["arch"], r["config"])) != r]
    text = f"{len(results) - len(differ)} of {len(results)} cells of {len(sample)} tags equal"
    return text + (f"; DIFFER: {differ[:10]}" if differ or not results else "")


def cold_run(
    repo: Path, where: Path, args: list[str], env: dict[str, str]
) -> tuple[measure.Measured, str]:
    """A scan on a fresh cache in ``where``: how it ran, and its results as JSON text."""
    where.mkdir()
    out = where / "out.json"
    command = kstack(repo, where / "cache.sqlite", "scan", *args, "--format", "json")
    measured = measure.run([*command, "-o", str(out), "--stats"], env=env, cwd=where)
    found = json.loads(out.read_text())["results"] if out.exists() else None
    return measured, json.dumps(found)


def timed(loop: Any, repo: Path, revs: list[str], work: Path) -> tuple[Any, tuple[float, float]]:
    """A loop's values, and its (wall, CPU) seconds, the CPU of its children included."""
    work.mkdir()
    started, before = time.monotonic(), os.times()
    values = loop(repo, revs, work)
    after = os.times()
    cpu = after.children_user + after.children_system + after.user + after.system
    cpu -= before.children_user + before.children_system + before.user + before.system
    return values, (time.monotonic() - started, cpu)


def median(runs: list[measure.Measured]) -> measure.Measured:
    return sorted(runs, key=lambda m: m.seconds)[len(runs) // 2]


def spread_of(runs: list[measure.Measured]) -> str:
    seconds = sorted(m.seconds for m in runs)
    return f"median of {len(runs)} runs, {seconds[0]:.2f} to {seconds[-1]:.2f} s"


def loop_configs(scratch: Path) -> dict[str, Path]:
    """Per arch, the loop's own config (its ``autoconf.h``) as a ``.config``."""
    files = {}
    for name in ARCHES:
        symbols = table_config(name).symbols
        lines = [
            f"# {key} is not set" if value == "n" else f"{key}={value}"
            for key, value in sorted(symbols.items())
        ]
        files[name] = scratch / f"loop-{name}.config"
        files[name].write_text("\n".join(lines) + "\n")
    return files


def row(label: str, measured: measure.Measured, note: str = "") -> str:
    return (
        f"| {label} | {measured.seconds:.2f} | {measured.cpu_seconds:.2f} | {measured.load:.1f} "
        f"| {measured.max_rss_mb:.0f} | {note} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("/work/real/linux.git"))
    parser.add_argument("--report", type=Path)
    parser.add_argument("--skip-loop", action="store_true", help="leave out (c), minutes long")
    options = parser.parse_args()
    repo = options.repo.resolve()
    env = dict(os.environ)
    scratch = Path(tempfile.mkdtemp(prefix="kstack-real-"))
    lines: list[str] = []
    failed = False
    code = measure.installed_code()
    try:
        revs = tags(repo, SINCE)
        every = tags(repo, None)
        arch_args = [a for name in ARCHES for a in ("--arch", name)]

        base = [*selection_args(SINCE), *arch_args]
        same = [f"--config-file={name}={path}" for name, path in loop_configs(scratch).items()]
        # the rounds: (a), (h) and the loop in turn, so that each round's ratio is
        # taken while the machine runs at one speed
        kinds = {"cold": base, "as-loop": [*base, *same]}
        runs: dict[str, list[measure.Measured]] = {kind: [] for kind in kinds}
        outputs: dict[str, list[str]] = {kind: [] for kind in kinds}
        loops: list[tuple[float, float]] = []
        owns: list[tuple[float, float]] = []
        own_values: dict[tuple[str, str, str], int | None] = {}
        loop_values: dict[tuple[str, str, str], int | None] = {}
        for number in range(ROUNDS):
            for kind, args in kinds.items():
                measured, found = cold_run(repo, scratch / f"{kind}-{number}", args, env)
                runs[kind].append(measured)
                outputs[kind].append(found)
            if not options.skip_loop:
                loop_values, took = timed(plain_loop, repo, revs, scratch / f"loop-{number}")
                loops.append(took)
                # kept until every round is done: deleting a work tree (tens of
                # thousands of files) slows the disk for minutes, and the next
                # round's loop took twice as long (51 s, then 115 s with the
                # first tree deleted in between, 51 s and 51 s with it kept)
                own_values, took = timed(own_config_loop, repo, revs, scratch / f"own-{number}")
                owns.append(took)
        own = sorted(owns)[len(owns) // 2] if owns else None
        cold, as_loop = median(runs["cold"]), median(runs["as-loop"])
        spreads = {kind: spread_of(runs[kind]) for kind in kinds}
        for kind in kinds:
            if len(set(outputs[kind])) != 1:
                failed = True
                spreads[kind] += "; DIFFER: the runs' results are not the same"
        spread, as_loop_spread = spreads["cold"], spreads["as-loop"]
        kstack_values = thread_sizes(outputs["cold"][0])
        as_loop_values = thread_sizes(outputs["as-loop"][0])
        command = kstack(repo, scratch / "cold-0" / "cache.sqlite", "scan", *base)
        command += ["--format", "json", "-o", str(scratch / "warm.json"), "--stats"]
        warm = measure.run(command, env=env, cwd=scratch)

        paths = closure(repo, revs)
        batch = scratch / "floor.list"
        batch.write_text("".join(f"{rev}:{path}\n" for rev in revs for path in paths))
        with batch.open("rb") as feed:
            floor = measure.run(["git", f"--git-dir={repo}", "cat-file", "--batch"], stdin=feed)

        loop_seconds = loop_cpu = 0.0
        agree = "not run"
        ratios: dict[str, list[float]] = {kind: [] for kind in kinds}
        if loops:
            loop_seconds, loop_cpu = sorted(loops)[len(loops) // 2]
            for kind in kinds:
                ratios[kind] = [lo[0] / m.seconds for lo, m in zip(loops, runs[kind], strict=True)]
            fastest, slowest = min(loops)[0], max(loops)[0]
            agree = f"median of {len(loops)} runs, {fastest:.2f} to {slowest:.2f} s; by round, "
            agree += ", ".join(
                f"{lo[0]:.1f} s against (a) {a.seconds:.2f} s and (h) {h.seconds:.2f} s"
                for lo, a, h in zip(loops, runs["cold"], runs["as-loop"], strict=True)
            )
            known = {k: v for k, v in loop_values.items() if v is not None}
            checks = (
                ("", kstack_values, "default"),
                ("with the loop's config, ", as_loop_values, "default+file"),
            )
            for kind, sizes, config in checks:
                wrong = {
                    k: (v, sizes.get((k[0], k[1], config)))
                    for k, v in known.items()
                    if sizes.get((k[0], k[1], config)) != v
                }
                agree += (
                    f"; {kind}{len(known) - len(wrong)} of {len(known)} cells the loop folded agree"
                )
                if wrong:
                    failed = True
                    agree += f" (DIFFER: {sorted(wrong.items())[:10]})"

        own_agree = "not run"
        if own is not None:
            known = {k: v for k, v in own_values.items() if v is not None}
            wrong = {
                k: (v, kstack_values.get(k)) for k, v in known.items() if kstack_values.get(k) != v
            }
            seconds = sorted(o[0] for o in owns)
            own_agree = (
                f"median of {len(owns)} runs, {seconds[0]:.2f} to {seconds[-1]:.2f} s; "
                f"{len(known) - len(wrong)} of {len(known)} cells it folded agree with (a)"
            )
            if wrong:
                failed = True
                own_agree += f" (DIFFER: {sorted(wrong.items())[:10]})"

        all_cache, all_out = scratch / "all.sqlite", scratch / "all.json"
        command = kstack(repo, all_cache, "scan", *selection_args(None), *arch_args)
        command += ["--config", "default", "--config", "4kstacks", "--format", "json"]
        command += ["-o", str(all_out), "--stats"]
        everything = measure.run(command, env=env, cwd=scratch)

        command = kstack(repo, scratch / "history.sqlite", "history", "--tags", "v*", "--rc")
        command += ["--since", "v2.6.36", "--until", "v2.6.37", "--arch", "i386"]
        command += ["--config", "4kstacks", "--macro", "THREAD_SIZE"]
        history = measure.run(command, env=env, cwd=scratch)

        sample = every[::10]
        agreement = scratch_agreement(repo, sample, all_out, scratch)
        failed = failed or "DIFFER" in agreement

        stats = lambda m: (m.stderr.strip().splitlines() or [""])[-1]  # noqa: E731
        lines += [
            "## Real history",
            "",
            f"- repository: `{repo}`; kstack: {measure.kstack_version(HERE.parent)}; "
            f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; nproc: {os.cpu_count()}",
            f"- tags from {SINCE} with -rc: {len(revs)}; all tags: {len(every)}; "
            f"closure read by the floor: {len(paths)} paths",
            "",
            "| run | wall s | CPU s | load | max RSS MB | notes |",
            "|---|---:|---:|---:|---:|---|",
            row(f"(a) kstack cold, {len(revs)} tags × 2 arches", cold, f"{spread}; {stats(cold)}"),
            row(
                "(h) (a) with the loop's own config (`--config-file ARCH=FILE`, no Kconfig)",
                as_loop,
                f"{as_loop_spread}; {stats(as_loop)}",
            ),
            row("(b) kstack warm", warm, stats(warm)),
            f"| (c) plain loop (checkout + gcc -E -P) | {loop_seconds:.2f} | {loop_cpu:.2f} "
            f"| | | {agree} |",
            f"| (i) (c) under each tag's own alldefconfig (checkout + the tag's conf + gcc -E -P) "
            f"| {own[0] if own else 0:.2f} | {own[1] if own else 0:.2f} | | | {own_agree} |",
            row(f"(d) git floor ({len(revs)} tags × {len(paths)} paths)", floor),
            row(
                f"(e) kstack cold, all {len(every)} tags × 2 arches × 2 configs",
                everything,
                stats(everything),
            ),
            row("(f) kstack history v2.6.36..v2.6.37 --rc, i386 4kstacks, cold", history),
            f"| (g) (e)'s cells against the same cells from scratch | | | | | {agreement} |",
            "",
            "| target | measured |",
            "|---|---|",
        ]
        if loop_seconds:

            def ratio(kind: str) -> str:
                found = sorted(ratios[kind])
                return (
                    f"{found[len(found) // 2]:.1f}x (median of {len(found)} rounds' ratios, "
                    f"{found[0]:.1f}x to {found[-1]:.1f}x)"
                )

            lines += [
                f"| cold >= 20x the loop | {ratio('cold')} |",
                f"| (h) cold with the loop's config, against the loop | {ratio('as-loop')} |",
                f"| warm >= 200x the loop | {loop_seconds / warm.seconds:.0f}x |",
            ]
        if owns:
            found = sorted(o[0] / m.seconds for o, m in zip(owns, runs["cold"], strict=True))
            lines.append(
                f"| (a) against (i), the loop that computes (a)'s config (not a target) "
                f"| {found[len(found) // 2]:.1f}x (median of {len(found)} rounds' ratios, "
                f"{found[0]:.1f}x to {found[-1]:.1f}x) |"
            )
        lines += [
            f"| cold within 20x of the floor | {cold.seconds / floor.seconds:.1f}x |",
            f"| all tags cold < 30 s, RSS < 300 MB | {everything.seconds:.1f} s, "
            f"{everything.max_rss_mb:.0f} MB |",
            f"| history < 10 s | {history.seconds:.1f} s |",
            "",
        ]
        if measure.installed_code() != code:
            failed = True
            lines.append(
                "THE INSTALLED KSTACK CHANGED DURING THE RUN (a `make install` or `make check` "
                "reinstalled it): the runs measured two versions; run it again"
            )
        checked = (("cold", cold), ("as-loop", as_loop), ("all", everything), ("history", history))
        for name, measured in checked:
            if measured.returncode not in (0, 3):
                failed = True
                lines.append(f"{name} failed ({measured.returncode}): {measured.stderr[-500:]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if options.report:
        options.report.write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
