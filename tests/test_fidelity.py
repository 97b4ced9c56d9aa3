"""Fidelity: the Agent under the Recorder behaves exactly as bare, and a recorded run never changes.

Each test runs the same Agent bare and recorded (sync and async) and compares what the Agent's collaborators
saw: the generator's arguments and Tool objects, tracing spans, Toolset lifecycles, hook paths; then it tries
every way a recording could be rewritten after the fact and checks the saved bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from haystack import tracing
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.tools import SearchableToolset, Toolset, tool
from haystack.tracing import Span, Tracer

from agent_nb import InvalidEdit, Recorder, Run
from agent_nb.recording import Uncopyable
from scenarios import TOOLS, Mark, add, mul, plan_prompt, respond, until


# ---- collaborators that report what they were given --------------------------------------------------------
class SpyGenerator:
    """A tool-aware scripted generator that keeps the arguments of every call (run and run_async)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def run(self, messages: list[ChatMessage], tools: Any = None, **kwargs: Any) -> dict[str, Any]:
        self.calls.append({"messages": list(messages), "tools": tools, **kwargs})
        return {"replies": [respond(messages, tools)]}

    async def run_async(self, messages: list[ChatMessage], tools: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.run(messages, tools, **kwargs)


class NoToolsGenerator:
    """A plain chat generator: no `tools` parameter anywhere, as many non-agent generators are."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def run(self, messages: list[ChatMessage]) -> dict[str, Any]:
        self.calls.append({"messages": list(messages)})
        return {"replies": [ChatMessage.from_assistant(f"echo {len(messages)}")]}

    async def run_async(self, messages: list[ChatMessage]) -> dict[str, Any]:
        return self.run(messages)


class SyncOnlyGenerator(SpyGenerator):
    """Has `run` only: haystack runs it in a thread in async runs."""

    run_async = None  # type: ignore[assignment]


class _Span(Span):
    def __init__(self, name: str, tags: dict[str, Any], parent: _Span | None) -> None:
        self.name, self.tags, self.parent = name, dict(tags or {}), parent

    def set_tag(self, key: str, value: Any) -> None:
        self.tags[key] = value


class RecordingTracer(Tracer):
    """Keeps every span haystack opens, with its parent, for comparing span trees."""

    def __init__(self) -> None:
        self.spans: list[_Span] = []
        self._local = threading.local()

    @contextlib.contextmanager
    def trace(
        self, operation_name: str, tags: dict[str, Any] | None = None, parent_span: Span | None = None
    ) -> Iterator[Span]:
        parent = parent_span if parent_span is not None else self.current_span()
        span = _Span(operation_name, tags or {}, parent)  # type: ignore[arg-type]
        self.spans.append(span)
        stack = self._local.__dict__.setdefault("stack", [])
        stack.append(span)
        try:
            yield span
        finally:
            stack.pop()

    def current_span(self) -> Span | None:
        stack = self._local.__dict__.get("stack") or []
        return stack[-1] if stack else None

    def tree(self) -> list[tuple[str, str | None, tuple[tuple[str, Any], ...]]]:
        plain = (str, int, float, bool, type(None))
        return [
            (
                s.name,
                s.parent.name if s.parent else None,
                tuple(sorted((k, v) for k, v in s.tags.items() if isinstance(v, plain))),
            )
            for s in self.spans
        ]


@pytest.fixture(params=["sync", "async"])
def mode(request) -> str:
    return request.param


def run_bare(agent: Agent, mode: str, prompt: str, **kwargs: Any) -> dict[str, Any]:
    messages = [ChatMessage.from_user(prompt)]
    if mode == "sync":
        return agent.run(messages=messages, **kwargs)
    return asyncio.run(agent.run_async(messages=messages, **kwargs))


def run_recorded(rec: Recorder, mode: str, prompt: str, **kwargs: Any):
    if mode == "sync":
        return rec.run(prompt, **kwargs)
    return asyncio.run(rec.run_async(prompt, **kwargs))


def texts(result: dict[str, Any]) -> list[str]:
    return [f"{m.role.value}:{m.text}:{[(c.tool_name, c.arguments) for c in m.tool_calls]}" for m in result["messages"]]


# ---- 1. transparency ---------------------------------------------------------------------------------------
def test_generator_gets_no_tools_argument_when_the_agent_has_none(mode):
    bare_gen, rec_gen = NoToolsGenerator(), NoToolsGenerator()
    bare = run_bare(Agent(chat_generator=bare_gen), mode, "hi")
    run = run_recorded(Recorder(Agent(chat_generator=rec_gen)), mode, "hi")
    assert run.status == "ok" and texts(run.result) == texts(bare)
    assert [sorted(c) for c in rec_gen.calls] == [sorted(c) for c in bare_gen.calls] == [["messages"]]


def test_generator_and_tools_see_the_users_very_tool_objects(mode):
    gen = SpyGenerator()
    rec = Recorder(Agent(chat_generator=gen, tools=list(TOOLS)))
    run = run_recorded(rec, mode, plan_prompt("add", "text"))
    assert run.status == "ok"
    offered = gen.calls[0]["tools"]
    assert all(any(t is u for u in TOOLS) for t in offered) and {t.name for t in offered} == {t.name for t in TOOLS}
    assert [e.name for e in run.events if e.kind == "tool"] == ["add"]


def test_a_generator_with_only_run_works_in_async_runs_as_bare():
    bare_gen, rec_gen = SyncOnlyGenerator(), SyncOnlyGenerator()
    bare = run_bare(Agent(chat_generator=bare_gen, tools=[add]), "async", plan_prompt("add", "text"))
    run = run_recorded(Recorder(Agent(chat_generator=rec_gen, tools=[add])), "async", plan_prompt("add", "text"))
    assert texts(run.result) == texts(bare) and len(rec_gen.calls) == len(bare_gen.calls) == 2


def test_span_tree_is_the_same_as_bare_with_hook_spans_named_for_the_users_hooks(mode):
    def agent() -> Agent:
        return Agent(
            chat_generator=SpyGenerator(),
            tools=[add, mul],
            hooks={"before_llm": [Mark()], "after_tool": [Mark()], "on_exit": [Mark()]},
        )

    trees = []
    for recorded in (False, True):
        tracer = RecordingTracer()
        tracing.enable_tracing(tracer)
        try:
            if recorded:
                run_recorded(Recorder(agent()), mode, plan_prompt("add,mul", "text"))
            else:
                run_bare(agent(), mode, plan_prompt("add,mul", "text"))
        finally:
            tracing.disable_tracing()
        trees.append(tracer.tree())
    bare, recorded_tree = trees
    assert recorded_tree == bare
    hook_names = {dict(tags).get("haystack.agent.hook.type") for name, _, tags in bare if name == "haystack.agent.hook"}
    assert hook_names == {"scenarios.Mark"}


class LazyToolset(Toolset):
    """Loads its tools in warm_up(), as MCP-style toolsets do."""

    def __init__(self) -> None:
        super().__init__(tools=[])
        self.warmups = 0

    def warm_up(self) -> None:
        self.warmups += 1
        if not self.tools:
            self.tools = [add]


def test_a_toolset_that_loads_its_tools_in_warm_up_is_warmed_and_offered(mode):
    bare_set, rec_set = LazyToolset(), LazyToolset()
    bare = run_bare(Agent(chat_generator=SpyGenerator(), tools=bare_set), mode, plan_prompt("add", "text"))
    run = run_recorded(Recorder(Agent(chat_generator=SpyGenerator(), tools=rec_set)), mode, plan_prompt("add", "text"))
    assert texts(run.result) == texts(bare)
    assert rec_set.warmups == bare_set.warmups >= 1
    assert [e.summary for e in run.events if e.kind == "tool"] == ["add(a=2, b=3) -> 5"]


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"sunny in {city}"


@tool
def get_stock(symbol: str) -> str:
    """Get a stock price."""
    return f"{symbol}: 150"


def searching_model(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
    names = {t.name for t in tools or []}
    step = sum(m.role.value == "assistant" for m in messages)
    if step == 0:
        return ChatMessage.from_assistant(
            tool_calls=[ToolCall("search_tools", {"tool_keywords": "weather city"}, id="c0")]
        )
    if step == 1 and "get_weather" in names:
        return ChatMessage.from_assistant(tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="c1")])
    return ChatMessage.from_assistant(f"done, offered {sorted(names)}")


class FnGenerator:
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def run(self, messages: list[ChatMessage], tools: Any = None, **kwargs: Any) -> dict[str, Any]:
        return {"replies": [self.fn(messages, tools)]}


def test_searchable_toolset_discoveries_work_and_the_users_toolset_is_untouched(mode):
    def toolset() -> SearchableToolset:
        return SearchableToolset(catalog=[get_weather, get_stock], search_threshold=2)

    bare = run_bare(Agent(chat_generator=FnGenerator(searching_model), tools=toolset()), mode, "weather?")
    users = toolset()
    run = run_recorded(Recorder(Agent(chat_generator=FnGenerator(searching_model), tools=users)), mode, "weather?")
    assert texts(run.result) == texts(bare)
    assert [e.name for e in run.events if e.kind == "tool"] == ["search_tools", "get_weather"]
    assert users._discovered_tools == {}  # each run searched in its own spawned copy, as bare


def test_tools_given_at_run_time_in_toolsets_are_recorded(mode):
    rec = Recorder(Agent(chat_generator=SpyGenerator(), tools=[add]))
    run = run_recorded(rec, mode, plan_prompt("mul", "add", "text"), tools=[Toolset([mul]), add])
    assert [e.name for e in run.events if e.kind == "tool"] == ["mul", "add"]
    assert run.status == "ok"


class ContinueFlag:
    """before_llm: sets continue_run directly (an odd hook, but it shows which path haystack took)."""

    def run(self, state: State) -> None:
        state.data["continue_run"] = True


class SeeContinue:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def run(self, state: State) -> None:
        self.seen.append(state.data.get("continue_run"))


class Counting(Mark):
    def __init__(self) -> None:
        super().__init__()
        self.warmups = 0

    def warm_up(self) -> None:
        self.warmups += 1


@pytest.mark.parametrize("point", ["before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run"])
def test_a_switched_off_hook_is_absent_as_if_never_registered(mode, point):
    bare_seen, rec_seen = SeeContinue(), SeeContinue()
    bare_hooks = {"before_llm": [ContinueFlag()], "after_run": [bare_seen]}
    bare = run_bare(
        Agent(chat_generator=SpyGenerator(), tools=[add], hooks=bare_hooks), mode, plan_prompt("add", "text")
    )
    off = Counting()
    rec_hooks: dict[str, list[Any]] = {"before_llm": [ContinueFlag()], "after_run": [rec_seen]}
    rec_hooks.setdefault(point, []).insert(0, off)
    rec = Recorder(Agent(chat_generator=SpyGenerator(), tools=[add], hooks=rec_hooks))
    rec.disable(point, "Counting")
    run = run_recorded(rec, mode, plan_prompt("add", "text"))
    assert texts(run.result) == texts(bare) and rec_seen.seen == bare_seen.seen
    assert off.warmups == 0
    skipped = [e for e in run.events if e.status == "skipped"]
    assert skipped and {e.hook_point for e in skipped} == {point} and {e.name for e in skipped} == {"Counting"}


def test_streaming_callback_reaches_the_user_as_bare(mode):
    from haystack.components.generators.chat import MockChatGenerator

    chunks: dict[str, list[str]] = {"bare": [], "rec": []}

    def cb(name: str) -> Any:
        if mode == "sync":
            return lambda chunk: chunks[name].append(chunk.content)

        async def acb(chunk: Any) -> None:
            chunks[name].append(chunk.content)

        return acb

    run_bare(
        Agent(chat_generator=MockChatGenerator(responses=["one two three"])), mode, "hi", streaming_callback=cb("bare")
    )
    rec = Recorder(Agent(chat_generator=MockChatGenerator(responses=["one two three"])))
    run_recorded(rec, mode, "hi", streaming_callback=cb("rec"))
    assert chunks["rec"] == chunks["bare"] and chunks["bare"]


def test_each_run_uses_the_agent_as_it_is_when_the_run_starts():
    agent = Agent(chat_generator=SpyGenerator(), tools=[add], max_agent_steps=5)
    rec = Recorder(agent)
    assert rec.run(plan_prompt("add", "add", "text")).exit_reason == "text"
    agent.max_agent_steps = 1
    assert rec.run(plan_prompt("add", "add", "text")).exit_reason == "max_agent_steps"


# ---- 2. immutability ---------------------------------------------------------------------------------------
def _saved(run, tmp_path, name: str) -> bytes:
    return (tmp_path / name).read_bytes() if run.save(tmp_path / name) else b""


def meta_agent(hooks: dict[str, list[Any]] | None = None, **kwargs: Any) -> Agent:
    return Agent(chat_generator=SpyGenerator(), tools=list(TOOLS), hooks=hooks, **kwargs)


class MutateMessages:
    """A hook that changes messages in place: meta, tool-call arguments (what a careless hook does)."""

    def run(self, state: State) -> None:
        for m in state.data["messages"]:
            m.meta["touched"] = True
            for call in m.tool_calls:
                call.arguments["a"] = 999


def test_nothing_done_to_the_result_or_state_at_changes_a_finished_run(tmp_path, mode):
    run = run_recorded(Recorder(meta_agent()), mode, plan_prompt("add", "text"))
    before = _saved(run, tmp_path, "a.json")
    MutateMessages().run(
        State(schema={"messages": {"type": list[ChatMessage]}}, data={"messages": run.result["messages"]})
    )
    for seq in range(len(run.events)):
        state = run.state_at(seq, "after")
        for m in state["messages"]:
            m.meta["x"] = 1
            for call in m.tool_calls:
                call.arguments.clear()
        state["token_usage"]["prompt_tokens"] = -1
    for m in run.event(0).detail["replies"]:
        assert m.meta.get("x") is None
    assert _saved(run, tmp_path, "b.json") == before


def test_an_edit_that_mutates_then_fails_leaves_the_source_run_unchanged(tmp_path):
    run = Recorder(meta_agent()).run(plan_prompt("add", "mul", "text"))
    before = _saved(run, tmp_path, "a.json")

    def edit(state: dict[str, Any]) -> None:
        for m in state["messages"]:
            m.meta["edited"] = True
            for call in m.tool_calls:
                call.arguments["a"] = -5
        state["tool_call_counts"]["add"] = 99
        state["messages"] = "not a list"  # invalid: the fork is refused after the mutations above

    with pytest.raises(InvalidEdit):
        run.fork(step=1, edit=edit)
    assert _saved(run, tmp_path, "b.json") == before


@pytest.mark.parametrize("snapshots", ["fast", "deep"])
@pytest.mark.parametrize("tools", ["live", "cached"])
def test_hooks_running_in_a_replay_or_fork_never_change_the_source(tmp_path, snapshots, tools):
    rec = Recorder(meta_agent({"after_tool": [Mark()], "on_exit": [Mark()]}), snapshots=snapshots)
    run = rec.run(plan_prompt("add", "mul", "text"))
    before = _saved(run, tmp_path, "a.json")
    rec.add_hook("before_llm", MutateMessages(), name="mutator")
    rec.add_hook("after_tool", MutateMessages(), name="mutator")
    run.replay(hooks={"before_llm": {"mutator": True}, "after_tool": {"mutator": True}}, tools=tools)
    run.fork(step=1, hooks={"before_llm": {"mutator": True}}, tools=tools)
    assert _saved(run, tmp_path, "b.json") == before


def test_a_hook_mutating_a_tool_result_in_place_does_not_rewrite_the_tool_row():
    @tool(outputs_to_state={"doc": {"source": "doc"}})
    def fetch(name: str) -> dict:
        """Fetch a document."""
        return {"doc": {"title": name, "tags": ["a"]}}

    class Scribble:
        def run(self, state: State) -> None:
            doc = state.data.get("doc")
            if isinstance(doc, dict):
                doc["tags"].append("scribbled")

    def model(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        if not any(m.tool_call_result for m in messages):
            return ChatMessage.from_assistant(tool_calls=[ToolCall("fetch", {"name": "x"}, id="c0")])
        return ChatMessage.from_assistant("ok")

    agent = Agent(
        chat_generator=FnGenerator(model),
        tools=[fetch],
        state_schema={"doc": {"type": dict}},
        hooks={"after_tool": [Scribble()]},
    )
    run = Recorder(agent).run("go")
    row = next(e for e in run.events if e.kind == "tool")
    assert row.detail["result"] == {"doc": {"title": "x", "tags": ["a"]}}
    hook_row = next(e for e in run.events if e.kind == "hook" and e.hook_point == "after_tool")
    assert "doc" in hook_row.changed and run.state_at(hook_row.seq, "after")["doc"]["tags"] == ["a", "scribbled"]


def test_each_hook_row_holds_the_state_its_hook_left_however_keys_change(mode):
    """Snapshots take only the keys that changed: a key added, changed in place, swapped for another, or
    turned from a dict into a number and back must each show in the row exactly as the hook left it."""
    import copy

    truth: list[dict[str, Any]] = []

    class Churn:
        def run(self, state: State) -> None:
            data, step = state.data, state.data.get("step_count", 0)
            n = sum(1 for m in data["messages"] if m.tool_call_result is not None)
            if "notes" not in data and "memo" not in data:
                data["notes"] = {"n": [1]}  # a key added
            elif "notes" in data and isinstance(data["notes"], dict) and n == 1:
                data["notes"]["n"].append(step)  # changed in place
            elif "notes" in data and isinstance(data["notes"], dict):
                data["notes"] = 7  # a dict turned into a number
            elif "notes" in data:
                del data["notes"]
                data["memo"] = "x"  # swapped for another key: as many keys as before
            else:
                data["memo"] = {"k": step}  # a number (a str) turned into a dict
            truth.append({k: copy.deepcopy(data[k]) for k in ("notes", "memo") if k in data})

    agent = Agent(
        chat_generator=FnGenerator(respond),
        tools=TOOLS,
        hooks={"before_llm": [Churn()], "after_tool": [Churn()]},
        max_agent_steps=10,
    )
    run = run_recorded(Recorder(agent), mode, plan_prompt("add", "mul", "add", "mul"))
    rows = [e for e in run.events if e.kind == "hook" and e.status == "ok"]
    assert len(rows) == len(truth) >= 6
    for row, expected in zip(rows, truth, strict=True):
        after = run.state_at(row.seq, "after")
        assert {k: after[k] for k in ("notes", "memo") if k in after} == expected
    assert {"notes", "memo"} <= {k for row in rows for k in row.changed}


# ---- 3. robustness -----------------------------------------------------------------------------------------
class Odd:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")

    def __eq__(self, other: object) -> bool:
        raise TypeError("no comparing either")

    __hash__ = object.__hash__


class PutValue:
    def __init__(self, value: Any) -> None:
        self.value, self.done = value, False

    def run(self, state: State) -> None:
        if not self.done:
            self.done = True
            state.data["blob"] = self.value


def cyclic() -> list[Any]:
    value: list[Any] = [1]
    value.append(value)
    return value


def deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "make",
    [cyclic, lambda: deep(3000), Odd, lambda: np.arange(6).reshape(2, 3)],
    ids=["cyclic", "deep", "odd", "numpy"],
)
def test_values_that_cannot_be_copied_compared_or_printed_never_fail_the_run(mode, make):
    def agent() -> Agent:
        return meta_agent(
            {"before_llm": [PutValue(make())], "after_tool": [Mark()]}, state_schema={"blob": {"type": Any}}
        )

    bare = run_bare(agent(), mode, plan_prompt("add", "mul", "text"))
    run = run_recorded(Recorder(agent()), mode, plan_prompt("add", "mul", "text"))
    assert run.status == "ok" and texts(run.result) == texts(bare)
    tl = run.timeline
    changed_blob = [seq for seq, keys in zip(tl["seq"], tl["changed"], strict=True) if "blob" in keys]
    assert len(changed_blob) == 1, "the value changed once: it must be marked changed once"
    assert isinstance(run.to_csv(), str) and all(isinstance(s, str) for s in tl["summary"])


class Plain:
    """No `__eq__`: a copy never equals it."""

    def __init__(self) -> None:
        self.hits: list[int] = []


class Slotted:
    """No `__eq__` and no `__dict__`."""

    __slots__ = ("hits",)

    def __init__(self) -> None:
        self.hits: list[int] = []


def _bump(value: Any, n: int) -> None:
    if isinstance(value, pd.DataFrame):
        value.loc[len(value)] = [n]
    else:
        value.hits.append(n)


class PutThenBump:
    """Puts a value in the State once (before_llm); at after_tool changes it in place."""

    def __init__(self, point: str, make: Any) -> None:
        self.point, self.make = point, make

    def run(self, state: State) -> None:
        if state.data.get("thing") is None:
            state.data["thing"] = self.make()
        elif self.point == "after_tool":
            _bump(state.data["thing"], len(state.data["messages"]))


@pytest.mark.parametrize(
    "make", [Plain, Slotted, lambda: pd.DataFrame({"hits": [0]})], ids=["plain-object", "slots-object", "dataframe"]
)
def test_a_value_without_a_plain_eq_is_changed_only_where_it_changes(mode, make):
    """Objects that compare by identity, and DataFrames, are marked changed where a hook changes them, in place
    or not, and nowhere else; each row's State holds what the value held then."""
    hooks = {"before_llm": [PutThenBump("before_llm", make)], "after_tool": [PutThenBump("after_tool", make)]}
    rec = Recorder(meta_agent(hooks, state_schema={"thing": {"type": Any}}))
    run = run_recorded(rec, mode, plan_prompt("add", "mul", "text"))
    assert run.status == "ok"
    changed = [(e.kind, e.hook_point) for e in run.events if "thing" in e.changed]
    assert changed == [("hook", "before_llm"), ("hook", "after_tool"), ("hook", "after_tool")]

    def hits(value: Any) -> list[int]:
        return value["hits"].tolist()[1:] if isinstance(value, pd.DataFrame) else value.hits

    after_tool = [e for e in run.events if e.hook_point == "after_tool"]
    assert [hits(run.state_at(e.seq, "after")["thing"]) for e in after_tool] == [[3], [3, 5]]


class TagMessages:
    """Changes every message already in the State in place (its meta), as a careless hook does."""

    def run(self, state: State) -> None:
        for m in state.data["messages"]:
            m.meta["seen"] = m.meta.get("seen", 0) + 1


def _seen(messages: Any) -> list[Any]:
    return [m.meta.get("seen") for m in messages]


def test_messages_changed_in_place_are_never_shown_unchanged_without_a_word(mode, tmp_path):
    """Fast snapshots take a message as it enters the State. When a hook changes messages already there, the
    run says so in `run.warnings`, and its final State and saved result hold the change; deep snapshots show it
    on the hook's own rows. A run whose hooks change no message has no warning."""
    prompt = plan_prompt("add", "mul", "text")
    bare = run_bare(meta_agent({"after_tool": [TagMessages()]}), mode, prompt)
    fast = run_recorded(Recorder(meta_agent({"after_tool": [TagMessages()]})), mode, prompt)
    assert len(fast.warnings) == 1 and "changed in place" in fast.warnings[0] and "snapshots='deep'" in fast.warnings[0]
    assert _seen(fast.final_state["messages"]) == _seen(bare["messages"]) == [2, 2, 2, 1, 1, None]
    loaded = Run.load(fast.save(tmp_path / "fast.json"))
    assert _seen(loaded.result["messages"]) == _seen(bare["messages"]) and loaded.warnings == fast.warnings
    assert "changed in place" in loaded.to_html()

    deep = run_recorded(Recorder(meta_agent({"after_tool": [TagMessages()]}), snapshots="deep"), mode, prompt)
    rows = [e for e in deep.events if e.hook_point == "after_tool"]
    assert not deep.warnings and all("messages" in e.changed for e in rows)
    assert [_seen(deep.state_at(e.seq, "after")["messages"]) for e in rows] == [[1, 1, 1], [2, 2, 2, 1, 1]]

    assert not run_recorded(Recorder(meta_agent({"after_tool": [Mark()]})), mode, prompt).warnings


class ChangeOnce:
    """At the first after_tool, changes the conversation's messages in place in one of the ways a hook can."""

    def __init__(self, how: str) -> None:
        self.how, self.done = how, False

    def run(self, state: State) -> None:
        if self.done:
            return
        self.done = True
        messages = state.data["messages"]
        first, reply = messages[0], messages[1]  # the user's plan, the model's first reply (a tool call)
        if self.how == "text":
            object.__setattr__(first._content[0], "text", first._content[0].text + ";text")  # no haystack warning
        elif self.how == "part added":
            first._content.append(first._content[0].__class__("an extra part"))
        elif self.how == "part moved":  # the parts of the conversation, read in order, stay the same
            reply._content.insert(0, first._content.pop())
            first._content.append(reply._content[0].__class__(""))
            first._content.pop()
        elif self.how == "role":
            object.__setattr__(first, "_role", reply._role)
        elif self.how == "list to tuple":
            reply.meta["usage"]["extra"] = [1]
            state.data["messages"][1].meta["usage"]["extra"] = (1,)
        elif self.how == "arguments":
            reply.tool_calls[0].arguments["a"] = 999


IN_PLACE = ["text", "part added", "part moved", "role", "list to tuple", "arguments"]


@pytest.mark.parametrize("how", IN_PLACE)
def test_each_way_of_changing_a_message_in_place_is_found(how):
    """Fast snapshots check every message once as the run ends (field by field, in bulk, then one by one where
    something differs): each way a hook can change a message in place is reported, and the final State holds the
    change; deep snapshots show it on the hook's own row. The input message is frozen once, shared by `run.inputs`
    and the first snapshot: it keeps what the user sent."""
    prompt = [ChatMessage.from_user(plan_prompt("add", "text"))]
    sent = prompt[0].text
    fast = Recorder(meta_agent({"after_tool": [ChangeOnce(how)]})).run(prompt)
    assert len(fast.warnings) == 1 and "changed in place" in fast.warnings[0]
    assert fast.final_state["messages"][:2] == fast.result["messages"][:2]
    assert fast.inputs["messages"][0].text == fast.initial_state["messages"][0].text == sent
    deep = Recorder(meta_agent({"after_tool": [ChangeOnce(how)]}), snapshots="deep").run(
        [ChatMessage.from_user(plan_prompt("add", "text"))]
    )
    row = next(e for e in deep.events if e.hook_point == "after_tool")
    assert "messages" in row.changed and not deep.warnings
    assert deep.state_at(row.seq, "after")["messages"][:2] == deep.result["messages"][:2]
    assert deep.state_at(row.seq, "before")["messages"][:2] != deep.result["messages"][:2]


def test_deep_snapshots_keep_each_unchanged_message_once():
    """Deep snapshots compare every message at every event and share the ones that did not change: a run's
    snapshots hold as many message copies as the conversation has messages (memory linear in the run)."""
    run = Recorder(meta_agent({"after_tool": [Mark()]}), snapshots="deep").run(plan_prompt("add", "mul", "add", "text"))
    copies = {id(m) for e in run.events for s in (e.before, e.after) if s for m in s["messages"]}
    assert run.status == "ok" and len(copies) == len(run.final_state["messages"])
    assert not run.warnings


class RewriteArguments:
    """A guard at before_tool that rewrites the pending tool call's arguments in place."""

    def run(self, state: State) -> None:
        for call in state.data["messages"][-1].tool_calls:
            call.arguments["b"] = 100


def test_a_tool_call_rewritten_in_place_shows_as_the_model_sent_it_and_as_the_tool_got_it(mode):
    prompt = plan_prompt("add", "text")
    fast = run_recorded(Recorder(meta_agent({"before_tool": [RewriteArguments()]})), mode, prompt)
    llm, tool_row = next(e for e in fast.events if e.kind == "llm"), next(e for e in fast.events if e.kind == "tool")
    assert llm.detail["replies"][0].tool_calls[0].arguments["b"] != 100  # what the model sent
    assert tool_row.detail["arguments"]["b"] == 100 and "changed in place" in fast.warnings[0]
    assert fast.final_state["messages"][1].tool_calls[0].arguments["b"] == 100
    # The final State shares the message log up to the first changed message, as every other snapshot does.
    assert fast.final_snapshot["messages"].base is not None

    deep = run_recorded(Recorder(meta_agent({"before_tool": [RewriteArguments()]}), snapshots="deep"), mode, prompt)
    guard = next(e for e in deep.events if e.hook_point == "before_tool")
    assert "messages" in guard.changed and not deep.warnings
    assert deep.state_at(guard.seq, "after")["messages"][-1].tool_calls[0].arguments["b"] == 100


def test_a_deep_value_is_kept_as_a_marker_that_says_why():
    agent = meta_agent({"before_llm": [PutValue(deep(3000))]}, state_schema={"blob": {"type": Any}})
    run = Recorder(agent).run(plan_prompt("text"))
    marker = run.final_state["blob"]
    assert isinstance(marker, Uncopyable) and "RecursionError" in marker.reason


def test_numpy_arrays_in_message_meta_are_recorded(mode):
    def model(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        reply = respond(messages, tools)
        reply.meta["logprobs"] = np.linspace(0, 1, 4)
        return reply

    def agent() -> Agent:
        return Agent(chat_generator=FnGenerator(model), tools=list(TOOLS), hooks={"after_tool": [Mark()]})

    bare = run_bare(agent(), mode, plan_prompt("add", "text"))
    run = run_recorded(Recorder(agent()), mode, plan_prompt("add", "text"))
    assert texts(run.result) == texts(bare)
    assert run.timeline["messages_added"].tolist()[:2] == [0, 0] or run.status == "ok"
    assert [e.kind for e in run.events].count("llm") == 2
    assert not run.warnings, "the arrays were not changed: no message changed in place"


# ---- 4. lifecycle ------------------------------------------------------------------------------------------
def test_cancelling_an_async_run_during_a_sync_tool_adds_no_row_after_the_end():
    release, started = threading.Event(), threading.Event()

    @tool
    def slow(x: int) -> int:
        """Wait until released."""
        started.set()
        release.wait(10)
        return x

    def model(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        return ChatMessage.from_assistant(tool_calls=[ToolCall("slow", {"x": 1}, id="c0")])

    rec = Recorder(Agent(chat_generator=FnGenerator(model), tools=[slow]))

    async def main() -> None:
        task = asyncio.ensure_future(rec.run_async("go"))
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    run = rec.last_run
    rows = len(run.events)
    assert run.status == "error" and "CancelledError" in run.error
    release.set()
    until(lambda: not any(t.name.startswith("asyncio") and t.is_alive() for t in threading.enumerate()), 10)
    assert len(run.events) == rows  # the tool thread finished after the end: nothing was added
    assert [e.error for e in run.events if e.kind == "tool"] in ([], ["CancelledError: "])


def test_a_listener_raising_a_base_exception_at_run_start_never_leaves_a_run_running():
    rec = Recorder(meta_agent())

    def listener(run: Any, event: Any) -> None:
        if event is None:
            raise KeyboardInterrupt("a listener gone wrong")

    rec.subscribe(listener)
    run = rec.run(plan_prompt("add", "text"))
    assert run.status == "ok" and run.exit_reason == "text"


def test_a_slow_listener_costs_the_agent_no_time():
    rec = Recorder(meta_agent({p: [Mark()] for p in ("before_llm", "after_tool", "on_exit")}))
    prompt = plan_prompt("add", "mul", "text")
    seen: list[Any] = []

    def slow(run: Any, event: Any) -> None:
        time.sleep(0.05)
        seen.append(event)

    gaps = []
    for _ in range(3):  # the smallest of three pairs: other processes on the machine add noise to both runs
        quiet = rec.run(prompt)
        unsubscribe = rec.subscribe(slow)
        watched = rec.run(prompt)
        unsubscribe()
        offsets = zip(quiet.timeline["offset_ms"], watched.timeline["offset_ms"], strict=True)
        gaps.append(max(abs(a - b) for a, b in offsets))
    assert len(seen) == 3 * (len(watched.events) + 2)  # every event plus start and end, before run() returned
    # A listener on the Agent's thread would delay every event by 50 ms more than the one before it (the last
    # one by over 400 ms); what is left is the machine's noise (thread-pool start-up on 2 shared cores).
    assert min(gaps) < 40, gaps


def test_swapped_hook_runs_in_the_slot_and_the_recorder_hooks_are_untouched():
    class Note:
        def __init__(self, text: str) -> None:
            self.text = text

        def run(self, state: State) -> None:
            state.set("messages", [ChatMessage.from_system(self.text)])

    rec = Recorder(meta_agent({"before_llm": [Note("old")]}))
    swapped = rec.run(plan_prompt("text"), hooks={"before_llm": {"Note": Note("new")}})
    assert [m.text for m in swapped.result["messages"] if m.role.value == "system"] == ["new"]
    assert [m.text for m in rec.run(plan_prompt("text")).result["messages"] if m.role.value == "system"] == ["old"]


def test_bad_hook_configurations_are_refused_before_anything_runs():
    rec = Recorder(meta_agent({"before_llm": [Mark()]}))
    with pytest.raises(KeyError, match="unknown hook point"):
        rec.run("x", hooks={"before_lunch": {"Mark": False}})
    with pytest.raises(TypeError, match="hooks must map"):
        rec.run("x", hooks=5)
    with pytest.raises(TypeError, match="True, False or a hook object"):
        rec.run("x", hooks={"before_llm": {"Mark": "no"}})
    assert rec.runs == []


def test_max_runs_keeps_the_newest_finished_runs():
    rec = Recorder(meta_agent(), max_runs=2)
    runs = [rec.run(plan_prompt("text")) for _ in range(4)]
    assert rec.runs == runs[2:]
    rec.forget()
    assert rec.runs == []


def test_building_a_workbench_or_checking_a_fork_never_warms_the_users_toolset():
    from agent_nb import Workbench

    users = SearchableToolset(catalog=[get_weather, get_stock], search_threshold=2)
    warmups: list[int] = []
    original = users.warm_up
    users.warm_up = lambda: (warmups.append(1), original())[1]  # type: ignore[method-assign]
    rec = Recorder(Agent(chat_generator=FnGenerator(searching_model), tools=users))
    wb = Workbench(rec)
    wb.close()
    assert warmups == []  # only a run warms the tools, as haystack does


def test_a_message_holding_attributes_beyond_its_fields_is_copied_whole():
    """Frozen copies are built field by field, except for a message (or part) that holds more attributes than its
    dataclass fields: those are carried over as before, in the snapshots and in `run.inputs`."""
    prompt = ChatMessage.from_user(plan_prompt("add", "text"))
    prompt.source = {"channel": "web"}  # an attribute a user set, outside ChatMessage's fields
    prompt._content[0].lang = "en"
    run = Recorder(meta_agent()).run([prompt])
    for copy in (run.inputs["messages"][0], run.initial_state["messages"][0]):
        assert copy is not prompt and copy.source == {"channel": "web"} and copy._content[0].lang == "en"
    assert run.inputs["messages"][0] == run.initial_state["messages"][0] == prompt
