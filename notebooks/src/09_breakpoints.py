# Source of notebooks/09_breakpoints.ipynb; build with `python notebooks/build.py 09`.

# %% [markdown]
# # 09 · Breakpoints: stop at each hook point and watch the State change
#
# **Goal:** pause a live run where a hook is about to act, look at the State it will see, change it, step to the
# next event, and see how a run is made, one hook point at a time.
# **Prerequisites:** `01_quickstart`, `03_hook_points`. **Time:** about 20 minutes.
#
# A *breakpoint* pauses a live run at an event boundary, before the event runs:
#
# - `rec.break_at("before_tool")`: before the hooks of a hook point (any of the six);
# - `rec.break_at("before_llm", name="inject_date")`: before one hook;
# - `rec.break_at("llm")`, `rec.break_at("tool", name="add")`: before an LLM call, before a tool call;
# - `when=lambda state: ...` makes one conditional; `rec.break_at(on_error=True)` pauses where a call raised.
#
# `live = rec.start(prompt)` runs the Agent on a worker thread and returns at once; `live.wait_paused()` gives the
# `Pause`. Then `live.edit(...)`, `live.step()`, `live.resume()`, `live.skip()` or `live.abort()`.

# %%
import pandas as pd

from agent_nb import Recorder, demo_agent
from agent_nb.demo import NoteStore
from agent_nb.recording.diff import state_diff

pd.set_option("display.max_colwidth", 90)
pd.set_option("display.width", 200)

CTX = {"today": "2026-11-22"}  # pins the date inject_date reports, so this page reads the same on every build
COLS = ["seq", "step", "kind", "hook_point", "name", "status", "summary"]
rec = Recorder(demo_agent(notes=NoteStore()))

# %% [markdown]
# ## 1. Step through a run, boundary by boundary
#
# A breakpoint at `before_run` stops the run before its first hook. From there, `live.step()` goes on to the next
# event boundary and pauses again. At each pause we print where we are and what changed in the State since the
# previous pause (`state_diff` of the two private copies).

# %%
rec.break_at("before_run")
live = rec.start("What is 2 + 3?", hook_context=CTX)
pause = live.wait_paused(timeout=30)
previous = pause.state
stops = []
while pause is not None:
    change = str(state_diff(previous, pause.state)) or "(no change)"
    stops.append({"where": pause.where, "kind": pause.kind, "messages": len(pause.state["messages"]),
                  "changed since the last pause": change.splitlines()[0][:70]})  # fmt: skip
    previous = pause.state
    live.step()
    pause = live.wait_paused(timeout=30)
run = live.wait(timeout=30)
rec.clear_breakpoints()
# One pause per event boundary: every event of the run was paused before, in order.
assert [s["kind"] for s in stops].count("point") >= 3 and len(stops) > len(run.events)
assert run.status == "ok" and "5" in run.final_answer
pd.DataFrame(stops)

# %% [markdown]
# Read it top to bottom: a `point` row is a hook point reached (before its hooks), a `hook` row is one hook about to
# run, `llm` and `tool` rows are calls about to be made. `inject_date` adds its system message at step 0 only; the
# LLM call's reply brings the tool call; `on_exit` at step 1 asks for a note, so the run goes on to step 2.
#
# ## 2. Look at what is pending, and edit it
#
# Before a tool call, the pause holds the call's arguments (`pause.tool_calls`); before an LLM call, the messages
# it will get (`pause.llm_input`). `live.edit(arguments=...)` changes the arguments the tool gets;
# `live.edit({"key": value})` (or a function of the State) changes the State, with the same checks as a fork's
# `edit=`. Each edit is recorded as an `edit` row.

# %%
rec.break_at("tool", name="add")
live = rec.start("What is 2 + 3?", hook_context=CTX)
pause = live.wait_paused(timeout=30)
print(pause)
print("pending:", pause.tool_calls)
live.edit(arguments={"a": 2, "b": 40})
rec.clear_breakpoints()
live.resume()
edited = live.wait(timeout=30)
print("answer:", edited.final_answer)
edit_row = edited.timeline.query("kind == 'edit'").iloc[0]
tool_row = edited.timeline.loc[edit_row.name + 1]
assert (tool_row.kind, tool_row["name"]) == ("tool", "add") and "42" in edited.final_answer
edited.timeline[COLS].head(7)

# %% [markdown]
# The `edit` row (seq 4) sits just before the tool row it changed; the tool row shows the call as it ran. The model
# then reports 42. A bad edit raises `InvalidEdit`, applies nothing, and leaves the run paused.
#
# ## 3. A replay reproduces the edited run, without pausing
#
# `run.replay()` re-applies the recorded edits (and skips) at the same places; the LLM replies come from the
# recording while the inputs match, so the replay makes no model call.

# %%
again = edited.replay()
print(again.final_answer, "| live LLM calls:", again.usage["llm_calls"])
assert again.final_answer == edited.final_answer

# %% [markdown]
# ## 4. Conditional breakpoints
#
# `when` gets a copy of the State data. Here: stop before the LLM call of step 2 only.

# %%
rec.break_at("llm", when=lambda state: state["step_count"] == 2)
live = rec.start("What is 2 + 3?", hook_context=CTX)
pause = live.wait_paused(timeout=30)
print(pause, "| last message the model will read:", pause.llm_input[-1].text)
assert pause.kind == "llm" and pause.step == 2 and pause.state["step_count"] == 2
rec.clear_breakpoints()
live.resume()
print(live.wait(timeout=30).describe())

# %% [markdown]
# **Exercise.** Make the demo agent answer for a user named Ada, by hand, while the run is paused: set a breakpoint
# before the hook `inject_user_profile` (a `before_llm` hook), start a run of "What is 2 + 3?", and when it pauses
# at step 0 set the State key `user_profile` to `{"name": "Ada"}`; then clear the breakpoints, resume, and keep the
# finished run in `my_run`. The checker looks at the recording: an `edit` row that set `user_profile` before the
# hook ran, and the profile's system message in the final State.
#
# The reference solution is not on this page: it is in [`solutions/nb09.py`](solutions/nb09.py) (open it once you
# have tried; the checker is in [`solutions/checks.py`](solutions/checks.py)).

# %%
from solutions.checks import check_ada

my_run = None
# rec.break_at(...)
# live = rec.start(...)
# ...
# check_ada(my_run)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - A pause happens before the event runs and shows the State that event will see: a private copy.
# - `step()` walks the run boundary by boundary: hook points, hooks, LLM calls, tool calls.
# - Edits are recorded (`edit` rows) and a replay re-applies them; `skip()` and `abort()` are recorded too.
# - `rec.run(...)` refuses to start while breakpoints are set: use `rec.start(...)` (or the Workbench).
