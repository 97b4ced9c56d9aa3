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

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from haystack.dataclasses import ChatMessage

from agent_nb.recording import Run, Uncopyable
from agent_nb.recording.snapshots import copy_value, restore_value

#: State keys an edit may not set: live objects, run control the fork resets, and the step it resumes at.
RESERVED_KEYS = frozenset({"tools", "hook_context", "continue_run", "stop_run", "step_count", "exit_reason"})
#: Keys the Agent manages: they may be edited, but not removed or set to None.
AGENT_KEYS = frozenset({"messages", "token_usage", "tool_call_counts", "context_tokens"})

Edit = Mapping[str, Any] | Callable[[dict[str, Any]], Any] | None


class InvalidEdit(ValueError, TypeError):
    """A fork's step, State edit or replacement reply is not usable; raised before anything runs.

    Both a ValueError and a TypeError, so either `except` catches it.

    Usage:
        >>> try:
        ...     run.fork(step=1, edit={"no_such_key": 1})   # doctest: +SKIP
        ... except InvalidEdit as exc:
        ...     print(exc)
        unknown State key 'no_such_key'; editable keys: context_tokens, messages, token_usage, ...
    """


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
    """`step` if `run` has a step-start snapshot for it, else an InvalidEdit naming the valid steps.

    Usage:
        >>> from agent_nb.recording import Run
        >>> check_step(Run(run_id="x"), 0)   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        agent_nb.replay.edits.InvalidEdit: run x has no step snapshots (...): it cannot be forked
    """
    if isinstance(step, bool) or not isinstance(step, int):
        raise InvalidEdit(f"step must be an int, got {type(step).__name__} {step!r}")
    valid = sorted(run.step_starts)
    if not valid:
        raise InvalidEdit(
            f"run {run.run_id} has no step snapshots (it never reached an LLM call, or was recorded with "
            "snapshots='off'): it cannot be forked"
        )
    if step not in run.step_starts:
        raise InvalidEdit(f"run {run.run_id} has no step {step}; valid steps: {_ranges(valid)}")
    return step


def _ranges(steps: list[int]) -> str:
    if steps == list(range(steps[0], steps[-1] + 1)) and len(steps) > 2:
        return f"{steps[0]}..{steps[-1]}"
    return ", ".join(map(str, steps))


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _matches(value: Any, tp: Any) -> bool:
    """isinstance against a schema type: a plain class, or a generic's origin (list[X] -> list); else True."""
    if tp is None or tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return any(_matches(value, arm) for arm in typing.get_args(tp))
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if origin is typing.Annotated:
        return _matches(value, typing.get_args(tp)[0])
    target = origin if origin is not None else tp
    if not isinstance(target, type):
        return True  # forward references, Callable[...] and other forms: not checked
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return True  # the numeric tower: an int is a fine float
    return isinstance(value, target)


def check_value(key: str, value: Any, tp: Any) -> None:
    """Raise InvalidEdit if `value` cannot be State key `key` of schema type `tp` (None: unchecked).

    `messages` must be a list of ChatMessage; Agent-managed keys must not be None; a user key may be None.

    Usage:
        >>> check_value("user_profile", "Ada", dict)
        Traceback (most recent call last):
        ...
        agent_nb.replay.edits.InvalidEdit: State key 'user_profile' must be a dict, got str 'Ada'
    """
    if key == "messages":
        if not isinstance(value, list):
            raise InvalidEdit(f"messages must be a list of ChatMessage, got {type(value).__name__}")
        for i, message in enumerate(value):
            if not isinstance(message, ChatMessage):
                raise InvalidEdit(f"messages[{i}] is a {type(message).__name__}, not a ChatMessage")
        return
    if value is None:
        if key in AGENT_KEYS:
            raise InvalidEdit(f"State key {key!r} is managed by the Agent and cannot be None")
        return
    if isinstance(value, Uncopyable):
        raise InvalidEdit(
            f"State key {key!r} holds a value that was not copied when recorded ({value!r}); a fork cannot "
            f"restore it: give it a value, e.g. edit={{{key!r}: ...}}"
        )
    if not _matches(value, tp):
        text = repr(value)
        text = text if len(text) <= 60 else text[:59] + "…"
        raise InvalidEdit(f"State key {key!r} must be a {_type_name(tp)}, got {type(value).__name__} {text}")


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
        raise InvalidEdit(f"State keys are strings, got {type(key).__name__} {key!r}")
    if key in RESERVED_KEYS:
        raise InvalidEdit(
            f"State key {key!r} is managed by the Agent or the fork and cannot be edited; "
            f"editable keys: {', '.join(allowed)}"
        )
    if key not in allowed:
        raise InvalidEdit(f"unknown State key {key!r}; editable keys: {', '.join(allowed)}")


