"""Report stage, HTML: one page a person can open from disk or mail around.

In: result dicts, exactly the JSON contract (what ``Result.as_dict()`` returns).
Out: one self-contained HTML page: a step chart per constant over the revisions
(inline SVG drawn here, no charting library), the results table, and for every
cell the chain of ``#define``s, ``#if`` branches and the expanded expression
that produced it. Standard library only. Nothing is fetched: the page carries a
Content-Security-Policy that forbids any load, so a stray external reference
shows up as a broken page in the browser test instead of a silent request.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

from . import __version__

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
#: the kernel's own shorthand for sizes (``SZ_16K``)
SIZE_SUFFIXES = ((60, "E"), (50, "P"), (40, "T"), (30, "G"), (20, "M"), (10, "K"))

ChainIds = dict[tuple[int, str], int]


def render_html(results: list[dict], title: str = "kstack report") -> str:
    """The whole page for ``results`` (dicts in the JSON contract's shape)."""
    names = constant_names(results)
    chain_ids = _chain_ids(results)
    body = "\n".join(
        [
            _header(results, names, title),
            _charts_section(results, names, chain_ids),
            _table_section(results, names, chain_ids),
            _details_section(results, chain_ids),
            f"<footer>kstack {escape(__version__)}</footer>",
        ]
    )
    return _page(title, body, len(names), len(results))


# -- the data, read off the result dicts -------------------------------------


def constant_names(results: list[dict]) -> list[str]:
    """Every constant any result reports, in first-seen order."""
    names: dict[str, None] = {}
    for result in results:
        names.update(dict.fromkeys(result.get("constants") or {}))
    return list(names)


def rev_label(rev: str | None) -> str:
    return rev if rev is not None else "(dir)"


def _revs(results: list[dict]) -> list[str]:
    """The revisions in the order given: the chart's x axis."""
    return list(dict.fromkeys(rev_label(r["rev"]) for r in results))


def _series_keys(results: list[dict]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((r["arch"], r["config"]) for r in results))


def _series_label(key: tuple[str, str], several_arches: bool) -> str:
    arch, config = key
    return f"{arch} · {config}" if several_arches else config


def _chain_ids(results: list[dict]) -> ChainIds:
    """``n`` of the ``chain-n`` section for every (result index, constant)."""
    ids: ChainIds = {}
    for index, result in enumerate(results):
        for name in result.get("constants") or {}:
            ids[(index, name)] = len(ids) + 1
    return ids


def _where(result: dict) -> str:
    return f"{rev_label(result['rev'])} · {result['arch']} · {result['config']}"


def _location(path: str | None, line: int | None, rev: str | None = None) -> str:
    parts = [str(p) for p in (rev, path, line) if p is not None]
    return ":".join(parts)


def _error_text(error: dict) -> str:
    where = _location(error.get("file"), error.get("line"), error.get("rev"))
    text = f"{error.get('kind', 'error')} error: {error.get('message', '')}"
    return f"{where}: {text}" if where else text


def size_text(value: int) -> str:
    """``16384`` -> ``16K``, the way the kernel's ``SZ_*`` names spell sizes."""
    for shift, suffix in SIZE_SUFFIXES:
        if value and value % (1 << shift) == 0:
            return f"{value >> shift}{suffix}"
    return str(value)


def _cell(result: dict, name: str) -> tuple[int | None, str] | None:
    """The value charted for one cell, or why there is none; None if not defined there."""
    if result.get("error"):
        return None, _error_text(result["error"])
    constant = (result.get("constants") or {}).get(name)
    if constant is None:
        return None
    if constant.get("value") is None:
        return None, constant.get("reason") or constant.get("status") or "unknown"
    return constant["value"], ""


# -- the charts ----------------------------------------------------------------


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
    revs = _revs(results)
    keys = _series_keys(results)
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
            tooltip = f"{name} at {_where(result)}: {shown}"
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
    revs = _revs(results)
    series = _chart_series(results, name, chain_ids)
    return (
        f'<figure class="chart" id="chart-{escape(name)}">\n'
        f"<figcaption><code>{escape(name)}</code> by revision</figcaption>\n"
        f'<div class="plot-wrap">{_chart_svg(name, revs, series)}</div>\n'
        f"{_legend(series)}\n</figure>"
    )


def _charts_section(results: list[dict], names: list[str], chain_ids: ChainIds) -> str:
    if not names:
        return '<section id="charts"><h2>Charts</h2><p class="muted">No constants.</p></section>'
    charts = "\n".join(_chart(results, name, chain_ids) for name in names)
    return f'<section id="charts"><h2>Charts</h2>\n{charts}\n</section>'


# -- the table -----------------------------------------------------------------


def _value_cell(result: dict, index: int, name: str, chain_ids: ChainIds) -> str:
    constant = (result.get("constants") or {}).get(name)
    if constant is None:
        return '<td class="missing" title="not defined here">–</td>'
    href = f"#chain-{chain_ids[(index, name)]}"
    value = constant.get("value")
    if value is None:
        text = "(not a macro)" if constant.get("status") == "not-a-macro" else "?"
        why = constant.get("reason") or constant.get("status") or "unknown"
        return f'<td class="unknown"><a href="{href}" title="{escape(why)}">{text}</a></td>'
    size = size_text(value)
    hint = f' <span class="hint">{escape(size)}</span>' if size != str(value) else ""
    return f'<td class="num"><a href="{href}">{value}</a>{hint}</td>'


def _notes_cell(result: dict, index: int) -> str:
    count = len(result.get("warnings") or [])
    if not count:
        return '<td class="notes"></td>'
    plural = "s" if count > 1 else ""
    return f'<td class="notes"><a href="#result-{index}">{count} warning{plural}</a></td>'


def _allocation_summary(allocation: dict) -> str:
    """``pages, order 2, 16384 bytes``: the table's text for a stack allocation."""
    if allocation.get("kind") == "arch" and allocation.get("status") != "ok":
        return "arch (its own allocator, not read)"
    if allocation.get("status") != "ok" or not allocation.get("kind"):
        return "unknown"
    arch = " (arch)" if allocation.get("defined_by") == "arch" else ""
    parts = [f"{allocation['kind']}{arch}"]
    if allocation.get("order") is not None:
        parts.append(f"order {allocation['order']}")
    if allocation.get("size") is not None:
        parts.append(f"{allocation['size']} bytes")
    if allocation.get("guard_pages"):
        parts.append("guard pages")
    return ", ".join(parts)


def _shows_allocation(results: list[dict]) -> bool:
    """As in the text table: not for headers-only trees, which cannot say."""
    return any(
        r.get("stack_allocation")
        and not (r["stack_allocation"].get("reason") or "").startswith("kernel/fork.c is not in")
        for r in results
    )


def _allocation_cell(result: dict, index: int) -> str:
    allocation = result.get("stack_allocation")
    if not allocation:
        return '<td class="missing">–</td>'
    text = escape(_allocation_summary(allocation))
    why = escape(allocation.get("reason") or allocation.get("call") or "")
    return f'<td><a href="#allocation-{index}" title="{why}">{text}</a></td>'


def _allocation_section(result: dict, index: int) -> str:
    allocation = result["stack_allocation"]
    facts = [("how", escape(_allocation_summary(allocation)))]
    if allocation.get("call"):
        facts.append(("call", f"<code>{escape(allocation.get('written') or '')}</code>"))
        by = allocation.get("defined_by") or ""
        facts.append(("in", f"<code>{escape(allocation.get('function') or '')}</code> ({by})"))
        place = _location(allocation.get("file"), allocation.get("line"))
        facts.append(("at", escape(place)))
    if allocation.get("reason"):
        facts.append(("reason", escape(allocation["reason"])))
    if allocation.get("switch"):
        facts.append(("switched by", f"<code>{escape(allocation['switch'])}</code>"))
    if allocation.get("cached_stacks") is not None:
        facts.append(("cached stacks", str(allocation["cached_stacks"])))
    on_stack = allocation.get("thread_info_on_stack")
    facts.append(("thread_info", "on the stack" if on_stack else "in task_struct"))
    conditions = "".join(_condition(c) for c in allocation.get("conditions") or [])
    return (
        f'<section id="allocation-{index}" class="allocation">\n'
        f'<h4>stack allocation <span class="muted">at {escape(_where(result))}</span></h4>\n'
        + "<dl>"
        + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
        + "</dl>\n"
        + (f'<ul class="conditions">{conditions}</ul>\n' if conditions else "")
        + f'<p class="nav"><a href="#row-{index}">↑ table row</a></p>\n</section>'
    )


def _row(
    result: dict, index: int, names: list[str], chain_ids: ChainIds, allocation: bool = False
) -> str:
    cells = [escape(rev_label(result["rev"])), escape(result["arch"]), escape(result["config"])]
    row = [f"<td>{c}</td>" for c in cells]
    if result.get("error"):
        span = max(len(names), 1) + allocation
        message = escape(_error_text(result["error"]))
        row.append(
            f'<td class="error" colspan="{span}"><a href="#result-{index}">{message}</a></td>'
        )
    else:
        row += [_value_cell(result, index, name, chain_ids) for name in names]
        if allocation:
            row.append(_allocation_cell(result, index))
    row.append(_notes_cell(result, index))
    return f'<tr id="row-{index}">' + "".join(row) + "</tr>"


def _table_section(results: list[dict], names: list[str], chain_ids: ChainIds) -> str:
    heads = [f'<th scope="col">{h}</th>' for h in ("rev", "arch", "config")]
    heads += [f'<th scope="col" class="num">{escape(n)}</th>' for n in names] or ["<th></th>"]
    allocation = _shows_allocation(results)
    if allocation:
        heads.append('<th scope="col">stack allocation</th>')
    head = "".join(heads) + '<th scope="col">notes</th>'
    rows = "\n".join(_row(r, i, names, chain_ids, allocation) for i, r in enumerate(results))
    return (
        '<section id="table"><h2>Results</h2>\n'
        '<p class="muted">Each value links to the chain of definitions it was folded from.</p>\n'
        f'<div class="table-wrap"><table id="results">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody></table></div></section>"
    )


# -- the chains ----------------------------------------------------------------


def _condition(condition: dict) -> str:
    taken = bool(condition.get("taken"))
    where = _location(condition.get("file"), condition.get("line"))
    badge = "taken" if taken else "not taken"
    return (
        f'<li class="{"taken" if taken else "not-taken"}"><span class="badge">{badge}</span> '
        f"<code>{escape(condition.get('directive') or '')}</code> "
        f'<span class="where">{escape(where)}</span></li>'
    )


def _chain_link(link: dict) -> str:
    where = _location(link.get("file"), link.get("line"))
    conditions = "".join(_condition(c) for c in link.get("conditions") or [])
    return (
        f"<li><pre><code>#define {escape(link.get('macro') or '')} "
        f"{escape(link.get('definition') or '')}</code></pre>\n"
        f'<ul class="conditions"><li class="where">{escape(where or "(unknown place)")}</li>'
        f"{conditions}</ul></li>"
    )


def _facts(constant: dict) -> str:
    value = constant.get("value")
    facts = []
    if value is not None:
        facts.append(
            ("value", f"<code>{value}</code> = <code>{hex(value)}</code> = {size_text(value)}")
        )
    else:
        facts.append(("status", escape(constant.get("status") or "unknown")))
        facts.append(("reason", escape(constant.get("reason") or "(none given)")))
    facts.append(("C type", f"<code>{escape(constant.get('type') or '–')}</code>"))
    facts.append(("expanded", f"<code>{escape(constant.get('expression') or '–')}</code>"))
    facts.append(
        ("defined at", escape(_location(constant.get("file"), constant.get("line")) or "–"))
    )
    symbols = constant.get("config_symbols") or []
    if symbols:
        facts.append(("config symbols", " ".join(f"<code>{escape(s)}</code>" for s in symbols)))
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>"


def _chain_section(result: dict, index: int, name: str, chain_id: int) -> str:
    constant = result["constants"][name]
    value = constant.get("value")
    shown = str(value) if value is not None else "?"
    links = "\n".join(_chain_link(link) for link in constant.get("chain") or [])
    chain = f'<ol class="links">\n{links}\n</ol>' if links else '<p class="muted">No chain.</p>'
    status = escape(constant.get("status") or "unknown")
    return (
        f'<section id="chain-{chain_id}" class="chain status-{status}">\n'
        f"<h4><code>{escape(name)}</code> = {escape(shown)} "
        f'<span class="muted">at {escape(_where(result))}</span></h4>\n'
        f"{_facts(constant)}\n{chain}\n"
        f'<p class="nav"><a href="#row-{index}">↑ table row</a> · '
        f'<a href="#chart-{escape(name)}">chart</a></p>\n</section>'
    )


def _result_section(result: dict, index: int, chain_ids: ChainIds) -> str:
    parts = [f'<section id="result-{index}" class="result">', f"<h3>{escape(_where(result))}</h3>"]
    if result.get("error"):
        parts.append(f'<p class="error">{escape(_error_text(result["error"]))}</p>')
    warnings = result.get("warnings") or []
    if warnings:
        items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
        parts.append(f'<ul class="warnings">{items}</ul>')
    for name in result.get("constants") or {}:
        parts.append(_chain_section(result, index, name, chain_ids[(index, name)]))
    if result.get("stack_allocation"):
        parts.append(_allocation_section(result, index))
    parts.append("</section>")
    return "\n".join(parts)


def _details_section(results: list[dict], chain_ids: ChainIds) -> str:
    sections = "\n".join(_result_section(r, i, chain_ids) for i, r in enumerate(results))
    return f'<section id="details"><h2>Chains</h2>\n{sections}\n</section>'


# -- the page ------------------------------------------------------------------


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _header(results: list[dict], names: list[str], title: str) -> str:
    revs = _revs(results)
    keys = _series_keys(results)
    errors = sum(1 for r in results if r.get("error"))
    unknown = sum(
        1 for r in results for c in (r.get("constants") or {}).values() if c.get("value") is None
    )
    span = f"{revs[0]} … {revs[-1]}" if len(revs) > 1 else (revs[0] if revs else "none")
    summary = (
        f"{_count(len(results), 'result')}: {_count(len(revs), 'revision')} ({escape(span)}), "
        f"{_count(len(keys), 'arch/config pair')}, {_count(len(names), 'constant')}; "
        f"{_count(unknown, 'unknown value')}, {_count(errors, 'error')}."
    )
    links = [("charts", "Charts"), ("table", "Table"), ("details", "Chains")]
    nav = "<nav>" + " ".join(f'<a href="#{i}">{text}</a>' for i, text in links) + "</nav>"
    return f"<header><h1>{escape(title)}</h1>\n<p>{summary}</p>\n{nav}</header>"


CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #656d76; --line: #d0d7de;
  --soft: #f6f8fa; --accent: #0969da; --bad: #b42318; --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; color: var(--ink);
  background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans",
  "Liberation Sans", sans-serif; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.3rem; margin: 36px 0 12px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 28px 0 8px; }
