# Source of notebooks/03_hook_points.ipynb; build with `python notebooks/build.py 03`.

# %% [markdown]
# # 03 · The six hook points
#
# **Goal:** know when each of the six hook points fires, what `state.data["step_count"]` reads there, and how
# `continue_run`, `stop_run`, exit conditions, `max_agent_steps` and a failing hook end (or extend) a run.
# **Prerequisites:** `02_write_your_own_hook` (a hook is an object with `run(state)`; `state.set`).
# **Time:** about 25 minutes.
#
# Haystack's own pages: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) (guide) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api). Every claim below is also asserted in
# the cell that shows it, against haystack 3.4 (`haystack/components/agents/agent.py`).
#
# ## The loop, and `step_count` at each point
#
# ```text
# agent.run(messages)                                                   step_count the hook reads
#  │ warm_up()  (every run: tools, hooks, generator)
#  ├─ before_run ......... once .................................................. 0
#  │                       (the loop then starts AT state.data["step_count"]: restoring a saved State resumes it)
#  │ while step_count < max_agent_steps:                                  (n = index of this step)
#  │   ├─ before_llm ..... every step ............................................ n
#  │   │                   stop_run set? -> the run ends here: no LLM call, no on_exit
#  │   ├─ LLM call
#  │   ├─ a text reply (whatever exit_conditions holds): step_count = n+1, exit_reason = "text"
#  │   │   └─ on_exit .... ........................................................ n+1
#  │   │                   continue_run set? -> next step; else the loop ends
#  │   ├─ before_tool .... any other reply: tool calls, or an empty reply (no text) ... n
#  │   │                   then ONLY the last message's tool calls run (none: the step ends here)
#  │   ├─ tools run
#  │   ├─ after_tool ..... ........................................................ n
#  │   └─ step_count = n+1; a tool named in exit_conditions ran without error? -> on_exit (n+1), then the loop ends
#  ├─ after_run .......... once, also after max_agent_steps (no on_exit then) ..... final step_count
#  │                       NOT reached when a hook or the model raises, or a tool does with
#  │                       raise_on_tool_invocation_failure=True (by default a tool's error is an error result)
#  └─ result: messages, last_message, step_count, exit_reason, token_usage, tool_call_counts, ...
# ```
#
# | point | fires | typical use |
# |---|---|---|
# | `before_run` | once, after the State is built, before step 0 | load memories, restore a saved State |
# | `before_llm` | at the start of every step, before the LLM call | inject context, enforce a budget, compact history |
# | `before_tool` | after any reply that does not end the run (tool calls, or an empty reply), before tools run | confirm, edit or reject tool calls |
# | `after_tool` | after the tool results are appended | offload large results, post-process |
# | `on_exit` | when the run is about to end: a text reply, or a tool in `exit_conditions` that ran without error | require a tool, judge the answer |
# | `after_run` | once, after the loop, also on `max_agent_steps`; not after an exception | log, persist |

# %%
# %matplotlib inline
import logging

import pandas as pd
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage, ChatRole
from haystack.hooks import hook

from agent_nb import Recorder, demo_agent
from agent_nb.demo import ScriptedChatGenerator, demo_tools

pd.set_option("display.max_colwidth", 70)
pd.set_option("display.width", 200)
# Haystack logs a warning when a run reaches max_agent_steps (sections 2 and 6); the timeline already shows it.
logging.getLogger("haystack").setLevel(logging.ERROR)

POINTS = ["before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run"]
COLS = ["seq", "step", "kind", "hook_point", "name", "flow", "summary"]

# %% [markdown]
# ## 1. A probe at every point
#
# Haystack does not tell a hook which point it runs at, so we make one probe class per point, *named after the
# point* (the timeline and the chart then read `before_llm`, `on_exit`, ...). Every time a probe runs it appends
# `(point, step_count)` to a list. We run the demo agent with *only* these probes (none of the demo's own hooks) on a
# task that needs tools first and a text answer after.

