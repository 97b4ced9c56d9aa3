"""The public surface is declared once: `agent_nb`'s names and each documented subpackage's `__all__`.

Modules inside the subpackages are internal (they may move between versions); these lists are what users
import. Changing them is a deliberate act that shows up here, and every public name resolves and says what it is.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

import agent_nb

TOP_LEVEL = [
    "AgentNbError",
    "Event",
    "InvalidEdit",
    "Recorder",
    "ReplayDivergence",
    "Run",
    "RunFileError",
    "ScriptedChatGenerator",
    "StateDiff",
    "Uncopyable",
    "Workbench",
    "compare",
    "demo_agent",
    "read_parquet",
    "sweep",
    "to_parquet",
]
CORE = [
    "Column",
    "Event",
    "EventKind",
    "EventStatus",
    "HookPoint",
    "HookSlot",
    "MessageChange",
    "Recorder",
    "Run",
    "RunSpec",
    "RunStatus",
    "StateDiff",
    "TIMELINE_COLUMNS",
    "TIMELINE_SCHEMA",
    "Uncopyable",
    "as_messages",
]
SUBPACKAGES = ["recording", "replay", "views", "widgets", "export", "testing", "demo"]


def test_the_top_level_names_are_the_documented_ones():
    assert sorted(agent_nb.__all__) == sorted(TOP_LEVEL)
    for name in TOP_LEVEL:
        assert getattr(agent_nb, name) is not None


def test_the_core_surface_is_pinned():
    recording = importlib.import_module("agent_nb.recording")
    assert sorted(recording.__all__) == sorted(CORE)


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_every_public_name_of_a_subpackage_resolves_and_is_documented(package):
    module = importlib.import_module(f"agent_nb.{package}")
    assert module.__doc__, f"agent_nb.{package} has no docstring"
    names = module.__all__
    assert len(names) == len(set(names)), f"agent_nb.{package}.__all__ lists a name twice"
    for name in names:
        value = getattr(module, name)  # AttributeError names the missing one
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"agent_nb.{package}.{name} has no docstring"


def test_top_level_names_are_the_same_objects_as_in_their_layers():
    from agent_nb.recording import Recorder, Run
    from agent_nb.replay import compare

    assert agent_nb.Recorder is Recorder and agent_nb.Run is Run and agent_nb.compare is compare


def test_only_packages_declare_public_names():
    """The rule, said once: a package's `__init__` lists its public names in `__all__`; no module inside does."""
    import ast
    from pathlib import Path

    root = Path(agent_nb.__file__).parent
    declaring = [
        str(path.relative_to(root.parent))
        for path in sorted(root.rglob("*.py"))
        if path.name != "__init__.py"
        and any(
            isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)
            for node in ast.parse(path.read_text()).body
        )
    ]
    assert declaring == []
