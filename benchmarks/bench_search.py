"""`Run.search` / `matching_seqs` on a recorded run of about 8,000 events: first search (texts built), next ones.

Printed beside the timeline build of the same run, measured in the same process.

    PYTHONPATH=$PWD python benchmarks/bench_search.py
"""

from __future__ import annotations

import time

from agent_nb import Recorder
from agent_nb.recording.events import build_timeline
from agent_nb.recording.search import _CACHE, _READY, matching_seqs
from benchmarks.common import six_hook_agent


def main() -> None:
    steps = 1600  # 6 hook points, an LLM and a tool call per step: about 8,000 events
    run = Recorder(six_hook_agent(max_agent_steps=steps + 5)).run(f"Count to {steps}")
    n = len(run.events)
    t = time.perf_counter()
    build_timeline(run.events)
    build_ms = (time.perf_counter() - t) * 1000
    _CACHE.pop(run, None)
    _READY.pop(run, None)
    t = time.perf_counter()
    matching_seqs(run, "finished")
    first_ms = (time.perf_counter() - t) * 1000
    reps = 20
    t = time.perf_counter()
    for word in ("finished", "ADD", "a=3", "nothing like this") * (reps // 4):
        matching_seqs(run, word)
    next_ms = (time.perf_counter() - t) * 1000 / reps
    print(f"{n} events: timeline build {build_ms:.1f} ms (after the run: derived columns cached)")
    print(f"first search (texts built) {first_ms:.1f} ms; next searches {next_ms:.2f} ms each")
    print(f"ratio next search / timeline build: {next_ms / build_ms:.2f}")


if __name__ == "__main__":
    main()
