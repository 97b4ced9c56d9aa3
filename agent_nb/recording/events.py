"""The Event (one timeline row) and the columnar build of the timeline DataFrame.

Usage:
    >>> ev = Event(run_id="r1", seq=0, step=None, kind="hook", hook_point="before_run", name="memory",
    ...            status="ok", offset_ms=0.1, duration_ms=0.2)
    >>> build_timeline([ev])[["seq", "kind", "hook_point", "name"]].to_dict("records")
    [{'seq': 0, 'kind': 'hook', 'hook_point': 'before_run', 'name': 'memory'}]
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Any, get_args

import numpy as np
import pandas as pd

try:  # pandas' default string storage when installed
    import pyarrow as pa
except ImportError:  # pragma: no cover - pyarrow is optional
    pa = None

from agent_nb.recording.diff import changed_keys, derive
from agent_nb.recording.summary import NO_CHANGE, hook_summary, summarize
from agent_nb.recording.types import EventKind, EventStatus, HookPoint


class _NoDetail(Mapping[str, Any]):
    """An empty, read-only, hashable mapping (a dataclass default must be hashable)."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


#: The `detail` of events that have none (hook rows): one shared, read-only mapping, not a dict per event.
NO_DETAIL: Mapping[str, Any] = _NoDetail()

