# Source of notebooks/10_ablation.ipynb; build with `python notebooks/build.py 10`.

# %% [markdown]
# # 10 · Ablation: replay a run with hooks switched off
#
# **Goal:** measure what a hook is worth by replaying a recorded run without it, at no LLM cost where nothing
# changed, and make a replay fail loudly where it diverges.
# **Prerequisites:** `01_quickstart` (the hook curriculum, 02-07, explains the hooks used here). **Time:** about 20
# minutes. This and the next notebooks are about agent_nb's tools rather than Haystack hooks.
#
# Haystack's pages on what is being replayed: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api).
#
# What is a hook worth? Record a run once, then *replay* it with the hook switched off and compare. A replay
# re-runs the Agent from the recorded inputs, with the recorded LLM replies served from a cache **while the LLM
# input matches the recording**. As long as switching a hook off does not change what the model sees, the replay
# costs no LLM call; from the first step where it does, the live model answers. The timeline's `status` column
# says which is which: `cached` (served from the recording) or `ok` (answered live).
#
# This notebook records one run on the offline demo agent, replays it unchanged, replays it without
# `inject_date`, makes a replay fail loudly where it diverges (`on_miss="error"`), replays without side effects
# (`tools="cached"`), compares the ablation with the original, and finally drives a replay from the Recorder's
# hook switches.

# %%
# %matplotlib inline
import logging

import pandas as pd

from agent_nb import Recorder, ReplayDivergence, compare, demo_agent
from agent_nb.demo import NoteStore

logging.getLogger("haystack").setLevel(logging.ERROR)
pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 200)

CTX = {"today": "2026-11-22"}  # pins the date inject_date reports, so this page reads the same on every build
COLS = ["seq", "step", "kind", "hook_point", "name", "status", "summary"]


class CountingNoteStore(NoteStore):
    """The demo's note store, counting how often `save_note` wrote to it.

    NoteStore ignores a text it already holds, so its length alone would not show a second write.
    """

    writes = 0

    def add(self, text: str) -> int:
        self.writes += 1
        return super().add(text)


notes = CountingNoteStore()
rec = Recorder(demo_agent(notes=notes))

# %% [markdown]
# ## 1. Record a run with the demo hooks
#
# The demo agent has four hooks: `MemoryRetrievalHook` (before_run), `inject_date` and `inject_user_profile`
# (before_llm, every step) and `RequireToolHook("save_note")` (on_exit: the run may not end before a note is saved).
# We ask for the date and the weather, so `inject_date` matters to the answer.

# %%
run = rec.run("What day is it? And what is the weather in Paris?", hook_context=CTX)
print(run.describe())
print("answer:", run.final_answer)
print("save_note writes so far:", notes.writes)
assert run.steps == 4 and run.usage["llm_calls"] == 4 and notes.writes == 1
run.timeline[COLS]

# %% [markdown]
# Four LLM calls (seq 3, 7, 11, 15): the weather tool, a first answer, the `save_note` call that `RequireToolHook`
# demanded at seq 8, and the final answer. `inject_date` added the date once (seq 1) and changed nothing after.
#
# ## 2. An unedited replay costs no LLM call
#
# `run.replay()` re-runs the same inputs with the same hook configuration. Every LLM input matches the recording,
# so every reply comes from the cache: the LLM rows read `cached`, and `usage["llm_calls"]` (live calls) is 0.

# %%
again = run.replay()
print(again.describe())
print("usage:", again.usage)
print("same answer:", again.final_answer == run.final_answer)
print("save_note writes so far:", notes.writes)
assert again.usage["llm_calls"] == 0 and again.usage["cached_llm_calls"] == 4 and notes.writes == 2
again.timeline.query("kind == 'llm'")[COLS]

# %% [markdown]
# The tools, though, ran again (`tool_calls: 2` above, and a second write to the note store): a replay re-runs
# tools by default. Section 5 turns that off.
#
# ## 3. Ablation: switch `inject_date` off
#
# `hooks={point: {name: enabled}}` switches hooks on or off for this replay only, on top of the source run's
# configuration. Without `inject_date` the model's input at step 0 no longer holds "Today is ...": the digest of the
# input differs from every recorded one, the cache misses, and the live scripted model answers, at every step.

