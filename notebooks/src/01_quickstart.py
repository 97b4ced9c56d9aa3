# Source of notebooks/01_quickstart.ipynb; build with `python notebooks/build.py 01`.

# %% [markdown]
# # 01 · Quickstart: a Haystack Agent under glass
#
# **Goal:** record one Agent run and read it: the timeline of hook, LLM and tool events, a State diff, the chart; then
# switch a hook off and see what it was worth.
# **Prerequisites:** Python and pandas; no Haystack experience needed. **Time:** about 20 minutes.
#
# The course: 01 quickstart · 02 write your own hook · 03 the six hook points · 04 patterns · 05 built-in hooks ·
# 06 async hooks · 07 real models; then the agent_nb tools: 10 ablation · 11 forking edited State · 12 comparing runs ·
# 13 developing a hook · 14 sweeps and datasets. Haystack's own pages:
# [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api).
#
# `agent_nb` records every hook invocation, LLM call and tool call of a Haystack `Agent` run as one row of a
# pandas DataFrame, with the Agent's State before and after it. This notebook records one run, reads it as a
# table, a State diff and a chart, switches a hook off, and opens the workbench.
#
# Everything here runs offline: `demo_agent()` is a real `haystack.components.agents.Agent` whose chat generator
# is a small scripted model (`ScriptedChatGenerator`). It understands arithmetic, "weather in <city>",
# "save a note", "search for ..." and "what day is it", and it obeys the instructions hooks inject.
# Notebook 07 shows the same thing on a real model.

# %%
# %matplotlib inline
import pandas as pd

from agent_nb import Recorder, demo_agent

pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 200)

# %% [markdown]
# ## Record a run
#
# `Recorder(agent)` instruments a *clone* of the Agent: your `agent` object is never changed. `rec.run(...)` takes
# a string (or a list of `ChatMessage`) plus any `Agent.run` keyword argument and returns a `Run`. We pin the date
# the `inject_date` hook reports through `hook_context`, so this page reads the same every time it is rebuilt.

# %%
agent = demo_agent()
rec = Recorder(agent)
run = rec.run("What is 2 + 3, and the weather in Paris?", hook_context={"today": "2026-11-22"})

print(run.describe())
print("answer:", run.final_answer)
assert run.steps == 4 and run.exit_reason == "text"

# %% [markdown]
# Four steps for a two-part question: the demo agent carries an `on_exit` hook, `RequireToolHook("save_note")`,
# that refuses to let the run end before the model has saved a note. The timeline shows how that happened.
#
# ## Read the timeline
#
# `run.timeline` is a DataFrame with one row per event. The columns used most:
#
# | column | what it holds |
# |---|---|
# | `seq` | order of the event in the run (use it with `run.diff`, `run.state_at`) |
# | `step` | the Agent step (0-based); empty for `before_run` / `after_run` hooks |
# | `kind` | `hook`, `llm` or `tool` |
# | `hook_point` | where a hook ran: `before_run`, `before_llm`, `before_tool`, `after_tool`, `on_exit`, `after_run` |
# | `name` | hook name, generator class, or tool name |
# | `status` | `ok`, `error`, `skipped` (hook switched off), `cached` (served from a recording) |
# | `changed` | State keys the event itself changed (a hook's writes, the reply an LLM call added, a tool's result) |
# | `agent_changed` | State keys haystack's own bookkeeping changed just before or around the event: `step_count`, `token_usage`, `context_tokens`, `exit_reason`, `tool_call_counts`, the `continue_run` reset |
# | `flow` | run control the event set: `continue_run` or `stop_run:<reason>` |
# | `summary` | one readable line: the message a hook added, the tool call and its result, the model's answer |