#: The categories of the timeline's kind, hook_point and status columns: the Literal types' values, in order.
KINDS: tuple[str, ...] = get_args(EventKind)
HOOK_POINTS: tuple[str, ...] = get_args(HookPoint)
STATUSES: tuple[str, ...] = get_args(EventStatus)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a frame, declared once: everything that shows or checks the column derives from it.

    `label` and `width` (characters) are for tables people read: the report, the CLI, the widgets.

    Usage:
        >>> TIMELINE_SCHEMA[0].name, TIMELINE_SCHEMA[0].dtype
        ('run_id', 'string')
    """

    name: str
    dtype: Any
    description: str
    label: str
    width: int


#: The timeline's columns in order (DESIGN.md, "Data model"). The frame build, load validation, the report,
#: the CLI table and the widget table all read this one declaration.
TIMELINE_SCHEMA: tuple[Column, ...] = (
    Column("run_id", "string", "the run (several runs concatenate into one frame)", "run", 8),
    Column("seq", "int64", "order of the event within its run, from 0", "#", 4),
    Column("step", "Int64", "the Agent step (0-based); NA for before_run and after_run", "step", 4),
    Column("kind", pd.CategoricalDtype(KINDS), "hook, llm or tool", "kind", 4),
    Column("hook_point", pd.CategoricalDtype(HOOK_POINTS), "the hook point; NA for llm and tool rows", "point", 11),
    Column("name", "string", "hook name, generator class or tool name", "name", 22),
    Column("status", pd.CategoricalDtype(STATUSES), "ok, error, skipped (switched off) or cached", "status", 7),
    Column("offset_ms", "float64", "start, in ms since the run started", "start ms", 9),
    Column("duration_ms", "float64", "duration in ms", "ms", 9),
    Column("changed", "object", "State keys the event itself changed", "changed", 24),
    Column(
        "agent_changed",
        "object",
        "State keys the Agent's own bookkeeping changed, not the event: step_count, token_usage, context_tokens, "
        "exit_reason, tool_call_counts after an LLM or tool call, or a continue_run reset just before a hook",
        "agent changed",
        24,
    ),
    Column("messages_added", "Int64", "messages added to the conversation", "+msg", 4),
    Column("messages_removed", "Int64", "messages removed from the conversation", "-msg", 4),
    Column("flow", "string", "run control set: continue_run or stop_run:<reason>", "flow", 16),
    Column("prompt_tokens", "Int64", "prompt tokens of an LLM call; NA when unknown", "in tok", 6),
    Column("completion_tokens", "Int64", "completion tokens of an LLM call; NA when unknown", "out tok", 7),
    Column("summary", "string", "one readable line of what happened", "summary", 58),
    Column("error", "string", "exception type and message; NA when none", "error", 40),
)
TIMELINE_DTYPES: dict[str, Any] = {c.name: c.dtype for c in TIMELINE_SCHEMA}
#: State keys haystack's Agent sets itself as it runs: on an LLM or tool row they are its bookkeeping
#: (`agent_changed`), not something the call did (`changed`).
AGENT_KEYS: frozenset[str] = frozenset(
    {"step_count", "token_usage", "context_tokens", "exit_reason", "tool_call_counts", "continue_run"}
)
#: Timeline columns derived from the snapshots of neighbouring events when read, never stored in a saved run.
DERIVED_ON_LOAD: frozenset[str] = frozenset({"agent_changed"})

#: `Recorder.hooks`: one row per hook slot.
HOOKS_SCHEMA: tuple[Column, ...] = (
    Column("point", "string", "the hook point", "point", 11),
    Column("name", "string", "the hook's name in the timeline (unique per point)", "hook", 22),
    Column("enabled", "bool", "whether the next runs call it", "on", 3),
    Column("doc", "string", "first line of its docstring", "what it does", 48),
    Column("type", "string", "its class", "type", 18),
)

#: `Recorder.tree`: one row per run, with lineage.
TREE_SCHEMA: tuple[Column, ...] = (
    Column("run_id", "string", "the run", "run", 8),
    Column("kind", "string", "run, replay or fork", "kind", 6),
    Column("parent_id", "string", "the run it replays or forks; NA for a run", "parent", 8),
    Column("fork_step", "Int64", "the step a fork resumed at", "fork step", 4),
    Column("depth", "int64", "generations from the original run", "depth", 3),
    Column("status", "string", "running, ok, stopped or error", "status", 7),
    Column("exit_reason", "string", "why the Agent stopped", "exit", 16),
    Column("events", "int64", "timeline rows", "events", 6),
    Column("llm_calls", "int64", "calls that reached the generator", "LLM", 4),
    Column("cached_llm_calls", "int64", "replies served from a recording", "cached", 4),
    Column("tokens", "Int64", "prompt + completion tokens of its own calls; NA when unknown", "tokens", 6),
    Column("label", "string", "a label given to the run", "label", 16),
)


def frame_of(rows: list[dict[str, Any]], schema: tuple[Column, ...]) -> pd.DataFrame:
    """A DataFrame of `rows` with the columns, order and dtypes a schema declares.

    Usage:
        >>> row = {"point": "on_exit", "name": "h", "enabled": True, "doc": "", "type": "H"}
        >>> frame_of([row], HOOKS_SCHEMA).dtypes["enabled"]
        dtype('bool')
    """
    # Column by column through the timeline's own conversion (lone surrogates shown escaped, as there).
    return pd.DataFrame({c.name: _column([row.get(c.name) for row in rows], c.dtype) for c in schema})


TIMELINE_COLUMNS: tuple[str, ...] = tuple(TIMELINE_DTYPES)
#: The timeline columns a saved run stores for each event (what `persist` writes and requires).
STORED_COLUMNS: tuple[str, ...] = tuple(c for c in TIMELINE_COLUMNS if c not in DERIVED_ON_LOAD)


#: Marks a derived column not computed yet (None is a real value for some of them).
_LAZY: Any = object()
_DERIVED = ("changed", "agent_changed", "messages_added", "messages_removed", "flow", "summary")


class Event:
    """One hook invocation, LLM call or tool call of a run: a row of `Run.timeline` plus what is behind it.

    `before` / `after` are State snapshots (dicts, see `snapshots.py`), `detail` holds kind-specific data:
    LLM rows: `input_digest`, `replies` (ChatMessage list), `tool_names`, `input_messages`; tool rows:
    `arguments`, `result`, `tool_call_id`. The derived columns (`changed`, `messages_added`,
    `messages_removed`, `flow`, `summary`) are computed from the snapshots when first read, not while the
    Agent runs: recording stays cheap, and a value given to the constructor is kept as it is (on an LLM or
    tool row, the Agent's bookkeeping keys of a given `changed` go to `agent_changed`: files saved before the
    split read the same as new ones). `agent_changed` also needs the previous event: see `fill_agent_changed`.

    Usage:
        >>> ev = Event(run_id="r1", seq=3, step=0, kind="tool", hook_point=None, name="add",
        ...            status="ok", offset_ms=1.0, duration_ms=0.5, summary="add(a=2, b=3) -> 5")
        >>> ev.summary
        'add(a=2, b=3) -> 5'
        >>> hook = Event("r1", 0, 0, "hook", "before_llm", "h", "ok", 0.0, 0.1,
        ...              before={"step_count": 0}, after={"step_count": 1})
        >>> hook.changed, hook.summary
        (['step_count'], 'step_count=1')
        >>> llm = Event("r1", 1, 0, "llm", None, "Gen", "ok", 0.0, 0.1, changed=["messages", "step_count"])
        >>> llm.changed, llm.agent_changed
        (['messages'], ['step_count'])
    """

    __slots__ = (
        "_agent_changed",
        "_changed",
        "_flow",
        "_messages_added",
        "_messages_removed",
        "_summary",
        "after",
        "before",
        "completion_tokens",
        "detail",
        "duration_ms",
        "error",
        "hook_point",
        "kind",
        "name",
        "offset_ms",
        "prompt_tokens",
        "run_id",
        "seq",
        "status",
        "step",
    )

    def __init__(
        self,
        run_id: str,
        seq: int,
        step: int | None,
        kind: EventKind,
        hook_point: HookPoint | None,
        name: str,
        status: EventStatus,
        offset_ms: float,
        duration_ms: float,
        changed: list[str] = _LAZY,
        messages_added: int | None = _LAZY,
        messages_removed: int | None = _LAZY,
        flow: str | None = _LAZY,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        summary: str = _LAZY,
        error: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        detail: Mapping[str, Any] | None = None,
        agent_changed: list[str] = _LAZY,
    ) -> None:
        self.run_id, self.seq, self.step, self.kind = run_id, seq, step, kind
        if changed is not _LAZY and kind != "hook" and agent_changed is _LAZY and not AGENT_KEYS.isdisjoint(changed):
            changed, agent_changed = _split(changed)
        self._agent_changed = agent_changed
        self.hook_point, self.name, self.status = hook_point, name, status
        self.offset_ms, self.duration_ms = offset_ms, duration_ms
        self._changed, self._messages_added, self._messages_removed = changed, messages_added, messages_removed
        self._flow, self._summary = flow, summary
        self.prompt_tokens, self.completion_tokens, self.error = prompt_tokens, completion_tokens, error
        self.before, self.after = before, after
        self.detail = NO_DETAIL if detail is None else detail

    # ---- derived columns (lazy) ----------------------------------------------------------------------------
    def settled(self) -> bool:
        """False while the event waits for its `after` State (an LLM or tool row until the next event starts).

        Derived columns read meanwhile (a live view reading each new row) are computed, not kept: they are kept
        once both snapshots are known.

        Usage:
            >>> ev = Event("r", 0, 0, "tool", None, "add", "ok", 0.0, 0.1, before={"total": 0})
            >>> ev.settled(), ev.changed
            (False, [])
            >>> ev.after = {"total": 1}
            >>> ev.settled(), ev.changed
            (True, ['total'])
        """
        return self.after is not None or self.before is None

    def _derive(self) -> tuple[list[str], int | None, int | None, str | None]:
        # `after` first: settling assigns `before` then `after`, so a known `after` comes with its final `before`.
        after = self.after
        before = self.before
        derived = derive(before, after)
        if self.kind != "hook":
            derived = (_split(derived[0])[0], *derived[1:])
        values = (
            derived[0] if self._changed is _LAZY else self._changed,
            derived[1] if self._messages_added is _LAZY else self._messages_added,
            derived[2] if self._messages_removed is _LAZY else self._messages_removed,
            derived[3] if self._flow is _LAZY else self._flow,
        )
        if after is not None or before is None:
            self._changed, self._messages_added, self._messages_removed, self._flow = values
        return values

    @property
    def changed(self) -> list[str]:
        """State keys whose value changed across the event."""
        value = self._changed
        return self._derive()[0] if value is _LAZY else value

    @changed.setter
    def changed(self, value: list[str]) -> None:
        self._changed = value

    @property
    def agent_changed(self) -> list[str]:
        """State keys the Agent's own bookkeeping changed, not the event (see `fill_agent_changed`).

        Until `fill_agent_changed` (or a timeline build) has seen the event with the one before it, only the
        bookkeeping an LLM or tool row's own snapshots show.
        """
        value = self._agent_changed
        if value is not _LAZY:
            return value
        if self.kind == "hook":
            return []
        return _split(derive(self.before, self.after)[0])[1]

    @agent_changed.setter
    def agent_changed(self, value: list[str]) -> None:
        self._agent_changed = value

    @property
    def messages_added(self) -> int | None:
        """Messages added to the conversation by the event."""
        value = self._messages_added
        return self._derive()[1] if value is _LAZY else value

    @messages_added.setter
    def messages_added(self, value: int | None) -> None:
        self._messages_added = value

    @property
    def messages_removed(self) -> int | None:
        """Messages removed from the conversation by the event."""
        value = self._messages_removed
        return self._derive()[2] if value is _LAZY else value

    @messages_removed.setter
    def messages_removed(self, value: int | None) -> None:
        self._messages_removed = value

    @property
    def flow(self) -> str | None:
        """Run control the event set: `continue_run`, `stop_run:<reason>`, or None."""
        value = self._flow
        return self._derive()[3] if value is _LAZY else value

    @flow.setter
    def flow(self, value: str | None) -> None:
        self._flow = value

    @property
    def summary(self) -> str:
        """One readable line of what happened."""
        value = self._summary
        if value is _LAZY:
            settled = self.settled()
            value = summarize(self)
            if settled:
                self._summary = value
        return value

    @summary.setter
    def summary(self, value: str) -> None:
        self._summary = value

    def materialize(self) -> None:
        """Compute every derived column now (before the snapshots they come from are dropped)."""
        for name in _DERIVED:
            getattr(self, name)

    def values(self) -> tuple[Any, ...]:
        """The event's timeline values, in `TIMELINE_COLUMNS` order."""
        return tuple(getattr(self, col) for col in TIMELINE_COLUMNS)

    def row(self) -> dict[str, Any]:
        """The event as a timeline row (a dict of the timeline columns).

        Usage:
            >>> Event("r", 0, None, "hook", "after_run", "h", "ok", 0.0, 0.0).row()["hook_point"]
            'after_run'
        """
        return {col: getattr(self, col) for col in TIMELINE_COLUMNS}

    def __repr__(self) -> str:
        return (
            f"Event(run_id={self.run_id!r}, seq={self.seq}, step={self.step}, kind={self.kind!r}, "
            f"hook_point={self.hook_point!r}, name={self.name!r}, status={self.status!r}, summary={self.summary!r})"
        )


