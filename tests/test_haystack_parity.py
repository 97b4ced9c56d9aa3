"""Parity with haystack's own Agent tests: what they do to an Agent gives, under the Recorder, what it gives bare.

haystack's tests of the Agent, its hooks and tools were run with every `Agent.run` / `run_async` routed through
`Recorder(agent).run(...)` (returning `run.result`). The behaviour that differed there (a generator method rebound
after the Agent was built, as haystack's tests do with mocks) and what probing the same seams found (an Agent run
inside a tool, Agent subclasses, an Agent changed after construction) are written here as scenarios of our own,
sync and async: each builds two identical Agents, runs one bare and one recorded, and compares what the user and
the generator saw.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest
from haystack.components.agents import Agent
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.tools import Tool

from agent_nb import Recorder
from scenarios import add, mul, plan_prompt, respond, scripted_agent

PROMPT = plan_prompt("add", "mul", "text")  # two tool steps, then a text answer: three generator calls


class ToolGenerator:
    """A tool-aware chat generator with `run` and `run_async`, scripted by the plan in the prompt."""

    def run(self, messages: list[ChatMessage], tools: Any = None, **kwargs: Any) -> dict[str, Any]:
        return {"replies": [respond(messages, tools)]}

    async def run_async(self, messages: list[ChatMessage], tools: Any = None, **kwargs: Any) -> dict[str, Any]:
        return {"replies": [respond(messages, tools)]}  # not through `run`: a spy on `run` sees sync calls only


def rebind(gen: ToolGenerator, how: str) -> Callable[[], list[dict[str, Any]]]:
    """Replace the generator's methods on the instance, as users and tests do; returns the calls seen since.

    `wrapper`: a logging decorator written without functools.wraps (its signature is `*args, **kwargs`).
    `mock`: `MagicMock(wraps=...)` / `AsyncMock(wraps=...)`, the way haystack's own tests spy on a generator.
    """
    run, run_async = gen.run, gen.run_async
    if how == "mock":
        run_mock, async_mock = MagicMock(wraps=run), AsyncMock(wraps=run_async)
        gen.run, gen.run_async = run_mock, async_mock  # type: ignore[method-assign]
        return lambda: [c.kwargs for c in run_mock.call_args_list + async_mock.call_args_list]
    calls: list[dict[str, Any]] = []

    def logged(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        return run(*args, **kwargs)

    async def logged_async(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        return await run_async(*args, **kwargs)

    gen.run, gen.run_async = logged, logged_async  # type: ignore[method-assign]
    return lambda: calls


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def run_bare(agent: Agent, mode: str, prompt: str) -> dict[str, Any]:
    messages = [ChatMessage.from_user(prompt)]
    return agent.run(messages=messages) if mode == "sync" else asyncio.run(agent.run_async(messages=messages))


def run_recorded(rec: Recorder, mode: str, prompt: str) -> Any:
    return rec.run(prompt) if mode == "sync" else asyncio.run(rec.run_async(prompt))


def conversation(result: dict[str, Any]) -> list[tuple[str, str | None, list[str], list[Any]]]:
    return [
        (
            m.role.value,
            m.text,
            [c.tool_name for c in m.tool_calls],
            [r.result for r in m.tool_call_results],
        )
        for m in result["messages"]
    ]


def seen_by_generator(calls: list[dict[str, Any]]) -> list[tuple[list[str], list[int] | None]]:
    """Per call: the argument names, and the identity of every Tool object passed."""
    return [(sorted(c), None if c.get("tools") is None else [id(t) for t in c["tools"]]) for c in calls]


@pytest.mark.parametrize("how", ["wrapper", "mock"])
def test_a_generator_whose_run_is_rebound_after_the_agent_is_built_runs_as_bare(mode: str, how: str) -> None:
    def build() -> tuple[Agent, Callable[[], list[dict[str, Any]]]]:
        gen = ToolGenerator()
        agent = Agent(chat_generator=gen, tools=[add, mul])  # the Agent checks `run`'s signature here, once
        return agent, rebind(gen, how)

    bare_agent, bare_calls = build()
    rec_agent, rec_calls = build()
    bare = run_bare(bare_agent, mode, PROMPT)
    run = run_recorded(Recorder(rec_agent), mode, PROMPT)

    assert run.status == "ok"
    assert conversation(run.result) == conversation(bare)
    assert seen_by_generator(rec_calls()) == seen_by_generator(bare_calls())
    assert seen_by_generator(bare_calls())[0][1] == [id(add), id(mul)]  # the user's very Tool objects
    assert run.timeline["kind"].astype(str).tolist().count("llm") == 3
    assert run.timeline["kind"].astype(str).tolist().count("tool") == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_generator_method_rebound_between_runs_is_the_one_the_next_recorded_run_calls(mode: str) -> None:
    gen = ToolGenerator()
    agent = Agent(chat_generator=gen, tools=[add, mul])
    rec = Recorder(agent)
    first = run_recorded(rec, mode, PROMPT)  # the Recorder builds (and keeps) its clone of the Agent here
    calls = rebind(gen, "wrapper")

    run_bare(agent, mode, PROMPT)
    bare_count = len(calls())
    second = run_recorded(rec, mode, PROMPT)

    assert bare_count == 3
    assert len(calls()) - bare_count == bare_count  # the recorded run called the new method as often as bare
    assert conversation(second.result) == conversation(first.result)


def research_tool() -> tuple[Tool, list[dict[str, Any]]]:
    """A tool whose body runs another Agent (bare, sync or async, as the tool is called); keeps that Agent's results."""
    inner = scripted_agent()
    results: list[dict[str, Any]] = []
    question = [ChatMessage.from_user(PROMPT)]

    def research(topic: str) -> str:
        results.append(inner.run(messages=question))
        return results[-1]["last_message"].text

    async def research_async(topic: str) -> str:
        results.append(await inner.run_async(messages=question))
        return results[-1]["last_message"].text

    params = {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}
    return Tool("research", "Ask a sub-agent.", params, function=research, async_function=research_async), results


