"""
Checkers for the notebook exercises: each runs your answer on the offline scripted model and asserts its behaviour.

Every checker raises `AssertionError` with a hint when something is off, and prints one "OK" line when all is well.
They use only the public API (`Recorder`, `Run`, `demo_agent`) and haystack itself.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import json
import numbers
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from haystack.components.agents import Agent
from haystack.components.generators.chat.mock import MockChatGenerator
from haystack.dataclasses import ChatMessage, ChatRole, ToolCall
from haystack.hooks import FunctionHook
from haystack.hooks.human_in_the_loop import (
    AlwaysAskPolicy,
    BlockingConfirmationStrategy,
    ConfirmationHook,
)

from agent_nb import Recorder, Run, compare, demo_agent
from agent_nb.demo import NoteStore, ScriptedChatGenerator, demo_tools

__all__ = [
    "check_async_hook",
    "check_budget",
    "check_changed_answers",
    "check_compaction_hook",
    "check_context_hook",
    "check_continue_seq",
    "check_first_missing_step",
    "check_guardrail",
    "check_lifecycle_hook",
    "check_non_blocking_hook",
    "check_once_reminder",
    "check_quiet_ablation",
    "check_rejecting_ui",
    "check_repeated_calls",
    "check_require_tool",
    "check_rescue",
    "check_same_as_recorded",
    "check_step_counts",
    "check_step_limit",
    "check_without_require",
    "pairing_problems",
]

CITY_NOTE = "The user is in Lima."


def _hinted(check: Callable[..., Any]) -> Callable[..., Any]:
    """A checker whose answer raises says so as a hint (an AssertionError chained to the error), never crashes."""

    def hint(exc: Exception) -> AssertionError:
        return AssertionError(f"your answer raised {type(exc).__name__}: {exc} (the traceback above shows where)")

    if inspect.iscoroutinefunction(check):

        @functools.wraps(check)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await check(*args, **kwargs)
            except AssertionError:
                raise
            except Exception as exc:
                raise hint(exc) from exc

        return run_async

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except AssertionError:
            raise
        except Exception as exc:
            raise hint(exc) from exc

    return run


def _ok(text: str) -> None:
    print(f"OK: {text}")


def _texts(messages: list[ChatMessage], role: ChatRole) -> list[str]:
    return [m.text or "" for m in messages if m.is_from(role)]


def _is_hook(hook: Any) -> None:
    """A clear hint when the answer is not a hook yet (None, a plain function, a class instead of an instance)."""
    assert hook is not None, "give your hook (the answer is still None)"
    assert not isinstance(hook, type), f"give a hook object, not the class {hook.__name__}: add ()"
    assert callable(getattr(hook, "run", None)) or callable(getattr(hook, "run_async", None)), (
        f"{hook!r} is not a hook: decorate a function `def my_hook(state: State) -> None` with @hook, "
        "or give an object with a run(state) method"
    )


def _tool_rows(run: Run, name: str | None = None) -> Any:
    rows = run.timeline.query("kind == 'tool'")
    return rows if name is None else rows[rows["name"] == name]


# --- 01 quickstart -----------------------------------------------------------------------------------------------


def _as_int(value: Any, what: str) -> int:
    """`value` as an int: any integer type (a numpy integer from a DataFrame too), never a bool, float or str."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    assert ok, f"give the {what} as an integer (an int or a numpy integer), got {value!r} ({type(value).__name__})"
    return int(value)


@_hinted
def check_continue_seq(run: Run, seq: Any) -> None:
    """Exercise 01.1: `seq` is the event that set `continue_run` in `run`."""
    seq = _as_int(seq, "seq")
    rows = run.timeline[run.timeline["seq"] == seq]
    assert len(rows), f"the run has no event {seq}: seqs go from 0 to {int(run.timeline['seq'].max())}"
    row = rows.iloc[0]
    flow = row["flow"] if isinstance(row["flow"], str) else None  # an empty cell is NA, which has no truth value
    assert flow == "continue_run", (
        f"event {seq} ({row['name']}) did not set continue_run (its flow column reads {flow!r}): "
        "query the rows whose flow is 'continue_run'"
    )
    assert run.state_at(seq, when="after")["continue_run"] is True
    _ok(f"event {seq} is {row['name']} at {row['hook_point']}: it set continue_run")


