"""A recorded run as OpenTelemetry spans: GenAI semantic conventions, haystack's own tags, OpenInference.

The span tree matches what haystack's tracer emits for a live Agent (``haystack.agent.run`` > hooks and
``haystack.agent.step`` > hooks, LLM call, tools), named and tagged per the OpenTelemetry GenAI conventions:

```
invoke_agent {agent}                          gen_ai.conversation.id = run id, gen_ai.usage.*, AGENT
  haystack.agent.hook (before_run hooks)      haystack.agent.hook.point / .name / .type, CHAIN
  haystack.agent.step (one per step)          haystack.agent.step = step number, CHAIN
    haystack.agent.hook (before_llm ...)
    chat {model}                              gen_ai.usage.input_tokens / output_tokens, llm.token_count.*, LLM
    execute_tool {tool}                       gen_ai.tool.call.id (.arguments / .result with content), TOOL
    haystack.agent.hook (after_tool, on_exit ...)
  haystack.agent.hook (after_run hooks)
```

Every span carries the recorded start and end (``run.started_unix_ns`` + the event's ``offset_ms``), not the
export time. With ``content=True`` spans also carry messages (``gen_ai.input.messages`` /
``gen_ai.output.messages``, ``llm.input_messages.*``), tool arguments and results, ``input.value`` /
``output.value``, and each hook span gets its State diff as an ``agent_nb.state_diff`` span event: what a
native trace cannot show. Content is off by default because prompts and State may hold private data.

Pointing the export at a backend (any OTLP/HTTP endpoint; install the ``otel`` extra):

```python
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

provider = TracerProvider()
# Phoenix:  endpoint="http://127.0.0.1:6006/v1/traces"
# Jaeger (OTLP on):  endpoint="http://127.0.0.1:4318/v1/traces"
# Langfuse: endpoint="https://<your langfuse host>/api/public/otel/v1/traces",
#           headers={"Authorization": "Basic " + base64("<public key>:<secret key>")}
# Any collector: endpoint="http://<collector>:4318/v1/traces" (or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint="http://127.0.0.1:6006/v1/traces")))
to_otel(run, provider, content=True)
provider.force_flush()
```

Live runs: ``rec.subscribe(OtelListener(provider))`` exports each run when it ends.

Usage:
    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    >>> from agent_nb.recording import Event, Run
    >>> run = Run(run_id="r1", status="ok", duration_ms=3.0, events=[
    ...     Event("r1", 0, 0, "llm", None, "Gen", "ok", 0.5, 1.0, prompt_tokens=12, completion_tokens=3)])
    >>> memory = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(memory))
    >>> trace_id = to_otel(run, provider)
    >>> sorted(s.name for s in memory.get_finished_spans())
    ['chat Gen', 'haystack.agent.step', 'invoke_agent Agent']
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agent_nb.errors import InvalidArgument, InvalidType
from agent_nb.export.datasets import fingerprint_sha256
from agent_nb.recording import Event, Run
from agent_nb.recording.context import error_text
from agent_nb.recording.events import fill_agent_changed
from agent_nb.recording.summary import safe_repr, safe_str

if TYPE_CHECKING:
    from opentelemetry.trace import Span, TracerProvider

#: Instrumentation scope of the exported spans.
SCOPE = "agent_nb"
_AGENT_NAME = "Agent"


# ---- values --------------------------------------------------------------------------------------------------
def _known(value: Any) -> bool:
    """A token count that was reported: not None, not pandas NA, not NaN."""
    if value is None:
        return False
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _jsonable(value: Any, inside: frozenset[int] = frozenset()) -> Any:
    """A JSON-ready form of recorded content (ChatMessages through their own to_dict; anything else by repr).

    Never raises: a broken repr or str reads as a marker, a container holding itself as `[...]` / `{...}`.
    """
    if hasattr(value, "to_dict") and callable(value.to_dict):
        try:
            return _jsonable(value.to_dict(), inside)
        except Exception:  # a to_dict that fails must not break the export
            return safe_repr(value)
    if isinstance(value, Mapping | list | tuple | set):
        if id(value) in inside:
            return "{...}" if isinstance(value, Mapping) else "[...]"
        inside = inside | {id(value)}
        if isinstance(value, Mapping):
            return {safe_str(k): _jsonable(v, inside) for k, v in value.items()}
        return [_jsonable(v, inside) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return safe_repr(value)


def _json(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False)


def _text(value: Any) -> str:
    """A value as span text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else _json(value)


