"""Shared pieces of the benchmarks: a latency-free scripted model that runs exactly N steps, and a timer.

Every benchmark measures ratios side by side in one process, interleaving the two sides so machine noise
hits both alike.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def steps_fn(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
    """Call `add` until the conversation holds as many assistant messages as the first user message asks."""
    wanted = int(next(m.text for m in messages if m.role.value == "user").split()[-1])
    done = sum(m.role.value == "assistant" for m in messages)
    usage = {"prompt_tokens": 10 * len(messages), "completion_tokens": 5}
    if done + 1 >= wanted:
        return ChatMessage.from_assistant("finished", meta={"usage": usage})
    return ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": done, "b": 1})], meta={"usage": usage})


class Noop:
    """A trivial hook."""

    def run(self, state: State) -> None:
        state.data.get("step_count")


def six_hook_agent(max_agent_steps: int = 200) -> Agent:
    points = ("before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run")
    return Agent(
        chat_generator=MockChatGenerator(response_fn=steps_fn),
        tools=[add],
        hooks={p: [Noop()] for p in points},
        max_agent_steps=max_agent_steps,
    )


class ToolSteps:
    """A scripted model for a run that starts from a long conversation: calls `add` until the conversation holds
    `steps - 1` tool results, then answers (the input conversation holds no tool results)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def __call__(self, messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        done = sum(1 for m in messages if m.role.value == "tool")
        usage = {"prompt_tokens": 10, "completion_tokens": 5}
        if done + 1 >= self.steps:
            return ChatMessage.from_assistant("finished", meta={"usage": usage})
        return ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": done, "b": 1})], meta={"usage": usage})


def long_conversation_agent(steps: int) -> Agent:
    """The six-hook agent, with a model that runs `steps` steps whatever the conversation it starts from."""
    points = ("before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run")
    return Agent(
        chat_generator=MockChatGenerator(response_fn=ToolSteps(steps)),
        tools=[add],
        hooks={p: [Noop()] for p in points},
        max_agent_steps=steps + 5,
    )


def conversation(n: int) -> list[ChatMessage]:
    """`n` messages of a chat: user questions and assistant answers with usage meta, as a chat history holds."""
    return [
        ChatMessage.from_user(f"question {i}: " + "word " * 10)
        if i % 2 == 0
        else ChatMessage.from_assistant(f"answer {i}", meta={"model": "m", "usage": {"prompt_tokens": i}})
        for i in range(n)
    ]


def machine() -> str:
    """What the figures were measured on: cores, CPU model, Python, and the load average at the start."""
    import platform

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}; load average {load}"


def interleaved(
    sides: dict[str, Callable[[], Any]], reps: int, warmup: int = 3, clock: Callable[[], float] = time.process_time
) -> dict[str, float]:
    """Median seconds per call of each side, calls interleaved.

    The default clock is the process's CPU time (all its threads): on a shared machine other processes then
    cannot inflate one side's figure. Pass `clock=time.perf_counter` for wall time.
    """
    for _ in range(warmup):
        for fn in sides.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(reps):
        for name, fn in sides.items():
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def report(title: str, value: float, target: str, unit: str = "x") -> None:
    print(f"{title:<64} {value:8.3f}{unit}   (target {target})")
