# Source of notebooks/02_hook_points.ipynb; build with `python notebooks/build.py 02`.

# %% [markdown]
# # The six hook points
#
# A Haystack `Agent` runs hooks at six points of its loop. Each hook gets the live `State` and acts by changing
# it: adding messages, setting keys, or setting one of the two run-control keys, `continue_run` and `stop_run`.
# This notebook puts a hook at every point, records runs, and reads off the timeline when each point fires,
# in which order, and what `state.data["step_count"]` reads there. Then it makes the loop go on, stop early,
# end on a tool, and hit its step limit.
#
# | point | fires | typical use |
# |---|---|---|
# | `before_run` | once, after the State is built, before step 0 | load memories, restore a saved State |
# | `before_llm` | at the start of every step, before the LLM call | inject context, enforce a budget, compact history |
# | `before_tool` | when the model asked for tools, before they run | confirm, edit or reject tool calls |
# | `after_tool` | after the tool results are appended | offload large results, post-process |
# | `on_exit` | when the Agent is about to stop on an exit condition | require a tool, judge the answer, go on |
# | `after_run` | once, after the loop, also on `max_agent_steps` | clean up, log, persist |

# %%
# %matplotlib inline
import logging

import pandas as pd
from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage
from haystack.hooks import hook

from agent_nb import Recorder, demo_agent

pd.set_option("display.max_colwidth", 70)
pd.set_option("display.width", 200)
# Haystack logs a warning when a run reaches max_agent_steps (section 5); the timeline already shows it.
logging.getLogger("haystack").setLevel(logging.ERROR)

POINTS = ["before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run"]
COLS = ["seq", "step", "kind", "hook_point", "name", "flow", "summary"]

# %% [markdown]
# ## 1. A probe at every point
#
# A hook is any object with a `run(state)` method. Haystack does not tell a hook which point it runs at, so we make
# one probe per point and let each remember its point. Every time a probe runs, it appends
# `(point, step_count)` to a list. We run the demo agent with *only* these probes (none of the demo's own hooks) on
# a task that needs tools first and a text answer after.

# %%
seen: list[tuple[str, int]] = []


class StepProbe:
    """Record the hook point and the step_count it sees; change nothing."""

    def __init__(self, point: str) -> None:
        self.point = point

    def run(self, state: State) -> None:
        seen.append((self.point, state.data["step_count"]))


rec = Recorder(demo_agent(hooks={point: [StepProbe(point)] for point in POINTS}))
run = rec.run("What is 2 + 3, and the weather in Paris?")
print(run.describe())
run.timeline[COLS]

# %% [markdown]
# The order is: `before_run`; step 0 = `before_llm`, LLM (asks for two tools), `before_tool`, the two tools,
# `after_tool`; step 1 = `before_llm`, LLM (answers in text), `on_exit`; then `after_run`. `before_tool` and
# `after_tool` fire once per step, not once per tool call.
#
# Now the probes' list next to the hook rows of the timeline. `step` is the step the recorder assigns the event to;
# `step_count` is what the hook itself read from the State at that moment:

# %%
hook_rows = run.timeline.query("kind == 'hook'")[["seq", "step", "hook_point"]]
hook_rows.assign(probe_point=[p for p, _ in seen], step_count=[n for _, n in seen])

# %% [markdown]
# - In `before_llm`, `before_tool` and `after_tool`, `step_count` is the 0-based index of the current step.
# - `before_run` reads 0 (nothing has run yet). Haystack sets its step counter *from* `state.data["step_count"]`
#   after `before_run`: a `before_run` hook that restores a saved State resumes the run at that step.
# - In `on_exit` and `after_run` it is already incremented: `on_exit` of step 1 reads 2.


# %% [markdown]
# ## 2. `continue_run` in `on_exit`: keep going
#
# When the model answers in text, the Agent is about to stop. An `on_exit` hook can say "not yet": set
# `state.data["continue_run"] = True` (via `state.set`) and add a message that tells the model what is missing.
# Haystack resets `continue_run` to False before the `on_exit` hooks and reads it after them.
#
# This hook insists on a saved note, once:

# %%
@hook
def insist_on_a_note(state: State) -> None:
    """on_exit: if no note was saved yet, ask for one and keep the run going."""
    if not (state.data.get("tool_call_counts") or {}).get("save_note"):
        state.set("messages", [ChatMessage.from_system("You must call `save_note` before finishing.")])
        state.set("continue_run", True)


cont = Recorder(demo_agent(hooks={"on_exit": [insist_on_a_note]})).run("What is 2 + 3?")
print(cont.describe(), "|", cont.final_answer)
cont.timeline[COLS]

