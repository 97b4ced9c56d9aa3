"""The private haystack seams agent_nb stands on (`agent_nb/recording/seams.py`), pinned against the installed haystack.

Each seam is checked for existence, exact parameters, and the behaviour the Recorder relies on: the Agent reaches
hooks and tools through the module-level names agent_nb replaces, with the arguments its replacements take;
haystack's hook loop runs hooks in list order, one span each (agent_nb's copy of that loop must match it); a
served tool error reads as haystack's own. When a haystack release changes one, the failure names the seam and
what changed. CI runs this file on the oldest haystack-ai we claim and on the newest pre-release too.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import subprocess
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest
from haystack import tracing
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage, TextContent, ToolCall
from haystack.tools import Tool
from haystack.tools.errors import ToolInvocationError
from test_fidelity import RecordingTracer

from agent_nb.recording import interception, seams
from agent_nb.recording.seams import SEAMS, HaystackSeamError, Seam
from scenarios import Mark, add, plan_prompt, scripted_agent

VERSION = seams.haystack_version()
HOOK_POINTS = ("before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run")
AGENT = importlib.import_module("haystack.components.agents.agent")
TOOL_CALLING = importlib.import_module("haystack.components.agents.tool_calling")


def contract_problems(s: Seam, module: Any) -> list[str]:
    """What differs from the declared seam, strictly: a function's parameters must be exactly the declared ones."""
    found = seams.problem(s, module)
    if found is not None:
        return [found]
    if s.kind != "attribute":
        names = seams.params(getattr(module, s.name))
        if names != s.params:
            declared, found = ", ".join(s.params), ", ".join(names)
            return [f"{s.qualname} gained parameters: declared ({declared}), haystack has ({found})"]
    return []


def haystack_original(name: str) -> Any:
    """haystack's own function, whether or not a Recorder has put agent_nb's in its place already."""
    module = AGENT if name.startswith("run_hooks") else TOOL_CALLING
    attr = {"run_hooks": "_run_hooks", "run_hooks_async": "_run_hooks_async", "invoke": "_make_context_bound_invoke",
            "invoke_async": "_make_bounded_invoke_async"}[name]  # fmt: skip
    return interception._ORIGINAL.get(name, getattr(module, attr))


def fail(seam: str, what: str) -> str:
    return f"haystack-ai {VERSION}: {seam}: {what}"


# ---- existence and parameters ----------------------------------------------------------------------------------
@pytest.mark.parametrize("s", SEAMS, ids=lambda s: s.qualname)
def test_each_seam_exists_with_the_declared_parameters(s: Seam):
    module = importlib.import_module(s.module)
    if s.kind == "replaced":  # checked on haystack's own function, not on agent_nb's replacement
        module = types.SimpleNamespace(**{s.name: haystack_original(_original_key(s.name))})
    problems = contract_problems(s, module)
    assert not problems, f"haystack-ai {VERSION}: {'; '.join(problems)} (agent_nb {s.use})"


def _original_key(name: str) -> str:
    return {"_run_hooks": "run_hooks", "_run_hooks_async": "run_hooks_async", "_make_context_bound_invoke": "invoke",
            "_make_bounded_invoke_async": "invoke_async"}[name]  # fmt: skip


def test_the_checker_names_the_seam_and_what_changed():
    """A fake haystack module with one changed and one missing seam: the messages say which and how."""
    fake = types.ModuleType(AGENT.__name__)
    fake._run_hooks = lambda hooks, point, state: None
    changed = contract_problems(seams.seam(AGENT.__name__, "_run_hooks"), fake)
    assert changed == [
        "haystack.components.agents.agent._run_hooks changed its parameters: agent_nb is called with "
        "(hooks, hook_point, state), haystack has (hooks, point, state)"
    ]
    missing = contract_problems(seams.seam(AGENT.__name__, "_run_hooks_async"), fake)
    assert missing == ["haystack.components.agents.agent._run_hooks_async is missing"]
    fake._validate_hooks = lambda hooks, strict=False: None  # a new parameter with a default: still callable
    assert seams.problem(seams.seam(AGENT.__name__, "_validate_hooks"), fake) is None
    assert contract_problems(seams.seam(AGENT.__name__, "_validate_hooks"), fake) == [
        "haystack.components.agents.agent._validate_hooks gained parameters: declared (hooks), haystack has "
        "(hooks, strict)"
    ]
    without_meta = staticmethod(lambda text: types.SimpleNamespace(_content=[]))
    no_meta = types.SimpleNamespace(ChatMessage=type("ChatMessage", (), {"from_user": without_meta}))
    assert contract_problems(seams.seam("haystack.dataclasses", "_meta"), no_meta) == [
        "haystack.dataclasses.ChatMessage._meta is missing (a ChatMessage no longer holds _meta in its __dict__)"
    ]


