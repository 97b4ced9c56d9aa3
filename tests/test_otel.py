"""OpenTelemetry export of recorded runs: span tree, GenAI / haystack / OpenInference attributes, timestamps,
content on request, live export through a listener, and the OTLP/JSON file form."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from haystack import tracing
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agent_nb import Recorder, demo_agent
from agent_nb.export import OtelListener, to_otel, to_otlp_json
from scenarios import until

PROMPT = "What is 2 + 3? Then save a note of it."


@pytest.fixture
def memory() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def _by_id(spans: tuple[ReadableSpan, ...]) -> dict[int, ReadableSpan]:
    return {s.context.span_id: s for s in spans}


def _parent(span: ReadableSpan, spans: dict[int, ReadableSpan]) -> ReadableSpan | None:
    return spans.get(span.parent.span_id) if span.parent is not None else None


def test_run_exports_as_a_genai_span_tree_with_recorded_times(memory):
    provider, exporter = memory
    rec = Recorder(demo_agent())
    run = rec.run(PROMPT)
    trace_id = to_otel(run, provider)
    spans = exporter.get_finished_spans()
    by_id = _by_id(spans)

    assert {format(s.context.trace_id, "032x") for s in spans} == {trace_id}
    # One span per event, one per step, one for the run.
    assert len(spans) == len(run.events) + run.steps + 1
    root = next(s for s in spans if s.parent is None)
    assert root.name == "invoke_agent Agent"
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.conversation.id"] == run.run_id
    assert root.attributes["openinference.span.kind"] == "AGENT"
    assert root.attributes["agent_nb.run.exit_reason"] == run.exit_reason
    assert len(root.attributes["agent_nb.run.fingerprint_sha256"]) == 64
    usage = run.usage
    assert root.attributes["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert root.attributes["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert root.start_time == run.started_unix_ns
    assert root.end_time == run.started_unix_ns + round(run.duration_ms * 1e6)

    steps = sorted(
        (s for s in spans if s.name == "haystack.agent.step"), key=lambda s: s.attributes["haystack.agent.step"]
    )
    assert [s.attributes["haystack.agent.step"] for s in steps] == list(range(run.steps))
    assert all(_parent(s, by_id) is root for s in steps)

    for event in run.events:
        span = next(s for s in spans if s.attributes.get("agent_nb.event.seq") == event.seq)
        # Recorded timestamps, not the export time.
        assert span.start_time == run.started_unix_ns + round(event.offset_ms * 1e6)
        assert span.end_time == run.started_unix_ns + round((event.offset_ms + event.duration_ms) * 1e6)
        parent = _parent(span, by_id)
        if event.step is None:
            assert parent is root
        else:
            assert parent.name == "haystack.agent.step" and parent.attributes["haystack.agent.step"] == event.step
            assert parent.start_time <= span.start_time and span.end_time <= parent.end_time
        if event.kind == "llm":
            assert span.name == "chat scripted-1"
            assert span.kind.name == "CLIENT"
            assert span.attributes["gen_ai.usage.input_tokens"] == event.prompt_tokens
            assert span.attributes["gen_ai.usage.output_tokens"] == event.completion_tokens
            assert span.attributes["llm.token_count.prompt"] == event.prompt_tokens
            assert span.attributes["llm.token_count.total"] == event.prompt_tokens + event.completion_tokens
            assert span.attributes["openinference.span.kind"] == "LLM"
        elif event.kind == "tool":
            assert span.name == f"execute_tool {event.name}"
            assert span.attributes["gen_ai.tool.name"] == event.name
            assert span.attributes["gen_ai.tool.call.id"].startswith("call_")
            assert span.attributes["openinference.span.kind"] == "TOOL"
        else:
            assert span.name == "haystack.agent.hook"
            assert span.attributes["haystack.agent.hook.point"] == event.hook_point
            assert span.attributes["agent_nb.hook.name"] == event.name


def test_content_only_on_request(memory):
    provider, exporter = memory
    run = Recorder(demo_agent()).run(PROMPT)
    to_otel(run, provider)
    private = [k for s in exporter.get_finished_spans() for k in s.attributes if "message" in k or k.endswith(".value")]
    assert private == []
    assert not any(k in s.attributes for s in exporter.get_finished_spans() for k in ("gen_ai.tool.call.arguments",))
    assert all(not s.events for s in exporter.get_finished_spans())

    exporter.clear()
    to_otel(run, provider, content=True)
    spans = exporter.get_finished_spans()
    add = next(s for s in spans if s.name == "execute_tool add")
    assert json.loads(add.attributes["gen_ai.tool.call.arguments"]) == {"a": 2, "b": 3}
    assert add.attributes["gen_ai.tool.call.result"] == "5"
    llm = [s for s in spans if s.name.startswith("chat ")]
    assert llm[-1].attributes["output.value"] == run.final_answer
    assert llm[0].attributes["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "add"
    inputs = json.loads(llm[0].attributes["gen_ai.input.messages"])
    assert inputs[-1] == {"role": "user", "parts": [{"type": "text", "content": PROMPT}]}
    root = next(s for s in spans if s.parent is None)
    assert root.attributes["input.value"] == PROMPT and root.attributes["output.value"] == run.final_answer
    # The State diff of each hook: the memory hook's added system message is on its span.
    memory_hook = next(s for s in spans if s.attributes.get("agent_nb.hook.name") == "MemoryRetrievalHook")
    (diff,) = memory_hook.events
    assert diff.name == "agent_nb.state_diff"
    assert "Relevant memories" in diff.attributes["diff"] and "messages" in diff.attributes["changed"]


class _CollectingSpan(tracing.Span):
    def __init__(self, name: str, tags: dict[str, Any]) -> None:
        self.name, self.tags = name, dict(tags)

    def set_tag(self, key: str, value: Any) -> None:
        self.tags[key] = value


class _CollectingTracer(tracing.Tracer):
    """A haystack Tracer that keeps every span it opens: what haystack itself emits for a bare Agent."""

    def __init__(self) -> None:
        self.spans: list[_CollectingSpan] = []

    @contextlib.contextmanager
    def trace(self, operation_name: str, tags: dict[str, Any] | None = None, parent_span: Any = None):
        span = _CollectingSpan(operation_name, tags or {})
        self.spans.append(span)
        yield span

    def current_span(self) -> Any:
        return None


def test_hook_spans_carry_the_tags_haystack_itself_emits(memory):
    provider, exporter = memory
    from haystack.dataclasses import ChatMessage

    native = _CollectingTracer()
    tracing.enable_tracing(native)
    try:
        demo_agent().run(messages=[ChatMessage.from_user(PROMPT)])
    finally:
        tracing.disable_tracing()
    native_hooks = [
        {k: v for k, v in s.tags.items() if k.startswith("haystack.agent.hook.")}
        for s in native.spans
        if s.name == "haystack.agent.hook"
    ]
    assert native_hooks, "haystack emitted no hook spans"

    run = Recorder(demo_agent()).run(PROMPT)
    to_otel(run, provider)
    exported = [
        {k: v for k, v in s.attributes.items() if k.startswith("haystack.agent.hook.")}
        for s in sorted(exporter.get_finished_spans(), key=lambda s: s.start_time)
        if s.name == "haystack.agent.hook"
    ]
    assert exported == native_hooks
    native_steps = [s.tags["haystack.agent.step"] for s in native.spans if s.name == "haystack.agent.step"]
    exported_steps = [
        s.attributes["haystack.agent.step"] for s in exporter.get_finished_spans() if s.name == "haystack.agent.step"
    ]
    assert sorted(exported_steps) == native_steps


def test_listener_exports_live_runs_when_they_end(memory):
    provider, exporter = memory
    rec = Recorder(demo_agent())
    listener = OtelListener(provider)
    rec.subscribe(listener)
    first = rec.run(PROMPT)
    second = rec.run("What is the weather in Paris?")
    # The listener may run on a dispatcher thread: wait for both exports with a deadline, not a sleep.
    assert until(lambda: len(listener.trace_ids) == 2, timeout=10)
    assert listener.errors == {}
    roots = [s for s in exporter.get_finished_spans() if s.parent is None]
    assert sorted(s.attributes["gen_ai.conversation.id"] for s in roots) == sorted([first.run_id, second.run_id])


def test_failed_tool_and_failed_run_are_error_spans(memory):
    provider, exporter = memory
    rec = Recorder(demo_agent())
    run = rec.run("What is the weather in Atlantis?")
    to_otel(run, provider)
    tool = next(s for s in exporter.get_finished_spans() if s.name == "execute_tool get_weather")
    assert tool.status.status_code is StatusCode.ERROR
    assert "unknown city" in tool.status.description
    assert tool.attributes["haystack.tool.error"] is True


def test_unknown_token_counts_are_absent_not_zero(memory):
    provider, exporter = memory
    run = Recorder(demo_agent()).run(PROMPT)
    for event in run.events:
        if event.kind == "llm":
            event.prompt_tokens = event.completion_tokens = None
            break
    to_otel(run, provider)
    spans = exporter.get_finished_spans()
    first_llm = min((s for s in spans if s.name.startswith("chat ")), key=lambda s: s.start_time)
    assert "gen_ai.usage.input_tokens" not in first_llm.attributes
    root = next(s for s in spans if s.parent is None)
    assert "gen_ai.usage.input_tokens" not in root.attributes  # an unknown part makes the total unknown


def test_running_run_and_bad_input_are_refused():
    from agent_nb import Run

    with pytest.raises(ValueError, match="still running"):
        to_otel(Run(run_id="live"))
    with pytest.raises(TypeError, match="needs an agent_nb Run"):
        to_otel({"run_id": "x"})


def test_otlp_json_lines_are_collector_file_format(tmp_path):
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    rec = Recorder(demo_agent())
    runs = [rec.run(PROMPT), rec.run("What is the weather in Tokyo?")]
    path = to_otlp_json(runs, tmp_path / "runs.jsonl", content=True)
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    for run, line in zip(runs, lines, strict=True):
        request = json.loads(line)
        spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
        assert len(spans) == len(run.events) + run.steps + 1
        for span in spans:
            # OTLP/JSON: hex ids (not protobuf's base64), times as decimal strings, enums as integers.
            assert len(span["traceId"]) == 32 and int(span["traceId"], 16)
            assert len(span["spanId"]) == 16 and int(span["spanId"], 16)
            assert isinstance(span["startTimeUnixNano"], str) and int(span["startTimeUnixNano"]) >= run.started_unix_ns
            assert isinstance(span["kind"], int)
        root = next(s for s in spans if "parentSpanId" not in s)
        assert int(root["startTimeUnixNano"]) == run.started_unix_ns
        # The same bytes parse back as an ExportTraceServiceRequest once ids are base64 again (protobuf's mapping).
        for span in spans:
            for key in ("traceId", "spanId", "parentSpanId"):
                if key in span:
                    span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
        parsed = json_format.ParseDict(request, ExportTraceServiceRequest())
        assert parsed.resource_spans[0].scope_spans[0].spans[0].name

    to_otlp_json(runs[:1], path, append=True)
    assert len(Path(path).read_text(encoding="utf-8").splitlines()) == 3


def test_a_replay_exports_cached_replies_without_usage(memory):
    provider, exporter = memory
    run = Recorder(demo_agent()).run(PROMPT)
    again = run.replay()
    to_otel(again, provider)
    spans = exporter.get_finished_spans()
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert chats and all(s.attributes["agent_nb.event.status"] == "cached" for s in chats)
    # Served from the recording: no usage a cost view would add up, the recorded counts kept aside.
    assert not any("gen_ai.usage.input_tokens" in s.attributes for s in chats)
    assert sum(s.attributes["agent_nb.cached.input_tokens"] for s in chats) == run.usage["prompt_tokens"]
    root = next(s for s in spans if s.parent is None)
    assert root.attributes["agent_nb.run.kind"] == "replay" and root.attributes["agent_nb.run.parent_id"] == run.run_id
