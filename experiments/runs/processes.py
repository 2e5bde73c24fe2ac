"""Child processes that cannot outlive the command that started them.

A process killed with SIGKILL runs no clean-up, so its children (a sweep's fork
server and workers, the app's server) would live on, holding memory and ports.
On Linux a child can ask the kernel to signal it when its parent dies
(`prctl(PR_SET_PDEATHSIG)`); `die_with_parent` asks, and closes the race in
which the parent died before the request.

Elsewhere the request does nothing and returns False: children then rely on
their parent's ordinary shutdown.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> bool:
    """Have the kernel send `sig` to this process when its parent exits.

    The signal follows the parent *thread* that started this process, so start
    children from the main thread.

    Args:
        sig: The signal to receive.
        parent: The process id the parent should have. If the parent has already
            gone (this process was adopted), `sig` is sent at once.

    Returns:
        Whether the request was made (Linux only).
    """
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0:
            if parent is not None and os.getppid() != parent:
                os.kill(os.getpid(), sig)
            return True
    return False
