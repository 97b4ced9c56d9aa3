"""`compare(a, b)`: two runs side by side, their inputs first, then event by event on what each event did.

Inputs: the user messages, the run arguments (`kwargs`) and the hook switches are compared first;
`df.attrs["inputs"]` lists each difference with both values (a fork starts from a State, not from the
messages: its messages are compared only with a run resumed at the same step).

Rows are aligned by (step, kind, hook_point, name, occurrence), where occurrence counts that key within the
run (a hook that runs twice in one step has occurrences 0 and 1). Row order merges both runs' event orders.
`same` is True when both runs have the row and the two events did the same thing: the same status (a
`cached` LLM reply or tool result counts as `ok`) and error; for an LLM call the same input messages, offered
tools and reply; for a tool call the same arguments and result; for every event the same change to the
State (messages added, removed or replaced, the values of the keys it set itself) and run control (flow).
Timings, tool call ids, message `meta` (token counts, model ids) and the Agent's own bookkeeping
(`agent_changed`: step_count, token_usage...) never count: a run and its replay agree. `differs` names the
first field that differs; `first_divergence` is True on the first row that is not `same`.

Forks: a fork (or a replay of one) has no events before the step it resumed at, and its before_run hooks
are switched off. Those rows are its *inherited* history: where the fork has no row, its status reads
`inherited`. When the other run is the one it was forked from (its parent), inherited rows count as `same`
(the history is literally shared); against any other run they are not, since the history may differ.

Usage:
    >>> from agent_nb import compare
    >>> df = compare(run, run.fork(step=1, edit={"user_profile": {"name": "Ada"}}))
    >>> df.loc[df.first_divergence, ["step", "kind", "differs"]].values.tolist()
    [[1, 'hook', 'State.messages']]
    >>> df.attrs["first_divergence"]  # doctest: +ELLIPSIS
    {'row': 7, 'step': 1, 'kind': 'hook', 'hook_point': 'before_llm', 'name': 'inject_user_profile', ...}
    >>> print(df.attrs["summary"])  # doctest: +ELLIPSIS
    first divergence at step 1, before_llm inject_user_profile: State.messages differs: ...
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
from haystack.dataclasses import ChatMessage, TextContent, ToolCall, ToolCallResult

from agent_nb.errors import InvalidType
from agent_nb.recording import TIMELINE_SCHEMA, Event, Run
from agent_nb.recording.diff import message_text
from agent_nb.recording.events import AGENT_KEYS, Column, frame_of
from agent_nb.recording.fingerprint import fingerprint_changes
from agent_nb.recording.text import ELLIPSIS, cut
from agent_nb.recording.types import EventKind, HookPoint
from agent_nb.recording.values import MessageLog, same_value

Key = tuple[int | None, EventKind, HookPoint | None, str, int]

_TIMELINE = {c.name: c for c in TIMELINE_SCHEMA}
#: How long each value may be in a `reason` or the summary line (the full values are in attrs["divergence"]).
REASON_LIMIT = 80
#: What a value reads when one side has none.
NONE = "(none)"


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
    Column("same", "bool", "both runs have the row, and the events did the same thing", "same", 4),
    Column("first_divergence", "bool", "the first row that is not the same", "first", 5),
    Column("differs", "string", "the first field that differs (input, reply, result, State.<key>...)", "differs", 16),
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


# ---- content: what an event did, without timings, ids and meta ----------------------------------------------
def _call(call: ToolCall) -> tuple[str, str]:
    return (call.tool_name, _value_line(call.arguments))


def _part(part: Any) -> tuple[Any, ...]:
    """A content part by what it says: tool call ids and provider extras left out (they differ between equal
    calls), like the message's meta."""
    if isinstance(part, TextContent):
        return ("text", part.text)
    if isinstance(part, ToolCall):
        return ("call", *_call(part))
    if isinstance(part, ToolCallResult):
        return ("result", _value_line(part.result), *_call(part.origin), bool(part.error))
    return (type(part).__name__, _value_line(part))