def empty_timeline() -> pd.DataFrame:
    """A timeline with no rows and the declared columns and dtypes.

    Usage:
        >>> list(empty_timeline().columns)[:3]
        ['run_id', 'seq', 'step']
    """
    return pd.DataFrame({col: pd.Series([], dtype=dtype) for col, dtype in TIMELINE_DTYPES.items()})


def build_timeline(events: list[Event]) -> pd.DataFrame:
    """Build the timeline DataFrame from events, column by column (cheap at 100k events).

    Usage:
        >>> build_timeline([]).shape
        (0, 18)
    """
    if not events:
        return empty_timeline()
    # Building 18 columns of 100k values allocates millions of small objects, and each allocation burst
    # would otherwise walk the whole heap of a long run's snapshots in the collector: pause it meanwhile.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(events)
    finally:
        if enabled:
            gc.enable()


def derive_all(events: list[Event]) -> list[int]:
    """Compute and keep the derived columns that are still lazy, for many events in one pass.

    Work is shared per snapshot pair within the pass: many events have the same `before` / `after` snapshots
    (every hook row that changed nothing hands on the same snapshot), so each pair is diffed once, and the
    summary of a hook row, a function of its pair alone, is built once. A value given to the constructor is
    kept as it is. Same values as reading each property of each event. Returns the positions of the events
    left as they are because they still wait for their `after` State (see `Event.settled`).

    Usage:
        >>> state = {"step_count": 0}
        >>> events = [Event("r", i, 0, "hook", "before_llm", "h", "ok", 0.0, 0.0, before=state,
        ...                 after={"step_count": 1}) for i in range(2)]
        >>> derive_all(events)
        []
        >>> [(e.changed, e.summary) for e in events]
        [(['step_count'], 'step_count=1'), (['step_count'], 'step_count=1')]
    """
    # (id(before), id(after)) -> [changed, added, removed, flow, hook summary or None]. Every event holds its
    # snapshots until the pass ends, so their ids cannot be reused meanwhile.
    pairs: dict[tuple[int, int], list[Any]] = {}
    unsettled = []
    prev: Event | None = None
    for i, e in enumerate(events):
        after = e.after  # first: see Event._derive
        before = e.before
        if after is None and before is not None:  # waiting for its `after`: nothing is kept yet
            unsettled.append(i)
            prev = e
            continue
        own: list[str] = []  # an LLM or tool row's bookkeeping keys
        if e._changed is _LAZY is e._messages_added is e._messages_removed is e._flow:
            # As recorded: every derived column comes from the snapshot pair.
            if before is after and before is not None:  # most hook rows: the State did not change
                e._changed, e._messages_added, e._messages_removed, e._flow = [], 0, 0, None
                if e._summary is _LAZY:
                    hook_ok = e.kind == "hook" and e.status != "skipped" and not e.error
                    e._summary = NO_CHANGE if hook_ok else summarize(e)  # what hook_summary says of such a row
                if e._agent_changed is _LAZY:
                    if prev is not None and prev.after is before and prev.run_id == e.run_id:
                        e._agent_changed = []  # most rows: nothing ran between the two events
                    else:
                        _keep_agent_changed(prev, e, own)
                prev = e
                continue
            key = (id(before), id(after))
            entry = pairs.get(key)
            if entry is None:
                entry = pairs[key] = [*derive(before, after), None]
            changed = entry[0]
            if e.kind != "hook" and changed and not AGENT_KEYS.isdisjoint(changed):
                changed, own = _split(changed)
            e._changed = changed[:] if changed else []  # a list of its own per event: a caller may change it
            e._messages_added, e._messages_removed, e._flow = entry[1], entry[2], entry[3]
            if e._summary is _LAZY:
                if e.kind == "hook" and e.status != "skipped" and not e.error:
                    # What a hook did is a function of its snapshot pair alone: built once per pair.
                    line = entry[4]
                    if line is None:
                        line = entry[4] = hook_summary(e)
                    e._summary = line
                else:
                    e._summary = summarize(e)
        else:  # some values were given: derive the others one by one
            e.materialize()
            if e._agent_changed is _LAZY and e.kind != "hook":
                own = e.agent_changed
        if e._agent_changed is _LAZY:
            if prev is not None and prev.after is before and prev.run_id == e.run_id:
                e._agent_changed = own[:] if own else []
            else:
                _keep_agent_changed(prev, e, own)
        prev = e
    return unsettled


