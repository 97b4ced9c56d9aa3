# Source of notebooks/11_fork_edited_state.ipynb; build with `python notebooks/build.py 11`.

# %% [markdown]
# # 11 · Fork a run from edited State
#
# **Goal:** ask "what if" of a recorded run: resume it from any step with an edited tool result, instruction, State
# key or tool call, and see what changes.
# **Prerequisites:** `01_quickstart`, `10_ablation`; `03_hook_points` explains why a run can resume at a step (a
# `before_run` hook sets `step_count`). **Time:** about 25 minutes.
#
# Haystack's pages on what is being replayed: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api).
#
# A *fork* takes a recorded run, restores the Agent's State at the start of a step (before that step's
# `before_llm` hooks), applies your edit, and lets the Agent continue from there. Use it to ask "what if":
# what if the tool had returned the right value, what if the system prompt said something else, what if the user
# were someone else, what if the model had called the tool with other arguments.
#
# `run.fork(step, edit=..., reply=...)`:
#
# - `edit` is a dict of State keys to new values (`{"user_profile": {"name": "Ada"}}`), or a function that gets a
#   private copy of the State (a dict) and changes it in place;
# - `reply` is an assistant `ChatMessage` served as the model's reply at `step`: the way to change a tool call's
#   arguments;
# - the edit is checked before anything runs; a bad one raises `InvalidEdit`, and the source run never changes.
#
# The fork is a new `Run` on the same Recorder, with its lineage (`parent_id`, `fork_step`). Its steps before
# `step` are *inherited*: they are not run again. Later LLM calls are served from the source recording while the
# input matches, and answered by the live model once it does not.

# %%
# %matplotlib inline
import logging

import pandas as pd
from haystack.dataclasses import ChatMessage, ToolCall

from agent_nb import InvalidEdit, Recorder, demo_agent
from agent_nb.demo import NoteStore
from agent_nb.recording.diff import message_text  # one readable line per ChatMessage
from agent_nb.replay import own_usage

# Haystack logs a failing tool at ERROR level; section 1 fails one on purpose, and the timeline shows the error.
logging.getLogger("haystack").setLevel(logging.CRITICAL)
pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 200)

CTX = {"today": "2026-11-22"}  # pins the date inject_date reports, so this page reads the same on every build
COLS = ["seq", "step", "kind", "hook_point", "name", "status", "summary"]
rec = Recorder(demo_agent(notes=NoteStore()))


def show_messages(state: dict) -> None:
    """Print a State's messages, one line each."""
    for i, message in enumerate(state["messages"]):
        print(f"{i:2d} {message.role.value:9s} {message_text(message, limit=100)}")


# %% [markdown]
# ## 1. A run with a wrong tool result
#
# The demo weather tool knows eight cities; for any other it raises, and haystack hands the error to the model as
# the tool result. Ask for the weather in Atlantis:

# %%
atlantis = rec.run("What is the weather in Atlantis?", hook_context=CTX)
print(atlantis.describe())
print("answer:", atlantis.final_answer)
atlantis.timeline[COLS]

# %% [markdown]
# The tool row (seq 4) has status `error`; at step 1 the model reports the error, `RequireToolHook` asks for a
# note (seq 8), and the note records the error too.
#
# ## 2. What a fork resumes from: `run.state_at_step(step)`
#
# A fork at step 1 starts from the State at the start of step 1: after the tool ran, before step 1's `before_llm`
# hooks. `run.state_at_step(1)` returns that State (a private copy): the same dict the edit gets.

# %%
start = atlantis.state_at_step(1)
print("step_count:", start["step_count"], "| tool_call_counts:", start["tool_call_counts"])
show_messages(start)

# %% [markdown]
# Message 5 is the tool's error. Step 1 only ever sees these messages, so that is what we edit.
#
# ## 3. Fix the tool result
#
# The edit function replaces the last message with a successful tool result. A tool result must point at the tool
# call it answers: `ChatMessage.from_tool(tool_result=..., origin=call)`, with the original `ToolCall` from the
# assistant message before it.


# %%
def fix_weather(state: dict) -> None:
    messages = state["messages"]
    call = messages[-2].tool_calls[0]  # the assistant's get_weather(city='Atlantis')
    messages[-1] = ChatMessage.from_tool(tool_result="22°C, sunny", origin=call)