class _Forms:
    """Canonical text of messages (role, content, name; no meta, no ids), memoized per message object."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Any, str]] = {}
        #: The last pair of LLM inputs (message logs) found equal: the next inputs usually extend them, and only
        #: their new messages need comparing (a long run costs O(messages), not O(steps x messages)).
        self.equal_inputs: tuple[MessageLog, MessageLog] | None = None

    def __call__(self, message: Any) -> str:
        hit = self._memo.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        if isinstance(message, ChatMessage):
            form = repr((message.role.value, message.name, [_part(p) for p in message._content]))
        else:
            form = _value_line(message)
        self._memo[id(message)] = (message, form)
        return form


def _line(message: Any) -> str:
    """`role: text` of a message, in full."""
    if isinstance(message, ChatMessage):
        return f"{message.role.value}: {message_text(message, limit=None)}"
    return _value_line(message)


def _value_line(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)
    except Exception:  # a circular value or a broken __repr__: still one line
        try:
            return repr(value)
        except Exception as exc:
            return f"<{type(value).__name__}: repr failed with {type(exc).__name__}>"


def _messages(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _first_message_difference(
    a: Sequence[Any], b: Sequence[Any], forms: _Forms, offset: int = 0
) -> tuple[str, str] | None:
    """Both sides of the first message that differs (by content), or None when the lists are the same."""
    for i in range(max(len(a), len(b))):
        ma, mb = (a[i] if i < len(a) else None), (b[i] if i < len(b) else None)
        if ma is mb:
            continue
        if ma is None or mb is None or forms(ma) != forms(mb):
            at = i + offset
            return (f"[{at}] {_shown_line(ma)}", f"[{at}] {_shown_line(mb)}")
    return None


def _input_difference(a: Any, b: Any, forms: _Forms) -> tuple[str, str] | None:
    """The first message where two LLM inputs part, or None; from the last equal pair on when they extend it."""
    if a is b:
        return None
    logs = isinstance(a, MessageLog) and isinstance(b, MessageLog)
    known = forms.equal_inputs
    if logs and known is not None:
        la, lb = known
        if (a is la or a.extends(la)) and (b is lb or b.extends(lb)):
            hit = _first_message_difference(a.since(len(la)), b.since(len(lb)), forms, offset=len(la))
            if hit is None:
                forms.equal_inputs = (a, b)
            return hit
    hit = _first_message_difference(_messages(a), _messages(b), forms)
    if hit is None and logs:
        forms.equal_inputs = (a, b)
    return hit


def _message_change(event: Event) -> list[Any]:
    """The messages an event added / removed, as (sign, message) pairs, the common start and end left out."""
    before, after = event.before, event.after
    if before is None or after is None or before is after:
        return []
    old_log, new_log = before.get("messages"), after.get("messages")
    if old_log is new_log:
        return []
    if isinstance(new_log, MessageLog) and isinstance(old_log, MessageLog) and new_log.extends(old_log):
        return [("+", m) for m in new_log.since(len(old_log))]  # appended: O(what was added)
    old, new = _messages(old_log), _messages(new_log)
    limit = min(len(old), len(new))
    start = 0
    while start < limit and (old[start] is new[start] or same_value(old[start], new[start])):
        start += 1
    end = 0
    while end < limit - start and (old[-1 - end] is new[-1 - end] or same_value(old[-1 - end], new[-1 - end])):
        end += 1
    return [("-", m) for m in old[start : len(old) - end]] + [("+", m) for m in new[start : len(new) - end]]


def own_changes(event: Event) -> list[str]:
    """The State keys an event changed itself: `changed` without the Agent's bookkeeping on LLM and tool rows."""
    keys = list(event.changed or ())
    return keys if event.kind == "hook" else [k for k in keys if k not in AGENT_KEYS]


Field = tuple[str, Callable[[Event], Any], Callable[[Any], str]]


def _fields(kind: str, forms: _Forms) -> list[Field]:
    """(name, what to compare, how to show it) for an event of `kind`, in the order they are reported."""

    def status(e: Event) -> str:
        return "ok" if e.status == "cached" else e.status

    def messages(value: list[Any]) -> str:
        return "\n".join(_line(m) for m in value) if value else NONE

    out: list[Field] = [("status", status, str), ("error", lambda e: e.error or "", lambda v: v or NONE)]
    if kind == "llm":
        out += [
            ("input", lambda e: e.detail.get("input_messages") or (e.before or {}).get("messages") or [], None),
            ("tools offered", lambda e: sorted(map(str, e.detail.get("tool_names") or [])), lambda v: ", ".join(v)),
            ("reply", lambda e: _messages(e.detail.get("replies")), messages),
        ]
    elif kind == "tool":
        out += [
            ("tool name", lambda e: e.name, str),  # compare() aligns by name; two events given by hand may differ
            ("arguments", lambda e: e.detail.get("arguments"), _value_line),
            ("result", lambda e: e.detail.get("result", NONE), _value_line),
        ]
    return out


