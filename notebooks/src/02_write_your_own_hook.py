# Source of notebooks/02_write_your_own_hook.ipynb; build with `python notebooks/build.py 02`.

# %% [markdown]
# # 02 · Write your own hook
#
# **Goal:** write correct hooks for a Haystack `Agent`: the rules of `State` that bite first, where a hook's change
# takes effect, how to keep a run going or end it, per-run objects, async hooks, and three hooks you will want in
# practice: a tool guardrail, a "require a tool" rule with a loop guard, and a memory hook on a real retriever.
# **Prerequisites:** Python; `01_quickstart` helps (the Recorder's timeline), but the first section needs no agent_nb.
# **Time:** about 45 minutes, with the exercises.
#
# Haystack's own pages: [Agent hooks](https://docs.haystack.deepset.ai/docs/hooks) (guide) and the
# [Hooks API reference](https://docs.haystack.deepset.ai/reference/hooks-api). Every rule below is demonstrated by
# a run and asserted in its cell (haystack 3.4, `haystack/components/agents/agent.py` and `haystack/hooks/`).

# %%
import asyncio
import inspect
import logging

import pandas as pd
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.components.generators.chat.mock import MockChatGenerator
from haystack.dataclasses import ChatMessage, ChatRole
from haystack.hooks import hook
from haystack.tools import tool

from agent_nb.demo import ScriptedChatGenerator

pd.set_option("display.max_colwidth", 90)
pd.set_option("display.width", 200)
logging.getLogger("haystack").setLevel(logging.ERROR)  # max_agent_steps warnings: the cells say it themselves

# %% [markdown]
# ## 1. A plain Agent with one hook
#
# A hook is an object with a `run(state)` method; the `@hook` decorator turns a function that takes one parameter
# **annotated `State`** into one. You register hooks per point: `hooks={"before_llm": [...], "on_exit": [...]}`.
# The hook gets the Agent's live `State` and acts only by changing it.
#
# Nothing from agent_nb but the offline chat model (`ScriptedChatGenerator`, a small rule-based model that answers
# arithmetic with the `add` tool; put `OpenAIChatGenerator()` there for a real one):

# %%
@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


calls: list[str] = []


@hook
def log_step(state: State) -> None:
    """before_llm: note the step and how many messages the model is about to see."""
    calls.append(f"step {state.data['step_count']}: {len(state.data['messages'])} messages")


agent = Agent(chat_generator=ScriptedChatGenerator(), tools=[add], hooks={"before_llm": [log_step]})
result = agent.run([ChatMessage.from_user("What is 2 + 3?")])

print(result["last_message"].text)
print("exit_reason:", result["exit_reason"], "| step_count:", result["step_count"])
print(calls)
assert result["last_message"].text == "2 + 3 = 5." and calls == ["step 0: 1 messages", "step 1: 3 messages"]

# %% [markdown]
# Two steps: at step 0 the model sees the user's message and calls `add`; at step 1 it sees the message, its call and
# the tool result, and answers. The hook ran before each LLM call. The result is a dict: `messages`,
# `last_message`, `exit_reason`, `step_count`, `token_usage`, `tool_call_counts`.
#
# ## 2. The same run under the Recorder
#
# `Recorder(agent)` runs a clone of the same Agent and records every hook call, LLM call and tool call, with the
# State before and after each. From here on we read runs off its timeline.

# %%
from agent_nb import Recorder, demo_agent

calls.clear()
run = Recorder(agent).run("What is 2 + 3?")
print(run.describe())
assert run.final_answer == result["last_message"].text and len(calls) == 2
run.timeline[["seq", "step", "kind", "hook_point", "name", "summary"]]

# %% [markdown]
# ## 3. `State`: three rules that bite
#
# **Rule 1: `state.set("messages", x)` appends.** Every State key has a *handler* that merges a new value into the
# old one. Lists (and `messages`) default to `merge_lists`: `set` **adds** `x` to the list. To replace the list,
# pass `handler_override=replace_values`.
#
# **Rule 2: `state.get(key)` returns a deep copy; `state.data[key]` is the live value.** Changing what `get` returned
# changes nothing; changing `state.data[...]` in place changes the run (without the handler).

