"""The timeline's derived columns (changed keys, message counts, flow, summary), built column-wise with work
shared between events, are exactly what a plain re-derivation from each event's snapshots gives: on demo runs,
on adversarial State values and messages, and after the snapshots are dropped."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest
from haystack.components.agents import Agent
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.tools import tool
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_nb import Recorder, Run, Uncopyable
from agent_nb.demo import demo_agent
from agent_nb.recording import TIMELINE_SCHEMA, Event
from agent_nb.recording.diff import quick_repr
from agent_nb.recording.digest import LLMDetail
from agent_nb.recording.events import AGENT_KEYS, frame_of
from agent_nb.recording.values import MessageLog, same_value, short_repr
from scenarios import Boom, DropToolCalls, Mark, SetFlag, marks_everywhere, note, plan_prompt, scripted_agent

DERIVED = ["changed", "messages_added", "messages_removed", "flow", "summary"]


# ---- the reference: a naive re-derivation from the snapshots, with no shortcut, memo or fast path ---------------
def ref_changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Keys whose value differs (message logs compared message by message), then keys removed."""
    keys = []
    for key, value in after.items():
        if key not in before:
            keys.append(key)
        elif isinstance(value, MessageLog) and isinstance(before[key], MessageLog):
            old = list(before[key])
            if len(old) != len(value) or not all(same_value(a, b) for a, b in zip(old, value, strict=False)):
                keys.append(key)
        elif not same_value(before[key], value):
            keys.append(key)
    return keys + [k for k in before if k not in after]


def ref_counts(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int]:
    """(added, removed): what is left of each list once the common first and last messages are set aside."""
    old, new = list(before.get("messages") or []), list(after.get("messages") or [])
    prefix = 0
    while prefix < min(len(old), len(new)) and same_value(old[prefix], new[prefix]):
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and same_value(old[-1 - suffix], new[-1 - suffix]):
        suffix += 1
    return len(new) - prefix - suffix, len(old) - prefix - suffix


