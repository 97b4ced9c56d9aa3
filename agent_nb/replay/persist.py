"""Save a Run to one JSON document and load it back, without ever executing code.

The document (gzipped when the path ends in `.gz`; loading detects gzip by its magic bytes):

```
{"format": "agent_nb.run", "schema_version": 1, "agent_nb_version": "...", "saved_at": "...",
 "messages": [ChatMessage.to_dict(), ...],     # every distinct message once (deduplicated by identity)
 "values":   [value, ...],                     # State values shared between snapshots, stored once
 "states":   [{key: value}, ...],              # every distinct State snapshot once
 "run": {"run_id", "kind", "parent_id", "fork_step", "label", "generator", "snapshots", "started_at",
         "duration_ms", "status", "error", "inputs", "hook_config", "result", "inherited",
         "initial_state": state index | null, "final_state": ..., "step_starts": [[step, state index], ...],
         "events": [{<the 17 timeline fields>, "detail": value, "before": state index | null, "after": ...}]}}
```

Values are JSON with tagged objects: `{"__msg__": i}` (a message of the table), `{"__msgs__": [i, ...]}`
(a list of messages), `{"__ref__": i}` (an entry of the values table), `{"__tuple__": [...]}`,
`{"__dict__": [[key, value], ...]}` (a dict whose keys are not all plain strings), `{"__bytes__": base64}`,
`{"__float__": "nan" | "inf" | "-inf"}`, and `{"__repr__": "...", "__type__": "...", "__reason__": "..."}` for
a value that is not JSON-able: it loads back as an `agent_nb.recording.Uncopyable` marker, never as the
object (no pickle, no import of the types a file names; ChatMessage.from_dict only builds messages).

Snapshots share values (a message list, an unchanged dict) by identity; the tables keep that sharing, so a
1,000-event run stores its conversation once plus a list of message indices per distinct message list, and
the loaded run shares values exactly as the recorded one did.

Usage:
    >>> run.save("run.json.gz")                  # doctest: +SKIP
    >>> from agent_nb import Run
    >>> loaded = Run.load("run.json.gz")         # doctest: +SKIP
    >>> rec.replay(loaded)                       # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as _dt
import gzip
import json
import math
import os
import zlib
from typing import Any

from haystack.dataclasses import ChatMessage

from agent_nb.files import atomic_write
from agent_nb.recording import HOOK_POINTS, KINDS, STATUSES, TIMELINE_COLUMNS, Event, Run, Uncopyable
from agent_nb.replay.cache import recorded_digest

FORMAT = "agent_nb.run"
SCHEMA_VERSION = 1
_RUN_FIELDS = ("run_id", "kind", "parent_id", "fork_step", "label", "generator", "snapshots", "started_at",
               "duration_ms", "status", "error")  # fmt: skip
_TAGS = frozenset(
    {"__msg__", "__msgs__", "__ref__", "__tuple__", "__dict__", "__bytes__", "__float__", "__repr__", "__type__"}
)


class RunFileError(ValueError):
    """A run file that cannot be loaded: truncated, corrupt, not an agent_nb run, or from a newer version.

    Usage:
        >>> try:
        ...     Run.load("notes.txt")                    # doctest: +SKIP
        ... except RunFileError as exc:
        ...     print(exc)
        notes.txt: not valid JSON (Expecting value: line 1 column 1 (char 0)); the file may be truncated or corrupt
    """


# ---- encoding ----------------------------------------------------------------------------------------------
class _Encoder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.values: list[Any] = []
        self.states: list[dict[str, Any]] = []
        # id -> (object, index); the object is kept so its id cannot be reused during the save.
        self._msg_ids: dict[int, tuple[Any, int]] = {}
        self._value_ids: dict[int, tuple[Any, int]] = {}
        self._state_ids: dict[int, tuple[Any, int]] = {}

    def message(self, message: ChatMessage) -> int:
        hit = self._msg_ids.get(id(message))
        if hit is not None:
            return hit[1]
        index = len(self.messages)
        self.messages.append(message.to_dict())
        self._msg_ids[id(message)] = (message, index)
        return index

    def shared(self, value: Any) -> Any:
        """A State-level value: containers are stored once in the values table and referenced."""
        if not isinstance(value, (list, dict, tuple)) or (isinstance(value, list) and not value):
            return self.value(value)
        hit = self._value_ids.get(id(value))
        if hit is None:
            index = len(self.values)
            self.values.append(None)
            self._value_ids[id(value)] = (value, index)
            self.values[index] = self.value(value)
            hit = (value, index)
        return {"__ref__": hit[1]}

    def value(self, value: Any, depth: int = 0) -> Any:
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, ChatMessage):
            return {"__msg__": self.message(value)}
        if depth > 200:
            return _marker(value, "nested too deeply to save")
        if isinstance(value, list):
            if value and all(isinstance(v, ChatMessage) for v in value):
                return {"__msgs__": [self.message(v) for v in value]}
            return [self.value(v, depth + 1) for v in value]
        if isinstance(value, tuple):
            return {"__tuple__": [self.value(v, depth + 1) for v in value]}
        if isinstance(value, dict):
            if all(isinstance(k, str) and k not in _TAGS for k in value):
                return {k: self.value(v, depth + 1) for k, v in value.items()}
            return {"__dict__": [[self.value(k, depth + 1), self.value(v, depth + 1)] for k, v in value.items()]}
        if isinstance(value, bytes):
            return {"__bytes__": base64.b64encode(value).decode("ascii")}
        if isinstance(value, Uncopyable):
            return {"__repr__": value.value_repr, "__type__": value.type_name, "__reason__": value.reason}
        return _marker(value, "not JSON-serializable; saved as its repr")

    def state(self, snapshot: dict[str, Any] | None) -> int | None:
        if snapshot is None:
            return None
        hit = self._state_ids.get(id(snapshot))
        if hit is None:
            index = len(self.states)
            self.states.append({k: self.shared(v) for k, v in snapshot.items()})
            hit = (snapshot, index)
            self._state_ids[id(snapshot)] = hit
        return hit[1]


def _marker(value: Any, reason: str) -> dict[str, Any]:
    kind = type(value)
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break the save
        text = f"<repr failed: {type(exc).__name__}>"
    if len(text) > 500:
        text = text[:499] + "…"
    return {"__repr__": text, "__type__": f"{kind.__module__}.{kind.__qualname__}", "__reason__": reason}


def run_to_document(run: Run) -> dict[str, Any]:
    """The JSON document of a run (plain dicts and lists; see the module docstring).

    Usage:
        >>> doc = run_to_document(Run(run_id="x", status="ok"))
        >>> doc["format"], doc["schema_version"], doc["run"]["run_id"]
        ('agent_nb.run', 1, 'x')
    """
    from agent_nb import __version__

    enc = _Encoder()
    digests: dict[int, tuple[ChatMessage, str]] = {}
    events = []
    for event in run.events:
        if event.kind == "llm":
            recorded_digest(event, digests)  # stored, so a loaded run needs no recomputation
        row: dict[str, Any] = {col: enc.value(getattr(event, col)) for col in TIMELINE_COLUMNS}
        row["changed"] = list(event.changed)
        row["detail"] = {k: enc.shared(v) for k, v in dict(event.detail).items()}
        row["before"] = enc.state(event.before)
        row["after"] = enc.state(event.after)
        events.append(row)
    body: dict[str, Any] = {name: getattr(run, name) for name in _RUN_FIELDS}
    body.update(
        {
            "inputs": enc.value(run.inputs),
            "hook_config": enc.value(run.hook_config),
            "result": enc.value(run.result),
            "inherited": enc.value(run.inherited),
            "initial_state": enc.state(run.initial_state),
            "final_state": enc.state(run.final_state),
            "step_starts": [[step, enc.state(snap)] for step, snap in run.step_starts.items()],
            "events": events,
        }
    )
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "agent_nb_version": __version__,
        "saved_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "messages": enc.messages,
        "values": enc.values,
        "states": enc.states,
        "run": body,
    }


def save_run(run: Run, path: str | os.PathLike[str]) -> str:
    """Write `run` to `path` as one JSON document (gzipped if the path ends in .gz); returns the path.

    The write is atomic: a temporary file in the same folder, then `os.replace`, so a crash never leaves a
    half-written file under `path`.

    Usage:
        >>> save_run(run, "runs/paris.json.gz")   # doctest: +SKIP
        'runs/paris.json.gz'
    """
    if not isinstance(run, Run):
        raise TypeError(f"save_run needs a Run, got {type(run).__name__}")
    if run.status == "running":
        raise ValueError(f"run {run.run_id} is still running; save it once it has ended")
    path = os.fspath(path)
    data = json.dumps(run_to_document(run), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    if path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return atomic_write(path, data)


# ---- decoding ----------------------------------------------------------------------------------------------
class _Decoder:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.messages = [self._message(i, m) for i, m in enumerate(_list(doc, "messages"))]
        raw_values = _list(doc, "values")
        self.values: list[Any] = [self.value(v) for v in raw_values]
        self.states = [self._state(i, s) for i, s in enumerate(_list(doc, "states"))]

    @staticmethod
    def _message(index: int, data: Any) -> ChatMessage:
        if not isinstance(data, dict):
            raise ValueError(f"messages[{index}] is not an object")
        try:
            return ChatMessage.from_dict(data)
        except Exception as exc:
            raise ValueError(f"messages[{index}] is not a ChatMessage ({type(exc).__name__}: {exc})") from exc

    def _state(self, index: int, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValueError(f"states[{index}] is not an object")
        return {k: self.shared(v) for k, v in data.items()}

    def shared(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1 and "__ref__" in value:
            return self.values[_index(value["__ref__"], len(self.values), "values")]
        return self.value(value)

    def state(self, index: Any) -> dict[str, Any] | None:
        if index is None:
            return None
        return self.states[_index(index, len(self.states), "states")]

    def value(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag == "__msg__":
                return self.messages[_index(inner, len(self.messages), "messages")]
            if tag == "__msgs__":
                return [self.messages[_index(i, len(self.messages), "messages")] for i in inner]
            if tag == "__tuple__":
                return tuple(self.value(v) for v in inner)
            if tag == "__dict__":
                return {_hashable(self.value(k)): self.value(v) for k, v in inner}
            if tag == "__bytes__":
                return base64.b64decode(inner, validate=True)
            if tag == "__float__":
                return float(inner)
            if tag == "__ref__":
                raise ValueError("a value reference where none may be")
        if "__repr__" in value and "__type__" in value:
            return Uncopyable(str(value["__type__"]), str(value["__repr__"]), str(value.get("__reason__", "")))
        return {k: self.value(v) for k, v in value.items()}


def _hashable(key: Any) -> Any:
    if isinstance(key, list):
        raise ValueError("a dict key that is a list")
    return key


def _index(value: Any, size: int, table: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ValueError(f"reference {value!r} outside the {table} table (size {size})")
    return value


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key!r} is not a list")
    return value


_CHOICES = {"kind": KINDS, "status": STATUSES, "hook_point": (*HOOK_POINTS, None)}
_TYPES: dict[str, tuple[type, ...]] = {
    "run_id": (str,),
    "seq": (int,),
    "step": (int, type(None)),
    "name": (str,),
    "offset_ms": (int, float),
    "duration_ms": (int, float),
    "changed": (list,),
    "messages_added": (int, type(None)),
    "messages_removed": (int, type(None)),
    "flow": (str, type(None)),
    "prompt_tokens": (int, type(None)),
    "completion_tokens": (int, type(None)),
    "summary": (str,),
    "error": (str, type(None)),
}


def _event(dec: _Decoder, i: int, row: Any) -> Event:
    if not isinstance(row, dict):
        raise ValueError(f"events[{i}] is not an object")
    fields: dict[str, Any] = {}
    for col in TIMELINE_COLUMNS:
        if col not in row:
            raise ValueError(f"events[{i}] has no {col!r}")
        value = dec.value(row[col])
        if col in _CHOICES and value not in _CHOICES[col]:
            raise ValueError(f"events[{i}].{col} is {value!r}, not one of {_CHOICES[col]}")
        if col in _TYPES and (not isinstance(value, _TYPES[col]) or isinstance(value, bool)):
            raise ValueError(f"events[{i}].{col} is a {type(value).__name__}")
        if col in ("offset_ms", "duration_ms"):
            value = float(value)
        fields[col] = value
    event = Event(**fields)
    detail = row.get("detail") or {}
    if not isinstance(detail, dict):
        raise ValueError(f"events[{i}].detail is not an object")
    event.detail = {k: dec.shared(v) for k, v in detail.items()}
    event.before = dec.state(row.get("before"))
    event.after = dec.state(row.get("after"))
    return event


def document_to_run(doc: Any) -> Run:
    """Build a Run from a parsed document; ValueError / KeyError / TypeError on a malformed one.

    Usage:
        >>> document_to_run(run_to_document(Run(run_id="x", status="ok"))).run_id
        'x'
    """
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RunFileError(f'not an agent_nb run file (no "format": {FORMAT!r})')
    version = doc.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RunFileError(f"invalid schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise RunFileError(
            f"written by a newer agent_nb (schema_version {version}); this version reads schema_version "
            f"{SCHEMA_VERSION}: upgrade agent_nb to load it"
        )
    body = doc.get("run")
    if not isinstance(body, dict):
        raise ValueError("no 'run' object")
    dec = _Decoder(doc)
    fields = {name: body.get(name) for name in _RUN_FIELDS}
    for name in ("run_id", "kind", "status"):
        if not isinstance(fields[name], str):
            raise ValueError(f"run.{name} is missing or not a string")
    if fields["kind"] not in ("run", "replay", "fork"):
        raise ValueError(f"run.kind is {fields['kind']!r}")
    fields = {k: v for k, v in fields.items() if v is not None}
    run = Run(**fields)
    run.inputs = dec.value(body.get("inputs") or {})
    run.hook_config = dec.value(body.get("hook_config") or {})
    run.result = dec.value(body.get("result"))
    run.inherited = dec.value(body.get("inherited") or {})
    run.initial_state = dec.state(body.get("initial_state"))
    run.final_state = dec.state(body.get("final_state"))
    for entry in body.get("step_starts") or []:
        step, index = entry
        if isinstance(step, bool) or not isinstance(step, int):
            raise ValueError(f"step_starts has a step {step!r}")
        run.step_starts[step] = dec.state(index)  # type: ignore[assignment]
    events = body.get("events") or []
    if not isinstance(events, list):
        raise ValueError("run.events is not a list")
    run.events = [_event(dec, i, row) for i, row in enumerate(events)]
    for name, kind in (("inputs", dict), ("hook_config", dict), ("inherited", dict), ("result", (dict, type(None)))):
        if not isinstance(getattr(run, name), kind):
            raise ValueError(f"run.{name} has the wrong type")
    return run


def load_run(path: str | os.PathLike[str]) -> Run:
    """Load a run saved by `save_run` / `Run.save`. JSON only: loading never executes code.

    A truncated, corrupt or foreign file, or one from a newer agent_nb, raises `RunFileError` naming the
    file and the problem. The loaded run has no Recorder: replay or fork it with `rec.replay(run)` /
    `rec.fork(run, step=...)`.

    Usage:
        >>> run = load_run("runs/paris.json.gz")   # doctest: +SKIP
        >>> run.timeline                           # doctest: +SKIP
    """
    path = os.fspath(path)
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise RunFileError(f"{path}: truncated or corrupt gzip data ({exc})") from exc
    if not raw.strip():
        raise RunFileError(f"{path}: the file is empty")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise RunFileError(f"{path}: not valid JSON ({exc}); the file may be truncated or corrupt") from exc
    try:
        return document_to_run(doc)
    except RunFileError as exc:
        raise RunFileError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as exc:
        raise RunFileError(f"{path}: not a valid agent_nb run file ({type(exc).__name__}: {exc})") from exc


__all__ = ["FORMAT", "SCHEMA_VERSION", "RunFileError", "document_to_run", "load_run", "run_to_document", "save_run"]
