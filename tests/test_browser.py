"""The app in a real browser: Debian's Chromium, driven by Playwright.

A Solara server serves app.py on a free local port; Chromium loads it with the
network closed to everything but that port's assets. The tests check what only a
browser shows: that the plots are drawn, that Step moves the year on screen and
how long a step and its redraw take, that a slider and Reset change the model,
and that a click on a firm opens the inspector.
"""

import io
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
SOLARA_RUN = [sys.executable, "-m", "solara", "run", "app.py", "--production"]
"""Production mode: no hot reload, which a file saved nearby would set off."""
STEP_BUDGET_S = 0.5
"""Longest median time for one step and its redraw with the default settings."""

if not CHROMIUM.exists():
    reason = (
        f"BROWSER TEST NOT RUN: {CHROMIUM} is missing "
        "(install it with `apt-get install -y chromium`; .ci/run does)"
    )
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`solara run app.py` on a free port, until the module's tests are done."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "solara.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*SOLARA_RUN, "--port", str(port), "--host", "localhost"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://localhost:{port}/"
    try:
        wait_for(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for(url, process, log, timeout=90.0):
    """Return once the server answers; fail with its log if it dies or hangs."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            pytest.fail(f"solara exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"solara did not answer within {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def page(server):
    """One Chromium page on the app; records every request that left localhost."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.outside, page.failed = [], []
        page.on(
            "request",
            lambda r: None if r.url.startswith(server) else page.outside.append(r.url),
        )
        page.on(
            "response",
            lambda r: page.failed.append(r.url) if r.status >= 400 else None,
        )
        page.goto(server)
        page.locator(".townsim-year").wait_for(timeout=60_000)
        page.wait_for_function(FOUR_CHARTS, timeout=60_000)
        yield page
        browser.close()


FOUR_CHARTS = """() => document.querySelectorAll('.townsim-chart svg').length === 4
    && document.querySelectorAll('.townsim-network .townsim-node').length > 0"""
"""The province tab is on screen alone: its four charts and its map."""


def year(page: Page) -> str:
    return page.locator(".townsim-year").inner_text().strip()


def button(page: Page, label: str):
    return page.locator("button", has_text=label).first


def colours(page: Page, locator) -> set:
    """The distinct colours of an element's pixels on screen."""
    locator.scroll_into_view_if_needed()
    image = Image.open(io.BytesIO(locator.screenshot())).convert("RGB")
    return {colour for _, colour in image.getcolors(maxcolors=1 << 24)}


def has_colour(found: set, hex_colour: str, tolerance: int = 12) -> bool:
    target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return any(
        all(abs(a - b) <= tolerance for a, b in zip(c, target, strict=True))
        for c in found
    )


TIMED_STEP = """() => new Promise((resolve, reject) => {
    const charts = () => Array.from(document.querySelectorAll('.townsim-chart svg'))
        .map(svg => svg.innerHTML);
    const year = () => document.querySelector('.townsim-year').textContent.trim();
    const oldYear = year(), oldCharts = charts();
    const step = Array.from(document.querySelectorAll('button'))
        .find(b => b.textContent.trim() === 'Step');
    const start = performance.now();
    step.click();
    const check = () => {
        const now = charts();
        const done = year() !== oldYear && now.length === oldCharts.length
            && now.every((html, i) => html !== oldCharts[i]);
        if (done) {  // two frames later the new state is painted
            requestAnimationFrame(() => requestAnimationFrame(
                () => resolve((performance.now() - start) / 1000)));
        } else if (performance.now() - start > 20000) {
            const changed = charts().map((html, i) => html !== oldCharts[i]);
            reject(new Error(`no redraw within 20 s: year ${oldYear} -> ${year()}, `
                + `charts changed ${changed}`));
        } else {
            requestAnimationFrame(check);
        }
    };
    requestAnimationFrame(check);
})"""


def timed_step(page: Page) -> float:
    """Seconds from a click on Step until the year and every chart are repainted.

    Measured inside the page (the click, the server's step and update, the
    browser's redraw), so the browser driver's own latency is not counted.
    """
    return page.evaluate(TIMED_STEP)


def test_page_loads_without_the_internet(page):
    assert year(page) == "End of 2016"
    assert page.outside == [], "the page asked for assets outside the local server"


def test_every_asset_is_served(page):
    page.get_by_role("tab", name="About").click()
    page.get_by_text("Things to try").first.wait_for(timeout=20_000)
    page.wait_for_timeout(500)
    page.get_by_role("tab", name="Province").click()
    page.wait_for_function(FOUR_CHARTS, timeout=20_000)
    assert page.failed == [], "the server could not serve these assets offline"


def test_step_changes_the_year_and_redraws_within_budget(page, capsys):
    times = [timed_step(page) for _ in range(8)]
    assert year(page) == "2018 Q4"
    median = statistics.median(times)
    with capsys.disabled():
        print(
            f"\n[browser] step + redraw, default settings: median {median:.3f} s, "
            f"max {max(times):.3f} s over {len(times)} steps"
        )
    assert median < STEP_BUDGET_S


def test_plots_are_drawn(page, tmp_path_factory):
    charts = page.locator(".townsim-chart svg")
    assert charts.count() == 4
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 200 and box["height"] > 100
        assert len(colours(page, charts.nth(i))) > 2
    towns_chart = colours(page, charts.nth(0))
    assert has_colour(towns_chart, "#bdbdbd")  # the traditional towns' area
    network = page.locator(".townsim-network svg").first
    assert network.bounding_box()["width"] > 200
    assert page.locator(".townsim-network .townsim-node").count() == 20
    assert has_colour(colours(page, network), "#bdbdbd")
    page.evaluate("() => document.querySelector('.townsim-year').scrollIntoView()")
    save_screenshot(page, tmp_path_factory, "app-province.png")


def save_screenshot(page: Page, tmp_path_factory, name: str) -> Path:
    """Save the page; TOWNSIM_SCREENSHOTS names a folder to keep them in (docs)."""
    folder = os.environ.get("TOWNSIM_SCREENSHOTS")
    shot = Path(folder or tmp_path_factory.getbasetemp()) / name
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    print(f"\n[browser] screenshot: {shot}")
    return shot


def test_play_runs_until_paused(page):
    start = year(page)
    button(page, "▶").click()
    page.wait_for_function(
        "old => document.querySelector('.townsim-year').textContent.trim() !== old",
        arg=start,
        timeout=20_000,
    )
    button(page, "❚❚").click()
    page.wait_for_function(
        "() => !Array.from(document.querySelectorAll('button'))"
        ".find(b => b.textContent.includes('Step')).disabled",
        timeout=20_000,
    )
    page.wait_for_timeout(1000)  # a step under way when paused may still land
    paused = year(page)
    page.wait_for_timeout(800)
    assert year(page) == paused != start


def test_slider_and_reset_change_the_model(page):
    towns = page.locator(".v-input", has_text="Towns: 20")
    thumb = towns.locator("[role=slider]").element_handle()  # its label will change
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowRight")
    page.locator(".v-input", has_text="Towns: 25").wait_for(timeout=10_000)
    page.get_by_text("Settings changed").wait_for(timeout=10_000)
    assert page.locator(".townsim-network .townsim-node").count() == 20
    button(page, "Reset").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.townsim-network .townsim-node')"
        ".length === 25",
        timeout=20_000,
    )
    assert year(page) == "End of 2016"
    assert page.get_by_text("Settings changed").count() == 0


