"""Runs to an OTLP/JSON lines file: the OpenTelemetry Collector's file-exporter format.

Each line is one `ExportTraceServiceRequest` in the OTLP/JSON encoding (one line per run): the protobuf JSON
mapping with lowerCamelCase keys, enums as integers, 64-bit times as strings, and trace / span ids as hex
(the OTLP/JSON rule; protobuf's own JSON mapping would write base64). The request is built by the
OpenTelemetry SDK's own encoder (`opentelemetry-exporter-otlp-proto-common`), so it is what an OTLP exporter
would send. The Collector's `otlpjsonfile` receiver reads it (and forwards it to any backend the Collector
exports to), as does anything else that reads the Collector file exporter's output.

Usage:
    >>> import json, os, tempfile
    >>> from agent_nb.recording import Event, Run
    >>> run = Run(run_id="r1", status="ok", duration_ms=2.0, events=[
    ...     Event("r1", 0, None, "hook", "before_run", "memory", "ok", 0.1, 0.2)])
    >>> path = to_otlp_json(run, os.path.join(tempfile.mkdtemp(), "runs.jsonl"))
    >>> request = json.loads(open(path).readline())
    >>> [s["name"] for s in request["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    ['haystack.agent.hook', 'invoke_agent Agent']
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from typing import Any

from agent_nb.errors import InvalidType
from agent_nb.export.otel import to_otel
from agent_nb.recording import Run


def _hex(value: str) -> str:
    return base64.b64decode(value).hex()


def _hex_ids(request: dict[str, Any]) -> dict[str, Any]:
    """Rewrite protobuf's base64 ids as the hex strings OTLP/JSON requires."""
    for resource_spans in request.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = _hex(span[key])
                for link in span.get("links", []):
                    for key in ("traceId", "spanId"):
                        if link.get(key):
                            link[key] = _hex(link[key])
    return request


def otlp_json_lines(
    runs: Run | Iterable[Run], *, content: bool = False, service_name: str = "agent_nb", agent_name: str = "Agent"
) -> list[str]:
    """Each run as one OTLP/JSON `ExportTraceServiceRequest` line (no newline).

    Usage:
        >>> from agent_nb.recording import Run
        >>> line = otlp_json_lines(Run(run_id="r", status="ok", duration_ms=1.0))[0]
        >>> attributes = json.loads(line)["resourceSpans"][0]["resource"]["attributes"]
        >>> next(a["value"] for a in attributes if a["key"] == "service.name")
        {'stringValue': 'agent_nb'}
    """
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    items = [runs] if isinstance(runs, Run) else list(runs)
    for i, run in enumerate(items):
        if not isinstance(run, Run):
            raise InvalidType(f"runs[{i}] is a {type(run).__name__}, not an agent_nb Run")
    memory = InMemorySpanExporter()
    # A private provider: the export never touches the process-wide one, and nothing leaves the process.
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    lines = []
    for run in items:
        memory.clear()
        to_otel(run, provider, content=content, agent_name=agent_name)
        message = encode_spans(memory.get_finished_spans())
        request = json_format.MessageToDict(message, use_integers_for_enums=True)
        lines.append(json.dumps(_hex_ids(request), ensure_ascii=False, separators=(",", ":")))
    provider.shutdown()
    return lines


def to_otlp_json(
    runs: Run | Iterable[Run],
    path: str | os.PathLike[str],
    *,
    content: bool = False,
    append: bool = False,
    service_name: str = "agent_nb",
    agent_name: str = "Agent",
) -> str:
    """Write runs as OTLP/JSON lines to `path` (atomically, or appended with `append=True`); returns the path.

    Usage:
        >>> import os, tempfile
        >>> from agent_nb.recording import Run
        >>> path = os.path.join(tempfile.mkdtemp(), "runs.otlp.jsonl")
        >>> runs = [Run(run_id=f"r{i}", status="ok", duration_ms=1.0) for i in range(2)]
        >>> len(open(to_otlp_json(runs, path, content=True)).read().splitlines())
        2
    """
    lines = otlp_json_lines(runs, content=content, service_name=service_name, agent_name=agent_name)
    text = "".join(line + "\n" for line in lines)
    if append:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
        return os.fspath(path)
    from agent_nb.files import atomic_write

    return atomic_write(path, text)
