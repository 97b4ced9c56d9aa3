"""Recorder overhead and per-event cost. Run: `python benchmarks/bench_recorder.py`.

1. A 20-step scripted run with 6 hooks, recorded (fast snapshots) against the bare Agent. Target <= 1.10x.
2. Per-event recording cost with 10 and with 1,000 messages in the conversation. Target ratio <= 1.5.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import Noop, interleaved, report, six_hook_agent
from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage

from agent_nb import Recorder
from agent_nb.recording.context import CURRENT
from agent_nb.recording.proxies import HookProxy


def overhead(reps: int = 60) -> float:
    bare = six_hook_agent()
    rec = Recorder(six_hook_agent())
    prompt = [ChatMessage.from_user("steps 20")]

    def recorded() -> None:
        rec.run(prompt)
        rec.runs.clear()  # history would otherwise grow across repetitions

    medians = interleaved({"bare": lambda: bare.run(messages=list(prompt)), "recorded": recorded}, reps)
    print(f"  CPU per 20-step run: bare {medians['bare'] * 1000:.2f} ms, recorded {medians['recorded'] * 1000:.2f} ms")
    return medians["recorded"] / medians["bare"]


def per_event_cost(n_messages: int, events: int = 2000) -> float:
    """Seconds per recorded hook event with a conversation of n_messages (hook body does nothing)."""
    rec = Recorder(six_hook_agent())
    from agent_nb.recording.recorder import RunSpec, as_messages

    run, ctx, _, _ = rec._start(RunSpec(messages=as_messages("steps 1")))
    schema = {"messages": {"type": list[ChatMessage]}, "step_count": {"type": int}, "token_usage": {"type": dict}}
    msgs = [ChatMessage.from_user(f"message {i} " + "word " * 20) for i in range(n_messages)]
    state = State(schema=schema, data={"messages": msgs, "step_count": 3, "token_usage": {"prompt_tokens": 1}})
    proxy = HookProxy(Noop(), "before_llm", "noop")
    token = CURRENT.set(ctx)
    try:
        samples = []
        for _ in range(5):
            run.events.clear()
            t0 = time.perf_counter()
            for _ in range(events):
                proxy.run(state)
            samples.append((time.perf_counter() - t0) / events)
    finally:
        CURRENT.reset(token)
    return statistics.median(samples)


def main() -> None:
    print("agent_nb recorder benchmarks")
    report("recorder overhead, 20-step run, 6 hooks (recorded / bare)", overhead(), "<= 1.10x")
    small, large = [], []
    for _ in range(3):  # interleave the two sizes
        small.append(per_event_cost(10))
        large.append(per_event_cost(1000))
    s, la = statistics.median(small), statistics.median(large)
    print(f"  per hook event: {s * 1e6:.1f} us at 10 messages, {la * 1e6:.1f} us at 1,000 messages")
    report("per-event cost ratio, 1,000 vs 10 messages", la / s, "<= 1.5x")


if __name__ == "__main__":
    main()
