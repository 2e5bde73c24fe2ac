"""A whole class on one server: sessions stepping the default province together.

Starts one `solara run app.py` on loopback, opens SESSIONS pages in one headless
Chromium (one browser context each, so each is its own Solara session), and in
each round clicks Step on every page at once. Each page times its own step and
redraw (click to repainted charts, as the browser test does). Prints the median
and 95th percentile of those times, the server's resident memory per session,
and how much of it comes back once every page is closed and the sessions end,
and the server's CPU time per step (its share of the machine, the browser's
excluded).

The browser runs on the same machine and takes its share of the cores, so the
times are an upper bound for students on their own laptops.

    python benchmarks/bench_classroom.py               # 30 sessions, 6 rounds
    python benchmarks/bench_classroom.py --sessions 10 --rounds 3
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

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
CULL = "5s"
"""How long a closed session lives here (the app's default is two minutes)."""
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


async def measure(sessions: int, rounds: int) -> dict:
    """Open the sessions, step them together for some rounds, close them."""
    port = free_port()
    url = f"http://localhost:{port}/"
    server = start_server(port)
    try:
        idle = rss_mib(server.pid)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=ARGS
            )
            first = [await open_session(browser, url)]
            one = rss_mib(server.pid)  # the app imported, one session open
            rest = [await open_session(browser, url) for _ in range(sessions - 1)]
            opened = first + rest
            loaded = rss_mib(server.pid)
            times: list[float] = []
            cpu = cpu_seconds(server.pid)
            started = time.perf_counter()
            for _ in range(rounds):
                found = await asyncio.gather(
                    *(page.evaluate(TIMED_STEP) for _, page in opened)
                )
                times.extend(found)
            wall = time.perf_counter() - started
            cpu = cpu_seconds(server.pid) - cpu
            stepped = rss_mib(server.pid)
            for context, _ in opened:
                await context.close()
            await browser.close()
        await asyncio.sleep(20)  # the cull timeout, then the sessions' cleanup
        closed = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=20)
    per_session = (stepped - one) / max(sessions - 1, 1)
    return {
        "sessions": sessions,
        "rounds": rounds,
        "steps_timed": len(times),
        "step_redraw_median_s": round(statistics.median(times), 3),
        "step_redraw_p95_s": round(percentile(times, 0.95), 3),
        "step_redraw_max_s": round(max(times), 3),
        "round_wall_s": round(wall / rounds, 2),
        "server_cpu_per_step_s": round(cpu / len(times), 3),
        "server_rss_idle_mib": round(idle),
        "server_rss_one_session_mib": round(one),
        "server_rss_all_loaded_mib": round(loaded),
        "server_rss_after_steps_mib": round(stepped),
        "rss_per_session_mib": round(per_session, 1),
        "server_rss_after_close_mib": round(closed),
        "rss_returned_mib": round(stepped - closed),
        "rss_returned_share": round((stepped - closed) / max(stepped - one, 1e-9), 2),
    }


def main() -> None:
    """Run the load test and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    figures = asyncio.run(measure(args.sessions, args.rounds))
    print(json.dumps(figures))
    print(
        f"{figures['sessions']} sessions stepping together: step + redraw median "
        f"{figures['step_redraw_median_s']} s, 95th percentile "
        f"{figures['step_redraw_p95_s']} s; {figures['rss_per_session_mib']} MiB "
        f"per session; {figures['rss_returned_mib']} MiB returned after closing; "
        f"the server spends {figures['server_cpu_per_step_s']} s of CPU per step."
    )


if __name__ == "__main__":
    main()