def _ns(run: Run, offset_ms: float) -> int:
    return run.started_unix_ns + round(offset_ms * 1e6)


# ---- messages in the two conventions ------------------------------------------------------------------------
def _role(message: Any) -> str:
    role = getattr(message, "role", None)
    return str(getattr(role, "value", role) or "unknown")


def _messages(value: Any) -> list[Any]:
    """A recorded message list (a list or the recorder's message log) as a list; a bare count as none."""
    if value is None or isinstance(value, int | str | Mapping):
        return []
    try:
        return list(value)
    except TypeError:
        return []


def _genai_message(message: Any) -> dict[str, Any]:
    """A ChatMessage in the GenAI conventions' message shape (role + typed parts)."""
    parts: list[dict[str, Any]] = []
    for text in getattr(message, "texts", None) or []:
        parts.append({"type": "text", "content": text})
    for call in getattr(message, "tool_calls", None) or []:
        parts.append(
            {"type": "tool_call", "id": call.id, "name": call.tool_name, "arguments": _jsonable(call.arguments)}
        )
    for result in getattr(message, "tool_call_results", None) or []:
        parts.append({"type": "tool_call_response", "id": result.origin.id, "response": _jsonable(result.result)})
    out: dict[str, Any] = {"role": _role(message), "parts": parts}
    finish = (getattr(message, "meta", None) or {}).get("finish_reason")
    if finish:
        out["finish_reason"] = finish
    return out


def _openinference_messages(prefix: str, messages: list[Any]) -> dict[str, Any]:
    """`llm.input_messages.{i}.message.*` / `llm.output_messages.{i}.message.*` attributes (Phoenix reads these)."""
    attrs: dict[str, Any] = {}
    for i, message in enumerate(messages):
        base = f"{prefix}.{i}.message"
        attrs[f"{base}.role"] = _role(message)
        texts = getattr(message, "texts", None) or []
        results = getattr(message, "tool_call_results", None) or []
        if texts:
            attrs[f"{base}.content"] = "\n".join(texts)
        elif results:
            attrs[f"{base}.content"] = "\n".join(_text(r.result) for r in results)
            if results[0].origin.id:
                attrs[f"{base}.tool_call_id"] = results[0].origin.id
        for j, call in enumerate(getattr(message, "tool_calls", None) or []):
            call_base = f"{base}.tool_calls.{j}.tool_call"
            attrs[f"{call_base}.function.name"] = call.tool_name
            attrs[f"{call_base}.function.arguments"] = _text(call.arguments)
            if call.id:
                attrs[f"{call_base}.id"] = call.id
    return attrs


# ---- attributes per event -----------------------------------------------------------------------------------
def _hook_identity(run: Run, point: str, name: str) -> tuple[str, str | None]:
    """haystack's `haystack.agent.hook.name` / `.type` for a recorded hook slot, when the hook object is at hand.

    haystack names a `@hook` function by its import path and any other hook by its class name, and types it by
    the qualified class name (haystack/hooks/invocation.py). A loaded run has no hook objects: the slot name.
    """
    recorder = run.recorder
    for slot in getattr(recorder, "hook_slots", None) or []:
        if slot.point == point and slot.name == name:
            hook = slot.hook
            fn = getattr(hook, "function", None) or getattr(hook, "async_function", None)
            qualified = f"{type(hook).__module__}.{type(hook).__qualname__}"
            if fn is not None and type(hook).__name__ == "FunctionHook":
                return f"{fn.__module__}.{fn.__qualname__}", qualified
            return type(hook).__name__, qualified
    return name, None


def _model(event: Event, run: Run) -> str:
    for reply in event.detail.get("replies") or []:
        model = (getattr(reply, "meta", None) or {}).get("model")
        if model:
            return str(model)
    return event.name or run.generator or "model"


def _common(event: Event) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "agent_nb.event.seq": event.seq,
        "agent_nb.event.kind": event.kind,
        "agent_nb.event.status": event.status,
    }
    if event.summary:
        attrs["agent_nb.event.summary"] = event.summary
    if event.changed:
        attrs["agent_nb.event.changed"] = [str(k) for k in event.changed]
    if event.agent_changed:  # the Agent's own bookkeeping around the event (step_count, token_usage...)
        attrs["agent_nb.event.agent_changed"] = [str(k) for k in event.agent_changed]
    if event.flow:
        attrs["agent_nb.event.flow"] = event.flow
    return attrs


