"""Chart geometry for the dashboard, drawn as inline SVG by the templates (no script, no CDN).

Only numbers are computed here; every label is rendered by Jinja, so it is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH = 720
PLOT_HEIGHT = 160
LABEL_ROOM = 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    title: str
    tone: str = "main"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    axis_labels: list[tuple[float, str]]
    maximum: str
    kind: str  # "columns" or "rows"


def columns(
    points: list[tuple[date, float]], *, percent: bool = False, tick_every: int = 7
) -> Chart:
    """Vertical bars over days (conversations per day, fallback rate per day)."""
    peak = max((v for _, v in points), default=0) or 1
    slot = WIDTH / max(1, len(points))
    bars = []
    labels = []
    for index, (day, value) in enumerate(points):
        height = PLOT_HEIGHT * value / peak
        shown = f"{value:.0%}" if percent else f"{value:g}"
        bars.append(
            Bar(
                x=index * slot + 1,
                y=PLOT_HEIGHT - height,
                width=max(1.0, slot - 2),
                height=height,
                label=day.isoformat(),
                value=shown,
                title=f"{day.isoformat()}: {shown}",
            )
        )
        if index % tick_every == 0:
            labels.append((index * slot + 1, day.strftime("%d %b")))
    return Chart(
        width=WIDTH,
        height=PLOT_HEIGHT + LABEL_ROOM,
        bars=bars,
        axis_labels=labels,
        maximum=f"{peak:.0%}" if percent else f"{peak:g}",
        kind="columns",
    )


def rows(items: list[tuple[str, int]], tones: list[str] | None = None) -> Chart:
    """Horizontal bars with a name each (top intents, helpful vs not helpful)."""
    row_height = 24
    name_room = 220
    peak = max((v for _, v in items), default=0) or 1
    bars = [
        Bar(
            x=name_room,
            y=index * row_height + 2,
            width=(WIDTH - name_room - 60) * value / peak,
            height=row_height - 6,
            label=name,
            value=str(value),
            title=f"{name}: {value}",
            tone=tones[index] if tones else "main",
        )
        for index, (name, value) in enumerate(items)
    ]
    return Chart(
        width=WIDTH,
        height=max(row_height, row_height * len(items)),
        bars=bars,
        axis_labels=[],
        maximum=str(peak),
        kind="rows",
    )
