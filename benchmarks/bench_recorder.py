"""Recorder overhead, per-event cost, long runs, memory, big State values: `python benchmarks/bench_recorder.py`.

Every figure is a ratio measured side by side in one process (process CPU time, interleaved repetitions):

1. A 20-step run with 6 hooks (one per point), recorded (fast snapshots) against the bare Agent. Target <= 1.10x.
   Beside each ratio, the recorder's own cost in microseconds per event ((recorded - bare) / events): a ratio
   depends on how fast haystack's own step is on the machine, the cost per event much less. Then the three
   snapshot modes side by side (fast, off, deep).
2. Per hook event, with 10 and with 1,000 messages in the conversation. Target ratio <= 1.2x.
3. A 2,000-step run, recorded against bare. Target <= 1.3x. Memory held per event at 100 and 2,000 steps.
4. A hook that changes a 10 MB State value every step (str and bytearray), recorded against bare.
5. `run.timeline` of 100,000 events, the first (lazy) read included. Target < 0.5 s. And a 20-step run with a
   1,000-row DataFrame in the State (every event checks it, with `DataFrame.equals`), recorded against bare.
6. Python's cyclic garbage collector: collections and their time per 20-step run, recorded and bare (a recording
   keeps its objects, so the collector runs where a bare run, which frees what it makes, hardly triggers it).
7. A 5-step run that starts from a long conversation (5,000 and 10,000 input messages): what the recording adds
   per input message, (recorded - bare) / messages. Target <= 3 us. (The input messages are packed as one pickle,
   read back only when read: see `agent_nb.recording.values.PackedMessages`.)
8. Memory held per event with deep snapshots at 100 and 1,000 steps (linear: the same per event).

`--quick` runs fewer repetitions (a smoke run; the figures are noisier).
"""

from __future__ import annotations

import collections
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import Noop, conversation, interleaved, long_conversation_agent, machine, report, six_hook_agent
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage

from agent_nb import Recorder
from agent_nb.recording.context import CURRENT, RunContext
from agent_nb.recording.events import Event
from agent_nb.recording.interception import HookSlot, RecordingHooks, _recorded_run_hooks
from agent_nb.recording.run import Run
from agent_nb.recording.snapshots import Snapshotter

QUICK = "--quick" in sys.argv


def overhead(steps: int, reps: int) -> float:
    return overhead_figures(steps, reps)[0]


def overhead_figures(steps: int, reps: int) -> tuple[float, float]:
    """(recorded / bare, the recorder's own cost in us per event) for a `steps`-step run with six hooks."""
    bare = six_hook_agent(max_agent_steps=steps + 5)
    rec = Recorder(six_hook_agent(max_agent_steps=steps + 5))
    prompt = [ChatMessage.from_user(f"steps {steps}")]
    events = len(rec.run(prompt).events)

    def recorded() -> None:
        rec.run(prompt)
        rec.runs.clear()  # history would otherwise grow across repetitions

    medians = interleaved({"bare": lambda: bare.run(messages=list(prompt)), "recorded": recorded}, reps)
    bare_ms, recorded_ms = medians["bare"] * 1000, medians["recorded"] * 1000
    per_event = (recorded_ms - bare_ms) * 1000 / events
    print(
        f"  CPU per {steps}-step run: bare {bare_ms:.2f} ms, recorded {recorded_ms:.2f} ms; "
        f"the recorder's own cost {per_event:.1f} us per event ({events} events)"
    )
    return medians["recorded"] / medians["bare"], per_event


