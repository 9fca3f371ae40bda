"""The geometry of the uptime trend chart, drawn as inline SVG by templates/site/_uptime_chart.html
(server-rendered: no script, no charting library). Pure: shares in, coordinates out."""
from __future__ import annotations

import math
from dataclasses import dataclass

TARGET = 0.99  # the line drawn across the chart: the share UK public chargers must reach


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    share: float | None  # None: no counted time that month (no bar)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    floor: float  # the share at the bottom of the plot (the axis does not start at 0)
    bars: list[Bar]
    target_y: float
    ticks: list[tuple[float, str]]  # (y, text)


def trend_chart(points: list[tuple[str, float | None]], width: int = 640, height: int = 220) -> Chart:
    """Bars of monthly uptime between `floor` and 100 %; the floor is the lowest share rounded down to
    5 %, at most 90 %, so 97 % and 99.9 % look different."""
    top, bottom, left = 10.0, height - 30.0, 44.0
    shares = [s for _label, s in points if s is not None]
    floor = min([0.9, *(math.floor(s * 20) / 20 for s in shares)])
    span = max(1.0 - floor, 0.01)

    def y_of(share: float) -> float:
        return bottom - (min(max(share, floor), 1.0) - floor) / span * (bottom - top)

    step = (width - left) / max(len(points), 1)
    bars = []
    for i, (label, share) in enumerate(points):
        y = y_of(share) if share is not None else bottom
        bars.append(Bar(round(left + i * step + step * 0.15, 1), round(y, 1), round(step * 0.7, 1),
                        round(bottom - y, 1), label, share))
    ticks = [(round(y_of(v), 1), f"{round(v * 100)} %") for v in (floor, floor + span / 2, 1.0)]
    return Chart(width, height, floor, bars, round(y_of(TARGET), 1), ticks)
