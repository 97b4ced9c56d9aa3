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
- ``essential``: the floor, plus only the work fidelity cannot do without, written as directly as possible: a
  State snapshot (the same Snapshotter) where haystack changed the State and after each hook, a frozen copy of each
  reply (shared with the snapshots), copies of each tool call's arguments and result, and a tuple per event. No
  Event objects, no settling, no bookkeeping: the least a recorder that keeps its recordings immutable does, so the
  lower bound of any leaner design with the same copies;
- ``essential+no-freeze`` and ``essential+no-snapshots``: that lower bound without the frozen message copies, and
  without the snapshots: what each of the copies fidelity needs costs by itself.

Variants combine with ``+``: `--variant essential+no-freeze 30` runs one. Last, the script prints what one frozen
message costs in a loop and right after a bare haystack run: the parts cost a real run 2-3x what a loop says.

`--quick` runs fewer repetitions.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

VARIANTS = (
    "full",
    "no-snapshots",
    "no-freeze",
    "no-tools",
    "no-emit",
    "floor",
    "essential",
    "essential+no-freeze",
    "essential+no-snapshots",
)


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
    parts = set(variant.split("+"))
    if parts & {"no-snapshots", "floor"}:
        snapshots_module.Snapshotter.__call__ = lambda self, data: constant  # type: ignore[method-assign]
    if parts & {"no-freeze", "floor"}:
        context_module.freeze_message = snapshots_module.freeze_message = lambda message: message  # type: ignore[assignment]
    if parts & {"no-tools", "floor"}:
        import haystack.components.agents.tool_calling as tool_calling

        tool_calling._make_context_bound_invoke = interception._ORIGINAL["invoke"]
    if parts & {"no-emit", "floor"}:
        context_module.RunContext.emit = lambda self, event, pending=False: None  # type: ignore[method-assign]
    if "floor" in parts:
        import haystack.components.agents.agent as agent_module

        agent_module._run_hooks = interception._ORIGINAL["run_hooks"]
        interception._LLMCall.start = classmethod(lambda cls, *args: None)  # type: ignore[method-assign,assignment]
    if "essential" in parts:
        install_essential(interception, snapshots_module)

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


def install_essential(interception: Any, snapshots_module: Any) -> None:
    """The `essential` variant: the copies fidelity needs, recorded as tuples, with nothing else around them."""
    import time

    import haystack.components.agents.agent as agent_module
    import haystack.components.agents.tool_calling as tool_calling
    from haystack import tracing
    from haystack.hooks.invocation import _create_hook_span

    clock, rows = time.perf_counter, []
    copy_value, freeze_message = snapshots_module.copy_value, snapshots_module.freeze_message
    run_hooks, invoke = interception._ORIGINAL["run_hooks"], interception._ORIGINAL["invoke"]
    snap = [snapshots_module.Snapshotter("fast")]

    def hooks_essential(hooks: Any, hook_point: Any, state: Any) -> None:
        if not isinstance(hooks, interception.RecordingHooks):  # the bare Agent: haystack's own, untouched
            return run_hooks(hooks=hooks, hook_point=hook_point, state=state)
        if hook_point == "before_run":
            rows.clear()
            snap[0] = snapshots_module.Snapshotter("fast")
        take = snap[0]
        before = take(state.data)  # what haystack changed since the last event (a reply, tool results, the step)
        registered = hooks.get(hook_point, ())
        parent_span = tracing.tracer.current_span() if registered else None
        for hook in registered:
            with _create_hook_span(hook=hook, hook_point=hook_point, parent_span=parent_span):  # haystack's, as bare
                t0 = clock()
                hook.run(state)
                rows.append((hook_point, t0, clock(), before, (before := take(state.data))))
        return None

    class Call:
        __slots__ = ("result", "served", "t0")

        def __init__(self) -> None:
            self.served, self.result, self.t0 = None, None, clock()

        def failed(self, exc: BaseException) -> None:
            pass

        def finish(self) -> Any:
            frozen = []
            for reply in self.result["replies"]:
                frozen.append(copy := freeze_message(reply))
                snap[0].adopt(reply, copy)  # the State's snapshots reuse this copy, as in a real recording
            rows.append(("llm", self.t0, clock(), frozen))
            return self.result

    def invoke_essential(tool: Any, args: Any, tool_call: Any, parent_span: Any) -> Any:
        runner = invoke(tool, args, tool_call, parent_span)
        if interception.current() is None:  # the bare Agent
            return runner
        arguments = copy_value(tool_call.arguments)

        def run() -> Any:
            t0 = clock()
            result = runner()
            rows.append(("tool", t0, clock(), arguments, copy_value(result)))
            return result

        return run

    agent_module._run_hooks = hooks_essential
    tool_calling._make_context_bound_invoke = invoke_essential
    interception._LLMCall.start = classmethod(lambda cls, *args: Call())  # type: ignore[method-assign,assignment]


def cold_freeze() -> tuple[float, float]:
    """Microseconds to freeze one assistant message: in a loop, and right after a bare 2-step haystack run."""
    import time

    sys.path.insert(0, str(Path(__file__).parent))
    from common import six_hook_agent
    from haystack.dataclasses import ChatMessage, ToolCall

    from agent_nb.recording.values import freeze_message

    usage = {"usage": {"prompt_tokens": 10, "completion_tokens": 5}, "model": "mock-model", "index": 0}
    reply = ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 1, "b": 1})], meta=usage)
    bare = six_hook_agent(max_agent_steps=5)
    figures = []
    for between in (lambda: None, lambda: bare.run(messages=[ChatMessage.from_user("steps 2")])):
        samples = []
        for _ in range(300):
            between()
            t0 = time.perf_counter()
            freeze_message(reply)
            samples.append(time.perf_counter() - t0)
        figures.append(statistics.median(samples) * 1e6)
    return figures[0], figures[1]


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
        if variant == "full":
            note = ""
        elif variant == "essential":
            note = f"   (lower bound for these copies; bookkeeping over it: {figures['full'] - figures[variant]:+.3f})"
        elif variant.startswith("essential+"):
            note = f"   (this copy in the lower bound: {figures['essential'] - figures[variant]:+.3f})"
        else:
            note = f"   (this part: {figures['full'] - figures[variant]:+.3f})"
        print(f"  {variant:<24} {figures[variant]:.3f}x{note}")
    hot, cold = cold_freeze()
    print(f"  one frozen message: {hot:.1f} us in a loop, {cold:.1f} us right after a bare haystack run")


if __name__ == "__main__":
    main()
