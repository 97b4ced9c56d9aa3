"""Property: recording is transparent. Random scripted scenarios give the same Agent result with and without it."""

from __future__ import annotations

from haystack.dataclasses import ChatMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_nb import Recorder
from scenarios import Boom, Mark, SetFlag, note, plan_prompt, scripted_agent

POINTS = ("before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run")

hook_factories = st.sampled_from(
    [
        lambda: Mark(),
        lambda: note,
        lambda: SetFlag("continue_run", True, times=1),
        lambda: SetFlag("stop_run", "stop", at=2),
    ]
)
plans = st.lists(st.sampled_from(["add", "mul", "fail", "add,mul", "text"]), min_size=1, max_size=5)
hook_layouts = st.lists(st.tuples(st.sampled_from(POINTS), hook_factories), max_size=5)


def build_hooks(layout) -> dict:
    hooks: dict = {}
    for point, factory in layout:
        hooks.setdefault(point, []).append(factory())
    return hooks


def normal(result: dict) -> dict:
    out = {k: v for k, v in result.items() if k not in ("messages", "last_message")}
    out["messages"] = [m.to_dict() for m in result["messages"]]
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans, layout=hook_layouts, max_steps=st.integers(min_value=0, max_value=6), disabled=st.booleans())
def test_recorded_result_equals_bare_result(plan, layout, max_steps, disabled):
    prompt = plan_prompt(*plan)
    bare_hooks = build_hooks(layout)
    if disabled:  # a switched-off hook must behave exactly as if it were not there
        bare_hooks = {}
    bare = scripted_agent(bare_hooks, max_agent_steps=max_steps).run(messages=[ChatMessage.from_user(prompt)])
    rec = Recorder(scripted_agent(build_hooks(layout), max_agent_steps=max_steps))
    if disabled:
        for slot in rec.hook_slots:
            rec.disable(slot.point, slot.name)
    run = rec.run(prompt)
    assert normal(run.result) == normal(bare)
    assert run.status == "ok"
    assert sum(e.kind == "llm" for e in run.events) == sum(m.role.value == "assistant" for m in bare["messages"])


@settings(max_examples=10, deadline=None)
@given(plan=plans, point=st.sampled_from(POINTS))
def test_a_raising_hook_raises_the_same_with_and_without_recorder(plan, point):
    prompt = plan_prompt(*plan)
    try:
        scripted_agent({point: [Boom()]}).run(messages=[ChatMessage.from_user(prompt)])
        bare_error = None
    except ValueError as exc:
        bare_error = str(exc)
    rec = Recorder(scripted_agent({point: [Boom()]}))
    try:
        rec.run(prompt)
        rec_error = None
    except ValueError as exc:
        rec_error = str(exc)
    assert rec_error == bare_error
    if bare_error:
        assert rec.last_run.status == "error" and rec.last_run.events[-1].status == "error"


# ---- the same property over the ways tools are given, async runs, tracing and switched-off hooks -----------------
import asyncio  # noqa: E402

from haystack import tracing  # noqa: E402
from haystack.components.agents import Agent  # noqa: E402
from haystack.components.generators.chat import MockChatGenerator  # noqa: E402
from haystack.tools import Toolset  # noqa: E402
from test_fidelity import LazyToolset, RecordingTracer  # noqa: E402

from scenarios import TOOLS, respond  # noqa: E402


def tools_given(form: str) -> tuple[dict, dict]:
    """(Agent kwargs, run kwargs) giving the scenario tools in one of the ways haystack accepts."""
    if form == "list":
        return {"tools": list(TOOLS)}, {}
    if form == "toolset":
        return {"tools": Toolset(list(TOOLS))}, {}
    if form == "lazy":
        lazy = LazyToolset()
        lazy.warm_up = lambda: setattr(lazy, "tools", list(TOOLS))  # loads the whole catalog at warm-up
        return {"tools": lazy}, {}
    return {"tools": [TOOLS[0]]}, {"tools": [Toolset(list(TOOLS[1:])), TOOLS[0]]}  # given at run time


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=plans,
    layout=hook_layouts,
    form=st.sampled_from(["list", "toolset", "lazy", "runtime"]),
    use_async=st.booleans(),
    off=st.sets(st.sampled_from(POINTS)),
)
def test_recorded_runs_match_bare_runs_in_result_and_span_tree(plan, layout, form, use_async, off):
    prompt = plan_prompt(*plan)
    bare_layout = [(p, f) for p, f in layout if p not in off]  # a switched-off hook is as if absent

    def run_once(recorded: bool):
        agent_kwargs, run_kwargs = tools_given(form)
        hooks = build_hooks(layout if recorded else bare_layout)
        agent = Agent(chat_generator=MockChatGenerator(response_fn=respond), hooks=hooks, **agent_kwargs)
        tracer = RecordingTracer()
        tracing.enable_tracing(tracer)
        try:
            if recorded:
                rec = Recorder(agent)
                for slot in rec.hook_slots:
                    if slot.point in off:
                        rec.disable(slot.point, slot.name)
                call = rec.run_async(prompt, **run_kwargs) if use_async else None
                result = (asyncio.run(call) if use_async else rec.run(prompt, **run_kwargs)).result
            else:
                messages = [ChatMessage.from_user(prompt)]
                coro = agent.run_async(messages=messages, **run_kwargs) if use_async else None
                result = asyncio.run(coro) if use_async else agent.run(messages=messages, **run_kwargs)
        finally:
            tracing.disable_tracing()
        return normal(result), tracer.tree()

    (bare_result, bare_tree), (rec_result, rec_tree) = run_once(False), run_once(True)
    assert rec_result == bare_result
    assert rec_tree == bare_tree
