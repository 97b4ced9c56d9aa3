"""Odd values a user's Agent may hold or pass around: every read, view, save, export and replay survives them.

Cyclic State values, values whose `__repr__` / `__str__` raise, a tool that changes its arguments in place, the
final State handed out, and a gzip bomb. Each test failed on the code before its fix (issue 21).
"""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.hooks import hook
from haystack.tools import tool

from agent_nb import Recorder
from agent_nb.recording import Uncopyable
from agent_nb.recording.digest import message_digest
from agent_nb.recording.persist import RunFileError, load_run
from agent_nb.replay.cache import explain_input_difference
from scenarios import plan_prompt, scripted_agent


def run_in(mode: str, rec: Recorder, prompt: str) -> Any:
    return rec.run(prompt) if mode == "sync" else asyncio.run(rec.run_async(prompt))


# ---- cyclic values -----------------------------------------------------------------------------------------------
@hook
def put_cycles(state: State) -> None:
    loop: list[Any] = [1, 2]
    loop.append(loop)
    mapping: dict[str, Any] = {"a": 1}
    mapping["self"] = mapping
    state.set("loop", loop)
    state.set("mapping", mapping)


def cyclic_run() -> Any:
    agent = scripted_agent(
        hooks={"before_run": [put_cycles]}, state_schema={"loop": {"type": list}, "mapping": {"type": dict}}
    )
    return Recorder(agent).run(plan_prompt("add", "text"))


def test_a_cyclic_state_value_reads_back_with_its_cycle():
    run = cyclic_run()
    after = run.state_at(0, "after")  # raised RecursionError
    loop, mapping = after["loop"], after["mapping"]
    # The list key merges: the State holds [1, 2, <the cyclic list>], and so does the copy.
    assert loop[:2] == [1, 2] and loop[2][2] is loop[2]
    assert mapping["self"] is mapping and mapping["a"] == 1
    final = run.final_state
    assert final["mapping"]["self"] is final["mapping"]


def test_a_cyclic_value_is_marked_in_summaries_and_views():
    run = cyclic_run()
    assert run.timeline["summary"][0] == "loop=[1, 2, [1, 2, [...]]], mapping={'a': 1, 'self': {...}}"
    assert "[1, 2, [...]]" in str(run.diff(0))
    assert "{...}" in run.to_html()


def test_a_cyclic_value_saves_and_loads_with_the_cycle_marked(tmp_path: Path):
    run = cyclic_run()
    loaded = load_run(run.save(tmp_path / "cyclic.json"))
    mapping = loaded.state_at(0, "after")["mapping"]
    assert mapping["a"] == 1  # was unrolled 200 levels deep, with no word
    marker = mapping["self"]
    assert isinstance(marker, Uncopyable) and marker.value_repr == "{...}" and "a cycle" in marker.reason
    loop = loaded.final_state["loop"]
    assert loop[:2] == [1, 2] and loop[2][:2] == [1, 2] and isinstance(loop[2][2], Uncopyable)


# ---- values whose repr or str raises -----------------------------------------------------------------------------
class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __str__(self) -> str:
        raise RuntimeError("no str")


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


@hook
def put_unprintable(state: State) -> None:
    state.set("odd", Unprintable())
    state.set("odds", [Unprintable(), {"k": Unprintable()}])


MARKER = "<Unprintable: repr failed with RuntimeError>"


