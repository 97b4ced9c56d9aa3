"""State snapshots: cheap, shared-structure copies of an Agent's `State.data`.

A snapshot is a plain dict of the State's keys, without `tools` and `hook_context` (live objects that must
never be copied). Three policies:

- ``"fast"`` (default): ChatMessage objects are shared (haystack replaces messages rather than mutating them)
  and a value equal to the previous snapshot's value is shared too, so a snapshot costs O(change).
- ``"deep"``: every value is deep-copied; safe against hooks that mutate messages in place, slower.
- ``"off"``: snapshots are taken to compute the timeline's diff columns, then dropped.

A value that cannot be copied (a lock, an open file) is stored as an `Uncopyable` marker that says what and
why, so one odd value never breaks a run.

Usage:
    >>> take = Snapshotter("fast")
    >>> snap = take({"messages": [], "step_count": 0, "tools": []})
    >>> sorted(snap)
    ['messages', 'step_count']
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from haystack.dataclasses import ChatMessage

SnapshotMode = Literal["fast", "deep", "off"]
SNAPSHOT_MODES: tuple[str, ...] = ("fast", "deep", "off")

#: State keys never snapshotted: live tools and request-scoped user objects (may hold locks).
SKIPPED_KEYS = frozenset({"tools", "hook_context"})

_IMMUTABLE = (str, int, float, bool, bytes, type(None), ChatMessage)


@dataclass(frozen=True)
class Uncopyable:
    """Stands in a snapshot for a State value that could not be copied.

    Usage:
        >>> Uncopyable("Lock", "<unlocked _thread.lock>", "cannot pickle '_thread.lock' object")
        <not copied: Lock <unlocked _thread.lock> (cannot pickle '_thread.lock' object)>
    """

    type_name: str
    value_repr: str
    reason: str

    def __repr__(self) -> str:
        return f"<not copied: {self.type_name} {self.value_repr} ({self.reason})>"


def _short_repr(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break the run either
        text = f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def copy_value(value: Any) -> Any:
    """Copy one State value for a snapshot, falling back to an `Uncopyable` marker.

    Containers of plain data are copied by hand (much faster than `copy.deepcopy`); ChatMessage objects
    are shared because haystack treats them as immutable.

    Usage:
        >>> counts = {"add": 1}
        >>> copied = copy_value(counts)
        >>> copied == counts and copied is not counts
        True
    """
    if isinstance(value, _IMMUTABLE):
        return value
    if type(value) is list:
        return [copy_value(v) for v in value]
    if type(value) is dict:
        return {k: copy_value(v) for k, v in value.items()}
    if type(value) is tuple:
        return tuple(copy_value(v) for v in value)
    try:
        return copy.deepcopy(value)
    except Exception as exc:
        return Uncopyable(type(value).__name__, _short_repr(value), f"{type(exc).__name__}: {exc}")


def _deep_copy(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, bytes, type(None))):
        return value
    try:
        return copy.deepcopy(value)
    except Exception as exc:
        return Uncopyable(type(value).__name__, _short_repr(value), f"{type(exc).__name__}: {exc}")


def _same(a: Any, b: Any) -> bool:
    """Equality that never raises (odd objects may have odd `__eq__`)."""
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


class Snapshotter:
    """Takes snapshots of a live `State.data` dict under one policy, sharing structure with the last one.

    One Snapshotter serves one run (it remembers the previous snapshot to share unchanged values).

    Usage:
        >>> take = Snapshotter("fast")
        >>> a = take({"messages": [], "step_count": 0})
        >>> b = take({"messages": [], "step_count": 1})
        >>> a["messages"] is b["messages"], b["step_count"]
        (True, 1)
    """

    def __init__(self, mode: SnapshotMode = "fast") -> None:
        if mode not in SNAPSHOT_MODES:
            raise ValueError(f"snapshots must be one of {SNAPSHOT_MODES}, got {mode!r}")
        self.mode = mode
        self._last: dict[str, Any] = {}
        self._live: dict[str, Any] = {}  # the live objects the last snapshot was taken from

    def _unchanged(self, data: Mapping[str, Any]) -> bool:
        """True when `data` holds the very objects of the last snapshot, none of them mutated in place.

        The hot path: most events change nothing, and an identity check per key (plus an equality check
        against the snapshot for mutable values, which the Agent may mutate in place, e.g. `tool_call_counts`)
        is far cheaper than building a new snapshot to compare.
        """
        live, last = self._live, self._last
        if len(data) != len(live) or self.mode == "deep":
            return False
        for key, value in data.items():
            if live.get(key, _MISSING) is not value:
                return False
            # Same object, but maybe mutated in place: compare with the copy (cheap for unchanged containers).
            if key not in SKIPPED_KEYS and not isinstance(value, _IMMUTABLE) and not _same(last.get(key), value):
                return False
        return True

    def __call__(self, data: Mapping[str, Any]) -> dict[str, Any]:
        if self._unchanged(data):
            return self._last
        self._live = dict(data)
        last = self._last
        snap: dict[str, Any] = {}
        deep = self.mode == "deep"
        shared = 0  # values taken over from the last snapshot as they are
        for key, value in data.items():
            if key in SKIPPED_KEYS:
                continue
            prev = last.get(key, _MISSING)
            if key == "messages" and type(value) is list:
                # list == list compares element identity first, in C: cheap when messages are shared.
                if prev is not _MISSING and len(prev) == len(value) and _same(prev, value):
                    snap[key] = prev
                    shared += 1
                else:
                    snap[key] = [_deep_copy(m) for m in value] if deep else list(value)
            elif isinstance(value, _IMMUTABLE):
                snap[key] = value
                if prev is value or (prev is not _MISSING and type(prev) is type(value) and prev == value):
                    shared += 1
            elif prev is not _MISSING and not isinstance(prev, Uncopyable) and _same(prev, value):
                snap[key] = prev
                shared += 1
            else:
                snap[key] = _deep_copy(value) if deep else copy_value(value)
        if shared == len(snap) == len(last):
            # Nothing changed: hand out the same snapshot again. Most hooks change nothing, and fewer
            # surviving objects keep the garbage collector's work (half the cost of recording) down.
            return last
        self._last = snap
        return snap


_MISSING = object()


def restore_value(value: Any) -> Any:
    """A private copy of a snapshot value, for a caller that may mutate it (State restore, `state_at`).

    Usage:
        >>> snap_value = {"add": 1}
        >>> restore_value(snap_value) is snap_value
        False
    """
    if type(value) is list:
        return [restore_value(v) for v in value]
    return copy_value(value)
