"""Validation of fork edits: the step, the State edit (a mapping or a function) and a replacement reply.

Everything here runs before a fork executes, so a bad edit fails with an `InvalidEdit` that names the
problem and nothing runs. The State a fork resumes from is a private copy: neither the edit nor the fork can
change the source run.

Usage:
    >>> from haystack.dataclasses import ChatMessage
    >>> check_value("messages", ["hi"], None)
    Traceback (most recent call last):
    ...
    agent_nb.replay.edits.InvalidEdit: messages[0] is a str, not a ChatMessage
"""

from __future__ import annotations

import copy
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from haystack.dataclasses import ChatMessage

from agent_nb.errors import AgentNbError
from agent_nb.recording import Run, Uncopyable
from agent_nb.recording.options import MANAGED_KEYS, RESERVED_KEYS
from agent_nb.recording.text import cut
from agent_nb.recording.values import copy_value, restore_value

Edit = Mapping[str, Any] | Callable[[dict[str, Any]], Any] | None


class InvalidEdit(AgentNbError, ValueError, TypeError):
    """A fork's step, State edit or replacement reply is not usable; raised before anything runs.

    An `AgentNbError`, and both a ValueError and a TypeError, so any of those `except`s catches it.
    `field` says what it concerns, so a form can mark the right input without parsing the message: "step",
    "reply", "edit" (the edit as a whole: its type, or what an edit function did or returned), or the State
    key (e.g. "messages", "user_profile"). `index` is the position in `messages` or `reply`, when one is meant.

    Usage:
        >>> try:
        ...     check_value("messages", ["hi"], None)
        ... except InvalidEdit as exc:
        ...     print(exc.field, exc.index, isinstance(exc, AgentNbError))
        messages 0 True
    """

    def __init__(self, message: str, field: str | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.index = index

    def __reduce__(self) -> tuple[Any, ...]:  # keep field and index through pickling (multiprocessing, Dask)
        return (type(self), (str(self), self.field, self.index))


def state_schema(agent: Any) -> dict[str, Any]:
    """The Agent's State schema with the keys the Agent adds itself (`resolved_state_schema`).

    Usage:
        >>> state_schema(None)["messages"]["type"]
        list[haystack.dataclasses.chat_message.ChatMessage]
    """
    resolved = getattr(agent, "resolved_state_schema", None)
    if isinstance(resolved, dict):
        return resolved
    schema = dict(getattr(agent, "state_schema", None) or {})
    schema.setdefault("messages", {"type": list[ChatMessage]})
    return schema


def check_step(run: Run, step: Any) -> int:
    """`step` as an int if `run` has a step-start snapshot for it, else an InvalidEdit naming the valid steps.

    Any integer type is accepted (a numpy integer taken from `run.timeline`); a bool is not a step.

    Usage:
        >>> from agent_nb.recording import Run
        >>> check_step(Run(run_id="x"), 0)   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agent_nb.replay.edits.InvalidEdit: run x has no step snapshots (...): it cannot be forked
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidEdit(f"step must be an int, got {type(step).__name__} {step!r}", "step")
    step = int(step)
    valid = sorted(run.step_starts)
    if not valid:
        raise InvalidEdit(
            f"run {run.run_id} has no step snapshots (it never reached an LLM call, or was recorded with "
            "snapshots='off'): it cannot be forked",
            "step",
        )
    if step not in run.step_starts:
        raise InvalidEdit(f"run {run.run_id} has no step {step}; valid steps: {_ranges(valid)}", "step")
    return step


def _ranges(steps: list[int]) -> str:
    if steps == list(range(steps[0], steps[-1] + 1)) and len(steps) > 2:
        return f"{steps[0]}..{steps[-1]}"
    return ", ".join(map(str, steps))


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _a(name: str) -> str:
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the real problem
        text = f"<repr failed: {type(exc).__name__}>"
    return cut(text, limit)


def _mismatch(value: Any, tp: Any, depth: int = 0) -> str | None:
    """Why `value` is not a `tp` (None if it is), checking generic arguments too: dict[str, int] looks inside.

    Types this cannot check (forward references, Callable[...], protocols) pass; so does anything nested
    deeper than 20 levels.
    """
    if tp is None or tp is Any or depth > 20:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        reasons = [_mismatch(value, arm, depth) for arm in args]
        return None if any(r is None for r in reasons) else f"{_short(value)} is not {_a(_type_name(tp))}"
    if origin is typing.Literal:
        return None if value in args else f"{_short(value)} is not one of {args}"
    if origin is typing.Annotated:
        return _mismatch(value, args[0], depth)
    target = origin if origin is not None else tp
    if not isinstance(target, type):
        return None
    if isinstance(value, bool) and target in (int, float):
        return f"{value!r} is a bool, not {_a(target.__name__)}"
    if target is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return None  # the numeric tower: an int is a fine float
    try:
        ok = isinstance(value, target)
    except TypeError:  # a subscripted or protocol type isinstance refuses: not checked
        return None
    if not ok:
        return f"{_short(value)} is {_a(type(value).__name__)}, not {_a(_type_name(target))}"
    if not args:
        return None
    if isinstance(value, Mapping) and len(args) == 2:
        for key, item in value.items():
            why = _mismatch(key, args[0], depth + 1) or _mismatch(item, args[1], depth + 1)
            if why is not None:
                return f"at key {_short(key, 30)}: {why}"
        return None
    if isinstance(value, tuple) and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(value):
            return f"{_short(value)} has {len(value)} items, not {len(args)}"
        items: Iterable[tuple[int, Any, Any]] = ((i, v, a) for i, (v, a) in enumerate(zip(value, args, strict=True)))
    elif isinstance(value, (list, tuple, set, frozenset)) and len(args) in (1, 2):
        items = ((i, v, args[0]) for i, v in enumerate(value))
    else:
        return None
    for i, item, arg in items:
        why = _mismatch(item, arg, depth + 1)
        if why is not None:
            return f"at [{i}]: {why}"
    return None


def _check_messages(key: str, value: Any) -> None:
    if not isinstance(value, list):
        raise InvalidEdit(f"{key} must be a list of ChatMessage, got {type(value).__name__}", key)
    for i, message in enumerate(value):
        if not isinstance(message, ChatMessage):
            raise InvalidEdit(f"{key}[{i}] is a {type(message).__name__}, not a ChatMessage", key, i)


def check_value(key: str, value: Any, tp: Any) -> None:
    """Raise InvalidEdit if `value` cannot be State key `key` of schema type `tp` (None: unchecked).

    `messages` must be a list of ChatMessage; Agent-managed keys must not be None; a user key may be None.
    Generic types are checked inside (`dict[str, int]` rejects `{"add": "many"}`), and a bool is not an int.

    Usage:
        >>> check_value("user_profile", "Ada", dict)
        Traceback (most recent call last):
        ...
        agent_nb.replay.edits.InvalidEdit: State key 'user_profile' must be a dict, got str 'Ada'
        >>> check_value("tool_call_counts", {"add": "many"}, dict[str, int])   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agent_nb.replay.edits.InvalidEdit: State key 'tool_call_counts' must be a dict[str, int], ...not an int)
    """
    if key == "messages":
        _check_messages(key, value)
        return
    if value is None:
        if key in MANAGED_KEYS:
            raise InvalidEdit(f"State key {key!r} is managed by the Agent and cannot be None", key)
        return
    if isinstance(value, Uncopyable):
        raise InvalidEdit(
            f"State key {key!r} holds a value that was not copied when recorded ({value!r}); a fork cannot "
            f"restore it: give it a value, e.g. edit={{{key!r}: ...}}",
            key,
        )
    why = _mismatch(value, tp)
    if why is not None:
        head = f"State key {key!r} must be {_a(_type_name(tp))}, got {type(value).__name__} {_short(value)}"
        raise InvalidEdit(head + (f" ({why})" if why.startswith("at ") else ""), key)


def editable_keys(snapshot: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The State keys an edit may set: the snapshot's and the schema's, without the reserved ones.

    Usage:
        >>> editable_keys({"messages": [], "step_count": 1}, {"user_profile": {"type": dict}})
        ['messages', 'user_profile']
    """
    return sorted((set(snapshot) | set(schema)) - RESERVED_KEYS)