# %%
state = State(schema={"messages": {"type": list[ChatMessage]}}, data={"messages": [ChatMessage.from_user("hi")]})

state.set("messages", [ChatMessage.from_system("note")])
print("after set:         ", [m.text for m in state.data["messages"]])
assert [m.text for m in state.data["messages"]] == ["hi", "note"]  # appended

state.set("messages", [ChatMessage.from_user("hi")], handler_override=replace_values)
print("after replace:     ", [m.text for m in state.data["messages"]])
assert [m.text for m in state.data["messages"]] == ["hi"]  # replaced

copy = state.get("messages")
copy.append(ChatMessage.from_system("lost"))
print("after get+append:  ", [m.text for m in state.data["messages"]])
assert len(state.data["messages"]) == 1  # the copy was changed, not the State

# %% [markdown]
# The classic bug combines both rules: read the list, insert a message, and `set` it back. The whole conversation is
# appended to itself:

# %%
@hook
def buggy_note(state: State) -> None:
    """before_llm: insert a note after the system prompt... and append the whole list again."""
    messages = state.get("messages")
    messages.insert(1, ChatMessage.from_system("The user is in Lima."))
    state.set("messages", messages)  # BUG: appends; needs handler_override=replace_values


bug = Recorder(demo_agent(hooks={"before_llm": [buggy_note]}, max_agent_steps=1)).run("What is 2 + 3?")
print(bug.diff(0))
before, after = bug.state_at(0)["messages"], bug.state_at(0, when="after")["messages"]
assert len(after) == 2 * len(before) + 1  # the conversation, doubled, plus the note

# %% [markdown]
# The fix is `state.set("messages", messages, handler_override=replace_values)`; and a hook that runs at every step
# must also check that its note is not there already (see exercise 1).
#
# **Rule 3: only the keys of the schema exist.** The Agent adds `messages`, `step_count`, `token_usage`,
# `tool_call_counts`, `exit_reason`, the control keys `continue_run`, `stop_run`, `tools`, `hook_context`, and
# `context_tokens` (the approximate size of the context window, refreshed after each LLM call: a `before_llm` hook can
# read it to decide to compact, notebook 08); your own keys come from `Agent(state_schema=...)` (the demo agent declares
# `user_profile` and `notes`). Setting an unknown key raises. `stop_run` is declared but never initialised: read it
# with `state.data.get("stop_run")`.

# %%
seen_keys = {}


@hook
def keys_at_start(state: State) -> None:
    """before_run: which keys exist before step 0."""
    seen_keys.update(stop_run_present="stop_run" in state.data, keys=sorted(state.data))


demo_agent(hooks={"before_run": [keys_at_start]}).run([ChatMessage.from_user("Hello!")])
print(seen_keys["keys"])
assert not seen_keys["stop_run_present"]
agent_keys = {"messages", "step_count", "token_usage", "tool_call_counts", "exit_reason"}
control_keys = {"continue_run", "tools", "hook_context", "context_tokens"}  # stop_run: declared, not initialised
assert agent_keys | control_keys == set(seen_keys["keys"])  # user_profile and notes: declared, set later

# %% [markdown]
# ## 4. The pattern hooks of `agent_nb.demo`, in full
#
# The demo hooks used in these notebooks are ordinary Haystack hooks. `inject_date` (before_llm, a `@hook` function)
# keeps exactly one "Today is ..." system message; the helper it shares with the other context hooks replaces the
# message list only when something changes:

# %%
from agent_nb.demo import hooks as demo_hooks

print(inspect.getsource(demo_hooks.inject_date.function))
print(inspect.getsource(demo_hooks._ensure_once))

# %% [markdown]
# `RequireToolHook` (on_exit, a class): the "require a tool" pattern, with its loop guard (it counts its reminders in
# the run's messages, so the hook object holds no per-run state):

