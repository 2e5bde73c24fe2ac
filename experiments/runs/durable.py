"""Files that survive a crash: written in full, flushed to disk, then renamed.

A rename is atomic, but without `fsync` a power cut can leave the new name
pointing at a file whose data never reached the disk: a zero-byte or truncated
file under a finished name. Every result townsim keeps is therefore written
under a temporary name, flushed (`fsync`) with the folder that holds it, and
only then renamed into place, and the folder flushed again so the rename itself
is on disk.

Replacing a whole folder of results uses Linux's `renameat2(RENAME_EXCHANGE)`,
which swaps two folders in one step: the place always holds the complete old
or the complete new results. Where the exchange is not available (another
system, a file system without it) the old folder is renamed aside first; a
process killed between the two renames leaves the old results aside, and
`single_run.recover` puts a complete folder back at the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def fsync_path(path: Path) -> None:
    """Flush a file's or folder's data and metadata to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` so that a crash leaves the old file or the new one.

    The bytes go to a hidden temporary name beside `path` (`.NAME.PID.tmp`),
    are flushed to disk, and are renamed over `path`; the folder is flushed
    after the rename.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def sync_tree(folder: Path) -> None:
    """Flush every file in `folder` (not recursive), then the folder itself."""
    for item in Path(folder).iterdir():
        if item.is_file():
            fsync_path(item)
    fsync_path(folder)


def exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one atomic step; False if this system cannot.

    Raises:
        OSError: For any failure other than the exchange being unsupported.
    """
    function = _renameat2()
    if function is None:
        return False
    result = function(
        _AT_FDCWD,
        os.fsencode(first),
        _AT_FDCWD,
        os.fsencode(second),
        _RENAME_EXCHANGE,
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """The C library's renameat2 (glibc 2.28 and later), or None elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        function = ctypes.CDLL(None, use_errno=True).renameat2
        function.argtypes = [
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_uint,
        ]
        function.restype = ctypes.c_int
        return function
    return None


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True