# %%
ablation = run.replay(hooks={"before_llm": {"inject_date": False}})
print(ablation.describe())
print("usage:", ablation.usage)
print("original:", run.final_answer)
print("ablation:", ablation.final_answer)
assert ablation.usage["llm_calls"] == 4 and ablation.usage["cached_llm_calls"] == 0
assert "2026-11-22" in run.final_answer and "2026-11-22" not in ablation.final_answer
ablation.timeline.query("kind == 'llm' or name == 'inject_date'")[COLS]

# %% [markdown]
# What to look at: `inject_date` is `skipped` ("switched off") at every step, and every LLM row is `ok`, not
# `cached`: four live calls. The model, no longer told the date, answers "I don't know today's date"; the weather
# part is unchanged, because the weather tool and its result are the same.
#
# ## 4. Fail where the replay diverges: `on_miss="error"`
#
# When a replay should reproduce the recording exactly (a regression check, or a test), pass `on_miss="error"`:
# the first LLM input that is not in the recording raises `ReplayDivergence`, which names the step and what
# differed. The partial replay is kept as `exc.run`.

# %%
try:
    run.replay(hooks={"before_llm": {"inject_date": False}}, on_miss="error")
except ReplayDivergence as exc:
    print(exc)
    print()
    print("exc.step:", exc.step, "| exc.kind:", exc.kind)
    print("exc.run:", exc.run.describe().split(", error:")[0])
    diverged, error = exc.run, exc

assert (error.step, error.kind) == (0, "llm") and diverged.status == "error"
assert diverged.usage["llm_calls"] == 0  # the model was never asked
diverged.timeline[COLS]

# %% [markdown]
# The explanation (also in `exc.explanation`) reads: at step 0 the recorded input had the date as message 1; the
# replay has the memories message there instead, and one message fewer. The partial run ends on its LLM row, with
# status `error` and the divergence as its summary: the model was not asked, so `usage["llm_calls"]` is 0.
#
# ## 5. A replay without side effects: `tools="cached"`
#
# `save_note` writes to a store. A replay with `tools="cached"` serves every tool result from the recording
# (matched by tool name and arguments) instead of running the tool, so nothing is written twice. The tool rows read
# `cached`, and `usage["tool_calls"]` counts 0 tool executions.

# %%
writes_before = notes.writes
quiet = run.replay(tools="cached")
print(quiet.describe())
print("usage:", quiet.usage)
print("save_note writes during this replay:", notes.writes - writes_before)
print("notes in the store:", notes.notes)
assert quiet.usage["tool_calls"] == 0 and notes.writes == writes_before
quiet.timeline.query("kind == 'tool'")[COLS]

# %% [markdown]
# Compare the counter with section 2, where the default `tools="live"` ran `save_note` again: one more write
# there, none here. Tool results are cached independently of the LLM replies, so an ablation can be
# side-effect free too: the live model of the `inject_date` ablation asks for the same tool calls, and they are
# served from the recording.

# %%
writes_before = notes.writes
quiet_ablation = run.replay(hooks={"before_llm": {"inject_date": False}}, tools="cached")
print("usage:", quiet_ablation.usage)
print("save_note writes:", notes.writes - writes_before)
assert quiet_ablation.usage["llm_calls"] == 4 and quiet_ablation.usage["tool_calls"] == 0
quiet_ablation.timeline.query("kind in ['llm', 'tool']")[COLS]

# %% [markdown]
# LLM rows `ok` (live: the input changed), tool rows `cached` (same calls, same arguments).
#
# ## 6. What changed, and why: `compare(run, ablation)`
#
# `compare(a, b)` aligns the two runs event by event, by (step, kind, hook point, name, occurrence), and marks the
# first row where they differ. `same` is True when both runs have the row with the same status (`cached` counts as
# `ok`) and the same summary.

# %%
diff = compare(run, ablation)
print("first divergence:", diff.attrs["first_divergence"])
first = diff.loc[~diff.same].iloc[0]
assert (first["name"], first["status_a"], first["status_b"]) == ("inject_date", "ok", "skipped")
diff.loc[~diff.same, ["step", "kind", "hook_point", "name", "status_a", "status_b", "summary_a", "summary_b"]]

