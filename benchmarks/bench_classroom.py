"""A whole class on one server: sessions stepping the default province together.

Starts one `solara run app.py` on loopback, opens SESSIONS sessions of the app,
and in each round clicks Step in every session at once. Prints the median and
95th percentile of the step times, the server's CPU time per step, its resident
memory per session, whether every session ended once its page went (Solara's
kernel culling, here after CULL) and how much memory came back then.

Two kinds of client (`--clients`):

- `websocket` (the default): each session is a plain client of Solara's
  websocket protocol (`solara_client.Session`), the messages a page sends and
  no drawing. A step is timed from sending the click to the server's last
  message about it, after the widget updates of the redraw: what the server
  does for the class, as the students' devices receive it. Their own drawing
  of those updates comes on top, on their own device; `--with-browser` makes
  one of the sessions a Chromium page that times it (click to repainted
  charts), as its student would see it with the rest of the class stepping.
- `browser`: each session is a browser context of one headless Chromium on the
  same machine, and a step is timed from the click to the repainted charts. The
  30 pages' drawing shares the server's cores, so this is an upper bound.

    python benchmarks/bench_classroom.py                    # 30 sessions, 6 rounds
    python benchmarks/bench_classroom.py --rounds 10 --with-browser --classes 3
    python benchmarks/bench_classroom.py --sessions 40
    python benchmarks/bench_classroom.py --clients browser  # the upper bound
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.async_api import async_playwright
from solara_client import Session

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
CULL = "5s"
"""How long a closed session lives here (the app's default is two minutes)."""
CHARTS = 4
"""Charts on the Province tab, each redrawn by a step."""
READY = """() => document.querySelectorAll('.townsim-chart svg').length === 4
    && document.querySelectorAll('.townsim-network .townsim-node').length > 0"""

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
        if (year() !== oldYear && now.every((html, i) => html !== oldCharts[i])) {
            requestAnimationFrame(() => requestAnimationFrame(
                () => resolve((performance.now() - start) / 1000)));
        } else if (performance.now() - start > 60000) {
            reject(new Error('no redraw within 60 s'));
        } else {
            requestAnimationFrame(check);
        }
    };
    requestAnimationFrame(check);
})"""


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(port: int) -> subprocess.Popen:
    """The app on loopback, as a class would run it, with a short session cull."""
    env = {**os.environ, "SOLARA_KERNEL_CULL_TIMEOUT": CULL}
    command = [sys.executable, "-m", "solara", "run", "app.py", "--production"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--host", "localhost"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://localhost:{port}/"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("the server did not start")


async def open_session(browser, url: str):
    """A new browser context on the app (its own Solara session), once drawn."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_function(READY, timeout=180_000)
    return context, page


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of values, interpolated between neighbours."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def open_kernels(url: str) -> int:
    """How many sessions (Solara's virtual kernels) the server still holds."""
    with urllib.request.urlopen(f"{url}resourcez", timeout=10) as response:
        return json.load(response)["kernels"]["total"]


async def wait_closed(url: str, timeout: float = 120.0) -> tuple[int, float]:
    """Wait for the server to end every session; those left and the wait, s."""
    started = time.perf_counter()
    left = open_kernels(url)
    while left and time.perf_counter() - started < timeout:
        await asyncio.sleep(0.5)
        left = open_kernels(url)
    return left, time.perf_counter() - started


