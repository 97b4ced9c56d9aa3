"""A recorded run exported over OTLP/HTTP to a real Phoenix server, read back through Phoenix's own client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pandas as pd
import pytest

from agent_nb import Recorder, demo_agent
from agent_nb.export import to_otel
from scenarios import serving, until

pytestmark = pytest.mark.slow

PROJECT = "agent-nb-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("phoenix")
    port, grpc_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    env.pop("PHOENIX_SQL_DATABASE_URL", None)  # sqlite in the working dir
    env.pop("PHOENIX_COLLECTOR_ENDPOINT", None)
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 (held open for the server's whole life)
    proc = subprocess.Popen(
        [sys.executable, "-m", "phoenix.server.main", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        if not serving(proc, f"{base}/healthz", 120):
            raise RuntimeError(f"phoenix did not start (exit code {proc.poll()}): see {workdir / 'server.log'}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_run_reads_back_from_phoenix_with_tree_tokens_and_times(phoenix):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from phoenix.client import Client

    run = Recorder(demo_agent()).run("What is 2 + 3? Then save a note of it.")
    # Phoenix files spans under the project named by this resource attribute.
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": PROJECT}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{phoenix}/v1/traces")))
    trace_id = to_otel(run, provider, content=True)
    assert provider.force_flush(30_000)
    provider.shutdown()

    client = Client(base_url=phoenix)
    expected = len(run.events) + run.steps + 1

    seen: list[pd.DataFrame] = []

    def spans() -> bool:
        try:
            seen.append(client.spans.get_spans_dataframe(project_identifier=PROJECT, limit=1000))
        except Exception:  # the project appears only once the first span is ingested
            return False
        return len(seen[-1]) >= expected

    assert until(spans, 60, every=0.2), f"phoenix holds {len(seen[-1]) if seen else 0} of {expected} spans"
    frame = seen[-1]
    if frame.index.name == "context.span_id":
        frame = frame.reset_index(drop="context.span_id" in frame.columns)
    assert len(frame) == expected
    assert set(frame["context.trace_id"]) == {trace_id}

    by_id = frame.set_index("context.span_id")
    root = frame[frame["parent_id"].isna()]
    assert list(root["name"]) == ["invoke_agent Agent"]
    assert root["span_kind"].iloc[0] == "AGENT"
    root_id = root["context.span_id"].iloc[0]
    steps = frame[frame["name"] == "haystack.agent.step"]
    assert len(steps) == run.steps and set(steps["parent_id"]) == {root_id}

    llm = frame[frame["span_kind"] == "LLM"].sort_values("start_time")
    assert list(llm["name"]) == ["chat scripted-1"] * len(llm)
    recorded = [e for e in run.events if e.kind == "llm"]
    assert list(llm["attributes.llm.token_count.prompt"].astype(int)) == [e.prompt_tokens for e in recorded]
    assert list(llm["attributes.llm.token_count.completion"].astype(int)) == [e.completion_tokens for e in recorded]
    assert all(by_id.loc[p, "name"] == "haystack.agent.step" for p in llm["parent_id"])
    tools = frame[frame["span_kind"] == "TOOL"]
    assert sorted(tools["name"]) == sorted(f"execute_tool {e.name}" for e in run.events if e.kind == "tool")
    hooks = frame[frame["name"] == "haystack.agent.hook"]
    # Phoenix nests attributes outside its own conventions by their dotted path.
    points = [attrs["agent"]["hook"]["point"] for attrs in hooks["attributes.haystack"]]
    assert sorted(points) == sorted(e.hook_point for e in run.events if e.kind == "hook")
    assert {attrs["conversation"]["id"] for attrs in root["attributes.gen_ai"]} == {run.run_id}
    # The State diff of the memory hook travelled as a span event.
    diffs = [ev for events in hooks["events"] for ev in events if ev["name"] == "agent_nb.state_diff"]
    assert any("Relevant memories" in ev["attributes"]["diff"] for ev in diffs)

    # Recorded timestamps (Phoenix keeps microseconds): the run's own start, not the export time.
    start = pd.Timestamp(run.started_unix_ns, unit="ns", tz="UTC")
    root_start = pd.Timestamp(root["start_time"].iloc[0])
    root_start = root_start.tz_localize("UTC") if root_start.tzinfo is None else root_start
    assert abs((root_start - start).total_seconds()) < 1e-3
    first_llm = pd.Timestamp(llm["start_time"].iloc[0])
    first_llm = first_llm.tz_localize("UTC") if first_llm.tzinfo is None else first_llm
    offset_ms = (first_llm - start).total_seconds() * 1000
    assert abs(offset_ms - recorded[0].offset_ms) < 0.01
