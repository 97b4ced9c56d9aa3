"""Recording layer: Recorder, Run, Event, snapshots. Imports neither ipywidgets nor matplotlib.

Usage:
    >>> from agent_nb.recording import Recorder, Run
"""

from agent_nb.recording.context import STOP_REASON
from agent_nb.recording.diff import MessageChange, StateDiff
from agent_nb.recording.digest import llm_digest
from agent_nb.recording.events import (
    HOOK_POINTS,
    KINDS,
    STATUSES,
    TIMELINE_COLUMNS,
    TIMELINE_DTYPES,
    TIMELINE_SCHEMA,
    Column,
    Event,
)
from agent_nb.recording.recorder import HookSlot, Recorder, RunSpec, as_messages, hook_name
from agent_nb.recording.run import Run
from agent_nb.recording.snapshots import Uncopyable

__all__ = [
    "HOOK_POINTS",
    "KINDS",
    "STATUSES",
    "STOP_REASON",
    "TIMELINE_COLUMNS",
    "TIMELINE_DTYPES",
    "TIMELINE_SCHEMA",
    "Column",
    "Event",
    "HookSlot",
    "MessageChange",
    "Recorder",
    "Run",
    "RunSpec",
    "StateDiff",
    "Uncopyable",
    "as_messages",
    "hook_name",
    "llm_digest",
]
