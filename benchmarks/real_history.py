"""The real-history benchmark: kstack against the plain loop and the git floor on mainline.

In: a bare repository of real mainline history, tagged v2.6.12 ... v3.1.10
(``--repo``, default ``/work/real/linux.git``; README.md says how to make one).
Out: a markdown report (stdout, and ``--report FILE``): wall and CPU time,
peak memory, and the ratios the targets are stated in. It fails (exit 1) if
kstack's THREAD_SIZE differs from gcc's anywhere the loop has a value.

Runs, each on a fresh cache where it says cold:

- (a) kstack cold: tags from v2.6.28 with -rc, x86_64 and i386, default config;
- (b) kstack warm: (a) again on its cache;
- (c) the plain loop: one scratch work tree, an incremental ``git checkout -f``
  per tag, then per arch one ``gcc -E -P`` of a two-line unit
  (``#include <asm/page_types.h>``, or ``<asm/page.h>`` before that header
  existed, then ``THREAD_SIZE``) with kbuild's include path and kstack's
  config as ``autoconf.h``, the expansion folded by Python;
- (d) the git floor: one ``git cat-file --batch`` of the THREAD_SIZE closure
  (every header a cold kstack cell opened) at every tag;
- (e) all tags × x86_64, i386 × default, 4kstacks, cold: time and peak RSS;
- (f) ``kstack history`` over v2.6.36..v2.6.37 with -rc, i386 4kstacks, cold;
- (g) incremental equals scratch: every tenth tag of (e), each scanned alone in a
  fresh process without the cache, must give (e)'s results cell for cell (not timed).
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

import measure

HERE = Path(__file__).resolve().parent
SINCE = "v2.6.28"
ARCHES = ("x86_64", "i386")
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


def thread_sizes(path: Path) -> dict[tuple[str, str, str], int | None]:
    document = json.loads(path.read_text())
    found = {}
    for result in document["results"]:
        constant = (result.get("constants") or {}).get("THREAD_SIZE") or {}
        found[(result["rev"], result["arch"], result["config"])] = constant.get("value")
    return found


def closure(repo: Path, revs: list[str]) -> list[str]:
    """Every tree header a kstack cell opened, at a sample of the tags (the floor's paths)."""
    from extractor.arches import arch as get_arch
    from extractor.config import make_config
    from extractor.scan import scan_tree
    from extractor.source_git import GitObjects

    paths: set[str] = set()
    with GitObjects(repo) as objects:
        for rev in revs[:: max(1, len(revs) // 12)] + revs[-1:]:
            for name in ARCHES:
                arch = get_arch(name)
                config = make_config("default", arch, kconfig=arch.kconfig_defaults)
                paths |= set(scan_tree(objects.resolve(rev), arch, config).inputs)
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
    from extractor.arches import arch as get_arch
    from extractor.config import make_config

    work = scratch / "work"
    subprocess.run(
        ["git", "clone", "-q", "--shared", "--no-checkout", str(repo), str(work)], check=True
    )
    configs = {}
    for name in ARCHES:
        arch = get_arch(name)
        path = scratch / f"autoconf-{name}.h"
        path.write_text(make_config("default", arch, kconfig=arch.kconfig_defaults).autoconf())
        configs[name] = path
    unit = scratch / "unit.c"
    found: dict[tuple[str, str, str], int | None] = {}
    for rev in revs:
        subprocess.run(["git", "-C", str(work), "checkout", "-q", "-f", rev], check=True)
        modern = (work / "arch/x86/include/asm/page_types.h").exists()
        unit.write_text(f"#include <asm/{'page_types' if modern else 'page'}.h>\nTHREAD_SIZE\n")
        for name in ARCHES:
            command = ["gcc", "-E", "-P", "-nostdinc", MACHINE[name], "-D__KERNEL__"]
            command += [
                "-Iarch/x86/include",
                "-Iinclude",
                "-include",
                str(configs[name]),
                str(unit),
            ]
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
            lines = [line for line in done.stdout.splitlines() if line.strip()]
            found[(rev, name, "default")] = (
                fold(lines[-1]) if done.returncode == 0 and lines else None
            )
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
    try:
        revs = tags(repo, SINCE)
        every = tags(repo, None)
        arch_args = [a for name in ARCHES for a in ("--arch", name)]

        cold_cache, out = scratch / "cold.sqlite", scratch / "cold.json"
        command = kstack(repo, cold_cache, "scan", *selection_args(SINCE), *arch_args)
        command += ["--format", "json", "-o", str(out), "--stats"]
        cold = measure.run(command, env=env, cwd=scratch)
        kstack_values = thread_sizes(out)
        warm = measure.run(command, env=env, cwd=scratch)

        paths = closure(repo, revs)
        batch = scratch / "floor.list"
        batch.write_text("".join(f"{rev}:{path}\n" for rev in revs for path in paths))
        with batch.open("rb") as feed:
            floor = measure.run(["git", f"--git-dir={repo}", "cat-file", "--batch"], stdin=feed)

        loop_seconds = loop_cpu = 0.0
        agree = "not run"
        if not options.skip_loop:
            started, before = time.monotonic(), os.times()
            loop_values = plain_loop(repo, revs, scratch)
            after = os.times()
            loop_seconds = time.monotonic() - started
            loop_cpu = after.children_user + after.children_system + after.user + after.system
            loop_cpu -= before.children_user + before.children_system + before.user + before.system
            known = {k: v for k, v in loop_values.items() if v is not None}
            wrong = {
                k: (v, kstack_values.get(k)) for k, v in known.items() if kstack_values.get(k) != v
            }
            agree = f"{len(known) - len(wrong)} of {len(known)} cells the loop folded agree"
            if wrong:
                failed = True
                agree += f"; DIFFER: {sorted(wrong.items())[:10]}"

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
            row(f"(a) kstack cold, {len(revs)} tags × 2 arches", cold, stats(cold)),
            row("(b) kstack warm", warm, stats(warm)),
            f"| (c) plain loop (checkout + gcc -E -P) | {loop_seconds:.2f} | {loop_cpu:.2f} "
            f"| | | {agree} |",
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
            lines += [
                f"| cold >= 20x the loop | {loop_seconds / cold.seconds:.1f}x |",
                f"| warm >= 200x the loop | {loop_seconds / warm.seconds:.0f}x |",
            ]
        lines += [
            f"| cold within 20x of the floor | {cold.seconds / floor.seconds:.1f}x |",
            f"| all tags cold < 30 s, RSS < 300 MB | {everything.seconds:.1f} s, "
            f"{everything.max_rss_mb:.0f} MB |",
            f"| history < 10 s | {history.seconds:.1f} s |",
            "",
        ]
        for name, measured in (("cold", cold), ("all", everything), ("history", history)):
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
