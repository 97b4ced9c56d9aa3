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

import base64
import contextlib
import datetime as _dt
import gc
import gzip
import hashlib
import json
import math
import operator
import os
import re
import stat
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from haystack.dataclasses import ChatMessage, ChatRole, TextContent, ToolCall, ToolCallResult

from agent_nb.errors import AgentNbError
from agent_nb.files import atomic_write, remove_stale_temps
from agent_nb.recording.digest import InputDigests, event_digest
from agent_nb.recording.events import HOOK_POINTS, KINDS, STATUSES, STORED_COLUMNS, Event
from agent_nb.recording.run import Run
from agent_nb.recording.snapshots import SNAPSHOT_MODES, MessageLog, Uncopyable, copy_value
from agent_nb.recording.types import RunStatus

FORMAT = "agent_nb.run"
SCHEMA_VERSION = 2
#: Decompressed size above which a file is refused (override with `load_run(path, max_bytes=...)`).
DEFAULT_MAX_BYTES = 512 * 2**20
#: Run ids a file may carry: short, and safe in a file name.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Statuses of a finished run (a running run cannot be saved).
RUN_STATUSES: tuple[RunStatus, ...] = ("ok", "error", "stopped")

_RUN_FIELDS = ("run_id", "kind", "parent_id", "fork_step", "label", "generator", "snapshots", "started_at",
               "started_unix_ns", "duration_ms", "status", "error")  # fmt: skip
_TAGS_V1 = frozenset(
    {"__msg__", "__msgs__", "__ref__", "__tuple__", "__dict__", "__bytes__", "__float__", "__repr__", "__type__"}
)
_TAGS = _TAGS_V1 | {"__list__", "__log__", "__int__", "__reason__"}
_INT64 = 2**63
#: Strings at least this long are stored once in the values table (shorter ones cost less inline than a ref).
_INTERN_MIN = 64
_MAX_STEP = 10**7
_MAX_WARNINGS = 100
_CHUNK = 1 << 20


class RunFileError(AgentNbError, ValueError):
    """A run file that cannot be loaded: not a regular file, too large, truncated, corrupt, with a field of the
    wrong type, not an agent_nb run, or from a newer version. The message names the file and the problem.

    Usage:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> _ = open(path, "w").write("hello")
        >>> try:
        ...     load_run(path)
        ... except RunFileError as exc:
        ...     print(str(exc).replace(path, "notes.txt"))   # doctest: +ELLIPSIS
        notes.txt: not valid JSON (Expecting value: ...); the file may be truncated or corrupt
    """


class _Bad(Exception):
    """A problem inside the document; load_run adds the file name."""