class Run:
    """The figures of one load test as it goes: memory, CPU and step times."""

    def __init__(self, server: subprocess.Popen, sessions: int, rounds: int) -> None:
        """Figures of `server` with `sessions` stepping for `rounds` rounds."""
        self.pid = server.pid
        self.figures: dict = {"sessions": sessions, "rounds": rounds}
        self.figures["load_average_1min_before"] = round(os.getloadavg()[0], 2)
        self.rss: dict[str, float] = {"idle": rss_mib(self.pid)}
        self.times: list[float] = []
        self.wall = 0.0
        self.cpu = 0.0
        self.untimed_steps = 0
        """Steps the server made besides the timed ones (a browser page's)."""

    async def stepping(self, rounds: int, one_round) -> None:
        """Time `rounds` rounds of `one_round()` (the step times of a round)."""
        self.rss["loaded"] = rss_mib(self.pid)
        cpu, started = cpu_seconds(self.pid), time.perf_counter()
        for _ in range(rounds):
            self.times.extend(await one_round())
        self.wall = time.perf_counter() - started
        self.cpu = cpu_seconds(self.pid) - cpu
        self.rss["stepped"] = rss_mib(self.pid)

    async def closing(self, url: str) -> None:
        """Once the clients are gone: the sessions left, and the memory back."""
        left, waited = await wait_closed(url)
        await asyncio.sleep(5)  # the closed sessions' cleanup
        self.rss["closed"] = rss_mib(self.pid)
        self.figures["sessions_left_after_close"] = left
        self.figures["sessions_closed_after_s"] = round(waited, 1)

    def summary(self) -> dict:
        """Every figure, rounded: the JSON line's content."""
        sessions, times, rss = self.figures["sessions"], self.times, self.rss
        added = rss["stepped"] - rss["one"]
        per_session = added / max(sessions - 1, 1)
        return {
            **self.figures,
            "steps_timed": len(times),
            "step_median_s": round(statistics.median(times), 3),
            "step_p95_s": round(percentile(times, 0.95), 3),
            "step_max_s": round(max(times), 3),
            "round_wall_s": round(self.wall / self.figures["rounds"], 2),
            "server_cpu_per_step_s": round(
                self.cpu / (len(times) + self.untimed_steps), 3
            ),
            "server_rss_idle_mib": round(rss["idle"]),
            "server_rss_one_session_mib": round(rss["one"]),
            "server_rss_all_loaded_mib": round(rss["loaded"]),
            "server_rss_after_steps_mib": round(rss["stepped"]),
            "rss_per_session_mib": round(per_session, 1),
            "server_rss_after_close_mib": round(rss["closed"]),
            "rss_returned_mib": round(rss["stepped"] - rss["closed"]),
            "rss_returned_share": round(
                (rss["stepped"] - rss["closed"]) / max(added, 1e-9), 2
            ),
        }


async def measure_browsers(sessions: int, rounds: int) -> dict:
    """Browser contexts on the same machine: step and redraw on screen."""
    port = free_port()
    url = f"http://localhost:{port}/"
    server = start_server(port)
    try:
        run = Run(server, sessions, rounds)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=ARGS
            )
            opened = [await open_session(browser, url)]
            run.rss["one"] = rss_mib(server.pid)  # the app imported, one session
            opened += [await open_session(browser, url) for _ in range(sessions - 1)]

            async def one_round() -> list[float]:
                return await asyncio.gather(
                    *(page.evaluate(TIMED_STEP) for _, page in opened)
                )

            await run.stepping(rounds, one_round)
            for context, _ in opened:
                await context.close()
            await browser.close()
        await run.closing(url)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return {"clients": "browser", "timed": "click to repainted charts"} | run.summary()


async def open_class(url: str, sessions: int, run: Run | None = None) -> list:
    """Open the sessions one after another; note the memory of the first in `run`."""
    opened = [Session(url)]
    await opened[0].open()
    if run is not None:
        run.rss["one"] = rss_mib(run.pid)  # the app imported, one session
    for _ in range(sessions - 1):
        opened.append(Session(url))
        await opened[-1].open()
    return opened


class Rounds:
    """Rounds of Step in every session at once, checking that each redrew."""

    def __init__(self, opened: list, page=None) -> None:
        """Rounds for the `opened` sessions, and a browser `page` if given."""
        self.opened = opened
        self.page = page
        self.not_redrawn = 0
        self.browser_times: list[float] = []
        """The browser page's step and redraw times, if there is one."""

    async def __call__(self) -> list[float]:
        """One round: every websocket session's step time."""
        before = [session.text("townsim-step") for session in self.opened]
        clicks = [s.click("Step") for s in self.opened]
        if self.page is not None:
            *steps, on_screen = await asyncio.gather(
                *clicks, self.page.evaluate(TIMED_STEP)
            )
            self.browser_times.append(on_screen)
        else:
            steps = await asyncio.gather(*clicks)
        after = [session.text("townsim-step") for session in self.opened]
        charts = [sum("spec" in u["state"] for u in step.updates) for step in steps]
        self.not_redrawn += sum(
            old == new or drawn < CHARTS
            for old, new, drawn in zip(before, after, charts, strict=True)
        )
        return [step.seconds for step in steps]


