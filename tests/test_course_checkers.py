"""The course's exercise checkers (notebooks/solutions/checks.py): each accepts its reference solution, accepts a
right answer of any integer type, and rejects wrong answers with a hint (an AssertionError naming the mistake), never
with a crash. The wrong answers are the mistakes a learner makes: those a review found accepted, and our own."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.dataclasses import ChatMessage, ChatRole
from haystack.hooks import hook

from agent_nb import Recorder, demo_agent

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def nb() -> SimpleNamespace:
    """`notebooks/solutions`, imported as the notebooks import it (`from solutions import ...`)."""
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        names = ["checks", *sorted(p.stem for p in (NOTEBOOKS / "solutions").glob("nb[0-9][0-9].py"))]
        return SimpleNamespace(**{n: importlib.import_module(f"solutions.{n}") for n in names})
    finally:
        sys.path.remove(str(NOTEBOOKS))


@pytest.fixture(scope="module")
def quickstart_run():
    """The run of notebook 01's first cells: the demo agent on the quickstart question."""
    return Recorder(demo_agent()).run("What is 2 + 3, and the weather in Paris?", hook_context={"today": "2026-11-22"})


def rejects(check, answer, match: str) -> None:
    """`check(answer)` fails with an AssertionError whose hint matches `match` (a crash of any other type fails)."""
    with pytest.raises(AssertionError, match=match):
        result = check(answer)
        if asyncio.iscoroutine(result):
            asyncio.run(result)


# --- 01 ------------------------------------------------------------------------------------------------------------


def test_01_seq_of_any_integer_type_is_accepted(nb, quickstart_run, capsys):
    seq = quickstart_run.timeline.query("flow == 'continue_run'")["seq"].iloc[0]
    assert isinstance(seq, np.integer)  # what the natural answer gives
    for answer in (seq, int(seq), np.int32(seq), nb.nb01.continue_seq(quickstart_run)):
        nb.checks.check_continue_seq(quickstart_run, answer)
    assert capsys.readouterr().out.count("OK: ") == 4


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (8, "did not set continue_run"),  # an LLM row: its flow is NA (this crashed with "boolean value of NA")
        (0, "did not set continue_run"),
        (10_000, "no event 10000"),
        (-1, "no event -1"),
        (None, "as an integer"),
        ("5", "as an integer"),
        (5.0, "as an integer"),
        (True, "as an integer"),
    ],
)
def test_01_wrong_seqs_get_a_hint(nb, quickstart_run, answer, match):
    rejects(lambda a: nb.checks.check_continue_seq(quickstart_run, a), answer, match)


def test_01_run_without_require(nb, quickstart_run, capsys):
    rec = Recorder(demo_agent())
    nb.checks.check_without_require(nb.nb01.run_without_require(rec))
    assert "OK: " in capsys.readouterr().out
    rejects(nb.checks.check_without_require, None, "give the recorded Run")
    rejects(nb.checks.check_without_require, quickstart_run, "RequireToolHook ran")
    removed = Recorder(demo_agent(hooks={"on_exit": []})).run("What is 2 + 3, and the weather in Paris?")
    rejects(nb.checks.check_without_require, removed, "switch it off")


# --- 02 ------------------------------------------------------------------------------------------------------------

CITY = "The user is in Lima."


def test_02_reference_solutions_pass(nb, capsys):
    nb.checks.check_context_hook(nb.nb02.inject_city)
    nb.checks.check_require_tool(nb.nb02.require_save_note)
    nb.checks.check_guardrail(nb.nb02.block_search)
    assert capsys.readouterr().out.count("OK: ") == 3


@hook
def note_at_the_end(state: State) -> None:
    """02.1 wrong: the note is appended at the end, not right after the system prompt."""
    if not any(m.text == CITY for m in state.data["messages"]):
        state.set("messages", [ChatMessage.from_system(CITY)])


