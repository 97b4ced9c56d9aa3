"""agent_nb against a real OpenAI-compatible HTTP server (fakellm, started by the test on 127.0.0.1).

`OpenAIChatGenerator` end to end: record, replay with zero requests to the server, fork with `reply=`,
save / load, streaming, async, the OTel export, and each failure (HTTP 500 and 429, tool-call arguments
sent as a JSON string, missing usage, an empty reply): the partial run is kept and the error readable.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Annotated

import httpx
import pandas as pd
import pytest
import yaml
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.tools import tool
from haystack.utils import Secret

from agent_nb import Recorder, Run, demo_agent
from agent_nb.demo.hooks import inject_date
from scenarios import serving

RULES = [
    {"name": "server_error", "when": {"messages_contain": "SERVER_ERROR"},
     "respond": {"status": 500, "error": "the model crashed"}},
    {"name": "rate_limit", "when": {"messages_contain": "RATE_LIMIT"},
     "respond": {"status": 429, "error": "slow down"}},
    {"name": "empty", "when": {"messages_contain": "EMPTY_REPLY"}, "respond": {"content": ""}},
    # After a tool result (in this request or earlier in the conversation): the answer.
    {"name": "answer", "when": {"tool_result_contains": ""}, "respond": {"content": "Done: the tool answered."}},
    {"name": "string_args", "when": {"messages_contain": "STRING_ARGS"},
     "respond": {"tool_calls": [{"name": "add", "arguments": '{"a": 2, "b": 3}'}]}},
    {"name": "add", "when": {"messages_contain": "ADD"},
     "respond": {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]}},
    {"name": "chat", "respond": {"content": "Hello from the server."}},
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, base: str) -> None:
        self.base = base

    @property
    def requests(self) -> int:
        """Chat requests the server has answered (its own count)."""
        return httpx.get(f"{self.base}/_fakellm/stats", timeout=5).json()["total_requests"]

    def reset(self) -> None:
        """Forget conversations (tool results seen), so each run starts at its first turn."""
        httpx.post(f"{self.base}/_fakellm/reset", timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("fakellm")
    config = folder / "fakellm.yaml"
    config.write_text(yaml.safe_dump({"version": 1, "rules": RULES}))
    port = _free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 (held open for the server's whole life)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "fakellm.server:app", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "FAKELLM_CONFIG": str(config)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    if not serving(proc, f"{base}/_fakellm/stats", 30):
        proc.kill()
        raise RuntimeError(f"fakellm did not start: {(folder / 'server.log').read_text()}")
    try:
        yield Server(base)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@tool(description="Add two numbers.")
def add(a: Annotated[float, "first"], b: Annotated[float, "second"]) -> float:
    """Add two numbers."""
    return a + b


def agent(server: Server, streaming: bool = False):
    generator = OpenAIChatGenerator(
        api_key=Secret.from_token("x"),
        model="gpt-4o-mini",
        api_base_url=f"{server.base}/v1",
        max_retries=0,
        timeout=10,
        streaming_callback=(lambda chunk: None) if streaming else None,
    )
    return demo_agent(generator, hooks={"before_llm": [inject_date]}, tools=[add], max_agent_steps=4)


@pytest.fixture
def rec(server) -> Recorder:
    server.reset()
    return Recorder(agent(server))


def test_record_replay_with_zero_requests_save_load(server, rec, tmp_path):
    before = server.requests
    run = rec.run("ADD two and three")
    assert server.requests - before == 2  # tool call, then the answer
    assert run.status == "ok" and run.final_answer == "Done: the tool answered."
    llm = run.timeline.query("kind == 'llm'")
    assert len(llm) == 2 and llm["prompt_tokens"].notna().all() and llm["completion_tokens"].notna().all()
    tool_row = run.timeline.query("kind == 'tool'").iloc[0]
    assert tool_row["name"] == "add" and tool_row["status"] == "ok"
    assert run.event(int(tool_row["seq"])).detail["result"] == 5

    count = server.requests
    again = run.replay()
    assert server.requests == count, "an unedited replay must not call the server"
    assert again.final_answer == run.final_answer and again.usage["cached_llm_calls"] == 2

    loaded = Run.load(run.save(str(tmp_path / "run.json.gz")))
    count = server.requests
    replayed = Recorder(agent(server)).replay(loaded)
    assert server.requests == count and replayed.final_answer == run.final_answer


def test_fork_with_a_reply_whose_tool_calls_have_no_id(server, rec):
    run = rec.run("ADD two and three")
    server.reset()
    count = server.requests
    # As the fork docstring and notebook 06 write it: a ToolCall without an id.
    reply = ChatMessage.from_assistant(tool_calls=[ToolCall(tool_name="add", arguments={"a": 4, "b": 5})])
    fork = run.fork(step=0, reply=reply)
    assert fork.error is None, fork.error
    assert fork.status == "ok" and fork.final_answer == "Done: the tool answered."
    tool_event = next(e for e in fork.events if e.kind == "tool")
    assert tool_event.detail["result"] == 9
    assert server.requests - count == 1  # the replacement reply is served, the next step asks the server


def test_streaming_records_the_reply_and_unknown_usage_stays_unknown(server):
    server.reset()
    run = Recorder(agent(server, streaming=True)).run("ADD two and three")
    assert run.status == "ok" and run.final_answer == "Done: the tool answered."
    assert [e.name for e in run.events if e.kind == "tool"] == ["add"]
    llm = run.timeline.query("kind == 'llm'")
    # fakellm sends no usage in a stream: the counts are unknown, not 0.
    assert llm["prompt_tokens"].isna().all() and llm["completion_tokens"].isna().all()
    assert pd.isna(run.usage["prompt_tokens"]), f"unknown tokens read as {run.usage['prompt_tokens']!r}"


def test_async_run_and_replay(server, rec):
    run = asyncio.run(rec.run_async("ADD two and three"))
    assert run.status == "ok" and run.final_answer == "Done: the tool answered."
    count = server.requests
    again = asyncio.run(run.replay_async())
    assert server.requests == count and again.final_answer == run.final_answer


@pytest.mark.parametrize(
    ("prompt", "status_code", "message"),
    [("SERVER_ERROR please", 500, "the model crashed"), ("RATE_LIMIT me", 429, "slow down")],
)
def test_server_errors_keep_the_partial_run_with_a_readable_error(rec, prompt, status_code, message):
    with pytest.raises(Exception) as raised:
        rec.run(prompt)
    run = rec.last_run
    assert run is not None and run.status == "error"
    assert str(status_code) in run.error and message in run.error
    assert run.error.startswith(type(raised.value).__name__)
    # The partial run: the hooks before the call, and the failed call itself, with its error.
    llm = run.timeline.query("kind == 'llm'")
    assert list(llm["status"]) == ["error"] and message in llm["error"].iloc[0]
    assert run.timeline.query("kind == 'hook'")["name"].tolist()[:1] == ["inject_date"]


def test_tool_call_arguments_sent_as_a_json_string(rec):
    # Some servers send arguments as a JSON string inside the JSON: the recorder must record the row as it came
    # and let haystack fail (or not) as it would without agent_nb.
    try:
        bare_error = None
        rec.agent.run(messages=[ChatMessage.from_user("STRING_ARGS two and three")])
    except Exception as exc:
        bare_error = exc
    try:
        rec.run("STRING_ARGS two and three")
    except Exception as exc:
        recorded_error = exc
    else:
        recorded_error = None
    run = rec.last_run
    llm = [e for e in run.events if e.kind == "llm"]
    assert llm, "the LLM row that carried the string arguments was lost"
    assert llm[0].status == "ok"
    assert type(recorded_error) is type(bare_error), (recorded_error, bare_error)


def test_an_empty_reply_is_flagged(rec):
    run = rec.run("EMPTY_REPLY please")
    llm = run.timeline.query("kind == 'llm'")
    assert len(llm) >= 1
    first = llm.iloc[0]
    assert first["status"] != "ok" or pd.notna(first["error"]), (
        f"empty reply recorded as plain ok: {first['summary']!r}"
    )


def test_otel_export_of_a_server_run(server, rec):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agent_nb.export import to_otel

    run = rec.run("ADD two and three")
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    to_otel(run, provider)
    chat = [s for s in memory.get_finished_spans() if s.name.startswith("chat ")]
    assert [s.name for s in chat] == ["chat gpt-4o-mini"] * 2
    tool_span = next(s for s in memory.get_finished_spans() if s.name == "execute_tool add")
    reply_call = run.events[next(i for i, e in enumerate(run.events) if e.kind == "llm")].detail["replies"][0]
    assert tool_span.attributes["gen_ai.tool.call.id"] == reply_call.tool_calls[0].id
