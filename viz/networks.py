"""The two networks the app draws: towns of the province, firms of one town.

Each function turns the model's public state into plain lists (nodes, edges,
labels) for an SVG, so a click on a node can select a town or a firm. Positions
depend only on fixed facts (a town's map position, a firm's slot and chain stage),
so nodes stay put from one step to the next and only colours and sizes change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from agents.ties import CROSS_INDUSTRY, CROSS_TOWN, HORIZONTAL, VERTICAL
from scenarios import INDUSTRIES, LEVEL_NAMES, STAGES

if TYPE_CHECKING:
    from model import TownModel

LEVEL_COLOURS = ("#bdbdbd", "#4db6ac", "#1e88e5", "#4a148c")
"""Traditional, informational, internet-based, Internet+ (firm level or town
dimension): one palette everywhere in the app."""
LEVEL_LABELS = tuple(f"{k} {name}" for k, name in enumerate(LEVEL_NAMES, start=1))
"""Legend labels of the levels: number and name."""
TIE_COLOURS = {
    VERTICAL: "#8d6e63",
    HORIZONTAL: "#90a4ae",
    CROSS_INDUSTRY: "#ffb300",
    CROSS_TOWN: "#e53935",
}
TIE_NAMES = {
    VERTICAL: "chain tie",
    HORIZONTAL: "same-stage tie",
    CROSS_INDUSTRY: "cross-industry tie",
    CROSS_TOWN: "tie to another town",
}
RINGS = (0.95, 0.7, 0.45, 0.2)
"""Radius of each level's ring, as a share of the drawing's half height."""

WIDTH, HEIGHT = 480, 360
MARGIN = 30


def level_legend() -> list[list[str]]:
    """Legend entries of the level colours."""
    return [
        [name, colour] for name, colour in zip(LEVEL_LABELS, LEVEL_COLOURS, strict=True)
    ]


def town_network(model: TownModel) -> dict[str, Any]:
    """Towns at their map positions, coloured by dimension and sized by GDP."""
    towns = model.towns
    x, y = map_positions(towns.x, towns.y)
    gdp = np.maximum(towns.gdp, 0.0)
    radius = 4.0 + 14.0 * np.sqrt(gdp / max(gdp.max(), 1e-9))
    nodes = [
        {
            "id": t,
            "x": round(float(x[t]), 1),
            "y": round(float(y[t]), 1),
            "r": round(float(radius[t]), 1),
            "fill": LEVEL_COLOURS[int(towns.dimension[t]) - 1],
            "title": f"Town {t}: {INDUSTRIES[towns.industry[t]].replace('_', ' ')}, "
            f"dimension {int(towns.dimension[t])}, GDP {gdp[t]:,.0f} M yuan/yr, "
            f"{int(towns.firms[t])} firms",
        }
        for t in range(model.n_towns)
    ]
    edges = [
        [*_point(x, y, a), *_point(x, y, b), "#b0bec5", 1]
        for a, b in model.graph.edges()
    ]
    return {
        "nodes": nodes,
        "edges": edges,
        "labels": [],
        "guides": [],
        "legend": [*level_legend(), ["size: output", "#ffffff"]],
    }


def map_positions(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions of map points, zoomed to the towns and keeping the aspect."""
    centre = (x.max() + x.min()) / 2, (y.max() + y.min()) / 2
    span = max(float(x.max() - x.min()), float(y.max() - y.min()), 0.05)
    inner = min(WIDTH, HEIGHT) - 2 * MARGIN
    px = WIDTH / 2 + (x - centre[0]) / span * inner
    py = HEIGHT / 2 - (y - centre[1]) / span * inner  # north up
    return px, py


def _point(x: np.ndarray, y: np.ndarray, i: int) -> list[float]:
    return [round(float(x[i]), 1), round(float(y[i]), 1)]