@hook
def note_replaces_prompt(state: State) -> None:
    """02.1 wrong: the note takes the system prompt's place."""
    messages = state.data["messages"]
    if not any(m.text == CITY for m in messages):
        state.set("messages", [ChatMessage.from_system(CITY), *messages[1:]], handler_override=replace_values)


@hook
def note_every_step(state: State) -> None:
    """02.1 wrong: no once-guard, a note at every step."""
    messages = state.data["messages"]
    state.set("messages", [messages[0], ChatMessage.from_system(CITY), *messages[1:]], handler_override=replace_values)


@hook
def note_doubles_conversation(state: State) -> None:
    """02.1 wrong: plain state.set appends the whole list."""
    messages = state.get("messages")
    if not any(m.text == CITY for m in messages):
        messages.insert(1, ChatMessage.from_system(CITY))
        state.set("messages", messages)


@hook
def note_raises(state: State) -> None:
    """02.1 wrong: a typo that raises."""
    state.set("mesages", [])


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (note_at_the_end, "right after the system prompt"),
        (note_replaces_prompt, "keep the system prompt first"),
        (note_every_step, "exactly one system message"),
        (note_doubles_conversation, "APPENDS"),
        (note_raises, "your answer raised ValueError"),
        (None, "still None"),
        (note_at_the_end.function, "is not a hook"),
    ],
)
def test_02_1_wrong_context_hooks_get_a_hint(nb, answer, match):
    rejects(nb.checks.check_context_hook, answer, match)


REMINDER = "You must call `save_note` before finishing."


@hook
def require_without_guard(state: State) -> None:
    """02.2 wrong: no loop guard."""
    if not (state.data.get("tool_call_counts") or {}).get("save_note"):
        state.set("messages", [ChatMessage.from_system(REMINDER)])
        state.set("continue_run", True)


class GuardOnSelf:
    """02.2 wrong: the reminder count kept on the hook object, so a second run is never reminded."""

    def __init__(self) -> None:
        self.reminded = 0

    def run(self, state: State) -> None:
        if (state.data.get("tool_call_counts") or {}).get("save_note") or self.reminded >= 2:
            return
        self.reminded += 1
        state.set("messages", [ChatMessage.from_system(REMINDER)])
        state.set("continue_run", True)


@hook
def remind_without_continue(state: State) -> None:
    """02.2 wrong: the reminder is added but continue_run is never set."""
    if not (state.data.get("tool_call_counts") or {}).get("save_note"):
        state.set("messages", [ChatMessage.from_system(REMINDER)])


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (require_without_guard, "loop guard"),
        (GuardOnSelf(), "carries over between runs"),
        (remind_without_continue, "save_note should run once"),
        (GuardOnSelf, "not the class"),
    ],
)
def test_02_2_wrong_require_hooks_get_a_hint(nb, answer, match):
    rejects(nb.checks.check_require_tool, answer, match)


def _split(state: State) -> tuple[list[ChatMessage], ChatMessage, list, list]:
    messages = state.data["messages"]
    last = messages[-1]
    blocked = [c for c in last.tool_calls if c.tool_name == "search"]
    allowed = [c for c in last.tool_calls if c.tool_name != "search"]
    return messages, last, blocked, allowed


def _error(call) -> ChatMessage:
    return ChatMessage.from_tool("Blocked: search is disabled here", origin=call, error=True)


@hook
def orphan_result(state: State) -> None:
    """02.3 wrong (review): the error result follows no assistant message holding the blocked call."""
    messages, _, blocked, allowed = _split(state)
    if blocked:
        new = [*messages[:-1], *(_error(c) for c in blocked), ChatMessage.from_assistant(tool_calls=allowed)]
        state.set("messages", new, handler_override=replace_values)


@hook
def result_after_whole_message(state: State) -> None:
    """02.3 wrong (review): the error result appended after the whole [search, add] message: add never runs then."""
    *_, blocked, _ = _split(state)
    if blocked:
        state.set("messages", [_error(c) for c in blocked])


