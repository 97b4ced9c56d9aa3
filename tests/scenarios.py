"""Deterministic scripted agents for the recording tests.

The first user message carries a plan, one entry per step: `PLAN add;add,mul;text` means step 0 calls
`add`, step 1 calls `add` and `mul` in parallel, step 2 answers in text. The reply is a pure function of
the conversation (the step is the number of assistant messages so far), so runs are reproducible and a
replay can be checked against the original.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.hooks import hook
from haystack.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def mul(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@tool
def fail(reason: str) -> str:
    """Always raises."""
    raise RuntimeError(reason)


@tool
def finish(answer: str) -> str:
    """Finish with an answer (an exit condition in some tests)."""
    return f"finished: {answer}"


TOOLS = [add, mul, fail, finish]
ARGS = {"add": {"a": 2, "b": 3}, "mul": {"a": 4, "b": 5}, "fail": {"reason": "boom"}, "finish": {"answer": "42"}}


def plan_of(messages: list[ChatMessage]) -> list[str]:
    for m in messages:
        if m.role.value == "user" and m.text and m.text.startswith("PLAN "):
            return m.text[5:].split(";")
    return ["text"]


def respond(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
    """The scripted model: follow the plan by step; count words for usage like a real model would."""
    plan = plan_of(messages)
    step = sum(1 for m in messages if m.role.value == "assistant")
    entry = plan[step] if step < len(plan) else "text"
    usage = {"prompt_tokens": 10 + 3 * len(messages), "completion_tokens": 5}
    if entry == "text" or not tools:
        results = [m.tool_call_result.result for m in messages if m.tool_call_result is not None]
        return ChatMessage.from_assistant(f"answer after {step} steps: {results}", meta={"usage": usage})
    calls = [ToolCall(name, dict(ARGS[name]), id=f"call_{step}_{i}") for i, name in enumerate(entry.split(","))]
    return ChatMessage.from_assistant(tool_calls=calls, meta={"usage": usage})


class Mark:
    """Does nothing; makes a hook point visible in the timeline."""

    def __init__(self, label: str = "") -> None:
        self.label = label

    def run(self, state: State) -> None:
        return None


class SetFlag:
    """Sets a run-control flag when the step count reaches `at` (continue_run or stop_run)."""

    def __init__(self, key: str, value: Any, at: int = 0, times: int = 1) -> None:
        self.key, self.value, self.at, self.times = key, value, at, times
        self.fired = 0

    def run(self, state: State) -> None:
        if state.data.get("step_count", 0) >= self.at and self.fired < self.times:
            self.fired += 1
            if self.key == "continue_run":
                state.set("messages", [ChatMessage.from_user("keep going")])
            state.set(self.key, self.value)


class Boom:
    """Raises."""

    def run(self, state: State) -> None:
        raise ValueError("hook exploded")


class DropToolCalls:
    """before_tool: replaces the pending tool-call message with a plain assistant text."""

    def run(self, state: State) -> None:
        from haystack.components.agents.state.state import replace_values

        msgs = list(state.data["messages"])
        msgs[-1] = ChatMessage.from_assistant("tool calls removed")
        state.set("messages", msgs, handler_override=replace_values)


@hook
def note(state: State) -> None:
    """Appends a system note."""
    state.set("messages", [ChatMessage.from_system("note")])


def marks_everywhere() -> dict[str, list[Any]]:
    points = ("before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run")
    return {p: [Mark(p)] for p in points}


def scripted_agent(hooks: dict[str, list[Any]] | None = None, **kwargs: Any) -> Agent:
    return Agent(chat_generator=MockChatGenerator(response_fn=respond), tools=list(TOOLS), hooks=hooks, **kwargs)


def plan_prompt(*entries: str) -> str:
    return "PLAN " + ";".join(entries)


def rows(run: Any) -> list[tuple[Any, ...]]:
    """(kind, hook_point or None, status) per timeline row."""
    tl = run.timeline
    return [
        (k, None if hp is None or hp != hp else hp, s)
        for k, hp, s in zip(
            tl["kind"].astype(object), tl["hook_point"].astype(object), tl["status"].astype(object), strict=True
        )
    ]


def until(predicate: Callable[[], bool], timeout: float = 60.0, every: float = 0.01) -> bool:
    """Poll `predicate` every `every` seconds until it is true or `timeout` seconds pass; its last answer (a wait
    for a background thread or a server, not an assertion: `assert until(...)`). The tests' one poll helper."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def serving(proc: Any, url: str, timeout: float) -> bool:
    """Wait until the server process `proc` answers `url` with 200; False when it exited or `timeout` passed."""
    import httpx  # only the server tests need it

    def answers() -> bool:
        try:
            return proc.poll() is not None or httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return until(answers, timeout, every=0.1) and proc.poll() is None