def _schema_type(schema: Mapping[str, Any], key: str) -> Any:
    entry = schema.get(key)
    return entry.get("type") if isinstance(entry, Mapping) else None


def _check_key(key: Any, allowed: list[str]) -> None:
    if not isinstance(key, str):
        raise InvalidEdit(f"State keys are strings, got {type(key).__name__} {_short(key)}", "edit")
    if key in RESERVED_KEYS:
        raise InvalidEdit(
            f"State key {key!r} is managed by the Agent or the fork and cannot be edited; "
            f"editable keys: {', '.join(allowed)}",
            key,
        )
    if key not in allowed:
        raise InvalidEdit(f"unknown State key {key!r}; editable keys: {', '.join(allowed)}", key)


def _changed(a: Any, b: Any) -> bool:
    if a is b:
        return False
    try:
        return not bool(a == b)
    except Exception:
        return True


def _private(value: Any) -> Any:
    """A copy of a snapshot value that user code may change at will: messages included (they are mutable
    dataclasses: `message.meta["x"] = 1` would otherwise reach the recorded run)."""
    if isinstance(value, ChatMessage):
        return copy.deepcopy(value)
    if type(value) is list:
        return [_private(v) for v in value]
    return restore_value(value)


def apply_edit(snapshot: Mapping[str, Any], edit: Edit, schema: Mapping[str, Any]) -> dict[str, Any]:
    """A private copy of `snapshot` with `edit` applied and validated (InvalidEdit on any problem).

    `edit` is None, a mapping of State keys to new values, or a function that gets a private copy of the
    State (a dict; messages included) and either changes it in place and returns None, or returns the new
    State (a dict). Any other return value is an error, not silently ignored: `lambda s: s["messages"].pop()`
    returns the popped message, so write a `def` (or `lambda s: s["messages"].pop() and None`). Neither a
    failing edit nor a successful one can change `snapshot` or the run it belongs to.

    Usage:
        >>> from haystack.dataclasses import ChatMessage
        >>> snap = {"messages": [ChatMessage.from_user("hi")], "step_count": 0}
        >>> edited = apply_edit(snap, lambda s: s["messages"].append(ChatMessage.from_user("in Celsius")), {})
        >>> len(edited["messages"]), len(snap["messages"])
        (2, 1)
    """
    allowed = editable_keys(snapshot, schema)
    if edit is None:
        result = {k: restore_value(v) for k, v in snapshot.items()}
    elif isinstance(edit, Mapping):
        result = {k: restore_value(v) for k, v in snapshot.items()}
        for key, value in edit.items():
            _check_key(key, allowed)
            # A copy: the caller's objects must not change the fork's State after the fact, and vice versa.
            result[key] = list(value) if key == "messages" and isinstance(value, list) else copy_value(value)
    elif callable(edit):
        state = {k: _private(v) for k, v in snapshot.items()}
        try:
            returned = edit(state)
        except Exception as exc:
            raise InvalidEdit(f"edit function raised {type(exc).__name__}: {exc}", "edit") from exc
        if returned is None or returned is state:
            result = state
        elif isinstance(returned, Mapping):
            result = dict(returned)
        else:
            raise InvalidEdit(
                f"edit function returned a {type(returned).__name__} ({_short(returned)}), which would be ignored: "
                "change the State in place and return None, or return the new State (a dict). An expression "
                'lambda returns its value, e.g. lambda s: s["messages"].pop() returns the popped message: use a def',
                "edit",
            )
        for key in result:
            if key not in snapshot or _changed(snapshot[key], result[key]):
                _check_key(key, allowed)
        for key in snapshot:
            if key not in result and (key in MANAGED_KEYS or key in RESERVED_KEYS):
                raise InvalidEdit(f"edit function removed State key {key!r}, which the Agent needs", key)
    else:
        raise InvalidEdit(
            f"edit must be a dict of State keys to values or a function, got {type(edit).__name__}", "edit"
        )
    for key, value in result.items():
        if key in snapshot and not _changed(snapshot[key], value) and not isinstance(value, Uncopyable):
            continue  # unchanged values were valid when recorded
        check_value(key, value, _schema_type(schema, key))
    return result