@hook
def silent_drop(state: State) -> None:
    """02.3 wrong: the call is dropped and the model never told."""
    messages, last, blocked, allowed = _split(state)
    if blocked:
        new = [*messages[:-1], ChatMessage.from_assistant(last.text, tool_calls=allowed)]
        state.set("messages", new, handler_override=replace_values)


@hook
def result_without_error_flag(state: State) -> None:
    """02.3 wrong: the refusal is a normal (error=False) tool result."""
    messages, last, blocked, allowed = _split(state)
    if blocked:
        new = [*messages[:-1], ChatMessage.from_assistant(last.text, tool_calls=blocked)]
        new += [ChatMessage.from_tool("Blocked", origin=c) for c in blocked]
        new.append(ChatMessage.from_assistant(tool_calls=allowed))
        state.set("messages", new, handler_override=replace_values)


@hook
def blocks_everything(state: State) -> None:
    """02.3 wrong: every call answered with an error, add included."""
    messages, last, *_ = _split(state)
    if last.tool_calls:
        new = [*messages, *(_error(c) for c in last.tool_calls), ChatMessage.from_user("Try again without tools.")]
        state.set("messages", new, handler_override=replace_values)


@hook
def two_results_for_one_call(state: State) -> None:
    """02.3 wrong: the blocked call gets two error results."""
    messages, last, blocked, allowed = _split(state)
    if blocked:
        new = [*messages[:-1], ChatMessage.from_assistant(last.text, tool_calls=blocked)]
        new += [_error(c) for c in blocked] * 2
        new.append(ChatMessage.from_assistant(tool_calls=allowed))
        state.set("messages", new, handler_override=replace_values)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (orphan_result, "orphan result"),
        (result_after_whole_message, "not in the step where the model asked for it"),
        (silent_drop, "asks again"),
        (result_without_error_flag, "error=True"),
        (blocks_everything, "add must still run"),
        (two_results_for_one_call, "answers no call"),
    ],
)
def test_02_3_wrong_guardrails_get_a_hint(nb, answer, match):
    rejects(nb.checks.check_guardrail, answer, match)


def test_pairing_rule_reads_a_valid_conversation_as_valid(nb):
    run = Recorder(demo_agent()).run("What is 2 + 3, and the weather in Paris?")
    assert nb.checks.pairing_problems(run.result["messages"]) == []
    messages = run.result["messages"]
    call_at = next(i for i, m in enumerate(messages) if m.tool_calls)
    assert len(messages[call_at].tool_calls) == 2  # add and get_weather, in one message
    without_one_result = messages[: call_at + 2] + messages[call_at + 3 :]
    assert "before the result of" in nb.checks.pairing_problems(without_one_result)[0]


# --- 03 ------------------------------------------------------------------------------------------------------------


def test_03_reference_and_numpy_answers_pass(nb, capsys):
    nb.checks.check_step_counts(nb.nb03.STEP_COUNTS)
    nb.checks.check_step_counts({p: np.int64(v) for p, v in nb.nb03.STEP_COUNTS.items()})
    nb.checks.check_step_limit(nb.nb03.llm_limit)
    assert capsys.readouterr().out.count("OK: ") == 3


@hook
def limit_off_by_one(state: State) -> None:
    if state.data["step_count"] >= 3:
        state.set("stop_run", "llm_limit")


@hook
def limit_sets_exit_reason(state: State) -> None:
    if state.data["step_count"] >= 2:
        state.set("exit_reason", "llm_limit")


@hook
def limit_always(state: State) -> None:
    state.set("stop_run", "llm_limit")