def _split(changed: list[str]) -> tuple[list[str], list[str]]:
    """(keys an LLM or tool call changed, the Agent's bookkeeping keys) of a row's changed keys."""
    return [k for k in changed if k not in AGENT_KEYS], [k for k in changed if k in AGENT_KEYS]


def _keep_agent_changed(prev: Event | None, event: Event, own: list[str]) -> None:
    """Keep `event.agent_changed`: what changed between the previous event's `after` and the event's `before`
    (the Agent's work between the two, such as a continue_run reset), then its own bookkeeping keys. Left lazy
    while the previous event waits for its `after`."""
    before = event.before
    gap: list[str] = []
    if prev is None or prev.run_id != event.run_id:
        if event.seq != 0:  # the event before it is not in this list: left for a pass that has it
            return
    elif before is not None:
        prev_after = prev.after
        if prev_after is None:
            if prev.before is not None:  # the previous row is still in progress: its after is not known yet
                return
        elif prev_after is not before:
            gap = changed_keys(prev_after, before)
    event._agent_changed = gap + [k for k in own if k not in gap] if gap else own[:]


def fill_agent_changed(events: list[Event], start: int = 0) -> None:
    """Compute the `agent_changed` column of a run's events, in run order, from `start` on (it reads each
    event's predecessor).

    A timeline build does it; call it before reading `agent_changed` event by event (a widget's rows).

    Usage:
        >>> first = Event("r", 0, 0, "hook", "on_exit", "h", "ok", 0.0, 0.0, before={"continue_run": False},
        ...               after={"continue_run": True})
        >>> second = Event("r", 1, 1, "hook", "before_llm", "g", "ok", 0.1, 0.0, before={"continue_run": False},
        ...                after={"continue_run": False})
        >>> fill_agent_changed([first, second]); second.changed, second.agent_changed
        ([], ['continue_run'])
    """
    derive_all(events[max(0, start - 1) :])