@_hinted
def check_without_require(run: Run) -> None:
    """Exercise 01.2: `run` was recorded with RequireToolHook switched off."""
    assert isinstance(run, Run), f"give the recorded Run (what rec.run(...) returns), got {type(run).__name__}"
    rows = run.timeline.query("name == 'RequireToolHook'")
    assert len(rows), "RequireToolHook has no row: switch it off (it then shows as skipped), do not remove it"
    assert set(rows["status"]) == {"skipped"}, f"RequireToolHook ran: statuses {sorted(set(rows['status']))}"
    assert not len(_tool_rows(run, "save_note")), "save_note ran, so the hook was not what made it run"
    assert run.exit_reason == "text", f"the run should end on the first text answer, got {run.exit_reason!r}"
    _ok(f"RequireToolHook skipped, no note saved, {run.steps} steps instead of 4")


# --- 02 write your own hook --------------------------------------------------------------------------------------


@_hinted
def check_context_hook(hook: Any) -> None:
    """Exercise 02.1: a before_llm hook that adds the system message "The user is in Lima." once per run."""
    _is_hook(hook)
    rec = Recorder(demo_agent(hooks={"before_llm": [hook]}))
    for _ in range(2):  # twice with the same object: state kept on the hook object would show here
        run = rec.run("What is 2 + 3, and the weather in Paris?")
        assert run.status == "ok", f"the run failed: {run.describe()}"
        assert run.steps >= 2, "the task takes two steps (tools, then the answer)"
        final = run.result["messages"]
        users = _texts(final, ChatRole.USER)
        assert users.count("What is 2 + 3, and the weather in Paris?") == 1, (
            f"the user's message appears {len(users)} times: state.set('messages', x) APPENDS x; to replace the "
            "list pass handler_override=replace_values"
        )
        notes = [t for t in _texts(final, ChatRole.SYSTEM) if t == CITY_NOTE]
        assert len(notes) == 1, f"expected exactly one system message {CITY_NOTE!r}, found {len(notes)}"
        first_llm = int(run.timeline.query("kind == 'llm'")["seq"].iloc[0])
        seen = run.state_at(first_llm)["messages"]
        assert CITY_NOTE in _texts(seen, ChatRole.SYSTEM), "the model's first call did not see the note"
        assert _texts(seen, ChatRole.USER) == ["What is 2 + 3, and the weather in Paris?"], "keep the user's task"
        assert seen[0].is_from(ChatRole.SYSTEM) and "helpful assistant" in (seen[0].text or ""), (
            "keep the system prompt first: insert the note after it, do not replace it"
        )
        assert seen[1].is_from(ChatRole.SYSTEM) and seen[1].text == CITY_NOTE, (
            f"put the note right after the system prompt (index 1); the model saw it at index "
            f"{[m.text for m in seen].index(CITY_NOTE)} of {len(seen)}: build the new list as "
            "[system prompt, note, *the rest] and set it with handler_override=replace_values"
        )
    _ok("one note, seen by the first LLM call, not repeated at later steps, on two runs")


def _stubborn_agent(hook: Any, max_agent_steps: int = 10) -> Agent:
    """An Agent whose model always answers in text and never calls a tool."""
    return Agent(
        chat_generator=MockChatGenerator("I have nothing to save."),
        tools=demo_tools(),
        hooks={"on_exit": [hook]},
        max_agent_steps=max_agent_steps,
    )


@_hinted
def check_require_tool(hook: Any) -> None:
    """Exercise 02.2: an on_exit hook that makes the model call `save_note`, with a loop guard."""
    _is_hook(hook)
    rec = Recorder(demo_agent(hooks={"on_exit": [hook]}))
    for attempt in (1, 2):  # the same hook object twice: a counter kept on `self` breaks the second run
        run = rec.run("What is 2 + 3?")
        assert run.status == "ok", f"run {attempt} failed: {run.describe()}"
        assert len(_tool_rows(run, "save_note")) == 1, f"run {attempt}: save_note should run once"
        assert run.exit_reason == "text", f"run {attempt}: expected exit 'text', got {run.exit_reason!r}"
        flows = run.timeline.query("hook_point == 'on_exit'")["flow"].tolist()
        assert "continue_run" in flows, f"run {attempt}: the hook never set continue_run"
    stubborn = Recorder(_stubborn_agent(hook)).run("What is 2 + 3?")
    assert stubborn.exit_reason != "max_agent_steps", (
        "a model that never calls save_note looped until max_agent_steps: add a loop guard "
        "(count your reminders in state.data['messages'] and give up after 2)"
    )
    reminders = stubborn.timeline.query("hook_point == 'on_exit' and flow == 'continue_run'")
    assert len(reminders), (
        "a third run got no reminder at all: a count kept on the hook object (self) carries over between runs; "
        "count the reminders in this run's state.data['messages']"
    )
    assert 1 <= len(reminders) <= 3, f"give up after a few reminders, not {len(reminders)}"
    _ok(f"save_note called after a reminder (twice in a row); a stubborn model is let go after {len(reminders)}")


