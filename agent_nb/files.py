"""Atomic file writes, shared by save, the report, the exports and the CLI.

A temporary file in the target's folder, flushed to disk, then `os.replace`: a crash or a full disk never
leaves half a file under the target's name, and an existing file keeps its permissions.

Usage:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "hello.txt")
    >>> atomic_write(path, "hello") == path
    True
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any


def atomic_write(path: str | os.PathLike[str], content: str | bytes | Callable[[str], Any]) -> str:
    """Write `content` (text, bytes, or a function that writes to the path it is given) to `path` atomically.

    Creates missing folders. Returns the path as a string.

    Usage:
        >>> atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))   # doctest: +SKIP
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        if callable(content):
            os.close(fd)
            content(tmp)
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600): give it the mode the target has, or a plain open() would give.
        mode = os.stat(target).st_mode & 0o777 if os.path.exists(target) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target