# %%
print(inspect.getsource(demo_hooks.RequireToolHook.run))

# %% [markdown]
# (`04_patterns` prints the others: `inject_user_profile`, `MemoryRetrievalHook`, `LLMJudgeHook`.)
#
# ## 5. `before_tool`: only the last message's tool calls run
#
# After the `before_tool` hooks, the Agent re-reads the **last** message of `messages` and runs the tool calls it
# holds. That is how a hook edits, drops or rejects calls, and also a trap: a hook that appends any message after the
# model's tool calls (say, an audit note) leaves a last message without tool calls, so *nothing* runs, and the model
# is asked again (the scripted model of these notebooks tolerates that; a real provider does not, see below).

# %%
@hook
def audit_note(state: State) -> None:
    """before_tool: append a note (a bug: the note becomes the last message)."""
    state.set("messages", [ChatMessage.from_system("Tool calls are audited.")])


audited = Recorder(demo_agent(hooks={"before_tool": [audit_note]}, max_agent_steps=3)).run("What is 2 + 3?")
print(audited.describe())
assert audited.usage["tool_calls"] == 0 and audited.final_answer == "I could not run add."
audited.timeline[["seq", "step", "kind", "hook_point", "name", "summary"]]

# %% [markdown]
# Two identical requests for `add`, no tool row at all, and the (scripted) model gives up: "I could not run add.".
# Put notes *before* the assistant message, or log elsewhere (a logger, the Recorder).
#
# ### The provider rule: each tool call gets exactly one result, right after it
#
# The scripted model reads any list of messages. OpenAI-style APIs do not: they answer HTTP 400 when an assistant
# message with tool calls is not followed by exactly one tool result per call before any other message, or when a
# tool result answers no call of the assistant message just before it (an "orphan" result). Every hook that edits
# `messages` around tool calls (guardrails, compaction, notes) must keep that shape. The audit note above breaks it:
# the `add` call is followed by a system message, never by its result. `solutions/checks.py` has
# `pairing_problems(messages)`, which lists what breaks the rule:

# %%
from solutions.checks import pairing_problems

print(pairing_problems(audited.result["messages"])[0])
assert pairing_problems(audited.result["messages"])
assert pairing_problems(Recorder(demo_agent()).run("What is 2 + 3?").result["messages"]) == []  # the normal shape

# %% [markdown]
# So a guardrail may only rewrite the last assistant message into this shape: the refused calls in an assistant
# message, one error result for each right after it, then (the new last message) an assistant message with the calls
# that may run; their results follow once they ran.
#
# ### A guardrail that drops a dangerous call
#
# Say `search` hits an external service this deployment must not use. The model asks for `search` and `add` in one
# message. The first version drops the call: it replaces the last message by a copy without it.

# %%
TASK = "Look up continue_run. What is 2 + 3?"


@hook
def drop_search(state: State) -> None:
    """before_tool: remove every search call from the model's message (silently)."""
    messages = state.data["messages"]
    last = messages[-1]
    allowed = [c for c in last.tool_calls if c.tool_name != "search"]
    if len(allowed) < len(last.tool_calls):
        new_last = ChatMessage.from_assistant(last.text, tool_calls=allowed)
        state.set("messages", [*messages[:-1], new_last], handler_override=replace_values)


dropped = Recorder(demo_agent(hooks={"before_tool": [drop_search]}, max_agent_steps=5)).run(TASK)
print(dropped.describe())
assert dropped.exit_reason == "max_agent_steps" and "search" not in set(dropped.timeline["name"])
dropped.timeline.query("kind != 'hook'")[["seq", "step", "kind", "name", "summary"]]

# %% [markdown]
# `add` ran, `search` never did, and yet the run looped to `max_agent_steps`: the model was never told, so it asked for
# `search` again at every step. A guardrail must *answer* the refused call. `haystack.hooks.human_in_the_loop`'s
# `ConfirmationHook` does it this way for a rejection: the assistant message is replaced by a copy holding only the
# refused call, followed by an error tool result, then a new assistant message with the allowed calls (the last
# message, so those run):

