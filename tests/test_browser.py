"""The app in a real browser: Debian's Chromium, driven by Playwright.

A Solara server serves app.py on a free local port; Chromium loads it with the
network closed to everything but that port's assets. The tests check what only a
browser shows: that the plots are drawn, that Step moves the year on screen and
how long a step and its redraw take, that a slider and Reset change the model,
that a click on a firm opens the inspector and its rules, that a run stops at
its end, that the texts match what is drawn, that a comparison runs in the
background, and that a phone and a 1024 x 768 screen show it all readably.
Checks share a few browser sessions, so the module stays quick. The classroom
benchmark's plain websocket client is checked against the same server: it must
keep speaking the page's protocol as Solara changes.
"""

import asyncio
import io
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
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

from benchmarks.solara_client import Session  # noqa: E402


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
def browser():
    """One Chromium for the module; each test group opens its own pages in it."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(server, browser):
    """One Chromium page on the app; records every request that left localhost."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
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
    context.close()


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


def test_a_plain_websocket_session_steps_and_receives_the_redraw(server):
    async def step_twice() -> tuple[list[str], list]:
        session = Session(server)
        await session.open(timeout=60)
        try:
            clocks = [session.text("townsim-year")]
            steps = []
            for _ in range(2):
                steps.append(await session.click("Step"))
                clocks.append(session.text("townsim-year"))
            return clocks, steps
        finally:
            await session.close()

    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this one
        clocks, steps = thread.submit(asyncio.run, step_twice()).result()
    assert clocks == ["End of 2016", "2017 Q1", "2017 Q2"]
    for step in steps:
        drawn = [u for u in step.updates if "spec" in u["state"]]
        assert len(drawn) == 5  # the four charts and the map
        assert 0 < step.last_update_seconds <= step.seconds


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
    firms.first.dispatch_event("click")
    page.get_by_text("Upgrade decision").wait_for(timeout=20_000)
    assert page.get_by_text("gate: funds").count() >= 1
    inspector = page.locator(".townsim-inspector").inner_text()
    assert not re.search(r"\de[-+]\d", inspector)  # no powers of ten
    assert "At its last decision" in inspector and "chance to climb now" in inspector
    save_screenshot(page, tmp_path_factory, "app-town.png")


def test_the_inspector_links_to_the_rules_and_the_odd(page):
    button(page, "Rules: upgrade").click()
    rules = page.locator(".townsim-rules")
    rules.get_by_text("agents.enterprise.consider_upgrade").wait_for(timeout=20_000)
    assert "def consider_upgrade(" in rules.inner_text()
    assert rules.locator("pre.townsim-source").count() >= 3
    button(page, "The ODD description").click()
    page.locator(".townsim-rules h2", has_text="Overview").first.wait_for()
    page.get_by_role("tab", name="Town and firms").click()
    inspector = page.locator(".townsim-inspector")
    inspector.get_by_text("Upgrade decision").wait_for(timeout=20_000)


def test_the_inspector_follows_the_town_slider(page):
    town = page.locator(".v-input", has_text=re.compile(r"^Town 0"))
    town.locator("[role=slider]").press("ArrowRight")
    inspector = page.locator(".townsim-inspector")
    inspector.get_by_text("Click a firm in the network").wait_for(timeout=20_000)
    assert inspector.get_by_text("Upgrade decision").count() == 0
    assert page.locator(".v-card", has_text="Firms of town 1").count() == 1


def test_a_run_stops_at_its_end_and_says_so(page):
    step = button(page, "Step")
    for _ in range(10):
        old = page.locator(".townsim-step").inner_text()
        if old == "step 76 of 76":  # the buttons' update may trail the clock's
            break
        step.click()
        page.wait_for_function(
            "old => document.querySelector('.townsim-step').textContent !== old",
            arg=old,
            timeout=30_000,
        )
    assert year(page) == "2035 Q4"
    assert page.locator(".townsim-step").inner_text() == "step 76 of 76"
    assert "reached its end" in page.locator(".townsim-end").inner_text()
    page.wait_for_function(
        "() => ['Step', '▶'].every(label => Array.from("
        "document.querySelectorAll('button')).find("
        "b => b.textContent.trim() === label).disabled)",
        timeout=10_000,
    )