# %%
seen: list[tuple[str, int]] = []


class StepProbe:
    """Record the hook point and the step_count it sees; change nothing."""

    point = "?"

    def run(self, state: State) -> None:
        seen.append((self.point, state.data["step_count"]))


def probe(point: str) -> StepProbe:
    """A probe whose class is named after its point, so the recorder shows the point as the hook's name."""
    return type(point, (StepProbe,), {"point": point})()


rec = Recorder(demo_agent(hooks={point: [probe(point)] for point in POINTS}))
run = rec.run("What is 2 + 3, and the weather in Paris?")
print(run.describe())
run.timeline[COLS]

# %% [markdown]
# The order is: `before_run`; step 0 = `before_llm`, LLM (asks for two tools), `before_tool`, the two tools,
# `after_tool`; step 1 = `before_llm`, LLM (answers in text), `on_exit`; then `after_run`. `before_tool` and
# `after_tool` fire once per step, not once per tool call. What each probe read:

# %%
hook_rows = run.timeline.query("kind == 'hook'")[["seq", "step", "hook_point"]]
table = hook_rows.assign(step_count=[n for _, n in seen])
assert [p for p, _ in seen] == list(table["hook_point"])
assert [(p, n) for p, n in seen] == [
    ("before_run", 0), ("before_llm", 0), ("before_tool", 0), ("after_tool", 0),
    ("before_llm", 1), ("on_exit", 2), ("after_run", 2),
]  # fmt: skip
table

# %% [markdown]
# - In `before_llm`, `before_tool` and `after_tool`, `step_count` is the 0-based index of the current step.
# - `before_run` reads 0. Haystack sets its step counter *from* `state.data["step_count"]` after `before_run`: a
#   `before_run` hook that restores a saved State resumes the run at that step.
# - In `on_exit` and `after_run` it is already incremented: `on_exit` of step 1 reads 2.
#
# The same run as a chart, one band per step, each hook bar labelled with its point:

# %%
run.plot()

# %% [markdown]
# ## 2. `continue_run` in `on_exit`: keep going
#
# When the model answers in text, the run ends, whatever `exit_conditions` says (section 5). An `on_exit` hook can
# say "not yet": `state.set("continue_run", True)`, plus a message that tells the model what is missing. Haystack
# resets `continue_run` to False before the `on_exit` hooks and reads it after them, so it must be set again at
# every exit the hook wants to prevent.
#
# This hook asks for a saved note **once**: the guard counts its own reminders in the conversation (the run's State,
# not the hook object, so the count starts at zero on every run):

# %%
REMINDER = "You must call `save_note` before finishing."


@hook
def insist_on_a_note(state: State) -> None:
    """on_exit: if no note was saved yet, ask for one (once per run) and keep the run going."""
    if (state.data.get("tool_call_counts") or {}).get("save_note"):
        return
    if any(m.text == REMINDER for m in state.data["messages"]):
        return  # asked already in this run: let it end
    state.set("messages", [ChatMessage.from_system(REMINDER)])  # appends (the messages handler merges lists)
    state.set("continue_run", True)


cont = Recorder(demo_agent(hooks={"on_exit": [insist_on_a_note]})).run("What is 2 + 3?")
print(cont.describe(), "|", cont.final_answer)
assert cont.steps == 4 and cont.exit_reason == "text"
assert list(cont.timeline.query("hook_point == 'on_exit'")["flow"].fillna("")) == ["continue_run", ""]
cont.timeline[COLS]

# %% [markdown]
# Step 0 calls `add`; step 1 answers in text, `on_exit` fires (seq 3) and sets `continue_run`, so the loop runs step 2
# (the model obeys the reminder and calls `save_note`) and step 3 (the final answer). At seq 7 the note exists, the
# hook changes nothing, and the run ends.
#
# One subtlety: during the extra steps `exit_reason` keeps its stale value `"text"` from step 1:

# %%
stale = pd.DataFrame(
    [(seq, cont.event(seq).step, cont.state_at(seq)["exit_reason"]) for seq in (4, 5, 6)],
    columns=["seq", "step", "exit_reason before the event"],
)
assert set(stale["exit_reason before the event"]) == {"text"}
stale

# %% [markdown]
# ### `continue_run` without a message
#
# The message matters as much as the flag. With `continue_run` alone the model is called again with the conversation
# *plus its own last answer* (the text reply was appended before `on_exit`), so it sees a finished exchange, and a
# deterministic model answers the same again. Only `max_agent_steps` ends such a loop, and it wins even over a
# `continue_run` set at the last allowed step: the exit reason is `max_agent_steps`.

# %%
@hook
def just_continue(state: State) -> None:
    """on_exit: keep going, without telling the model why (a bug)."""
    state.set("continue_run", True)


looped = Recorder(demo_agent(hooks={"on_exit": [just_continue]}, max_agent_steps=4)).run("What is 2 + 3?")
llm_seqs = looped.timeline.query("kind == 'llm'")["seq"].tolist()
second_input = looped.state_at(llm_seqs[2])["messages"]  # what the model saw at its third call
print(looped.describe())
print("last message the model saw:", second_input[-1].role.value, repr(second_input[-1].text))
answers = looped.timeline.query("kind == 'llm'")["summary"].tolist()
assert second_input[-1].is_from(ChatRole.ASSISTANT) and second_input[-1].text == answers[1]
assert answers[1] == answers[2] == answers[3]  # the same answer, again and again
assert looped.exit_reason == "max_agent_steps" and looped.timeline.iloc[-1]["flow"] == "continue_run"  # set at the last step, overridden
looped.timeline.query("kind == 'llm' or hook_point == 'on_exit'")[COLS]

# %% [markdown]
# ## 3. `stop_run` in `before_llm`: stop before the next LLM call
#
# Set `stop_run` to a reason string and the run ends right after the `before_llm` hooks: no LLM call, no `on_exit`,
# and the reason becomes the result's `exit_reason`. Haystack never resets `stop_run` (it is not even initialised:
# read it with `state.data.get("stop_run")`). This hook allows one step:

# %%
@hook
def one_step_only(state: State) -> None:
    """before_llm: stop once step 0 is done."""
    if state.data["step_count"] >= 1:
        state.set("stop_run", "one_step_only")


hooks = {"before_llm": [one_step_only], "on_exit": [probe("on_exit")], "after_run": [probe("after_run")]}
stopped = Recorder(demo_agent(hooks=hooks)).run("What is 2 + 3?")
print("exit_reason:", stopped.exit_reason)
assert stopped.exit_reason == "one_step_only"
assert list(stopped.timeline["name"].iloc[-2:]) == ["one_step_only", "after_run"]  # no LLM call, no on_exit
assert "on_exit" not in set(stopped.timeline["hook_point"].dropna())
stopped.timeline[COLS]

# %% [markdown]
# The hook at seq 3 sets `stop_run` (see `flow`); the next row is already `after_run`. The `on_exit` probe never ran:
# a stop is not an exit condition. A stop here also saves the LLM call it would have made, which is why budget hooks
# (notebook 05) live at `before_llm`.
#
# ## 4. `stop_run` in `after_tool`: honoured at the next `before_llm`
#
# Setting `stop_run` after the tools does not end the loop at once: Haystack checks it after the `before_llm` hooks
# of the next step. Those hooks still run (a `before_llm` probe shows them), then the run ends.

# %%
@hook
def stop_after_tools(state: State) -> None:
    """after_tool: request a stop once tools have run."""
    state.set("stop_run", "tools_done")


hooks = {"before_llm": [probe("before_llm")], "after_tool": [stop_after_tools], "after_run": [probe("after_run")]}
late = Recorder(demo_agent(hooks=hooks)).run("What is 2 + 3?")
print("exit_reason:", late.exit_reason)
assert late.exit_reason == "tools_done"
assert list(late.timeline["name"].iloc[-3:]) == ["stop_after_tools", "before_llm", "after_run"]
late.timeline[COLS]