# %%
@hook
def block_search(state: State) -> None:
    """before_tool: refuse every search call with an error result; the other calls run."""
    messages = state.data["messages"]
    last = messages[-1]
    blocked = [c for c in last.tool_calls if c.tool_name == "search"]
    if not blocked:
        return
    allowed = [c for c in last.tool_calls if c.tool_name != "search"]
    new = [*messages[:-1], ChatMessage.from_assistant(last.text, tool_calls=blocked)]
    new += [ChatMessage.from_tool("Blocked: search is disabled here", origin=c, error=True) for c in blocked]
    if allowed:
        new.append(ChatMessage.from_assistant(tool_calls=allowed))
    state.set("messages", new, handler_override=replace_values)


guarded = Recorder(demo_agent(hooks={"before_tool": [block_search]}, max_agent_steps=5)).run(TASK)
print(guarded.describe(), "|", guarded.final_answer)
assert guarded.exit_reason == "text" and guarded.steps == 2
assert pairing_problems(guarded.result["messages"]) == []  # every call has its one result, right after it
print(guarded.diff(1))

# %% [markdown]
# ## 6. Keep going or stop: `continue_run`, `stop_run`, `exit_reason`
#
# - `on_exit` hooks run when the run is about to end: after a text reply, or after a tool named in `exit_conditions`
#   ran (also after `length` / `content_filter` replies). `state.data["exit_reason"]` says which. To keep the run
#   going, `state.set("continue_run", True)` and add a message that says what is missing.
# - `max_agent_steps` wins: a `continue_run` set at the last allowed step is overridden, the run ends with
#   `exit_reason="max_agent_steps"`.
# - `stop_run` (any hook) is read at one place only: right after the `before_llm` hooks of a step. It ends the run
#   there, if a next step comes: set in `on_exit` without `continue_run` it is lost (the run ends with the exit reason
#   it had); set at the last allowed step, `max_agent_steps` ends the run first. Haystack never resets it.
#
# ### Require a tool, with a loop guard
#
# The rule "do not finish before saving a note", only for text exits (`exit_reason == "text"`), reminding at most
# twice. The count lives in the run's messages, not in the hook object, so it starts at zero on every run:

# %%
REMINDER = "You must call `save_note` before finishing."


@hook
def require_note(state: State) -> None:
    """on_exit: after a text answer, ask for save_note (at most twice per run)."""
    if state.data["exit_reason"] != "text" or (state.data.get("tool_call_counts") or {}).get("save_note"):
        return
    if sum(1 for m in state.data["messages"] if m.text == REMINDER) >= 2:
        return  # the loop guard: a model that does not comply is let go
    state.set("messages", [ChatMessage.from_system(REMINDER)])
    state.set("continue_run", True)


complied = Recorder(demo_agent(hooks={"on_exit": [require_note]})).run("What is 2 + 3?")
stubborn_agent = Agent(chat_generator=MockChatGenerator("Done."), tools=[add], hooks={"on_exit": [require_note]})
stubborn = Recorder(stubborn_agent).run("What is 2 + 3?")
print("complying model:", complied.describe())
print("stubborn model: ", stubborn.describe())
assert complied.result["tool_call_counts"]["save_note"] == 1 and complied.exit_reason == "text"
assert stubborn.exit_reason == "text" and stubborn.steps == 3  # two reminders, then let go
capped = Recorder(demo_agent(hooks={"on_exit": [require_note]}, max_agent_steps=2)).run("What is 2 + 3?")
print("max_agent_steps=2:", capped.describe())
assert capped.exit_reason == "max_agent_steps"  # continue_run at the last allowed step: max_agent_steps wins