def unprintable_run() -> Any:
    def model(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        reply = ChatMessage.from_assistant("fine")
        reply.meta["raw"] = Unprintable()  # a generator's meta may hold anything
        return reply

    agent = Agent(
        chat_generator=MockChatGenerator(response_fn=model),
        hooks={"before_run": [put_unprintable]},
        state_schema={"odd": {"type": Any}, "odds": {"type": list}},
    )
    return Recorder(agent).run("hello")


def test_a_hook_error_whose_str_raises_surfaces_as_itself():
    @hook
    def explode(state: State) -> None:
        raise UnprintableError()

    rec = Recorder(scripted_agent(hooks={"before_llm": [explode]}))
    with pytest.raises(UnprintableError):  # was RuntimeError("no str"), raised by the recorder itself
        rec.run(plan_prompt("text"))
    run = rec.last_run
    assert run.error == "UnprintableError: <str failed with RuntimeError>"
    assert run.timeline["error"].dropna().tolist() == ["UnprintableError: <str failed with RuntimeError>"]


def test_an_unprintable_value_shows_as_a_marker_in_report_and_html():
    run = unprintable_run()
    assert run.timeline["summary"][0].startswith("odd=<Unprintable: repr failed with…")  # cut at a word, marked
    html = run.to_html()  # raised RuntimeError
    assert "&lt;Unprintable: repr failed with RuntimeError&gt;" in html
    from agent_nb.views.report import run_report

    assert "repr failed with RuntimeError" in run_report(run)


def test_an_unprintable_value_shows_as_a_marker_in_the_widgets():
    from agent_nb.widgets.inspector import InspectorPanel
    from agent_nb.widgets.trace_view import TraceView

    run = unprintable_run()
    detail = TraceView(run).select(0)
    assert MARKER in detail["after"]  # was "could not show this event: RuntimeError('no repr')"
    panel = InspectorPanel()
    panel.show_run(run)
    for seq in range(len(run.events)):
        panel.inspect(seq)  # raised RuntimeError
    panel.inspect(0)
    assert "&lt;Unprintable: repr failed with RuntimeError&gt;" in panel.after.value


@pytest.mark.parametrize("odd", ["cyclic", "unprintable"])
def test_the_fork_editor_loads_a_state_with_odd_values(odd: str):
    from agent_nb.widgets.fork_editor import ForkEditor

    run = cyclic_run() if odd == "cyclic" else unprintable_run()
    editor = ForkEditor(on_fork=lambda **kw: None)
    editor.show_run(run)  # raised ValueError (circular reference) / RuntimeError
    shown = editor.state_json.value
    assert ("[1, 2, [1, 2, [...]]]" if odd == "cyclic" else MARKER) in shown


def test_cyclic_and_unprintable_tool_arguments_export_to_otel_with_content():
    """A generator may put anything in a ToolCall; haystack runs such a call bare, so the export must survive it."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agent_nb.export import to_otel

    @tool
    def echo(x: list, y: dict) -> str:
        """Takes anything."""
        return "ok"

    def model(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        if any(m.tool_call_result for m in messages):
            return ChatMessage.from_assistant("done")
        loop: list[Any] = [1]
        loop.append(loop)
        return ChatMessage.from_assistant(tool_calls=[ToolCall("echo", {"x": loop, "y": {"odd": Unprintable()}})])

    run = Recorder(Agent(chat_generator=MockChatGenerator(response_fn=model), tools=[echo])).run("go")
    assert run.timeline["summary"][0] == f"echo(x=[1, [...]], y={{'odd': {MARKER}}})"
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    to_otel(run, provider, content=True)  # raised RecursionError, then RuntimeError
    tool_span = next(s for s in exporter.get_finished_spans() if s.name == "execute_tool echo")
    assert tool_span.attributes["gen_ai.tool.call.arguments"] == f'{{"x": [1, "[...]"], "y": {{"odd": "{MARKER}"}}}}'


def test_an_unprintable_value_reads_as_a_marker_in_csv_and_datasets(tmp_path: Path):
    """These survived before the fix too (the summary was already guarded); kept so they stay so."""
    from agent_nb.export.datasets import dataset_frame, read_parquet, to_parquet

    run = unprintable_run()
    SUMMARY = "odd=<Unprintable: repr failed with…"  # cut at a word boundary, marked, as summaries are
    assert SUMMARY in run.timeline.to_csv()
    assert SUMMARY in dataset_frame([run]).to_csv()
    to_parquet([run], tmp_path / "ds")
    assert SUMMARY in read_parquet(tmp_path / "ds")["summary"].iloc[0]


# ---- a tool that changes its arguments in place --------------------------------------------------------------
@tool
def total(numbers: list[int]) -> int:
    """Sum the numbers (sorting them in place first, as careless tools do)."""
    numbers.sort()
    return sum(numbers)


def sorting_agent() -> Agent:
    def model(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        if any(m.tool_call_result for m in messages):
            return ChatMessage.from_assistant(f"the total is {messages[-1].tool_call_result.result}")
        return ChatMessage.from_assistant(tool_calls=[ToolCall("total", {"numbers": [3, 1, 2]}, id="c1")])

    return Agent(chat_generator=MockChatGenerator(response_fn=model), tools=[total])


def digests(state: dict[str, Any]) -> list[str]:
    return [message_digest(m) for m in state["messages"]]


@pytest.mark.parametrize("snapshots", ["fast", "deep"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_tool_that_sorts_its_argument_replays_from_the_cache(mode: str, snapshots: str):
    run = run_in(mode, Recorder(sorting_agent(), snapshots=snapshots), "sum them")
    final = run.final_state["messages"]
    assert final[1].tool_calls[0].arguments == {"numbers": [1, 2, 3]}  # what the LLM saw at the next step
    assert next(e for e in run.events if e.kind == "tool").detail["arguments"] == {"numbers": [3, 1, 2]}

    replay = run.replay(tools="cached", on_miss="error") if mode == "sync" else asyncio.run(
        run.replay_async(tools="cached", on_miss="error"))  # fmt: skip
    assert replay.timeline["status"].tolist() == ["cached", "cached", "cached"]
    assert digests(replay.final_state) == digests(run.final_state)
    again = replay.replay(tools="cached", on_miss="error")  # a replay of the replay too
    assert digests(again.final_state) == digests(run.final_state)


def test_a_divergence_on_alike_reading_messages_says_where_they_differ():
    call = ToolCall("total", {"numbers": [1, 2, 3]}, id="c1")
    recorded = ChatMessage.from_tool("6", origin=call)
    now = ChatMessage.from_tool("6", origin=ToolCall("total", {"numbers": [3, 1, 2]}, id="c1"))
    text = explain_input_difference([recorded], [], [now], [])
    # Was: 'message 0 differs: recorded tool "total -> 6", now tool "total -> 6"'
    assert text == (
        'message 0 differs: recorded tool "total -> 6", now tool "total -> 6" '
        "(at content[0].tool_call_result.origin.arguments.numbers[0]: recorded 1, now 3)"
    )


# ---- the final State ---------------------------------------------------------------------------------------------
def test_final_state_reads_like_state_at_plain_lists_and_private_copies():
    run = Recorder(scripted_agent()).run(plan_prompt("add", "text"))
    final = run.final_state
    assert type(final["messages"]) is list  # was the recorder's internal MessageLog
    assert digests(final) == digests(run.state_at(len(run.events) - 1, "after"))
    final["messages"][0].meta["touched"] = True
    final["messages"].clear()
    final["tool_call_counts"]["add"] = 99
    fresh = run.final_state
    assert len(fresh["messages"]) == 4 and "touched" not in fresh["messages"][0].meta
    assert fresh["tool_call_counts"]["add"] == 1


# ---- a gzip bomb -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("trailer", ["honest", "lying"])
def test_a_gzip_bomb_is_refused_at_the_cost_of_a_chunk_not_the_limit(tmp_path: Path, trailer: str):
    limit = 64 * 2**20
    path = tmp_path / "bomb.json.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        zeros = b"0" * 2**20
        for _ in range(96):  # 96 MiB of zeros: a ~100 KB file
            out.write(zeros)
    if trailer == "lying":  # a crafted trailer stating 100 bytes: only decompressing can tell
        path.write_bytes(path.read_bytes()[:-4] + (100).to_bytes(4, "little"))
    tracemalloc.start()
    try:
        with pytest.raises(RunFileError, match="decompresses to more than the limit of 67,108,864 bytes"):
            load_run(path, max_bytes=limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"refusing the bomb allocated {peak / 2**20:.0f} MiB"  # was the whole limit, 64 MiB


def test_a_gzipped_run_still_loads(tmp_path: Path):
    run = Recorder(scripted_agent()).run(plan_prompt("add", "text"))
    loaded = load_run(run.save(tmp_path / "run.json.gz"))
    assert loaded.timeline["summary"].tolist() == run.timeline["summary"].tolist()
