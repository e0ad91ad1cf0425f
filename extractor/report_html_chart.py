"""Report stage, HTML: the step charts, one inline SVG per constant over the revisions.

In: result dicts and the chain ids their cells link to. Out: the page's
charts section: each series an arch/config pair, a gap where a constant is not
defined, a cross where it has no value; drawn here, no charting library.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

from .report_html_fields import (
    ChainIds,
    cell_label,
    error_text,
    rev_label,
    revisions,
    series_keys,
    size_text,
)

#: Tableau 10: distinct hues that survive the common colour-vision deficiencies.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
#: past ten series the hues repeat, so the dash pattern tells them apart
DASHES = ("", "6 3", "2 3", "8 3 2 3")


def _series_label(key: tuple[str, str], several_arches: bool) -> str:
    arch, config = key
    return f"{arch} · {config}" if several_arches else config


def _cell(result: dict, name: str) -> tuple[int | None, str] | None:
    """The value charted for one cell, or why there is none; None if not defined there."""
    if result.get("error"):
        return None, error_text(result["error"])
    constant = (result.get("constants") or {}).get(name)
    if constant is None:
        return None
    if constant.get("value") is None:
        return None, constant.get("reason") or constant.get("status") or "unknown"
    return constant["value"], ""


@dataclass(frozen=True)
class Scale:
    """Values to a 0..1 height: log2 when every value is positive."""

    lo: float
    hi: float
    log: bool

    @classmethod
    def fit(cls, values: list[int]) -> Scale:
        if _wants_log(values):
            low = math.floor(math.log2(min(values)))
            high = math.ceil(math.log2(max(values)))
            return cls(low - 1, high + 1, True) if low == high else cls(low, high, True)
        least, most = (min(values), max(values)) if values else (0, 1)
        step = max(1, _nice_step((most - least) / 5 or abs(most) or 1))  # integers
        if least == most:
            return cls(least - step, most + step, False)
        return cls(math.floor(least / step) * step, math.ceil(most / step) * step, False)

    def fraction(self, value: int) -> float:
        position = math.log2(value) if self.log else value
        return (position - self.lo) / (self.hi - self.lo)

    def ticks(self) -> list[tuple[int, str]]:
        if self.log:
            stride = max(1, math.ceil((self.hi - self.lo) / 8))
            exps = range(int(self.lo), int(self.hi) + 1, stride)
            return [(1 << e, size_text(1 << e)) for e in exps if e >= 0]
        step = max(1, _nice_step((self.hi - self.lo) / 5))
        count = round((self.hi - self.lo) / step)
        values = [int(self.lo + i * step) for i in range(count + 1)]
        return [(v, size_text(v) if v > 0 else str(v)) for v in values]


def _wants_log(values: list[int]) -> bool:
    """Sizes (powers of two, or spanning a wide range) read best on log2;
    orders and counts (0..3, 4 or 5) read best as they are."""
    if not values or min(values) <= 0 or max(values) < 64:
        return False
    powers = all(v & (v - 1) == 0 for v in values)
    return powers or max(values) >= 16 * min(values)


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    raw = abs(raw) or 1
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


@dataclass(frozen=True)
class Frame:
    """Where the plot sits inside the SVG, in px."""

    left: float
    top: float
    width: float
    height: float
    columns: int

    @property
    def band(self) -> float:
        return self.width / max(self.columns, 1)

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def x(self, column: int) -> float:
        return self.left + (column + 0.5) * self.band

    def y(self, fraction: float) -> float:
        # a margin inside the plot keeps the extreme values off the frame
        return self.bottom - PLOT_PAD - fraction * (self.height - 2 * PLOT_PAD)


@dataclass(frozen=True)
class Point:
    column: int
    value: int | None
    note: str
    chain_id: int | None
    tooltip: str


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    dash: str
    #: px nudge so that configs with equal values stay visible side by side
    offset: float
    #: where in a column's width this series marks its missing values, -0.5..0.5
    slot: float
    points: tuple[Point, ...]


CHART_WIDTH = 1100
PLOT_HEIGHT = 220
PLOT_PAD = 12
GAP_BAND = 24  # the "n/a" strip under the plot where missing values are marked


def _chart_series(results: list[dict], name: str, chain_ids: ChainIds) -> list[Series]:
    revs = revisions(results)
    keys = series_keys(results)
    several_arches = len({arch for arch, _ in keys}) > 1
    spread = min(2.5, 10 / max(len(keys) - 1, 1))
    centre = (len(keys) - 1) / 2
    series = []
    for number, key in enumerate(keys):
        points = []
        for index, result in enumerate(results):
            if (result["arch"], result["config"]) != key:
                continue
            cell = _cell(result, name)
            if cell is None:  # not defined at this revision: a plain gap
                continue
            value, note = cell
            shown = f"{value} ({size_text(value)})" if value is not None else note
            tooltip = f"{name} at {cell_label(result)}: {shown}"
            column = revs.index(rev_label(result["rev"]))
            points.append(Point(column, value, note, chain_ids.get((index, name)), tooltip))
        series.append(
            Series(
                _series_label(key, several_arches),
                PALETTE[number % len(PALETTE)],
                DASHES[(number // len(PALETTE)) % len(DASHES)],
                (number - centre) * spread,
                (number - centre) / len(keys),
                tuple(sorted(points, key=lambda p: p.column)),
            )
        )
    return series


def _runs(points: tuple[Point, ...]) -> Iterator[list[Point]]:
    """Stretches of known values in adjacent columns: a gap breaks the line."""
    run: list[Point] = []
    for point in points:
        if point.value is None or (run and point.column != run[-1].column + 1):
            if run:
                yield run
            run = []
        if point.value is not None:
            run.append(point)
    if run:
        yield run


def _step_path(run: list[Point], frame: Frame, scale: Scale, offset: float) -> str:
    """``shape: hv``: hold the value until the next revision, then step."""
    assert run[0].value is not None
    moves = [f"M{frame.x(run[0].column):.1f} {frame.y(scale.fraction(run[0].value)) + offset:.1f}"]
    for point in run[1:]:
        assert point.value is not None
        moves.append(f"H{frame.x(point.column):.1f}")
        moves.append(f"V{frame.y(scale.fraction(point.value)) + offset:.1f}")
    return " ".join(moves)


def _link(chain_id: int | None, inner: str) -> str:
    return f'<a href="#chain-{chain_id}">{inner}</a>' if chain_id else inner


def _series_svg(series: Series, frame: Frame, scale: Scale) -> str:
    dash = f' stroke-dasharray="{series.dash}"' if series.dash else ""
    radius = 3.5 if frame.band >= 24 else 2.5  # dense histories: smaller dots
    parts = [f'<g class="series" stroke="{series.color}" fill="{series.color}">']
    for run in _runs(series.points):
        if len(run) > 1:
            path = _step_path(run, frame, scale, series.offset)
            parts.append(f'<path class="step" d="{path}"{dash}/>')
    for point in series.points:
        tip = f"<title>{escape(point.tooltip)}</title>"
        x = frame.x(point.column)
        if point.value is None:
            x += series.slot * min(frame.band * 0.8, 60)
            mark = (
                f'<path class="gap" d="{_cross(x, frame.bottom + GAP_BAND / 2, 3.5)}">{tip}</path>'
            )
        else:
            y = frame.y(scale.fraction(point.value)) + series.offset
            mark = f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="{radius}">{tip}</circle>'
        parts.append(_link(point.chain_id, mark))
    parts.append("</g>")
    return "\n".join(parts)


def _cross(x: float, y: float, r: float = 4) -> str:
    left, right, top, bottom = x - r, x + r, y - r, y + r
    down = f"M{left:.1f} {top:.1f}L{right:.1f} {bottom:.1f}"
    return down + f"M{left:.1f} {bottom:.1f}L{right:.1f} {top:.1f}"


def _y_axis(frame: Frame, scale: Scale, label: str) -> str:
    parts = []
    for value, text in scale.ticks():
        y = frame.y(scale.fraction(value))
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.left + frame.width}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{frame.left - 8}" y="{y:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(text)}</text>'
        )
    gap_y = frame.bottom + GAP_BAND / 2
    parts.append(
        f'<rect class="gap-band" x="{frame.left}" y="{frame.bottom + 4}" '
        f'width="{frame.width}" height="{GAP_BAND - 4}"/>'
    )
    parts.append(
        f'<text class="tick" x="{frame.left - 8}" y="{gap_y:.1f}" text-anchor="end" '
        f'dominant-baseline="middle">n/a</text>'
    )
    middle = frame.top + frame.height / 2
    parts.append(
        f'<text class="axis-label" transform="translate(16 {middle:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(label)}</text>'
    )
    return "\n".join(parts)


def _x_axis(frame: Frame, revs: list[str], rotate: bool) -> str:
    base = frame.bottom + GAP_BAND
    every = max(1, math.ceil(14 / frame.band)) if rotate else 1
    parts = [
        f'<line class="axis" x1="{frame.left}" x2="{frame.left + frame.width}" '
        f'y1="{base}" y2="{base}"/>'
    ]
    for column, rev in enumerate(revs):
        x = frame.x(column)
        parts.append(
            f'<line class="vgrid" x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{base}"/>'
        )
        if column % every:
            continue
        if rotate:
            parts.append(
                f'<text class="tick" transform="translate({x:.1f} {base + 10}) rotate(-45)" '
                f'text-anchor="end" dominant-baseline="middle">{escape(rev)}</text>'
            )
        else:
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{base + 16}" text-anchor="middle">'
                f"{escape(rev)}</text>"
            )
    return "\n".join(parts)


def _chart_svg(name: str, revs: list[str], series: list[Series]) -> str:
    values = [p.value for s in series for p in s.points if p.value is not None]
    scale = Scale.fit(values)
    tick_chars = max((len(t) for _, t in scale.ticks()), default=1)
    left = 44 + 7.5 * max(tick_chars, 3)
    frame = Frame(left, 14, CHART_WIDTH - left - 20, PLOT_HEIGHT, len(revs))
    longest = max((len(r) for r in revs), default=1)
    rotate = frame.band < 7 * longest + 10
    label_room = 6 * min(longest, 24) + 20 if rotate else 28
    height = frame.bottom + GAP_BAND + label_room + 16
    y_label = "value (log₂ scale)" if scale.log else "value"
    body = [
        _y_axis(frame, scale, y_label),
        _x_axis(frame, revs, rotate),
        *(_series_svg(s, frame, scale) for s in series),
        f'<text class="axis-label" x="{frame.left + frame.width / 2:.1f}" '
        f'y="{height - 6:.1f}" text-anchor="middle">revision</text>',
    ]
    return (
        f'<svg class="plot" viewBox="0 0 {CHART_WIDTH} {height:.0f}" width="{CHART_WIDTH}" '
        f'height="{height:.0f}" role="img" aria-label="{escape(name)} over the revisions">'
        f"<title>{escape(name)} by revision</title>\n" + "\n".join(body) + "\n</svg>"
    )


def _legend(series: list[Series]) -> str:
    """The series this chart shows (colours stay those of the whole page)."""
    items = []
    for s in series:
        if not s.points:
            continue
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        swatch = (
            f'<svg class="swatch" width="30" height="12" aria-hidden="true">'
            f'<line x1="1" x2="29" y1="6" y2="6" stroke="{s.color}" stroke-width="2.5"{dash}/>'
            f'<circle cx="15" cy="6" r="3.5" fill="{s.color}"/></svg>'
        )
        items.append(f"<li>{swatch}{escape(s.label)}</li>")
    cross = (
        '<svg class="swatch" width="30" height="12" aria-hidden="true">'
        f'<path d="{_cross(15, 6)}" stroke="#555" stroke-width="2"/></svg>'
    )
    if any(p.value is None for s in series for p in s.points):
        items.append(f'<li class="muted">{cross}no value (unknown or error)</li>')
    return '<ul class="legend">' + "".join(items) + "</ul>"


def _chart(results: list[dict], name: str, chain_ids: ChainIds) -> str:
    revs = revisions(results)
    series = _chart_series(results, name, chain_ids)
    return (
        f'<figure class="chart" id="chart-{escape(name)}">\n'
        f"<figcaption><code>{escape(name)}</code> by revision</figcaption>\n"
        f'<div class="plot-wrap">{_chart_svg(name, revs, series)}</div>\n'
        f"{_legend(series)}\n</figure>"
    )


def charts_section(results: list[dict], names: list[str], chain_ids: ChainIds) -> str:
    if not names:
        return '<section id="charts"><h2>Charts</h2><p class="muted">No constants.</p></section>'
    charts = "\n".join(_chart(results, name, chain_ids) for name in names)
    return f'<section id="charts"><h2>Charts</h2>\n{charts}\n</section>'
