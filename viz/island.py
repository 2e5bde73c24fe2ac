"""Parts of the page that redraw on their own, without the rest of the page.

Reacton redraws a page from its root: whichever component changed, it walks
every element of the page and sets every prop of every widget again, unchanged
or not. A step changes only the clock, the buttons and the open view, yet paid
for the sidebar, the tabs and the settings too, and a class of thirty pays that
thirty times on one server. An `Island` renders its component in a render
context of its own, inside a widget of the page: a step redraws the islands
that follow it, and the page around them is left alone.
"""

from __future__ import annotations

from typing import Any

import ipyvue
import reacton.core
import solara


@solara.component
def Island(component: Any, **props: Any) -> None:
    """`component(**props)`, redrawn apart from the page that holds it.

    The page redraws the island when its props change (another run, another
    town); the island's own state and the reactive values it reads (a step's
    update counter) redraw only the island. Closing the page closes it.
    """
    box = solara.use_memo(lambda: ipyvue.Html(tag="div", children=[]), [])
    inner = solara.use_ref(None)

    def show() -> None:
        """Render the island, first into its box, then again with new props."""
        element = component(**props)
        if inner.current is None:
            _, inner.current = reacton.core.render(element, box, handle_error=True)
        else:
            inner.current.render(element)

    def close() -> Any:
        """Close the island's render context with the page."""

        def cleanup() -> None:
            if inner.current is not None:
                inner.current.close()
                inner.current = None
            box.close()

        return cleanup

    solara.use_effect(close, [])
    solara.use_effect(show, [component, *props.items()])
    solara.Div(children=[box])