fixed = atlantis.fork(step=1, edit=fix_weather, label="weather fixed")
print(fixed.describe())
print("before:", atlantis.final_answer)
print("after: ", fixed.final_answer)
assert fixed.timeline["step"].min() == 1 and "22°C" in fixed.final_answer
assert fixed.timeline.query("name == 'MemoryRetrievalHook'")["status"].tolist() == ["skipped"]
fixed.timeline.query("kind != 'hook' or status == 'skipped'")[COLS]  # LLM and tool rows, and the skipped hook

# %% [markdown]
# What to look at:
#
# (Only the LLM and tool rows and the skipped hook are shown; `fixed.timeline` has them all.)
#
# - The fork's timeline starts at step 1: step 0 (the LLM call and the failed tool) is inherited, not re-run.
# - `MemoryRetrievalHook` reads `skipped`: `before_run` hooks are switched off in a fork, because their effect (the
#   memories message) is already in the restored State.
# - The LLM rows are `ok`, not `cached`: the model's input changed, so the live scripted model answered. It now
#   reports 22°C and sunny, and the note it saves says so too.
#
# ## 4. Change an instruction
#
# For the next sections we record a plain run for a user called Bob.

# %%
paris = rec.run("What is the weather in Paris?", hook_context=CTX, user_profile={"name": "Bob"})
paris_timeline_before = paris.timeline.copy(deep=True)  # section 8 checks that forks never change the source
print(paris.describe())
print("answer:", paris.final_answer)
paris.timeline.query("kind != 'hook' or flow.notna()")[COLS]  # LLM and tool rows, and the hook that set a flow

# %% [markdown]
# **Edit the system prompt.** Message 0 of the State is the Agent's system prompt. We replace it with one that asks
# for more detail, and fork at step 1, where the model writes its answer. (The scripted model obeys "improve your
# answer" by saying which tools it used.)


# %%
def detailed_prompt(state: dict) -> None:
    state["messages"][0] = ChatMessage.from_system(
        "You are a helpful assistant. Use the tools when they help. "
        "Always improve your answer: say which tools you used."
    )


detailed = paris.fork(step=1, edit=detailed_prompt, label="detailed prompt")
print(detailed.describe())
print("answer:", detailed.final_answer)

# %% [markdown]
# **Add a new request.** Appending a user message at step 1 is like the user typing a follow-up before the model
# answered: the model now works on the new request, with the Paris result still in its history.

# %%
follow_up = ChatMessage.from_user("And the weather in Tokyo?")
tokyo = paris.fork(step=1, edit=lambda s: s["messages"].append(follow_up), label="Tokyo follow-up")
print(tokyo.describe())
print("answer:", tokyo.final_answer)
tokyo.timeline.query("kind in ['llm', 'tool']")[COLS]

# %% [markdown]
# The fork's step 1 calls `get_weather` for Tokyo (a step the original never had), then answers the new request.
#
# ## 5. Edit a State key: `edit={"user_profile": {"name": "Ada"}}`
#
# A dict edit sets State keys. `user_profile` feeds the `inject_user_profile` hook, which rewrites its
# "User name: ..." system message at every `before_llm`; the scripted model greets the user it names.

# %%
ada = paris.fork(step=1, edit={"user_profile": {"name": "Ada"}}, label="Ada")
print(ada.describe())
print("before:", paris.final_answer)
print("after: ", ada.final_answer)
ada.timeline.query("name == 'inject_user_profile' or kind == 'llm'")[COLS]

# %% [markdown]
# At step 1 `inject_user_profile` replaced "User name: Bob" with "User name: Ada" (the `~system` summary: a message
# replaced in place), and every answer from there on greets Ada.
#
# ## 6. Edit a tool call's arguments: `reply=...`
#
# A fork can only resume at a step boundary, so a tool call is edited by replacing the model's reply that asked for
# it: fork at the step of that LLM call and pass `reply=ChatMessage.from_assistant(tool_calls=[...])`. The fork
# serves it as that step's LLM reply (status `cached`: it did not come from the model), then runs the tool with the
# new arguments.

# %%
calc = rec.run("What is 2 + 3?", hook_context=CTX)
new_call = ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 2, "b": 40})])
edited_call = calc.fork(step=0, reply=new_call, label="add(2, 40)")
print("original:", calc.final_answer)
print("fork:    ", edited_call.final_answer)
edited_call.timeline.query("kind in ['llm', 'tool']")[COLS]

# %% [markdown]
# Seq 3 is the replacement reply (`cached`), seq 4 the tool run with `b=40`; from step 1 on the live model reads
# the result 42 and answers with it.
#
# ## 7. Forks of forks, and lineage: `rec.tree`
#
# A fork is a run like any other, so it can be forked again. Here the Ada fork is forked at step 2 with yet another
# name.