def ask_research_once(messages: list[ChatMessage]) -> ChatMessage:
    if any(m.tool_call_result is not None for m in messages):
        return ChatMessage.from_assistant("done")
    return ChatMessage.from_assistant(tool_calls=[ToolCall("research", {"topic": "sums"}, id="r0")])


def test_an_agent_run_inside_a_tool_adds_no_rows_to_the_recorded_run(mode: str) -> None:
    def build() -> tuple[Agent, list[dict[str, Any]]]:
        tool, results = research_tool()
        return Agent(chat_generator=MockChatGenerator(response_fn=ask_research_once), tools=[tool]), results

    bare_agent, bare_inner = build()
    rec_agent, rec_inner = build()
    bare = run_bare(bare_agent, mode, "research sums")
    run = run_recorded(Recorder(rec_agent), mode, "research sums")

    assert conversation(run.result) == conversation(bare)
    assert [conversation(r) for r in rec_inner] == [conversation(r) for r in bare_inner]  # the sub-agent ran as bare
    rows = list(zip(run.timeline["kind"].astype(str), run.timeline["name"].astype(str), strict=True))
    assert rows == [("llm", "MockChatGenerator"), ("tool", "research"), ("llm", "MockChatGenerator")]


class PersonaAgent(Agent):
    """A subclass with an init parameter of its own that it does not keep as an attribute (a common pattern)."""

    def __init__(self, persona: str = "a helper", **kwargs: Any) -> None:
        super().__init__(system_prompt=f"You are {persona}.", **kwargs)


class PromptSpy:
    """A scripted tool-aware generator that keeps the messages of every call."""

    def __init__(self) -> None:
        self.seen: list[list[tuple[str, str | None]]] = []

    def run(self, messages: list[ChatMessage], tools: Any = None, **kwargs: Any) -> dict[str, Any]:
        self.seen.append([(m.role.value, m.text) for m in messages])
        return {"replies": [respond(messages, tools)]}

    async def run_async(self, messages: list[ChatMessage], tools: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.run(messages, tools, **kwargs)


def test_an_agent_subclass_with_init_parameters_of_its_own_is_recorded_as_it_runs_bare(mode: str) -> None:
    bare_gen, rec_gen = PromptSpy(), PromptSpy()
    bare = run_bare(PersonaAgent(persona="a pirate", chat_generator=bare_gen, tools=[add]), mode, PROMPT)
    run = run_recorded(Recorder(PersonaAgent(persona="a pirate", chat_generator=rec_gen, tools=[add])), mode, PROMPT)

    assert run.status == "ok"
    assert conversation(run.result) == conversation(bare)
    assert rec_gen.seen == bare_gen.seen
    assert rec_gen.seen[0][0] == ("system", "You are a pirate.")


def test_an_agent_changed_after_construction_runs_recorded_exactly_as_it_runs_bare(mode: str) -> None:
    def build(gen: PromptSpy) -> Agent:
        agent = Agent(chat_generator=gen, tools=[add, mul], system_prompt="Be brief.")
        # haystack renders the system prompt with a builder made in __init__: this change does not reach the model
        agent.system_prompt = "Be verbose."
        return agent

    bare_gen, rec_gen = PromptSpy(), PromptSpy()
    bare = run_bare(build(bare_gen), mode, PROMPT)
    run = run_recorded(Recorder(build(rec_gen)), mode, PROMPT)

    assert rec_gen.seen == bare_gen.seen  # the model got the very messages the bare Agent sends
    assert conversation(run.result) == conversation(bare)
