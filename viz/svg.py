"""Small SVG charts built on the server and drawn by the browser.

A chart maps data coordinates to a pixel box and collects shapes (SVG paths),
texts and a legend as plain lists. The browser draws them in a few milliseconds,
so a step and its redraw stay fast; hovering a shape shows its title.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

AXIS_COLOUR = "#9e9e9e"
TEXT_COLOUR = "#424242"
TICK_SIZE = 12
"""Tick labels in drawing pixels: still 10 px on a phone, where a chart shrinks."""


@dataclass
class Chart:
    """An SVG chart with linear axes.

    Args:
        title: Shown above the plot area.
        x_range: Data range of the x axis (low, high).
        y_range: Data range of the y axis (low, high).
        width: Width of the drawing in pixels (it scales to its container).
        height: Height of the drawing in pixels.
    """

    title: str
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    width: int = 420
    height: int = 250
    left: int = 46
    right: int = 12
    top: int = 26
    bottom: int = 26
    shapes: list[list[Any]] = field(default_factory=list)
    texts: list[list[Any]] = field(default_factory=list)
    legend: list[list[str]] = field(default_factory=list)

    def px(self, x: ArrayLike) -> np.ndarray:
        """Pixel column of data x."""
        low, high = self.x_range
        span = (high - low) or 1.0
        inner = self.width - self.left - self.right
        return self.left + (np.asarray(x, dtype=float) - low) / span * inner

    def py(self, y: ArrayLike) -> np.ndarray:
        """Pixel row of data y (up is up)."""
        low, high = self.y_range
        span = (high - low) or 1.0
        inner = self.height - self.top - self.bottom
        return (
            self.height
            - self.bottom
            - (np.asarray(y, dtype=float) - low) / span * inner
        )

    def path(
        self,
        d: str,
        fill: str = "none",
        stroke: str = "none",
        width: float = 1.0,
        dash: str = "",
        title: str = "",
    ) -> None:
        """Add a raw SVG path."""
        self.shapes.append([d, fill, stroke, width, dash, title])

    def line(
        self,
        x: ArrayLike,
        y: ArrayLike,
        colour: str,
        label: str = "",
        width: float = 2.0,
        dash: str = "",
    ) -> bool:
        """A polyline through the points; returns whether anything was drawn.

        NaN values and points off the x axis are skipped, so that nothing is
        drawn outside the frame.
        """
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        low, high = self.x_range
        keep = np.isfinite(x) & np.isfinite(y) & (x >= low - 1e-9) & (x <= high + 1e-9)
        if keep.sum() < 1:
            return False
        self.path(
            _polyline(self.px(x[keep]), self.py(y[keep])),
            "none",
            colour,
            width,
            dash,
            label,
        )
        if label:
            self.legend.append([label, colour])
        return True

    def dots(
        self, x: ArrayLike, y: ArrayLike, colour: str, radius: float = 2.5
    ) -> None:
        """A small disc at each point, so that a series of one point shows."""
        px, py = self.px(x), self.py(y)
        d = " ".join(
            f"M{a - radius:.1f},{b:.1f} a{radius},{radius} 0 1,0 {2 * radius},0 "
            f"a{radius},{radius} 0 1,0 {-2 * radius},0"
            for a, b in zip(px.tolist(), py.tolist(), strict=True)
        )
        if d:
            self.path(d, colour)

    def area(
        self, x: ArrayLike, lower: ArrayLike, upper: ArrayLike, colour: str, label: str
    ) -> None:
        """The band between two curves, filled."""
        x = np.asarray(x, dtype=float)
        px, top, bottom = self.px(x), self.py(upper), self.py(lower)
        d = _polyline(np.r_[px, px[::-1]], np.r_[top, bottom[::-1]]) + " Z"
        self.path(d, colour, "none", 0, "", label)
        self.legend.append([label, colour])

    def stack(
        self,
        x: ArrayLike,
        layers: np.ndarray,
        colours: Sequence[str],
        labels: Sequence[str],
    ) -> None:
        """Stacked areas, the first layer at the bottom; one point shows as a strip."""
        x = np.asarray(x, dtype=float)
        if x.size == 1:
            x, layers = np.r_[x, x + 0.1], np.repeat(layers, 2, axis=1)
        tops = np.cumsum(layers, axis=0)
        bottoms = np.vstack([np.zeros_like(tops[:1]), tops[:-1]])
        for bottom, top, colour, label in zip(
            bottoms, tops, colours, labels, strict=True
        ):
            self.area(x, bottom, top, colour, label)

    def hline(self, y: float, colour: str, label: str = "", dash: str = "5,4") -> None:
        """A horizontal reference line across the plot."""
        self.line(self.x_range, [y, y], colour, label, 1.5, dash)

    def vline(self, x: float, colour: str = AXIS_COLOUR, label: str = "") -> None:
        """A vertical reference line, labelled at its top."""
        px = float(self.px(x))
        self.path(
            f"M{px:.1f},{self.top} V{self.height - self.bottom}",
            "none",
            colour,
            1,
            "3,3",
        )
        if label:
            self.text(px + 3, self.top + 10, label, anchor="start", size=11)

    def bar(
        self, x0: float, x1: float, y0: float, y1: float, colour: str, title: str
    ) -> None:
        """A filled rectangle in data coordinates."""
        a, b = self.px([x0, x1])
        c, d = self.py([y0, y1])
        self.path(
            f"M{a:.1f},{c:.1f} H{b:.1f} V{d:.1f} H{a:.1f} Z",
            colour,
            "none",
            0,
            "",
            title,
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        anchor: str = "middle",
        size: int = 11,
        colour: str = TEXT_COLOUR,
        weight: str = "normal",
    ) -> None:
        """A text at a pixel position."""
        self.texts.append(
            [round(float(x), 1), round(float(y), 1), text, anchor, size, colour, weight]
        )

    def axes(
        self,
        x_ticks: Sequence[float] | None = None,
        y_ticks: Sequence[float] | None = None,
        y_format: str = "{:g}",
        x_format: str = "{:g}",
        y_labels: Sequence[str] | None = None,
    ) -> None:
        """Frame, grid lines, tick labels and the title."""
        x_ticks = _ticks(self.x_range) if x_ticks is None else x_ticks
        y_ticks = _ticks(self.y_range) if y_ticks is None else y_ticks
        bottom, top = self.height - self.bottom, self.top
        for value in x_ticks:
            px = float(self.px(value))
            self.text(px, bottom + 15, x_format.format(value), size=TICK_SIZE)
        for i, value in enumerate(y_ticks):
            py = float(self.py(value))
            self.path(
                f"M{self.left},{py:.1f} H{self.width - self.right}",
                "none",
                "#eeeeee",
                1,
            )
            label = y_labels[i] if y_labels is not None else y_format.format(value)
            self.text(self.left - 4, py + 4, label, anchor="end", size=TICK_SIZE)
        self.path(
            f"M{self.left},{top} V{bottom} H{self.width - self.right}",
            "none",
            AXIS_COLOUR,
            1,
        )
        self.text(self.left, 15, self.title, anchor="start", size=13, weight="bold")

    def spec(self) -> dict[str, Any]:
        """Everything the browser needs to draw the chart."""
        return {
            "width": self.width,
            "height": self.height,
            "shapes": self.shapes,
            "texts": self.texts,
            "legend": self.legend,
        }


def _polyline(x: np.ndarray, y: np.ndarray) -> str:
    points = " L".join(
        f"{a:.1f},{b:.1f}" for a, b in zip(x.tolist(), y.tolist(), strict=True)
    )
    return "M" + points


def _ticks(limits: tuple[float, float], count: int = 5) -> list[float]:
    low, high = limits
    ticks = MaxNLocator(count).tick_values(low, high)
    return [float(t) for t in ticks if low - 1e-9 <= t <= high + 1e-9]