def _hook_attributes(run: Run, event: Event, content: bool) -> dict[str, Any]:
    hook_name, hook_type = _hook_identity(run, event.hook_point or "", event.name)
    attrs = {
        "haystack.agent.hook.point": event.hook_point or "",
        "haystack.agent.hook.name": hook_name,
        "agent_nb.hook.name": event.name,
        "openinference.span.kind": "CHAIN",
        **_common(event),
    }
    if hook_type:
        attrs["haystack.agent.hook.type"] = hook_type
    if content and event.before is not None and event.after is not None:
        attrs["output.value"] = str(run.diff(event.seq))
    return attrs


def _llm_attributes(run: Run, event: Event, content: bool) -> dict[str, Any]:
    model = _model(event, run)
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "gen_ai.response.model": model,
        "openinference.span.kind": "LLM",
        "llm.model_name": model,
        **_common(event),
    }
    prompt, completion = event.prompt_tokens, event.completion_tokens
    if event.status == "cached":
        # A reply served from a recording cost nothing now: its recorded counts must not add up in a cost view.
        for key, value in (("agent_nb.cached.input_tokens", prompt), ("agent_nb.cached.output_tokens", completion)):
            if _known(value):
                attrs[key] = int(value)  # type: ignore[arg-type]
        prompt = completion = None
    # Unknown stays unknown: an absent attribute, never a 0 that reads as "free".
    if _known(prompt):
        attrs["gen_ai.usage.input_tokens"] = attrs["llm.token_count.prompt"] = int(prompt)  # type: ignore[arg-type]
    if _known(completion):
        attrs["gen_ai.usage.output_tokens"] = attrs["llm.token_count.completion"] = int(completion)  # type: ignore[arg-type]
    if _known(prompt) and _known(completion):
        attrs["llm.token_count.total"] = int(prompt) + int(completion)  # type: ignore[arg-type]
    replies = list(event.detail.get("replies") or [])
    finish = [str(r.meta["finish_reason"]) for r in replies if (getattr(r, "meta", None) or {}).get("finish_reason")]
    if finish:
        attrs["gen_ai.response.finish_reasons"] = finish
    if content:
        inputs = _messages(event.detail.get("input_messages"))
        attrs["gen_ai.input.messages"] = _json([_genai_message(m) for m in inputs])
        attrs["gen_ai.output.messages"] = _json([_genai_message(m) for m in replies])
        attrs.update(_openinference_messages("llm.input_messages", inputs))
        attrs.update(_openinference_messages("llm.output_messages", replies))
        attrs["input.value"] = _json([_genai_message(m) for m in inputs])
        attrs["input.mime_type"] = "application/json"
        texts = [t for r in replies for t in (getattr(r, "texts", None) or [])]
        attrs["output.value"] = "\n".join(texts) if texts else _json([_genai_message(m) for m in replies])
    return attrs


def _tool_call_ids(run: Run) -> dict[int, str]:
    """seq -> tool call id, from the event's detail or else matched, in order, to the calls of the step's reply."""
    ids: dict[int, str] = {}
    pending: list[Any] = []
    for event in run.events:
        if event.kind == "llm":
            pending = [c for r in event.detail.get("replies") or [] for c in (getattr(r, "tool_calls", None) or [])]
        elif event.kind == "tool":
            own = event.detail.get("tool_call_id")
            match = next((c for c in pending if c.tool_name == event.name), None)
            if match is not None:
                pending.remove(match)
            if own:
                ids[event.seq] = str(own)
            elif match is not None and match.id:
                ids[event.seq] = str(match.id)
    return ids


def _tool_attributes(event: Event, call_id: str | None, content: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": event.name,
        "gen_ai.tool.type": "function",
        "haystack.tool.name": event.name,
        "openinference.span.kind": "TOOL",
        "tool.name": event.name,
        **_common(event),
    }
    if call_id:
        attrs["gen_ai.tool.call.id"] = call_id
    if event.status == "error":
        attrs["haystack.tool.error"] = True
    if content:
        if "arguments" in event.detail:
            attrs["gen_ai.tool.call.arguments"] = attrs["input.value"] = _json(event.detail["arguments"])
            attrs["input.mime_type"] = "application/json"
        if "result" in event.detail:
            attrs["gen_ai.tool.call.result"] = attrs["output.value"] = _text(event.detail["result"])
    return attrs


