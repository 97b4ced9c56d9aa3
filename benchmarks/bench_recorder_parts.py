"""Where the recorder's overhead goes: `python benchmarks/bench_recorder_parts.py`.

The 20-step run of `bench_recorder.py` (6 hooks, the latency-free scripted model), recorded / bare, with one part
of the recording switched off at a time. Each variant runs in a process of its own, its patch installed once
before anything runs (swapping functions between runs would itself slow haystack's code down); inside the process
the recorded and bare runs are interleaved, and the figure is the median of five blocks of ratios.

What each variant switches off (a diagnostic only: such a recording would be wrong):

- ``no-snapshots``: every State snapshot is one constant dict (no comparing, no copying, no message freezing);
- ``no-freeze``: messages are kept as they are instead of frozen copies;
- ``no-tools``: tool calls are not recorded;
- ``no-emit``: events are built but not appended to the run;
- ``floor``: nothing is recorded; hooks, tools and the generator go through the interception points only.

`--quick` runs fewer repetitions.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

VARIANTS = ("full", "no-snapshots", "no-freeze", "no-tools", "no-emit", "floor")


def measure(variant: str, reps: int) -> float:
    """Run in a fresh process: install the variant's patches, then time bare and recorded runs interleaved."""
    sys.path.insert(0, str(Path(__file__).parent))
    from common import interleaved, six_hook_agent
    from haystack.dataclasses import ChatMessage

    import agent_nb.recording.context as context_module
    import agent_nb.recording.snapshots as snapshots_module
    from agent_nb import Recorder
    from agent_nb.recording import interception

    interception.install()
    constant = {"messages": snapshots_module.MessageLog(None, ()), "step_count": 0}
    if variant in ("no-snapshots", "floor"):
        snapshots_module.Snapshotter.__call__ = lambda self, data: constant  # type: ignore[method-assign]
    if variant in ("no-freeze", "floor"):
        context_module.freeze_message = snapshots_module.freeze_message = lambda message: message  # type: ignore[assignment]
    if variant in ("no-tools", "floor"):
        import haystack.components.agents.tool_calling as tool_calling

        tool_calling._make_context_bound_invoke = interception._ORIGINAL["invoke"]
    if variant in ("no-emit", "floor"):
        context_module.RunContext.emit = lambda self, event, pending=False: None  # type: ignore[method-assign]
    if variant == "floor":
        import haystack.components.agents.agent as agent_module

        agent_module._run_hooks = interception._ORIGINAL["run_hooks"]
        interception._LLMCall.start = classmethod(lambda cls, *args: None)  # type: ignore[method-assign,assignment]

    bare = six_hook_agent(max_agent_steps=25)
    rec = Recorder(six_hook_agent(max_agent_steps=25))
    prompt = [ChatMessage.from_user("steps 20")]

    def recorded() -> None:
        rec.run(prompt)
        rec.runs.clear()

    ratios = []
    for _ in range(5):
        medians = interleaved({"bare": lambda: bare.run(messages=list(prompt)), "recorded": recorded}, reps)
        ratios.append(medians["recorded"] / medians["bare"])
    return statistics.median(ratios)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--variant":
        print(measure(sys.argv[2], int(sys.argv[3])))
        return
    reps = 10 if "--quick" in sys.argv else 30
    print(
        "agent_nb recorder overhead by part: 20-step run, 6 hooks, recorded / bare" + (" (quick)" if reps < 30 else "")
    )
    figures = {}
    for variant in VARIANTS:
        out = subprocess.run(
            [sys.executable, __file__, "--variant", variant, str(reps)], capture_output=True, text=True, check=True
        )
        figures[variant] = float(out.stdout.strip().splitlines()[-1])
        share = figures["full"] - figures[variant]
        note = "" if variant == "full" else f"   (this part: {share:+.3f})"
        print(f"  {variant:<14} {figures[variant]:.3f}x{note}")


if __name__ == "__main__":
    main()
