"""agent_nb: see inside a Haystack Agent from a notebook.

Every hook invocation, LLM call and tool call of a run becomes a row of a pandas DataFrame, with the State
before and after it; replay and fork runs from edited State; compare runs; a Workbench widget; export runs
to OpenTelemetry, Parquet and sweeps.

Importing `agent_nb` costs nothing: each name is imported from its layer when first used (PEP 562), so a
pytest run that loads the `agent_nb` plugin, or a worker that only loads saved runs, never pays for haystack,
widgets or matplotlib it does not use. Importing agent_nb changes no environment variable and registers no
IPython formatter.

Usage:
    >>> from agent_nb import Recorder, demo_agent
    >>> run = Recorder(demo_agent()).run("What is 2 + 3?")
    >>> run.timeline["kind"].tolist()[:3]
    ['hook', 'hook', 'hook']
"""

from __future__ import annotations

import importlib
from typing import Any

from agent_nb.version import __version__ as __version__

#: Public name -> the module it lives in.
_EXPORTS = {
    "AgentNbError": "agent_nb.errors",
    "Event": "agent_nb.recording",
    "Recorder": "agent_nb.recording",
    "Run": "agent_nb.recording",
    "StateDiff": "agent_nb.recording",
    "Uncopyable": "agent_nb.recording",
    "RunFileError": "agent_nb.recording.persist",
    "compare": "agent_nb.replay",
    "InvalidEdit": "agent_nb.replay",
    "ReplayDivergence": "agent_nb.replay",
    "demo_agent": "agent_nb.demo",
    "ScriptedChatGenerator": "agent_nb.demo",
    "Workbench": "agent_nb.widgets",
    "sweep": "agent_nb.export",
    "to_parquet": "agent_nb.export",
    "read_parquet": "agent_nb.export",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