def pairing_problems(messages: list[ChatMessage]) -> list[str]:
    """What breaks the provider rule in `messages`: each tool call gets exactly one result, right after it.

    OpenAI-style APIs answer 400 to a conversation where an assistant message with tool calls is not followed by one
    result per call (before any other message), or where a tool result does not answer a call of the assistant
    message just before it. An empty list means the conversation is valid.
    """
    problems: list[str] = []
    open_calls: list[Any] = []  # calls of the last assistant message that still wait for their result
    for i, message in enumerate(messages):
        result = message.tool_call_result
        if result is not None:
            match = next((c for c in open_calls if c == result.origin), None)
            if match is None:
                problems.append(
                    f"message {i} is a result for {result.origin.tool_name} that answers no call of the assistant "
                    "message just before it (an orphan result: OpenAI-style APIs reject it with HTTP 400)"
                )
            else:
                open_calls.remove(match)
            continue
        if open_calls:
            names = ", ".join(c.tool_name for c in open_calls)
            problems.append(f"message {i} comes before the result of {names}: each call needs its result right after")
        open_calls = list(message.tool_calls) if message.is_from(ChatRole.ASSISTANT) else []
    return problems


@_hinted
def check_guardrail(hook: Any) -> None:
    """Exercise 02.3: a before_tool hook that blocks every `search` call and tells the model why."""
    _is_hook(hook)
    run = Recorder(demo_agent(hooks={"before_tool": [hook]}, max_agent_steps=6)).run(
        "Look up continue_run. What is 2 + 3?"
    )
    assert run.status == "ok", f"the run failed: {run.describe()}"
    assert not len(_tool_rows(run, "search")), "search ran: the guardrail must keep it from running"
    adds = _tool_rows(run, "add")
    assert len(adds) == 1, "add must still run: block only the dangerous call"
    assert int(adds["step"].iloc[0]) == 0, (
        f"add ran at step {int(adds['step'].iloc[0])}, not in the step where the model asked for it (0): only the "
        "LAST message's tool calls run, so put the allowed calls in a new last message, after the error result"
    )
    assert run.exit_reason == "text", (
        f"the run ended with {run.exit_reason!r}: if the model is not told the call was blocked it asks again "
        "and again; answer the blocked call with an error tool result"
    )
    results = [m for m in run.result["messages"] if m.tool_call_result is not None]
    blocked = [m for m in results if m.tool_call_result.origin.tool_name == "search"]
    assert blocked and all(m.tool_call_result.error for m in blocked), "answer the blocked call with error=True"
    for seq in run.timeline.query("kind == 'llm'")["seq"]:
        problems = pairing_problems(run.state_at(int(seq))["messages"])
        assert not problems, f"the model's input at event {int(seq)} breaks the provider rule: {problems[0]}"
    problems = pairing_problems(run.result["messages"])
    assert not problems, f"the final conversation breaks the provider rule: {problems[0]}"
    _ok(f"search blocked, add ran, each call has its result right after it; the model said: {run.final_answer!r}")


# --- 03 hook points ----------------------------------------------------------------------------------------------


@_hinted
def check_step_counts(answer: dict[str, int]) -> None:
    """Exercise 03.1: the step_count each point reads in a run with one tool step and a text answer."""
    assert isinstance(answer, dict), f"give a dict from hook point to step_count, got {type(answer).__name__}"
    answer = {p: _as_int(v, f"step_count of {p}") for p, v in answer.items()}
    seen: dict[str, int] = {}

    def probe(point: str) -> Any:
        class Probe:
            def run(self, state: Any) -> None:
                seen.setdefault(point, state.data["step_count"])

        return Probe()

    points = ["before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run"]
    Agent(chat_generator=ScriptedChatGenerator(), tools=demo_tools(), hooks={p: [probe(p)] for p in points}).run(
        [ChatMessage.from_user("What is 2 + 3?")]
    )
    # before_llm fires twice (steps 0 and 1); the first is asked for, as for every point
    wrong = {p: (answer.get(p), seen[p]) for p in points if answer.get(p) != seen[p]}
    assert not wrong, "; ".join(f"{p}: you said {a}, it reads {s}" for p, (a, s) in wrong.items())
    _ok("step_count at all six points, as haystack sets it")


