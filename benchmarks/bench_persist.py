"""Size and speed of saved runs. Run: `python benchmarks/bench_persist.py`.

A saved run must grow linearly with its events: the bytes per event (uncompressed JSON) and the save / load
seconds per event should stay about flat from 50 to 10,000 events. Runs are built with the latency-free
scripted model of `common.py` (six trivial hooks, one `add` call per step: about 5 events per step).

Also shown: the input digests of every LLM call of a long run (what a save stores and a replay keys by),
through the one digest path (`InputDigests`: a conversation that grows by appending continues its base's hash
state) against `llm_digest` per call with a shared message cache (each call hashes its whole conversation's
message digests again), side by side on the same run.

And large State values, which must be stored once however many snapshots hold them:
- a 10.5 MB string passed as a State value (the same object in every snapshot);
- a 0.2 MB string that a hook sets afresh (an equal, new object) at every one of 100 steps.

`python benchmarks/bench_persist.py --bomb` measures instead what refusing a gzip bomb costs: a 1 MB file that
decompresses to 1 GiB, with an honest and a lying size trailer, loaded with the default limit in this fresh
process (peak RSS against the RSS after the imports).
"""

from __future__ import annotations

import gzip
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import Noop, add, six_hook_agent, steps_fn
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator

from agent_nb import Recorder, Run
from agent_nb.recording.digest import InputDigests, llm_digest
from agent_nb.recording.file_format import RunFileError
from agent_nb.recording.persist import load_run

SIZES = (50, 5_000, 10_000)


def long_run(events: int) -> Run:
    """A finished run with about `events` events (5 per step, plus before_run, on_exit and after_run)."""
    steps = max(2, round(events / 5))
    rec = Recorder(six_hook_agent(max_agent_steps=steps + 5))
    run = rec.run(f"steps {steps}")
    assert run.status == "ok", run.describe()
    return run


def timed(fn, reps: int) -> tuple[float, object]:
    """Median wall seconds of `fn()` over `reps` calls, and the last result."""
    times, result = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def measure(label: str, run: Run, folder: Path, reps: int) -> None:
    path = folder / "run.json"
    n = len(run.events)
    save_s, _ = timed(lambda: run.save(path), reps)
    size = path.stat().st_size
    gz_size = len(gzip.compress(path.read_bytes(), compresslevel=6))
    load_s, loaded = timed(lambda: Run.load(path), reps)
    assert len(loaded.events) == n
    print(
        f"  {label:<34} {n:>6} events  {size / 1e6:8.2f} MB ({size / n:7.0f} B/event, gz {gz_size / n:6.0f} B/event)"
        f"  save {save_s * 1e6 / n:6.1f} us/event ({save_s:6.2f} s)  load {load_s * 1e6 / n:6.1f} us/event"
        f" ({load_s:6.2f} s)"
    )


def digests(run: Run) -> None:
    llm = [e for e in run.events if e.kind == "llm"]
    inputs = [(e.detail["input_messages"], list(e.detail["tool_names"])) for e in llm]

    def incremental() -> list[str]:
        one = InputDigests()
        return [one.of(messages, tools) for messages, tools in inputs]

    def per_call() -> list[str]:
        cache: dict = {}
        return [llm_digest(list(messages), tools, cache) for messages, tools in inputs]

    inc_s, a = timed(incremental, 3)
    call_s, b = timed(per_call, 3)
    assert a == b  # one value, whichever way it is computed
    print(
        f"  digests of {len(llm)} LLM inputs ({len(run.events)} events): InputDigests {inc_s * 1e3:7.1f} ms,"
        f" llm_digest per call (shared cache) {call_s * 1e3:7.1f} ms: {call_s / inc_s:5.1f}x"
    )


class Refresh:
    """before_llm: sets `notes` to a new string object equal to the last one (same text, new object)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def run(self, state: State) -> None:
        state.set("notes", "".join(["n"] * self.size))


def main() -> None:
    print("agent_nb save / load: bytes and seconds per event (uncompressed .json; gz = gzip level 6 of it)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for events in SIZES:
            run = long_run(events)
            measure(f"{run.steps}-step run", run, folder, reps=5 if events < 1000 else 2)
            digests(run)
            del run

        big = "x" * 10_500_000
        agent = Agent(
            chat_generator=MockChatGenerator(response_fn=steps_fn),
            tools=[add],
            hooks={"before_llm": [Noop()]},
            state_schema={"blob": {"type": str}},
            max_agent_steps=20,
        )
        run = Recorder(agent).run("steps 5", blob=big)
        measure("10.5 MB State value, 5 steps", run, folder, reps=2)

        agent = Agent(
            chat_generator=MockChatGenerator(response_fn=steps_fn),
            tools=[add],
            hooks={"before_llm": [Refresh(200_000)]},
            state_schema={"notes": {"type": str}},
            max_agent_steps=110,
        )
        run = Recorder(agent).run("steps 100")
        measure("0.2 MB value set anew, 100 steps", run, folder, reps=2)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def bomb() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        honest, lying = Path(tmp) / "honest.json.gz", Path(tmp) / "lying.json.gz"
        with gzip.open(honest, "wb", compresslevel=9) as out:
            zeros = b"0" * 2**20
            for _ in range(1024):
                out.write(zeros)
        lying.write_bytes(honest.read_bytes()[:-4] + (100).to_bytes(4, "little"))  # states 100 bytes
        base = peak_rss_mib()
        for path in (honest, lying):
            try:
                load_run(path)
                print(f"{path.name}: loaded (not refused!)")
            except RunFileError as exc:
                print(f"{path.name} ({path.stat().st_size / 1e6:.2f} MB): refused: {str(exc).split(': ', 1)[1][:60]}")
        peak = peak_rss_mib()
        print(f"peak RSS {peak:.0f} MiB, {base:.0f} MiB after the imports: refusing cost {peak - base:.0f} MiB")


if __name__ == "__main__":
    if "--bomb" in sys.argv[1:]:
        bomb()
    else:
        main()