def firm_positions(model: TownModel, slots: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rings by level (level 1 outside, Internet+ in the centre), sectors by stage.

    A firm's angle within its stage's sector comes from its place in its town's
    block (a golden-ratio spread), which widening the blocks keeps, so it keeps
    its place; it moves inward only when it climbs.
    """
    f = model.firms
    ring = np.array(RINGS)[f.level[slots] - 1]
    rank = slots - model.blocks.start[f.town[slots]]
    spread = (rank * 0.6180339887) % 1.0
    angle = 2 * np.pi * (f.stage[slots] + 0.08 + 0.84 * spread) / 3 - np.pi / 2
    scale = (HEIGHT - 2 * MARGIN) / 2
    x = WIDTH / 2 + scale * ring * np.cos(angle)
    y = HEIGHT / 2 + scale * ring * np.sin(angle)
    return x, y


def firm_network(model: TownModel, town: int, selected: int = -1) -> dict[str, Any]:
    """One town's live firms and their ties, coloured by level, sized by workforce.

    The ties of the `selected` firm are drawn bold, so its partners stand out.
    """
    f, start = model.firms, model.blocks.start
    block = np.arange(start[town], start[town + 1])
    slots = block[f.alive[block]]
    x, y = firm_positions(model, slots)
    radius = 2.5 + 1.6 * np.log10(np.maximum(f.size[slots], 10.0) / 10.0)
    nodes = [
        {
            "id": int(slot),
            "x": round(float(x[i]), 1),
            "y": round(float(y[i]), 1),
            "r": round(float(radius[i]), 1),
            "fill": LEVEL_COLOURS[int(f.level[slot]) - 1],
            "title": f"Firm {f.id[slot]}: level {int(f.level[slot])}, "
            f"{f.size[slot]:.0f} workers, {STAGES[f.stage[slot]]}, "
            f"{int(f.ties[slot])} ties (click to inspect)",
        }
        for i, slot in enumerate(slots.tolist())
    ]
    return {
        "nodes": nodes,
        "edges": _tie_lines(model, slots, x, y, selected),
        "labels": _stage_labels(),
        "guides": [[WIDTH / 2, HEIGHT / 2, radius] for radius in _ring_radii()],
        "legend": [
            *level_legend(),
            *([TIE_NAMES[k], c] for k, c in TIE_COLOURS.items()),
        ],
    }


def _tie_lines(
    model: TownModel, slots: np.ndarray, x: np.ndarray, y: np.ndarray, selected: int
) -> list[list[Any]]:
    """Lines for ties inside the town (once each) and stubs for ties to other towns."""
    f = model.firms
    where = {int(slot): i for i, slot in enumerate(slots.tolist())}
    rows, cols = np.nonzero(f.partners[slots] >= 0)
    lines = []
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        partner = int(f.partners[slots[row], col])
        kind = int(f.tie_kind[slots[row], col])
        colour = TIE_COLOURS.get(kind, "#9e9e9e")
        bold = 2.5 if selected in (int(slots[row]), partner) else 0.0
        other = where.get(partner)
        if other is None:  # a tie to another town: a stub pointing outward
            dx, dy = x[row] - WIDTH / 2, y[row] - HEIGHT / 2
            norm = max(float(np.hypot(dx, dy)), 1e-9)
            end = [x[row] + 14 * dx / norm, y[row] + 14 * dy / norm]
            lines.append([*_xy(x[row], y[row]), *_xy(*end), colour, bold or 1.5])
        elif other > row:
            line = [*_xy(x[row], y[row]), *_xy(x[other], y[other])]
            lines.append([*line, colour, bold or 0.6])
    return sorted(lines, key=lambda line: line[5])  # bold ties drawn last, on top


def _xy(a: float, b: float) -> list[float]:
    return [round(float(a), 1), round(float(b), 1)]


def _ring_radii() -> list[float]:
    """Pixel radii of the level rings, drawn as faint guides."""
    return [round(ring * (HEIGHT - 2 * MARGIN) / 2, 1) for ring in RINGS]


def _stage_labels() -> list[list[Any]]:
    """Sector names at the rim, where each chain stage's firms sit."""
    labels = []
    for stage, name in enumerate(STAGES):
        angle = 2 * np.pi * (stage + 0.5) / 3 - np.pi / 2
        r = (HEIGHT - 2 * MARGIN) / 2 + 16
        labels.append(
            [*_xy(WIDTH / 2 + r * np.cos(angle), HEIGHT / 2 + r * np.sin(angle)), name]
        )
    return labels
