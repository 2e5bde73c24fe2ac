"""Watch the towns climb: the interactive app of the town-upgrading model.

Run with `solara run app.py` or `townsim app`. The sidebar holds Step / Play /
Reset, classroom presets and the settings of the next run; the tabs show the
province, one town and its firms (click a firm to see why it did what it did),
the rule functions and the ODD, a comparison of two settings over many seeds,
and an About page that explains the model and what to try.

A class shares one server, so a closed tab should give its memory back soon:
its session is closed two minutes after its page goes (Solara keeps it a day
by default, for reconnecting), unless SOLARA_KERNEL_CULL_TIMEOUT says otherwise,
and the freed memory is handed back to the system.
"""

import contextlib
import ctypes
import ctypes.util
import gc
import os
from collections.abc import Callable

import solara
import solara.lab
import solara.server.settings

from viz.page import TownsimApp

SESSION_AFTER_CLOSE = "2m"
"""How long a session outlives its page: time enough to reconnect after a blip."""

if "SOLARA_KERNEL_CULL_TIMEOUT" not in os.environ:
    solara.server.settings.kernel.cull_timeout = SESSION_AFTER_CLOSE
solara.server.settings.theme.show_banner = False  # it sat over the page's content


def give_memory_back() -> None:
    """Collect a closed session's objects and return freed heap to the system.

    glibc keeps freed memory for reuse; on a server that many students leave at
    the end of a class, `malloc_trim` lets the next class see it free.
    """
    gc.collect()
    name = ctypes.util.find_library("c")
    if name is not None:
        with contextlib.suppress(OSError, AttributeError):  # not glibc
            ctypes.CDLL(name).malloc_trim(0)


def on_session_start() -> Callable[[], None]:
    """Each session, when it closes, hands its memory back."""
    return give_memory_back


solara.lab.on_kernel_start(on_session_start)


@solara.component
def Page() -> None:
    """The page Solara serves."""
    TownsimApp()