def _state_change(event: Event, forms: _Forms) -> dict[str, tuple[Any, str]]:
    """What the event did to the State: {field: (comparable value, text)}: messages, own keys, flow."""
    out: dict[str, tuple[Any, str]] = {}
    change = _message_change(event)
    if change:
        out["State.messages"] = ([(s, forms(m)) for s, m in change], "\n".join(f"{s}{_line(m)}" for s, m in change))
    after = event.after or {}
    for key in own_changes(event):
        if key in ("messages", "continue_run", "stop_run"):
            continue  # messages above; run control is the flow
        value = after.get(key)
        out[f"State.{key}"] = (value, _value_line(value))
    if event.flow:
        out["flow"] = (event.flow, event.flow)
    return out


def event_difference(ea: Event, eb: Event, forms: _Forms | None = None) -> dict[str, str] | None:
    """The first thing two aligned events did differently: `{"field", "a", "b"}` (full texts), or None.

    Usage:
        >>> a = Event("r", 0, 0, "tool", None, "add", "ok", 0.1, 0.2, detail={"arguments": {"a": 1}, "result": 2})
        >>> b = Event("s", 0, 0, "tool", None, "add", "ok", 9.0, 0.5, detail={"arguments": {"a": 1}, "result": 3})
        >>> event_difference(a, b)
        {'field': 'result', 'a': '2', 'b': '3'}
        >>> event_difference(a, a) is None
        True
    """
    forms = forms or _Forms()
    for name, get, show in _fields(ea.kind, forms):
        va, vb = get(ea), get(eb)
        if name == "input":  # the message where they part (the conversations are long)
            hit = _input_difference(va, vb, forms)
            if hit is not None:
                return {"field": name, "a": hit[0], "b": hit[1]}
            continue
        if name == "reply":  # by content: ids and meta (token counts, response ids) never count
            if [forms(m) for m in va] != [forms(m) for m in vb]:
                return {"field": name, "a": show(va), "b": show(vb)}
            continue
        if not same_value(va, vb):
            return {"field": name, "a": show(va), "b": show(vb)}
    ca, cb = _state_change(ea, forms), _state_change(eb, forms)
    for name in [*ca, *(k for k in cb if k not in ca)]:
        va, vb = ca.get(name), cb.get(name)
        if va is None or vb is None or not same_value(va[0], vb[0]):
            return {"field": name, "a": va[1] if va else NONE, "b": vb[1] if vb else NONE}
    return None


# ---- inputs ---------------------------------------------------------------------------------------------------
def input_differences(a: Run, b: Run) -> list[dict[str, str]]:
    """What differs in the two runs' inputs: messages, run arguments, hook switches; `{"field", "a", "b"}` each.

    A fork (or a replay of one) starts from a State: its messages are compared only with a run resumed at the
    same step, and its before_run switches (off by design) are not compared.

    Usage:
        >>> other = rec.run("What is 2 + 3, and the weather in Paris? Answer in French.")
        >>> [d["field"] for d in input_differences(run, other)]
        ['message 0']
        >>> input_differences(run, run.replay())
        []
    """
    forms = _Forms()
    out: list[dict[str, str]] = []
    resumed = a.resumed or b.resumed
    if not resumed or (a.resumed and b.resumed and a.start_step == b.start_step):
        ma = _messages((a.inputs or {}).get("messages"))
        mb = _messages((b.inputs or {}).get("messages"))
        for i in range(max(len(ma), len(mb))):
            xa, xb = (ma[i] if i < len(ma) else None), (mb[i] if i < len(mb) else None)
            if xa is None or xb is None or forms(xa) != forms(xb):
                out.append({"field": f"message {i}", "a": _shown_line(xa), "b": _shown_line(xb)})
    ka, kb = (a.inputs or {}).get("kwargs") or {}, (b.inputs or {}).get("kwargs") or {}
    for key in [*ka, *(k for k in kb if k not in ka)]:
        if key not in ka or key not in kb or not same_value(ka[key], kb[key]):
            va = _value_line(ka[key]) if key in ka else NONE
            vb = _value_line(kb[key]) if key in kb else NONE
            out.append({"field": f"argument {key}", "a": va, "b": vb})
    for point, name, on_a, on_b in _switches(a.hook_config, b.hook_config):
        if on_a != on_b and not (resumed and point == "before_run"):
            out.append({"field": f"hook {point}/{name}", "a": _switch(on_a), "b": _switch(on_b)})
    return out