def _root_attributes(run: Run, agent_name: str, content: bool) -> dict[str, Any]:
    llm = [e for e in run.events if e.kind == "llm" and e.status != "cached"]
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": agent_name,
        "gen_ai.conversation.id": run.run_id,
        "openinference.span.kind": "AGENT",
        "session.id": run.run_id,
        "agent_nb.run.id": run.run_id,
        "agent_nb.run.kind": run.kind,
        "agent_nb.run.status": run.status,
        "agent_nb.run.generator": run.generator,
        "agent_nb.run.hook_config": _json(run.hook_config),
        "haystack.agent.steps_taken": run.steps,
    }
    for key, value in (
        ("agent_nb.run.parent_id", run.parent_id),
        ("agent_nb.run.fork_step", run.fork_step),
        ("agent_nb.run.label", run.label),
        ("agent_nb.run.exit_reason", run.exit_reason),
        ("agent_nb.run.fingerprint_sha256", fingerprint_sha256(run)),
    ):
        if value not in (None, ""):
            attrs[key] = value
    # Totals only over calls whose counts are known; with an unknown count the total is unknown too.
    for attr, field in (
        ("gen_ai.usage.input_tokens", "prompt_tokens"),
        ("gen_ai.usage.output_tokens", "completion_tokens"),
    ):
        values = [getattr(e, field) for e in llm]
        if values and all(_known(v) for v in values):
            attrs[attr] = sum(int(v) for v in values)
    if "gen_ai.usage.input_tokens" in attrs and "gen_ai.usage.output_tokens" in attrs:
        attrs["llm.token_count.prompt"] = attrs["gen_ai.usage.input_tokens"]
        attrs["llm.token_count.completion"] = attrs["gen_ai.usage.output_tokens"]
        attrs["llm.token_count.total"] = attrs["llm.token_count.prompt"] + attrs["llm.token_count.completion"]
    if content:
        messages = (run.inputs or {}).get("messages") or []
        attrs["input.value"] = "\n".join(getattr(m, "text", None) or "" for m in messages) or _json(messages)
        if run.final_answer is not None:
            attrs["output.value"] = run.final_answer
    return attrs


# ---- the export ---------------------------------------------------------------------------------------------
def _set_error(span: Span, text: str | None) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_status(Status(StatusCode.ERROR, text or "error"))