def modes(steps: int, reps: int) -> dict[str, tuple[float, float]]:
    """{mode: (recorded / bare, us per event)} for the three snapshot modes: fast and off interleaved with bare,
    then deep with bare (deep keeps more objects: its garbage collections would land in the other sides' times).

    "fast + timeline" and "off + timeline" also read `run.timeline` once: off derives the timeline's columns as
    the run ends (before it drops the snapshots), fast at that first read, so these two compare like for like."""
    bare = six_hook_agent(max_agent_steps=steps + 5)
    prompt = [ChatMessage.from_user(f"steps {steps}")]
    recs = {m: Recorder(six_hook_agent(max_agent_steps=steps + 5), snapshots=m) for m in ("fast", "off", "deep")}
    events = len(recs["fast"].run(prompt).events)

    def recorded(mode: str) -> Any:
        rec, read = recs[mode.split(" ")[0]], mode.endswith("timeline")

        def run() -> None:
            recording = rec.run(prompt)
            if read:
                recording.timeline  # noqa: B018  (the first read derives the columns)
            rec.runs.clear()

        return run

    out = {}
    for group in (("fast", "off", "fast + timeline", "off + timeline"), ("deep",)):
        sides = {"bare": lambda: bare.run(messages=list(prompt)), **{m: recorded(m) for m in group}}
        medians = interleaved(sides, reps)
        for m in group:
            out[m] = (medians[m] / medians["bare"], (medians[m] - medians["bare"]) * 1e6 / events)
    return out


def long_conversation(n_messages: int, reps: int, steps: int = 5) -> tuple[float, float]:
    """(recorded / bare, us the recording adds per input message) for a `steps`-step run that starts from a
    conversation of `n_messages` (user questions and assistant answers).

    Means over the repetitions, not medians: the copies a recording keeps make Python's cyclic garbage collector
    run a full collection every few runs (0.1-0.2 s here, as it walks every object of the process), and a median
    would leave that cost out.
    """
    bare, rec = long_conversation_agent(steps), Recorder(long_conversation_agent(steps))
    history = conversation(n_messages)

    def recorded() -> None:
        rec.run(history)
        rec.runs.clear()

    sides = {"bare": lambda: bare.run(messages=list(history)), "recorded": recorded}
    totals = dict.fromkeys(sides, 0.0)
    recorded()
    for _ in range(reps):
        for name, fn in sides.items():
            t0 = time.process_time()
            fn()
            totals[name] += time.process_time() - t0
    bare_s, recorded_s = totals["bare"] / reps, totals["recorded"] / reps
    print(
        f"  {n_messages:,} input messages, {steps} steps: "
        f"bare {bare_s * 1000:.1f} ms, recorded {recorded_s * 1000:.1f} ms"
    )
    return recorded_s / bare_s, (recorded_s - bare_s) * 1e6 / n_messages


def per_event_cost(n_messages: int, hooks: int = 200, reps: int = 30) -> float:
    """Seconds per recorded hook event with a conversation of n_messages (the hook body does nothing)."""
    schema = {"messages": {"type": list[ChatMessage]}, "step_count": {"type": int}, "token_usage": {"type": dict}}
    msgs = [ChatMessage.from_user(f"message {i} " + "word " * 20) for i in range(n_messages)]
    state = State(schema=schema, data={"messages": msgs, "step_count": 3, "token_usage": {"prompt_tokens": 1}})
    recording_hooks = RecordingHooks([HookSlot("before_tool", f"noop{i}", Noop()) for i in range(hooks)])
    samples = []
    for _ in range(reps):
        ctx = RunContext(run=Run(run_id="bench"), snapshotter=Snapshotter("fast"))
        ctx.state, ctx.step = state, 3
        ctx.snap(state)  # a live run freezes each message once, when it enters the State: not timed here
        token = CURRENT.set(ctx)
        t0 = time.process_time()
        _recorded_run_hooks(recording_hooks, "before_tool", state)
        samples.append((time.process_time() - t0) / hooks)
        CURRENT.reset(token)
    return statistics.median(samples)


