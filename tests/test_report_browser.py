"""The HTML report in a real browser: headless chromium opens it from a file.

One chromium run dumps the DOM after the page's own script ran (it sets
``body[data-rendered]`` once every chart has real geometry and the table has
one row per result) and takes a screenshot, kept in ``tests/artifacts/`` for a
person to look at. Chromium is Debian's ``chromium`` package: CI installs it,
so there a missing browser fails; elsewhere the test skips, saying so.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import struct
import subprocess
import warnings
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_report_html import CONSTANTS, sample_results

from extractor.report_html import render_html
from extractor.report_html_chart import PALETTE

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT = 60
WINDOW = (1280, 2000)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = "chromium is not installed (Debian: apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must install it before running the tests")
    warnings.warn(f"SKIPPING the browser test: {message}", stacklevel=2)
    pytest.skip(f"SKIPPED, NOT TESTED: {message}")


def run_chromium(url: str, screenshot: Path, profile: Path) -> str:
    """The DOM after load, as chromium serialises it; the screenshot on disk."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={screenshot}",
        "--dump-dom",
        url,
    ]
    # Its own process group, so a hung browser goes with all its children.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        dom, errors = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium did not finish in {TIMEOUT} s: {' '.join(command)}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # leftovers of a normal exit
    assert process.returncode == 0, f"chromium exited {process.returncode}:\n{errors[-3000:]}"
    return dom


class DumpedDom(HTMLParser):
    """What the test reads back: the body's data, the step paths per chart, table rows."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.steps: dict[str, list[str]] = {}
        self.rows = 0
        self._figure = ""
        self._in_results = False
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        classes = attrs.get("class", "").split()
        if tag == "body":
            self.body = attrs
        elif tag == "figure" and "chart" in classes:
            self._figure = attrs["id"]
            self.steps[self._figure] = []
        elif tag == "path" and "step" in classes:
            self.steps[self._figure].append(attrs["d"])
        elif tag == "table" and attrs.get("id") == "results":
            self._in_results = True
        elif tag == "tr" and self._in_results:
            self.rows += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_results = False


def extent(path: str) -> tuple[float, float]:
    """Width and height of an ``M x y H x V y ...`` step path."""
    xs, ys = [], []
    for command, *numbers in re.findall(r"([MHV])([\d.]+)(?: ([\d.]+))?", path):
        if command == "M":
            xs.append(float(numbers[0]))
            ys.append(float(numbers[1]))
        else:
            (xs if command == "H" else ys).append(float(numbers[0]))
    return max(xs) - min(xs), max(ys) - min(ys)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit, non-interlaced PNG: stdlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, offset = {}, 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunks[kind] = chunks.get(kind, b"") + data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour in (2, 6) and not interlace, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        unfilter(kind, line, previous, channels)
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    if kind == 2:  # "Up", most of a screenshot's rows: add bytewise without carries
        size = len(line)
        low, high = int.from_bytes(b"\x7f" * size), int.from_bytes(b"\x80" * size)
        a, b = int.from_bytes(line), int.from_bytes(previous)
        line[:] = (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(size)
        return
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            corner = previous[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + paeth(left, up, corner)) & 0xFF


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """(dumped DOM, screenshot path, seconds) for the sample results."""
    work = tmp_path_factory.mktemp("browser")
    page = work / "report.html"
    page.write_text(render_html(sample_results(), title="kstack browser test"), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    dom = run_chromium(page.as_uri(), screenshot, work / "profile")
    shutil.copy(page, ARTIFACTS / "report.html")
    return DumpedDom(dom), screenshot


def test_page_script_saw_charts_and_table(rendered):
    dom, _ = rendered
    assert dom.body.get("data-rendered") == "ok", dom.body


def test_every_chart_has_step_lines_with_real_geometry(rendered):
    dom, _ = rendered
    assert list(dom.steps) == [f"chart-{name}" for name in CONSTANTS]
    for chart, paths in dom.steps.items():
        assert paths, f"{chart} has no step line"
        extents = [extent(d) for d in paths]
        assert all(width > 100 for width, _ in extents), (chart, extents)
        assert any(height > 50 for _, height in extents), f"{chart} never steps: {extents}"


def test_table_has_a_row_per_result(rendered):
    dom, _ = rendered
    assert dom.rows == 1 + len(sample_results())  # the header row, then one per result


def test_screenshot_shows_the_charts(rendered):
    _, screenshot = rendered
    data = screenshot.read_bytes()
    assert len(data) > 10_000, f"{screenshot} is only {len(data)} bytes"
    width, height, rows = png_pixels(data)
    assert (width, height) == WINDOW
    total = sum(len(row) for row in rows)
    ink = total - sum(row.count(0xFF) for row in rows)  # bytes of pixels that aren't white
    assert ink > total // 50, f"screenshot nearly blank: {ink} of {total} bytes not white"
    # the first series' colour, exactly, inside its lines and dots
    series = sum(row.count(bytes.fromhex(PALETTE[0][1:])) for row in rows)
    assert series > 500, f"no {PALETTE[0]} line in the screenshot ({series} pixels)"