# %% [markdown]
# The stop is set at seq 3 (step 0); the `before_llm` probe of step 1 (seq 4) still runs, and no LLM row follows.
#
# ### Where `stop_run` is not read
#
# Haystack reads `stop_run` at one place only: right after the `before_llm` hooks of a step (`agent.py`, the check
# before the LLM call). What that means at the other points:
#
# - **`before_run`**: the check comes after step 0's `before_llm` hooks, so those still run; then no LLM call.
# - **`on_exit` without `continue_run`**: no next step, so nobody reads it; the run ends with the exit reason it had
#   (`"text"`), and the stop's reason is lost.
# - **`after_tool` at the last allowed step**: the loop ends on `max_agent_steps` before any `before_llm`, so the exit
#   reason is `"max_agent_steps"`.

# %%
@hook
def stop_early(state: State) -> None:
    """before_run: request a stop before anything happens."""
    state.set("stop_run", "early")


@hook
def stop_late(state: State) -> None:
    """on_exit: request a stop, without continue_run."""
    state.set("stop_run", "late")


early = Recorder(demo_agent(hooks={"before_run": [stop_early], "before_llm": [probe("before_llm")]})).run("What is 2 + 3?")
on_exit = Recorder(demo_agent(hooks={"on_exit": [stop_late]})).run("What is 2 + 3?")
last = Recorder(demo_agent(hooks={"after_tool": [stop_after_tools]}, max_agent_steps=1))
at_last_step = last.run("What is 2 + 3?")
for name, r in [("before_run", early), ("on_exit", on_exit), ("after_tool, last step", at_last_step)]:
    print(f"stop_run set in {name:22s} -> exit_reason {r.exit_reason!r}, {r.usage['llm_calls']} LLM call(s)")
assert early.exit_reason == "early" and early.usage["llm_calls"] == 0
assert list(early.timeline["hook_point"]) == ["before_run", "before_llm"]  # step 0's before_llm hooks still ran
assert on_exit.exit_reason == "text" and on_exit.timeline.iloc[-1]["flow"] == "stop_run:late"  # set, never read
assert at_last_step.exit_reason == "max_agent_steps"

# %% [markdown]
# ## 5. Exit conditions: a text reply always ends the run; a tool only when listed
#
# `exit_conditions` (default `["text"]`) lists what ends a run besides a text reply. Haystack checks it **only after
# tool calls**: a reply with text and no tool calls ends the run with `exit_reason="text"` whatever the list holds,
# even `exit_conditions=["save_note"]` without `"text"`. With a tool name in the list, the run ends as soon as that
# tool has run without error: `after_tool`, then `on_exit`, then `after_run`, and the tool's name is the
# `exit_reason`.

# %%
probes = {p: [probe(p)] for p in ("after_tool", "on_exit", "after_run")}
on_tool = Recorder(demo_agent(hooks=probes, exit_conditions=["save_note"])).run("What is 2 + 3? Then save a note.")
print("exit_reason:", on_tool.exit_reason, "| last message:", on_tool.result["last_message"].role.value)
assert on_tool.exit_reason == "save_note" and on_tool.result["last_message"].is_from(ChatRole.TOOL)
assert list(on_tool.timeline["name"].iloc[-3:]) == ["after_tool", "on_exit", "after_run"]
on_tool.timeline[COLS]

# %% [markdown]
# Step 0 adds, step 1 saves the note, and the run ends right after that tool step: no text answer (the last message
# is the tool result). Now the same `exit_conditions=["save_note"]` on a task that never saves a note: the model
# answers in text and the run ends there, with `"text"`, though `"text"` is not in the list.

# %%
on_text = Recorder(demo_agent(hooks=None, exit_conditions=["save_note"])).run("What is 2 + 3?")
print("exit_reason:", on_text.exit_reason, "| answer:", on_text.final_answer)
assert on_text.exit_reason == "text" and on_text.result["step_count"] == 2