# %%
cols = ["seq", "step", "kind", "hook_point", "name", "status", "changed", "flow", "summary"]
t = run.timeline.set_index("seq")
assert (t.loc[0, "name"], t.loc[1, "name"], t.loc[3, "kind"]) == ("MemoryRetrievalHook", "inject_date", "llm")
assert list(t.loc[[4, 5], "name"]) == ["add", "get_weather"] and list(t.loc[[4, 5], "step"]) == [0, 0]
assert (t.loc[8, "kind"], t.loc[9, "name"], t.loc[9, "flow"]) == ("llm", "RequireToolHook", "continue_run")
run.timeline[cols]

# %% [markdown]
# What to look at:
#
# - **seq 0**: `MemoryRetrievalHook` (before_run) added a system message with memories that match the task.
# - **seq 1**: `inject_date` added "Today is ..." once; on every later step it reports `no change`.
# - **seq 3 to 5**: the model asked for `add` and `get_weather` in one reply; both tools ran in step 0.
# - **seq 8 to 9**: the model answered in text, which would end the run, but `RequireToolHook` appended a reminder
#   and set `continue_run` (see the `flow` column). Steps 2 and 3 exist only because of that hook.
#
# Two columns say what changed, and they never credit one event with another's work. `changed` lists the keys the
# event itself changed: a hook's writes, the messages an LLM call or a tool added. `agent_changed` lists what the
# Agent's own bookkeeping changed there: after an LLM call haystack counts the tokens (`token_usage`,
# `context_tokens`), after a step's tools it counts the step and the calls (`step_count`, `tool_call_counts`), at
# the last step it writes `exit_reason`, and a `continue_run` a hook set is reset before the next step (it shows on
# that step's first event). A hook that touches nothing shows both empty.

# %%
assert t.loc[3, "changed"] == ["messages"] and "token_usage" in t.loc[3, "agent_changed"]  # the reply; haystack's count
assert t.loc[5, "agent_changed"] == ["step_count", "tool_call_counts"]  # counted once the step's tools ran
assert (t.loc[9, "changed"], t.loc[10, "agent_changed"]) == (["messages", "continue_run"], ["continue_run"])
assert t.loc[2, "changed"] == t.loc[2, "agent_changed"] == []  # inject_user_profile: no profile given, no change
run.timeline[["seq", "kind", "name", "changed", "agent_changed"]].head(11)

# %% [markdown]
# The other columns carry timing (`offset_ms`, `duration_ms`, in ms since the run started), the message counts
# (`messages_added`, `messages_removed`), token usage of LLM rows and the error of a failed event:

# %%
llm_cols = ["seq", "step", "offset_ms", "duration_ms", "prompt_tokens", "completion_tokens"]
run.timeline.query("kind == 'llm'")[llm_cols].round(2)

# %%
run.usage

# %% [markdown]
# `agent_nb.views.style_timeline` gives the same table with the chart's colours (kind and hook point) and status
# styles (skipped rows grey and italic, errors red). Colours show in Jupyter; some static renderers drop them.

# %%
from agent_nb.views import style_timeline

style_timeline(run.timeline[["seq", "step", "kind", "hook_point", "name", "status", "summary"]].head(10))

# %% [markdown]
# ## What did one event change? `run.diff(seq)`
#
# A `StateDiff` lists the messages added (`+`), removed (`-`) or replaced (`~`), with their index in the message
# list, then every other State key that changed, old -> new. Here: the first LLM call, then the `on_exit` hook.

# %%
print(run.diff(3))

# %%
print(run.diff(9))

# %% [markdown]
# ## The full State around an event: `run.state_at(seq)`
#
# `run.state_at(seq)` returns the State *before* the event (`when="after"` for after) as a plain dict of copies:
# change it freely, the recording stays as it was. `tools` and `hook_context` are never copied into snapshots.

# %%
from agent_nb.recording.diff import message_text  # one readable line per ChatMessage

before = run.state_at(9)
after = run.state_at(9, when="after")
print(sorted(after))
print("step_count:", after["step_count"], "| continue_run:", before["continue_run"], "->", after["continue_run"])
for i, message in enumerate(after["messages"]):
    print(f"{i:2d} {message.role.value:9s} {message_text(message, limit=90)}")