@_hinted
def check_step_limit(hook: Any) -> None:
    """Exercise 03.2: a before_llm hook that stops the run with reason "llm_limit" after 2 LLM calls."""
    _is_hook(hook)
    rec = Recorder(demo_agent(hooks={"before_llm": [hook]}))
    run = rec.run("What is 2 + 3, and the weather in Paris? Then save a note.")
    llm = run.timeline.query("kind == 'llm'")
    assert run.exit_reason == "llm_limit", f"expected exit_reason 'llm_limit', got {run.exit_reason!r}"
    assert len(llm) == 2, f"expected 2 LLM calls before the stop, got {len(llm)}"
    short = rec.run("Hello!")
    assert short.exit_reason == "text", "a run that needs one LLM call must not be stopped"
    _ok("stopped before the third LLM call; a one-call run is untouched")


# --- 04 patterns -------------------------------------------------------------------------------------------------


@_hinted
def check_once_reminder(hook: Any) -> None:
    """Exercise 04.1: an on_exit hook that asks once for a longer answer when the answer is under 8 words."""
    _is_hook(hook)
    rec = Recorder(demo_agent(hooks={"on_exit": [hook]}))
    run = rec.run("What is 2 + 3?")
    continues = run.timeline.query("hook_point == 'on_exit' and flow == 'continue_run'")
    assert len(continues) == 1, f"ask exactly once, got {len(continues)} continue_run"
    assert run.exit_reason == "text" and run.final_answer and len(run.final_answer.split()) >= 8, (
        f"the final answer should be the longer one: {run.final_answer!r}"
    )
    stubborn = Recorder(_stubborn_agent(hook)).run("What is 2 + 3?")
    n = len(stubborn.timeline.query("hook_point == 'on_exit' and flow == 'continue_run'"))
    assert n == 1, f"with a model that never writes more, ask once and let it go (asked {n} times)"
    _ok("one request for a longer answer; the run then ends, also with a stubborn model")


@_hinted
def check_lifecycle_hook(factory: Callable[[], Any]) -> None:
    """Exercise 04.2: a class hook that opens its resource once in warm_up and releases it in close."""
    assert callable(factory), "give the class itself (the checker builds a fresh hook from it)"
    hook = factory()
    agent = demo_agent(hooks={"before_llm": [hook]})
    for _ in range(3):
        agent.run([ChatMessage.from_user("What is 2 + 3?")])
    assert getattr(hook, "opened", None) == 1, f"open the resource once (warm_up runs every run): {hook.opened}"
    assert not getattr(hook, "closed", True), "close() ran too early"
    agent.close()
    assert hook.closed is True, "agent.close() must release the resource (hook.closed = True)"
    _ok("warm_up idempotent over three runs, close() releases the resource")


# --- 05 built-in hooks -------------------------------------------------------------------------------------------

BUDGET_TASK = "Look up continue_run and stop_run. What is the weather in Paris and Tokyo? Then save a note."


def _llm_calls_under(budget: int) -> tuple[int, str | None]:
    from haystack.hooks.budget import TokenBudgetHook

    with warnings.catch_warnings():  # the hook is experimental and says so when built
        warnings.simplefilter("ignore")
        hook = TokenBudgetHook(max_total_tokens=budget)
    run = Recorder(demo_agent(hooks={"before_llm": [hook]})).run(BUDGET_TASK)
    return len(run.timeline.query("kind == 'llm'")), run.exit_reason


@_hinted
def check_budget(max_total_tokens: int) -> None:
    """Exercise 05.1: the LARGEST TokenBudgetHook budget that allows exactly one LLM call on BUDGET_TASK."""
    max_total_tokens = _as_int(max_total_tokens, "budget")
    assert max_total_tokens > 0, f"a budget is a positive number of tokens, got {max_total_tokens}"
    llm, exit_reason = _llm_calls_under(max_total_tokens)
    assert exit_reason == "token_budget_exceeded", f"the budget never stopped the run ({exit_reason!r})"
    assert llm == 1, f"{max_total_tokens} tokens allowed {llm} LLM calls, not 1"
    more, _ = _llm_calls_under(max_total_tokens + 1)
    assert more == 2, f"{max_total_tokens + 1} also stops after one call: find the largest budget"
    _ok(f"max_total_tokens={max_total_tokens} is the largest budget that stops after one LLM call")