# %% [markdown]
# Read it from the top: step 0 calls `add`; step 1 answers in text, `on_exit` fires (seq 3) and sets
# `continue_run`, so instead of ending, the loop runs step 2 (the model obeys the instruction and calls `save_note`)
# and step 3 (the final answer). At seq 7 the note exists, the hook changes nothing, and the run ends.
#
# The message matters as much as the flag: with `continue_run` alone the model sees the same conversation and gives
# the same answer again, and the loop only ends at `max_agent_steps`.
#
# One subtlety: during the extra steps `exit_reason` keeps its stale value `"text"` from step 1:

# %%
pd.DataFrame(
    [(seq, cont.event(seq).step, cont.state_at(seq)["exit_reason"]) for seq in (4, 5, 6)],
    columns=["seq", "step", "exit_reason before the event"],
)

# %% [markdown]
# ## 3. `stop_run` in `before_llm`: stop before the next LLM call
#
# Set `stop_run` to a reason string and the run ends right after the `before_llm` hooks: no LLM call, no `on_exit`,
# and the reason becomes the result's `exit_reason`. This hook allows one step:

# %%
@hook
def one_step_only(state: State) -> None:
    """before_llm: stop once step 0 is done."""
    if state.data["step_count"] >= 1:
        state.set("stop_run", "one_step_only")


hooks = {"before_llm": [one_step_only], "on_exit": [StepProbe("on_exit")], "after_run": [StepProbe("after_run")]}
stopped = Recorder(demo_agent(hooks=hooks)).run("What is 2 + 3?")
print("exit_reason:", stopped.exit_reason)
stopped.timeline[COLS]

# %% [markdown]
# The hook at seq 3 sets `stop_run` (see `flow`); the next row is already `after_run`. The `on_exit` probe never ran:
# a stop is not an exit condition. A stop here also saves the LLM call it would have made, which is why budget
# hooks (notebook 04) live at `before_llm`.
#
# ## 4. `stop_run` in `after_tool`: honoured at the next `before_llm`
#
# Setting `stop_run` after the tools does not end the loop at once: Haystack checks it after the `before_llm`
# hooks of the next step. Those hooks still run (a before_llm probe shows them), then the run ends.

# %%
@hook
def stop_after_tools(state: State) -> None:
    """after_tool: request a stop once tools have run."""
    state.set("stop_run", "tools_done")


hooks = {
    "before_llm": [StepProbe("before_llm")],
    "after_tool": [stop_after_tools],
    "after_run": [StepProbe("after_run")],
}
late = Recorder(demo_agent(hooks=hooks)).run("What is 2 + 3?")
print("exit_reason:", late.exit_reason)
late.timeline[COLS]

# %% [markdown]
# The stop is set at seq 3 (step 0); the `before_llm` probe of step 1 (seq 4) still runs, and there is no LLM row
# after it. A `before_llm` hook can read `state.data.get("stop_run")` to see a pending stop (read it with `.get`:
# Haystack never initialises the key).
#
# ## 5. Exit conditions: end on a tool
#
# `exit_conditions` lists what ends a run: `"text"` (the default) and tool names. With `"save_note"` among them, the
# run ends as soon as that tool has run: `after_tool`, then `on_exit`, then `after_run`, and the tool's name is the
# `exit_reason`. (If the model answers in text first, the run still exits with `"text"` when `"text"` is listed.)

# %%
probes = {p: [StepProbe(p)] for p in ("after_tool", "on_exit", "after_run")}
agent = demo_agent(hooks=probes, exit_conditions=["text", "save_note"])
on_tool = Recorder(agent).run("What is 2 + 3? Then save a note.")
print("exit_reason:", on_tool.exit_reason)
on_tool.timeline[COLS]

# %% [markdown]
# Step 0 adds, step 1 saves the note, and the run ends right after that tool step: no step 2, no text answer
# (the last message is the tool result).
#
# ## 6. `max_agent_steps`: the step limit
#
# When the loop reaches `max_agent_steps`, the run ends with `exit_reason="max_agent_steps"`. `on_exit` does not
# fire (no exit condition was met), `after_run` does. Here the limit is one step, and the task needs two:

# %%
capped = Recorder(demo_agent(hooks={p: [StepProbe(p)] for p in POINTS}, max_agent_steps=1)).run("What is 2 + 3?")
print("exit_reason:", capped.exit_reason, "| last message:", capped.result["last_message"].role.value)
capped.timeline[COLS]

# %% [markdown]
# The run stops after the tool step: the last message is the tool result, never a text answer. In the timeline the
# sequence ends `after_tool`, `after_run`, with no `on_exit` between them.
#
# ## All six, in one chart
#
# The probe run of section 1 as a chart: one band per step, hooks coloured by hook point.

# %%
run.plot()