# %% [markdown]
# Without the guard the stubborn run would go on to `max_agent_steps` (100 by default), one LLM call per step.
#
# ### `stop_run` stays set
#
# Haystack resets `continue_run` before every `on_exit`, but never touches `stop_run`: once a hook sets it, the run
# ends after the next `before_llm` hooks, unless a hook clears it (`state.set("stop_run", None)`) before then.

# %%
@hook
def stop_after_tools(state: State) -> None:
    """after_tool: request a stop."""
    state.set("stop_run", "tools_done")


stop_seen = []


@hook
def watch_stop(state: State) -> None:
    """before_llm: what stop_run reads."""
    stop_seen.append((state.data["step_count"], state.data.get("stop_run")))


@hook
def cancel_stop(state: State) -> None:
    """before_llm: take the stop back."""
    state.set("stop_run", None)


kept = demo_agent(hooks={"after_tool": [stop_after_tools], "before_llm": [watch_stop]})
kept_exit = kept.run([ChatMessage.from_user("What is 2 + 3?")])["exit_reason"]
print("kept:     ", kept_exit, stop_seen)
assert kept_exit == "tools_done" and stop_seen == [(0, None), (1, "tools_done")]
stop_seen.clear()
cancelled = demo_agent(hooks={"after_tool": [stop_after_tools], "before_llm": [watch_stop, cancel_stop]})
cancelled_exit = cancelled.run([ChatMessage.from_user("What is 2 + 3?")])["exit_reason"]
print("cancelled:", cancelled_exit, stop_seen)
assert cancelled_exit == "text" and stop_seen == [(0, None), (1, "tools_done")]  # still set when the next step began: only cancel_stop cleared it

# %% [markdown]
# When no next step comes, `stop_run` is never read: set in `on_exit` without `continue_run` the run ends as it would
# have (`"text"`), and set in `after_tool` at the last allowed step the run ends with `"max_agent_steps"`. Notebook 03
# (section 4) shows every case on the timeline.

# %%
@hook
def stop_on_exit(state: State) -> None:
    """on_exit: request a stop (without continue_run, there is no next before_llm to read it)."""
    state.set("stop_run", "from_on_exit")


lost = demo_agent(hooks={"on_exit": [stop_on_exit]}).run([ChatMessage.from_user("What is 2 + 3?")])
last_step = demo_agent(hooks={"after_tool": [stop_after_tools]}, max_agent_steps=1).run(
    [ChatMessage.from_user("What is 2 + 3?")]
)
print("on_exit:", lost["exit_reason"], "| after_tool at the last step:", last_step["exit_reason"])
assert lost["exit_reason"] == "text" and last_step["exit_reason"] == "max_agent_steps"

# %% [markdown]
# ## 7. Per-run objects: `hook_context`
#
# A hook object is shared by every run of the Agent (and by concurrent runs). Per-run objects (a user id, a request
# trace, a client with a lock) go in `agent.run(..., hook_context={...})`; hooks read `state.data["hook_context"]`.
# It is never serialized or snapshotted (the Recorder leaves it out of its State copies).

# %%
@hook
def trace_llm(state: State) -> None:
    """before_llm: append to this run's own trace."""
    state.data["hook_context"]["trace"].append(state.data["step_count"])


traced = demo_agent(hooks={"before_llm": [trace_llm]})
first, second = {"trace": []}, {"trace": []}
traced.run([ChatMessage.from_user("What is 2 + 3?")], hook_context=first)
traced.run([ChatMessage.from_user("Hello!")], hook_context=second)
print(first, second)
assert first == {"trace": [0, 1]} and second == {"trace": [0]}

# %% [markdown]
# ## 8. `allowed_hook_points`: say where a hook may run
#
# A hook class may declare `allowed_hook_points`; the Agent checks it when it is built and refuses a hook registered
# elsewhere. `RequireToolHook` only makes sense at `on_exit`:

# %%
from agent_nb.demo import RequireToolHook

print(RequireToolHook.allowed_hook_points)
try:
    demo_agent(hooks={"before_llm": [RequireToolHook("save_note")]})
