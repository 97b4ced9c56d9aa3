"""Decoding the run file's document into a Run: every field type-checked, nothing executed.

Usage:
    >>> from agent_nb.recording.encode import run_to_document
    >>> document_to_run(run_to_document(Run(run_id="x", status="ok"))).run_id
    'x'
"""

from __future__ import annotations

import base64
import datetime as _dt
import re
from typing import Any

from haystack.dataclasses import ChatMessage

from agent_nb.recording.events import HOOK_POINTS, KINDS, STATUSES, STORED_COLUMNS, Event
from agent_nb.recording.file_format import (
    _INT64,
    _MAX_STEP,
    _MAX_WARNINGS,
    _RUN_FIELDS,
    _TAGS,
    _TAGS_V1,
    FORMAT,
    RUN_STATUSES,
    SCHEMA_VERSION,
    RunFileError,
    _Bad,
    _check_detail,
    _check_hook_config,
    _check_message,
    _check_messages,
    _check_state,
    _counts,
    _dict,
    _hashable,
    _index,
    _int,
    _list,
    _number,
    _str,
    _valid_id,
    _what,
)
from agent_nb.recording.run import Run
from agent_nb.recording.snapshots import SNAPSHOT_MODES
from agent_nb.recording.values import MessageLog, Uncopyable, copy_value


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
    if "agent_changed" in row:
        agent_changed = dec.value(row["agent_changed"], f"{head}.agent_changed")
        if not isinstance(agent_changed, list) or not all(isinstance(k, str) for k in agent_changed):
            raise _Bad(f"{head}.agent_changed must be a list of State key names, got {_what(agent_changed)}")
        fields["agent_changed"] = agent_changed
    event = Event(**fields)
    detail = _dict(row.get("detail") or {}, f"{head}.detail")
    event.detail = {k: dec.shared(v, f"{head}.detail.{k}") for k, v in detail.items()}
    _check_detail(event.kind, event.detail, f"{head}.detail")
    event.before = dec.state(row.get("before"))
    event.after = dec.state(row.get("after"))
    return event


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
        >>> from agent_nb.recording.encode import run_to_document
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