def test_steps_per_click_and_a_firm_click_opening_the_inspector(page, tmp_path_factory):
    steps = page.locator(".v-input", has_text="Steps per Step click")
    steps.locator("[role=slider]").press("End")  # its maximum: 20 steps a click
    page.locator(".v-input", has_text="Steps per Step click: 20").wait_for()
    button(page, "Step").click()
    page.wait_for_function(
        "() => document.querySelector('.townsim-year').textContent.trim()"
        " === '2021 Q4'",
        timeout=30_000,
    )
    page.get_by_role("tab", name="Town and firms").click()
    card = page.locator(".v-card", has_text="Firms of town")
    below_top = page.locator("title", has_text=re.compile(r"level [123],"))
    firms = card.locator(".townsim-node", has=below_top)  # a firm with gates left
    firms.first.wait_for(timeout=20_000)
    print(
        "DEBUG",
        firms.count(),
        card.locator(".townsim-node").count(),
        firms.first.locator("title").text_content(),
    )
    firms.first.dispatch_event("click")
    page.get_by_text("Upgrade decision").wait_for(timeout=20_000)
    assert page.get_by_text("gate: funds").count() >= 1
    save_screenshot(page, tmp_path_factory, "app-town.png")


def test_a_preset_stops_a_playing_run_and_starts_its_own(page):
    button(page, "▶").click()
    page.wait_for_function(
        "() => document.querySelector('.townsim-year').textContent.trim() !== "
        "'2017 Q2'",
        timeout=20_000,
    )
    button(page, "One town, no policy").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.townsim-network .townsim-node').length"
        " > 0 && document.body.textContent.includes('Nobody spends anything')",
        timeout=30_000,
    )
    page.wait_for_timeout(1500)  # the old play loop must not step the new run
    assert year(page) == "End of 2016"
    assert page.locator(".v-input", has_text="Towns: 1").count() == 1