@pytest.mark.parametrize(
    ("check", "answer", "match"),
    [
        ("check_step_counts", {"before_run": 0, "before_llm": 0, "before_tool": 1, "after_tool": 1}, "before_tool"),
        ("check_step_counts", {"on_exit": 1, "after_run": 2}, "on_exit: you said 1"),
        ("check_step_counts", [0, 0, 0, 0, 2, 2], "give a dict"),
        ("check_step_counts", {"before_run": "0"}, "as an integer"),
        ("check_step_limit", limit_off_by_one, "expected exit_reason 'llm_limit'"),
        ("check_step_limit", limit_sets_exit_reason, "llm_limit"),
        ("check_step_limit", limit_always, "expected 2 LLM calls"),
    ],
)
def test_03_wrong_answers_get_a_hint(nb, check, answer, match):
    rejects(getattr(nb.checks, check), answer, match)


# --- 04 ------------------------------------------------------------------------------------------------------------

MORE = "Improve your answer: add more detail."


def test_04_reference_solutions_pass(nb, capsys):
    nb.checks.check_once_reminder(nb.nb04.ask_for_more)
    nb.checks.check_lifecycle_hook(nb.nb04.CountingClient)
    assert capsys.readouterr().out.count("OK: ") == 2


@hook
def more_without_once_guard(state: State) -> None:
    answer = state.data["messages"][-1].text or ""
    if len(answer.split()) < 8:
        state.set("messages", [ChatMessage.from_user(MORE)])
        state.set("continue_run", True)


@hook
def more_without_continue(state: State) -> None:
    if not any(m.text == MORE for m in state.data["messages"]):
        state.set("messages", [ChatMessage.from_user(MORE)])


class OpensEveryRun:
    def __init__(self) -> None:
        self.opened, self.closed = 0, False

    def warm_up(self) -> None:
        self.opened += 1

    def run(self, state: State) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class NeverCloses(OpensEveryRun):
    def warm_up(self) -> None:
        self.opened = 1

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("check", "answer", "match"),
    [
        ("check_once_reminder", more_without_once_guard, "ask once"),
        ("check_once_reminder", more_without_continue, "exactly once"),
        ("check_lifecycle_hook", OpensEveryRun, "open the resource once"),
        ("check_lifecycle_hook", NeverCloses, "release the resource"),
        ("check_lifecycle_hook", None, "give the class"),
    ],
)
def test_04_wrong_answers_get_a_hint(nb, check, answer, match):
    rejects(getattr(nb.checks, check), answer, match)


# --- 05 ------------------------------------------------------------------------------------------------------------


def test_05_reference_and_numpy_answers_pass(nb, capsys):
    nb.checks.check_budget(nb.nb05.BUDGET)
    nb.checks.check_budget(np.int64(nb.nb05.BUDGET))
    nb.checks.check_rejecting_ui(nb.nb05.RejectSaveNote())
    assert capsys.readouterr().out.count("OK: ") == 3


class RejectsAll:
    def get_user_confirmation(self, tool_name, tool_description, tool_params):
        from haystack.hooks.human_in_the_loop import ConfirmationUIResult

        return ConfirmationUIResult("reject", feedback="no")


@pytest.mark.parametrize(
    ("check", "answer", "match"),
    [
        ("check_budget", 46, "also stops after one call"),
        ("check_budget", 48, "allowed 2 LLM calls"),
        ("check_budget", 47.0, "as an integer"),
        ("check_budget", 0, "positive"),
        ("check_rejecting_ui", RejectsAll(), "add should be confirmed"),
        ("check_rejecting_ui", RejectsAll, "an instance"),
    ],
)
def test_05_wrong_answers_get_a_hint(nb, check, answer, match):
    rejects(getattr(nb.checks, check), answer, match)


# --- 06 ------------------------------------------------------------------------------------------------------------


def test_06_reference_solutions_pass(nb, capsys):
    asyncio.run(nb.checks.check_async_hook(nb.nb06.inject_city_async))
    asyncio.run(nb.checks.check_non_blocking_hook(nb.nb06.SlowLookup()))
    assert capsys.readouterr().out.count("OK: ") == 2


