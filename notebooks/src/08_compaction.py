# Source of notebooks/08_compaction.ipynb; build with `python notebooks/build.py 08`.
# A notebook of its own, not a section of 05: 05 configures haystack's CompactionHook; this one writes the parts
# yourself (a compactor, then a whole hook), which needs 02's State rules and provider rule, and has an exercise.

# %% [markdown]
# # 08 · Writing a compaction hook
#
# **Goal:** write your own context compaction: a *compactor* that plugs into haystack's `CompactionHook`, then a whole
# `before_llm` hook that decides when to compact, keeps what must stay together, writes the new conversation back
# and refreshes `context_tokens`.
# **Prerequisites:** `02_write_your_own_hook` (the State rules, the provider rule), `05_builtin_hooks` (haystack's
# compactors, configured). **Time:** about 20 minutes.
#
# Haystack's pages: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api). The source this notebook follows is
# `haystack/hooks/compaction/` (`types/protocol.py` for the protocol, `hooks.py` for the hook).
#
# A compaction hook has four jobs:
#
# 1. **When**: at `before_llm`, once the context is large. The Agent keeps `state.data["context_tokens"]`, the size of
#    the last LLM call (prompt + completion, as the provider reported it), refreshed after each LLM call.
# 2. **What stays together**: the system prompt, the user's task, and every assistant message with tool calls
#    *together with all its results* (02's provider rule: each call gets exactly one result, right after it). Drop
#    whole steps, never half of one; keep the most recent step, which the model is about to answer.
# 3. **Write back** with `handler_override=replace_values`: a plain `state.set("messages", x)` appends `x`.
# 4. **Refresh `context_tokens`**: the Agent updates it only after the next LLM call, so until then every later hook
#    (a second compaction hook, a budget) reads the size from *before* compaction.

# %%
import inspect
import logging
import warnings

import pandas as pd
from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.dataclasses import ChatMessage, ChatRole
from haystack.hooks import hook
from haystack.hooks.compaction import CompactionHook
from haystack.hooks.compaction.types import Compactor
from haystack.token_counters import ApproximateTokenCounter, TokenCounter

from agent_nb import Recorder, demo_agent
from agent_nb.recording.diff import message_text
from solutions.checks import pairing_problems

warnings.filterwarnings("ignore", message=".*experimental.*", category=UserWarning)  # CompactionHook says it is
# CompactionHook warns that its approximate counter (4 characters a token) overestimates the scripted model's tokens
logging.getLogger("haystack").setLevel(logging.ERROR)
pd.set_option("display.max_colwidth", 90)
pd.set_option("display.width", 200)

TASK = "Look up continue_run and stop_run. What is the weather in Paris and Tokyo? Then save a note."
COLS = ["seq", "step", "kind", "name", "summary"]


def show(messages: list[ChatMessage]) -> None:
    """One line per message."""
    for i, m in enumerate(messages):
        print(f"{i:2d} {m.role.value:9s} {message_text(m, limit=90)}")


# %% [markdown]
# ## 1. The conversation to compact
#
# The task takes three steps on the scripted model: one reply with three tool calls (search and two weather calls),
# then `save_note`, then the answer. Here is what the model reads at its last call, and how `context_tokens` grows:

# %%
base = Recorder(demo_agent(hooks=None)).run(TASK)
last_llm = int(base.timeline.query("kind == 'llm'")["seq"].iloc[-1])
show(base.state_at(last_llm)["messages"])
llm_rows = base.timeline.query("kind == 'llm'")
print("context_tokens after each LLM call:", [base.state_at(int(s), when="after")["context_tokens"] for s in llm_rows.seq])
assert base.steps == 3 and pairing_problems(base.result["messages"]) == []

