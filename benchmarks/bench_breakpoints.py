"""Breakpoints: what they cost when never hit, and how fast a pause shows and a resume goes on.

`python benchmarks/bench_breakpoints.py [--quick]`

1. A 20-step run with 6 hooks (one per point) on a worker thread: `rec.start(...)` with two breakpoints that
   never fire (a named tool the run does not call, and a condition that is always false) against `rec.run(...)`
   on a thread of its own, with no breakpoint. Process CPU time, interleaved. Target <= 1.10x.
2. Pause-to-visible: from the moment the Agent's thread reaches a boundary it pauses at to the moment
   `live.wait_paused()` returns in the caller's thread. Wall time, median over pauses, sync and async runs.
3. Resume-to-paused round trip: `live.step()` from one hook's boundary to the next one's pause (a no-op hook
   between them): the resume, the hook and the next pause. Median ms, sync and async.

The cost with no breakpoint set is `benchmarks/bench_recorder.py` (no breaker: one attribute check per hook
point, LLM and tool call).
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import interleaved, report, six_hook_agent
from haystack.dataclasses import ChatMessage

from agent_nb import Recorder

QUICK = "--quick" in sys.argv


def never_hit(steps: int, reps: int) -> float:
    plain = Recorder(six_hook_agent(max_agent_steps=steps + 5))
    live_rec = Recorder(six_hook_agent(max_agent_steps=steps + 5))
    live_rec.break_at("tool", name="add", when=lambda state: state["step_count"] > 10_000)
    live_rec.break_at("before_llm", when=lambda state: False)
    prompt = [ChatMessage.from_user(f"steps {steps}")]

    def on_thread() -> None:
        thread = threading.Thread(target=plain.run, args=(prompt,))
        thread.start()
        thread.join()
        plain.runs.clear()

    def live() -> None:
        assert live_rec.start(prompt).wait().status == "ok"
        live_rec.runs.clear()

    medians = interleaved({"plain": on_thread, "live": live}, reps)
    print(
        f"  CPU per {steps}-step run: rec.run on a thread {medians['plain'] * 1000:.2f} ms, "
        f"rec.start with breakpoints never hit {medians['live'] * 1000:.2f} ms"
    )
    return medians["live"] / medians["plain"]


def latencies(use_async: bool, pauses: int) -> tuple[float, float]:
    """(median pause-to-visible ms, median step round trip ms)."""
    rec = Recorder(six_hook_agent(max_agent_steps=pauses + 5))
    rec.break_at("before_llm")
    live = rec.start([ChatMessage.from_user(f"steps {pauses + 2}")], use_async=use_async)
    visible, round_trips = [], []
    pause = live.wait_paused(timeout=60)
    for _ in range(pauses):
        assert pause is not None and pause.kind == "point"
        seen = time.perf_counter()
        visible.append((seen - live._paused.started) * 1000)  # when the Agent's thread paused
        t0 = time.perf_counter()
        live.step()  # to the hook of the same point: the no-op hook's boundary
        pause = live.wait_paused(timeout=60)
        round_trips.append((time.perf_counter() - t0) * 1000)
        assert pause is not None and pause.kind == "hook"
        live.resume()  # to the next step's before_llm
        pause = live.wait_paused(timeout=60)
    rec.clear_breakpoints()
    if pause is not None:
        live.resume()
    live.wait(timeout=60)
    return statistics.median(visible), statistics.median(round_trips)


def main() -> None:
    reps = 5 if QUICK else 25
    pauses = 10 if QUICK else 50
    print("Breakpoints")
    report("1. 20-step run, breakpoints set but never hit / no breakpoint", never_hit(20, reps), "<= 1.10x")
    for use_async in (False, True):
        label = "async" if use_async else "sync"
        visible, trip = latencies(use_async, pauses)
        report(f"2. pause-to-visible ({label}), median", visible, "< 5 ms", " ms")
        report(f"3. step round trip: resume, a no-op hook, pause again ({label})", trip, "< 10 ms", " ms")


if __name__ == "__main__":
    main()
