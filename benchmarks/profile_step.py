"""What one Step click costs the server: CPU time, components rendered, widgets set.

Renders the app as a served page does (default province, Province tab open) in
this process, with no browser, clicks Step and prints one JSON line: the CPU
time per click (median and 95th percentile over `--steps` clicks), the model's
share of it, and per click how many components ran and how many widgets the
redraw went over (reacton sets every prop of each, changed or not, then asks it
to send what changed, often nothing), both named. A class shares one server,
so what a click redraws beyond what the step changed is paid thirty times.

    python benchmarks/profile_step.py
    python benchmarks/profile_step.py --steps 40
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import ipyvuetify as v
import ipywidgets
import reacton.core
import solara

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from viz import controls
from viz.page import TownsimApp


def count_components() -> collections.Counter[str]:
    """Count every run of a component function, by name, from now on.

    Wrapping the functions themselves counts what reacton actually re-ran, not
    the elements it compared and skipped.
    """
    counts: collections.Counter[str] = collections.Counter()
    for component in gc.get_objects():
        if isinstance(component, reacton.core.ComponentFunction):
            component.f = _counted(component.f, component.name, counts)
    return counts


def _counted(f: Any, name: str, counts: collections.Counter[str]) -> Any:
    """`f`, counting its calls under `name`."""

    def run(*args: Any, **kwargs: Any) -> Any:
        counts[name] += 1
        return f(*args, **kwargs)

    run.__wrapped__ = f  # type: ignore[attr-defined]
    run.__name__ = getattr(f, "__name__", name)
    return run


def count_widgets_touched() -> collections.Counter[str]:
    """Count the widgets a redraw goes over, by widget class, from now on.

    Reacton ends its update of each widget by asking it to send its changes,
    so the calls count the widgets it walked, whether or not anything went out.
    """
    counts: collections.Counter[str] = collections.Counter()
    send = ipywidgets.Widget.send_state

    def counted(self: ipywidgets.Widget, key: Any = None) -> None:
        counts[type(self).__name__] += 1
        send(self, key)

    ipywidgets.Widget.send_state = counted  # type: ignore[method-assign]
    return counts


def main() -> None:
    """Click Step and say what each click cost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()

    step_cpu: list[float] = []
    model_step = controls.AppModel.step

    def timed_step(self: controls.AppModel) -> None:
        start = time.process_time()
        model_step(self)
        step_cpu.append(time.process_time() - start)

    controls.AppModel.step = timed_step  # type: ignore[method-assign]
    components = count_components()
    widgets = count_widgets_touched()
    _, rc = solara.render(solara.AppLayout(children=[TownsimApp()]), handle_error=False)
    button = rc.find(v.Btn, children=["Step"]).widget
    button.click()  # warm: the first step fills caches a class shares
    per_click: list[float] = []
    components.clear()
    widgets.clear()
    step_cpu.clear()
    for _ in range(args.steps):
        start = time.process_time()
        button.click()
        per_click.append(time.process_time() - start)
    rc.close()
    n = args.steps
    print(
        json.dumps(
            {
                "clicks": n,
                "cpu_ms_median": round(1e3 * statistics.median(per_click), 2),
                "cpu_ms_p95": round(1e3 * statistics.quantiles(per_click, n=20)[18], 2),
                "model_step_ms_median": round(1e3 * statistics.median(step_cpu), 2),
                "components_per_click": round(sum(components.values()) / n, 1),
                "widgets_touched_per_click": round(sum(widgets.values()) / n, 1),
                "components": {k: round(c / n, 1) for k, c in components.most_common()},
                "widgets": {k: round(c / n, 1) for k, c in widgets.most_common()},
            }
        )
    )


if __name__ == "__main__":
    main()