except ValueError as exc:
    print("ValueError:", exc)
else:
    raise AssertionError("the Agent accepted a hook at a point it does not allow")

# %% [markdown]
# ## 9. Async hooks
#
# In `agent.run_async(...)` the Agent awaits `hook.run_async(state)` when the hook has one, else it runs `hook.run`
# in a worker thread. `@hook` on an `async def` gives a hook with only `run_async` (a sync run then raises). A class
# hook may define `run_async`, and `warm_up_async` / `close_async` for async resources (the Agent awaits them from
# `agent.warm_up_async()`, called by every `run_async`, and `agent.close_async()`). Notebook 06 measures what this
# means for the event loop.

# %%
@hook
async def async_note(state: State) -> None:
    """before_llm, async: await something (a user service, say), then add a note once."""
    await asyncio.sleep(0)
    if not any(m.text == "Async note." for m in state.data["messages"]):
        state.set("messages", [ChatMessage.from_system("Async note.")])


class AsyncClientHook:
    """A class hook with an async resource: opened in warm_up_async, used in run_async, released in close_async."""

    allowed_hook_points = ("before_run",)

    def __init__(self) -> None:
        self.client: object | None = None
        self.events: list[str] = []

    async def warm_up_async(self) -> None:
        if self.client is None:  # warm-up runs before every run: open once
            self.client = object()
            self.events.append("warm_up_async")

    def run(self, state: State) -> None:  # what a sync run would call
        self.events.append("run")

    async def run_async(self, state: State) -> None:
        await asyncio.sleep(0)
        self.events.append("run_async")

    async def close_async(self) -> None:
        self.client = None
        self.events.append("close_async")


client_hook = AsyncClientHook()
async_agent = demo_agent(hooks={"before_run": [client_hook], "before_llm": [async_note]})
res = await async_agent.run_async([ChatMessage.from_user("What is 2 + 3?")])
await async_agent.run_async([ChatMessage.from_user("Hello!")])
await async_agent.close_async()
print(client_hook.events)
assert client_hook.events == ["warm_up_async", "run_async", "run_async", "close_async"]
assert sum(m.text == "Async note." for m in res["messages"]) == 1
try:
    demo_agent(hooks={"before_llm": [async_note]}).run([ChatMessage.from_user("Hello!")])
except RuntimeError as exc:
    print("sync run of an async-only @hook:", str(exc)[:80], "...")

# %% [markdown]
# ## 10. A memory hook on a real retriever
#
# Memories are documents; a `before_run` hook retrieves those relevant to the task and adds them as a system message
# before the first LLM call. Here with Haystack's own `InMemoryDocumentStore` and `InMemoryBM25Retriever`, built and
# filled in `warm_up` (the Agent calls it before every run: build once) so the hook's constructor stays cheap and
# serializable. A vector store and an embedding retriever plug in the same way.

# %%
from haystack import Document
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.document_stores.in_memory import InMemoryDocumentStore


class BM25MemoryHook:
    """before_run: add the memories BM25 finds for the task as one "Relevant memories: ..." system message."""

    allowed_hook_points = ("before_run",)

    def __init__(self, memories: list[str], top_k: int = 2) -> None:
        self.memories = memories
        self.top_k = top_k
        self.retriever: InMemoryBM25Retriever | None = None

    def warm_up(self) -> None:
        if self.retriever is not None:
            return
        store = InMemoryDocumentStore()
        store.write_documents([Document(content=text) for text in self.memories])
        self.retriever = InMemoryBM25Retriever(document_store=store, top_k=self.top_k)

    def run(self, state: State) -> None:
        messages = state.data["messages"]
        task = next((m.text for m in reversed(messages) if m.is_from(ChatRole.USER) and m.text), "")
        found = self.retriever.run(query=task)["documents"]
        if found:
            note = ChatMessage.from_system("Relevant memories: " + " ".join(d.content for d in found))
            at = 1 if messages and messages[0].is_from(ChatRole.SYSTEM) else 0
            state.set("messages", [*messages[:at], note, *messages[at:]], handler_override=replace_values)


