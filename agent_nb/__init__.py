"""agent_nb: see inside a Haystack Agent from a notebook.

Every hook invocation, LLM call and tool call of a run becomes a row of a pandas DataFrame, with the State
before and after it; replay and fork runs from edited State; compare runs; a Workbench widget.

Usage:
    >>> from agent_nb import Recorder, demo_agent     # doctest: +SKIP
    >>> run = Recorder(demo_agent()).run("What is 2 + 3?")   # doctest: +SKIP
    >>> run.timeline                                  # doctest: +SKIP
"""

import os

# Read by haystack at import: no telemetry from a notebook toolkit (the user can still turn it on).
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from agent_nb.recording import Event, Recorder, Run, StateDiff, Uncopyable

__version__ = "0.1.0"


def __getattr__(name: str):  # lazy: widgets and matplotlib are heavy, the demo is optional
    if name in {"demo_agent", "ScriptedChatGenerator"}:
        from agent_nb import demo

        return getattr(demo, name)
    if name in {"compare", "ReplayDivergence", "replay", "fork"}:
        # `from agent_nb import replay` here would ask this __getattr__ for "replay" again (endless recursion).
        import importlib

        return getattr(importlib.import_module("agent_nb.replay"), name)
    if name == "Workbench":
        from agent_nb.widgets import Workbench

        return Workbench
    raise AttributeError(f"module 'agent_nb' has no attribute {name!r}")


__all__ = [
    "Event",
    "Recorder",
    "ReplayDivergence",
    "Run",
    "ScriptedChatGenerator",
    "StateDiff",
    "Uncopyable",
    "Workbench",
    "compare",
    "demo_agent",
    "fork",
    "replay",
]
