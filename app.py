"""Watch the towns climb: a SolaraViz page over the town-upgrading model.

Run with `solara run app.py` or `townsim app`. Sliders set the budget and its
split over the four levers; the plots show towns per dimension, firms per level,
the collaborative innovation index and output, step by step.
"""

from mesa.visualization import Slider, SolaraViz, make_plot_component

from model import TownModel

model_params = {
    "towns": Slider("Towns", 12, 1, 60, 1),
    "firms_per_town": Slider("Firms per town", 60, 10, 300, 10),
    "budget_share": Slider("Budget, share of GDP", 0.003, 0.0, 0.02, 0.001),
    "talent": Slider("Weight: talent", 0.2, 0.0, 1.0, 0.05),
    "funding": Slider("Weight: funding", 0.5, 0.0, 1.0, 0.05),
    "ip": Slider("Weight: IP protection", 0.1, 0.0, 1.0, 0.05),
    "platform": Slider("Weight: platforms", 0.2, 0.0, 1.0, 0.05),
    "schedule": {
        "type": "Select",
        "value": "vectorized",
        "values": ["vectorized", "agents"],
        "label": "Schedule",
    },
}

DIMENSION_COLOURS = {
    "towns_dimension_1": "#9e9e9e",
    "towns_dimension_2": "#64b5f6",
    "towns_dimension_3": "#1e88e5",
    "towns_dimension_4": "#0d47a1",
}
LEVEL_COLOURS = {
    "firms_level_1": "#bdbdbd",
    "firms_level_2": "#81c784",
    "firms_level_3": "#43a047",
    "firms_level_4": "#1b5e20",
}

model = TownModel(towns=12, firms_per_town=60, rng=42)
page = SolaraViz(
    model,
    components=[
        make_plot_component(DIMENSION_COLOURS),
        make_plot_component(LEVEL_COLOURS),
        make_plot_component({"coordination": "#6a1b9a", "member_share": "#ef6c00"}),
        make_plot_component("gdp"),
    ],
    model_params=model_params,
    name="Professional towns climbing to Internet+",
)
