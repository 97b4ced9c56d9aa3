"""Replay cost against recording. Run: `python benchmarks/bench_replay.py`.

A recorded 100-step run (6 trivial hooks, one tool call per step, a latency-free scripted model) is replayed
(every LLM reply served from the recording, tools re-run) and recorded again, side by side in one process,
calls interleaved. Target: replay / recorded run <= 1.2x. Also shown: replay with cached tools, a fork at
step 50, and save / load of the run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import interleaved, report, six_hook_agent

from agent_nb import Recorder, Run

STEPS = 100


def main(reps: int = 15) -> None:
    print("agent_nb replay benchmarks")
    rec = Recorder(six_hook_agent(max_agent_steps=STEPS + 10))
    prompt = f"steps {STEPS}"
    source = rec.run(prompt)
    assert source.steps == STEPS, source.describe()
    check = source.replay()
    assert check.usage["llm_calls"] == 0 and check.final_answer == source.final_answer

    def keep_source_only() -> None:
        del rec.runs[1:]  # replays and forks accumulate in rec.runs; keep memory flat

    sides = {
        "recorded run": lambda: (rec.run(prompt), keep_source_only()),
        "replay": lambda: (source.replay(), keep_source_only()),
        "replay, cached tools": lambda: (source.replay(tools="cached"), keep_source_only()),
    }
    medians = interleaved(sides, reps)
    for name, seconds in medians.items():
        print(f"  {name:<22} {seconds * 1000:8.1f} ms per {STEPS}-step run ({len(source.events)} events)")
    report(f"replay of a {STEPS}-step run / recording it", medians["replay"] / medians["recorded run"], "<= 1.2x")
    report(
        f"replay with cached tools / recording ({STEPS} steps)",
        medians["replay, cached tools"] / medians["recorded run"],
        "informational",
    )

    fork_times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        source.fork(step=STEPS // 2)
        fork_times.append(time.perf_counter() - t0)
        keep_source_only()
    print(f"  fork at step {STEPS // 2}: {statistics.median(fork_times) * 1000:.1f} ms")

    with tempfile.TemporaryDirectory() as folder:
        for name in ("run.json", "run.json.gz"):
            path = Path(folder) / name
            save_s, load_s = [], []
            for _ in range(5):
                t0 = time.perf_counter()
                source.save(path)
                save_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                Run.load(path)
                load_s.append(time.perf_counter() - t0)
            print(
                f"  {name:<12} {path.stat().st_size / 1024:8.1f} KiB, save {statistics.median(save_s) * 1000:.1f} ms, "
                f"load {statistics.median(load_s) * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()