# %% [markdown]
# ## The run as a chart: `run.plot()`
#
# One band per step (plus "run start" and "run end" for the `before_run` / `after_run` hooks), time on the x axis,
# bars coloured by kind and hook point. Hooks take microseconds, so their bars are drawn with a minimum width.
# The `continue_run` marker at the end of step 1 is the `RequireToolHook` decision.

# %%
run.plot()

# %% [markdown]
# ## The hooks, and switching one off
#
# `rec.hooks` lists the hook slots the next run uses, in the order they run: point, name, on/off, and the first
# line of the hook's docstring.

# %%
rec.hooks

# %% [markdown]
# To see what a hook is worth, switch it off and run again. A switched-off hook is not removed: it still gets a
# row, with status `skipped`, so you can see where it would have run. Here we ask for the date with
# `inject_date` on, then off.

# %%
with_date = rec.run("What day is it?", hook_context={"today": "2026-11-22"})
rec.disable("before_llm", "inject_date")
without_date = rec.run("What day is it?", hook_context={"today": "2026-11-22"})

print("inject_date on: ", with_date.final_answer)
print("inject_date off:", without_date.final_answer)
assert "2026-11-22" in with_date.final_answer and "2026-11-22" not in without_date.final_answer
without_date.timeline.query("name == 'inject_date'")[["seq", "step", "hook_point", "name", "status", "summary"]]

# %% [markdown]
# Without the hook the model never learns the date. (Both answers mention a note: `RequireToolHook` is still on.)
# `rec.enable(...)` switches `inject_date` back on; `rec.tree` lists every run of this Recorder (replays and forks
# appear there too, with their parent).

# %%
rec.enable("before_llm", "inject_date")
rec.tree[["run_id", "kind", "status", "exit_reason", "events", "llm_calls", "tokens"]]

# %% [markdown]
# ## The workbench
#
# `Workbench(rec)` puts all of this in one widget: a prompt box with Run / Stop, a switch per hook, the timeline
# as a table and a chart, an inspector for one event (State before, after, diff), a fork editor and the run
# history. It needs a live kernel: on a static page you only see its placeholder.

# %%
from agent_nb import Workbench

Workbench(rec)

# %% [markdown]
# ## Exercises
#
# Each exercise has a checker that says "OK" or what is off.
# The reference solutions are not on this page: they are in [`solutions/nb01.py`](solutions/nb01.py) (open it once
# you have tried; the checkers are in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1.** In `run` (the first run of this notebook), which event set `continue_run`? Find its `seq` with a
# query on `run.timeline` (the `flow` column), not by reading the table.

# %%
from solutions.checks import check_continue_seq, check_without_require

my_seq = None  # your answer: run.timeline.query(...)
# check_continue_seq(run, my_seq)   # <- uncomment to check

# %% [markdown]
# **Exercise 2.** Record the first question again with `RequireToolHook` switched off *for that run only* (the
# `hooks=` argument of `rec.run`), and check that it ends on the first answer without saving a note.

# %%
my_run = None  # your answer: rec.run(...)
# check_without_require(my_run)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - `Recorder(agent).run(...)` records a clone of your Agent: one timeline row per hook call, LLM call and tool call,
#   with the State before and after each (`run.state_at`, `run.diff`).
# - A hook acts only by changing the State; `changed`, `flow` and `summary` say what it did.
# - Switching a hook off (`rec.disable`, or `hooks=` per run) leaves a `skipped` row: the cheapest way to see what a
#   hook is worth.
#
# ## Next
#
# - `02_write_your_own_hook`: write hooks for a plain Haystack Agent, and the State rules that bite first.
# - `03_hook_points`: the six hook points, their order, `step_count`, `continue_run`, `stop_run`, exit conditions.
