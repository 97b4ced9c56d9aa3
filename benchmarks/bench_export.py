"""Export and scale-out figures. Run: `python benchmarks/bench_export.py`.

1. OpenTelemetry export cost per span: `to_otel` on a recorded run vs haystack's own tracing of the same run,
   both into an in-memory exporter. haystack 3.4 ships the `Tracer` interface but no OpenTelemetry tracer, so
   the live side is a minimal `haystack.tracing.Tracer` over the OpenTelemetry SDK (what haystack 2.x's
   `OpenTelemetryTracer` did: one span per `trace()`, tags coerced with haystack's `coerce_tag_value`). Its
   cost is (traced run - untraced run) / spans, both runs interleaved.
2. Sweep throughput with 1, 2 and 4 workers (runs/s, ratio to 1 worker): threads with a simulated 50 ms model
   latency (an I/O-bound model server) and processes with no latency (the CPU-bound scripted model).
3. Parquet: `to_parquet` / `read_parquet` of 100,000 timeline rows (1,000 runs of 100 events), and one DuckDB
   aggregate over the files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from bench_views import synthetic_run
from common import six_hook_agent
from haystack import tracing
from haystack.dataclasses import ChatMessage
from haystack.tracing.utils import coerce_tag_value
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agent_nb import Recorder, demo_agent
from agent_nb.export import read_parquet, sweep, to_otel, to_parquet


# ---- 1. OpenTelemetry --------------------------------------------------------------------------------------
class _OtelSpan(tracing.Span):
    def __init__(self, span: Any) -> None:
        self._span = span

    def set_tag(self, key: str, value: Any) -> None:
        self._span.set_attribute(key, coerce_tag_value(value))

    def raw_span(self) -> Any:
        return self._span


class OtelHaystackTracer(tracing.Tracer):
    """haystack's Tracer interface over an OpenTelemetry tracer (the shape of haystack 2.x's OpenTelemetryTracer)."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer

    @contextlib.contextmanager
    def trace(self, operation_name: str, tags: dict[str, Any] | None = None, parent_span: Any = None) -> Iterator[Any]:
        context = otel_trace.set_span_in_context(parent_span.raw_span()) if parent_span is not None else None
        with self._tracer.start_as_current_span(operation_name, context=context) as raw:
            span = _OtelSpan(raw)
            if tags:
                span.set_tags(tags)
            yield span

    def current_span(self) -> Any:
        raw = otel_trace.get_current_span()
        return _OtelSpan(raw) if raw.get_span_context().is_valid else None


def bench_otel(steps: int = 50, reps: int = 15) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    agent = six_hook_agent()
    messages = [ChatMessage.from_user(f"steps {steps}")]
    run = Recorder(six_hook_agent()).run(messages)

    haystack_tracer = OtelHaystackTracer(provider.get_tracer("haystack"))
    traced, untraced, exported = [], [], []
    spans_live = spans_export = 0
    for _ in range(reps + 2):
        memory.clear()
        tracing.enable_tracing(haystack_tracer)
        t0 = time.perf_counter()
        agent.run(messages=list(messages))
        traced.append(time.perf_counter() - t0)
        tracing.disable_tracing()
        spans_live = len(memory.get_finished_spans())
        t0 = time.perf_counter()
        agent.run(messages=list(messages))
        untraced.append(time.perf_counter() - t0)
        memory.clear()
        t0 = time.perf_counter()
        to_otel(run, provider)
        exported.append(time.perf_counter() - t0)
        spans_export = len(memory.get_finished_spans())
    live = max(statistics.median(traced[2:]) - statistics.median(untraced[2:]), 1e-9)
    export = statistics.median(exported[2:])
    print(f"OpenTelemetry, a {steps}-step run of the six-hook agent ({len(run.events)} events)")
    print(
        f"  haystack live tracing: {spans_live} spans, {live * 1e3:7.2f} ms extra  -> {spans_live / live:9,.0f} spans/s"
    )
    print(
        f"  agent_nb to_otel:      {spans_export} spans, {export * 1e3:7.2f} ms"
        f"        -> {spans_export / export:9,.0f} spans/s"
    )
    print(f"  ratio (to_otel spans/s / haystack spans/s): {(spans_export / export) / (spans_live / live):.2f}x")
    provider.shutdown()


