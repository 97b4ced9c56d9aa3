"""Fingerprints of an Agent definition: what they hold, what they leave out, and the changes they report."""

from __future__ import annotations

import importlib
import json
import linecache
import sys
import textwrap
from pathlib import Path

import pytest
from haystack.components.agents import Agent
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.tools import SearchableToolset, Toolset, create_tool_from_function
from haystack.utils import Secret

from agent_nb import Recorder, Run
from agent_nb.demo import ScriptedChatGenerator, demo_agent
from agent_nb.demo.tools import demo_tools
from agent_nb.recording.fingerprint import agent_fingerprint, fingerprint_changes
from agent_nb.recording.recorder import HookSlot


def _fp(agent: Agent) -> dict:
    rec = Recorder(agent)
    return agent_fingerprint(rec.agent, rec.hook_slots)


def test_demo_agent_fingerprint_holds_generator_tools_and_hooks():
    fp = _fp(demo_agent())
    assert json.loads(json.dumps(fp)) == fp  # JSON-able as it is
    assert fp["generator"]["type"] == "agent_nb.demo.scripted.ScriptedChatGenerator"
    assert fp["generator"]["init_parameters"]["model"] == "scripted-1"
    by_name = {t["name"]: t for t in fp["tools"]}
    assert set(by_name) == {"add", "multiply", "get_weather", "save_note", "search"}
    assert by_name["add"]["parameters"]["required"] == ["a", "b"]
    assert len(by_name["add"]["code_sha256"]) == 64
    hooks = [(h["point"], h["name"], h["source"]) for h in fp["hooks"]]
    assert hooks == [
        ("before_run", "MemoryRetrievalHook", "available"),
        ("before_llm", "inject_date", "available"),
        ("before_llm", "inject_user_profile", "available"),
        ("on_exit", "RequireToolHook", "available"),
    ]
    assert all(len(h["source_sha256"]) == 64 for h in fp["hooks"])
    assert fp["hooks"][-1]["init_parameters"] == {"tool_name": "save_note", "max_reminders": 2}
    # Two agents built the same way have the same fingerprint: nothing in it depends on object identity.
    assert _fp(demo_agent()) == fp
    assert fingerprint_changes(fp, _fp(demo_agent())) == []


def test_secrets_never_appear(monkeypatch):
    monkeypatch.setenv("AGENT_NB_TEST_KEY", "sk-env-secret-value")
    env = OpenAIChatGenerator(api_key=Secret.from_env_var("AGENT_NB_TEST_KEY"), model="gpt-4o-mini")
    fp_env = _fp(demo_agent(env, hooks=None))
    assert fp_env["generator"]["init_parameters"]["model"] == "gpt-4o-mini"
    assert fp_env["generator"]["init_parameters"]["api_key"] == "<redacted>"
    assert "AGENT_NB_TEST_KEY" not in json.dumps(fp_env)

    token = OpenAIChatGenerator(api_key=Secret.from_token("sk-token-secret-value"), model="gpt-4o-mini")
    fp_token = _fp(demo_agent(token, hooks=None))  # to_dict refuses a token secret: class name only
    assert fp_token["generator"]["type"].endswith("OpenAIChatGenerator")
    assert fp_token["generator"]["init_parameters"] is None
    assert "unavailable" in fp_token["generator"]["note"]
    assert "sk-token-secret-value" not in json.dumps(fp_token)


class LazyToolset(Toolset):
    """Loads its tools in warm_up, like an MCP toolset; counts warm-ups and iterations."""

    warmups = 0
    iterations = 0

    def warm_up(self) -> None:
        type(self).warmups += 1
        self.tools = demo_tools()[:1]

    def __iter__(self):
        type(self).iterations += 1
        return super().__iter__()


def test_toolsets_are_read_without_side_effects():
    add, multiply, weather = demo_tools()[:3]
    lazy = LazyToolset()
    searchable = SearchableToolset(catalog=[LazyToolset(), weather], search_threshold=1)
    agent = Agent(chat_generator=ScriptedChatGenerator(), tools=[Toolset([add, multiply]), lazy, searchable])
    fp = agent_fingerprint(agent, [])
    assert LazyToolset.warmups == 0 and LazyToolset.iterations == 0
    assert lazy.tools == []  # untouched
    names = [(t["name"], t.get("toolset")) for t in fp["tools"]]
    assert names == [("add", "Toolset"), ("multiply", "Toolset"), ("get_weather", "SearchableToolset")]
    kinds = [(ts["type"].rsplit(".", 1)[-1], ts["tools"], "note" in ts) for ts in fp["toolsets"]]
    assert kinds == [
        ("Toolset", 2, False),
        ("LazyToolset", 0, True),
        ("SearchableToolset", 2, False),
        ("LazyToolset", 0, True),
    ]
    # The Recorder's run still sees the lazy toolset's tools after it warms: the fingerprint froze nothing.
    lazy.warm_up()
    assert [t.name for t in lazy] == ["add"]


def _write_module(directory: Path, name: str, body: str) -> object:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    if name in sys.modules:
        return importlib.reload(sys.modules[name])
    return importlib.import_module(name)


@pytest.fixture
def hook_module(tmp_path, monkeypatch):
    """A hook module on disk that a test edits and reloads, as a hook author does."""
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"fp_hooks_{tmp_path.name.replace('-', '_')}"
    yield lambda body: _write_module(tmp_path, name, body)
    sys.modules.pop(name, None)


