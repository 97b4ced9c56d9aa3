# Source of notebooks/12_comparing_runs.ipynb; build with `python notebooks/build.py 12`.

# %% [markdown]
# # 12 · Comparing runs
#
# **Goal:** compare runs event by event and over a prompt set, draw them side by side, save and load them, and write
# an HTML report. **Prerequisites:** `10_ablation`, `11_fork_edited_state`. **Time:** about 20 minutes.
#
# Haystack's pages on what is being replayed: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api).
#
# Once runs are recorded, the questions are comparative: did the replay do the same thing? where does the fork
# part ways with its source? what does a hook cost, over several prompts? This notebook answers them with
# `compare(a, b)` (two runs aligned event by event, the first divergence marked), a summary table over a small
# prompt set, two charts (`plot_compare`, `plot_runs_overview`), and saved runs loaded back from disk. It ends
# with the HTML report of a run.

# %%
# %matplotlib inline
import logging
import tempfile
from pathlib import Path

import pandas as pd

from agent_nb import Recorder, Run, compare, demo_agent
from agent_nb.demo import NoteStore, TokenBudgetStop
from agent_nb.views import plot_compare, plot_runs_overview

logging.getLogger("haystack").setLevel(logging.ERROR)
pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 200)

CTX = {"today": "2026-11-22"}  # pins the date inject_date reports, so this page reads the same on every build
CMP = ["step", "kind", "hook_point", "name", "status_a", "status_b", "same", "summary_a", "summary_b"]

rec = Recorder(demo_agent(notes=NoteStore()))
# A second configuration to compare later: a token budget, added to the Recorder but off by default.
rec.add_hook("before_llm", TokenBudgetStop(max_total_tokens=150))
rec.disable("before_llm", "TokenBudgetStop")
rec.hooks[["point", "name", "enabled", "doc"]]

# %% [markdown]
# ## 1. A replay and a fork against their source
#
# `compare(a, b)` returns a DataFrame with one row per aligned event: rows are matched by (step, kind, hook point,
# name, occurrence), each side's status and summary sit next to each other, `same` says whether they agree (a
# `cached` reply counts as `ok`), and `first_divergence` marks the first row that does not. The same row is in
# `df.attrs["first_divergence"]` as a dict, with the reason, or None when the runs agree.
#
# An unedited replay agrees with its source everywhere:

# %%
base = rec.run("What is the weather in Paris and Tokyo?", hook_context=CTX, user_profile={"name": "Bob"})
replayed = base.replay()
df = compare(base, replayed)
print(base.describe())
print(replayed.describe())
print("rows:", len(df), "| all same:", bool(df.same.all()), "| first divergence:", df.attrs["first_divergence"])
assert df.same.all() and df.attrs["first_divergence"] is None

# %% [markdown]
# A fork shares its source's history up to the fork step. Those rows are not in the fork's own timeline; `compare`
# shows them with status `inherited` and counts them as the same (the history is literally shared). The first
# divergence is the first row where the edit shows.

# %%
ada = base.fork(step=1, edit={"user_profile": {"name": "Ada"}})
df = compare(base, ada)
print("first divergence:", df.attrs["first_divergence"])
first = df.attrs["first_divergence"]
assert (first["step"], first["name"]) == (1, "inject_user_profile")
assert set(df.loc[df.step == 0, "status_b"]) == {"inherited"}
df[CMP]

# %% [markdown]
# What to look at: the rows of step 0 read `inherited` on the fork's side, and `same`; `MemoryRetrievalHook` reads
# `skipped` there (`before_run` hooks are off in a fork: their effect is in the restored State), also `same`. At step
# 1, `inject_user_profile` rewrote the profile message ("~system: User name: Ada"): the first divergence. The answers
# at steps 1 and 3 differ by the greeting; the `save_note` call and result are the same in both runs.
#
# ## 2. Two hook configurations over the same prompts
#
# An ablation over one run says little; the same question over a few prompts says more. We run three prompts with
# the demo hooks, then again with `TokenBudgetStop(max_total_tokens=150)` switched on (`rec.run(..., hooks=...)`
# switches hooks for one run), and summarize each run in one row.

