"""Ties a sweep's fork server to its driver: it dies, and cleans up, with it.

A local sweep's workers fork from a fork server (`multiprocessing`'s
"forkserver"), itself a child of the driver. If the driver is killed outright
(SIGKILL, the kernel's out-of-memory killer) nothing tells the fork server, and
each worker holds the pipes that would: server, workers and multiprocessing's
resource tracker lived on, and the server's socket folder (`/tmp/pymp-*`) with
them. So the fork server imports this module first (`set_forkserver_preload`):
the import asks the kernel for a SIGTERM when the driver dies, and the handler
removes the socket folder and exits. Each worker in turn dies with the fork
server (`worker.worker_init`), and the resource tracker, left with no writer,
exits by itself.

The import also makes the fork server, and the workers it forks, ignore Ctrl-C:
a Ctrl-C at the terminal is the driver's to handle, and it stops the workers.

Importing this module anywhere else does nothing: it acts only where the
environment names a driver (`DRIVER`), which the driver sets just for starting
its fork server.
"""

from __future__ import annotations

import os
import shutil
import signal
from typing import Any

from experiments.runs.processes import die_with_parent

DRIVER = "TOWNSIM_SWEEP_DRIVER"
"""Environment variable: the driver's process id."""
FOLDER = "TOWNSIM_SWEEP_SOCKETS"
"""Environment variable: the fork server's socket folder, removed on the way out."""


def _tether() -> None:
    driver = int(os.environ.get(DRIVER, "0") or 0)
    if not driver or os.getpid() == driver:
        return
    server, folder = os.getpid(), os.environ.get(FOLDER, "")

    def driver_gone(signum: int, frame: Any) -> None:
        if os.getpid() != server:  # a worker forked before resetting the handler
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if folder and os.path.basename(folder).startswith("pymp-"):
            shutil.rmtree(folder, ignore_errors=True)
        os._exit(1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, driver_gone)
    die_with_parent(signal.SIGTERM, driver)


_tether()
