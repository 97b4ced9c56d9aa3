"""The run file's format: its constants, its error, and the checks every loaded field passes.

Usage:
    >>> SCHEMA_VERSION, RunFileError.__mro__[1].__name__
    (2, 'AgentNbError')
"""

from __future__ import annotations

import math
import re
from typing import Any

from haystack.dataclasses import ChatMessage, ChatRole

from agent_nb.errors import AgentNbError
from agent_nb.recording.events import HOOK_POINTS
from agent_nb.recording.types import RunStatus
from agent_nb.recording.values import MessageLog

FORMAT = "agent_nb.run"
SCHEMA_VERSION = 2
#: Decompressed size above which a file is refused (override with `load_run(path, max_bytes=...)`).
DEFAULT_MAX_BYTES = 512 * 2**20
#: Run ids a file may carry: short, and safe in a file name.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Statuses of a finished run (a running run cannot be saved).
RUN_STATUSES: tuple[RunStatus, ...] = ("ok", "error", "stopped", "aborted")

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
        >>> from agent_nb.recording.persist import load_run
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


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and RUN_ID_PATTERN.fullmatch(value) is not None


# ---- checks of loaded fields ---------------------------------------------------------------------------------
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