@_hinted
def check_rejecting_ui(ui: Any) -> None:
    """Exercise 05.2: a confirmation UI that rejects every save_note call and confirms the rest."""
    assert not isinstance(ui, type), f"give an instance, not the class {ui.__name__}: add ()"
    assert callable(getattr(ui, "get_user_confirmation", None)), (
        "give an object (an instance) with get_user_confirmation(tool_name, tool_description, tool_params)"
    )
    strategy = BlockingConfirmationStrategy(confirmation_policy=AlwaysAskPolicy(), confirmation_ui=ui)
    hook = ConfirmationHook(confirmation_strategies={"*": strategy})
    run = Recorder(demo_agent(hooks={"before_tool": [hook]}, max_agent_steps=6)).run("What is 2 + 3? Then save a note.")
    assert not len(_tool_rows(run, "save_note")), "save_note ran: reject it"
    assert len(_tool_rows(run, "add")) == 1, "add should be confirmed and run"
    errors = [m for m in run.result["messages"] if m.tool_call_result is not None and m.tool_call_result.error]
    assert any(m.tool_call_result.origin.tool_name == "save_note" for m in errors), "no rejection result for save_note"
    _ok("save_note rejected (an error tool result tells the model), add confirmed")


# --- 06 async ----------------------------------------------------------------------------------------------------


@_hinted
async def check_async_hook(hook: Any) -> None:
    """Exercise 06.1: an async before_llm hook that adds the system message "The user is in Lima." once."""
    _is_hook(hook)
    if isinstance(hook, FunctionHook):  # a sync @hook has run_async too: it calls the function on the loop
        assert hook.async_function is not None, (
            "this @hook wraps a sync function (its run_async calls it on the event loop): decorate an `async def`"
        )
    else:
        assert inspect.iscoroutinefunction(getattr(hook, "run_async", None)), (
            "give an async hook: @hook on an `async def` function, or a class with `async def run_async(self, state)`"
        )
    rec = Recorder(demo_agent(hooks={"before_llm": [hook]}))
    run = await rec.run_async("What is 2 + 3, and the weather in Paris?")
    notes = [t for t in _texts(run.result["messages"], ChatRole.SYSTEM) if t == CITY_NOTE]
    assert len(notes) == 1, f"expected exactly one {CITY_NOTE!r} system message, found {len(notes)}"
    try:
        demo_agent(hooks={"before_llm": [hook]}).run([ChatMessage.from_user("What is 2 + 3?")])
    except RuntimeError:
        sync_note = "a sync run refuses it (RuntimeError), as haystack documents for async-only hooks"
    else:
        sync_note = "it also runs in sync runs (you gave it a sync function too)"
    _ok(f"async hook ran once per run in run_async; {sync_note}")


@_hinted
async def check_non_blocking_hook(hook: Any, *, slow_s: float = 0.2) -> None:
    """Exercise 06.2: a hook that waits `slow_s` seconds without blocking the event loop of an async run."""
    _is_hook(hook)
    ticks: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)  # let the ticker start before the run
    agent = demo_agent(hooks={"before_run": [hook]}, system_prompt=None)
    started = time.perf_counter()
    await agent.run_async([ChatMessage.from_user("Hello!")])
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.03)  # one more tick: a pause that lasted until the end of the run is measured too
    stop.set()
    await task
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    worst = max(gaps, default=elapsed)
    assert elapsed >= slow_s * 0.9, f"the hook should take about {slow_s} s (the run took {elapsed:.2f} s)"
    assert worst < slow_s / 2, f"the event loop was blocked for {worst * 1000:.0f} ms: do not sleep on the loop"
    _ok(f"the hook waited {elapsed * 1000:.0f} ms; the loop's longest pause was {worst * 1000:.0f} ms")


# --- 08 compaction -----------------------------------------------------------------------------------------------

COMPACTION_TASK = "Look up continue_run and stop_run. What is the weather in Paris and Tokyo? Then save a note."


