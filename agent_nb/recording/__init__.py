"""Recording layer (the core): Recorder, Run, Event, the timeline schema. Imports neither ipywidgets nor matplotlib.

The names below are the public surface of the core; the modules inside `agent_nb.recording` are internal and may
move between versions (`tests/test_public_api.py` pins this list).

Usage:
    >>> from agent_nb.recording import Recorder, Run
"""

from agent_nb.recording.diff import MessageChange, StateDiff
from agent_nb.recording.events import TIMELINE_COLUMNS, TIMELINE_SCHEMA, Column, Event
from agent_nb.recording.recorder import HookSlot, Recorder, RunSpec, as_messages
from agent_nb.recording.run import Run
from agent_nb.recording.types import EventKind, EventStatus, HookPoint, RunStatus
from agent_nb.recording.values import Uncopyable

__all__ = [
    "TIMELINE_COLUMNS",
    "TIMELINE_SCHEMA",
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
    "Uncopyable",
    "as_messages",
]