# ---- encoding ----------------------------------------------------------------------------------------------
def _canonical(encoded: Any) -> str:
    """The key of an encoded value for interning by content (a digest, so the table holds no second copy)."""
    text = json.dumps(encoded, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class _Encoder:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lists: list[list[Any]] = []
        self.values: list[Any] = []
        self.states: list[dict[str, Any]] = []
        # id -> (object, index); the object is kept so its id cannot be reused during the save.
        self._msg_ids: dict[int, tuple[Any, int]] = {}
        self._list_ids: dict[int, tuple[Any, int]] = {}
        self._value_ids: dict[int, tuple[Any, int]] = {}
        self._state_ids: dict[int, tuple[Any, int]] = {}
        self._by_content: dict[Any, int] = {}  # a long string, or the digest of an encoded container -> index
        self._lengths: list[int] = []  # length of each lists entry
        self._bases: list[int | None] = []
        # id of a first message -> (the last plain list encoded that starts with it, its entry): the list a new
        # one most likely extends (an LLM's replies are lists too, and must not break a conversation's chain).
        self._last_plain: dict[int, tuple[list[ChatMessage], int]] = {}

    # -- messages and message lists
    def message(self, message: ChatMessage) -> int:
        hit = self._msg_ids.get(id(message))
        if hit is not None:
            return hit[1]
        encoded = self._message_dict(message)
        index = len(self.messages)
        self.messages.append(encoded)
        self._msg_ids[id(message)] = (message, index)
        return index

    def _message_dict(self, message: ChatMessage) -> dict[str, Any]:
        """`message.to_dict()`, encoded as a value; built directly for text, tool calls and string tool results
        (haystack's to_dict deep-copies through dataclasses.asdict: the slowest part of a save)."""
        parts: list[dict[str, Any]] = []
        for part in message._content:
            kind = type(part)
            if kind is TextContent:
                parts.append({"text": self.value(part.text)})
            elif kind is ToolCall:
                parts.append({"tool_call": self._call(part)})
            elif kind is ToolCallResult and isinstance(part.result, str) and type(part.origin) is ToolCall:
                result = {"result": self.value(part.result), "origin": self._call(part.origin), "error": part.error}
                parts.append({"tool_call_result": result})
            else:  # images, files, reasoning, rich tool results: haystack's own serialization
                return self.value(message.to_dict(), 1)
        return {
            "role": message.role.value,
            "meta": self.value(message.meta, 1),
            "name": self.value(message.name, 1),
            "content": parts,
        }

    def _call(self, call: ToolCall) -> dict[str, Any]:
        return {
            "tool_name": self.value(call.tool_name),
            "arguments": self.value(call.arguments, 2),
            "id": self.value(call.id),
            "extra": self.value(call.extra, 2),
        }

    def _entry(self, obj: Any, base: int | None, tail: Sequence[ChatMessage]) -> int:
        index = len(self.lists)
        self.lists.append([base, [self.message(m) for m in tail]])
        self._lengths.append((self._lengths[base] if base is not None else 0) + len(tail))
        self._bases.append(base)
        self._list_ids[id(obj)] = (obj, index)
        return index

    def log(self, log: Any) -> int:
        """A MessageLog as a chain of entries: each the entry of its base plus its tail."""
        pending = []
        node = log
        while node is not None and id(node) not in self._list_ids:  # iterative: chains are thousands deep
            pending.append(node)
            node = node.base
        for item in reversed(pending):
            base = self._list_ids[id(item.base)][1] if item.base is not None else None
            self._entry(item, base, item.tail)
        return self._list_ids[id(log)][1]

    def plain_list(self, messages: list[ChatMessage]) -> int:
        """A list of messages, relative to the last one encoded when they share a prefix (by identity)."""
        hit = self._list_ids.get(id(messages))
        if hit is not None:
            return hit[1]
        base = None
        last = self._last_plain.get(id(messages[0]))
        if last is not None:
            prev, prev_index = last
            n = len(prev)
            if n <= len(messages) and all(map(operator.is_, prev, messages)):
                shared = n
            else:
                pairs = enumerate(zip(prev, messages, strict=False))
                shared = next((i for i, (a, b) in pairs if a is not b), min(n, len(messages)))
            # prev's ancestors are prefixes of prev, so of `messages` too as long as they are not longer.
            candidate: int | None = prev_index
            while candidate is not None and self._lengths[candidate] > shared:
                candidate = self._bases[candidate]
            base = candidate
        start = self._lengths[base] if base is not None else 0
        index = self._entry(messages, base, messages[start:])
        self._last_plain[id(messages[0])] = (messages, index)
        return index

    # -- values
    def _intern(self, obj: Any, encoded: Any, key: Any) -> dict[str, int]:
        index = self._by_content.get(key)
        if index is None:
            index = len(self.values)
            self.values.append(encoded)
            self._by_content[key] = index
        if obj is not None:
            self._value_ids[id(obj)] = (obj, index)
        return {"__ref__": index}

    def shared(self, value: Any) -> Any:
        """A State-level value: containers and long strings are stored once in the values table, by identity
        first, then by equal content."""
        if isinstance(value, str):
            return self.value(value)
        if not isinstance(value, (list, dict, tuple)) or (isinstance(value, list) and not value):
            return self.value(value)
        hit = self._value_ids.get(id(value))
        if hit is not None:
            return {"__ref__": hit[1]}
        encoded = self.value(value)
        if isinstance(encoded, dict) and len(encoded) == 1 and ("__list__" in encoded or "__log__" in encoded):
            return encoded  # a message list: already stored once, in the lists table
        return self._intern(value, encoded, _canonical(encoded))

    def value(self, value: Any, depth: int = 0) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            if len(value) >= _INTERN_MIN:
                index = self._by_content.get(value)
                return {"__ref__": index} if index is not None else self._intern(None, value, value)
            return value
        if isinstance(value, int):
            if -_INT64 <= value < _INT64:
                return int(value)
            try:
                return {"__int__": str(value)}
            except ValueError:  # beyond Python's int-to-string limit
                return _marker(value, "an integer too large to save")
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, ChatMessage):
            return {"__msg__": self.message(value)}
        if depth > 200:
            return _marker(value, "nested too deeply to save")
        if isinstance(value, MessageLog):
            return {"__log__": self.log(value)}
        if isinstance(value, list):
            if value and all(isinstance(v, ChatMessage) for v in value):
                return {"__list__": self.plain_list(value)}
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

    def state(self, snapshot: Mapping[str, Any] | None) -> int | None:
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
        ('agent_nb.run', 2, 'x')
    """
    from agent_nb import __version__

    enc = _Encoder()
    digests = InputDigests()  # one for the run: each message digested once
    events = []
    for event in run.events:
        row: dict[str, Any] = {col: enc.value(getattr(event, col)) for col in STORED_COLUMNS}
        row["changed"] = list(event.changed)
        detail = dict(event.detail)
        if event.kind == "llm":
            digest = event_digest(event, digests)
            if digest is not None:
                detail["input_digest"] = digest
        row["detail"] = {k: enc.shared(v) for k, v in detail.items()}
        row["before"] = enc.state(event.before)
        row["after"] = enc.state(event.after)
        events.append(row)
    body: dict[str, Any] = {name: getattr(run, name) for name in _RUN_FIELDS}
    recorded = run.recorded_result  # the result as the run ended (None for a Run built by hand)
    body.update(
        {
            "inputs": enc.value(run.inputs),
            "hook_config": enc.value(run.hook_config),
            "result": enc.value(recorded if recorded is not None else run.result),
            "inherited": enc.value(run.inherited),
            "fingerprint": enc.value(run.fingerprint),
            "initial_state": enc.state(run.initial_state),
            "final_state": enc.state(run.final_state),
            "step_starts": [[step, enc.state(snap)] for step, snap in run.step_starts.items()],
            "events": events,
        }
    )
    if run.warnings:  # written only when there are some: runs without warnings save to the same bytes as before
        body["warnings"] = list(run.warnings)
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "agent_nb_version": __version__,
        "messages": enc.messages,
        "lists": enc.lists,
        "values": enc.values,
        "states": enc.states,
        "run": body,
    }


def _dumps(doc: dict[str, Any]) -> bytes:
    """UTF-8 JSON; text with lone surrogates (a non-UTF-8 file name a tool returned) is written as \\udcXX
    escapes, which JSON reads back as the same string."""
    try:
        return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(doc, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


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
        raise TypeError(f"save_run needs a Run, got {type(run).__name__}")
    if run.status == "running":
        raise ValueError(f"run {run.run_id} is still running; save it once it has ended")
    for name in ("run_id", "parent_id"):
        value = getattr(run, name)
        if (value is not None or name == "run_id") and not _valid_id(value):
            raise ValueError(
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


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and RUN_ID_PATTERN.fullmatch(value) is not None


# ---- decoding ----------------------------------------------------------------------------------------------
def _what(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 40 else text[:39] + "…"
    return f"{type(value).__name__} {text}"


def _int(value: Any, where: str, low: int = 0, high: int = _INT64 - 1, none: bool = False) -> int | None:
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{where} must be an integer{' or null' if none else ''}, got {_what(value)}")
    if not low <= value <= high:
        raise _Bad(f"{where} is {value}, outside {low}..{high}")
    return value


def _number(value: Any, where: str, none: bool = False, negative: bool = False) -> float | None:
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{where} must be a number{' or null' if none else ''}, got {_what(value)}")
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e15 or (number < 0 and not negative):
        raise _Bad(f"{where} is {value!r}, not a usable duration in ms")
    return number


def _str(value: Any, where: str, none: bool = False) -> str | None:
    if value is None and none:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{where} must be a string{' or null' if none else ''}, got {_what(value)}")
    return value


def _dict(value: Any, where: str, none: bool = False) -> dict[str, Any] | None:
    if value is None and none:
        return None
    if not isinstance(value, dict):
        raise _Bad(f"{where} must be an object, got {_what(value)}")
    return value


def _check_message(message: ChatMessage, where: str) -> None:
    """The fields the views and replays read, with the types they expect (from_dict does not check them)."""
    if not isinstance(message.role, ChatRole):
        raise _Bad(f"{where} has role {message.role!r}")
    _str(message.name, f"{where}.name", none=True)
    _dict(message.meta, f"{where}.meta")
    for j, part in enumerate(message._content):
        for attr in ("text", "reasoning_text"):
            if hasattr(part, attr):
                _str(getattr(part, attr), f"{where}.content[{j}].{attr}")
        calls = [part] if type(part).__name__ == "ToolCall" else []
        result = part if type(part).__name__ == "ToolCallResult" else None
        if result is not None:
            if not isinstance(result.result, (str, list)):
                raise _Bad(f"{where}.content[{j}].result must be a string, got {_what(result.result)}")
            if not isinstance(result.error, bool):
                raise _Bad(f"{where}.content[{j}].error must be true or false, got {_what(result.error)}")
            calls.append(result.origin)
        for call in calls:
            if type(call).__name__ != "ToolCall":
                raise _Bad(f"{where}.content[{j}] has a tool call that is {_what(call)}")
            _str(call.tool_name, f"{where}.content[{j}].tool_name")
            _dict(call.arguments, f"{where}.content[{j}] ({call.tool_name}) arguments")
            _str(call.id, f"{where}.content[{j}].id", none=True)


def _check_messages(value: Any, where: str) -> None:
    if isinstance(value, MessageLog):
        return  # built from the lists table: messages only
    if not isinstance(value, list):
        raise _Bad(f"{where} must be a list of messages, got {_what(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, ChatMessage):
            raise _Bad(f"{where}[{i}] is not a message ({_what(item)})")


class _Decoder:
    """Decodes the tables lazily and once each: values, messages and lists may refer to one another in any
    order (a value holding a message whose text is an interned string), so each entry is built when first
    referenced, and a circular reference is an error rather than an endless loop."""

    def __init__(self, doc: dict[str, Any], version: int) -> None:
        self.version = version
        self.tags = _TAGS if version >= 2 else _TAGS_V1
        self._raw_values = _list(doc, "values")
        self._raw_messages = _list(doc, "messages")
        self._raw_lists = _list(doc, "lists")
        self._values: dict[int, Any] = {}
        self._messages: dict[int, ChatMessage] = {}
        self._entries: dict[int, tuple[int | None, list[ChatMessage]]] = {}
        self._busy: set[tuple[str, int]] = set()
        self._built_lists: dict[int, list[ChatMessage]] = {}
        self._built_logs: dict[int, Any] = {}
        self._v1_logs: dict[int, tuple[list[ChatMessage], Any]] = {}
        self.states = [self._state(i, s) for i, s in enumerate(_list(doc, "states"))]

    def check_all(self) -> None:
        """Decode the entries nothing referenced too: a corrupt one is an error even if unused."""
        for i in range(len(self._raw_values)):
            self.ref(i)
        for i in range(len(self._raw_messages)):
            self.message(i)
        for i in range(len(self._raw_lists)):
            self.entry(i)

    def _enter(self, table: str, index: int) -> None:
        if (table, index) in self._busy:
            raise _Bad(f"{table}[{index}] refers to itself")
        self._busy.add((table, index))

    def ref(self, index: Any) -> Any:
        index = _index(index, len(self._raw_values), "values")
        if index not in self._values:
            self._enter("values", index)
            self._values[index] = self.value(self._raw_values[index], f"values[{index}]")
            self._busy.discard(("values", index))
        return self._values[index]

    def message(self, index: Any) -> ChatMessage:
        index = _index(index, len(self._raw_messages), "messages")
        message = self._messages.get(index)
        if message is None:
            self._enter("messages", index)
            message = self._messages[index] = self._message(index, self._raw_messages[index])
            self._busy.discard(("messages", index))
        return message

    def _message(self, index: int, data: Any) -> ChatMessage:
        where = f"messages[{index}]"
        if self.version >= 2:
            data = self.value(data, where)
        if not isinstance(data, dict):
            raise _Bad(f"{where} is not an object")
        try:
            message = ChatMessage.from_dict(data)
        except Exception as exc:
            raise _Bad(f"{where} is not a ChatMessage ({type(exc).__name__}: {exc})") from exc
        _check_message(message, where)
        return message

    def entry(self, index: int) -> tuple[int | None, list[ChatMessage]]:
        """lists[index] as (base index, tail messages); a base is always an earlier entry."""
        index = _index(index, len(self._raw_lists), "lists")
        hit = self._entries.get(index)
        if hit is None:
            raw = self._raw_lists[index]
            if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[1], list):
                raise _Bad(f"lists[{index}] is not a [base, [message index, ...]] pair")
            base = raw[0]
            if base is not None and (isinstance(base, bool) or not isinstance(base, int) or not 0 <= base < index):
                raise _Bad(f"lists[{index}] has base {_what(base)}: a base must be an earlier entry, or null")
            hit = self._entries[index] = (base, [self.message(m) for m in raw[1]])
        return hit

    def plain_list(self, index: int) -> list[ChatMessage]:
        built = self._built_lists.get(index)
        if built is None:
            chunks = []
            node: int | None = index
            while node is not None:  # iterative: a long run makes a deep chain
                node, tail = self.entry(node)
                chunks.append(tail)
            built = [m for chunk in reversed(chunks) for m in chunk]
            self._built_lists[index] = built
        return built

    def log(self, index: int) -> Any:
        pending = []
        node: int | None = index
        while node is not None and node not in self._built_logs:
            pending.append(node)
            node = self.entry(node)[0]
        for item in reversed(pending):
            base, tail = self.entry(item)
            self._built_logs[item] = MessageLog.from_parts(
                self._built_logs[base] if base is not None else None, tuple(tail)
            )
        return self._built_logs[index]

    def _state(self, index: int, data: Any) -> dict[str, Any]:
        where = f"states[{index}]"
        if not isinstance(data, dict):
            raise _Bad(f"{where} is not an object")
        state = {k: self.shared(v, f"{where}.{k}") for k, v in data.items()}
        _check_state(state, where)
        messages = state.get("messages")
        if self.version < 2 and type(messages) is list:
            # Schema 1 wrote snapshot message lists whole: give them the type snapshots have now, shared alike.
            log = self._v1_logs.get(id(messages))
            if log is None:
                log = self._v1_logs[id(messages)] = (messages, MessageLog.from_parts(None, messages))
            state["messages"] = log[1]
        return state

    def shared(self, value: Any, where: str) -> Any:
        if isinstance(value, dict) and len(value) == 1 and "__ref__" in value:
            return self.ref(value["__ref__"])
        return self.value(value, where)

    def state(self, index: Any) -> dict[str, Any] | None:
        if index is None:
            return None
        return self.states[_index(index, len(self.states), "states")]

    def value(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [self.value(v, where) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag in self.tags:
                return self._tagged(tag, inner, where)
        if "__repr__" in value and "__type__" in value:
            return Uncopyable(str(value["__type__"]), str(value["__repr__"]), str(value.get("__reason__", "")))
        return {k: self.value(v, where) for k, v in value.items()}

    def _tagged(self, tag: str, inner: Any, where: str) -> Any:
        if tag == "__msg__":
            return self.message(inner)
        if tag == "__list__":
            return self.plain_list(_index(inner, len(self._raw_lists), "lists"))
        if tag == "__log__":
            return self.log(_index(inner, len(self._raw_lists), "lists"))
        if tag == "__msgs__":
            if not isinstance(inner, list):
                raise _Bad(f"{where}: a message list that is not a list")
            return [self.message(i) for i in inner]
        if tag == "__ref__":
            if self.version < 2:
                raise _Bad(f"{where}: a value reference where none may be")
            return self.ref(inner)
        if tag in ("__tuple__", "__dict__") and not isinstance(inner, list):
            raise _Bad(f"{where}: a {tag} that is not a list")
        if tag == "__tuple__":
            return tuple(self.value(v, where) for v in inner)
        if tag == "__dict__":
            pairs = []
            for pair in inner:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise _Bad(f"{where}: a __dict__ entry that is not a [key, value] pair")
                pairs.append((_hashable(self.value(pair[0], where), where), self.value(pair[1], where)))
            return dict(pairs)
        if tag == "__bytes__":
            if not isinstance(inner, str):
                raise _Bad(f"{where}: __bytes__ that is not a base64 string")
            return base64.b64decode(inner, validate=True)
        if tag == "__float__":
            if inner not in ("nan", "inf", "-inf"):
                raise _Bad(f"{where}: __float__ {inner!r} is not nan, inf or -inf")
            return float(inner)
        if tag == "__int__":
            if not isinstance(inner, str) or not re.fullmatch(r"-?[0-9]{1,4300}", inner):
                raise _Bad(f"{where}: __int__ must be a string of at most 4300 digits")
            return int(inner)
        return {tag: self.value(inner, where)}  # "__repr__" / "__type__" / "__reason__" alone: a plain dict


def _none(value: Any, where: str) -> None:
    if value is not None:
        raise _Bad(f"{where} must be null (nothing comes before the first entry), got {_what(value)}")


def _hashable(key: Any, where: str) -> Any:
    try:
        hash(key)
    except TypeError:
        raise _Bad(f"{where}: a dict key that is a {type(key).__name__}") from None
    return key


def _index(value: Any, size: int, table: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise _Bad(f"reference {value!r} outside the {table} table (size {size})")
    return value


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise _Bad(f"{key!r} is not a list")
    return value


def _counts(value: Any, where: str) -> None:
    _dict(value, where)
    for name, count in value.items():
        _int(count, f"{where}[{name!r}]")


def _check_state(state: dict[str, Any], where: str) -> None:
    """The State keys the Agent manages have the Agent's types (user keys may hold anything)."""
    if "messages" in state:
        _check_messages(state["messages"], f"{where}.messages")
    if "step_count" in state:
        _int(state["step_count"], f"{where}.step_count", 0, _MAX_STEP)
    if "token_usage" in state:
        _dict(state["token_usage"], f"{where}.token_usage", none=True)
    if "tool_call_counts" in state and state["tool_call_counts"] is not None:
        _counts(state["tool_call_counts"], f"{where}.tool_call_counts")