#: The slot each column is read from (derived columns keep theirs under a leading underscore).
_SLOTS: dict[str, str] = {col: f"_{col}" if col in _DERIVED else col for col in TIMELINE_COLUMNS}


def _build(events: list[Event]) -> pd.DataFrame:
    unsettled = derive_all(events)
    # Column by column, each read by a C-level attribute getter (no Python call per event and column).
    values = {col: list(map(attrgetter(_SLOTS[col]), events)) for col in TIMELINE_COLUMNS}
    for i in unsettled:  # rows of a live run still waiting for their `after`: read, not kept
        for col in _DERIVED:
            values[col][i] = getattr(events[i], col)
    column = values["agent_changed"]
    if _LAZY in column:  # rows after one still in progress: their own part only, for now
        for i, value in enumerate(column):
            if value is _LAZY:
                column[i] = events[i].agent_changed
    return pd.DataFrame({col: _column(values[col], dtype) for col, dtype in TIMELINE_DTYPES.items()})


def _column(values: list[Any], dtype: Any) -> Any:
    n = len(values)
    if isinstance(dtype, pd.CategoricalDtype):
        # Codes through a dict lookup: several times faster than letting pandas factorize strings.
        index = {c: i for i, c in enumerate(dtype.categories)}
        codes = np.fromiter(map(index.get, values, repeat(-1)), dtype=np.int8, count=n)
        return pd.Categorical.from_codes(codes, dtype=dtype)
    if dtype == "object":
        return pd.Series(values, dtype=object)
    if dtype == "string":
        return _strings(values)
    try:  # the common cases straight to numpy, a fraction of pandas' generic conversion
        if dtype == "Int64":
            types = set(map(type, values))
            if types <= {int, type(None)}:  # pandas refuses 3.5 (numpy would cut it): other types go to pandas
                if type(None) not in types:
                    return pd.arrays.IntegerArray(np.fromiter(values, np.int64, count=n), np.zeros(n, dtype=bool))
                data = np.fromiter(values, dtype=object, count=n)
                mask = data == None  # noqa: E711  (elementwise, on an object array)
                data[mask] = 0
                return pd.arrays.IntegerArray(data.astype(np.int64), mask)
        elif dtype in ("int64", "float64"):  # numpy's conversion is the one pandas applies to these
            return np.fromiter(values, dtype=dtype, count=n)
    except (TypeError, ValueError, OverflowError):  # None in an int64 column, beyond int64...: pandas says what
        pass
    return pd.array(values, dtype=dtype)


def _strings(values: list[Any]) -> Any:
    expected = pd.StringDtype()
    if expected.storage == "pyarrow" and pa is not None:
        # Straight to Arrow when every value is a str or None (pandas' own path checks each value first).
        try:
            array = pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(values, type=pa.large_string())]))
        except (pa.ArrowException, UnicodeEncodeError, TypeError, ValueError):
            pass
        else:
            if array.dtype == expected:
                return array
    try:
        return pd.array(values, dtype="string")
    except UnicodeEncodeError:  # a lone surrogate (a non-UTF-8 file name a tool returned): shown escaped
        return pd.array([_printable(v) for v in values], dtype="string")


def _printable(value: Any) -> Any:
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value