# %% [markdown]
# Messages 2 to 5 are one unit: the assistant message holding three calls, then their three results. Messages 6 and
# 7 are another. A compactor may drop a unit, never part of one.
#
# ## 2. The `Compactor` protocol
#
# `CompactionHook` decides *when* (its `compact_at` fraction of `context_window`) and writes the result back; a
# compactor decides *what*. Any object with `compact(messages, target_tokens, token_counter)` (and `compact_async`,
# `to_dict`) is one. Haystack's docstring states three rules:

# %%
doc = inspect.getdoc(Compactor)
print(doc[doc.index("Implementations must") : doc.index("`target_tokens` is a goal")])

# %% [markdown]
# `KeepLastSteps` keeps the head of the conversation (the system prompt and everything up to the user's task), drops
# the oldest whole steps (a step starts at an assistant message and runs to the next one, so its tool results go with
# it), keeps the last `keep` steps, and says what it dropped in a user message worded like haystack's sliding window
# (the scripted model knows that note: it answers from what is left instead of calling the lost tools again). It
# ignores `target_tokens`: that is a goal (rule text above), and a step is the smallest unit it can drop.

# %%
OMITTED = "[{n} earlier messages were removed from this conversation to free up context and cannot be recovered.]"


class KeepLastSteps:
    """A Compactor: keep the system messages, the task and the last `keep` steps; drop older steps whole."""

    def __init__(self, keep: int = 1) -> None:
        self.keep = keep

    def compact(
        self, messages: list[ChatMessage], target_tokens: int, token_counter: TokenCounter
    ) -> list[ChatMessage] | None:
        task_at = next((i for i, m in enumerate(messages) if m.is_from(ChatRole.USER)), None)
        if task_at is None:
            return None
        head, rest = messages[: task_at + 1], messages[task_at + 1 :]
        starts = [i for i, m in enumerate(rest) if m.is_from(ChatRole.ASSISTANT)]  # a step starts at its reply
        if len(starts) <= self.keep:
            return None  # rule 1: None unless the conversation gets smaller
        cut = starts[-self.keep]
        note = ChatMessage.from_user(OMITTED.format(n=cut))  # haystack's sliding-window wording
        return [*head, note, *rest[cut:]]  # rule 2: a new list, `messages` untouched

    async def compact_async(
        self, messages: list[ChatMessage], target_tokens: int, token_counter: TokenCounter
    ) -> list[ChatMessage] | None:
        return self.compact(messages, target_tokens, token_counter)

    def to_dict(self) -> dict:
        return {"type": f"{__name__}.KeepLastSteps", "init_parameters": {"keep": self.keep}}


conversation = base.state_at(last_llm)["messages"]
shorter = KeepLastSteps(1).compact(conversation, 0, ApproximateTokenCounter())
show(shorter)
assert pairing_problems(shorter) == [] and shorter[-2:] == conversation[-2:]

# %% [markdown]
# Plugged into haystack's hook, with a small window (200 tokens, compact at 50 %) so it triggers at the last step:

# %%
compaction = CompactionHook(KeepLastSteps(1), context_window=200, compact_at=0.5, compact_to=0.3)
plugged = Recorder(demo_agent(hooks={"before_llm": [compaction]})).run(TASK)
print(plugged.describe())
print(plugged.final_answer)
for seq in plugged.timeline.query("kind == 'llm'")["seq"]:
    assert pairing_problems(plugged.state_at(int(seq))["messages"]) == []  # every LLM input keeps the pairs
acted = plugged.timeline.query("name == 'CompactionHook' and summary != 'no change'")
assert len(acted) == 1
plugged.timeline[COLS]

# %%
seq = int(acted["seq"].iloc[0])
before, after = plugged.state_at(seq), plugged.state_at(seq, when="after")
print(f"messages {len(before['messages'])} -> {len(after['messages'])}; "
      f"context_tokens {before['context_tokens']} -> {after['context_tokens']}")
assert after["context_tokens"] < before["context_tokens"]  # CompactionHook refreshed it (hooks.py, _apply)