HOOKS_V1 = """
    class Reminder:
        def __init__(self, tool_name="save_note"):
            self.tool_name = tool_name
        def run(self, state):
            state.set("continue_run", False)
        def to_dict(self):
            return {"type": "Reminder", "init_parameters": {"tool_name": self.tool_name}}
"""


def test_edited_hook_source_and_parameters_are_reported(hook_module):
    v1 = hook_module(HOOKS_V1)
    old = agent_fingerprint(demo_agent(hooks=None), [HookSlot("on_exit", "Reminder", v1.Reminder())])
    assert fingerprint_changes(old, old) == []

    v2 = hook_module(HOOKS_V1.replace('"continue_run", False', '"continue_run", True'))
    new = agent_fingerprint(demo_agent(hooks=None), [HookSlot("on_exit", "Reminder", v2.Reminder())])
    assert fingerprint_changes(old, new) == ["hook on_exit/Reminder: source changed"]

    other = agent_fingerprint(demo_agent(hooks=None), [HookSlot("on_exit", "Reminder", v2.Reminder("add"))])
    assert fingerprint_changes(new, other) == ["hook on_exit/Reminder: init parameters changed (tool_name)"]


def test_hook_without_source_says_so():
    namespace: dict = {}
    exec("class ExecHook:\n    def run(self, state):\n        pass\n", namespace)  # no file: no source
    fp = agent_fingerprint(demo_agent(hooks=None), [HookSlot("before_llm", "ExecHook", namespace["ExecHook"]())])
    entry = fp["hooks"][0]
    assert entry["source_sha256"] is None
    assert entry["source"].startswith("unavailable")
    json.dumps(fp)


def add_three(a: float, b: float, c: float = 0) -> float:
    """Add up to three numbers."""
    return a + b + c


def test_changes_for_generator_tools_hooks_and_order():
    base = _fp(demo_agent())
    tools = demo_tools()
    add = tools[0]
    wider = create_tool_from_function(add_three, name="add", description=add.description)
    changed_agent = demo_agent(
        ScriptedChatGenerator(model="scripted-2"),
        tools=[wider, *tools[1:3], tools[4]],  # add's schema and code change; save_note is gone
        hooks={
            "before_llm": list(reversed(demo_agent().hooks["before_llm"])),
            "on_exit": demo_agent().hooks["on_exit"],
        },
    )
    lines = fingerprint_changes(base, _fp(changed_agent))
    assert lines == [
        "generator: init parameters changed (model)",
        "tool save_note: removed",
        "tool add: schema changed",
        "tool add: code changed",
        "hook before_run/MemoryRetrievalHook: removed",
        "hooks at before_llm: order changed (inject_date, inject_user_profile -> inject_user_profile, inject_date)",
    ]
    assert fingerprint_changes(None, base) == [] and fingerprint_changes(base, {}) == []


def test_recorded_run_carries_its_fingerprint_through_save_and_load(tmp_path):
    """Needs the lead's wiring: `run.fingerprint` set by the Recorder at run start and saved with the run."""
    rec = Recorder(demo_agent())
    run = rec.run("What is 2 + 3?", hook_context={"today": "2025-01-31"})
    assert run.fingerprint == agent_fingerprint(rec.agent, rec.hook_slots)
    loaded = Run.load(run.save(str(tmp_path / "run.json")))
    assert loaded.fingerprint == run.fingerprint


def _cell_class(source: str, cell: int) -> type:
    """A class defined the way a notebook cell defines one: code compiled from a file name only linecache knows."""
    filename = f"<ipython-input-{cell}-agent-nb-test>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"__name__": "__main__"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["Polite"]


def test_hook_class_defined_in_a_notebook_cell_is_hashed_from_its_members():
    cell = (
        "class Polite:\n    @property\n    def message(self):\n        return {!r}\n"
        "    def run(self, state):\n        pass\n"
    )
    first = _cell_class(cell.format("Please call save_note."), 1)
    edited = _cell_class(cell.format("Call save_note now."), 2)
    entries = [
        agent_fingerprint(demo_agent(hooks=None), [HookSlot("on_exit", "Polite", cls())])["hooks"][0]
        for cls in (first, edited)
    ]
    assert [e["source"] for e in entries] == ["available", "available"]
    assert entries[0]["source_sha256"] != entries[1]["source_sha256"]  # the property's new text counts


def test_every_kind_of_tool_and_hook_change_reads_as_one_line_in_the_fingerprints_order() -> None:
    old = {
        "tools": [{"name": "add", "type": "Tool", "description": "Add."}, {"name": "gone", "type": "Tool"}],
        "hooks": [{"point": "before_llm", "name": "a", "type": "A"}, {"point": "on_exit", "name": "b", "type": "B"}],
    }
    new = {
        "tools": [{"name": "new", "type": "Tool"}, {"name": "add", "type": "ComponentTool", "description": "Sum."}],
        "hooks": [{"point": "before_llm", "name": "a", "type": "A2"}, {"point": "before_llm", "name": "c"}],
    }
    assert fingerprint_changes(old, new) == [
        "tool gone: removed",
        "tool new: added",
        "tool add: type changed (Tool -> ComponentTool)",
        "tool add: description changed",
        "hook on_exit/b: removed",
        "hook before_llm/a: type changed (A -> A2)",
        "hook before_llm/c: added",
    ]
