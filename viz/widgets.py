"""The app's drawings: Vue templates that draw what the server describes.

Charts and networks are plain lists made on the server (`viz.svg`,
`viz.networks`); these templates turn them into SVG in the browser.
"""

from __future__ import annotations

from collections.abc import Callable

import solara


@solara.component_vue("network.vue")
def NetworkView(
    width: int,
    height: int,
    nodes: list,
    edges: list,
    labels: list,
    legend: list,
    guides: list,
    selected: int,
    event_select: Callable[[int], None],
) -> None:
    """A clickable SVG network: clicking a node calls `event_select(node id)`."""


@solara.component_vue("drawer.vue")
def DrawerKeeper() -> None:
    """Closes the phone's drawer with Escape or a tap outside it (see drawer.vue)."""


@solara.component_vue("chart.vue")
def ChartView(width: int, height: int, shapes: list, texts: list, legend: list) -> None:
    """An SVG chart described by `viz.svg.Chart.spec()`."""
