# Source of notebooks/05_builtin_hooks.ipynb; build with `python notebooks/build.py 05`.

# %% [markdown]
# # 05 · Haystack's built-in hooks, recorded
#
# **Goal:** know what each of Haystack's ready-made hooks does to a run, read off the timeline and the State diffs:
# where it runs, what it changes in the conversation, and what that costs the answer.
# **Prerequisites:** `02_write_your_own_hook`, `03_hook_points`. **Time:** about 30 minutes.
#
# Haystack's pages: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api) (every class used below).
#
# Haystack 3.4 ships hooks for four jobs: a token budget (`TokenBudgetHook`), context compaction (`CompactionHook`
# with four compactors), human confirmation of tool calls (`ConfirmationHook`) and moving large tool results out of
# the conversation (`ToolResultOffloadHook`). Each is a plain hook, so the Recorder records it like any other. This
# notebook runs each one on the offline demo agent and reads off the timeline what it changed: the `changed`,
# `flow` and `summary` columns, and `run.diff(seq)` for the detail.
#
# The budget and compaction hooks are marked experimental and warn when they are built; the first cell silences
# that, and haystack's log warnings (the budget hook logs when it stops a run).

# %%
# %matplotlib inline
import logging
import tempfile
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=".*experimental.*", category=UserWarning)
logging.getLogger("haystack").setLevel(logging.ERROR)

import pandas as pd
from haystack.hooks.budget import TokenBudgetHook
from haystack.hooks.compaction import (
    CompactionHook,
    SlidingWindowCompactor,
    SummarizationCompactor,
    ToolResultOffloadCompactor,
    ToolResultPruningCompactor,
)
from haystack.hooks.human_in_the_loop import (
    AlwaysAskPolicy,
    BlockingConfirmationStrategy,
    ConfirmationHook,
    ConfirmationUIResult,
)
from haystack.hooks.tool_result_offloading import FileSystemToolResultStore, OffloadOverChars, ToolResultOffloadHook

from haystack.dataclasses import ChatRole

from agent_nb import Recorder, ScriptedChatGenerator, demo_agent

pd.set_option("display.max_colwidth", 90)
pd.set_option("display.width", 200)

COLS = ["seq", "step", "kind", "hook_point", "name", "changed", "flow", "summary"]
# Three steps on the demo model: search + weather, then save_note, then the answer. The search result is the
# largest message of the conversation: the compactors go for it.
TASK = "Look up continue_run and stop_run. What is the weather in Paris and Tokyo? Then save a note."

# %% [markdown]
# First the task with no hooks at all, as the baseline: three steps, and the prompt grows with every step.

# %%
baseline = Recorder(demo_agent(hooks=None)).run(TASK)
print(baseline.describe())
baseline.timeline[["seq", "step", "kind", "name", "prompt_tokens", "completion_tokens", "summary"]]

# %% [markdown]
# ## `TokenBudgetHook`: stop when the budget is spent
#
# A `before_llm` hook that compares the run's cumulative `token_usage` with `max_total_tokens` and, once it is
# reached, sets `stop_run="token_budget_exceeded"`: the run ends before the next LLM call. With
# `add_final_message=True` it also appends an assistant message that says why. In the baseline the first LLM call
# used about 50 tokens and the second about 120 (prompt + completion), so a budget of 150 lets two steps through
# and stops the third:

# %%
budget = TokenBudgetHook(max_total_tokens=150, add_final_message=True)
capped = Recorder(demo_agent(hooks={"before_llm": [budget]})).run(TASK)
print(capped.describe())
print("last message:", capped.result["last_message"].text)
assert capped.exit_reason == "token_budget_exceeded" and capped.usage["llm_calls"] == 2
capped.timeline[COLS]

# %% [markdown]
# The hook ran at every step. At steps 0 and 1 it changed nothing (`changed` is empty: the token counts it read were
# written by haystack after each LLM call, and show in those rows' `agent_changed`); at seq 8 (step 2) `changed`
# lists the message it added and `stop_run`, `flow` reads `stop_run:token_budget_exceeded`, and no LLM row follows: the third LLM call
# was never made. The diff of that event:

# %%
print(capped.diff(8))

