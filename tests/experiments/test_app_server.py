"""`townsim app`: its Solara server ends with the command, however it ends."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from sweep_files import ROOT, survivors


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def app():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", "app", "--port", str(port)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("the app did not start")
        time.sleep(0.1)
    yield process, port
    if survivors(process.pid):
        os.killpg(process.pid, signal.SIGKILL)


def _gone(group: int, port: int) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not survivors(group) and not _listening(port):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_the_server_and_its_port_go_with_the_command(app, sig):
    process, port = app
    assert len(survivors(process.pid)) == 2  # the command and its server
    os.kill(process.pid, sig)  # the command alone, not its process group
    process.wait()
    assert _gone(process.pid, port), survivors(process.pid)
