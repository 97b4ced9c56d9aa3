"""Encoding a Run into the run file's document: messages, lists, values and States each stored once.

Usage:
    >>> run_to_document(Run(run_id="x", status="ok"))["format"]
    'agent_nb.run'
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from haystack.dataclasses import ChatMessage, TextContent, ToolCall, ToolCallResult

from agent_nb.recording.digest import InputDigests, event_digest
from agent_nb.recording.events import STORED_COLUMNS
from agent_nb.recording.file_format import _INT64, _INTERN_MIN, _RUN_FIELDS, _TAGS, FORMAT, SCHEMA_VERSION
from agent_nb.recording.run import Run
from agent_nb.recording.values import MessageLog, Uncopyable
from agent_nb.version import __version__


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
        self._inside: set[int] = set()  # ids of the containers being encoded: one met again inside is a cycle

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
        if isinstance(value, list | tuple | dict):
            return self._container(value, depth)
        if isinstance(value, bytes):
            return {"__bytes__": base64.b64encode(value).decode("ascii")}
        if isinstance(value, Uncopyable):
            return {"__repr__": value.value_repr, "__type__": value.type_name, "__reason__": value.reason}
        return _marker(value, "not JSON-serializable; saved as its repr")

    def _container(self, value: list[Any] | tuple[Any, ...] | dict[Any, Any], depth: int) -> Any:
        """A list, tuple or dict; one that holds itself is saved once, its inner reference as a marker that
        loads back as an `Uncopyable` saying so (not unrolled until the depth limit)."""
        if id(value) in self._inside:
            name = type(value).__name__
            shown = "{...}" if isinstance(value, dict) else "[...]" if isinstance(value, list) else "(...)"
            return _marker_of(shown, type(value), f"a cycle: this {name} holds itself here; saved once, not again")
        self._inside.add(id(value))
        try:
            if isinstance(value, list):
                if value and all(isinstance(v, ChatMessage) for v in value):
                    return {"__list__": self.plain_list(value)}
                return [self.value(v, depth + 1) for v in value]
            if isinstance(value, tuple):
                return {"__tuple__": [self.value(v, depth + 1) for v in value]}
            if all(isinstance(k, str) and k not in _TAGS for k in value):
                return {k: self.value(v, depth + 1) for k, v in value.items()}
            return {"__dict__": [[self.value(k, depth + 1), self.value(v, depth + 1)] for k, v in value.items()]}
        finally:
            self._inside.discard(id(value))

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
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break the save
        text = f"<repr failed: {type(exc).__name__}>"
    if len(text) > 500:
        text = text[:499] + "…"
    return _marker_of(text, type(value), reason)


def _marker_of(text: str, kind: type, reason: str) -> dict[str, Any]:
    return {"__repr__": text, "__type__": f"{kind.__module__}.{kind.__qualname__}", "__reason__": reason}


def run_to_document(run: Run) -> dict[str, Any]:
    """The JSON document of a run (plain dicts and lists; see the module docstring).

    Usage:
        >>> doc = run_to_document(Run(run_id="x", status="ok"))
        >>> doc["format"], doc["schema_version"], doc["run"]["run_id"]
        ('agent_nb.run', 2, 'x')
    """
    enc = _Encoder()
    digests = InputDigests()  # one for the run: each message digested once
    events = []
    for event in run.events:
        row: dict[str, Any] = {col: enc.value(getattr(event, col)) for col in STORED_COLUMNS}
        row["changed"] = list(event.changed)
        if (event.before is None or event.after is None) and event.agent_changed:
            # Without snapshots (snapshots="off") agent_changed cannot be derived on load: keep it.
            row["agent_changed"] = list(event.agent_changed)
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
            "final_state": enc.state(run.final_snapshot),
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