# %% [markdown]
# ## `CompactionHook`: shrink the conversation
#
# A `before_llm` hook that estimates the size of the conversation; when it passes `compact_at` of `context_window`,
# it hands the messages to a *compactor* and asks for at most `compact_to` of the window. The compactor decides
# what goes:
#
# | compactor | what it does to old history |
# |---|---|
# | `SlidingWindowCompactor` | drops the oldest complete steps and inserts a new user message saying how many went |
# | `ToolResultPruningCompactor` | replaces old tool results with a placeholder ("call the tool again if you need it") |
# | `ToolResultOffloadCompactor(store)` | writes old tool results to a store and leaves a reference with a preview |
# | `SummarizationCompactor(chat_generator)` | has an LLM summarize the old steps into one new user message |
#
# The task's own message and the most recent step are always kept. We use a tiny window (150 tokens, compact at
# 50 %, down to 30 %) so compaction starts at step 2, and `min_tokens=0` so the demo's small tool results qualify.
# The summarizer gets its own `ScriptedChatGenerator`, which knows haystack's summary prompt.

# %%
store_dir = Path(tempfile.mkdtemp(prefix="compacted-"))
compactors = {
    "SlidingWindow": SlidingWindowCompactor(min_keep_steps=1),
    "ToolResultPruning": ToolResultPruningCompactor(min_tokens=0),
    "ToolResultOffload": ToolResultOffloadCompactor(
        FileSystemToolResultStore(store_dir), min_tokens=0, preview_chars=40
    ),
    "Summarization": SummarizationCompactor(chat_generator=ScriptedChatGenerator(), approximate_summary_tokens=40),
}
compacted = {}
rows = []
for label, compactor in compactors.items():
    hook = CompactionHook(compactor, context_window=150, compact_at=0.5, compact_to=0.3)
    run = Recorder(demo_agent(hooks={"before_llm": [hook]})).run(TASK)
    compacted[label] = run
    acted = run.timeline.query("name == 'CompactionHook' and summary != 'no change'")
    for seq, step in zip(acted["seq"], acted["step"]):
        before, after = run.state_at(int(seq)), run.state_at(int(seq), when="after")
        rows.append({
            "compactor": label, "seq": int(seq), "step": int(step),
            "messages": f"{len(before['messages'])} -> {len(after['messages'])}",
            "context_tokens": f"{before['context_tokens']} -> {after['context_tokens']}",
        })
pd.DataFrame(rows)

# %% [markdown]
# Each compactor acted once, at the start of step 2, before the LLM wrote the answer. What they did differs, and
# the final answers show the cost. The diffs, one per compactor (`-` removed, `~` replaced: old `=>` new), and the
# answer the model gave from what was left:

# %%
for row in rows:
    run = compacted[row["compactor"]]
    print(f"--- {row['compactor']}, seq {row['seq']}")
    print(run.diff(row["seq"]))
    print("ANSWER:", run.final_answer, "\n")

# %% [markdown]
# How to read them:
#
# - **SlidingWindow** removed step 0 whole (the assistant message with its three tool calls, and the three results)
#   and inserted a **new user message**, the omission note "[4 earlier messages were removed ...]". The diff pairs
#   messages by position, so it prints the note as replacing the assistant message (`~`); the cell below checks what
#   really happened. The docs text and the weather are gone, so the answer can only say that earlier results were
#   removed, and report the note it saved afterwards. (Calling the tools again would regrow the context until the
#   next compaction: the demo model answers instead.)
# - **ToolResultPruning** replaced the docs text with a placeholder and kept the rest: the weather results are so
#   short that the placeholder would cost more. The answer now says the docs result was removed.
# - **ToolResultOffload** did the same but kept the text: in a file, with a reference and a 40-character preview in
#   the conversation. The model could read it back with a file tool.
# - **Summarization** folded step 0 into one new user message, `<conversation_summary>`, listing each call and result:
#   the answer keeps the docs and the weather, at the cost of one extra LLM call inside the hook (not a row of its
#   own: it is part of the hook's `duration_ms`).
#
# What the sliding window and the summarizer did, checked on the States before and after (not on the diff's pairing):

# %%
for label in ("SlidingWindow", "Summarization"):
    row = next(r for r in rows if r["compactor"] == label)
    run = compacted[label]
    before, after = run.state_at(row["seq"])["messages"], run.state_at(row["seq"], when="after")["messages"]
    new = [m for m in after if m not in before]
    gone = [m for m in before if m not in after]
    print(f"{label}: inserted {[(m.role.value, (m.text or '')[:40]) for m in new]}")
    print(f"{' ' * len(label)}  removed {[m.role.value for m in gone]}")
    assert len(new) == 1 and new[0].is_from(ChatRole.USER)  # a NEW user message
    assert [m.role.value for m in gone] == ["assistant", "tool", "tool", "tool"]  # step 0, whole