# %% [markdown]
# **A failing exit tool does not end the run.** By default (`raise_on_tool_invocation_failure=False`) a tool that
# raises becomes an error tool result, the model reads it, and the run goes on; an exit-condition tool that errored
# *cancels* the exit (even when another exit tool of the same message succeeded). Only with
# `Agent(..., raise_on_tool_invocation_failure=True)` does the error propagate out of `agent.run`. Here a
# `before_tool` hook breaks the `save_note` call (it drops its argument):

# %%
from haystack.components.agents.state.state import replace_values
from haystack.dataclasses import ToolCall


@hook
def break_save_note(state: State) -> None:
    """before_tool: call save_note without its argument, so the tool raises."""
    last = state.data["messages"][-1]
    if any(c.tool_name == "save_note" for c in last.tool_calls):
        calls = [ToolCall(c.tool_name, {} if c.tool_name == "save_note" else c.arguments, c.id) for c in last.tool_calls]
        broken = ChatMessage.from_assistant(last.text, tool_calls=calls)
        state.set("messages", [*state.data["messages"][:-1], broken], handler_override=replace_values)


TASK = "What is 2 + 3? Then save a note."
failed_exit = Recorder(demo_agent(hooks={"before_tool": [break_save_note]}, exit_conditions=["save_note"])).run(TASK)
print(failed_exit.describe())
assert failed_exit.exit_reason == "text" and failed_exit.steps == 3  # not "save_note": the model answered after it
assert failed_exit.timeline.query("name == 'save_note'")["status"].tolist() == ["error"]
strict = demo_agent(hooks={"before_tool": [break_save_note]}, exit_conditions=["save_note"], raise_on_tool_invocation_failure=True)
try:
    strict.run([ChatMessage.from_user(TASK)])
except Exception as exc:  # haystack's ToolInvocationError
    print("raise_on_tool_invocation_failure=True:", type(exc).__name__)
else:
    raise AssertionError("the failing tool did not raise")
failed_exit.timeline.query("kind != 'hook'")[COLS]

# %% [markdown]
# **An empty reply goes on to `before_tool`.** A reply with neither text nor tool calls does not end the run (Haystack
# treats it as a malformed tool call the generator dropped): `before_tool` hooks fire, with nothing to run, and the
# Agent asks the model again. A `before_tool` hook must not assume the last message holds tool calls:

# %%
from haystack.components.generators.chat.mock import MockChatGenerator

empty_calls: list[tuple[int, int]] = []


@hook
def count_calls(state: State) -> None:
    """before_tool: the step, and how many tool calls the last message holds."""
    empty_calls.append((state.data["step_count"], len(state.data["messages"][-1].tool_calls)))


silent = Agent(chat_generator=MockChatGenerator(""), tools=demo_tools(), hooks={"before_tool": [count_calls]}, max_agent_steps=2)
print("exit_reason:", silent.run([ChatMessage.from_user("Hello!")])["exit_reason"], "| before_tool saw:", empty_calls)
assert empty_calls == [(0, 0), (1, 0)]  # it fired at both steps, with no tool call to run

# %% [markdown]
# ## 6. `max_agent_steps`: the step limit
#
# When the loop reaches `max_agent_steps`, the run ends with `exit_reason="max_agent_steps"`. `on_exit` does not
# fire (no exit condition was met), `after_run` does. Here the limit is one step, and the task needs two:

# %%
capped = Recorder(demo_agent(hooks={p: [probe(p)] for p in POINTS}, max_agent_steps=1)).run("What is 2 + 3?")
print("exit_reason:", capped.exit_reason, "| last message:", capped.result["last_message"].role.value)
assert capped.exit_reason == "max_agent_steps"
assert list(capped.timeline["name"].iloc[-2:]) == ["after_tool", "after_run"]  # no on_exit between them
capped.timeline[COLS]

