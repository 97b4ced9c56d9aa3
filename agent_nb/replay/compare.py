"""`compare(a, b)`: two runs side by side, event by event, with the first divergence marked.

Rows are aligned by (step, kind, hook_point, name, occurrence), where occurrence counts that key within the
run (a hook that runs twice in one step has occurrences 0 and 1). Row order merges both runs' event orders.
`same` is True when both runs have the row with the same status (a `cached` LLM reply or tool result counts
as `ok`) and the same summary; `first_divergence` is True on the first row that is not `same`.

Forks: a fork (or a replay of one) has no events before the step it resumed at, and its before_run hooks
are switched off. Those rows are its *inherited* history: where the fork has no row, its status reads
`inherited`. When the other run is the one it was forked from (its parent), inherited rows count as `same`
(the history is literally shared); against any other run they are not, since the history may differ.

Usage:
    >>> from agent_nb import compare
    >>> df = compare(run, run.fork(step=1, edit={"user_profile": {"name": "Ada"}}))
    >>> df.loc[df.first_divergence, ["step", "kind"]].values.tolist()
    [[1, 'hook']]
    >>> df.attrs["first_divergence"]  # doctest: +ELLIPSIS
    {'row': 7, 'step': 1, 'kind': 'hook', 'hook_point': 'before_llm', 'name': 'inject_user_profile', ...}
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from agent_nb.recording import TIMELINE_SCHEMA, Event, Run
from agent_nb.recording.events import Column, frame_of
from agent_nb.recording.fingerprint import fingerprint_changes
from agent_nb.recording.types import EventKind, HookPoint
from agent_nb.replay.resume import is_resumed, start_step

Key = tuple[int | None, EventKind, HookPoint | None, str, int]

_TIMELINE = {c.name: c for c in TIMELINE_SCHEMA}


def _side(name: str, side: str) -> Column:
    """A timeline column as one run's side of the comparison (`status` -> `status_a`, "A status")."""
    col = _TIMELINE[name]
    # Either side may lack the row: seq becomes nullable; status also reads `inherited` (a fork's history).
    dtype = {"seq": "Int64", "status": "string"}.get(name, col.dtype)
    label = f"{side.upper()} {col.label}"
    return Column(f"{name}_{side}", dtype, f"{col.description} (run {side.upper()})", label, col.width)


#: The columns of `compare`, in order: the alignment key, then each run's side, then the verdict. The key
#: columns are the timeline's own (same dtype, description and label).
COMPARE_SCHEMA: tuple[Column, ...] = (
    *(_TIMELINE[name] for name in ("step", "kind", "hook_point", "name")),
    Column("occurrence", "int64", "how many times this key came before, within the run", "occ", 3),
    *(_side(name, side) for name in ("seq", "status", "summary", "duration_ms") for side in "ab"),
    Column("same", "bool", "both runs have the row, with the same status and summary", "same", 4),
    Column("first_divergence", "bool", "the first row that is not the same", "first", 5),
)
#: Columns of `compare` with their dtypes (derived from COMPARE_SCHEMA).
COMPARE_DTYPES: dict[str, Any] = {c.name: c.dtype for c in COMPARE_SCHEMA}
#: The columns of the first differing row that `df.attrs["first_divergence"]` repeats (with its row and reason).
_FIRST_KEYS = ("step", "kind", "hook_point", "name", "occurrence", "seq_a", "seq_b")
#: The status of a row a fork inherited from its source run (it has no event of its own there).
INHERITED = "inherited"


def keyed_events(events: list[Event]) -> list[tuple[Key, Event]]:
    """Each event with its alignment key (step, kind, hook_point, name, occurrence), in run order.

    Usage:
        >>> ev = Event("r", 0, 0, "hook", "before_llm", "note", "ok", 0.0, 0.1)
        >>> keyed_events([ev, ev])[1][0]
        (0, 'hook', 'before_llm', 'note', 1)
    """
    counts: dict[tuple[Any, ...], int] = {}
    out: list[tuple[Key, Event]] = []
    for event in sorted(events, key=lambda e: e.seq):
        base = (event.step, event.kind, event.hook_point, event.name)
        n = counts.get(base, 0)
        counts[base] = n + 1
        out.append(((*base, n), event))
    return out


def merge_keyed(a: list[tuple[Key, Event]], b: list[tuple[Key, Event]]) -> list[tuple[Key, Event | None, Event | None]]:
    """Merge two keyed event lists into aligned rows, keeping each run's own order.

    Rows only in `b` are placed before the next row that both runs share, after rows only in `a`.

    Usage:
        >>> e = lambda name: Event("r", 0, 0, "hook", "before_llm", name, "ok", 0.0, 0.0)
        >>> rows = merge_keyed(keyed_events([e("x"), e("y")]), keyed_events([e("z"), e("y")]))
        >>> [(k[3], ea is not None, eb is not None) for k, ea, eb in rows]
        [('x', True, False), ('z', False, True), ('y', True, True)]
    """
    pos_b = {key: j for j, (key, _) in enumerate(b)}
    keys_a = {key for key, _ in a}
    out: list[tuple[Key, Event | None, Event | None]] = []
    j = 0
    for key, ea in a:
        jb = pos_b.get(key)
        if jb is None:
            out.append((key, ea, None))
            continue
        while j < jb:  # b's own rows up to the match
            key_b, eb = b[j]
            if key_b not in keys_a:
                out.append((key_b, None, eb))
            j += 1
        out.append((key, ea, b[jb][1]))
        j = max(j, jb + 1)
    out.extend((key_b, None, eb) for key_b, eb in b[j:] if key_b not in keys_a)
    return out