assert compacted["SlidingWindow"].state_at(8, when="after")["messages"][2].text.startswith("[4 earlier messages")

# %% [markdown]
# The offload store now holds the docs text. It also holds the two weather results: the compactor wrote them, then
# kept them in the conversation because their references would have cost more tokens than the results themselves.

# %%
for path in sorted(store_dir.iterdir(), key=lambda p: (p.name.split("_")[1], p.read_text())):  # names end in a uuid
    print(f"{path.name}: {path.read_text()[:70]!r}")

# %% [markdown]
# ## `ConfirmationHook`: a human confirms, edits or rejects tool calls
#
# A `before_tool` hook: for each pending tool call it asks a `ConfirmationStrategy`, here haystack's
# `BlockingConfirmationStrategy` with a policy (`AlwaysAskPolicy`; `AskOncePolicy` and `NeverAskPolicy` exist) and a
# *UI*. A UI is any object with `get_user_confirmation(tool_name, tool_description, tool_params)` returning a
# `ConfirmationUIResult`: `"confirm"`, `"reject"` (with feedback), or `"modify"` (with new parameters). Haystack ships
# console UIs; in a notebook we script one, so the run does not wait for input:

# %%
class ScriptedUI:
    """A ConfirmationUI that gives prepared answers in order and remembers what it was asked."""

    def __init__(self, *answers: ConfirmationUIResult) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, dict]] = []

    def get_user_confirmation(self, tool_name: str, tool_description: str, tool_params: dict) -> ConfirmationUIResult:
        self.asked.append((tool_name, dict(tool_params)))
        return self.answers.pop(0)


def confirmation_hook(ui: ScriptedUI) -> ConfirmationHook:
    """Ask `ui` about every get_weather call; other tools run unasked."""
    strategy = BlockingConfirmationStrategy(confirmation_policy=AlwaysAskPolicy(), confirmation_ui=ui)
    return ConfirmationHook(confirmation_strategies={"get_weather": strategy})


# %% [markdown]
# The model asks for the weather in Paris and Tokyo in one reply. The user confirms Paris and rejects Tokyo:

# %%
ui = ScriptedUI(ConfirmationUIResult("confirm"), ConfirmationUIResult("reject", feedback="Tokyo is not needed"))
rec = Recorder(demo_agent(hooks={"before_tool": [confirmation_hook(ui)]}))
rejected = rec.run("What is the weather in Paris and Tokyo?")
print("asked:", ui.asked)
print("answer:", rejected.final_answer)
rejected.timeline[COLS]

# %% [markdown]
# Only one tool row follows the hook (seq 1): Tokyo never ran. The hook rewrote the conversation
# (`hooks/human_in_the_loop/strategies.py`): the assistant message with both calls is **replaced by a copy holding
# only the rejected call**, followed by an **error tool result** carrying the feedback, then a **new assistant
# message with the confirmed call**. That one is now the last message, so it is the call the Agent runs (only the last
# message's tool calls run after `before_tool`).

# %%
print(rejected.diff(1), "\n")
after = rejected.state_at(1, when="after")["messages"]
for i, m in enumerate(after):
    calls = ", ".join(f"{c.tool_name}({c.arguments})" for c in m.tool_calls)
    result = m.tool_call_result
    print(i, m.role.value, calls or (f"error={result.error}: {result.result[:60]}" if result else m.text[:60]))
assert [m.role.value for m in after] == ["system", "user", "assistant", "tool", "assistant"]
assert [c.arguments["city"] for c in after[2].tool_calls] == ["Tokyo"]  # the copy: only the rejected call
assert after[3].tool_call_result.error and "Tokyo is not needed" in after[3].tool_call_result.result
assert [c.arguments["city"] for c in after[4].tool_calls] == ["Paris"]  # the new last message: the confirmed call

# %% [markdown]
# Now the user edits the Tokyo call to Lima instead:

# %%
ui = ScriptedUI(ConfirmationUIResult("confirm"), ConfirmationUIResult("modify", new_tool_params={"city": "Lima"}))
rec = Recorder(demo_agent(hooks={"before_tool": [confirmation_hook(ui)]}))
modified = rec.run("What is the weather in Paris and Tokyo?")
print(modified.diff(1), "\n")
assert "get_weather(city='Lima')" in " ".join(modified.timeline.query("kind == 'tool'")["summary"])
modified.timeline[COLS]