def _check_role(message: ChatMessage, what: str, index: int | None) -> None:
    if message.role.value != "assistant":
        raise InvalidEdit(
            f"{what} stands for the model's reply, so it must be an assistant message, got a {message.role.value} "
            "message (build it with ChatMessage.from_assistant)",
            "reply",
            index,
        )


def tool_names_of(agent: Any) -> list[str] | None:
    """The names of the tools an Agent has (None when it cannot tell, e.g. no agent).

    Usage:
        >>> tool_names_of(None) is None
        True
    """
    tools = getattr(agent, "tools", None)
    if agent is None or tools is None:
        return None
    # Read without side effects: iterating some Toolsets warms them up (SearchableToolset), which a check
    # of an edit must never do to the user's objects.
    from agent_nb.recording.fingerprint import tools_fingerprint

    entries, _ = tools_fingerprint(tools)
    return [e["name"] for e in entries if not e["name"].startswith("<")]


def _with_ids(message: ChatMessage, step: int | None, start: int, tool_names: list[str] | None, i: int) -> ChatMessage:
    """A copy of reply message `i` whose tool calls are checked and all have an id (`edit_{step}_{n}`)."""
    data = message.to_dict()
    n = start
    for part in data.get("content") or []:
        call = part.get("tool_call") if isinstance(part, dict) else None
        if call is None:
            continue
        name, arguments = call.get("tool_name"), call.get("arguments")
        if not isinstance(name, str) or not name:
            raise InvalidEdit(f"reply[{i}]: tool call {n} has no tool name", "reply", i)
        if tool_names is not None and name not in tool_names:
            raise InvalidEdit(
                f"reply[{i}] calls tool {name!r}, which the Agent does not have; tools: "
                f"{', '.join(tool_names) or '(none)'}",
                "reply",
                i,
            )
        if not isinstance(arguments, dict):
            raise InvalidEdit(
                f"reply[{i}]: the arguments of tool call {n} ({name}) must be a dict, got {type(arguments).__name__}",
                "reply",
                i,
            )
        if call.get("id") is None:
            # OpenAI-compatible generators reject a tool call whose id is null at the next LLM call.
            call["id"] = f"edit_{step}_{n}" if step is not None else f"edit_{n}"
        n += 1
    return ChatMessage.from_dict(data)


