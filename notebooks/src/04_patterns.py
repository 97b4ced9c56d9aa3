# Source of notebooks/04_patterns.ipynb; build with `python notebooks/build.py 04`.

# %% [markdown]
# # 04 · Hook patterns from practice
#
# **Goal:** read, run and adapt the hooks users reach for first: run-time context, memories, a required tool, an LLM
# judge with its own resources, and one hook at two points.
# **Prerequisites:** `02_write_your_own_hook`, `03_hook_points`. **Time:** about 30 minutes.
#
# Haystack's pages: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) (its class-based LLM-judge example is
# the model for `LLMJudgeHook`) and the [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api).
#
# The pull request that added hooks to Haystack's `Agent` (deepset-ai/haystack#11747) named the patterns users
# reach for first: building run-time system context, retrieving memories, requiring a tool before finishing, and an
# `on_exit` hook that grades the answer with its own LLM and asks for a better one, with that LLM opened in
# `warm_up` and released in `close`. It also noted that the same hook may be registered at several points.
#
# `agent_nb.demo` has one hook for each pattern. This notebook prints each hook's source, records it, and shows what
# it changes, on the timeline and in the State. Every hook below is ordinary Haystack code (`agent_nb/demo/hooks.py`).

# %%
# %matplotlib inline
import inspect
import logging

import pandas as pd
from haystack.components.agents.state import State

from agent_nb import Recorder, demo_agent
from agent_nb.demo import LLMJudgeHook, MemoryRetrievalHook, RequireToolHook, inject_date, inject_user_profile
from agent_nb.demo import hooks as demo_hooks
from agent_nb.recording.diff import message_text  # one readable line per ChatMessage

pd.set_option("display.max_colwidth", 90)
pd.set_option("display.width", 200)
logging.getLogger("haystack").setLevel(logging.ERROR)

COLS = ["seq", "step", "kind", "hook_point", "name", "flow", "summary"]
TODAY = {"today": "2026-11-22"}  # pins the date inject_date reports


def show_source(obj) -> None:
    """Print the source of a hook (the function of a @hook, or a class or method)."""
    print(inspect.getsource(getattr(obj, "function", obj)))


def show_messages(messages):
    """Print a message list, one line per message."""
    for i, message in enumerate(messages):
        print(f"{i:2d} {message.role.value:9s} {message_text(message, limit=100)}")


# %% [markdown]
# ## 1. Run-time system context: `inject_date`, `inject_user_profile`
#
# A system prompt is fixed when the Agent is built; some context is only known when it runs. Two `before_llm`
# hooks add it as system messages: `inject_date` (today's date, from `hook_context["today"]` here so the page is
# stable) and `inject_user_profile`, which renders the `user_profile` State key. `user_profile` is declared in the
# demo agent's `state_schema`, so it is passed to `run` like any State input. Both share `_ensure_once`, which keeps
# exactly one message with a given prefix and replaces the list (`handler_override=replace_values`) only on change:

# %%
show_source(inject_date)
show_source(inject_user_profile)
show_source(demo_hooks._ensure_once)

# %% [markdown]
# Recorded:

# %%
rec = Recorder(demo_agent(hooks={"before_llm": [inject_date, inject_user_profile]}))
ctx = rec.run("What is the weather in Paris?", user_profile={"name": "Ada", "units": "celsius"}, hook_context=TODAY)
print("answer:", ctx.final_answer)
assert list(ctx.timeline.query("kind == 'hook'")["summary"].iloc[2:]) == ["no change", "no change"]
assert ctx.final_answer.startswith("Ada")
ctx.timeline[COLS]

# %% [markdown]
# Both hooks add their message at step 0 (seq 0, 1) and report `no change` at step 1: they run at every step but
# keep exactly one message each, so the context does not pile up. The answer starts with the user's name because
# the model read the profile. This is what the model saw at its first call (seq 2):

# %%
show_messages(ctx.state_at(2)["messages"])

# %% [markdown]
# ## 2. Memory retrieval: `MemoryRetrievalHook`
#
# A `before_run` hook that looks up memories relevant to the task and adds them before the first LLM call. The
# demo's store is a dict of keyword -> memory; a real one would query a vector store. The question below does not
# name a city: only the memory says where "home" is. (`02_write_your_own_hook` has the same hook on Haystack's BM25
# retriever.) The source:

# %%
show_source(MemoryRetrievalHook)

# %% [markdown]
# We run it with the hook on, then off.

