"""Watch the towns climb: the interactive app of the town-upgrading model.

Run with `solara run app.py` or `townsim app`. The sidebar holds SolaraViz's
Step / Play / Reset, classroom presets and the settings of the next run; the tabs
show the province, one town and its firms (click a firm to see why it did what it
did), and an About page that explains the model and what to try.
"""

import solara

from viz.page import TownsimApp


@solara.component
def Page() -> None:
    """The page Solara serves."""
    TownsimApp()