# %%
PROMPTS = [
    "What is 2 + 3?",
    "What is the weather in Paris and Tokyo?",
    "Search for continue_run, then save a note.",
]
CONFIGS = {
    "demo hooks": {"before_llm": {"TokenBudgetStop": False}},
    "budget 150": {"before_llm": {"TokenBudgetStop": True}},
}
runs = {}
rows = []
for prompt in PROMPTS:
    for config, hooks in CONFIGS.items():
        run = rec.run(prompt, hooks=hooks, hook_context=CTX)
        runs[prompt, config] = run
        usage = run.usage
        rows.append(
            {
                "prompt": prompt,
                "config": config,
                "steps": run.result[
                    "step_count"
                ],  # the Agent's count (run.steps also counts a step stopped before its LLM call)
                "tokens": usage["prompt_tokens"] + usage["completion_tokens"],
                "tool_calls": usage["tool_calls"],
                "exit_reason": run.exit_reason,
                "answer": run.final_answer or "(none: stopped before answering)",
            }
        )
summary = pd.DataFrame(rows)
budget = summary[summary.config == "budget 150"]
stopped = budget[budget.exit_reason == "token_budget"]
assert len(stopped) == 2 and (stopped.steps == 3).all()
summary

# %% [markdown]
# The budget bites on two prompts out of three. Those runs end with `exit_reason` `token_budget` after 3 steps
# instead of 4: the budget hook stopped them at the start of step 3, after the note was saved and before the final
# answer, so they have no final answer (their last message is the `save_note` result). The search prompt asks for
# the note itself, so `RequireToolHook` adds no step, and before its last LLM call it had used fewer than 150
# tokens: it finishes, at 245. A `before_llm` budget never stops the call that crosses it. The totals per
# configuration:

# %%
summary.groupby("config", sort=False)[["steps", "tokens", "tool_calls"]].sum()

# %% [markdown]
# ## 3. Where exactly do two configurations part ways? `compare(a, b)`
#
# Take the weather prompt under both configurations. Two runs recorded independently, not a replay or a fork:
# `compare` aligns them all the same.

# %%
a = runs["What is the weather in Paris and Tokyo?", "demo hooks"]
b = runs["What is the weather in Paris and Tokyo?", "budget 150"]
ab = compare(a, b)
print("first divergence:", ab.attrs["first_divergence"])
assert (ab.attrs["first_divergence"]["step"], ab.attrs["first_divergence"]["name"]) == (0, "TokenBudgetStop")
ab.loc[~ab.same, CMP]

# %% [markdown]
# Read it top to bottom:
#
# - The first divergence is the budget hook itself at step 0: `skipped` in run a (switched off), `ok` in run b,
#   where it checked the budget and changed nothing. It reads the same at steps 1 and 2.
# - The first row where the *behaviour* differs is step 3: the budget hook set `stop_run` (its summary), so run b
#   has no LLM call and no `on_exit` hook at step 3 (`status_b` empty, "only in a"). Run a went on to its final
#   answer.
#
# `first_divergence` is where the runs first differ by the rules of `compare`; when a hook is switched on in one run
# only, that is the hook's first row. Filter `~ab.same` (as above), or look for the rows that are missing on one
# side, to find where the switch changed what happened:

# %%
only_a = ab.loc[ab.status_b.isna()]
assert set(only_a.step) == {3} and ab.status_a.notna().all()  # b has nothing a has not; a has step 3's end
ab.loc[ab.status_a.isna() | ab.status_b.isna(), ["step", "kind", "hook_point", "name", "status_a", "status_b"]]

# %% [markdown]
# ## 4. Two runs on one chart: `plot_compare(a, b)`
#
# Both timelines, one above the other on a shared time axis (ms since the run started), one band per step; the
# first divergence is marked with a red dashed line and named in the title. Look at step 3: run a calls the LLM
# and runs its `on_exit` hook, run b ends on the budget's `stop_run` marker.

# %%
plot_compare(a, b, titles=["a: demo hooks", "b: demo hooks + TokenBudgetStop(150)"])