def check_reply(
    reply: Any, *, step: int | None = None, tool_names: Iterable[str] | None = None
) -> list[ChatMessage] | None:
    """A fork's replacement reply as a non-empty list of assistant ChatMessage, on copies (None stays None).

    Each tool call must name one of `tool_names` (the Agent's tools; None: not checked) and have dict
    arguments; a tool call without an id gets `edit_{step}_{n}` (the fork editor's ids), since
    OpenAI-compatible generators fail on a null id at the next call.

    Usage:
        >>> from haystack.dataclasses import ChatMessage, ToolCall
        >>> check_reply(ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 1})]), step=2)[0].tool_call.id
        'edit_2_0'
        >>> check_reply(ChatMessage.from_assistant(tool_calls=[ToolCall("rm", {})]), tool_names=["add"])
        Traceback (most recent call last):
        ...
        agent_nb.replay.edits.InvalidEdit: reply[0] calls tool 'rm', which the Agent does not have; tools: add
        >>> check_reply("hi")
        Traceback (most recent call last):
        ...
        agent_nb.replay.edits.InvalidEdit: reply must be a ChatMessage or a list of them, got str
    """
    if reply is None:
        return None
    if isinstance(reply, ChatMessage):
        messages = [reply]
    elif isinstance(reply, (list, tuple)):
        if not reply:
            raise InvalidEdit("reply must hold at least one ChatMessage", "reply")
        messages = list(reply)
    else:
        raise InvalidEdit(f"reply must be a ChatMessage or a list of them, got {type(reply).__name__}", "reply")
    names = list(tool_names) if tool_names is not None else None
    out: list[ChatMessage] = []
    n = 0
    for i, message in enumerate(messages):
        if not isinstance(message, ChatMessage):
            raise InvalidEdit(f"reply[{i}] is a {type(message).__name__}, not a ChatMessage", "reply", i)
        _check_role(message, "reply" if isinstance(reply, ChatMessage) else f"reply[{i}]", i)
        out.append(_with_ids(message, step, n, names, i))
        n += len(message.tool_calls)
    return out