@hook
def sync_city(state: State) -> None:
    """06.1 wrong (review): a sync @hook where an async one is asked (it has run_async too)."""
    messages = state.data["messages"]
    if not any(m.is_from(ChatRole.SYSTEM) and m.text == CITY for m in messages):
        state.set(
            "messages", [messages[0], ChatMessage.from_system(CITY), *messages[1:]], handler_override=replace_values
        )


class SyncClassHook:
    def run(self, state: State) -> None:
        sync_city.function(state)


@hook
async def async_city_every_step(state: State) -> None:
    messages = state.data["messages"]
    state.set("messages", [messages[0], ChatMessage.from_system(CITY), *messages[1:]], handler_override=replace_values)


@hook
def blocks_the_loop(state: State) -> None:
    time.sleep(0.2)


@hook
async def async_but_blocking(state: State) -> None:
    time.sleep(0.2)


@hook
def too_fast(state: State) -> None:
    pass


@pytest.mark.parametrize(
    ("check", "answer", "match"),
    [
        ("check_async_hook", sync_city, "wraps a sync function"),
        ("check_async_hook", SyncClassHook(), "give an async hook"),
        ("check_async_hook", async_city_every_step, "exactly one"),
        ("check_non_blocking_hook", blocks_the_loop, "event loop was blocked"),
        ("check_non_blocking_hook", async_but_blocking, "event loop was blocked"),
        ("check_non_blocking_hook", too_fast, "should take about"),
        ("check_non_blocking_hook", None, "still None"),
    ],
)
def test_06_wrong_answers_get_a_hint(nb, check, answer, match):
    rejects(getattr(nb.checks, check), answer, match)


# --- 07, 08, 10-14 -------------------------------------------------------------------------------------------------


def test_07_to_14_reference_solutions_pass(nb, capsys):
    nb.checks.check_ada(nb.nb09.ada_run(Recorder(demo_agent())))
    nb.checks.check_repeated_calls(nb.nb07.repeated_calls)
    nb.checks.check_compaction_hook(nb.nb08.trim_context)
    nb.checks.check_quiet_ablation(nb.nb10.quiet_ablation)
    nb.checks.check_rescue(nb.nb11.rescue)
    nb.checks.check_first_missing_step(nb.nb12.first_missing_step)
    nb.checks.check_same_as_recorded(nb.nb13.same_as_recorded)
    nb.checks.check_changed_answers(nb.nb14.changed_answers)
    assert capsys.readouterr().out.count("OK: ") == 8


def test_09_a_run_without_the_edit_or_edited_too_late_gets_a_hint(nb):
    rec = Recorder(demo_agent())
    rejects(nb.checks.check_ada, rec.run("What is 2 + 3?", hook_context=nb.nb09.CTX), "no edit row")
    rec.break_at("after_tool")  # too late: inject_user_profile ran at step 0 already
    live = rec.start("What is 2 + 3?", hook_context=nb.nb09.CTX)
    live.wait_paused(timeout=30)
    live.edit({"user_profile": {"name": "Ada"}})
    rec.clear_breakpoints()
    live.resume()
    rejects(nb.checks.check_ada, live.wait(timeout=30), "edit before inject_user_profile runs")
    rejects(nb.checks.check_ada, None, "give the finished run")


def calls_by_name_only(run):
    """07.1 wrong: a repeat judged by the tool name alone."""
    names = [c.tool_name for m in run.result["messages"] for c in m.tool_calls]
    return len(names) - len(set(names))


def all_calls(run):
    """07.1 wrong: every call of a tool called more than once."""
    return sum(1 for m in run.result["messages"] for c in m.tool_calls)


def repeats_as_float(run):
    return float(len([1 for m in run.result["messages"] for c in m.tool_calls]))


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (calls_by_name_only, "same arguments"),
        (all_calls, "repeated calls"),
        (repeats_as_float, "as an integer"),
        (None, "give your function"),
    ],
)
def test_07_wrong_counts_get_a_hint(nb, answer, match):
    rejects(nb.checks.check_repeated_calls, answer, match)