def test_the_declared_range_is_the_dependency_in_pyproject():
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert f'"haystack-ai{seams.HAYSTACK_RANGE}"' in pyproject


def test_importing_agent_nb_without_a_seam_fails_naming_it_and_the_versions_needed():
    code = (
        "import haystack.components.agents.tool_calling as t\n"
        "del t._make_bounded_invoke_async\n"
        "import agent_nb.recording\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("agent_nb.recording.seams.HaystackSeamError: agent_nb needs haystack-ai>=3.4,<3.6;")
    assert f"the installed haystack-ai {VERSION} does not fit" in last
    assert "haystack.components.agents.tool_calling._make_bounded_invoke_async is missing" in last
    assert "AttributeError" not in done.stderr


def test_a_broken_seam_raises_an_agent_nb_error():
    from agent_nb.errors import AgentNbError

    broken = Seam("haystack.components.agents.agent", "_no_such_function", "called", (), "does nothing")
    with pytest.raises(HaystackSeamError, match=r"_no_such_function is missing") as info:
        seams.resolve(broken)
    assert isinstance(info.value, AgentNbError) and isinstance(info.value, ImportError)


# ---- behaviour: the hook loop ------------------------------------------------------------------------------------
class Named:
    """A hook that appends its name to a shared list, with the thread it ran on."""

    def __init__(self, name: str, seen: list[str]) -> None:
        self.name, self.seen = name, seen

    def run(self, state: State) -> None:
        self.seen.append(self.name)


def _spans_of_hooks(tracer: RecordingTracer) -> list[tuple[str, str | None, str]]:
    return [
        (s.tags["haystack.agent.hook.point"], s.parent.name if s.parent else None, s.tags["haystack.agent.hook.type"])
        for s in tracer.spans
        if s.name == "haystack.agent.hook"
    ]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_hooks_run_in_list_order_one_span_each_under_the_current_span(flavour):
    """agent_nb's `_recorded_calls` copies this loop: list order, one `_create_hook_span` per hook, parent read once."""
    seen: list[str] = []
    hooks = {"before_llm": [Named(n, seen) for n in "abc"], "after_tool": [Named("x", seen)]}
    tracer = RecordingTracer()
    tracing.enable_tracing(tracer)
    try:
        with tracing.tracer.trace("outer"):
            state = State(schema={})
            if flavour == "sync":
                haystack_original("run_hooks")(hooks=hooks, hook_point="before_llm", state=state)
            else:
                asyncio.run(haystack_original("run_hooks_async")(hooks=hooks, hook_point="before_llm", state=state))
    finally:
        tracing.disable_tracing()
    seam = f"haystack.components.agents.agent._run_hooks{'_async' if flavour == 'async' else ''}"
    assert seen == ["a", "b", "c"], fail(seam, f"hooks no longer run in list order, only at their point: {seen}")
    assert _spans_of_hooks(tracer) == [("before_llm", "outer", "test_haystack_contract.Named")] * 3, fail(
        seam, f"not one haystack.agent.hook span per hook under the current span: {tracer.tree()}"
    )


def test_hook_span_tags_are_those_agent_nb_reproduces():
    tracer = RecordingTracer()
    tracing.enable_tracing(tracer)
    try:
        with interception._create_hook_span(hook=Mark(), hook_point="on_exit", parent_span=None):
            pass
    finally:
        tracing.disable_tracing()
    assert tracer.tree() == [
        (
            "haystack.agent.hook",
            None,
            (
                ("haystack.agent.hook.name", "Mark"),
                ("haystack.agent.hook.point", "on_exit"),
                ("haystack.agent.hook.type", "scenarios.Mark"),
            ),
        )
    ], fail("haystack.hooks.invocation._create_hook_span", f"its span changed: {tracer.tree()}")


def test_execute_component_async_prefers_run_async_else_runs_run_in_a_thread():
    seam = "haystack.utils.async_utils._execute_component_async"

    class Both:
        def run(self, state: Any) -> None:
            raise AssertionError("run called although run_async exists")

        async def run_async(self, state: Any) -> str:
            return "async"

    class SyncOnly:
        def run(self, state: Any) -> str:
            return threading.current_thread().name

    async def main() -> tuple[Any, Any, str]:
        return (
            await interception._execute_component_async(Both(), state=None),
            await interception._execute_component_async(SyncOnly(), state=None),
            threading.current_thread().name,
        )

    first, thread, loop_thread = asyncio.run(main())
    assert first == "async", fail(seam, "no longer awaits run_async when a component has one")
    assert thread != loop_thread, fail(seam, "no longer runs a sync-only run in a worker thread")


def test_validate_hooks_rejects_what_agent_init_rejects():
    seam = "haystack.components.agents.agent._validate_hooks"
    interception._validate_hooks({"before_llm": [Mark()]})
    with pytest.raises(ValueError, match="Invalid hook point"):
        interception._validate_hooks({"before_lunch": [Mark()]})
    with pytest.raises(TypeError):
        interception._validate_hooks({"before_llm": [lambda state: None]})
    assert seam  # the messages above are haystack's; a change shows in pytest's own report


# ---- behaviour: the Agent's call sites --------------------------------------------------------------------------
class Spy:
    """Stands in a haystack module for one function, records each call's arguments, then calls the function."""

    def __init__(self, module: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[dict[str, Any]] = []
        self.inner = getattr(module, name)
        names = seams.params(self.inner)

        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls.append({**dict(zip(names, args, strict=False)), **kwargs})
            return self.inner(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)


class GetSpy(dict):
    """A hooks dict that remembers which points the Agent asked `get` for (RecordingHooks overrides `get`)."""

    asked: list[Any]

    def get(self, key: Any, default: Any = None) -> Any:
        self.asked.append(key)
        return super().get(key, default)


def _agent_with_hooks_everywhere() -> Agent:
    return scripted_agent(hooks={p: [Mark(p)] for p in HOOK_POINTS}, exit_conditions=["text"])


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_the_agent_reaches_hooks_and_tools_through_the_names_agent_nb_replaces(flavour, monkeypatch):
    suffix = "" if flavour == "sync" else "_async"
    hook_seam = f"haystack.components.agents.agent._run_hooks{suffix}"
    invoke_name = "_make_context_bound_invoke" if flavour == "sync" else "_make_bounded_invoke_async"
    invoke_seam = f"haystack.components.agents.tool_calling.{invoke_name}"
    hooks_spy = Spy(AGENT, f"_run_hooks{suffix}", monkeypatch)
    invoke_spy = Spy(TOOL_CALLING, invoke_name, monkeypatch)
    agent = _agent_with_hooks_everywhere()
    messages = [ChatMessage.from_user(plan_prompt("add", "text"))]
    result = agent.run(messages) if flavour == "sync" else asyncio.run(agent.run_async(messages))
    assert result["last_message"].text == "answer after 1 steps: ['5']"

    points = [c["hook_point"] for c in hooks_spy.calls]
    assert set(points) == set(HOOK_POINTS), fail(
        hook_seam, f"the Agent no longer calls it by this module-level name at every hook point (saw {points})"
    )
    assert all(isinstance(c["state"], State) and c["hooks"] is agent.hooks for c in hooks_spy.calls), fail(
        hook_seam, "no longer called with the Agent's own hooks dict and the live State"
    )

    assert len(invoke_spy.calls) == 1, fail(invoke_seam, f"not called once per tool call ({invoke_spy.calls})")
    call = invoke_spy.calls[0]
    expected = ("tool", "args", "tool_call", "parent_span") if flavour == "sync" else (
        "tool", "args", "semaphore", "tool_call", "parent_span")  # fmt: skip
    assert tuple(call) == expected, fail(invoke_seam, f"called with {tuple(call)}, not {expected}")
    assert call["tool"] is add, fail(invoke_seam, "no longer given the user's own Tool object")
    assert call["args"] == {"a": 2, "b": 3}, fail(invoke_seam, f"args are not the call's arguments: {call['args']}")
    assert isinstance(call["tool_call"], ToolCall) and call["tool_call"].tool_name == "add", fail(
        invoke_seam, f"tool_call is not the ToolCall: {call['tool_call']!r}"
    )
    if flavour == "async":
        assert isinstance(call["semaphore"], asyncio.Semaphore), fail(invoke_seam, "semaphore is not a Semaphore")


def test_the_invoke_wrappers_return_a_zero_argument_runner_that_returns_errors():
    """agent_nb's recorded runner wraps haystack's: it relies on a runner that returns, not raises, tool errors."""

    def boom(x: int) -> int:
        raise ValueError("no")

    tool = Tool(name="boom", description="fails", parameters={"type": "object", "properties": {}}, function=boom)
    call = ToolCall("boom", {"x": 1})
    runner = haystack_original("invoke")(tool, {"x": 1}, call, None)
    result = runner()
    assert isinstance(result, ToolInvocationError), fail(
        "haystack.components.agents.tool_calling._make_context_bound_invoke",
        f"its runner no longer returns the ToolInvocationError: {result!r}",
    )
    assert isinstance(result.__cause__, ValueError)

    async def run_async() -> Any:
        return await haystack_original("invoke_async")(tool, {"x": 1}, asyncio.Semaphore(1), call, None)()

    assert isinstance(asyncio.run(run_async()), ToolInvocationError), fail(
        "haystack.components.agents.tool_calling._make_bounded_invoke_async",
        "its runner no longer returns the ToolInvocationError",
    )
    # A result served from a recording fails with the very text haystack's Tool.invoke gives (interception._served).
    served = interception._served(tool, call, None, {"x": 1}, ValueError("no"))
    assert str(served) == str(result), fail(
        "haystack.tools.Tool.invoke", f"its error text changed: {str(result)!r}, agent_nb serves {str(served)!r}"
    )


def test_on_exit_hooks_are_looked_up_with_get_and_skipped_when_none():
    """RecordingHooks.get records switched-off on_exit hooks: haystack asks `hooks.get("on_exit")` before running."""
    seam = "haystack.components.agents.agent.Agent (on_exit)"
    agent = scripted_agent(hooks={"before_llm": [Mark()]})
    spy = GetSpy(agent.hooks)
    spy.asked = []
    agent.hooks = spy
    seen: list[Any] = []
    original = haystack_original("run_hooks")

    def watch(hooks: Any, hook_point: Any, state: Any) -> None:
        seen.append(hook_point)
        original(hooks=hooks, hook_point=hook_point, state=state)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AGENT, "_run_hooks", watch)
        agent.run([ChatMessage.from_user(plan_prompt("text"))])
    assert "on_exit" in spy.asked, fail(seam, f"the Agent no longer asks hooks.get('on_exit') (asked {spy.asked})")
    assert "on_exit" not in seen, fail(seam, "on_exit hooks are dispatched although none is registered")


# ---- behaviour: fields read from objects ----------------------------------------------------------------------------
def test_chat_message_keeps_its_parts_and_meta_in_its_instance_dict():
    message = ChatMessage.from_assistant("hi", meta={"usage": {"prompt_tokens": 1}})
    fields = vars(message)
    assert isinstance(fields.get("_content"), list) and isinstance(fields["_content"][0], TextContent), fail(
        "haystack.dataclasses.ChatMessage._content", f"not a list of parts in the instance dict: {sorted(fields)}"
    )
    assert fields.get("_meta") is message.meta, fail("haystack.dataclasses.ChatMessage._meta", "not the meta dict")
    copy = object.__new__(ChatMessage)  # how snapshots copy a message without haystack's mutation warning
    copy.__dict__.update(fields)
    assert copy == message and copy.text == "hi", fail("haystack.dataclasses.ChatMessage", "a __dict__ copy differs")


def test_searchable_toolset_holds_its_catalog_until_warm_up():
    from haystack.tools import SearchableToolset

    toolset = SearchableToolset(catalog=[add])
    assert vars(toolset).get("_raw_catalog") == [add], fail(
        "haystack.tools.SearchableToolset._raw_catalog", "the catalog as given is no longer kept (fingerprints)"
    )


def test_every_private_haystack_name_in_agent_nb_is_declared():
    """A new private name used anywhere in agent_nb must be declared in seams.py (and so pinned here)."""
    root = Path(interception.__file__).parents[1]
    declared = {s.name for s in SEAMS}
    used: set[str] = set()
    for path in root.rglob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r"from haystack[\w.]* import (_\w+)", text))
        used |= set(re.findall(r"_(?:agent_module|tool_calling)\.(_\w+)", text))
        used |= set(re.findall(r"message\.(_[a-z]\w*)", text))
        used |= set(re.findall(r"\"(_raw_\w+)\"", text))
    assert used <= declared, f"private haystack names used but not declared in seams.py: {sorted(used - declared)}"