# %% [markdown]
# Read it top to bottom:
#
# - The first divergence is `inject_date` at step 0: `ok` in the original, `skipped` in the ablation. That is the
#   ablation itself. It repeats at steps 1 to 3, where the hook found the date already there (`no change`) and was
#   skipped in the ablation.
# - Next the LLM rows at steps 1 and 3, the two text answers: "Today is 2026-11-22 (Sunday)." became "I don't know
#   today's date." That is the hook's effect on the answer.
# - Rows not listed are the same in both runs: the same memory, the same weather call and result, the same
#   `RequireToolHook` reminder, the same note. The LLM rows of steps 0 and 2 (the tool calls) are equal too, even
#   though the ablation asked the live model: the date does not change which tools the model calls.
#
# So `inject_date` is what lets the agent answer "what day is it", and nothing else in this run depends on it.
#
# ## 7. Replay with the Recorder's switches: `rec.disable(...)`, `hooks=rec.hook_config`
#
# The Recorder keeps one switch per hook (the workbench shows them as toggles). `rec.disable(point, name)` changes
# what the *next* runs use; a replay, though, reproduces the *source run's* configuration unless told otherwise.
# `run.replay(hooks=rec.hook_config)` replays with the Recorder's current switches. Here: `RequireToolHook` off.

# %%
rec.disable("on_exit", "RequireToolHook")
rec.hooks[["point", "name", "enabled"]]

# %%
no_reminder = run.replay(hooks=rec.hook_config)
print(no_reminder.describe())
print("usage:", no_reminder.usage)
print("answer:", no_reminder.final_answer)
assert no_reminder.steps == 2 and no_reminder.usage["llm_calls"] == 0 and no_reminder.usage["cached_llm_calls"] == 2
no_reminder.timeline.query("kind == 'llm' or name == 'RequireToolHook'")[COLS]  # the rows that matter here

# %% [markdown]
# Two steps instead of four, and both LLM replies `cached`: switching off an `on_exit` hook does not change what the
# model saw in steps 0 and 1, so they are served from the recording. Without the reminder (`skipped`) the run
# ends on the first text answer, and no note is saved. Steps 2 and 3 of the original existed only because of
# `RequireToolHook`.
#
# `rec.tree` lists every run of this Recorder with its lineage: the replays point at the run they replayed, and
# `cached_llm_calls` against `llm_calls` tells at a glance which ablations cost live calls.

# %%
rec.enable("on_exit", "RequireToolHook")
tree = rec.tree
assert tree.loc[tree["status"] == "error", "llm_calls"].tolist() == [0]
rec.tree[["run_id", "kind", "parent_id", "status", "exit_reason", "events", "llm_calls", "cached_llm_calls"]]

# %% [markdown]
# The failed `on_miss="error"` replay is there too, with status `error`, 0 `llm_calls` and 0 `cached_llm_calls`: it
# stopped at its first LLM input, before asking the model or the cache.
#
# ## Exercise
#
# The reference solution is not on this page: it is in [`solutions/nb10.py`](solutions/nb10.py) (open it once you
# have tried; the checker is in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: a side-effect-free ablation.** Write `quiet_ablation(run)`: a replay of `run` with
# `MemoryRetrievalHook` switched off (it is a `before_run` hook) in which no tool runs again: every tool result comes
# from the recording. The checker records its own run on a fresh note store and checks that the replay's memory row is
# `skipped`, the other hooks ran, every tool row is `cached`, and nothing was written to the store.

# %%
from solutions.checks import check_quiet_ablation


def quiet_ablation(run):
    """A replay of `run` without MemoryRetrievalHook, tools from the recording."""
    ...  # your code


# check_quiet_ablation(quiet_ablation)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - `run.replay()` serves recorded LLM replies while the input matches: an ablation costs live calls only from the
#   first step the hook changed; `tools="cached"` also keeps tools from running again.
# - `on_miss="error"` turns a divergence into `ReplayDivergence` with the step and what differed, and keeps the
#   partial run.
# - `compare(run, ablation)` lists the events that differ, first divergence first.
#
# ## Next
#
# - `11_fork_edited_state`: instead of switching hooks, resume a run from any step with edited State.
# - `12_comparing_runs`: compare hook configurations over several prompts, plot two runs side by side, save and load
#   runs, and write an HTML report.
# - `13_developing_a_hook`: a workflow for developing a hook against recorded runs.