@_hinted
def check_compaction_hook(hook: Any, limit: int = 100) -> None:
    """Exercise 08.1: a before_llm hook that compacts once `context_tokens` reaches `limit`, keeping what must stay."""
    _is_hook(hook)
    seen: list[tuple[str, int, list[ChatMessage], int]] = []

    def probe(when: str) -> Any:
        class Probe:
            def run(self, state: Any) -> None:
                data = state.data
                seen.append((when, data["step_count"], list(data["messages"]), data.get("context_tokens") or 0))

        return Probe()

    agent = demo_agent(hooks={"before_llm": [probe("before"), hook, probe("after")]})
    result = agent.run([ChatMessage.from_user(COMPACTION_TASK)])
    pairs = list(zip(seen[::2], seen[1::2], strict=True))
    compacted = 0
    for (_, step, before, tokens_before), (_, _, after, tokens_after) in pairs:
        if tokens_before < limit:
            assert after == before, f"step {step}: compacted at {tokens_before} context tokens, below {limit}"
            continue
        assert len(after) <= len(before), (
            f"step {step}: the conversation grew from {len(before)} to {len(after)} messages: state.set('messages', "
            "x) APPENDS x; write the compacted list with handler_override=replace_values"
        )
        if after == before:
            continue
        compacted += 1
        assert after[0] == before[0], f"step {step}: keep the system prompt first (it became {after[0].text!r})"
        task = next(m for m in before if m.is_from(ChatRole.USER))
        assert task in after, f"step {step}: the user's task {task.text!r} is gone: keep it"
        last_reply = max(i for i, m in enumerate(before) if m.is_from(ChatRole.ASSISTANT))
        tail = before[last_reply:]
        assert after[-len(tail) :] == tail, (
            f"step {step}: keep the last step whole (the model's last reply and its {len(tail) - 1} tool results)"
        )
        problems = pairing_problems(after)
        assert not problems, f"step {step}: the compacted conversation breaks the provider rule: {problems[0]}"
        assert tokens_after < tokens_before, (
            f"step {step}: context_tokens still reads {tokens_after} after compacting: the Agent refreshes it only "
            "after the next LLM call, so set it yourself (count the new messages with a TokenCounter)"
        )
    reached = max((t for _, _, _, t in seen), default=0)
    assert compacted, f"the hook never compacted: context_tokens reached {reached} (limit {limit})"
    assert result["exit_reason"] == "text", f"the run ended with {result['exit_reason']!r} instead of an answer"
    _ok(f"compacted {compacted} time(s) at {limit}+ tokens; system prompt, task and last step kept, pairs intact")


# --- 07 real models ----------------------------------------------------------------------------------------------

DATA = Path(__file__).resolve().parent.parent / "data"


def _expected_repeats(run: Run) -> int:
    seen: set[tuple[str, str]] = set()
    repeats = 0
    for message in run.result.get("messages") or []:
        for call in message.tool_calls:
            key = (call.tool_name, json.dumps(call.arguments, sort_keys=True, default=str))
            repeats += key in seen
            seen.add(key)
    return repeats


@_hinted
def check_repeated_calls(count: Callable[[Run], Any]) -> None:
    """Exercise 07.1: `count(run)` is how many tool calls repeat an earlier call (same tool, same arguments)."""
    assert callable(count), "give your function (it takes a Run and returns an int)"
    looping = Agent(
        chat_generator=MockChatGenerator(
            [ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 5, "b": 3})])] * 3
            + [ChatMessage.from_assistant("8")]
        ),
        tools=demo_tools(),
    )
    runs = {
        "the recorded SmolLM2 run": Run.load(str(DATA / "real_smollm2_run.json.gz")),
        "the recorded forced run": Run.load(str(DATA / "real_smollm2_forced_run.json.gz")),
        "a scripted run without repeats": Recorder(demo_agent()).run("What is 2 + 3, and the weather in Paris?"),
        "a mock model asking add(5, 3) three times": Recorder(looping).run("What is 5 + 3?"),
    }
    for name, run in runs.items():
        got, want = _as_int(count(run), "count"), _expected_repeats(run)
        assert got == want, (
            f"{name}: you counted {got}, it has {want} repeated calls (a call repeats when an earlier call of the "
            "same run had the same tool name AND the same arguments; the first one is not a repeat)"
        )
    recorded = _expected_repeats(runs["the recorded SmolLM2 run"])
    _ok(f"repeats counted right in {len(runs)} runs (the recorded SmolLM2 run repeats {recorded} calls)")


# --- 09 breakpoints ---------------------------------------------------------------------------------------------