def test_07_count_of_a_numpy_type_is_accepted(nb, capsys):
    nb.checks.check_repeated_calls(lambda run: np.int64(nb.nb07.repeated_calls(run)))
    assert "OK: " in capsys.readouterr().out


def _keep_last_steps(nb, messages):
    return nb.nb08.KeepLastSteps(1).compact(messages, 0, None)


class CompactsAppending:
    """08.1 wrong: plain state.set appends the compacted list."""

    def __init__(self, nb):
        self.nb = nb

    def run(self, state):
        if (state.data.get("context_tokens") or 0) >= 100:
            state.set("messages", _keep_last_steps(self.nb, state.data["messages"]))


class CompactsWithoutRefresh(CompactsAppending):
    """08.1 wrong: context_tokens left stale."""

    def run(self, state):
        if (state.data.get("context_tokens") or 0) >= 100:
            compacted = _keep_last_steps(self.nb, state.data["messages"])
            state.set("messages", compacted, handler_override=replace_values)


class CutsThroughAStep(CompactsAppending):
    """08.1 wrong: the last four messages, whatever they cut through."""

    def run(self, state):
        messages = state.data["messages"]
        if (state.data.get("context_tokens") or 0) >= 100 and len(messages) > 6:
            state.set("messages", [*messages[:2], *messages[-4:]], handler_override=replace_values)
            state.set("context_tokens", 10)


class DropsTheTask(CompactsAppending):
    """08.1 wrong: the system prompt and the last step only."""

    def run(self, state):
        messages = state.data["messages"]
        if (state.data.get("context_tokens") or 0) >= 100:
            last = max(i for i, m in enumerate(messages) if m.is_from(ChatRole.ASSISTANT))
            state.set("messages", [messages[0], *messages[last:]], handler_override=replace_values)
            state.set("context_tokens", 10)


class CompactsTooEarly(CompactsAppending):
    """08.1 wrong: compacts at 40 tokens (everything after the task goes)."""

    def run(self, state):
        messages = state.data["messages"]
        if (state.data.get("context_tokens") or 0) >= 40:
            state.set("messages", messages[:2], handler_override=replace_values)
            state.set("context_tokens", 1)


class NeverCompacts(CompactsAppending):
    def run(self, state):
        pass


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (CompactsAppending, "APPENDS"),
        (CompactsWithoutRefresh, "context_tokens still reads"),
        (CutsThroughAStep, "provider rule"),
        (DropsTheTask, "task"),
        (CompactsTooEarly, "below 100"),
        (NeverCompacts, "never compacted"),
    ],
)
def test_08_wrong_compaction_hooks_get_a_hint(nb, make, match):
    rejects(nb.checks.check_compaction_hook, make(nb), match)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda run: run.replay(hooks={"before_run": {"MemoryRetrievalHook": False}}), "tools='cached'"),
        (lambda run: run.replay(tools="cached"), "switched off"),
        (lambda run: run.replay(hooks={"before_llm": {"inject_date": False}}, tools="cached"), "switched off"),
        (lambda run: run, "not a replay"),
        (lambda run: run.fork(step=1, tools="cached"), "not a replay"),
        (lambda run: None, "return the replay"),
    ],
)
def test_10_wrong_ablations_get_a_hint(nb, answer, match):
    rejects(nb.checks.check_quiet_ablation, answer, match)


def _lima_reply():
    from haystack.dataclasses import ToolCall

    return ChatMessage.from_assistant(tool_calls=[ToolCall("get_weather", {"city": "Lima"})])


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda run: run.fork(step=1, reply=_lima_reply()), "inherited"),
        (lambda run: run.replay(), "not a fork"),
        (lambda run: run.fork(step=0, edit={"user_profile": {"name": "Ada"}}), "never asked for the weather in Lima"),
        (lambda run: run.recorder.run("What is the weather in Lima?"), "not a fork"),
    ],
)
def test_11_wrong_rescues_get_a_hint(nb, answer, match):
    rejects(nb.checks.check_rescue, answer, match)