def _shown_line(message: Any) -> str:
    return NONE if message is None else _line(message)


def _switch(on: bool | None) -> str:
    return NONE if on is None else ("on" if on else "off")


def _switches(ca: dict[str, dict[str, bool]] | None, cb: dict[str, dict[str, bool]] | None) -> Iterable[tuple]:
    ca, cb = ca or {}, cb or {}
    for point in [*ca, *(p for p in cb if p not in ca)]:
        na, nb = ca.get(point) or {}, cb.get(point) or {}
        for name in [*na, *(n for n in nb if n not in na)]:
            yield point, name, na.get(name), nb.get(name)


# ---- the comparison -------------------------------------------------------------------------------------------
def _in_zone(key: Key, run: Run, resumed: bool) -> bool:
    """Is this row part of `run`'s inherited history (before its resume step, or a before_run hook)?"""
    if not resumed:
        return False
    step, _, point, _, _ = key
    return point == "before_run" or (step is not None and step < run.start_step)


def _missing(ea: Event | None, eb: Event | None, a: Run, b: Run, zone_a: bool, zone_b: bool) -> str | None:
    """The reason of a row that cannot be compared (inherited history, an event only one run has)."""
    for zone, run, other in ((zone_a, a, b), (zone_b, b, a)):
        if zone:  # and not inherited from `other`, or the row would be `same`
            return (
                f"history {run.run_id} inherited from {run.parent_id} (it resumed at step {run.start_step}), "
                f"not from {other.run_id}: not compared"
            )
    if ea is None and eb is None:
        return None
    if ea is None:
        return f"only in {b.run_id}" + (" (inherited by the other run)" if a.resumed else "")
    if eb is None:
        return f"only in {a.run_id}" + (" (inherited by the other run)" if b.resumed else "")
    return None  # both have the event: the difference says why


