"""Save a Run to one JSON document and load it back, without ever executing code.

The document (gzipped when the path ends in `.gz`; loading detects gzip by its magic bytes):

```
{"format": "agent_nb.run", "schema_version": 2, "agent_nb_version": "...",
 "messages": [message, ...],            # every distinct message once: ChatMessage.to_dict(), as a value
 "lists":    [[base, [i, ...]], ...],   # message lists: an earlier entry (or null) plus message indices
 "values":   [value, ...],              # values stored once and referenced: {"__ref__": i}
 "states":   [{key: value}, ...],       # every distinct State snapshot once
 "run": {"run_id", "kind", "parent_id", "fork_step", "label", "generator", "snapshots", "started_at",
         "started_unix_ns", "duration_ms", "status", "error", "inputs", "hook_config", "result", "inherited",
         "fingerprint", "initial_state": state index | null, "final_state": ..., "step_starts": [[step, i], ...],
         "events": [{<the 17 timeline fields>, "detail": value, "before": state index | null, "after": ...}],
         "warnings": [text, ...]}}      # only when the run has warnings
```

Values are JSON with tagged objects: `{"__msg__": i}` (a message), `{"__list__": i}` / `{"__log__": i}` (a
message list / a `MessageLog`: entry i of `lists`), `{"__ref__": i}` (an entry of `values`), `{"__tuple__":
[...]}`, `{"__dict__": [[key, value], ...]}` (a dict whose keys are not all plain strings), `{"__bytes__":
base64}`, `{"__float__": "nan" | "inf" | "-inf"}`, `{"__int__": "digits"}` (beyond 64 bits), and
`{"__repr__": "...", "__type__": "...", "__reason__": "..."}` for a value that is not JSON-able: it loads
back as an `agent_nb.recording.Uncopyable` marker, never as the object (no pickle, no import of the types a
file names; ChatMessage.from_dict only builds messages).

Why the file grows linearly with the run: a conversation that grows by appending is stored as a chain of
`lists` entries, each one the previous list plus the new messages; State values are shared by identity
and, for containers and long strings, by equal content, so a 10 MB value held by every snapshot is written
once. Schema version 1 files (every message list written out whole) still load.

Saving is deterministic: the same run saves to the same bytes (no save time in the document; the file's own
time says when), so a saved run can be diffed and checked for changes byte by byte.

Loading is bounded and strict: only regular files, at most `max_bytes` of JSON (512 MiB by default, also
after gunzip: a small gzip bomb fails fast), every field type-checked, so what loads is a run the report,
the CLI and the views can show. Anything else raises `RunFileError` naming the file, the field and the event.

Usage:
    >>> import os, tempfile
    >>> path = save_run(Run(run_id="x", status="ok"), os.path.join(tempfile.mkdtemp(), "run.json.gz"))
    >>> load_run(path).run_id
    'x'
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import json
import os
import stat
import zlib
from collections.abc import Iterator
from typing import Any

from agent_nb.errors import InvalidArgument, InvalidType
from agent_nb.files import atomic_write, remove_stale_temps
from agent_nb.recording.decode import document_to_run
from agent_nb.recording.encode import _dumps, run_to_document
from agent_nb.recording.file_format import _CHUNK, DEFAULT_MAX_BYTES, RunFileError, _valid_id
from agent_nb.recording.run import Run


def save_run(run: Run, path: str | os.PathLike[str]) -> str:
    """Write `run` to `path` as one JSON document (gzipped if the path ends in .gz); returns the path.

    The write is atomic: a temporary file in the same folder, then `os.replace`, so a crash never leaves a
    half-written file under `path`.

    Usage:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "paris.json.gz")
        >>> save_run(Run(run_id="paris", status="ok"), path) == path
        True
    """
    if not isinstance(run, Run):
        raise InvalidType(f"save_run needs a Run, got {type(run).__name__}")
    if run.status == "running":
        raise InvalidArgument(f"run {run.run_id} is still running; save it once it has ended")
    for name in ("run_id", "parent_id"):
        value = getattr(run, name)
        if (value is not None or name == "run_id") and not _valid_id(value):
            raise InvalidArgument(
                f"run.{name} {value!r} cannot be saved: a saved run id is 1 to 64 letters, digits, '_' or '-' "
                "(it names files); set another one"
            )
    path = os.fspath(path)
    with _no_gc():
        data = _dumps(run_to_document(run))
    if path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return atomic_write(path, data)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: a save or load makes many containers and no cycles, and the
    collections it would trigger scan the whole (large) heap again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---- reading the file --------------------------------------------------------------------------------------
def _read(path: str, max_bytes: int) -> bytes | bytearray:
    """The file's bytes, gunzipped if gzip, refusing anything but a regular file and more than max_bytes."""
    try:
        # O_NONBLOCK: opening a FIFO without a writer must not hang; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise RunFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RunFileError(f"{path}: a directory, not a saved run") from None
    except OSError as exc:
        raise RunFileError(f"{path}: cannot open ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode) else None
            kind = kind or ("a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a file")
            raise RunFileError(f"{path}: {kind}, not a regular file; a saved run is a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        magic = handle.read(2)
        handle.seek(0)
        if magic != b"\x1f\x8b":
            if info.st_size > max_bytes:
                raise RunFileError(
                    f"{path}: {info.st_size:,} bytes, more than the limit of {max_bytes:,} bytes {_RAISE}"
                )
            raw = handle.read(max_bytes + 1)
            if len(raw) > max_bytes:  # it grew while we read
                raise RunFileError(f"{path}: more than the limit of {max_bytes:,} bytes {_RAISE}")
            return raw
        return _gunzip_bounded(handle, path, max_bytes, info.st_size)


def _gunzip_bounded(handle: Any, path: str, max_bytes: int, file_size: int) -> bytearray:
    """The gunzipped bytes of `handle`, refused past `max_bytes` at the cost of one chunk of memory, not the limit.

    gzip's trailer states the (last member's) size: past the limit, refused before any work. Then a first pass
    counts the bytes without keeping them (a 1 MB bomb stating a small size is refused at that cost), and a second
    fills a buffer of exactly that size.
    """
    too_big = f"{path}: decompresses to more than the limit of {max_bytes:,} bytes {_RAISE}"
    if file_size >= 18:  # header and trailer at least
        handle.seek(-4, os.SEEK_END)
        if int.from_bytes(handle.read(4), "little") > max_bytes:
            raise RunFileError(too_big)
    try:
        handle.seek(0)
        size = 0
        with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
            while chunk := unzipped.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise RunFileError(too_big)
        handle.seek(0)
        out = bytearray(size)
        view, filled = memoryview(out), 0
        with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
            while filled < size and (n := unzipped.readinto(view[filled : filled + _CHUNK])):
                filled += n
            if filled != size or unzipped.read(1):
                raise RunFileError(f"{path}: the file changed while it was read; load it again")
    except (OSError, EOFError, zlib.error) as exc:
        raise RunFileError(f"{path}: truncated or corrupt gzip data ({exc})") from exc
    return out  # no bytes() copy: at the limit that would be another 512 MiB


_RAISE = "(pass max_bytes=... to load_run to allow more)"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_run(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Run:
    """Load a run saved by `save_run` / `Run.save`. JSON only: loading never executes code.

    Only a regular file of at most `max_bytes` (after gunzip) is read. A truncated, corrupt, foreign or
    type-wrong file, or one from a newer agent_nb, raises `RunFileError` naming the file and the problem.
    The loaded run has no Recorder: replay or fork it with `rec.replay(run)` / `rec.fork(run, step=...)`.

    Usage:
        >>> try:
        ...     load_run("/dev/null")
        ... except RunFileError as exc:
        ...     print(exc)
        /dev/null: a device, not a regular file; a saved run is a regular file
    """
    path = os.fspath(path)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise InvalidArgument(f"max_bytes must be a positive int, got {max_bytes!r}")
    raw = _read(path, max_bytes)
    remove_stale_temps(os.path.dirname(os.path.abspath(path)))
    if not raw or raw.isspace():  # isspace, not strip: no copy of a large document
        raise RunFileError(f"{path}: the file is empty")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: JSON, or an over-long int
        raise RunFileError(f"{path}: not valid JSON ({exc}); the file may be truncated or corrupt") from exc
    del raw
    try:
        with _no_gc():
            run = document_to_run(doc)
            run.loaded_from = os.fspath(path)  # its tool calls are not executed by a replay unless asked
            return run
    except RunFileError as exc:
        raise RunFileError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise RunFileError(f"{path}: not a valid agent_nb run file ({type(exc).__name__}: {exc})") from exc