memory = BM25MemoryHook(["The user's home is Lima: the user lives in Lima.", "For weather, the user likes Celsius.",
                         "The user has a cat named Tom."])  # fmt: skip
rec = Recorder(demo_agent(hooks={"before_run": [memory]}))
recalled = rec.run("What's the weather at home?")
print("with memories:   ", recalled.final_answer)
print(recalled.diff(0))
assert "Lima" in recalled.final_answer and "cat" not in str(recalled.diff(0))
forgotten = rec.run("What's the weather at home?", hooks={"before_run": {"BM25MemoryHook": False}})
print("without memories:", forgotten.final_answer)
assert "Lima" not in (forgotten.final_answer or "")

# %% [markdown]
# ## Exercises
#
# Write each hook in the cell, then uncomment the check: it runs your hook on the offline model and says what is
# wrong, or "OK".
# The reference solutions are not on this page: they are in [`solutions/nb02.py`](solutions/nb02.py) (open it once
# you have tried; the checkers are in [`solutions/checks.py`](solutions/checks.py)).
#
# **Exercise 1: a context hook.** Write `inject_city`, a `before_llm` hook that adds the system message
# `"The user is in Lima."` right after the system prompt, exactly once per run (it runs at every step), without
# duplicating the conversation.

# %%
from solutions.checks import check_context_hook, check_guardrail, check_require_tool


@hook
def inject_city(state: State) -> None:
    """before_llm: tell the model where the user is, once."""
    ...  # your code


# check_context_hook(inject_city)   # <- uncomment to check

# %% [markdown]
# **Exercise 2: require a tool, with a loop guard.** Write `require_save_note`, an `on_exit` hook that keeps the run
# going until `save_note` has been called, and gives up after two reminders. The checker runs it twice with the same
# hook object, and once with a model that never calls a tool.

# %%
@hook
def require_save_note(state: State) -> None:
    """on_exit: no finishing before save_note ran; at most two reminders."""
    ...  # your code


# check_require_tool(require_save_note)   # <- uncomment to check

# %% [markdown]
# **Exercise 3: a guardrail.** Write `no_search`, a `before_tool` hook that keeps every `search` call from running,
# tells the model so, and lets the other calls of the same message run in the same step. The conversation must keep
# the provider rule of section 5 at every LLM call: each call gets exactly one result, right after it. (Try the
# silent version first, and watch the checker explain why it is not enough.)

# %%
@hook
def no_search(state: State) -> None:
    """before_tool: refuse search calls."""
    ...  # your code


# check_guardrail(no_search)   # <- uncomment to check

# %% [markdown]
# ## Key takeaways
#
# - A hook is `run(state)` (or `@hook` on a function whose one parameter is annotated `State`), registered per point.
# - `state.set(key, list)` appends; replace with `handler_override=replace_values`. `state.get` copies,
#   `state.data` is live.
# - Only the last message's tool calls run after `before_tool`: rewrite that message, and answer refused calls with
#   an error tool result, or the model asks again. Real providers also hold you to the pairing rule: each tool call
#   gets exactly one result, right after it.
# - `continue_run` needs a message and a loop guard kept in the run's State; `max_agent_steps` overrides it.
#   `stop_run` ends the run right after the next `before_llm` hooks, if a next step comes (not from `on_exit`
#   without `continue_run`, nor at the last allowed step); it is never reset.
# - Per-run objects go in `hook_context`; `allowed_hook_points` guards registration; resources open in `warm_up`
#   (idempotent) and close in `close` (`*_async` variants for async runs).
#
# ## Next
#
# - `03_hook_points`: the loop in detail: when each point fires, `step_count` at each, how a run ends.
# - `04_patterns`: run-time context, memories, a required tool, an LLM judge, one hook at two points.
# - `13_developing_a_hook`: a workflow for developing a hook against recorded runs.