def _norm(status: str) -> str:
    return "ok" if status == "cached" else status


def _in_zone(key: Key, run: Run, resumed: bool) -> bool:
    """Is this row part of `run`'s inherited history (before its resume step, or a before_run hook)?"""
    if not resumed:
        return False
    step, _, point, _, _ = key
    return point == "before_run" or (step is not None and step < start_step(run))


def _reason(ea: Event | None, eb: Event | None, a: Run, b: Run, zone_a: bool, zone_b: bool) -> str:
    for zone, run, other in ((zone_a, a, b), (zone_b, b, a)):
        if zone:  # and not inherited from `other`, or the row would be `same`
            return (
                f"history {run.run_id} inherited from {run.parent_id} (it resumed at step {start_step(run)}), "
                f"not from {other.run_id}: not compared"
            )
    if ea is None:
        return f"only in {b.run_id}" + (" (inherited by the other run)" if is_resumed(a) else "")
    if eb is None:
        return f"only in {a.run_id}" + (" (inherited by the other run)" if is_resumed(b) else "")
    if _norm(ea.status) != _norm(eb.status):
        return f"status {ea.status} vs {eb.status}"
    return f"summary differs: {ea.summary!r} vs {eb.summary!r}"


def compare(a: Run, b: Run) -> pd.DataFrame:
    """Align two runs event by event; mark where they first differ.

    Columns (declared in COMPARE_SCHEMA): step, kind, hook_point, name, occurrence, seq_a, seq_b, status_a,
    status_b, summary_a, summary_b, duration_ms_a, duration_ms_b, same, first_divergence. A row missing on one
    side has NA there (status `inherited` for a fork's history before its fork step).
    `df.attrs["first_divergence"]` is a dict (row, step, kind, hook_point, name, occurrence, seq_a, seq_b,
    reason), or None when the runs agree; `df.attrs["a"]` / `["b"]` are the run ids; `df.attrs["changes"]`
    lists what differs between the two runs' Agent definitions (hook sources, tools, generator: their
    fingerprints), empty when nothing does.

    Usage:
        >>> df = compare(run, run.replay(hooks={"before_llm": {"inject_date": False}}))
        >>> df.loc[df.first_divergence, ["step", "kind", "name"]].values.tolist()
        [[0, 'hook', 'inject_date']]
    """
    if not isinstance(a, Run) or not isinstance(b, Run):
        raise TypeError(f"compare needs two Runs, got {type(a).__name__} and {type(b).__name__}")
    rows = merge_keyed(keyed_events(a.events), keyed_events(b.events))
    resumed_a, resumed_b = is_resumed(a), is_resumed(b)
    a_inherits_b = resumed_a and a.parent_id == b.run_id
    b_inherits_a = resumed_b and b.parent_id == a.run_id
    out: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    for i, (key, ea, eb) in enumerate(rows):
        step, kind, point, name, occ = key
        zone_a, zone_b = _in_zone(key, a, resumed_a), _in_zone(key, b, resumed_b)
        if (zone_a and a_inherits_b) or (zone_b and b_inherits_a):
            same = True  # shared history: the resumed run inherited exactly this row
        elif ea is None or eb is None:
            same = False
        else:
            same = _norm(ea.status) == _norm(eb.status) and ea.summary == eb.summary
        status_a = ea.status if ea is not None else (INHERITED if zone_a else None)
        status_b = eb.status if eb is not None else (INHERITED if zone_b else None)
        row = {
            "step": step,
            "kind": kind,
            "hook_point": point,
            "name": name,
            "occurrence": occ,
            "seq_a": ea.seq if ea is not None else None,
            "seq_b": eb.seq if eb is not None else None,
            "status_a": status_a,
            "status_b": status_b,
            "summary_a": ea.summary if ea is not None else None,
            "summary_b": eb.summary if eb is not None else None,
            "duration_ms_a": ea.duration_ms if ea is not None else float("nan"),
            "duration_ms_b": eb.duration_ms if eb is not None else float("nan"),
            "same": same,
            "first_divergence": False,
        }
        out.append(row)
        if not same and first is None:
            row["first_divergence"] = True
            first = {"row": i, **{k: row[k] for k in _FIRST_KEYS}, "reason": _reason(ea, eb, a, b, zone_a, zone_b)}
    frame = frame_of(out, COMPARE_SCHEMA)
    # What differs in the Agent definitions (hook sources, tools, generator), said before any divergence.
    changes = fingerprint_changes(a.fingerprint, b.fingerprint) if a.fingerprint and b.fingerprint else []
    frame.attrs.update({"a": a.run_id, "b": b.run_id, "first_divergence": first, "changes": changes})
    return frame


__all__ = ["COMPARE_DTYPES", "COMPARE_SCHEMA", "INHERITED", "compare", "keyed_events", "merge_keyed"]