def difference_text(field: str, a: str, b: str, limit: int = REASON_LIMIT) -> str:
    """`reply differs: 'a…' vs 'b…'`: one line, each value cut with a mark; when both start alike for longer
    than half the room, both are shown from a little before where they part (`…`-led).

    Usage:
        >>> difference_text("result", "5", "6")
        "result differs: '5' vs '6'"
        >>> difference_text("input", "x" * 100 + " in English", "x" * 100 + " in French", limit=20)
        "input differs: '…x in English' vs '…x in French'"
    """
    a, b = " ".join(a.split()), " ".join(b.split())
    same = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        same += 1
    if same > limit // 2 and max(len(a), len(b)) > limit:
        start = max(0, same - limit // 4)
        a, b = ELLIPSIS + a[start:], ELLIPSIS + b[start:]
    return f"{field} differs: {cut(a, limit)!r} vs {cut(b, limit)!r}"


def compare(a: Run, b: Run) -> pd.DataFrame:
    """Align two runs event by event after comparing their inputs; mark where they first differ, and in what.

    Columns (declared in COMPARE_SCHEMA): step, kind, hook_point, name, occurrence, seq_a, seq_b, status_a,
    status_b, summary_a, summary_b, duration_ms_a, duration_ms_b, same, first_divergence, differs. A row
    missing on one side has NA there (status `inherited` for a fork's history before its fork step).

    `df.attrs`:
    - `"inputs"`: the input differences (`{"field", "a", "b"}`, full values), empty when the inputs agree;
    - `"first_divergence"`: a dict (row, step, kind, hook_point, name, occurrence, seq_a, seq_b, reason, field),
      or None when every event agrees; `reason` quotes both values cut with a mark;
    - `"divergence"`: the same event's `{"seq_a", "seq_b", "step", "kind", "hook_point", "name", "field", "a",
      "b"}` with both values in full; None when every event agrees;
    - `"summary"`: one line saying all of it, what every view shows (`describe_comparison`);
    - `"a"` / `"b"`: the run ids; `"changes"`: what differs between the two runs' Agent definitions (hook
      sources, tools, generator: their fingerprints), empty when nothing does.

    Usage:
        >>> df = compare(run, run.replay(hooks={"before_llm": {"inject_date": False}}))
        >>> df.loc[df.first_divergence, ["step", "kind", "name", "differs"]].values.tolist()
        [[0, 'hook', 'inject_date', 'status']]
        >>> compare(run, run.replay()).attrs["summary"]
        'no divergence: the runs agree'
    """
    if not isinstance(a, Run) or not isinstance(b, Run):
        raise InvalidType(f"compare needs two Runs, got {type(a).__name__} and {type(b).__name__}")
    rows = merge_keyed(keyed_events(a.events), keyed_events(b.events))
    resumed_a, resumed_b = a.resumed, b.resumed
    a_inherits_b = resumed_a and a.parent_id == b.run_id
    b_inherits_a = resumed_b and b.parent_id == a.run_id
    forms = _Forms()
    out: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    divergence: dict[str, Any] | None = None
    for i, (key, ea, eb) in enumerate(rows):
        step, kind, point, name, occ = key
        zone_a, zone_b = _in_zone(key, a, resumed_a), _in_zone(key, b, resumed_b)
        found: dict[str, str] | None = None
        if (zone_a and a_inherits_b) or (zone_b and b_inherits_a):
            same = True  # shared history: the resumed run inherited exactly this row
        elif ea is None or eb is None:
            same = False
        else:
            found = event_difference(ea, eb, forms)
            same = found is None
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
            "differs": None if same else (found["field"] if found else "event"),
        }
        out.append(row)
        if not same and first is None:
            row["first_divergence"] = True
            if found is None:
                found = {
                    "field": "event",
                    "a": ea.summary if ea is not None else status_a or NONE,
                    "b": eb.summary if eb is not None else status_b or NONE,
                }
            reason = _missing(ea, eb, a, b, zone_a, zone_b) or difference_text(found["field"], found["a"], found["b"])
            first = {"row": i, **{k: row[k] for k in _FIRST_KEYS}, "reason": reason, "field": found["field"]}
            divergence = {k: row[k] for k in ("seq_a", "seq_b", "step", "kind", "hook_point", "name")} | found
    frame = frame_of(out, COMPARE_SCHEMA)
    # What differs in the Agent definitions (hook sources, tools, generator), said before any divergence.
    changes = fingerprint_changes(a.fingerprint, b.fingerprint) if a.fingerprint and b.fingerprint else []
    frame.attrs.update(
        {
            "a": a.run_id,
            "b": b.run_id,
            "inputs": input_differences(a, b),
            "first_divergence": first,
            "divergence": divergence,
            "changes": changes,
        }
    )
    frame.attrs["summary"] = describe_comparison(frame)
    return frame


def describe_comparison(frame: pd.DataFrame) -> str:
    """One line for a `compare` frame: the inputs that differ, then the first divergence, or that the runs agree.

    What `compare`'s `attrs["summary"]`, the report, the CLI and the trace view say.

    Usage:
        >>> print(describe_comparison(compare(run, rec.run("What is 2 + 3? Answer in French."))))
        ... # doctest: +ELLIPSIS
        inputs differ: message 0 differs: 'user: What is 2 + 3, and the weather in Paris?' vs 'user: What is 2 + 3?...
    """
    attrs = frame.attrs
    parts = []
    inputs = attrs.get("inputs") or []
    if inputs:
        shown = "; ".join(difference_text(d["field"], d["a"], d["b"]) for d in inputs[:3])
        more = f" (and {len(inputs) - 3} more)" if len(inputs) > 3 else ""
        parts.append(f"inputs differ: {shown}{more}")
    first = attrs.get("first_divergence")
    if first:
        step = first.get("step")
        where = "run start" if step is None or pd.isna(step) else f"step {step}"
        what = first.get("hook_point") if isinstance(first.get("hook_point"), str) else first.get("kind")
        parts.append(f"first divergence at {where}, {what} {first.get('name')}: {first.get('reason')}")
    if not parts:
        return "no divergence: the runs agree"
    return "; ".join(parts)
