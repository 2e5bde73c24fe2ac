"""Keep freed memory in the process, so numpy's large temporaries skip page faults.

glibc returns blocks above 128 KiB to the system when freed; a step of a large
province allocates and frees hundreds of megabyte-sized temporaries, and mapping
them afresh costs about 15% of the run time. Runners (`townsim run`, benchmarks,
sweep workers) raise glibc's thresholds once at start; results do not change.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MIB = 1024 * 1024


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all(
        mallopt(option, value) == 1
        for option, value in (
            (M_MMAP_THRESHOLD, 32 * MIB),
            (M_TRIM_THRESHOLD, 512 * MIB),
            (M_TOP_PAD, 64 * MIB),
        )
    )