def first_divergence_step(a, b):
    """12.1 wrong: the first divergence by compare's rules (a hook switched on shows there first)."""
    first = nb_compare(a, b).attrs["first_divergence"]
    return None if first is None else first["step"]


def nb_compare(a, b):
    from agent_nb import compare

    return compare(a, b)


def missing_in_b_only(a, b):
    """12.1 wrong: only events missing on b's side."""
    table = nb_compare(a, b)
    gone = table[table["status_b"].isna()]
    return None if gone.empty else int(gone["step"].min())


def natural_first_missing_step(a, b):
    """12.1 right, as a learner writes it: the frame's own min() (a numpy integer), no int()."""
    table = nb_compare(a, b)
    gone = table[table["status_a"].isna() | table["status_b"].isna()]
    return None if gone.empty else gone["step"].min()


def test_12_a_step_of_any_integer_type_is_accepted(nb, capsys):
    nb.checks.check_first_missing_step(natural_first_missing_step)
    nb.checks.check_first_missing_step(
        lambda a, b: None if (s := nb.nb12.first_missing_step(a, b)) is None else np.int32(s)
    )
    assert capsys.readouterr().out.count("OK: ") == 2


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (first_divergence_step, "first step with an event in one run only"),
        (missing_in_b_only, "swapped"),
        (lambda a, b: 3, "is None"),
        (lambda a, b: "3", "as an integer"),
    ],
)
def test_12_wrong_steps_get_a_hint(nb, answer, match):
    rejects(nb.checks.check_first_missing_step, answer, match)


def first_call_only(run, hook):
    """13.1 wrong: only the first recorded call is checked."""
    from agent_nb.testing import hook_case

    seq = int(run.timeline.query("name == 'RequireToolHook'")["seq"].iloc[0])
    return not hook_case(run, seq).check(hook)


def returns_the_difference(run, hook):
    """13.1 wrong: returns check()'s result, not a bool."""
    from agent_nb.testing import hook_case

    seq = int(run.timeline.query("name == 'RequireToolHook'")["seq"].iloc[0])
    return hook_case(run, seq).check(hook)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (first_call_only, "not only the first"),
        (returns_the_difference, "True or False"),
        (lambda run, hook: True, "you said True"),
    ],
)
def test_13_wrong_answers_get_a_hint(nb, answer, match):
    rejects(nb.checks.check_same_as_recorded, answer, match)


def with_baseline(table):
    """14.1 wrong: 'all on' compared with itself is kept in."""
    base = table[table["config"] == "all on"].set_index("prompt")["answer"]
    return {(r.prompt, r.config) for r in table.itertuples() if r.answer != base[r.prompt] or r.config == "all on"}


def by_position(table):
    """14.1 wrong: compares each row with the row above it (right only in the sweep's order)."""
    answers = list(table["answer"])
    return {(r.prompt, r.config) for i, r in enumerate(table.itertuples()) if i and answers[i] != answers[i - 1]}


def by_tokens(table):
    """14.1 wrong: a cost change taken for an answer change."""
    base = table[table["config"] == "all on"].set_index("prompt")["tokens"]
    return {(r.prompt, r.config) for r in table.itertuples() if r.config != "all on" and r.tokens != base[r.prompt]}


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (with_baseline, "baseline"),
        (by_position, "missing|not changed|baseline"),
        (by_tokens, "not changed"),
        (lambda table: list(table["prompt"]), "return a set"),
    ],
)
def test_14_wrong_answers_get_a_hint(nb, answer, match):
    rejects(nb.checks.check_changed_answers, answer, match)