@_hinted
def check_ada(run: Any) -> None:
    """Exercise 09.1: `run` was edited by hand while paused so that the demo agent answers for Ada."""
    assert isinstance(run, Run), f"give the finished run (live.wait()), got {type(run).__name__}"
    assert run.status == "ok", f"the run should end normally, it is {run.status!r}"
    edits = run.timeline.query("kind == 'edit'")
    assert len(edits), "no edit row: edit the State with live.edit(...) while the run is paused"
    seq = int(edits["seq"].iloc[0])
    assert "user_profile" in edits["changed"].iloc[0], "the edit should set the State key user_profile"
    assert run.state_at(seq, "after").get("user_profile") == {"name": "Ada"}, 'set user_profile to {"name": "Ada"}'
    hook = run.timeline.query("name == 'inject_user_profile' and status == 'ok'")
    assert len(hook) and int(hook["seq"].iloc[0]) > seq, (
        "edit before inject_user_profile runs: pause at it (break_at('before_llm', name='inject_user_profile'))"
    )
    texts = [m.text or "" for m in run.final_state["messages"]]
    assert any("User name: Ada" in t for t in texts), "inject_user_profile did not see the profile you set"
    _ok("the hook saw the State you edited while the run was paused")


# --- 10 ablation -------------------------------------------------------------------------------------------------


@_hinted
def check_quiet_ablation(ablate: Callable[[Run], Any]) -> None:
    """Exercise 10.1: `ablate(run)` replays `run` without MemoryRetrievalHook, serving every tool from the recording."""
    assert callable(ablate), "give your function (it takes a Run and returns the replay)"
    notes = NoteStore()
    run = Recorder(demo_agent(notes=notes)).run(
        "What is the weather in Paris? Then save a note.", hook_context={"today": "2026-11-22"}
    )
    saved = list(notes.notes)
    replay = ablate(run)
    assert isinstance(replay, Run), f"return the replay (a Run), got {type(replay).__name__}"
    assert replay.kind == "replay" and replay.parent_id == run.run_id, (
        f"that is a {replay.kind!r}, not a replay of the given run: use run.replay(...)"
    )
    memory = replay.timeline.query("name == 'MemoryRetrievalHook'")["status"].tolist()
    assert memory == ["skipped"], f"MemoryRetrievalHook should be switched off (skipped), its rows read {memory}"
    others = replay.timeline.query("kind == 'hook' and name != 'MemoryRetrievalHook'")["status"]
    assert set(others) == {"ok"}, "switch off MemoryRetrievalHook only"
    tools = replay.timeline.query("kind == 'tool'")["status"].tolist()
    assert tools and set(tools) == {"cached"}, (
        f"the tools ran again (statuses {tools}) and save_note wrote again: pass tools='cached'"
    )
    assert list(notes.notes) == saved, "the replay wrote to the note store"
    _ok(f"replay without memories, {len(tools)} tool results served from the recording, nothing written twice")


# --- 11 fork -----------------------------------------------------------------------------------------------------


@_hinted
def check_rescue(rescue: Callable[[Run], Any]) -> None:
    """Exercise 11.1: `rescue(run)` forks the Atlantis run so that the weather is asked for Lima instead."""
    assert callable(rescue), "give your function (it takes the Atlantis run and returns a fork)"
    run = Recorder(demo_agent(notes=NoteStore())).run(
        "What is the weather in Atlantis?", hook_context={"today": "2026-11-22"}
    )
    fork = rescue(run)
    assert isinstance(fork, Run), f"return the fork (a Run), got {type(fork).__name__}"
    assert fork.kind == "fork" and fork.parent_id == run.run_id, (
        f"that is a {fork.kind!r} run, not a fork of the given run: use run.fork(step, reply=...)"
    )
    weather = fork.timeline.query("kind == 'tool' and name == 'get_weather'")
    assert len(weather) and "Lima" in str(weather["summary"].iloc[0]), "the fork never asked for the weather in Lima"
    assert set(weather["status"]) == {"ok"}, "the fork's weather call failed"
    assert "Atlantis" not in (fork.final_answer or ""), (
        f"the fork still reports Atlantis ({fork.final_answer!r}): the failed call is inherited when you fork after "
        "it; fork at the step of the LLM call that asked for it (its reply is what you replace)"
    )
    assert "Lima" in (fork.final_answer or ""), f"the answer should be about Lima: {fork.final_answer!r}"
    source = run.timeline.query("kind == 'tool'")["status"].tolist()
    assert source[0] == "error", "the source run changed"
    _ok(f"forked at step {fork.start_step}: {fork.final_answer!r}")


# --- 12 comparing runs -------------------------------------------------------------------------------------------


def _missing_step(a: Run, b: Run) -> int | None:
    table = compare(a, b)
    gone = table[table["status_a"].isna() | table["status_b"].isna()]
    return None if gone.empty else int(gone["step"].min())