# %% [markdown]
# The model lost the search result and the weather: compaction trades context for room. `CompactionHook` also
# refreshed `context_tokens` after writing the messages back: its own estimate (messages through the last assistant
# message, counted by `ApproximateTokenCounter`, plus the overhead it estimated), not the provider's count.
#
# ## 3. Three ways to get it wrong
#
# **Cutting through a step.** "Keep the last four messages" reads well and breaks the provider rule: the cut lands
# between the three-call message and its results, leaving results that answer no call.

# %%
def keep_last_messages(messages: list[ChatMessage], n: int = 4) -> list[ChatMessage]:
    """A naive compaction: the system prompt and the task, then the last n messages."""
    return [*messages[:2], *messages[-n:]]


naive = keep_last_messages(conversation)
show(naive)
print(pairing_problems(naive)[0])
assert pairing_problems(naive)

# %% [markdown]
# **Appending instead of replacing.** A hook that writes `state.set("messages", compacted)` without
# `handler_override=replace_values` appends the compacted list to the old one: the conversation grows. (02, rule 2.)
#
# **A stale `context_tokens`.** A hook that writes the messages back but not the size leaves `context_tokens` at its
# old value until the next LLM call. A second `before_llm` hook, here a probe, reads the stale number:

# %%
sizes: list[tuple[int, int, int]] = []


@hook
def compact_without_refresh(state: State) -> None:
    """before_llm: compact at 100 tokens, forgetting context_tokens."""
    if (state.data.get("context_tokens") or 0) >= 100:
        compacted = KeepLastSteps(1).compact(state.data["messages"], 0, ApproximateTokenCounter())
        if compacted is not None:
            state.set("messages", compacted, handler_override=replace_values)


@hook
def read_size(state: State) -> None:
    """before_llm, after the compaction hook: what a budget or a second compactor would read."""
    messages = state.data["messages"]
    sizes.append((state.data["step_count"], len(messages), state.data.get("context_tokens") or 0))


demo_agent(hooks={"before_llm": [compact_without_refresh, read_size]}).run([ChatMessage.from_user(TASK)])
print("(step, messages, context_tokens) read after the compaction hook:", sizes)
step, n_messages, stale = sizes[-1]
assert n_messages == 5 and stale >= 100  # 5 messages, yet the size before compaction

# %% [markdown]
# A budget hook placed after it would stop a run that has room again; a second compaction hook would compact again.
# Refresh it with the same counter you compact with: `state.set("context_tokens", counter.count(messages=compacted))`
# (haystack's hook also adds the overhead of tool schemas it estimated; an approximation is fine for a threshold).
#
# ## Exercise
#
# The reference solution is not on this page: it is in [`solutions/nb08.py`](solutions/nb08.py) (open it once you
# have tried; the checker is in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: your own compaction hook.** Write a `before_llm` hook (a class or `@hook`), without `CompactionHook`,
# that once `context_tokens` reaches 100 replaces the conversation by what `KeepLastSteps(1)` returns, and refreshes
# `context_tokens`. The checker runs it on `TASK` and checks at every step: nothing compacted below 100 tokens, the
# conversation does not grow, the system prompt, the task and the last step are kept, every call keeps its results,
# and `context_tokens` reads the new size.

# %%
from solutions.checks import check_compaction_hook


class TrimContext:
    """before_llm: compact once context_tokens reaches 100."""

    def run(self, state: State) -> None:
        ...  # your code


# check_compaction_hook(TrimContext())   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - A compactor (`compact(messages, target_tokens, token_counter)`) decides *what*; `CompactionHook` decides *when*
#   and writes back. Return None unless the conversation gets smaller, and return a new list.
# - Keep the system prompt, the task and the last step; drop whole steps: an assistant message with tool calls and
#   all its results go together, or providers reject the conversation.
# - Write back with `handler_override=replace_values`, and refresh `context_tokens`: the Agent only updates it after
#   the next LLM call.
#
# ## Next
#
# - `10_ablation`: replay a run with a hook switched off, to see what it changes.
# - `13_developing_a_hook`: test a new version of a hook against recorded runs.
