"""Reply and tool-result caches built from a recorded run: what a replay or a fork is served from.

`ReplyCache` keys the recorded LLM replies by the digest of the LLM input (messages and offered tool names,
`agent_nb.recording.digest.llm_digest`). Each digest holds a queue: the same input can occur twice in one run, and
the replies are served in recorded order, preferring the one recorded at the same step. On a miss it lets the
live generator answer (`on_miss="live"`) or raises `ReplayDivergence` naming the step and what differed
(`on_miss="error"`).

`ToolCache` does the same for tool results, keyed by tool name and canonical JSON of the arguments.

Usage:
    >>> from agent_nb.recording import Run
    >>> cache = ReplyCache(Run(run_id="empty"), on_miss="live")
    >>> cache(0, "0" * 64, [], []) is None      # a miss: the live generator answers
    True
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from haystack.dataclasses import ChatMessage

from agent_nb.errors import AgentNbError, RunInterrupted
from agent_nb.recording import Event, Run, Uncopyable
from agent_nb.recording.context import GivenReplies
from agent_nb.recording.diff import format_args, message_text
from agent_nb.recording.digest import InputDigests, event_digest, message_digest
from agent_nb.recording.interception import ServedCall
from agent_nb.recording.options import OnMiss
from agent_nb.recording.values import copy_value, same_value, short_repr


class ReplayDivergence(AgentNbError):
    """A replay or fork (with `on_miss="error"`) met an LLM input or tool call that is not in the recording.

    Attributes: `step` (where), `kind` ("llm" or "tool"), `expected` (the recorded input digest, or for a tool
    the recorded call, None when the recording has nothing left to compare with), `actual` (the live digest or
    call), `explanation` (what differed, readable), `run` (the partial replay, set once it has stopped).

    Usage:
        >>> try:
        ...     run.replay(hooks={"before_llm": {"inject_date": False}}, on_miss="error")
        ... except ReplayDivergence as exc:
        ...     print(exc.step, exc.explanation[:27])
        0 message 1 differs: recorded
    """

    def __init__(
        self,
        step: int | None,
        explanation: str,
        *,
        kind: str = "llm",
        expected: str | None = None,
        actual: str | None = None,
        source_id: str = "",
    ) -> None:
        self.step = step
        self.kind = kind
        self.expected = expected
        self.actual = actual
        self.explanation = explanation
        self.source_id = source_id
        self.run: Run | None = None
        what = "LLM input" if kind == "llm" else "tool call"
        of = f" of run {source_id}" if source_id else ""
        super().__init__(f"replay diverged from the recording{of} at step {step} ({what}): {explanation}")


class ReplayAborted(RunInterrupted):
    """Internal: carries a tool-call `ReplayDivergence` out of a tool thread.

    Haystack turns any `Exception` a tool raises into an error result and goes on, so a divergence found
    while serving a tool result travels as a BaseException; `replay` / `fork` re-raise the divergence.

    Usage:
        >>> ReplayAborted(ReplayDivergence(1, "add(a=1) is not in the recording", kind="tool")).divergence.step
        1
    """

    def __init__(self, divergence: ReplayDivergence) -> None:
        super().__init__(str(divergence))
        self.divergence = divergence


def canonical_args(arguments: dict[str, Any]) -> str:
    """Canonical JSON of tool-call arguments (sorted keys): the tool cache key.

    Usage:
        >>> canonical_args({"b": 2, "a": 1})
        '{"a":1,"b":2}'
    """
    return json.dumps(arguments, sort_keys=True, default=repr, ensure_ascii=False, separators=(",", ":"))


@dataclass(eq=False)
class _Entry:
    order: int
    step: int | None
    value: Any
    event: Event
    used: bool = False


class _Queues:
    """Entries grouped by key, served in recorded order, preferring one recorded at the asking step."""

    def __init__(self) -> None:
        self.by_key: dict[Any, list[_Entry]] = {}
        self.ordered: list[_Entry] = []

    def add(self, key: Any, entry: _Entry) -> None:
        self.by_key.setdefault(key, []).append(entry)
        self.ordered.append(entry)

    def take(self, key: Any, step: int | None) -> _Entry | None:
        queue = self.by_key.get(key)
        if not queue:
            return None
        chosen = next((e for e in queue if e.step == step), queue[0])
        queue.remove(chosen)
        chosen.used = True
        return chosen

    def expected(self, step: int | None, match: Any = None) -> _Entry | None:
        """The unused entry a miss at `step` is compared with: the first one of that step, else the next one."""
        unused = [e for e in self.ordered if not e.used and (match is None or match(e))]
        return next((e for e in unused if e.step == step), unused[0] if unused else None)


def _from_step(events: Iterable[Event], from_step: int | None) -> Iterable[Event]:
    for event in events:
        if from_step is None or (event.step is not None and event.step >= from_step):
            yield event


class ReplyCache:
    """Serves recorded LLM replies by input digest; the `reply_source` of a replay or fork.

    `from_step`: only replies recorded at this step or later (a fork). `forced`: `(step, replies)` served for
    the first LLM call at that step whatever its input (a fork's replacement reply).

    Usage:
        >>> from agent_nb.recording import RunSpec
        >>> spec = RunSpec(messages=..., reply_source=ReplyCache(run), kind="replay", parent=run)
    """

    def __init__(
        self,
        run: Run,
        *,
        on_miss: OnMiss = "live",
        from_step: int | None = None,
        forced: tuple[int, list[ChatMessage]] | None = None,
    ) -> None:
        self.source = run
        self.on_miss = on_miss
        self.forced = forced
        self.hits = 0
        self.misses: list[tuple[int | None, str]] = []
        self._queues = _Queues()
        self._lock = threading.Lock()
        digests = InputDigests()  # one per run: each message digested once, a growing log continued
        for i, event in enumerate(_from_step(run.events, from_step)):
            served = event.status in ("ok", "cached") or event.detail.get("empty_reply")
            if event.kind != "llm" or not served or "replies" not in event.detail:
                continue
            digest = event_digest(event, digests)
            if digest is not None:
                self._queues.add(digest, _Entry(i, event.step, list(event.detail["replies"]), event))

    def __call__(
        self, step: int | None, digest: str, messages: list[ChatMessage], tool_names: list[str]
    ) -> list[ChatMessage] | None:
        with self._lock:
            if self.forced is not None and self.forced[0] == step:
                replies, self.forced = self.forced[1], None
                return GivenReplies(replies)
            entry = self._queues.take(digest, step)
            if entry is not None:
                self.hits += 1
                return list(entry.value)
            self.misses.append((step, digest))
            if self.on_miss == "live":
                return None
            expected = self._queues.expected(step)
        raise self._divergence(step, digest, messages, tool_names, expected)

    def _divergence(
        self,
        step: int | None,
        digest: str,
        messages: list[ChatMessage],
        tool_names: list[str],
        expected: _Entry | None,
    ) -> ReplayDivergence:
        if expected is None:
            calls = len(self._queues.ordered)
            text = f"the recording has no further LLM call (it made {calls} that this replay could use)"
            return ReplayDivergence(step, text, actual=digest, source_id=self.source.run_id)
        event = expected.event
        before = event.before or {}
        recorded = event.detail.get("input_messages")
        if not isinstance(recorded, list):
            recorded = before.get("messages")
        text = explain_input_difference(recorded, event.detail.get("tool_names"), messages, tool_names)
        if expected.step != step:
            text += f" (compared with the recorded LLM call of step {expected.step})"
        return ReplayDivergence(
            step, text, expected=event.detail.get("input_digest"), actual=digest, source_id=self.source.run_id
        )


def _describe(message: Any) -> str:
    if not isinstance(message, ChatMessage):
        return f"a {type(message).__name__}"
    return f'{message.role.value} "{message_text(message, 80)}"'


_ABSENT = object()


def _first_difference(a: Any, b: Any, path: str) -> tuple[str, Any, Any] | None:
    """Where two plain values (dicts, lists, leaves) first differ: (path, recorded part, current part)."""
    if type(a) is dict and type(b) is dict:
        for key in [*a, *(k for k in b if k not in a)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return where, a.get(key, _ABSENT), b.get(key, _ABSENT)
            found = _first_difference(a[key], b[key], where)
            if found is not None:
                return found
        return None
    if type(a) is list and type(b) is list:
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found is not None:
                return found
        return None if len(a) == len(b) else (f"{path} (length)", len(a), len(b))
    return None if same_value(a, b) else (path, a, b)


def difference_text(recorded: Any, current: Any) -> str:
    """The first place two values differ, with both values there: what a divergence message shows when the two
    one-line descriptions read alike. Messages are compared as haystack's dicts, without meta (as digested).

    Usage:
        >>> from haystack.dataclasses import ToolCall
        >>> a = ChatMessage.from_assistant(tool_calls=[ToolCall("total", {"numbers": [1, 2, 3]})])
        >>> b = ChatMessage.from_assistant(tool_calls=[ToolCall("total", {"numbers": [3, 1, 2]})])
        >>> difference_text(a, b)
        'content[0].tool_call.arguments.numbers[0]: recorded 1, now 3'
    """
    if isinstance(recorded, ChatMessage) and isinstance(current, ChatMessage):
        recorded, current = recorded.to_dict(), current.to_dict()
        recorded.pop("meta", None)
        current.pop("meta", None)
    found = _first_difference(recorded, current, "")
    if found is None:
        return "no difference found in the values"
    path, old, new = found
    shown = ["(absent)" if v is _ABSENT else short_repr(v, 120) for v in (old, new)]
    return f"{path or 'the value'}: recorded {shown[0]}, now {shown[1]}"


def _same_message(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, ChatMessage) and isinstance(b, ChatMessage):
        return message_digest(a) == message_digest(b)
    return False


def explain_input_difference(
    recorded: list[Any] | None,
    recorded_tools: list[str] | None,
    messages: list[ChatMessage],
    tool_names: list[str],
) -> str:
    """A readable account of how an LLM input differs from the recorded one: first differing message, tools.

    Usage:
        >>> a, b = ChatMessage.from_user("hi"), ChatMessage.from_system("Today is Monday.")
        >>> explain_input_difference([b, a], ["add"], [a], ["add"])
        'message 0 differs: recorded system "Today is Monday.", now user "hi"; now 1 messages, recorded 2'
    """
    parts: list[str] = []
    if recorded is None:
        parts.append("the input digest differs (the recording kept no State to compare the messages with)")
    else:
        n_rec, n_now = len(recorded), len(messages)
        first = next((i for i in range(min(n_rec, n_now)) if not _same_message(recorded[i], messages[i])), None)
        if first is not None:
            old, new = _describe(recorded[first]), _describe(messages[first])
            same = f" (at {difference_text(recorded[first], messages[first])})" if old == new else ""
            parts.append(f"message {first} differs: recorded {old}, now {new}{same}")
        if n_rec != n_now:
            if first is None and n_now > n_rec:
                parts.append(f"message {n_rec} is new: {_describe(messages[n_rec])} (recorded {n_rec} messages)")
            elif first is None:
                parts.append(f"message {n_now} is missing: recorded {_describe(recorded[n_now])} (now {n_now})")
            else:
                parts.append(f"now {n_now} messages, recorded {n_rec}")
    if recorded_tools is not None and sorted(recorded_tools) != sorted(tool_names):
        gone = sorted(set(recorded_tools) - set(tool_names))
        new = sorted(set(tool_names) - set(recorded_tools))
        detail = ", ".join(
            ([f"no longer offered: {gone}"] if gone else []) + ([f"newly offered: {new}"] if new else [])
        )
        parts.append(
            f"offered tools differ: recorded {sorted(recorded_tools)}, now {sorted(tool_names)}"
            + (f" ({detail})" if detail else "")
        )
    if not parts:
        parts.append("the input digest differs, though the messages compare equal (message meta is not digested)")
    return "; ".join(parts)


class RecordedToolError(Exception):
    """Raised in a replay in place of a tool call that raised in the recording (see `ToolCache`).

    The instance's class is a subclass named like the recorded exception, so the error text matches the
    recording exactly (`RuntimeError: boom`).

    Usage:
        >>> exc = _RecordedError("RuntimeError: boom").exception()
        >>> isinstance(exc, RecordedToolError), f"{type(exc).__name__}: {exc}"
        (True, 'RuntimeError: boom')
    """


_STAND_INS: dict[str, type[RecordedToolError]] = {}


@dataclass(frozen=True)
class _RecordedError:
    text: str

    def exception(self) -> RecordedToolError:
        name, _, message = self.text.partition(": ")
        if not name.isidentifier():
            name, message = "RecordedToolError", self.text
        cls = _STAND_INS.get(name)
        if cls is None:
            cls = _STAND_INS[name] = type(name, (RecordedToolError,), {"__module__": __name__})
        return cls(message)


class ToolCache:
    """Serves recorded tool results by (tool name, canonical JSON of the arguments); a replay's `tool_source`.

    A recorded call that raised is served by raising again: a `RecordedToolError` stand-in with the recorded
    exception's type name and message, so haystack builds the same error result (the row reads `error`, as in
    the recording). A result that could not be kept (an `Uncopyable` marker, e.g. from a saved run) is not
    served: the call runs live, or raises `ReplayDivergence` under `on_miss="error"`.

    Usage:
        >>> from agent_nb.recording import Run
        >>> ToolCache(Run(run_id="empty"))(0, "add", {"a": 1, "b": 2})
        (False, None)
    """

    def __init__(self, run: Run, *, on_miss: OnMiss = "live", from_step: int | None = None, hint: str = "") -> None:
        self.source = run
        self.on_miss = on_miss
        self.hint = hint
        self.hits = 0
        self.misses: list[tuple[int | None, str, dict[str, Any]]] = []
        self._queues = _Queues()
        self._lock = threading.Lock()  # tools of one step run in parallel threads
        for i, event in enumerate(_from_step(run.events, from_step)):
            if event.kind != "tool":
                continue
            if event.status == "error" and event.error and not event.detail.get("interrupted"):
                value: Any = _RecordedError(event.error)
            elif event.status in ("ok", "cached") and "result" in event.detail:
                value = event.detail["result"]
                if isinstance(value, Uncopyable):
                    continue
            else:
                continue
            key = (event.name, canonical_args(event.detail.get("arguments") or {}))
            self._queues.add(key, _Entry(i, event.step, value, event))

    def __call__(self, step: int | None, name: str, arguments: dict[str, Any]) -> tuple[bool, Any]:
        with self._lock:
            entry = self._queues.take((name, canonical_args(arguments)), step)
            if entry is not None:
                self.hits += 1
                if isinstance(entry.value, _RecordedError):
                    raise entry.value.exception()
                value = copy_value(entry.value)  # the replay must never mutate the source run's recording
                value = entry.value if isinstance(value, Uncopyable) else value
                after = entry.event.detail.get("arguments_after")
                if isinstance(after, dict):  # the tool changed its arguments in place: the replay does too
                    return True, ServedCall(value, after)
                return True, value
            self.misses.append((step, name, dict(arguments)))
            if self.on_miss == "live":
                return False, None
            expected = self._queues.expected(step, match=lambda e: e.event.name == name)
        call = f"{name}({format_args(arguments)})"
        if expected is None:
            text = f"{call} was not called with these arguments in the recording, and no other {name} call is left"
            recorded = None
        else:
            recorded_args = expected.event.detail.get("arguments") or {}
            recorded = f"{name}({format_args(recorded_args)})"
            text = f"{call} is not in the recording; the recorded call at step {expected.step} was {recorded}"
            if recorded == call:  # cut short alike: say where they differ
                text += f" (they differ at {difference_text(recorded_args, dict(arguments))})"
        divergence = ReplayDivergence(
            step, text + self.hint, kind="tool", expected=recorded, actual=call, source_id=self.source.run_id
        )
        # A plain exception would become an error tool result inside haystack: see ReplayAborted.
        raise ReplayAborted(divergence)