@_hinted
def check_first_missing_step(first_missing: Callable[[Run, Run], Any]) -> None:
    """Exercise 12.1: `first_missing_step(a, b)` is the first step with an event in one run only (None if none)."""
    assert callable(first_missing), "give your function (it takes two runs)"
    from agent_nb.demo import TokenBudgetStop

    rec = Recorder(demo_agent(notes=NoteStore()))
    rec.add_hook("before_llm", TokenBudgetStop(max_total_tokens=150))
    on, off = {"before_llm": {"TokenBudgetStop": True}}, {"before_llm": {"TokenBudgetStop": False}}
    pairs = []
    for prompt in ("What is the weather in Paris and Tokyo?", "What is 2 + 3?"):
        a, b = (rec.run(prompt, hooks=h, hook_context={"today": "2026-11-22"}) for h in (off, on))
        pairs += [(prompt, a, b), (prompt + " (swapped)", b, a)]
    plain = rec.run("What is 2 + 3?", hooks=off)
    pairs.append(("a run and its replay", plain, plain.replay()))
    for name, a, b in pairs:
        got, want = first_missing(a, b), _missing_step(a, b)
        got = None if got is None else _as_int(got, "step")
        assert got == want, f"{name}: you said {got}, the first step with an event in one run only is {want}"
    _ok(f"right on {len(pairs)} pairs, including runs that never part ways (None)")


# --- 13 developing a hook ----------------------------------------------------------------------------------------


@_hinted
def check_same_as_recorded(same: Callable[[Run, Any], Any]) -> None:
    """Exercise 13.1: `same(run, hook)` is True when `hook` does what the recorded RequireToolHook did at every call."""
    assert callable(same), "give your function (it takes a run and a hook)"
    from agent_nb.demo.hooks import RequireToolHook

    class Polite(RequireToolHook):
        @property
        def message(self) -> str:
            return f"Please call `{self.tool_name}` first."

    class RemindsAlways(RequireToolHook):  # the same at the first call, not once the note is saved
        def run(self, state: Any) -> None:
            state.set("messages", [ChatMessage.from_system(self.message)])
            state.set("continue_run", True)

    run = Recorder(demo_agent()).run("What is 2 + 3?", hook_context={"today": "2026-11-22"})
    cases = [
        ("RequireToolHook itself", RequireToolHook("save_note"), True),
        ("a hook with another reminder", Polite("save_note"), False),
        ("a hook that differs only at the second call", RemindsAlways("save_note"), False),
    ]
    for name, candidate, want in cases:
        got = same(run, candidate)
        assert isinstance(got, bool | np.bool_), f"return True or False, got {got!r}"
        assert bool(got) == want, (
            f"{name}: you said {bool(got)}; check every recorded call of the hook (hook_case(run, seq) for each of "
            "its seqs), not only the first"
        )
    _ok("each recorded call checked: the same hook passes, a changed one fails")


# --- 14 sweeps ---------------------------------------------------------------------------------------------------


@_hinted
def check_changed_answers(changed: Callable[[Any], Any]) -> None:
    """Exercise 14.1: `changed(table)` is the set of (prompt, config) whose answer differs from "all on"."""
    assert callable(changed), "give your function (it takes a sweep's table)"
    from agent_nb.export import sweep

    configs = {
        "all on": {},
        "no date": {"before_llm": {"inject_date": False}},
        "no reminder": {"on_exit": {"RequireToolHook": False}},
    }
    prompts = ["What is 2 + 3?", "What day is it?", "Save a note that the demo works."]
    table = sweep(demo_agent, prompts, configs, hook_context={"today": "2026-11-22"}, progress=False).table
    base = table[table["config"] == "all on"].set_index("prompt")["answer"]
    want = {(r.prompt, r.config) for r in table.itertuples() if r.config != "all on" and r.answer != base[r.prompt]}
    shuffled = table.sample(frac=1, random_state=7).reset_index(drop=True)  # an answer must not rely on row order
    got = changed(shuffled)
    assert isinstance(got, set | frozenset), f"return a set of (prompt, config) pairs, got {type(got).__name__}"
    got = {tuple(pair) for pair in got}
    assert not any(config == "all on" for _, config in got), "'all on' is the baseline: it cannot differ from itself"
    assert got == want, f"missing {sorted(want - got)}; not changed {sorted(got - want)}"
    _ok(f"{len(want)} (prompt, config) pairs answer differently from 'all on'")