def test_downloads_name_and_hold_their_settings(page):
    with page.expect_download() as caught:
        button(page, "Province (CSV)").click()
    download = caught.value
    name = download.suggested_filename
    assert name.startswith("province-baseline-towns25x100-budget0.003")
    assert name.endswith("-vectorized-seed42.csv")
    header, *rows = Path(download.path()).read_text().splitlines()
    assert header.startswith(
        "setting.scenario_name,setting.seed,setting.towns,setting.firms_per_town,"
        "setting.budget_share"
    )
    assert len(rows) == 77  # the start and 76 steps, none past the end


def test_a_preset_stops_a_playing_run_and_starts_its_own(page):
    button(page, "Reset").click()  # the run before has ended
    page.wait_for_function(
        "() => document.querySelector('.townsim-year').textContent.trim()"
        " === 'End of 2016'",
        timeout=20_000,
    )
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
    assert (
        "Changed by the sliders: budget 0"
        in page.locator(".townsim-description").inner_text()
    )
    assert page.get_by_text("A lone town stops at dimension 3").count() >= 1


def step_once(page: Page) -> None:
    old = year(page)
    button(page, "Step").click()
    page.wait_for_function(
        "old => document.querySelector('.townsim-year').textContent.trim() !== old",
        arg=old,
        timeout=20_000,
    )


def test_lessons_point_at_what_is_drawn_and_previous_runs_show_dashed(page):
    step_once(page)  # the run before has something to draw
    button(page, "Weak IP protection").click()
    page.get_by_text("Weak IP protection: The same town").wait_for(timeout=30_000)
    lesson = page.locator(".v-alert", has_text="Weak IP protection:").inner_text()
    assert "index chart" not in lesson and "Learning section" in lesson
    step_once(page)
    page.get_by_role("tab", name="Province").click()
    legends = page.locator(".townsim-legend", has_text="previous run (dashed):")
    legends.first.wait_for(timeout=20_000)
    assert legends.count() >= 2
    coverage = page.locator(".townsim-chart", has_text="Platform coverage")
    assert coverage.locator("path[stroke-dasharray='6,3']").count() == 2
    swatches = coverage.locator(".townsim-legend span[style*='repeating']")
    assert swatches.count() == 2
    assert "0 throughout, on the axis" in coverage.inner_text()  # no policy before
    assert page.locator(".townsim-dates").inner_text().startswith("Dates on the x")


def test_compare_runs_in_the_background_and_can_be_cancelled(page):
    page.get_by_role("tab", name="Compare").click()
    seeds = page.locator(".v-input", has_text="Seeds:")
    seeds.locator("[role=slider]").press("Home")  # two seeds
    button(page, "Run the comparison").click()
    page.locator(".townsim-meaning").wait_for(timeout=120_000)
    assert "interval" in page.locator(".townsim-meaning").inner_text()
    assert page.locator(".townsim-chart", has_text="Paired difference").count() == 1
    seeds.locator("[role=slider]").press("End")
    button(page, "Run the comparison").click()
    page.locator(".townsim-progress").wait_for(timeout=20_000)
    button(page, "Cancel").click()
    page.get_by_text("Cancelled: no result.").wait_for(timeout=60_000)


def test_settings_errors_warnings_and_scenarios_speak_plainly(page):
    for lever in ("talent", "funding", "IP protection", "platforms"):
        slider = page.locator(".v-input", has_text=f"Lever weight: {lever}")
        slider.locator("[role=slider]").press("Home")
    sidebar = page.locator(".v-navigation-drawer")
    sidebar.get_by_text("All four lever weights are 0").wait_for(timeout=10_000)
    assert page.locator(".v-input", has_text="Lever weight: platforms: 0").count()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('button'))"
        ".find(b => b.textContent.trim() === 'Reset').disabled",
        timeout=10_000,
    )
    page.locator(".v-input", has_text="Lever weight: talent").locator(
        "[role=slider]"
    ).press("End")
    sidebar.get_by_text("All four lever weights are 0").wait_for(state="detached")
    choose(page, "Schedule", "agents")
    page.get_by_text("about 0.1 s per step").wait_for(timeout=10_000)  # one town
    assert page.locator(".townsim-slow").count() == 0
    choose(page, "Scenario", "guangdong")
    page.locator(".v-input", has_text="Towns: 399").wait_for(timeout=10_000)
    page.locator(".townsim-slow").wait_for(timeout=10_000)  # 399 x 250 firms
    assert "will not answer" in page.locator(".townsim-slow").inner_text()