# ---- 2. Sweeps ---------------------------------------------------------------------------------------------
def slow_agent():
    """The demo agent with a simulated 50 ms per LLM call (module level: picklable)."""
    return demo_agent(latency_s=0.05)


PROMPTS = ["What is 2 + 3?", "What is the weather in Paris?", "Save a note that sweeps scale."]
CONFIGS = {"all on": {}, "no memory": {"before_run": {"MemoryRetrievalHook": False}}}


def bench_sweep(repeat: int = 4, trials: int = 3) -> None:
    prompts = PROMPTS * repeat
    n = len(prompts) * len(CONFIGS)
    for title, factory, make in (
        ("threads, 50 ms model latency", slow_agent, ThreadPoolExecutor),
        ("processes, no latency", demo_agent, ProcessPoolExecutor),
    ):
        base = None
        print(f"Sweep of {n} runs on {title} (machine: {os.cpu_count()} cores; median of {trials})")
        for workers in (1, 2, 4):
            with make(workers) as pool:
                # Warm every worker (imports, first Agent) before timing.
                sweep(factory, PROMPTS[:1] * 2 * workers, [{}], executor=pool, progress=False)
                times = []
                for _ in range(trials):
                    t0 = time.perf_counter()
                    result = sweep(factory, prompts, CONFIGS, executor=pool, progress=False)
                    times.append(time.perf_counter() - t0)
                    assert result.failed.empty, result.failed
            rate = n / statistics.median(times)
            base = base or rate
            print(f"  {workers} worker(s): {rate:7.1f} runs/s   {rate / base:5.2f}x of 1 worker")


# ---- 3. Parquet --------------------------------------------------------------------------------------------
def bench_parquet(runs: int = 1000, events: int = 100) -> None:
    import duckdb

    template = synthetic_run(events)
    batch = []
    for i in range(runs):
        run = synthetic_run(events) if i == 0 else None
        run = run or type(template)(run_id=f"r{i:05d}", status="ok", events=template.events, duration_ms=1.0)
        batch.append(run)
    rows = sum(len(r.events) for r in batch)
    folder = tempfile.mkdtemp()
    try:
        t0 = time.perf_counter()
        for run in batch:
            run.timeline  # noqa: B018 (the core builds and caches each run's frame: timed apart)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        to_parquet(batch, folder)
        write = time.perf_counter() - t0
        t0 = time.perf_counter()
        frame = read_parquet(folder)
        read = time.perf_counter() - t0
        assert len(frame) == rows
        t0 = time.perf_counter()
        duckdb.sql(
            f"SELECT name, sum(messages_added) FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true) "
            "WHERE kind = 'hook' GROUP BY name"
        ).fetchall()
        query = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in Path(folder).rglob("*.parquet"))
    finally:
        shutil.rmtree(folder)
    print(f"Parquet, {rows:,} rows ({runs} runs x {events} events), {size / 1e3:.0f} kB zstd")
    print(f"  run.timeline of every run {build:6.2f} s (the core's frame build, before any export)")
    print(f"  to_parquet {write:6.2f} s ({rows / write:9,.0f} rows/s)   read_parquet {read:6.2f} s "
          f"({rows / read:9,.0f} rows/s)   DuckDB group-by {query * 1e3:6.1f} ms")  # fmt: skip


def main() -> None:
    print("agent_nb export benchmarks")
    bench_otel()
    bench_sweep()
    bench_parquet()


if __name__ == "__main__":
    main()