_CHOICES = {"kind": KINDS, "status": STATUSES, "hook_point": (*HOOK_POINTS, None)}


def _event(dec: _Decoder, i: int, row: Any, run_id: str) -> Event:
    if not isinstance(row, dict):
        raise _Bad(f"events[{i}] is not an object")
    head = f"events[{i}]"
    fields: dict[str, Any] = {}
    for col in STORED_COLUMNS:
        if col not in row:
            raise _Bad(f"{head} has no {col!r}")
        fields[col] = dec.value(row[col], f"{head}.{col}")
    if isinstance(fields["name"], str) and isinstance(fields["kind"], str):
        head = f"events[{i}] ({fields['kind']} {fields['name']!r})"
    for col, choices in _CHOICES.items():
        if fields[col] not in choices:
            raise _Bad(f"{head}.{col} is {fields[col]!r}, not one of {', '.join(map(str, choices))}")
    if (fields["kind"] == "hook") != (fields["hook_point"] is not None):
        raise _Bad(f"{head}: a {fields['kind']} row with hook_point {fields['hook_point']!r}")
    if fields["run_id"] != run_id:
        raise _Bad(f"{head}.run_id is {fields['run_id']!r}, not the run's id {run_id!r}")
    _int(fields["seq"], f"{head}.seq", 0, _INT64 - 1)
    _int(fields["step"], f"{head}.step", 0, _MAX_STEP, none=True)
    for col in ("offset_ms", "duration_ms"):
        fields[col] = _number(fields[col], f"{head}.{col}", negative=col == "offset_ms")
    for col in ("messages_added", "messages_removed", "prompt_tokens", "completion_tokens"):
        _int(fields[col], f"{head}.{col}", none=True)
    for col in ("name", "summary"):
        _str(fields[col], f"{head}.{col}")
    for col in ("flow", "error"):
        _str(fields[col], f"{head}.{col}", none=True)
    changed = fields["changed"]
    if not isinstance(changed, list) or not all(isinstance(k, str) for k in changed):
        raise _Bad(f"{head}.changed must be a list of State key names, got {_what(changed)}")
    event = Event(**fields)
    detail = _dict(row.get("detail") or {}, f"{head}.detail")
    event.detail = {k: dec.shared(v, f"{head}.detail.{k}") for k, v in detail.items()}
    _check_detail(event.kind, event.detail, f"{head}.detail")
    event.before = dec.state(row.get("before"))
    event.after = dec.state(row.get("after"))
    return event


