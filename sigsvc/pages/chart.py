"""Signatures per day as SVG geometry, computed server-side (no chart library, no script).

Pure: takes the per-day counts and the days to show, returns rectangles and axis labels in
the SVG's user units; the template only prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 28  # margins for the axis labels
MAX_DAYS = 400  # a 12-month window plus slack; longer ranges keep their last MAX_DAYS days


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str
    anchor: str = "middle"  # SVG text-anchor: the outermost labels stay inside the picture


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    plot_right: int
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    total: int
    peak: int


def _nice_ceiling(value: int) -> int:
    """Smallest of 1, 2, 5 x 10^k at or above `value` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def days_between(first: date, last: date) -> list[date]:
    if last < first:
        return []
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _anchor(n: int, count: int) -> str:
    if count > 6 and n == count - 1:
        return "end"
    return "middle"


def per_day_chart(counts: Mapping[date, int], days: list[date]) -> Chart:
    """Bars for `days` (consecutive, oldest first); a day without signatures has height 0."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    values = [int(counts.get(day, 0)) for day in days]
    peak = max(values, default=0)
    scale_top = _nice_ceiling(peak)
    slot = plot_width / max(len(days), 1)
    gap = slot * 0.15 if slot >= 4 else 0.0
    bars = []
    for n, (day, value) in enumerate(zip(days, values, strict=True)):
        height = plot_height * value / scale_top
        bars.append(
            Bar(
                day=day,
                count=value,
                x=round(LEFT + n * slot + gap / 2, 2),
                y=round(TOP + plot_height - height, 2),
                width=round(max(slot - gap, 0.5), 2),
                height=round(height, 2),
            )
        )
    y_ticks = tuple(
        Tick(round(TOP + plot_height - plot_height * f / 4, 2), f"{scale_top * f // 4:d}")
        for f in range(5)
        if scale_top * f % 4 == 0 or f in (0, 4)
    )
    label_every = max(1, len(days) // 6)
    x_ticks = tuple(
        Tick(round(LEFT + n * slot + slot / 2, 2), day.strftime("%d.%m."), _anchor(n, len(days)))
        for n, day in enumerate(days)
        if n == len(days) - 1 or (n % label_every == 0 and len(days) - 1 - n > label_every // 2)
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_bottom=TOP + plot_height,
        plot_right=WIDTH - RIGHT,
        bars=tuple(bars),
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        total=sum(values),
        peak=peak,
    )