async def measure_websockets(
    sessions: int, rounds: int, classes: int = 1, browser: bool = False
) -> dict:
    """Plain websocket clients: step and the server's redraw, as received.

    With `classes` above one, more classes come after the first on the same
    server, each opening, stepping and closing as many sessions: the server's
    memory after each shows whether a server grows class after class. The step
    times are the first class's. With `browser`, one of the first class's
    sessions is a Chromium page instead, which times what its student sees:
    the step and its redraw on screen, while the others step too.
    """
    port = free_port()
    url = f"http://localhost:{port}/"
    server = start_server(port)
    client_cpu = time.process_time()
    try:
        run = Run(server, sessions, rounds)
        opened = await open_class(url, sessions - int(browser), run)
        async with async_playwright() as playwright:
            page = None
            if browser:
                chromium = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=ARGS
                )
                page = (await open_session(chromium, url))[1]
            step_all = Rounds(opened, page)
            await run.stepping(rounds, step_all)
            run.untimed_steps = len(step_all.browser_times)
            for session in opened:
                await session.close()
            if browser:
                await chromium.close()
        await run.closing(url)
        after_close, left = (
            [run.rss["closed"]],
            [run.figures["sessions_left_after_close"]],
        )
        for _ in range(classes - 1):
            opened = await open_class(url, sessions)
            later = Rounds(opened)
            for _ in range(rounds):
                await later()
            step_all.not_redrawn += later.not_redrawn
            for session in opened:
                await session.close()
            left.append((await wait_closed(url))[0])
            await asyncio.sleep(5)
            after_close.append(rss_mib(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=20)
    client_cpu = time.process_time() - client_cpu
    return (
        {
            "clients": "websocket",
            "timed": "click sent to the server's last message of the step",
            "steps_not_redrawn": step_all.not_redrawn,
            "client_cpu_s": round(client_cpu, 1),
        }
        | run.summary()
        | (on_screen(step_all.browser_times) if browser else {})
        | {
            "classes": classes,
            "server_rss_after_each_class_mib": [round(rss) for rss in after_close],
            "sessions_left_after_each_class": left,
        }
    )


def on_screen(times: list[float]) -> dict:
    """The figures of the one browser page among the websocket sessions."""
    return {
        "browser_steps_timed": len(times),
        "browser_step_redraw_median_s": round(statistics.median(times), 3),
        "browser_step_redraw_p95_s": round(percentile(times, 0.95), 3),
        "browser_step_redraw_max_s": round(max(times), 3),
    }


def main() -> None:
    """Run the load test and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--clients", choices=["websocket", "browser"], default="websocket"
    )
    parser.add_argument(
        "--classes",
        type=int,
        default=1,
        help="classes one after another on the server (websocket clients only)",
    )
    parser.add_argument(
        "--with-browser",
        action="store_true",
        help="one session a Chromium page that times its redraw (websocket clients)",
    )
    args = parser.parse_args()
    if args.clients == "websocket":
        run = measure_websockets(
            args.sessions, args.rounds, args.classes, args.with_browser
        )
    else:
        run = measure_browsers(args.sessions, args.rounds)
    figures = asyncio.run(run)
    print(json.dumps(figures))
    print(
        f"{figures['sessions']} sessions ({figures['clients']} clients) stepping "
        f"together: step median {figures['step_median_s']} s, 95th percentile "
        f"{figures['step_p95_s']} s ({figures['timed']}); the server spends "
        f"{figures['server_cpu_per_step_s']} s of CPU per step; "
        f"{figures['rss_per_session_mib']} MiB per session; "
        f"{figures['sessions_left_after_close']} sessions left "
        f"{figures['sessions_closed_after_s']} s after closing, "
        f"{figures['rss_returned_mib']} MiB returned."
    )
    if "browser_step_redraw_p95_s" in figures:
        print(
            f"The browser page among them: step + redraw on screen median "
            f"{figures['browser_step_redraw_median_s']} s, 95th percentile "
            f"{figures['browser_step_redraw_p95_s']} s."
        )
    left = figures.get("sessions_left_after_each_class", [])
    if (
        figures.get("steps_not_redrawn")
        or figures["sessions_left_after_close"]
        or any(left)
    ):
        sys.exit("Some steps did not redraw, or some sessions never ended.")


if __name__ == "__main__":
    main()