h4 { font-size: 0.98rem; margin: 0 0 6px; font-weight: 600; }
h4 .muted { font-weight: 400; font-size: 0.9em; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace;
  font-size: 0.88em; }
pre { margin: 2px 0; padding: 3px 8px; background: var(--soft); border-radius: 6px;
  overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
nav a { margin-right: 14px; font-weight: 500; }
.muted, footer { color: var(--muted); }
footer { margin-top: 40px; font-size: 0.85rem; }
figure.chart { margin: 0 0 22px; padding: 12px 14px 8px; border: 1px solid var(--line);
  border-radius: 8px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.plot-wrap { overflow-x: auto; }
svg.plot { display: block; width: 100%; height: auto; font-size: 12px; }
svg.plot .grid { stroke: #e6e8eb; }
svg.plot .vgrid { stroke: #f3f4f6; }
svg.plot .axis { stroke: #8c959f; }
svg.plot .tick { fill: var(--muted); font-size: 11.5px; }
svg.plot .axis-label { fill: var(--ink); font-size: 12.5px; }
svg.plot .step { fill: none; stroke-width: 2.2; stroke-linejoin: round; }
svg.plot .point { stroke: #fff; stroke-width: 1; }
svg.plot .gap { fill: none; stroke-width: 2; }
svg.plot .gap-band { fill: #f6f8fa; }
svg.plot a:hover .point { r: 5.5; }
ul.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; list-style: none; margin: 6px 0 0;
  padding: 0; font-size: 0.9rem; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
thead th { background: var(--soft); font-weight: 600; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #eef4fd; }
tbody tr:target { background: #fff8c5; }
th.num, td.num, td.unknown { text-align: right; font-variant-numeric: tabular-nums; }
td.num .hint { color: var(--muted); font-size: 0.8em; margin-left: 4px; }
td.unknown a { color: var(--warn); font-weight: 600; }
td.error { white-space: normal; }
td.error, td.error a, p.error { color: var(--bad); }
td.missing { color: var(--muted); text-align: center; }
section.result h3 { padding: 4px 10px; background: var(--soft); border-radius: 6px; }
ul.warnings { margin: 4px 0 10px; padding-left: 20px; color: var(--warn); }
section.chain { margin: 10px 0 16px; padding: 10px 14px; border-left: 3px solid var(--line);
  background: #fcfcfd; border-radius: 0 6px 6px 0; }
section.chain.status-unknown { border-left-color: var(--warn); }
section.chain:target { border-left-color: var(--accent); background: #f0f6ff; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 8px; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-all; }
ol.links { margin: 0; padding-left: 22px; }
ol.links > li { margin-bottom: 6px; }
.where { color: var(--muted); font-size: 0.85rem; }
ul.conditions { display: flex; flex-wrap: wrap; gap: 2px 18px; list-style: none;
  margin: 0 0 0 4px; padding: 0; font-size: 0.85rem; }
.badge { display: inline-block; min-width: 68px; padding: 0 6px; border-radius: 10px;
  font-size: 0.78rem; text-align: center; }
.taken .badge { background: #dafbe1; color: #116329; }
.not-taken .badge { background: #ffebe9; color: var(--bad); }
p.nav { margin: 4px 0 0; font-size: 0.85rem; }
"""

# A self-check the browser test reads back through --dump-dom: the charts laid
# out with real geometry and the table holds one row per result.
SCRIPT = """
(function () {
  var body = document.body, problems = [];
  var charts = document.querySelectorAll("figure.chart");
  if (charts.length !== Number(body.dataset.constants)) {
    problems.push(charts.length + " charts for " + body.dataset.constants + " constants");
  }
  charts.forEach(function (figure) {
    var svg = figure.querySelector("svg.plot");
    var box = svg ? svg.getBBox() : null;
    if (!box || box.width <= 0 || box.height <= 0) problems.push(figure.id + " is empty");
    figure.querySelectorAll("path.step").forEach(function (path) {
      if (path.getBBox().width <= 0) problems.push(figure.id + " has a flat step line");
    });
  });
  var rows = document.querySelectorAll("#results tbody tr").length;
  if (rows !== Number(body.dataset.results)) {
    problems.push(rows + " table rows for " + body.dataset.results + " results");
  }
  body.dataset.rendered = problems.length ? "failed: " + problems.join("; ") : "ok";
})();
"""


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def _page(title: str, body: str, constants: int, results: int) -> str:
    # Only this style and this script may run, and nothing may be loaded:
    # the page must work from a file with no network, and an escaped-but-not-
    # quite value can never become a live <script>.
    policy = (
        f"default-src 'none'; style-src {_csp_hash(CSS)}; "
        f"script-src {_csp_hash(SCRIPT)}; img-src data:"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="kstack {escape(__version__)}">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f'<body data-constants="{constants}" data-results="{results}">\n{body}\n'
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