def _changed(a: Any, b: Any) -> bool:
    if a is b:
        return False
    try:
        return not bool(a == b)
    except Exception:
        return True


def apply_edit(snapshot: Mapping[str, Any], edit: Edit, schema: Mapping[str, Any]) -> dict[str, Any]:
    """A private copy of `snapshot` with `edit` applied and validated (InvalidEdit on any problem).

    `edit` is None, a mapping of State keys to new values, or a function that gets a private copy of the
    State (a dict; its message list is a copy, the ChatMessage objects in it are shared and immutable) and
    mutates it in place, or returns a new State (a dict with a "messages" key; any other return value is
    ignored, so `lambda s: s["messages"].pop()` works).

    Usage:
        >>> from haystack.dataclasses import ChatMessage
        >>> snap = {"messages": [ChatMessage.from_user("hi")], "step_count": 0}
        >>> edited = apply_edit(snap, lambda s: s["messages"].append(ChatMessage.from_user("in Celsius")), {})
        >>> len(edited["messages"]), len(snap["messages"])
        (2, 1)
    """
    state = {k: restore_value(v) for k, v in snapshot.items()}
    allowed = editable_keys(snapshot, schema)
    if edit is None:
        result = state
    elif isinstance(edit, Mapping):
        result = state
        for key, value in edit.items():
            _check_key(key, allowed)
            # A copy: the caller's objects must not change the fork's State after the fact, and vice versa.
            result[key] = list(value) if key == "messages" and isinstance(value, list) else copy_value(value)
    elif callable(edit):
        try:
            returned = edit(state)
        except Exception as exc:
            raise InvalidEdit(f"edit function raised {type(exc).__name__}: {exc}") from exc
        # Expression lambdas return whatever their call returns (`lambda s: s["messages"].pop()` gives the
        # popped message): only a whole State (a mapping with messages) replaces the edited copy.
        result = dict(returned) if isinstance(returned, Mapping) and "messages" in returned else state
        for key in result:
            if key not in snapshot or _changed(snapshot[key], result[key]):
                _check_key(key, allowed)
        for key in snapshot:
            if key not in result and (key in AGENT_KEYS or key in RESERVED_KEYS):
                raise InvalidEdit(f"edit function removed State key {key!r}, which the Agent needs")
    else:
        raise InvalidEdit(f"edit must be a dict of State keys to values or a function, got {type(edit).__name__}")
    for key, value in result.items():
        if key in snapshot and not _changed(snapshot[key], value) and not isinstance(value, Uncopyable):
            continue  # unchanged values were valid when recorded
        check_value(key, value, _schema_type(schema, key))
    return result


def _check_role(message: ChatMessage, what: str) -> None:
    if message.role.value != "assistant":
        raise InvalidEdit(
            f"{what} stands for the model's reply, so it must be an assistant message, got a {message.role.value} "
            "message (build it with ChatMessage.from_assistant)"
        )


def check_reply(reply: Any) -> list[ChatMessage] | None:
    """A fork's replacement reply as a non-empty list of ChatMessage (None stays None).

    Usage:
        >>> from haystack.dataclasses import ChatMessage
        >>> len(check_reply(ChatMessage.from_assistant("hi")))
        1
        >>> check_reply("hi")
        Traceback (most recent call last):
        ...
        agent_nb.replay.edits.InvalidEdit: reply must be a ChatMessage or a list of them, got str
    """
    if reply is None:
        return None
    if isinstance(reply, ChatMessage):
        _check_role(reply, "reply")
        return [reply]
    if isinstance(reply, (list, tuple)):
        if not reply:
            raise InvalidEdit("reply must hold at least one ChatMessage")
        for i, message in enumerate(reply):
            if not isinstance(message, ChatMessage):
                raise InvalidEdit(f"reply[{i}] is a {type(message).__name__}, not a ChatMessage")
            _check_role(message, f"reply[{i}]")
        return list(reply)
    raise InvalidEdit(f"reply must be a ChatMessage or a list of them, got {type(reply).__name__}")


__all__ = [
    "AGENT_KEYS",
    "RESERVED_KEYS",
    "InvalidEdit",
    "apply_edit",
    "check_reply",
    "check_step",
    "check_value",
    "editable_keys",
    "state_schema",
]