def bare_hook_cost(hooks: int = 200, reps: int = 30) -> float:
    """Seconds per hook call in haystack's own `_run_hooks` (the same Noop hooks, no recording): the baseline."""
    from haystack.hooks.invocation import _run_hooks

    state = State(schema={"messages": {"type": list[ChatMessage]}}, data={"messages": [ChatMessage.from_user("hi")]})
    registered = {"before_tool": [Noop() for _ in range(hooks)]}
    samples = []
    for _ in range(reps):
        t0 = time.process_time()
        _run_hooks(registered, "before_tool", state)
        samples.append((time.process_time() - t0) / hooks)
    return statistics.median(samples)


def gc_per_run(runs: int = 300) -> dict[str, tuple[float, float]]:
    """{side: (collections, ms of collection)} per 20-step run, measured with `gc.callbacks`."""
    bare = six_hook_agent(max_agent_steps=25)
    rec = Recorder(six_hook_agent(max_agent_steps=25))
    prompt = [ChatMessage.from_user("steps 20")]
    counts: collections.Counter[str] = collections.Counter()
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            counts["n"] += 1
            counts["s"] += time.perf_counter() - started[0]

    def recorded() -> None:
        rec.run(prompt)
        rec.runs.clear()

    out = {}
    gc.callbacks.append(on_gc)
    try:
        for side, fn in (("bare", lambda: bare.run(messages=list(prompt))), ("recorded", recorded)):
            fn()
            counts.clear()
            for _ in range(runs):
                fn()
            out[side] = (counts["n"] / runs, counts["s"] / runs * 1000)
    finally:
        gc.callbacks.remove(on_gc)
    return out


def memory_per_event(steps: int, snapshots: str = "fast") -> float:
    rec = Recorder(six_hook_agent(max_agent_steps=steps + 5), snapshots=snapshots)
    gc.collect()
    tracemalloc.start()
    run = rec.run(f"steps {steps}")
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return size / len(run.events)