# %%
memories = MemoryRetrievalHook({"home": "The user lives in Lima.", "weather": "The user prefers Celsius."})
rec = Recorder(demo_agent(hooks={"before_run": [memories]}))
recalled = rec.run("What's the weather at home?")
rec.disable("before_run", "MemoryRetrievalHook")
forgotten = rec.run("What's the weather at home?")

print("with memories:   ", recalled.final_answer)
print("without memories:", forgotten.final_answer)
assert "Lima" in recalled.final_answer and "Lima" not in forgotten.final_answer
both_runs = pd.concat(
    [recalled.timeline.assign(run="with"), forgotten.timeline.assign(run="without")], ignore_index=True
)
both_runs[["run", *COLS]]

# %% [markdown]
# With the hook, `before_run` (step empty: it runs before step 0) adds the memory and the model checks Lima.
# Without it, the hook's row says `switched off` and the model has to ask which city is meant.
#
# ## 3. Require a tool before finishing: `RequireToolHook`
#
# An `on_exit` hook that refuses to end the run until a given tool has been called: if `tool_call_counts` shows no
# `save_note`, it appends "You must call `save_note` before finishing." and sets `continue_run`. After two unanswered
# reminders it gives up, so a model that cannot comply does not loop: the count is read from the run's messages, so
# the hook object keeps no per-run state.

# %%
show_source(RequireToolHook.run)

# %% [markdown]
# Recorded, and switched off for a second run:

# %%
rec = Recorder(demo_agent(hooks={"on_exit": [RequireToolHook("save_note")]}))
required = rec.run("What is the weather in Tokyo?")
free = rec.run("What is the weather in Tokyo?", hooks={"on_exit": {"RequireToolHook": False}})  # off for this run

print(f"with the hook:    {required.steps} steps, {required.usage['llm_calls']} LLM calls | {required.final_answer}")
print(f"without the hook: {free.steps} steps, {free.usage['llm_calls']} LLM calls | {free.final_answer}")
assert (required.steps, free.steps) == (4, 2)
required.timeline[COLS]

# %% [markdown]
# Steps 0 and 1 are the same in both runs. At seq 3 the hook sets `continue_run`, and steps 2 and 3 (seq 4 to 7)
# exist only because of it: the model calls `save_note`, then answers again, and this time the hook lets it go.
# The chart makes the extra steps plain (top: with the hook; bottom: without). The red line marks where the two
# runs part: event 3, where the hook ran in one run and was skipped in the other.

# %%
from agent_nb.views import plot_compare

plot_compare(required, free, titles=["RequireToolHook on", "RequireToolHook off"])

# %% [markdown]
# ## 4. An LLM judge in `on_exit`: `LLMJudgeHook`
#
# The judge grades the final answer with its own chat generator and, below `min_score`, appends "Improve your
# answer: it was too short." and sets `continue_run`. The judge's generator is a resource: the hook opens it in
# `warm_up()` (the Agent calls it before a run) and releases it in `close()` (called by `agent.close()`). The demo
# judge is a `ScriptedChatGenerator` in judge mode: answers under 12 words score 3/10, longer ones 8/10. Its guard
# against endless rounds counts the "Improve your answer" messages in the run (`max_rounds`):

# %%
show_source(LLMJudgeHook.warm_up)
show_source(LLMJudgeHook.close)
show_source(LLMJudgeHook.run)

# %% [markdown]
# Recorded:

# %%
judge = LLMJudgeHook(min_score=6)
agent = demo_agent(hooks={"on_exit": [judge]})
rec = Recorder(agent)
print("before the run:  judge open:", judge.judge is not None, "| closed:", judge.closed)

judged = rec.run("What is 2 + 3?")
print("after the run:   judge open:", judge.judge is not None, "| closed:", judge.closed)
print("answer:", judged.final_answer)
assert judged.steps == 3 and judge.judge is not None and not judge.closed
judged.timeline[COLS]

# %% [markdown]
# At seq 3 the judge scored "2 + 3 = 5." too low and sent the agent back (`continue_run`); step 2 is the improved
# answer, which passes (seq 5, `no change`). The judge's own LLM call is not a row of its own: it happens inside
# the hook, so it shows as the hook's duration. The two scores, asked directly:

# %%
first, final = judged.timeline.query("kind == 'llm'")["summary"].iloc[[-2, -1]]
print(judge.score("What is 2 + 3?", first), "/10 for", repr(first))
print(judge.score("What is 2 + 3?", judged.final_answer), "/10 for", repr(judged.final_answer))
judged.timeline.query("name == 'LLMJudgeHook'")[["seq", "step", "duration_ms", "flow"]].round(3)

