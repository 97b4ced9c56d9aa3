"""Atomic file writes, shared by save, the report, the exports and the CLI.

A temporary file in the target's folder, flushed to disk, then `os.replace`: a crash or a full disk never
leaves half a file under the target's name, and an existing file keeps its permissions. The temporary file
is removed on any failure, Ctrl-C included; one a killed process left behind (named `.agent_nb-*.tmp`) is
removed by the next write or load in that folder once it is a minute old.

Usage:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "hello.txt")
    >>> atomic_write(path, "hello") == path
    True
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

#: Temporary files are named `.agent_nb-<target name>.<random>.tmp`, so stale ones are recognisable.
TEMP_PREFIX = ".agent_nb-"
TEMP_SUFFIX = ".tmp"
#: A temporary file untouched for this long belongs to a write that will not finish (its process died).
STALE_AFTER_S = 60.0


def remove_stale_temps(folder: str | os.PathLike[str], older_than_s: float = STALE_AFTER_S) -> list[str]:
    """Remove the temporary files of interrupted writes in `folder` (older than `older_than_s`); never raises.

    Returns the paths removed.

    Usage:
        >>> remove_stale_temps(tempfile.mkdtemp())
        []
    """
    removed: list[str] = []
    cutoff = time.time() - older_than_s
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(entry.path)
        except OSError:  # gone already, or not ours to remove: leave it
            continue
    return removed


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of `text`; a lone surrogate (a non-UTF-8 file name a tool returned) is written as `\\udcff`.

    Usage:
        >>> encode_text("caf\\xe9 \\udcff")
        b'caf\\xc3\\xa9 \\\\udcff'
    """
    return text.encode("utf-8", "backslashreplace")


def atomic_write(path: str | os.PathLike[str], content: str | bytes | Callable[[str], Any]) -> str:
    """Write `content` (text, bytes, or a function that writes to the path it is given) to `path` atomically.

    Creates missing folders. Text is UTF-8; any text can be written (see `encode_text`). Returns the path
    as a string.

    Usage:
        >>> atomic_write(os.path.join(tempfile.mkdtemp(), "odd.txt"), "name: \\udcff").endswith("odd.txt")
        True
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temps(folder)
    data = encode_text(content) if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{TEMP_PREFIX}{os.path.basename(target)}.", suffix=TEMP_SUFFIX)
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600): give it the mode the target has, or a plain open() would give.
        mode = os.stat(target).st_mode & 0o777 if os.path.exists(target) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:  # Ctrl-C mid-write included: leave no temporary file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