class BigValue:
    """Changes a 10 MB State value every step (a new str, or a bytearray changed in place)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def run(self, state: State) -> None:
        if self.kind == "str":
            value = state.data.get("blob") or "x" * 10_000_000
            state.data["blob"] = value[1:] + value[:1]
        else:
            value = state.data.get("blob")
            if value is None:
                state.data["blob"] = bytearray(10_000_000)
            else:
                value[state.data.get("step_count", 0) % len(value)] += 1


def with_state_hook(point: str, hook: Any, key: str, steps: int, reps: int, snapshots: str = "fast") -> float:
    """Recorded / bare for the six-hook agent with `hook` first at `point`, putting its value under State `key`."""

    def agent() -> Agent:
        base = six_hook_agent(max_agent_steps=steps + 5)
        hooks = dict(base.hooks)
        hooks[point] = [hook, *hooks[point]]
        return base.clone(hooks=hooks, state_schema={key: {"type": Any}})

    bare, rec = agent(), Recorder(agent(), snapshots=snapshots)
    prompt = [ChatMessage.from_user(f"steps {steps}")]

    def recorded() -> None:
        rec.run(prompt)
        rec.runs.clear()

    medians = interleaved({"bare": lambda: bare.run(messages=list(prompt)), "recorded": recorded}, reps, warmup=1)
    return medians["recorded"] / medians["bare"]


def big_value(kind: str, snapshots: str, reps: int) -> float:
    return with_state_hook("before_llm", BigValue(kind), "blob", 10, reps, snapshots)


class PutFrame:
    """Puts a 1,000-row DataFrame in the State once and never changes it (every event must still check it)."""

    def run(self, state: State) -> None:
        if state.data.get("frame") is None:
            import pandas as pd

            state.data["frame"] = pd.DataFrame({"x": range(1000), "label": ["row"] * 1000})


def dataframe_in_state(reps: int) -> float:
    return with_state_hook("before_run", PutFrame(), "frame", 20, reps)


def timeline_100k() -> float:
    """Seconds for the first read of `run.timeline` over 100,000 events built lazily, as a recording leaves them.

    The events are those of a recorded 1,000-step run (six hooks, a tool per step), repeated as fresh Events
    whose derived columns (changed, message counts, flow, summary) are not computed yet.
    """
    source = Recorder(six_hook_agent(max_agent_steps=1005)).run("steps 1000")
    run = Run(run_id="big")
    for i in range(100_000):
        e = source.events[i % len(source.events)]
        ev = Event("big", i, e.step, e.kind, e.hook_point, e.name, e.status, e.offset_ms, e.duration_ms)
        ev.before, ev.after, ev.detail = e.before, e.after, e.detail
        ev.prompt_tokens, ev.completion_tokens, ev.error = e.prompt_tokens, e.completion_tokens, e.error
        run.events.append(ev)
    run.status = "ok"
    t0 = time.perf_counter()
    frame = run.timeline
    elapsed = time.perf_counter() - t0
    assert len(frame) == 100_000
    return elapsed


def main() -> None:
    reps = 15 if QUICK else 60
    print("agent_nb recorder benchmarks" + (" (quick)" if QUICK else ""))
    print(f"  machine: {machine()}")
    report("recorder overhead, 20-step run, 6 hooks (recorded / bare)", overhead(20, reps), "<= 1.10x")
    for mode, (ratio, us) in modes(20, reps // 2).items():
        report(f"20-step run, snapshots={mode!r} (recorded / bare; {us:.1f} us per event)", ratio, "off <= fast")
    for n in (5_000, 10_000):
        ratio, per_message = long_conversation(n, 5 if QUICK else 15)
        report(f"{n:,} input messages, 5 steps (recorded / bare)", ratio, "report")
        report(f"  what the recording adds per input message (us), {n:,} messages", per_message, "<= 3 us", unit=" us")
    small, large = [], []
    for _ in range(3):  # interleave the two sizes
        small.append(per_event_cost(10))
        large.append(per_event_cost(1000))
    s, la = statistics.median(small), statistics.median(large)
    print(f"  per hook event: {s * 1e6:.1f} us at 10 messages, {la * 1e6:.1f} us at 1,000 messages")
    print(f"  per hook call in haystack's own _run_hooks (no recording): {bare_hook_cost() * 1e6:.1f} us")
    report("per-event cost ratio, 1,000 vs 10 messages", la / s, "<= 1.2x")
    report("2,000-step run (recorded / bare)", overhead(2000, 3 if QUICK else 5), "<= 1.3x")
    m100, m2000 = memory_per_event(100), memory_per_event(2000)
    print(f"  memory held per event: {m100 / 1024:.2f} KiB at 100 steps, {m2000 / 1024:.2f} KiB at 2,000 steps")
    report("memory per event, 2,000 vs 100 steps", m2000 / m100, "~1x (linear)")
    d100, d1000 = memory_per_event(100, "deep"), memory_per_event(1000, "deep")
    print(
        f"  deep snapshots, memory held per event: {d100 / 1024:.2f} KiB at 100 steps, {d1000 / 1024:.2f} KiB at 1,000"
    )
    report("deep snapshots, memory per event, 1,000 vs 100 steps", d1000 / d100, "~1x (linear)")
    for kind in ("str", "bytearray"):
        for mode in ("fast", "off"):
            report(
                f"10 MB {kind} State value changed each step, snapshots={mode!r}",
                big_value(kind, mode, 3 if QUICK else 7),
                "report",
            )
    report("20-step run with a 1,000-row DataFrame in the State", dataframe_in_state(5 if QUICK else 20), "report")
    report("run.timeline of 100,000 lazy events, first read (s)", timeline_100k(), "< 0.5 s", unit=" s")
    for side, (n, ms) in gc_per_run(100 if QUICK else 300).items():
        print(f"  cyclic GC per 20-step run, {side}: {n:.3f} collections, {ms:.3f} ms")


if __name__ == "__main__":
    main()