# %% [markdown]
# The Recorder runs a clone of your Agent but the hook objects are yours, so closing your Agent closes the judge:

# %%
agent.close()
print("after agent.close(): judge open:", judge.judge is not None, "| closed:", judge.closed)
assert judge.closed and judge.judge is None

# %% [markdown]
# ## 5. One hook at two points
#
# A hook object may sit at several hook points. Haystack does not tell it which one it runs at, and calls its
# `warm_up` / `close` once per object, not once per point. Here one logger watches both `before_llm` and
# `after_tool`. It only sees the State, so it logs the step and the last message; the timeline knows the point.

# %%
class CallLogger:
    """Log the step and the last message, wherever it runs."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warm_ups = 0
        self.closes = 0

    def warm_up(self) -> None:
        self.warm_ups += 1

    def close(self) -> None:
        self.closes += 1

    def run(self, state: State) -> None:
        last = state.data["messages"][-1]
        self.lines.append(f"step {state.data['step_count']}, last message: {message_text(last, limit=50)}")


log = CallLogger()
agent = demo_agent(hooks={"before_llm": [log], "after_tool": [log]})
rec = Recorder(agent)
rec.hooks[["point", "name", "enabled", "type"]]

# %% [markdown]
# `rec.hooks` has two slots with the same name, one per point: each can be switched off on its own
# (`rec.disable("after_tool", "CallLogger")`). One run:

# %%
both = rec.run("What is 2 + 3, and the weather in Paris?")
print(both.describe(), "| warm_up calls:", log.warm_ups)
both.timeline.query("kind == 'hook'")[["seq", "step", "hook_point", "name"]].assign(logged=log.lines)

# %% [markdown]
# Three log lines for the three hook rows: `before_llm` of step 0, `after_tool` of step 0, `before_llm` of step 1.
# The last two see the same messages (only `step_count` moved on), which is why a hook that must know where it runs
# is better written as one object per point. `warm_up` ran once for the run, though the object sits at two points.
# Haystack warms hooks up on every run, so a second run makes it 2: keep `warm_up` idempotent, as
# `LLMJudgeHook.warm_up` is. `close` too is called once per object:

# %%
rec.run("What is 2 + 3?")
agent.close()
print("warm_up calls after two runs:", log.warm_ups, "| close calls:", log.closes)
assert (log.warm_ups, log.closes) == (2, 1)

# %% [markdown]
# ## Exercises
#
# The reference solutions are not on this page: they are in [`solutions/nb04.py`](solutions/nb04.py) (open it once
# you have tried; the checkers are in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: ask once.** Write `ask_for_more`, an `on_exit` hook that, when the last answer has fewer than 8 words,
# appends the user message `"Improve your answer: add more detail."` and keeps the run going, **once per run**. The
# checker also runs it against a model that never writes more.

# %%
from haystack.components.agents.state import State
from haystack.hooks import hook

from solutions.checks import check_lifecycle_hook, check_once_reminder


@hook
def ask_for_more(state: State) -> None:
    """on_exit: one request for a longer answer."""
    ...  # your code


# check_once_reminder(ask_for_more)   # <- uncomment to check

# %% [markdown]
# **Exercise 2: a resource, opened once.** Write a class hook (for `before_llm`) with attributes `opened` (how many
# times it opened its client) and `closed`, whose `warm_up` opens a client at most once although the Agent calls it
# before every run, and whose `close` releases it. The checker takes the class (it builds the object), runs three
# runs, then `agent.close()`.

# %%
class MyClientHook:
    """Open a client once, release it on close."""

    def __init__(self) -> None:
        self.opened = 0
        self.closed = False

    def warm_up(self) -> None: ...  # your code

    def run(self, state: State) -> None: ...

    def close(self) -> None: ...  # your code


# check_lifecycle_hook(MyClientHook)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - Context hooks run at `before_llm` (every step): keep exactly one message, replace the list only on change.
# - Memory hooks run at `before_run` (once): retrieve for the task, add one system message.
# - Require-a-tool and judge hooks run at `on_exit`: a message plus `continue_run`, and a guard counted in the run's
#   messages, so the hook object holds no per-run state and a stubborn model cannot loop.
# - Resources open in `warm_up` (idempotent: it runs before every run) and close in `close` (`agent.close()`), once
#   per object even at two points; a hook that must know its point is better written as one object per point.
#
# ## Next
#
# - `05_builtin_hooks`: Haystack's budget, compaction, confirmation and offloading hooks, read off the timeline.
# - `06_async_hooks`: the same hooks in `run_async`, and what blocks the event loop.