# %%
grace = ada.fork(step=2, edit={"user_profile": {"name": "Grace"}}, label="Grace")
print(grace.describe())
print("answer:", grace.final_answer)
rec.tree[["run_id", "kind", "parent_id", "fork_step", "depth", "label", "llm_calls", "cached_llm_calls", "tokens"]]

# %% [markdown]
# `parent_id` and `fork_step` give each fork's origin; `depth` counts the generations (the Grace fork is a fork of a
# fork: depth 2). `label` is whatever you passed as `fork(..., label=...)`. `llm_calls` (live) against
# `cached_llm_calls` shows what each fork cost: only the `add(2, 40)` fork has a cached row, its replacement reply.
#
# ## 8. Bad edits fail before anything runs
#
# A fork validates the step, the edit and the reply first. Each mistake below raises `InvalidEdit` (a `ValueError`
# and a `TypeError`) with a message that names the problem; no run is started.

# %%
runs_before = len(rec.runs)
bad_forks = {
    "an unknown key": dict(step=1, edit={"user_profil": {"name": "Ada"}}),
    "a wrong type": dict(step=1, edit={"user_profile": "Ada"}),
    "a message that is not a ChatMessage": dict(step=1, edit=lambda s: s["messages"].append("Use Celsius")),
    "a step out of range": dict(step=9, edit={"user_profile": {"name": "Ada"}}),
    "a key the fork manages": dict(step=1, edit={"step_count": 0}),
    "a reply that is not from the assistant": dict(step=0, reply=ChatMessage.from_user("Add 2 and 40")),
}
for what, kwargs in bad_forks.items():
    try:
        paris.fork(**kwargs)
    except InvalidEdit as exc:
        print(f"{what}:\n    {exc}")
print("runs started by these forks:", len(rec.runs) - runs_before)

# %% [markdown]
# And the source run is unchanged after all these forks: the same timeline as right after it was recorded, the same
# answer, the same State at step 1.

# %%
pd.testing.assert_frame_equal(paris_timeline_before, paris.timeline)
print("timeline unchanged:", paris_timeline_before.equals(paris.timeline))
print("answer:", paris.final_answer)
print("user_profile at step 1:", paris.state_at_step(1)["user_profile"])

# %% [markdown]
# ## 9. What did the fork cost? `own_usage(fork)`
#
# The Agent's counters (`token_usage`, `tool_call_counts`) are cumulative, and a fork starts from the counters of
# its snapshot: its result includes the tokens spent *before* the fork step. `fork.inherited` holds what it started
# with, and `agent_nb.replay.own_usage(fork)` gives the fork's own share (final minus inherited). `fork.usage`
# counts the fork's own LLM and tool events, and agrees.

# %%
pd.DataFrame(
    {
        "result (cumulative)": ada.result["token_usage"],
        "inherited at step 1": ada.inherited["token_usage"],
        "own_usage(ada)": own_usage(ada)["token_usage"],
    }
)

# %%
own = own_usage(ada)
print("own steps:", own["steps"], "| own tool calls:", {name: n for name, n in own["tool_call_counts"].items() if n})
print("ada.usage:", ada.usage)

# %% [markdown]
# The Ada fork ran 3 steps of its own (1 to 3) and called `save_note` once; the `get_weather` call of step 0 belongs
# to the source run.
#
# ## Exercise
#
# The reference solution is not on this page: it is in [`solutions/nb11.py`](solutions/nb11.py) (open it once you
# have tried; the checker is in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: rescue the Atlantis run.** Write `rescue(run)`: a fork of the Atlantis run (section 1) in which the
# model asks for the weather in Lima instead, so the answer is about Lima. Fork at the right step: a step whose tool
# call already failed is inherited, not re-run. The checker records its own Atlantis run and checks the fork's
# weather call, its answer, and that the source run is unchanged.

# %%
from solutions.checks import check_rescue


def rescue(run):
    """A fork of `run` that asks for the weather in Lima instead of Atlantis."""
    ...  # your code


# check_rescue(rescue)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - `run.fork(step, edit=..., reply=...)` restores the State at the start of `step`, applies the edit and continues;
#   earlier steps are inherited, not re-run, and `before_run` hooks are off in the fork.
# - Edits are checked before anything runs (`InvalidEdit`); the source run never changes.
# - Cumulative State keys (tokens, tool counts) include the inherited steps: `own_usage(fork)` gives the fork's own.
#
# ## Next
#
# - `12_comparing_runs`: compare forks, replays and hook configurations side by side, plot them, save and load runs.