# %% [markdown]
# ## 7. When a hook raises: no `after_run`, clean up in `close()`
#
# Haystack runs the loop without `try/finally`: an exception in a hook (or a tool, or the model) propagates out of
# `agent.run`, and `after_run` never runs. So `after_run` is the place to log or persist a *finished* run, not to
# release resources: that belongs in the hook's `close()`, which `agent.close()` calls (and `warm_up()` pairs with
# it). Here an `after_tool` hook fails; a resource-holding hook sits at `after_run`:

# %%
@hook
def failing(state: State) -> None:
    """after_tool: a bug."""
    raise RuntimeError("the after_tool hook failed")


class Resource:
    """Holds something to release; records which of its methods ran."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def warm_up(self) -> None:
        self.calls.append("warm_up")

    def run(self, state: State) -> None:
        self.calls.append("run (after_run)")

    def close(self) -> None:
        self.calls.append("close")


resource = Resource()
agent = Agent(
    chat_generator=ScriptedChatGenerator(),
    tools=demo_tools(),
    hooks={"after_tool": [failing], "after_run": [resource]},
)
try:
    agent.run([ChatMessage.from_user("What is 2 + 3?")])
except RuntimeError as exc:
    print("agent.run raised:", exc)
print("after the failed run:", resource.calls)
assert resource.calls == ["warm_up"]  # after_run was skipped
agent.close()
print("after agent.close(): ", resource.calls)
assert resource.calls == ["warm_up", "close"]

# %% [markdown]
# Under the Recorder the failed run is kept: `rec.runs[-1]` has status `error`, and its last row is the failing hook.
#
# ## Exercises
#
# The reference solutions are not on this page: they are in [`solutions/nb03.py`](solutions/nb03.py) (open it once
# you have tried; the checkers are in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1.** Without running anything, fill in what `state.data["step_count"]` reads at each point of a run
# that calls one tool at step 0 and answers in text at step 1 (for `before_llm`, give the first value). Then check.

# %%
from solutions.checks import check_step_counts, check_step_limit

my_step_counts = {"before_run": None, "before_llm": None, "before_tool": None, "after_tool": None, "on_exit": None,
                  "after_run": None}  # fmt: skip
# check_step_counts(my_step_counts)   # <- uncomment to check

# %% [markdown]
# **Exercise 2.** Write `llm_limit`, a `before_llm` hook that stops the run with `exit_reason="llm_limit"` before its
# third LLM call (at most two calls per run). Hint: which value of `step_count` does `before_llm` read just before
# the third call?

# %%
@hook
def llm_limit(state: State) -> None:
    """before_llm: stop before the third LLM call."""
    ...  # your code


# check_step_limit(llm_limit)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - Six points: `before_run` and `after_run` once per run; `before_llm` every step; `before_tool` / `after_tool` once
#   per tool step (not per call); `on_exit` when the run is about to end on a text reply or a listed tool.
# - `step_count` is the current step's index in `before_llm`, `before_tool`, `after_tool`; already incremented in
#   `on_exit` and `after_run`. A `before_run` hook can set it (that is how a run resumes).
# - A text reply ends the run whatever `exit_conditions` says; `exit_conditions` only adds tools that end it.
# - `continue_run` (in `on_exit`) needs a message that tells the model what to do, and a guard: `max_agent_steps` is
#   the only other way out, and it overrides `continue_run`.
# - `stop_run` is read only right after the `before_llm` hooks of a step: it ends the run there, without an LLM call
#   or `on_exit`; set in `on_exit` (without `continue_run`) or at the last allowed step it is never read. Never reset.
# - `before_tool` fires after every reply that does not end the run, an empty one too; a failing exit tool cancels
#   the exit; a tool's error raises only with `raise_on_tool_invocation_failure=True`.
# - A raising hook skips `after_run`: release resources in `close()`.
#
# ## Next
#
# - `04_patterns`: run-time context, memories, a required tool, an LLM judge, one hook at two points.
# - `05_builtin_hooks`: Haystack's budget, compaction, confirmation and offloading hooks, read off the timeline.
