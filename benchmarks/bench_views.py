"""Timeline build and chart cost at scale. Run: `python benchmarks/bench_views.py`.

Runs are synthesized (Event objects put into a Run directly, shaped like a real run: hooks, an LLM call and
tool calls per step, with summaries, changed keys and tokens), so no agent has to run 100,000 times.

1. `run.timeline` for 100,000 events (a fresh Run each time, so nothing is cached). Target < 0.5 s. Twice: with
   the derived columns (changed keys, message counts, flow, summary) already known, and as a recording leaves
   its events, the derived columns computed at this first read from State snapshots that no two LLM or tool
   rows share (`benchmarks/bench_recorder.py` times the first read of events repeated from one 1,000-step run).
2. `run.plot()` for 10,000 events: building the Figure, and building + rendering it to PNG (what a notebook
   does when it shows the figure). Target < 2 s.
3. For information: `run_report` (HTML with chart, table and diffs) for 1,000 events.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from common import report
from haystack.dataclasses import ChatMessage, ToolCall

from agent_nb.recording import Event, Run
from agent_nb.recording.digest import LLMDetail
from agent_nb.recording.values import MessageLog
from agent_nb.views import plot_run, run_report

#: One step of a typical run: (kind, hook_point, name). Tool rows come in pairs (parallel calls).
STEP: tuple[tuple[str, str | None, str], ...] = (
    ("hook", "before_llm", "inject_date"),
    ("hook", "before_llm", "inject_user_profile"),
    ("llm", None, "ScriptedChatGenerator"),
    ("hook", "before_tool", "ConfirmationHook"),
    ("tool", None, "get_weather"),
    ("tool", None, "add"),
    ("hook", "after_tool", "ToolResultOffloadHook"),
)


def synthetic_run(n_events: int, *, with_state: bool = False) -> Run:
    """A finished Run of `n_events` events shaped like a real one (optionally with State snapshots)."""
    events: list[Event] = []
    t = 0.0
    messages: list[ChatMessage] = [ChatMessage.from_user("What is the weather in Paris?")]
    before = {"messages": list(messages), "step_count": 0}
    i = 0
    step = 0
    events.append(Event("bench", 0, None, "hook", "before_run", "MemoryRetrievalHook", "ok", 0.0, 0.3))
    i = 1
    while i < n_events - 1:
        for kind, point, name in STEP:
            if i >= n_events - 1:
                break
            duration = {"llm": 400.0, "tool": 2.0}.get(kind, 0.05)
            status = "ok"
            if kind == "hook" and name == "inject_date" and step % 5 == 4:
                status = "skipped"
            elif kind == "tool" and step % 11 == 7:
                status = "error"
            elif kind == "llm" and step % 3 == 2:
                status = "cached"
            changed = ["messages"] if kind != "hook" or point == "before_llm" else []
            added = 1 if changed else 0
            after = before
            if with_state:
                if added:
                    messages = [*messages, ChatMessage.from_assistant(f"reply {i}")]
                after = {"messages": list(messages), "step_count": step}
            events.append(
                Event(
                    "bench", i, step, kind, point, name, status, t, duration,
                    changed=changed, messages_added=added, messages_removed=0,
                    flow="continue_run" if (kind == "hook" and point == "after_tool" and step % 50 == 49) else None,
                    prompt_tokens=120 + step if kind == "llm" else None,
                    completion_tokens=30 if kind == "llm" else None,
                    summary=f"{name}(city='Paris') -> 18°C, cloudy" if kind == "tool" else f"+assistant: reply {i}",
                    error="ValueError: unknown city" if status == "error" else None,
                    before=before if with_state else None, after=after if with_state else None,
                )
            )  # fmt: skip
            before = after
            t += duration + 0.02
            i += 1
        step += 1
    events.append(Event("bench", i, None, "hook", "after_run", "Audit", "ok", t, 0.1))
    run = Run(run_id="bench", status="ok", events=events, duration_ms=t)
    if with_state:
        run.step_starts = {s: {} for s in range(step)}
    return run


def recorded_events(n_events: int) -> list[Event]:
    """Events as a recording of a long run leaves them: snapshots that share unchanged values and grow the
    message log by appending, a new snapshot at each LLM and tool row, hook rows that change nothing (the same
    snapshot before and after), and derived columns not computed yet."""
    state: dict[str, Any] = {
        "messages": MessageLog(None, (ChatMessage.from_user("steps 20000"),)),
        "step_count": 0,
        "token_usage": {"prompt_tokens": 0, "completion_tokens": 0},
        "context_tokens": 0,
        "tool_call_counts": {},
        "exit_reason": None,
        "continue_run": False,
    }
    events: list[Event] = []

    def add(kind: str, point: str | None, name: str, after: dict[str, Any], **detail: Any) -> None:
        seq = len(events)
        ev = Event("bench", seq, step, kind, point, name, "ok", float(seq), 0.1, before=before, after=after)
        ev.detail = LLMDetail(detail) if kind == "llm" else detail or ev.detail
        if kind == "llm":
            ev.prompt_tokens, ev.completion_tokens = 10 * len(after["messages"]), 5
        events.append(ev)

    step = 0
    while len(events) < n_events:
        before = state
        add("hook", "before_llm", "Noop", state)
        call = ToolCall("add", {"a": step, "b": 1}, id=f"call_{step}")
        reply = ChatMessage.from_assistant(tool_calls=[call], meta={"usage": {"prompt_tokens": 10 * step}})
        usage = {"prompt_tokens": 10 * step, "completion_tokens": 5 * step}
        state = {**state, "messages": MessageLog(state["messages"], (reply,)), "token_usage": usage,
                 "context_tokens": 10 * step}  # fmt: skip
        add("llm", None, "MockChatGenerator", state, replies=[reply], tool_names=["add"])
        before = state
        add("hook", "before_tool", "Noop", state)
        result = ChatMessage.from_tool(str(step + 1), origin=call)
        counts = {"add": step + 1}
        state = {**state, "messages": MessageLog(state["messages"], (result,)), "tool_call_counts": counts}
        add("tool", None, "add", state, arguments={"a": step, "b": 1}, result=step + 1, tool_call_id=call.id)
        before = state
        add("hook", "after_tool", "Noop", state)
        step += 1
    return events[:n_events]


def lazy_copies(events: list[Event]) -> list[Event]:
    """Fresh Events over the same snapshots and details, nothing derived yet."""
    return [
        Event(e.run_id, e.seq, e.step, e.kind, e.hook_point, e.name, e.status, e.offset_ms, e.duration_ms,
              prompt_tokens=e.prompt_tokens, completion_tokens=e.completion_tokens, before=e.before, after=e.after,
              detail=e.detail)
        for e in events
    ]  # fmt: skip


def best_of(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    """(best, median) seconds over `reps` calls."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    print("agent_nb views benchmarks")
    big = synthetic_run(100_000)
    events = big.events

    def timeline_100k() -> None:
        fresh = Run(run_id="bench", status="ok", events=events)  # a new Run: no cached frame
        frame = fresh.timeline
        assert len(frame) == 100_000

    best, median = best_of(timeline_100k, 5)
    print(f"  run.timeline, 100,000 events: best {best:.3f} s, median {median:.3f} s over 5")
    report("run.timeline for 100,000 events (median)", median, "< 0.5 s", unit=" s")

    recorded = recorded_events(100_000)
    times = []
    for _ in range(5):
        fresh = Run(run_id="bench", status="ok", events=lazy_copies(recorded))  # nothing derived yet
        t0 = time.perf_counter()
        assert len(fresh.timeline) == 100_000
        times.append(time.perf_counter() - t0)
    best, median = min(times), statistics.median(times)
    print(f"  run.timeline, 100,000 recorded events, first read: best {best:.3f} s, median {median:.3f} s over 5")
    report("run.timeline for 100,000 events, first (lazy) read (median)", median, "< 0.5 s", unit=" s")

    run10k = synthetic_run(10_000)
    run10k.timeline  # noqa: B018  (build and cache the frame, as a notebook would before plotting)
    plot_run(synthetic_run(50))  # import matplotlib once, outside the timing

    best, median = best_of(run10k.plot, 5)
    print(f"  run.plot(), 10,000 events, Figure built: best {best:.3f} s, median {median:.3f} s over 5")
    report("run.plot() for 10,000 events (median)", median, "< 2 s", unit=" s")

    def plot_and_render() -> None:
        run10k.plot().savefig(io.BytesIO(), format="png", dpi=100)

    best, median = best_of(plot_and_render, 3)
    print(f"  run.plot() + render to PNG, 10,000 events: best {best:.3f} s, median {median:.3f} s over 3")
    report("run.plot() + PNG render for 10,000 events (median)", median, "< 2 s", unit=" s")

    run1k = synthetic_run(1_000, with_state=True)
    best, median = best_of(lambda: run_report(run1k), 3)
    size = len(run_report(run1k)) / 1e6
    print(f"  run_report, 1,000 events: best {best:.3f} s, median {median:.3f} s; {size:.1f} MB of HTML")
    report("run_report for 1,000 events (median, for information)", median, "none", unit=" s")


if __name__ == "__main__":
    main()
