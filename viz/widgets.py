"""The app's drawings: Vue templates that draw what the server describes.

Charts and networks are plain lists made on the server (`viz.svg`,
`viz.networks`); these templates turn them into SVG in the browser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import solara


def drawing(spec: dict[str, Any], **sizes: int) -> dict[str, Any]:
    """A chart's or network's description as the views take it: one JSON text.

    A redraw compares each view's arguments with the last ones, walking every
    list and dict inside them; thousands of path points per chart made that walk
    most of a step's cost on a shared server. One string is compared at once.
    """
    spec = spec | sizes
    text = json.dumps(spec, default=_plain)
    return {"width": spec["width"], "height": spec["height"], "spec": text}


def _plain(value: Any) -> Any:
    """A numpy number as the Python number JSON can write."""
    return value.item()


@solara.component_vue("network.vue")
def NetworkView(
    width: int,
    height: int,
    spec: str,
    selected: int,
    event_select: Callable[[int], None],
) -> None:
    """A clickable SVG network: clicking a node calls `event_select(node id)`.

    `spec` is the `drawing` of a description from `viz.networks`.
    """


@solara.component_vue("drawer.vue")
def DrawerKeeper() -> None:
    """Closes the phone's drawer with Escape or a tap outside it (see drawer.vue)."""


@solara.component_vue("chart.vue")
def ChartView(width: int, height: int, spec: str) -> None:
    """An SVG chart: the `drawing` of `viz.svg.Chart.spec()`."""