# %% [markdown]
# The tool row ran `get_weather(city='Lima')`. Haystack tells the model about the edit with a user message
# ("The parameters for tool 'get_weather' were updated by the user to ..."), placed before the rewritten call; the
# model takes it as context, and its answer reports Lima's weather.
#
# ## `ToolResultOffloadHook`: large results go to a store right away
#
# Where the offload *compactor* acts only when the context is full, this `after_tool` hook offloads fresh results as
# soon as they arrive, per tool: `AlwaysOffload()`, `NeverOffload()` or `OffloadOverChars(n)`, keyed by tool name
# (or `"*"`). Here: docs search results over 100 characters, into a `FileSystemToolResultStore` in a temporary
# folder.

# %%
offload_dir = Path(tempfile.mkdtemp(prefix="offloaded-"))
store = FileSystemToolResultStore(offload_dir)
offload = ToolResultOffloadHook(store, offload_strategies={"search": OffloadOverChars(100)}, preview_chars=40)
offloaded = Recorder(demo_agent(hooks={"after_tool": [offload]})).run(TASK)
assert list(offloaded.timeline.query("name == 'ToolResultOffloadHook'")["seq"]) == [4, 7]
offloaded.timeline[COLS]

# %% [markdown]
# The hook runs after each tool step (seq 4 and seq 7). At seq 4 `changed` is `[messages]` and the summary starts
# with `~tool`: it replaced the search result in place; the weather results (short, and not `search`) stayed. At
# seq 7 it had nothing to do. The diff, and the file it wrote:

# %%
print(offloaded.diff(4), "\n")
for path in sorted(offload_dir.iterdir()):
    print(f"{path.name}: {path.read_text()!r}")

# %% [markdown]
# The two store folders were temporary; remove them:

# %%
import shutil

for folder in (store_dir, offload_dir):
    shutil.rmtree(folder)

# %% [markdown]
# ## In the workbench
#
# The workbench has its own confirmation UI: `wb.confirmation_hook()` returns a `ConfirmationHook` whose questions
# appear as a panel in the widget (approve, reject with feedback, or edit the arguments of the pending call), so a
# run started from the workbench waits for your click. Add it with `rec.add_hook` and run from the widget's prompt
# box. (On a static page you only see the widget's placeholder; no run is started here, because it would wait for
# a click.)

# %%
from agent_nb import Workbench

rec = Recorder(demo_agent())
wb = Workbench(rec)
rec.add_hook("before_tool", wb.confirmation_hook())
rec.hooks[["point", "name", "enabled"]]

# %%
wb

# %% [markdown]
# ## Exercises
#
# The reference solutions are not on this page: they are in [`solutions/nb05.py`](solutions/nb05.py) (open it once
# you have tried; the checkers are in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: a budget.** With `TokenBudgetHook` as the only hook, which is the **largest** `max_total_tokens` that
# stops the `TASK` run after exactly one LLM call? Read it off the baseline's token columns (the hook stops once the
# cumulative usage *reaches* the budget, checked before each LLM call).

# %%
from solutions.checks import check_budget, check_rejecting_ui

my_budget = None  # your answer: an int
# check_budget(my_budget)   # <- uncomment to check

# %% [markdown]
# **Exercise 2: a confirmation UI.** Write a class with `get_user_confirmation(tool_name, tool_description,
# tool_params)` that rejects every `save_note` call (with feedback) and confirms every other call. The checker wires
# it into a `ConfirmationHook` for all tools (`"*"`) and runs "What is 2 + 3? Then save a note.".

# %%
class ReadOnlyUI:
    """Reject save_note, confirm the rest."""

    def get_user_confirmation(self, tool_name: str, tool_description: str, tool_params: dict) -> ConfirmationUIResult:
        ...  # your code


# check_rejecting_ui(ReadOnlyUI())   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - `TokenBudgetHook` (before_llm) sets `stop_run="token_budget_exceeded"` once usage reaches the budget: the call
#   that crosses it has already happened, the next one is never made.
# - `CompactionHook` (before_llm) shrinks history with a compactor; the sliding window and the summarizer insert a new
#   user message in place of the steps they remove, pruning and offloading replace tool results in place.
# - `ConfirmationHook` (before_tool) rewrites the model's message: rejected calls get a copy of the message and an
#   error result, confirmed (or modified) calls move to a new last message, which is what runs.
# - `ToolResultOffloadHook` (after_tool) moves large fresh results to a store, leaving a reference and a preview.
#
# ## Next
#
# - `06_async_hooks`: hooks in `run_async`, what blocks the event loop, many runs at once.
# - `07_real_models`: the same on a real model, and what a small one does with injected instructions.