def choose(page: Page, label: str, value: str) -> None:
    """Pick a value in a Vuetify select, as a user does."""
    page.locator(".v-select", has_text=label).first.locator(".v-select__slot").click()
    page.locator(".v-menu__content .v-list-item", has_text=value).first.click()


def test_about_cites_links_and_has_no_banner_over_it(page):
    page.get_by_role("tab", name="About").click()
    about = page.locator(".townsim-about")
    for heading in ("Related models", "How to cite", "Licence", "Dates."):
        about.get_by_text(heading).first.wait_for(timeout=20_000)
    links = about.locator("a")
    assert links.count() >= 4
    for i in range(links.count()):
        assert links.nth(i).get_attribute("href").startswith("https://")
        assert links.nth(i).get_attribute("target") == "_blank"
    assert "raise the budget tenfold, from 0.003 to 0.03" in about.inner_text().lower()
    assert not page.get_by_text("This website runs on").is_visible()


@pytest.fixture(scope="module")
def small_screens(server, browser):
    """A phone (390 x 844, touch) and a 1024 x 768 screen, each on the app."""
    pages, contexts = {}, []
    screens = (("phone", (390, 844), True), ("xga", (1024, 768), False))
    for name, (width, height), touch in screens:
        context = browser.new_context(
            viewport={"width": width, "height": height}, has_touch=touch
        )
        contexts.append(context)
        pages[name] = context.new_page()
        pages[name].goto(server)
    for page in pages.values():
        page.locator(".townsim-year").wait_for(state="attached", timeout=60_000)
        page.wait_for_function(FOUR_CHARTS, timeout=60_000)
    yield pages
    for context in contexts:
        context.close()


SMALLEST_TICK = """() => Math.min(...Array.from(document.querySelectorAll(
    '.townsim-chart svg')).map(svg => {
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        const sizes = Array.from(svg.querySelectorAll('text'))
            .map(t => Number(t.getAttribute('font-size')));
        return Math.min(...sizes) * scale;
    }))"""
"""The smallest text of any chart, in screen pixels."""

DRAWER_OPEN = "() => !!document.querySelector('.v-navigation-drawer--open')"


def test_a_phone_shows_the_page_first_and_a_drawer_it_can_close(small_screens):
    page = small_screens["phone"]
    menu = page.locator(".v-app-bar__nav-icon")
    page.wait_for_function(f"() => !({DRAWER_OPEN[6:]})", timeout=10_000)
    charts = page.locator(".townsim-chart svg")
    for i in range(charts.count()):
        assert charts.nth(i).bounding_box()["width"] > 330  # the whole width
    assert page.evaluate(SMALLEST_TICK) >= 9
    menu.click()
    page.wait_for_function(DRAWER_OPEN, timeout=10_000)
    drawer = page.locator(".v-navigation-drawer").bounding_box()
    bar = page.locator(".v-app-bar").bounding_box()
    assert drawer["y"] >= bar["y"] + bar["height"] - 1  # its menu button stays free
    assert page.locator(".townsim-year").is_visible()
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => !({DRAWER_OPEN[6:]})", timeout=10_000)
    menu.click()
    page.wait_for_function(DRAWER_OPEN, timeout=10_000)
    page.mouse.click(380, 500)  # a tap beside the drawer
    page.wait_for_function(f"() => !({DRAWER_OPEN[6:]})", timeout=10_000)
    page.get_by_role("tab", name="Town and firms").click()
    inspector = page.locator(".townsim-inspector")
    inspector.wait_for(timeout=20_000)
    network = page.locator(".v-card", has_text="Firms of town").first.bounding_box()
    assert inspector.bounding_box()["y"] > network["y"] + network["height"] - 1
    assert not page.get_by_text("This website runs on").is_visible()


def test_1024_by_768_has_one_column_of_readable_charts(small_screens):
    page = small_screens["xga"]
    boxes = [page.locator(".townsim-chart svg").nth(i).bounding_box() for i in range(4)]
    assert len({round(box["x"]) for box in boxes}) == 1  # one column
    assert page.evaluate(SMALLEST_TICK) >= 10
    assert not page.get_by_text("This website runs on").is_visible()
