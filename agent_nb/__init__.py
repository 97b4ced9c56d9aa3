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
    if name in {"compare", "ReplayDivergence", "InvalidEdit", "RunFileError"}:
        # Replay and fork are methods (run.replay(), rec.fork(run, ...)): a top-level `replay` function would be
        # shadowed by the `agent_nb.replay` subpackage once it is imported.
        import importlib

        return getattr(importlib.import_module("agent_nb.replay"), name)
    if name == "Workbench":
        from agent_nb.widgets import Workbench

        return Workbench
    raise AttributeError(f"module 'agent_nb' has no attribute {name!r}")


__all__ = [
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
]
