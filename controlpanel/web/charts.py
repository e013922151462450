"""Charts drawn on the server as SVG: bars and lines, axes, a legend and a table of the
numbers. No JavaScript and no inline style, so they pass the strict Content-Security-Policy,
print, and read the same to a screen reader (the SVG has a title and the table beside it
holds every value). Colours come from CSS classes in static/css/hangar.css."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

Number = float | int | Decimal

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 40
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number | None]
    kind: str = "bar"  # "bar" or "line"
    css: str = "chart-series-1"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Line:
    points: str
    css: str
    name: str
    dots: list[tuple[float, float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class Chart:
    """What a template needs to draw one chart (see templates/web/_chart.html)."""

    id: str
    title: str
    labels: list[str]
    series: list[Series]
    fmt: Callable[[Number], str] = str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM

    @property
    def rows(self) -> list[tuple[str, list[str]]]:
        """The numbers as table rows: a label and one cell per series."""
        return [
            (label, ["—" if s.values[i] is None else self.fmt(s.values[i]) for s in self.series])
            for i, label in enumerate(self.labels)
        ]

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values if v is not None)


def nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` ticks."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def chart(
    *,
    id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[Number], str] = str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """Lay out bars (grouped per label) and lines over a shared y axis starting at zero."""
    result = Chart(id, title, list(labels), list(series), fmt, width, height)
    count = len(result.labels)
    values = [float(v) for s in series for v in s.values if v is not None]
    top_value = max([0.0, *values])
    step = nice_step(top_value)
    top = step * max(1, math.ceil(top_value / step))
    plot_width = result.plot_right - LEFT
    plot_height = result.plot_bottom - TOP

    def y_of(value: float) -> float:
        return round(result.plot_bottom - plot_height * value / top, 1)

    ticks = round(top / step)
    result.y_ticks = [Tick(y_of(step * i), fmt(_tick_value(step * i))) for i in range(ticks + 1)]
    if count == 0:
        return result
    slot = plot_width / count
    every = max(1, math.ceil(count / MAX_X_LABELS))
    result.x_ticks = [
        Tick(round(LEFT + slot * (i + 0.5), 1), label)
        for i, label in enumerate(result.labels)
        if i % every == 0
    ]
    bar_series = [s for s in series if s.kind == "bar"]
    if bar_series:
        group = slot * 0.7
        width_each = group / len(bar_series)
        for index, s in enumerate(bar_series):
            for i, value in enumerate(s.values):
                if value is None:
                    continue
                x = LEFT + slot * i + (slot - group) / 2 + width_each * index
                y = y_of(max(0.0, float(value)))
                result.bars.append(
                    Bar(
                        round(x, 1),
                        y,
                        round(width_each * 0.9, 1),
                        round(result.plot_bottom - y, 1),
                        s.css,
                        f"{s.name}, {result.labels[i]}: {fmt(value)}",
                    )
                )
    for s in series:
        if s.kind != "line":
            continue
        points, dots = [], []
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x, y = round(LEFT + slot * (i + 0.5), 1), y_of(max(0.0, float(value)))
            points.append(f"{x},{y}")
            dots.append((x, y, f"{s.name}, {result.labels[i]}: {fmt(value)}"))
        result.lines.append(Line(" ".join(points), s.css, s.name, dots if count <= 40 else []))
    return result


def _tick_value(value: float) -> Number:
    return int(value) if float(value).is_integer() else Decimal(str(round(value, 2)))