def _check_detail(kind: str, detail: dict[str, Any], where: str) -> None:
    if kind == "tool":
        if "arguments" in detail:
            _dict(detail["arguments"], f"{where}.arguments (the tool call's arguments)")
        if "tool_call_id" in detail:
            _str(detail["tool_call_id"], f"{where}.tool_call_id", none=True)
    elif kind == "llm":
        for key in ("replies", "input_messages"):
            if key in detail:
                _check_messages(detail[key], f"{where}.{key}")
        names = detail.get("tool_names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _Bad(f"{where}.tool_names must be a list of strings, got {_what(names)}")
        if "input_digest" in detail:
            _str(detail["input_digest"], f"{where}.input_digest")
        if "generator_called" in detail and not isinstance(detail["generator_called"], bool):
            raise _Bad(f"{where}.generator_called must be true or false, got {_what(detail['generator_called'])}")


def _check_hook_config(config: Any) -> None:
    _dict(config, "run.hook_config")
    for point, names in config.items():
        if point not in HOOK_POINTS:
            raise _Bad(f"run.hook_config has hook point {point!r}, not one of {', '.join(HOOK_POINTS)}")
        _dict(names, f"run.hook_config[{point!r}]")
        for name, enabled in names.items():
            if not isinstance(enabled, bool):
                raise _Bad(f"run.hook_config[{point!r}][{name!r}] must be true or false, got {_what(enabled)}")


def _run_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields = {name: body.get(name) for name in _RUN_FIELDS}
    for name in ("run_id", "parent_id"):
        value = fields[name]
        if (value is not None or name == "run_id") and not _valid_id(value):
            raise _Bad(f"run.{name} {_what(value)} is not a run id (1 to 64 letters, digits, '_' or '-')")
    if fields["kind"] not in ("run", "replay", "fork"):
        raise _Bad(f"run.kind is {fields['kind']!r}, not run, replay or fork")
    if fields["status"] not in RUN_STATUSES:
        raise _Bad(f"run.status is {fields['status']!r}, not one of {', '.join(RUN_STATUSES)}")
    if fields["snapshots"] is not None and fields["snapshots"] not in SNAPSHOT_MODES:
        raise _Bad(f"run.snapshots is {fields['snapshots']!r}, not one of {', '.join(SNAPSHOT_MODES)}")
    _int(fields["fork_step"], "run.fork_step", 0, _MAX_STEP, none=True)
    _int(fields["started_unix_ns"], "run.started_unix_ns", none=True)
    fields["duration_ms"] = _number(fields["duration_ms"], "run.duration_ms", none=True)
    for name in ("label", "generator", "started_at"):
        _str(fields[name], f"run.{name}", none=True)
    _str(fields["error"], "run.error", none=True)
    if fields["started_unix_ns"] is None and isinstance(fields["started_at"], str):
        try:  # a schema 1 file: the wall clock to the second, from started_at
            start = _dt.datetime.fromisoformat(fields["started_at"])
            fields["started_unix_ns"] = int(start.timestamp()) * 10**9
        except (ValueError, OverflowError, OSError):
            pass
    return {k: v for k, v in fields.items() if v is not None}


def document_to_run(doc: Any) -> Run:
    """Build a Run from a parsed document; `RunFileError` on a malformed one.

    Usage:
        >>> document_to_run(run_to_document(Run(run_id="x", status="ok"))).run_id
        'x'
    """
    try:
        return _document_to_run(doc)
    except _Bad as exc:
        raise RunFileError(str(exc)) from None
    except RecursionError:
        raise RunFileError("values nested too deeply") from None


def _document_to_run(doc: Any) -> Run:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _Bad(f'not an agent_nb run file (no "format": {FORMAT!r})')
    version = doc.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Bad(f"invalid schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise _Bad(
            f"written by a newer agent_nb (schema_version {version}); this version reads schema_version "
            f"{SCHEMA_VERSION}: upgrade agent_nb to load it"
        )
    body = doc.get("run")
    if not isinstance(body, dict):
        raise _Bad("no 'run' object")
    fields = _run_fields(body)
    dec = _Decoder(doc, version)
    run = Run(**fields)
    run.inputs = _dict(dec.value(body.get("inputs") or {}, "run.inputs"), "run.inputs")
    if "messages" in run.inputs:
        _check_messages(run.inputs["messages"], "run.inputs.messages")
    _dict(run.inputs.get("kwargs", {}), "run.inputs.kwargs")
    run.hook_config = dec.value(body.get("hook_config") or {}, "run.hook_config")
    _check_hook_config(run.hook_config)
    run.result = _dict(dec.value(body.get("result"), "run.result"), "run.result", none=True)
    if run.result is not None:
        _check_state(run.result, "run.result")
        if "last_message" in run.result and not isinstance(run.result["last_message"], (ChatMessage, type(None))):
            raise _Bad(f"run.result.last_message is not a message ({_what(run.result['last_message'])})")
    # The decoded result shares its messages with the snapshots, as at the end of the recording: it is what a save
    # writes (so a loaded run saves back to the same bytes); the user gets a copy of their own to change.
    run.recorded_result = run.result
    run.result = copy_value(run.result) if run.result is not None else None
    run.inherited = _dict(dec.value(body.get("inherited") or {}, "run.inherited"), "run.inherited")
    _int(run.inherited.get("step"), "run.inherited.step", 0, _MAX_STEP, none=True)
    if isinstance(run.inherited.get("tool_call_counts"), dict):
        _counts(run.inherited["tool_call_counts"], "run.inherited.tool_call_counts")
    if hasattr(run, "fingerprint"):
        run.fingerprint = _dict(dec.value(body.get("fingerprint"), "run.fingerprint"), "run.fingerprint", none=True)
    run.initial_state = dec.state(body.get("initial_state"))
    run.final_state = dec.state(body.get("final_state"))
    starts = body.get("step_starts") or []
    if not isinstance(starts, list):
        raise _Bad("run.step_starts is not a list")
    for entry in starts:
        if not isinstance(entry, list) or len(entry) != 2:
            raise _Bad(f"run.step_starts has an entry {_what(entry)}, not a [step, state] pair")
        step = _int(entry[0], "run.step_starts step", 0, _MAX_STEP)
        run.step_starts[step] = dec.state(entry[1])  # type: ignore[index, assignment]
    warnings = body.get("warnings") or []
    if not isinstance(warnings, list) or len(warnings) > _MAX_WARNINGS:
        raise _Bad(f"run.warnings must be a list of at most {_MAX_WARNINGS} strings, got {_what(warnings)}")
    run.warnings = [_str(text, f"run.warnings[{i}]") for i, text in enumerate(warnings)]  # type: ignore[misc]
    events = body.get("events") or []
    if not isinstance(events, list):
        raise _Bad("run.events is not a list")
    run.events = [_event(dec, i, row, run.run_id) for i, row in enumerate(events)]
    dec.check_all()
    seqs = sorted(e.seq for e in run.events)
    if seqs != list(range(len(seqs))):
        missing = sorted(set(range(len(seqs))) - set(seqs))
        raise _Bad(f"run.events: seq numbers are not 0..{len(seqs) - 1} (no event with seq {missing[0]})")
    return run


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
        out = bytearray()
        try:
            with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
                while chunk := unzipped.read(min(_CHUNK, max_bytes + 1 - len(out))):
                    out += chunk
                    if len(out) > max_bytes:  # stop reading now: memory stays bounded by the limit
                        raise RunFileError(
                            f"{path}: decompresses to more than the limit of {max_bytes:,} bytes {_RAISE}"
                        )
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
        >>> load_run("/dev/null")
        Traceback (most recent call last):
        ...
        agent_nb.recording.persist.RunFileError: /dev/null: a device, not a regular file; a saved run is a regular file
    """
    path = os.fspath(path)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")
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


__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMAT",
    "RUN_ID_PATTERN",
    "SCHEMA_VERSION",
    "RunFileError",
    "document_to_run",
    "load_run",
    "run_to_document",
    "save_run",
]