def to_otel(
    run: Run, tracer_provider: TracerProvider | None = None, *, content: bool = False, agent_name: str = _AGENT_NAME
) -> str:
    """Emit a finished recorded run as OpenTelemetry spans through `tracer_provider` (default: the global one).

    Returns the trace id (32 hex digits). The provider's processors and exporters decide where the spans go;
    call `tracer_provider.force_flush()` before reading them elsewhere. `content=True` adds messages, tool
    arguments and results, and State diffs.

    Usage:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> from agent_nb.recording import Run
        >>> len(to_otel(Run(run_id="r", status="ok", duration_ms=1.0), TracerProvider()))
        32
        >>> to_otel("not a run")
        Traceback (most recent call last):
        ...
        agent_nb.errors.InvalidType: to_otel needs an agent_nb Run, got str
    """
    if not isinstance(run, Run):
        raise InvalidType(f"to_otel needs an agent_nb Run, got {type(run).__name__}")
    if run.status == "running":
        raise InvalidArgument(f"run {run.run_id} is still running: export it when it has ended (see OtelListener)")
    from opentelemetry import trace

    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    tracer = provider.get_tracer(SCOPE)
    events = sorted(run.events, key=lambda e: e.seq)
    fill_agent_changed(events)  # it reads each event's predecessor
    last_end = max((e.offset_ms + e.duration_ms for e in events), default=0.0)
    run_end_ms = max(run.duration_ms if run.duration_ms is not None else 0.0, last_end)

    root = tracer.start_span(
        f"invoke_agent {agent_name}",
        kind=trace.SpanKind.INTERNAL,
        attributes=_root_attributes(run, agent_name, content),
        start_time=run.started_unix_ns,
    )
    root_ctx = trace.set_span_in_context(root)

    # One step span per step, spanning its events (haystack opens it before the before_llm hooks).
    steps: dict[int, Span] = {}
    bounds: dict[int, tuple[float, float]] = {}
    for e in events:
        if e.step is not None:
            lo, hi = bounds.get(int(e.step), (e.offset_ms, e.offset_ms + e.duration_ms))
            bounds[int(e.step)] = (min(lo, e.offset_ms), max(hi, e.offset_ms + e.duration_ms))
    call_ids = _tool_call_ids(run)

    for e in events:
        step = None if e.step is None else int(e.step)
        if step is not None and step not in steps:
            steps[step] = tracer.start_span(
                "haystack.agent.step",
                context=root_ctx,
                attributes={"haystack.agent.step": step, "openinference.span.kind": "CHAIN"},
                start_time=_ns(run, bounds[step][0]),
            )
        parent_ctx = trace.set_span_in_context(steps[step]) if step is not None else root_ctx
        if e.kind == "llm":
            name, attrs = f"chat {_model(e, run)}", _llm_attributes(run, e, content)
            kind = trace.SpanKind.CLIENT
        elif e.kind == "tool":
            name, attrs = f"execute_tool {e.name}", _tool_attributes(e, call_ids.get(e.seq), content)
            kind = trace.SpanKind.INTERNAL
        elif e.kind == "edit":  # a change made by hand while the run was paused (breakpoints): not a hook
            name, attrs = (
                "agent_nb.edit",
                {"agent_nb.edit.at": e.name, "openinference.span.kind": "CHAIN", **_common(e)},
            )
            kind = trace.SpanKind.INTERNAL
        else:
            name, attrs = "haystack.agent.hook", _hook_attributes(run, e, content)
            kind = trace.SpanKind.INTERNAL
        span = tracer.start_span(
            name, context=parent_ctx, kind=kind, attributes=attrs, start_time=_ns(run, e.offset_ms)
        )
        if e.kind == "hook" and content and e.before is not None and e.after is not None:
            diff = run.diff(e.seq)
            span.add_event(
                "agent_nb.state_diff",
                attributes={"changed": [str(k) for k in e.changed], "diff": str(diff), "flow": e.flow or ""},
                timestamp=_ns(run, e.offset_ms + e.duration_ms),
            )
        if e.status == "error" or e.error:
            _set_error(span, e.error)
        span.end(end_time=_ns(run, e.offset_ms + e.duration_ms))

    for step, span in steps.items():
        span.end(end_time=_ns(run, bounds[step][1]))
    if run.status == "error" or run.error:
        _set_error(root, run.error)
    root.end(end_time=_ns(run, run_end_ms))
    return format(root.get_span_context().trace_id, "032x")


class OtelListener:
    """A Recorder listener that exports each run as OpenTelemetry spans when it ends.

    `rec.subscribe(OtelListener(provider))`: live runs go to the provider as they finish, with the same span tree
    and recorded timestamps as `to_otel`. Export errors are kept in `errors`, never raised into the run.

    Usage:
        >>> from opentelemetry.sdk.trace import TracerProvider
        >>> from agent_nb.recording import Run
        >>> listener = OtelListener(TracerProvider())
        >>> listener(Run(run_id="r"), None)         # run start: nothing yet
        >>> listener(Run(run_id="r", status="ok", duration_ms=1.0), None)
        >>> len(listener.trace_ids["r"])
        32
    """

    def __init__(
        self, tracer_provider: TracerProvider | None = None, *, content: bool = False, agent_name: str = _AGENT_NAME
    ) -> None:
        self.tracer_provider = tracer_provider
        self.content = content
        self.agent_name = agent_name
        #: run id -> trace id of every exported run.
        self.trace_ids: dict[str, str] = {}
        #: run id -> error text of exports that failed.
        self.errors: dict[str, str] = {}

    def __call__(self, run: Run, event: Event | None) -> None:
        if event is not None or run.status == "running" or run.run_id in self.trace_ids:
            return
        try:
            self.trace_ids[run.run_id] = to_otel(
                run, self.tracer_provider, content=self.content, agent_name=self.agent_name
            )
        except Exception as exc:  # a failing exporter must not break the recorded run
            self.errors[run.run_id] = error_text(exc)
