"""Breakpoints: a live run pauses at hook points, hooks, LLM and tool calls; the user looks, edits, steps, skips,
resumes or aborts; the edits are recorded, saved, loaded and re-applied by a replay (issue 20)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest
from haystack.dataclasses import ChatMessage

from agent_nb import Recorder, demo_agent
from agent_nb.recording.breaks import SKIPPED_LLM_TEXT, SKIPPED_TOOL_RESULT
from agent_nb.replay import InvalidEdit, compare
from agent_nb.replay.live import Pause
from scenarios import Boom, plan_prompt, scripted_agent

T = 60  # seconds: generous bounds on waits for conditions, never sleeps


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def use_async(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture
def rec() -> Recorder:
    return Recorder(demo_agent())


def paused(live) -> Pause:
    pause = live.wait_paused(timeout=T)
    assert pause is not None, f"the run did not pause (status {live.status})"
    return pause


def test_edit_a_pending_tool_call_changes_the_answer(rec: Recorder, use_async: bool) -> None:
    rec.break_at("tool", name="add")
    live = rec.start("What is 2 + 3?", use_async=use_async)
    pause = paused(live)
    assert (pause.point, pause.name, pause.kind, pause.step) == ("tool", "add", "tool", 0)
    assert pause.tool_calls[0]["tool_name"] == "add" and pause.tool_calls[0]["arguments"] == {"a": 2, "b": 3}
    assert pause.seq == len(live.run.events)
    live.edit(arguments={"a": 2, "b": 40})
    live.resume()
    run = live.wait(timeout=T)
    assert run.status == "ok"
    assert run.final_answer.startswith("2 + 3 = 42")
    edits = run.timeline.query("kind == 'edit'")
    assert len(edits) == 1 and "{'a': 2, 'b': 40}" in edits["summary"].iloc[0]
    tool_row = run.timeline.query("kind == 'tool' and name == 'add'").iloc[0]
    assert tool_row["summary"] == "add(a=2, b=40) -> 42"


def test_before_tool_point_shows_pending_calls_and_edits_them_in_the_state(rec: Recorder, use_async: bool) -> None:
    rec.break_at("before_tool")
    live = rec.start("What is 2 + 3?", use_async=use_async)
    pause = paused(live)
    assert (pause.point, pause.name, pause.kind) == ("before_tool", None, "point")
    assert [c["arguments"] for c in pause.tool_calls] == [{"a": 2, "b": 3}]
    live.edit(arguments={0: {"a": 2, "b": 4}})
    assert paused(live).tool_calls[0]["arguments"] == {"a": 2, "b": 4}  # the pause shows the edit
    rec.clear_breakpoints()  # applies to the live run at once: no pause at the next step's before_tool
    live.resume()
    run = live.wait(timeout=T)
    assert run.final_answer.startswith("2 + 4 = 6")  # the scripted model reads the arguments
    edit = run.timeline.query("kind == 'edit'").iloc[0]
    assert edit["changed"] == ["messages"] and edit["name"] == "before_tool"


def test_step_goes_from_boundary_to_boundary(rec: Recorder, use_async: bool) -> None:
    rec.break_at("before_llm", name="inject_date")
    live = rec.start("What is 2 + 3?", use_async=use_async)
    places = []
    pause = paused(live)
    for _ in range(4):
        places.append((pause.kind, pause.point, pause.name))
        live.step()
        pause = paused(live)
    live.abort()
    assert places == [
        ("hook", "before_llm", "inject_date"),
        ("hook", "before_llm", "inject_user_profile"),
        ("llm", "llm", "ScriptedChatGenerator"),
        ("point", "before_tool", None),
    ]
    assert live.wait(timeout=T).status == "aborted"


def test_state_edit_while_paused_is_what_the_next_event_sees(rec: Recorder, use_async: bool) -> None:
    rec.break_at("before_llm", name="inject_user_profile")
    live = rec.start("What is 2 + 3?", use_async=use_async)
    pause = paused(live)
    assert "user_profile" not in pause.state or not pause.state["user_profile"]
    pause.state["messages"].clear()  # a private copy: the run does not see this
    live.edit({"user_profile": {"name": "Ada"}})
    rec.clear_breakpoints()
    live.resume()
    run = live.wait(timeout=T)
    hook = run.timeline.query("name == 'inject_user_profile'").iloc[0]
    assert "User name: Ada" in hook["summary"]
    assert run.state_at(int(hook["seq"]))["user_profile"] == {"name": "Ada"}


def test_llm_input_is_shown_and_editable(rec: Recorder, use_async: bool) -> None:
    rec.break_at("llm")
    live = rec.start("What is 2 + 3?", use_async=use_async)
    pause = paused(live)
    assert pause.llm_input[-1].text == "What is 2 + 3?"
    messages = [*pause.llm_input[:-1], ChatMessage.from_user("What is 20 + 3?")]
    live.edit(llm_input=messages)
    rec.clear_breakpoints()
    live.resume()
    run = live.wait(timeout=T)
    llm = run.event(int(run.timeline.query("kind == 'llm'")["seq"].iloc[0]))
    assert llm.detail["input_messages"][-1].text == "What is 20 + 3?"
    assert run.final_answer.startswith("20 + 3 = 23")


def test_conditional_breakpoint_on_the_state(rec: Recorder, use_async: bool) -> None:
    rec.break_at("before_llm", when=lambda state: state["step_count"] == 1)
    live = rec.start("What is 2 + 3?", use_async=use_async)
    assert paused(live).step == 1
    live.resume()
    assert live.wait_paused(timeout=T) is None
    assert live.wait(timeout=T).status == "ok"


def test_a_condition_that_raises_is_not_hit_and_warned_once(rec: Recorder) -> None:
    rec.break_at("before_llm", when=lambda state: state["no_such_key"])
    live = rec.start("What is 2 + 3?")
    assert live.wait_paused(timeout=T) is None
    run = live.wait(timeout=T)
    assert run.status == "ok"
    warned = [w for w in run.warnings if "no_such_key" in w]
    assert len(warned) == 1 and "treated as not hit" in warned[0]


def test_on_error_pauses_after_a_hook_raised(use_async: bool) -> None:
    rec = Recorder(scripted_agent(hooks={"before_tool": [Boom()]}))
    rec.break_at(on_error=True)
    live = rec.start(plan_prompt("add", "text"), use_async=use_async)
    pause = paused(live)
    assert (pause.point, pause.name) == ("before_tool", "Boom")
    assert pause.error == "ValueError: hook exploded"
    with pytest.raises(ValueError, match="nothing to skip"):
        live.skip()
    live.resume()
    run = live.wait(timeout=T)
    assert run.status == "error" and "hook exploded" in run.error


def test_on_error_pauses_after_a_tool_raised(use_async: bool) -> None:
    rec = Recorder(scripted_agent())
    rec.break_at("tool", on_error=True)
    live = rec.start(plan_prompt("fail", "text"), use_async=use_async)
    pause = paused(live)
    assert (pause.kind, pause.name) == ("tool", "fail") and "boom" in pause.error
    live.resume()
    assert live.wait(timeout=T).status == "ok"  # haystack turned the error into a tool result


def test_skip_a_hook_a_tool_and_an_llm_call(rec: Recorder, use_async: bool) -> None:
    rec.break_at("before_llm", name="inject_date")
    rec.break_at("tool", name="add")
    live = rec.start("What is 2 + 3?", use_async=use_async)
    assert paused(live).name == "inject_date"
    live.skip()
    assert paused(live).name == "add"
    rec.clear_breakpoints()
    rec.break_at("before_llm", name="inject_date", when=lambda s: s["step_count"] == 1)
    live.skip()
    assert paused(live).name == "inject_date"  # step 1
    live.step()
    assert paused(live).name == "inject_user_profile"  # each command returns at once: wait for the pause
    live.step()
    assert paused(live).kind == "llm"
    live.skip()
    run = live.wait(timeout=T)
    tl = run.timeline
    skipped = tl.query("status == 'skipped'")
    assert list(skipped["kind"]) == ["hook", "tool", "llm"]
    assert skipped["summary"].iloc[0] == "skipped by hand"
    assert SKIPPED_TOOL_RESULT in skipped["summary"].iloc[1]
    assert SKIPPED_LLM_TEXT in skipped["summary"].iloc[2]  # its reply says so (then on_exit asks for a note)
    llm_rows = tl["kind"].tolist().count("llm")
    assert run.usage["llm_calls"] == llm_rows - 1  # the skipped call never reached the generator


def test_skip_before_a_point_skips_its_hooks(rec: Recorder) -> None:
    rec.break_at("before_llm")
    live = rec.start("What is 2 + 3?")
    paused(live)
    rec.clear_breakpoints()
    live.skip()
    run = live.wait(timeout=T)
    step0 = run.timeline.query("hook_point == 'before_llm' and step == 0")
    assert set(step0["status"]) == {"skipped"} and set(step0["summary"]) == {"skipped by hand"}


def test_abort_while_paused_keeps_the_partial_run(rec: Recorder, use_async: bool) -> None:
    rec.break_at("before_tool")
    live = rec.start("What is 2 + 3?", use_async=use_async)
    paused(live)
    live.abort()
    run = live.wait(timeout=T)
    assert run.status == "aborted" and "aborted by hand at before_tool, step 0" in run.error
    assert run.timeline["kind"].tolist().count("llm") == 1
    assert run in rec.runs and live.status == "aborted"


def test_abort_during_a_tool_call_takes_effect_at_the_next_boundary() -> None:
    from haystack.tools import tool

    started, release = threading.Event(), threading.Event()

    @tool
    def add(a: int, b: int) -> int:
        """Add, slowly."""
        started.set()
        assert release.wait(T)
        return a + b

    from haystack.components.agents import Agent
    from haystack.components.generators.chat import MockChatGenerator

    from scenarios import respond

    rec = Recorder(Agent(chat_generator=MockChatGenerator(response_fn=respond), tools=[add]))
    rec.break_at("llm", when=lambda s: False)  # a breakpoint that never fires: the run is live
    live = rec.start(plan_prompt("add", "text"))
    assert started.wait(T)
    live.abort()
    release.set()
    run = live.wait(timeout=T)
    assert run.status == "aborted"
    tl = run.timeline
    assert tl.query("kind == 'tool'")["status"].tolist() == ["ok"]  # the call in progress finished
    assert tl["kind"].tolist().count("llm") == 1  # nothing after it ran


def test_a_bad_edit_applies_nothing_and_stays_paused(rec: Recorder) -> None:
    rec.break_at("tool", name="add")
    live = rec.start("What is 2 + 3?")
    pause = paused(live)
    with pytest.raises(InvalidEdit, match="unknown State key 'nope'"):
        live.edit({"nope": 1})
    with pytest.raises(InvalidEdit, match="has no argument 'c'; its arguments: a, b") as info:
        live.edit(arguments={"c": 1})
    assert info.value.field == "arguments"  # what a form marks, whatever the message says
    with pytest.raises(InvalidEdit, match="messages\\[0\\] is a str"):
        live.edit({"messages": ["hi"]})
    with pytest.raises(InvalidEdit, match="no LLM call is pending"):
        live.edit(llm_input=[ChatMessage.from_user("x")])
    assert live.status == "paused" and live.paused == pause and len(live.run.events) == pause.seq
    live.resume()
    run = live.wait(timeout=T)
    assert "edit" not in run.timeline["kind"].tolist() and run.final_answer.startswith("2 + 3 = 5")


def test_commands_need_a_pause(rec: Recorder) -> None:
    live = rec.start("What is 2 + 3?")
    run = live.wait(timeout=T)
    for command in (live.resume, live.step, live.skip, lambda: live.edit({"user_profile": {}})):
        with pytest.raises(RuntimeError, match="the live run is ended"):
            command()
    live.abort()  # no effect once ended
    assert run.status == "ok"


def test_unknown_names_are_refused_naming_the_valid_ones(rec: Recorder) -> None:
    with pytest.raises(ValueError, match="unknown breakpoint point 'before_tol'; valid points: before_run, "):
        rec.break_at("before_tol")
    with pytest.raises(ValueError, match="no hook at 'before_llm' named 'x'; valid names: inject_date, inject_user"):
        rec.break_at("before_llm", name="x")
    with pytest.raises(ValueError, match="no tool named 'sub'; valid names: add, multiply"):
        rec.break_at("tool", name="sub")
    with pytest.raises(ValueError, match="on_error=True"):
        rec.break_at()
    with pytest.raises(TypeError, match="when must be a function"):
        rec.break_at("llm", when="state['step_count'] == 1")
    assert rec.breakpoints == []


def test_rec_run_refuses_breakpoints_before_the_run_starts(rec: Recorder) -> None:
    rec.break_at("before_tool")
    with pytest.raises(RuntimeError, match=r"Use live = rec.start\(\.\.\.\)"):
        rec.run("What is 2 + 3?")
    with pytest.raises(RuntimeError, match="Workbench"):
        asyncio.run(rec.run_async("What is 2 + 3?"))
    assert rec.runs == []
    rec.clear_breakpoints()
    assert rec.run("What is 2 + 3?").status == "ok"


def test_breakpoints_that_never_fire_change_nothing(rec: Recorder, use_async: bool) -> None:
    bare = rec.run("Weather in Paris and Tokyo, then save a note")
    rec.break_at("tool", name="add")  # the run calls no add
    rec.break_at("before_llm", when=lambda s: s["step_count"] > 99)
    live = rec.start("Weather in Paris and Tokyo, then save a note", use_async=use_async)
    run = live.wait(timeout=T)
    cols = ["seq", "step", "kind", "hook_point", "name", "status", "changed", "summary"]
    assert run.timeline[cols].astype(str).values.tolist() == bare.timeline[cols].astype(str).values.tolist()
    assert run.result["messages"] == bare.result["messages"]


def test_edit_rows_are_saved_loaded_and_replayed_without_pausing(rec: Recorder, tmp_path) -> None:
    rec.break_at("before_llm", name="inject_user_profile")
    rec.break_at("tool", name="add")
    live = rec.start("What is 2 + 3?")
    paused(live)
    live.edit({"user_profile": {"name": "Ada"}})
    live.resume()
    paused(live)
    live.edit(arguments={"a": 2, "b": 40})
    live.resume()
    paused(live)  # step 1's inject_user_profile
    rec.clear_breakpoints()
    live.skip()
    run = live.wait(timeout=T)
    kinds = run.timeline["kind"].tolist()
    assert kinds.count("edit") == 2

    loaded = type(run).load(run.save(tmp_path / "edited.json.gz"))
    cols = ["seq", "kind", "name", "status", "changed", "summary"]
    assert loaded.timeline[cols].astype(str).values.tolist() == run.timeline[cols].astype(str).values.tolist()
    assert loaded.status == "ok"

    rec.break_at("llm")  # replays never pause
    for source in (run, loaded):
        again = source.replay(recorder=rec) if source is loaded else source.replay()
        assert again.final_answer == run.final_answer
        assert again.usage["llm_calls"] == 0  # every LLM input matched the recording
        same = ["seq", "kind", "name", "changed", "summary"]  # LLM rows read `cached` in the replay
        assert again.timeline[same].astype(str).values.tolist() == run.timeline[same].astype(str).values.tolist()
        aligned = compare(run, again)
        assert not aligned["first_divergence"].any()
        assert "edit" in set(aligned["kind"].astype(str))


def test_abort_status_is_saved_and_loaded(rec: Recorder, tmp_path) -> None:
    rec.break_at("llm")
    live = rec.start("What is 2 + 3?")
    paused(live)
    live.abort()
    run = live.wait(timeout=T)
    assert type(run).load(run.save(tmp_path / "aborted.json")).status == "aborted"


def test_concurrent_live_runs_pause_independently(rec: Recorder) -> None:
    rec.break_at("tool")
    first = rec.start("What is 2 + 3?")
    second = rec.start("What is 4 + 5?", use_async=True)
    a, b = paused(first), paused(second)
    assert a.tool_calls[0]["arguments"] == {"a": 2, "b": 3} and b.tool_calls[0]["arguments"] == {"a": 4, "b": 5}
    rec.clear_breakpoints()
    second.edit(arguments={"a": 4, "b": 6})
    second.resume()
    assert second.wait(timeout=T).final_answer.startswith("4 + 5 = 10")
    assert first.status == "paused"  # still waiting for its own command
    first.resume()
    assert first.wait(timeout=T).final_answer.startswith("2 + 3 = 5")


def test_a_paused_async_run_does_not_block_its_loop(rec: Recorder) -> None:
    rec.break_at("before_tool")

    async def main() -> tuple[int, str]:
        ticks = 0
        live = rec.start("What is 2 + 3?", loop=asyncio.get_running_loop())

        async def other_task() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other_task())
        pause = await live.wait_paused_async(timeout=T)
        assert pause is not None and live.status == "paused"
        before = ticks
        while ticks < before + 100:  # the loop goes on while the run is paused on it
            await asyncio.sleep(0)
        rec.clear_breakpoints()
        live.resume()
        run = await live.wait_async(timeout=T)
        task.cancel()
        return ticks, run.status

    ticks, status = asyncio.run(main())
    assert ticks >= 100 and status == "ok"


def test_listeners_hear_pauses_resumes_and_the_end(rec: Recorder) -> None:
    heard: list[tuple[str, str | None]] = []
    done = threading.Event()
    rec.break_at("before_tool")
    live = rec.start("What is 2 + 3?")

    def listener(live_run, what, pause) -> None:
        heard.append((what, pause.point if pause else None))
        if what == "ended":
            done.set()

    live.subscribe(listener)
    paused(live)  # it may have paused before the listener subscribed
    rec.clear_breakpoints()
    live.step()
    paused(live)
    live.resume()
    live.wait(timeout=T)
    assert done.wait(T)
    assert ("resumed", None) in heard and ("paused", "tool") in heard and heard[-1] == ("ended", None)


def test_close_while_paused_ends_the_worker(rec: Recorder) -> None:
    rec.break_at("before_tool")
    live = rec.start("What is 2 + 3?", use_async=True)
    paused(live)
    live.close(timeout=T)
    assert live.status == "aborted"


def test_interpreter_exit_while_paused_does_not_hang(tmp_path) -> None:
    script = (
        "from agent_nb import Recorder, demo_agent\n"
        "rec = Recorder(demo_agent()); rec.break_at('before_tool')\n"
        "live = rec.start('What is 2 + 3?'); assert live.wait_paused(timeout=60) is not None\n"
        "print('paused', flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "paused"


def test_edit_rows_export_as_their_own_spans(rec: Recorder) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    rec.break_at("tool", name="add")
    live = rec.start("What is 2 + 3?")
    paused(live)
    rec.clear_breakpoints()
    live.edit(arguments={"a": 2, "b": 40})
    live.resume()
    run = live.wait(timeout=T)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    run.to_otel(provider)
    edits = [s for s in exporter.get_finished_spans() if s.name == "agent_nb.edit"]
    assert len(edits) == 1 and edits[0].attributes["agent_nb.edit.at"] == "tool add"
    assert "b': 40" in edits[0].attributes["agent_nb.event.summary"]


def test_a_kernel_subshell_resumes_a_run_its_main_shell_waits_for(tmp_path) -> None:
    """What ipykernel 7 subshells allow: a cell blocked on `live.wait()` holds the main shell, and a request sent to
    a subshell (as JupyterLab >= 4.4 sends comm messages) edits and resumes the paused run meanwhile."""
    pytest.importorskip("ipykernel.subshell")
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        kc.control_channel.send(kc.session.msg("create_subshell_request", {}))
        subshell_id = kc.control_channel.get_msg(timeout=T)["content"]["subshell_id"]
        setup = (
            "import threading\nfrom agent_nb import Recorder, demo_agent\n"
            "rec = Recorder(demo_agent()); rec.break_at('tool', name='add'); ready = threading.Event()"
        )
        kc.execute(setup, reply=True, timeout=T)

        def request(code: str, subshell: str | None = None) -> str:
            content = {"code": code, "silent": False, "store_history": False, "user_expressions": {}}
            msg = kc.session.msg("execute_request", {**content, "allow_stdin": False, "stop_on_error": True})
            if subshell is not None:
                msg["header"]["subshell_id"] = subshell
            kc.shell_channel.send(msg)
            return msg["header"]["msg_id"]

        main = request("live = rec.start('What is 2 + 3?'); ready.set(); answer = live.wait(timeout=60).final_answer")
        sub = request(
            "assert ready.wait(60); live.wait_paused(60); live.edit(arguments={'a': 2, 'b': 40}); live.resume()",
            subshell_id,
        )
        statuses = {}
        while len(statuses) < 2:
            reply = kc.get_shell_msg(timeout=2 * T)
            statuses[reply["parent_header"]["msg_id"]] = reply["content"]["status"]
        assert statuses == {main: "ok", sub: "ok"}
        reply = kc.execute("answer", reply=True, user_expressions={"a": "answer"}, timeout=T)
        assert "2 + 3 = 42" in reply["content"]["user_expressions"]["a"]["data"]["text/plain"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_on_error_pauses_after_an_llm_call_raised(use_async: bool) -> None:
    from haystack.components.agents import Agent
    from haystack.components.generators.chat import MockChatGenerator

    def broken(messages, tools=None):
        raise RuntimeError("model down")

    rec = Recorder(Agent(chat_generator=MockChatGenerator(response_fn=broken)))
    rec.break_at("llm", on_error=True)
    live = rec.start("hi", use_async=use_async)
    pause = paused(live)
    assert (pause.kind, pause.error) == ("llm", "RuntimeError: model down")
    assert pause.llm_input[-1].text == "hi"
    live.resume()
    run = live.wait(timeout=T)
    assert run.status == "error" and run.timeline["status"].tolist()[-1] == "error"


def test_an_edit_row_sits_where_the_run_paused_not_after_the_persons_time() -> None:
    rec = Recorder(demo_agent())
    rec.break_at("tool", name="add")
    live = rec.start("What is 2 + 3?")
    paused(live)
    time.sleep(0.3)  # the person thinking: simulated time that must not reach the run's clock
    live.edit(arguments={"a": 2, "b": 40})
    rec.clear_breakpoints()
    live.resume()
    run = live.wait(timeout=T)
    edit = next(e for e in run.events if e.kind == "edit")
    assert run.duration_ms < 300 and edit.offset_ms <= run.duration_ms
    later = [e for e in run.events if e.seq > edit.seq]
    assert all(e.offset_ms >= edit.offset_ms for e in later)