# %% [markdown]
# ## 5. All runs of the Recorder: `plot_runs_overview(rec.runs)`
#
# One band per run (id, kind, and for replays and forks the parent they come from), events by time. Long runs are
# long bars. From the top: the run of section 1, its replay (LLM bars dotted: `cached`), the Ada fork (no step 0 of
# its own, so shorter), then the six runs of section 2, prompt by prompt, demo hooks first; the budget runs end on a
# `stop_run` marker.

# %%
plot_runs_overview(rec.runs)

# %% [markdown]
# ## 6. Save runs, load them back, compare the loaded ones
#
# `run.save(path)` writes one JSON document (gzipped when the name ends in `.gz`): events, State snapshots, inputs,
# result and lineage. `Run.load(path)` reads it back without executing any code (no pickle). A loaded run has the
# same timeline and compares the same; it has no Recorder, so to replay or fork it you hand it to one:
# `rec.replay(loaded)`, `rec.fork(loaded, step=...)`.

# %%
folder = Path(tempfile.mkdtemp(prefix="agent-nb-runs-"))
path_a = a.save(folder / "weather_demo_hooks.json")
path_b = b.save(folder / "weather_budget.json.gz")
for path in (path_a, path_b):
    print(Path(path).name, f"{Path(path).stat().st_size:,} bytes")

loaded_a, loaded_b = Run.load(path_a), Run.load(path_b)
print(loaded_a.describe())
print(loaded_b.describe())

# %%
loaded_ab = compare(loaded_a, loaded_b)
print("same comparison as before saving:", loaded_ab.equals(ab))
assert loaded_ab.equals(ab)
print("first divergence:", loaded_ab.attrs["first_divergence"])
replayed_from_disk = rec.replay(loaded_a)
print(replayed_from_disk.describe(), "| live LLM calls:", replayed_from_disk.usage["llm_calls"])
assert replayed_from_disk.usage["llm_calls"] == 0 and compare(loaded_a, replayed_from_disk).same.all()

# %% [markdown]
# The loaded runs compare exactly as the live ones did, and the replay of a loaded run is served from its recorded
# replies (no live LLM call).
#
# ## 7. An HTML report: `run.to_html(path)`
#
# `run.to_html(path)` writes one self-contained HTML page: a summary, the input and the answer, the hook switches,
# the chart, the timeline table, the State diff of every event, and the lineage. It has no scripts and loads
# nothing, so it can be attached to an issue or opened offline. We write it next to the saved runs and do not
# display it here.

# %%
report = folder / "weather_budget.html"
b.to_html(report)
print("report written to", report, f"({report.stat().st_size:,} bytes)")

# %% [markdown]
# The same from a shell: `agent-nb report weather_budget.json.gz -o report.html` renders a saved run.
#
# ## Exercise
#
# The reference solution is not on this page: it is in [`solutions/nb12.py`](solutions/nb12.py) (open it once you
# have tried; the checker is in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: where do two runs part ways?** `first_divergence` (section 3) marks where two runs first differ by
# `compare`'s rules; a hook switched on in one run only shows there at once, though it may change nothing. Write
# `first_missing_step(a, b)`: the first step at which one run has an event the other has not (the first change in
# what *happened*), or None when every event has its match. The checker tries budget/no-budget pairs both ways round,
# a pair the budget does not touch, and a run with its replay.

# %%
from solutions.checks import check_first_missing_step


def first_missing_step(a, b):
    """The first step with an event in one run only, or None."""
    ...  # your code


# check_first_missing_step(first_missing_step)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - `compare(a, b)` aligns two runs by (step, kind, hook point, name, occurrence) and marks the first divergence;
#   forks are compared with their inherited history.
# - `plot_compare` and `plot_runs_overview` draw runs on a shared time axis; `Run.save` / `Run.load` keep them (JSON,
#   never code); `run.to_html` writes a self-contained report.
#
# ## Next
#
# - `13_developing_a_hook`: a workflow for developing a hook against recorded runs.
# - `14_sweeps_and_datasets`: hook configurations over prompt sets, at scale.