def ref_flow(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    stop = after.get("stop_run")
    if stop is not None and not same_value(stop, before.get("stop_run")):
        return f"stop_run:{stop}"
    return "continue_run" if after.get("continue_run") and not before.get("continue_run") else None


def ref_args(arguments: Any) -> str:
    if isinstance(arguments, dict):
        return ", ".join(f"{k}={short_repr(v, 200)}" for k, v in arguments.items())
    return "" if arguments is None else short_repr(arguments, 200)


def ref_message_text(message: Any, limit: int) -> str:
    """A message read through haystack's own properties."""
    if not isinstance(message, ChatMessage):
        return short_repr(message, limit)
    body = message.texts[0] if message.texts else ""
    if message.tool_calls:
        text = ", ".join(f"{tc.tool_name}({ref_args(tc.arguments)})" for tc in message.tool_calls)
        text = f"{body} {text}" if body else text
    elif message.tool_call_results:
        result = message.tool_call_results[0]
        text = f"{result.origin.tool_name} -> {result.result}" + (" (error)" if result.error else "")
    else:
        text = body
    text = " ".join(text.split())
    return text if len(text) <= limit else ref_cut(text, limit)


def ref_cut(text: str, limit: int) -> str:
    """At the last space if it keeps 60% of the room (and the cut is not right at a space), else mid-word."""
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit * 0.6 and text[limit - 1] != " ":
        head = head[:space]
    return head.rstrip() + "…"


def ref_summary(e: Event, derived: dict[str, Any]) -> str:
    """Tool and LLM lines re-derived here; a hook's line from the reference columns (its wording is summary.py's)."""
    detail = dict(e.detail)
    if e.kind == "tool":
        head = f"{e.name}({ref_args(detail.get('arguments'))})"
        if e.error:
            return f"{head} !! {e.error}"
        try:
            text = str(detail.get("result"))
        except Exception as exc:
            text = f"<{type(detail['result']).__name__}: str failed with {type(exc).__name__}>"
        text = " ".join(text.split())
        return f"{head} -> {text if len(text) <= 80 else ref_cut(text, 80)}"
    if e.kind == "llm":
        if e.error and not detail.get("empty_reply"):
            return f"raised {e.error}"
        if detail.get("replies") is None:
            return ""
        if detail.get("empty_reply"):
            return "(no reply: the generator returned no message, or only empty ones)"
        return " | ".join(ref_message_text(r, 100) for r in detail["replies"]) or (
            "(no reply: the generator returned no message, or only empty ones)"
        )
    # A lone event given the reference columns: nothing to share, nothing derived by the code under test.
    lone = Event(*head_of(e), **{k: derived[k] for k in DERIVED[:4]}, before=e.before, after=e.after)
    lone.error, lone.detail = e.error, e.detail
    return lone.summary


def reference(e: Event) -> dict[str, Any]:
    if e.before is None or e.after is None:
        derived: dict[str, Any] = {"changed": [], "messages_added": None, "messages_removed": None, "flow": None}
    else:
        added, removed = ref_counts(e.before, e.after)
        derived = {
            # An LLM or tool row's own change: the Agent's bookkeeping keys are its `agent_changed`.
            "changed": [k for k in ref_changed(e.before, e.after) if e.kind == "hook" or k not in AGENT_KEYS],
            "messages_added": added,
            "messages_removed": removed,
            "flow": ref_flow(e.before, e.after),
        }
    derived["summary"] = ref_summary(e, derived)
    return derived


# ---- helpers ------------------------------------------------------------------------------------------------
def head_of(e: Event) -> tuple[Any, ...]:
    return (e.run_id, e.seq, e.step, e.kind, e.hook_point, e.name, e.status, e.offset_ms, e.duration_ms)


def lazy_copy(e: Event, **given: Any) -> Event:
    """A fresh Event over the same snapshots and detail, derived columns not computed yet (unless given)."""
    return Event(
        *head_of(e),
        prompt_tokens=e.prompt_tokens,
        completion_tokens=e.completion_tokens,
        error=e.error,
        before=e.before,
        after=e.after,
        detail=e.detail,
        **given,
    )


def timeline_of(events: list[Event]) -> pd.DataFrame:
    return Run(run_id=events[0].run_id if events else "r", status="ok", events=events).timeline


def derived_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame[DERIVED].astype(object).to_dict("records")
    return [{k: (None if v is pd.NA else v) for k, v in row.items()} for row in rows]


def shown(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the frame shows it: text that is not UTF-8 (lone surrogates) escaped."""
    return {k: escaped(v) if isinstance(v, str) else v for k, v in row.items()}


def escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def assert_matches_reference(events: list[Event]) -> None:
    """The column-wise build, and each event read on its own, both give the reference values."""
    expected = [reference(e) for e in events]
    built = derived_rows(timeline_of([lazy_copy(e) for e in events]))
    for seq, (got, want) in enumerate(zip(built, expected, strict=True)):
        assert got == shown(want), f"event {seq} ({events[seq].kind} {events[seq].name}): {got} != {want}"
    one_by_one = [{k: getattr(lazy_copy(e), k) for k in DERIVED} for e in events]
    assert one_by_one == expected


# ---- recorded runs ----------------------------------------------------------------------------------------------
@tool
def list_files(path: str) -> str:
    """Lists a folder whose file names are not UTF-8."""
    return f"{path}:\nreport\udcff.txt  notes.md"


def surrogate_model(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
    if any(m.tool_call_result is not None for m in messages):
        return ChatMessage.from_assistant(f"found {messages[-1].tool_call_result.result}")
    return ChatMessage.from_assistant(tool_calls=[ToolCall("list_files", {"path": "/data\udcff"}, id="c0")])


class PutState:
    """before_llm: sets odd values into State, then changes and removes some of them on later steps."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, state: Any) -> None:
        self.calls += 1
        data = state.data
        if self.calls == 1:
            data["blob"] = np.arange(6)
            data["lock"] = threading.Lock()
            data["deep"] = [[[]]]
        elif self.calls == 2:
            data["blob"] = np.arange(6).reshape(2, 3)
            data["deep"] = [[["x"]]]
        elif self.calls == 3:
            data.pop("deep", None)


def recorded_runs() -> list[Run]:
    odd_schema = {"blob": {"type": Any}, "lock": {"type": Any}, "deep": {"type": Any}}
    day = {"today": "2025-01-31"}
    runs = [
        Recorder(demo_agent()).run("What is 2 + 3, and the weather in Paris?", hook_context=day),
        Recorder(demo_agent()).run("Weather in Paris and Tokyo, then save a note", hook_context=day),
        Recorder(scripted_agent(marks_everywhere())).run(plan_prompt("add,mul", "fail", "text")),
        Recorder(
            scripted_agent(
                {
                    "before_llm": [note, SetFlag("stop_run", "budget", at=2)],
                    "before_tool": [DropToolCalls(), Mark()],
                    "after_tool": [SetFlag("continue_run", True, at=1)],
                    "on_exit": [Boom()],
                }
            )
        ).run(plan_prompt("add", "mul", "add", "text")),
        Recorder(scripted_agent({"before_llm": [PutState()]}, state_schema=odd_schema)).run(
            plan_prompt("add", "mul", "add", "text")
        ),
        Recorder(Agent(chat_generator=MockChatGenerator(response_fn=surrogate_model), tools=[list_files])).run(
            "what is in /data?"
        ),
    ]
    assert all(run.status in ("ok", "stopped", "error") for run in runs)
    return runs


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    return recorded_runs()


def test_recorded_runs_have_the_derived_columns_a_plain_re_derivation_gives(runs: list[Run]) -> None:
    for run in runs:
        assert_matches_reference(run.events)
    changed = [k for run in runs for e in run.events for k in e.changed]
    # The runs cover what the columns must say: added and changed keys, removed keys, both flows.
    assert {"messages", "blob", "deep"} <= set(changed)
    assert "exit_reason" in {k for run in runs for e in run.events for k in e.agent_changed}
    flows = {e.flow for run in runs for e in run.events}
    assert {"continue_run", "stop_run:budget"} <= flows


def test_the_first_read_of_a_run_gives_the_values_of_the_reference(runs: list[Run]) -> None:
    for run in runs:
        events = [lazy_copy(e) for e in run.events]
        fresh = Run(run_id=run.run_id, status="ok", events=events)
        expected = [reference(e) for e in run.events]
        assert derived_rows(fresh.timeline) == [shown(row) for row in expected]
        # ... and the events keep what the first read derived.
        assert [{k: getattr(e, k) for k in DERIVED} for e in events] == expected


def test_without_snapshots_the_derived_columns_are_those_of_a_run_with_snapshots() -> None:
    def agent() -> Agent:
        hooks = {"before_llm": [note], "after_tool": [SetFlag("continue_run", True, at=1)], "on_exit": [Mark()]}
        return scripted_agent(hooks)

    with_snapshots = Recorder(agent()).run(plan_prompt("add", "mul,add", "text"))
    without = Recorder(agent(), snapshots="off").run(plan_prompt("add", "mul,add", "text"))
    assert all(e.before is None and e.after is None for e in without.events)
    assert derived_rows(without.timeline) == derived_rows(with_snapshots.timeline)
    assert derived_rows(with_snapshots.timeline) == [shown(reference(e)) for e in with_snapshots.events]


def test_a_live_view_reading_rows_that_wait_for_their_state_leaves_the_columns_right() -> None:
    """A tool row learns its `after` State once its whole batch is merged: a live view reading the row (and the
    frame) before that must not freeze what it read then (the row would say it changed nothing)."""
    seen_first = threading.Event()
    read_while_waiting: list[tuple[bool, list[str], int]] = []

    @tool
    def first(x: int) -> int:
        """Returns x."""
        return x

    @tool
    def second(x: int) -> int:
        """Returns x once the live view has read the row of `first` (its batch cannot be merged before)."""
        seen_first.wait(10)
        return x

    def model(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        if any(m.tool_call_result is not None for m in messages):
            return ChatMessage.from_assistant("done")
        calls = [ToolCall("first", {"x": 1}, id="c1"), ToolCall("second", {"x": 2}, id="c2")]
        return ChatMessage.from_assistant(tool_calls=calls)

    def live_view(run: Run, event: Event | None) -> None:
        if event is not None and event.name == "first":
            read_while_waiting.append((event.settled(), event.changed, len(run.timeline)))
            _ = event.messages_added, event.messages_removed, event.flow, event.summary
            seen_first.set()

    rec = Recorder(Agent(chat_generator=MockChatGenerator(response_fn=model), tools=[first, second]))
    rec.subscribe(live_view)
    run = rec.run("go")
    assert [settled for settled, _, _ in read_while_waiting] == [False]  # it was read while waiting
    assert derived_rows(run.timeline) == [shown(reference(e)) for e in run.events]
    row = next(e for e in run.events if e.name == "first")
    assert "messages" in row.changed and row.messages_added == 1


# ---- adversarial values -------------------------------------------------------------------------------------------
class Odd:
    """Cannot be compared or printed."""

    def __eq__(self, other: object) -> bool:
        raise TypeError("no comparing")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __hash__ = object.__hash__


def adversarial_states() -> list[dict[str, Any]]:
    """States as snapshots hold them, sharing unchanged values; every odd kind of value and message list."""
    user = ChatMessage.from_user("What is in /data\udcff?")
    call = ChatMessage.from_assistant(
        tool_calls=[ToolCall("ls", {"path": "/data\udcff", "n": 10**5000, "deep": [[1] * 50], "odd": Odd()}, id="c")]
    )
    result = ChatMessage.from_tool("report\udcff.txt\n\n  notes.md" * 20, origin=ToolCall("ls", {}, id="c"))
    log1 = MessageLog(None, (user,))
    log2 = MessageLog(log1, (call,))
    log3 = MessageLog(log2, (result,))
    arr, marker, odd = np.arange(6), Uncopyable("lock", "<unlocked _thread.lock>", "cannot pickle"), Odd()
    base = {"messages": log1, "step_count": 0, "blob": arr, "marker": marker, "odd": odd, "continue_run": False}
    base["profile"], base["text"] = {"name": "Bob", "tags": ["a"]}, "y" * 300
    states = [
        base,
        {**base, "messages": log2, "step_count": 1},  # appended (a log extending its base)
        {**base, "messages": log3, "blob": np.arange(6)},  # appended; an equal array, a new object
        {**base, "messages": log3, "blob": np.arange(6).reshape(2, 3)},  # same values, another shape
        {**base, "messages": MessageLog.from_parts([user, call], [result])},  # equal messages, no shared base
        {**base, "messages": [user, call, result]},  # a plain list of the same messages
        {**base, "messages": MessageLog(None, (user, ChatMessage.from_assistant("rewritten"), result))},  # replaced
        {**base, "messages": MessageLog(None, (ChatMessage.from_system("3 messages, compacted"),))},  # compacted
        {**base, "messages": MessageLog(None, (ChatMessage.from_system("note"), user, call))},  # inserted
        {**base, "marker": Uncopyable("lock", "<unlocked _thread.lock>", "cannot pickle")},  # an equal marker
        {**base, "odd": Odd(), "text": "x" * 300, "big": 10**5000},  # uncomparable; long text; unprintable int
        {k: v for k, v in base.items() if k not in ("blob", "marker")},  # removed keys
        {**base, "continue_run": True, "stop_run": "budget\udcff"},  # both flows
        {**base, "messages": [], "stop_run": None},  # an empty list
        {"step_count": 0},  # no messages at all
        {**base, "profile": {"name": "Bob", "tags": ["a"]}, "text": "y" * 300},  # equal values, new objects
        {**base, "profile": {"name": "Bob", "tags": ["b"]}, "text": "y" * 299},  # changed values
    ]
    return states


def adversarial_events() -> list[Event]:
    states = adversarial_states()
    events: list[Event] = []

    def add(kind: str, point: str | None, name: str, status: str = "ok", **kw: Any) -> None:
        seq = len(events)
        events.append(Event("adv", seq, 0, kind, point, name, status, float(seq), 0.5, **kw))

    # Every ordered pair of states, each twice (the second shares the first's pair), then pairs of one state.
    for i, before in enumerate(states):
        for j, after in enumerate(states):
            for _ in range(2):
                add("hook", "before_llm", f"h{i}_{j}", before=before, after=after)
    for s in states:
        add("hook", "after_tool", "same", before=s, after=s)
    add("hook", "after_tool", "none", before=None, after=states[0])
    # Rows whose columns do not come from their pair alone: skipped, raised, or given values.
    add("hook", "on_exit", "off", "skipped", before=states[0], after=states[1])
    add("hook", "on_exit", "boom", "error", error="ValueError: hook exploded", before=states[0], after=states[1])
    add("hook", "before_llm", "given", changed=["given"], messages_added=7, before=states[0], after=states[1])
    add("hook", "before_llm", "given_flow", flow="stop_run:given", before=states[0], after=states[12])
    # LLM rows: tool calls with odd arguments, text, an empty reply, an error, no replies recorded.
    calls = states[2]["messages"][1]
    replies = [calls, ChatMessage.from_assistant("two\n lines\udcff " + "y" * 200)]
    add("llm", None, "Gen", detail=LLMDetail(input_messages=[], tool_names=["ls"], replies=replies))
    add("llm", None, "Gen", detail=LLMDetail(replies=[], empty_reply=True), error="EmptyReply: no message")
    add("llm", None, "Gen", "error", error="TimeoutError: slow", detail=LLMDetail(input_messages=[]))
    add("llm", None, "Gen", detail={"replies": [ChatMessage.from_assistant("")]})
    add("llm", None, "Gen", detail={"replies": ["not a message", 42]})
    # Tool rows: odd arguments and results.
    add("tool", None, "ls", detail={"arguments": {"path": "/x\udcff", "n": 10**5000, "o": Odd()}, "result": "a\n b"})
    add("tool", None, "ls", detail={"arguments": '{"path": "/x"}', "result": ["r"] * 100})
    add("tool", None, "ls", "error", error="RuntimeError: boom", detail={"arguments": None})
    add("tool", None, "ls", detail={"arguments": {"s": "x" * 300, "f": 1.5, "b": True, "none": None}, "result": Odd()})
    return events


def test_adversarial_values_and_messages_give_the_derived_columns_of_the_reference() -> None:
    events = adversarial_events()
    assert_matches_reference(events)
    frame = timeline_of(events)  # the events themselves: some rows were given values
    by_name = frame.set_index("name")
    # A few values spelled out, so the reference itself is checked against what a reader expects.
    assert by_name.loc["h0_1"].iloc[0]["changed"] == ["messages", "step_count"]
    assert by_name.loc["h0_1"].iloc[0]["messages_added"] == 1
    assert by_name.loc["h2_3"].iloc[0]["changed"] == ["blob"]  # same numbers, another shape
    assert by_name.loc["h1_2"].iloc[0]["changed"] == ["messages", "step_count"]  # equal arrays are unchanged
    assert by_name.loc["h0_9"].iloc[0]["changed"] == []  # an equal marker is no change
    assert by_name.loc["h0_10"].iloc[0]["changed"] == ["odd", "text", "big"]
    assert by_name.loc["h0_15"].iloc[0]["changed"] == []  # equal values are no change
    assert by_name.loc["h15_16"].iloc[0]["changed"] == ["profile", "text"]
    assert by_name.loc["h0_11"].iloc[0]["changed"] == ["blob", "marker"]  # removed keys
    assert (by_name.loc["h2_7"].iloc[0]["messages_added"], by_name.loc["h2_7"].iloc[0]["messages_removed"]) == (1, 3)
    assert by_name.loc["h2_4"].iloc[0]["changed"] == []  # the same messages in a log of its own
    assert by_name.loc["given"]["changed"] == ["given"] and by_name.loc["given"]["messages_added"] == 7
    assert by_name.loc["given"]["summary"] == "given=None"  # its own columns, not those of its snapshot pair
    assert by_name.loc["given_flow"]["flow"] == "stop_run:given"
    assert by_name.loc["given_flow"]["summary"].endswith("stop_run:given")
    assert by_name.loc["off"]["summary"] == "switched off" and by_name.loc["boom"]["summary"].startswith("raised")


def test_events_sharing_a_snapshot_pair_get_lists_of_their_own() -> None:
    before, after = {"step_count": 0}, {"step_count": 1}
    events = [Event("r", i, 0, "hook", "before_llm", "h", "ok", 0.0, 0.1, before=before, after=after) for i in range(3)]
    frame = timeline_of(events)
    frame["changed"].iloc[0].append("mine")  # a caller editing one cell
    assert [e.changed for e in events[1:]] == [["step_count"], ["step_count"]]


def test_values_given_to_the_constructor_are_kept_as_given() -> None:
    before, after = {"messages": [], "step_count": 0}, {"messages": [ChatMessage.from_user("hi")], "step_count": 1}
    given = Event(
        "r", 0, 0, "hook", "before_llm", "h", "ok", 0.0, 0.1, changed=[], summary="told", before=before, after=after
    )
    lazy = Event("r", 1, 0, "hook", "before_llm", "h", "ok", 0.0, 0.1, before=before, after=after)
    frame = timeline_of([given, lazy])
    assert frame["changed"].tolist() == [[], ["messages", "step_count"]]
    assert frame["messages_added"].tolist() == [1, 1]  # not given: derived from the snapshots
    assert frame["summary"].tolist() == ["told", '+user: "hi", step_count=1']


def test_materialized_events_keep_their_values_once_the_snapshots_are_dropped() -> None:
    events = [lazy_copy(e) for e in adversarial_events()]
    expected = [shown(reference(e)) for e in events]
    for e in events:
        e.materialize()
        e.before = e.after = None
    assert derived_rows(timeline_of(events)) == expected


def test_the_frame_has_the_dtypes_and_values_of_the_schema_conversion(runs: list[Run]) -> None:
    """The fast column paths give what pandas' own conversion of the rows to the schema gives, NA included."""
    events = [lazy_copy(e) for e in runs[2].events]
    events[0].prompt_tokens, events[1].completion_tokens, events[2].prompt_tokens = 2**62, 0, 3.0
    events[3].offset_ms, events[4].duration_ms = 2, True  # an int and a bool where floats are expected
    events[2].hook_point = None  # a value outside the categories reads NA either way
    frame = timeline_of(events)
    pd.testing.assert_frame_equal(frame, frame_of([e.row() for e in events], TIMELINE_SCHEMA))


@pytest.mark.parametrize("tokens", [2**70, 3.5, "12"], ids=["beyond-int64", "fraction", "text"])
def test_numbers_pandas_refuses_or_converts_are_refused_or_converted_alike(tokens: Any) -> None:
    event = Event("r", 0, 0, "llm", None, "Gen", "ok", 0.0, 0.1, prompt_tokens=tokens, summary="")
    try:
        expected = frame_of([event.row()], TIMELINE_SCHEMA)
    except Exception as exc:  # pandas refuses it: so does the timeline, with the same error
        with pytest.raises(type(exc)):
            timeline_of([event])
    else:
        pd.testing.assert_frame_equal(timeline_of([event]), expected)


def test_text_that_is_not_utf8_shows_escaped_in_string_columns() -> None:
    event = Event("r", 0, 0, "tool", None, "ls\udcff", "ok", 0.0, 0.1, summary="report\udcff.txt")
    frame = timeline_of([event])
    assert frame["summary"].tolist() == ["report\\udcff.txt"] and frame["name"].tolist() == ["ls\\udcff"]
    assert str(frame["summary"].dtype) == "string"


values = st.one_of(
    st.text(),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.binary(),
    st.lists(st.integers(), max_size=40),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(value=values, limit=st.integers(min_value=2, max_value=250))
def test_quick_repr_is_short_repr(value: Any, limit: int) -> None:
    assert quick_repr(value, limit) == short_repr(value, limit)


EDGES = [10**5000, -(10**300), "x" * 199, "x" * 200, "x" * 201, "x" * 250 + "'", "\udcff" * 60, "\n" * 150, 1e308]
EDGES.append(Odd())


@pytest.mark.parametrize("value", EDGES, ids=[f"edge{i}" for i in range(len(EDGES))])
def test_quick_repr_is_short_repr_at_the_edges(value: Any) -> None:
    assert quick_repr(value, 200) == short_repr(value, 200)
