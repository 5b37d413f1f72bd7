"""Bar charts as plain geometry, drawn by the templates as inline SVG.

Every chart also has a title, a one-sentence description and its rows, which
the page shows as a data table: the SVG is never the only way to read a number,
and each bar carries its value as text, not only as a length or a colour.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
LABEL_ROW = 20
BAR_HEIGHT = 18
ROW_GAP = 14
VALUE_ROOM = 60
COLUMN_AREA = 180
AXIS_ROOM = 36


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    value_x: float
    value_y: float
    label_x: float
    label_y: float
    show_label: bool = True
    show_value: bool = True


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    description: str
    kind: str
    """``rows`` (one labelled bar per line) or ``columns`` (a time series)."""
    width: int
    height: int
    bars: tuple[Bar, ...]
    rows: tuple[tuple[str, int], ...]
    total: int

    def share(self, value: int) -> float:
        return value / self.total if self.total else 0.0


def _describe(title: str, rows: list[tuple[str, int]], unit: str) -> str:
    if not rows or not any(value for _, value in rows):
        return f"{title} : aucune donnée sur la période."
    label, value = max(rows, key=lambda row: row[1])
    total = sum(v for _, v in rows)
    return f"{title} : {total} {unit} au total ; le plus fréquent : {label} ({value})."


def _chart(
    chart_id: str,
    title: str,
    rows: list[tuple[str, int]],
    unit: str,
    kind: str,
    height: int,
    bars: list[Bar],
) -> Chart:
    return Chart(
        id=chart_id,
        title=title,
        description=_describe(title, rows, unit),
        kind=kind,
        width=WIDTH,
        height=height,
        bars=tuple(bars),
        rows=tuple(rows),
        total=sum(value for _, value in rows),
    )


def row_chart(chart_id: str, title: str, rows: list[tuple[str, int]], unit: str) -> Chart:
    """Horizontal bars, label above each bar, value at its end."""
    largest = max((value for _, value in rows), default=0) or 1
    usable = WIDTH - VALUE_ROOM
    bars = []
    y = 4.0
    for label, value in rows:
        bar_y = y + LABEL_ROW
        width = max(2.0, usable * value / largest) if value else 0.0
        bars.append(
            Bar(
                label=label,
                value=value,
                x=0.0,
                y=bar_y,
                width=width,
                height=BAR_HEIGHT,
                value_x=width + 8,
                value_y=bar_y + BAR_HEIGHT - 4,
                label_x=0.0,
                label_y=y + LABEL_ROW - 6,
            )
        )
        y = bar_y + BAR_HEIGHT + ROW_GAP
    return _chart(chart_id, title, rows, unit, "rows", int(max(y, 40)), bars)


def column_chart(chart_id: str, title: str, rows: list[tuple[str, int]], unit: str) -> Chart:
    """Vertical columns over time; labels thinned so that they never overlap."""
    count = max(1, len(rows))
    slot = WIDTH / count
    width = max(2.0, slot * 0.7)
    largest = max((value for _, value in rows), default=0) or 1
    label_every = max(1, -(-count * 44 // WIDTH))
    bars = []
    for index, (label, value) in enumerate(rows):
        height = COLUMN_AREA * value / largest if value else 0.0
        x = index * slot + (slot - width) / 2
        top = 20 + COLUMN_AREA - height
        bars.append(
            Bar(
                label=label,
                value=value,
                x=x,
                y=top,
                width=width,
                height=height,
                value_x=x + width / 2,
                value_y=top - 4,
                label_x=x + width / 2,
                label_y=20 + COLUMN_AREA + 16,
                show_label=index % label_every == 0,
                show_value=count <= 24 and value > 0,
            )
        )
    return _chart(chart_id, title, rows, unit, "columns", 20 + COLUMN_AREA + AXIS_ROOM, bars)
