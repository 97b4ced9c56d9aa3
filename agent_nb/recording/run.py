"""`Run`: one recorded Agent run: its events, timeline, State snapshots, result and lineage.

A Run is live while the Agent runs (events appear as they happen) and read-only afterwards.

Usage:
    >>> from agent_nb import Recorder, demo_agent
    >>> run = Recorder(demo_agent()).run("What is 2 + 3?")
    >>> run.timeline[["kind", "name"]].iloc[3].tolist()
    ['llm', 'ScriptedChatGenerator']
    >>> print(run.diff(1))
    +system[1]: Today is ...
"""

from __future__ import annotations

import datetime as _dt
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from haystack.dataclasses import ChatMessage

from agent_nb.errors import InvalidArgument, OutOfRange
from agent_nb.recording.diff import StateDiff, state_diff
from agent_nb.recording.events import Event, build_timeline
from agent_nb.recording.types import RunStatus
from agent_nb.recording.values import LazyMessages, restore_value
from agent_nb.recording.verbs import Verb

if TYPE_CHECKING:
    from agent_nb.recording.context import RunContext
    from agent_nb.recording.recorder import Recorder

RunKind = Literal["run", "replay", "fork"]


def new_run_id() -> str:
    """A short unique run id.

    Usage:
        >>> len(new_run_id())
        8
    """
    return uuid.uuid4().hex[:8]


@dataclass(eq=False)
class Run:
    """One recorded run. Built by `Recorder.run`, `Run.replay`, `Run.fork` or `Run.load`.

    Attributes: `run_id`, `kind` ("run", "replay", "fork"), `parent_id` and `fork_step` (lineage), `inputs`
    (`{"messages": [...], "kwargs": {...}}`), `hook_config` (`{point: {name: enabled}}`), `result` (what
    `agent.run` returned), `error` (text, when the run raised; the partial run is kept), `events`.

    Usage:
        >>> run = Run(run_id="demo")
        >>> run.timeline.empty, run.status
        (True, 'running')
    """

    run_id: str = field(default_factory=new_run_id)
    kind: RunKind = "run"
    parent_id: str | None = None
    fork_step: int | None = None
    label: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    hook_config: dict[str, dict[str, bool]] = field(default_factory=dict)
    generator: str = ""
    snapshots: str = "fast"
    started_at: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    #: Wall clock at the start of the run, in ns since the epoch: `offset_ms` of every event counts from here.
    started_unix_ns: int = field(default_factory=time.time_ns)
    duration_ms: float | None = None
    status: RunStatus = "running"
    result: dict[str, Any] | None = None
    error: str | None = None
    events: list[Event] = field(default_factory=list, repr=False)
    step_starts: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)
    initial_state: dict[str, Any] | None = field(default=None, repr=False)
    #: The recorded snapshot of the State as the run ended (shared with the events' snapshots: never change it).
    #: Read `final_state` for copies of your own.
    final_snapshot: dict[str, Any] | None = field(default=None, repr=False)
    #: Token usage and tool calls the fork inherited from its source (subtracted from the fork's own cost).
    inherited: dict[str, Any] = field(default_factory=dict, repr=False)
    exception: BaseException | None = field(default=None, repr=False)
    #: The Agent definition the run used (generator, tools, hook sources): see `agent_nb.recording.fingerprint`.
    fingerprint: dict[str, Any] | None = field(default=None, repr=False)
    #: The file this run was loaded from (None for a run recorded in this process).
    loaded_from: str | None = field(default=None, repr=False)
    #: What the recording could not show exactly, in words (messages a hook changed in place, with fast snapshots).
    warnings: list[str] = field(default_factory=list, repr=False)
    #: A private copy of `result`, taken as the run ended: what `save` writes, whatever is done to `result`.
    recorded_result: dict[str, Any] | None = field(default=None, repr=False)
    recorder: Recorder | None = field(default=None, repr=False)
    _ctx: RunContext | None = field(default=None, repr=False)
    _timeline: pd.DataFrame | None = field(default=None, repr=False)

    # ---- reading -------------------------------------------------------------------------------------------
    @property
    def final_state(self) -> dict[str, Any] | None:
        """The State as the run ended (None with snapshots="off"), read like `state_at`: plain lists, private copies.

        Usage:
            >>> final = run.final_state
            >>> type(final["messages"]).__name__, final["messages"][-1].text == run.final_answer
            ('list', True)
            >>> final["messages"].clear(); len(run.final_state["messages"]) > 0   # a copy: the run keeps its own
            True
        """
        snap = self.final_snapshot
        return None if snap is None else {k: restore_value(v) for k, v in snap.items()}

    @final_state.setter
    def final_state(self, snapshot: dict[str, Any] | None) -> None:  # the recorder and the loader set it
        self.final_snapshot = snapshot

    @property
    def timeline(self) -> pd.DataFrame:
        """The run as a DataFrame, one row per event (columns and dtypes of `TIMELINE_SCHEMA`).

        Usage:
            >>> Run(run_id="x").timeline.columns[0]
            'run_id'
        """
        if self.status == "running":
            return build_timeline(list(self.events))
        if self._timeline is None or len(self._timeline) != len(self.events):
            self._timeline = build_timeline(self.events)
        # A shallow copy: a user adding a column must not change what the next call returns.
        return self._timeline.copy(deep=False)

    def event(self, seq: int) -> Event:
        """The event with sequence number `seq` (an OutOfRange, an IndexError, names the valid range).

        Usage:
            >>> Run(run_id="x").event(0)
            Traceback (most recent call last):
            ...
            agent_nb.errors.OutOfRange: run x has no event 0 (it has 0 events)
        """
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < len(self.events):
            raise OutOfRange(f"run {self.run_id} has no event {seq!r} (it has {len(self.events)} events)")
        event = self.events[seq]
        if event.seq != seq:  # tool rows may be re-sorted while live
            event = next(e for e in self.events if e.seq == seq)
        return event

    def search(self, text: str) -> pd.DataFrame:
        """The timeline rows whose event content (messages, arguments, results, State changes, errors,
        summaries) contains `text`, case-insensitively. See `agent_nb.recording.search`.

        Usage:
            >>> run.search("celsius")["name"].tolist()
            ['MemoryRetrievalHook']
        """
        from agent_nb.recording.search import matching_seqs

        frame = self.timeline
        return frame[frame["seq"].isin(matching_seqs(self, text))]

    def state_at(self, seq: int, when: Literal["before", "after"] = "before") -> dict[str, Any]:
        """The State around event `seq`: a dict of every State key (messages as ChatMessage objects).

        Returns private copies: mutating the result never changes the recording.

        Usage:
            >>> run.state_at(4, when="after")["messages"][-1].text
        """
        if when not in ("before", "after"):
            raise InvalidArgument(f"when must be 'before' or 'after', got {when!r}")
        event = self.event(seq)
        snap = event.before if when == "before" else event.after
        if snap is None:
            if self.snapshots == "off":
                raise InvalidArgument(f"run {self.run_id} was recorded with snapshots='off': no State was kept")
            raise InvalidArgument(f"event {seq} of run {self.run_id} has no State {when} it (the run ended first)")
        return {k: restore_value(v) for k, v in snap.items()}

    def diff(self, seq: int) -> StateDiff:
        """What event `seq` changed: messages added / removed / replaced (role, text), changed keys, flow.

        Usage:
            >>> print(run.diff(4))
            +tool[5]: add -> 5
        """
        event = self.event(seq)
        if event.before is None or event.after is None:
            raise InvalidArgument(f"event {seq} of run {self.run_id} has no snapshots (snapshots={self.snapshots!r})")
        return state_diff(event.before, event.after)

    def state_at_step(self, step: int) -> dict[str, Any]:
        """The State at the start of `step`, before its before_llm hooks: what a fork resumes from.

        Usage:
            >>> run.state_at_step(1)["step_count"]
            1
        """
        if step not in self.step_starts:
            known = sorted(self.step_starts)
            raise OutOfRange(f"run {self.run_id} has no step {step!r}; steps with a snapshot: {known}")
        return {k: restore_value(v) for k, v in self.step_starts[step].items()}

    @property
    def steps(self) -> int:
        """How many steps began (before_llm reached)."""
        return len(self.step_starts)

    @property
    def resumed(self) -> bool:
        """True for a fork, or a replay of a fork: a run that started from a restored State, not its inputs.

        Usage:
            >>> Run(run_id="x", kind="fork", fork_step=1).resumed, Run(run_id="y").resumed
            (True, False)
        """
        return self.kind == "fork" or self.fork_step is not None or "step" in (self.inherited or {})

    @property
    def start_step(self) -> int:
        """The step this run's own events start at: 0, or the step a fork (or a replay of a fork) resumed at.

        Usage:
            >>> Run(run_id="x", kind="fork", fork_step=2, inherited={"step": 2}).start_step
            2
        """
        if self.fork_step is not None:
            return self.fork_step
        step = (self.inherited or {}).get("step")
        return step if isinstance(step, int) else 0

    @property
    def exit_reason(self) -> str | None:
        """Why the Agent stopped (from the result), or None while running / after an error."""
        return (self.result or {}).get("exit_reason")

    @property
    def usage(self) -> dict[str, int | None]:
        """Token usage and tool calls of this run's own LLM / tool events (a fork excludes what it inherited).

        A token total is None (unknown) when any of the calls it sums did not report its count (streamed
        replies, servers that omit `usage`): unknown is never read as 0.

        Usage:
            >>> Run(run_id="x").usage
            {'llm_calls': 0, 'prompt_tokens': 0, 'completion_tokens': 0, 'tool_calls': 0, 'cached_llm_calls': 0}
        """
        llm = [e for e in self.events if e.kind == "llm"]
        live = [e for e in llm if e.status != "cached" and e.detail.get("generator_called", True)]
        return {
            # A row that a replay divergence stopped never reached the generator.
            "llm_calls": len(live),
            "prompt_tokens": _known_sum(e.prompt_tokens for e in live),
            "completion_tokens": _known_sum(e.completion_tokens for e in live),
            "tool_calls": sum(e.kind == "tool" and e.status != "cached" for e in self.events),
            "cached_llm_calls": sum(e.status == "cached" for e in llm),
        }

    @property
    def final_answer(self) -> str | None:
        """Text of the last message of the result."""
        last = (self.result or {}).get("last_message")
        return last.text if isinstance(last, ChatMessage) else None

    def in_progress(self) -> tuple[float, list[Event]]:
        """While the run is live: (ms since it started, the events begun and not ended yet: a hook that runs, e.g.
        one waiting for an approval, LLM and tool calls in flight), earliest first. They are not numbered yet
        (seq -1) and have no duration. A run that is not live: (its duration, []).

        Usage:
            >>> Run(run_id="x", duration_ms=5.0).in_progress()
            (5.0, [])
        """
        ctx = self._ctx
        if ctx is None:
            return (self.duration_ms or 0.0), []
        open_events = list(ctx.open_calls.copy().values())  # tool threads add and remove entries meanwhile
        hook = ctx.open_hook
        if hook is not None:
            open_events.append(hook)
        return ctx.now_ms(), sorted(open_events, key=lambda e: e.offset_ms)

    # ---- control -------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask a live run to stop at the next step boundary (it ends with exit_reason `stopped_by_user`).

        Usage:
            >>> Run(run_id="x").stop()   # no effect on a run that is not live
        """
        if self._ctx is not None:
            self._ctx.stop_requested = True

    # ---- export ---------------------------------------------------------------------------------------------
    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The timeline as CSV (the `changed` lists joined with `;`); written atomically to `path` if given.

        Returns the CSV text, or the path when one is given.

        Usage:
            >>> Run(run_id="x").to_csv().splitlines()[0].startswith("run_id,seq,step")
            True
        """
        frame = self.timeline
        # In a CSV cell "messages;token_usage" reads better than a Python list repr.
        frame["changed"] = [";".join(map(str, keys)) if isinstance(keys, list) else "" for keys in frame["changed"]]
        text = frame.to_csv(index=False)
        if path is None:
            return text
        from agent_nb.files import atomic_write

        return atomic_write(path, text)

    # ---- verbs of the layers above: each resolved on first use, its signature written once where it lives ------
    plot = Verb("agent_nb.views.plot:plot_run")
    to_html = Verb("agent_nb.views.report:run_report")
    replay = Verb("agent_nb.replay.resume:replay")
    replay_async = Verb("agent_nb.replay.resume:replay_async")
    fork = Verb("agent_nb.replay.resume:fork")
    fork_async = Verb("agent_nb.replay.resume:fork_async")
    compare = Verb("agent_nb.replay.compare:compare")
    hook_case = Verb("agent_nb.testing.case:hook_case")
    to_pytest = Verb("agent_nb.testing.generated:to_pytest")
    to_otel = Verb("agent_nb.export.otel:to_otel")
    to_otlp_json = Verb("agent_nb.export.otlp_json:to_otlp_json")
    # ---- persistence: the persist module owns both directions ----------------------------------------------------
    save = Verb("agent_nb.recording.persist:save_run")
    load = Verb("agent_nb.recording.persist:load_run", static=True)

    # ---- display -------------------------------------------------------------------------------------------
    def describe(self) -> str:
        """One line: id, kind, lineage, status, exit reason, events, steps, tokens.

        Usage:
            >>> Run(run_id="x").describe()
            'run x: running, 0 events, 0 steps'
        """
        lineage = ""
        if self.parent_id:
            lineage = f" of {self.parent_id}" + (f" at step {self.fork_step}" if self.fork_step is not None else "")
        text = f"{self.kind} {self.run_id}{lineage}: {self.status}"
        if self.exit_reason:
            text += f" ({self.exit_reason})"
        text += f", {len(self.events)} events, {self.steps} steps"
        u = self.usage
        if u["prompt_tokens"] is None or u["completion_tokens"] is None:
            text += ", tokens unknown" if u["llm_calls"] else ""
        elif u["prompt_tokens"] or u["completion_tokens"]:
            text += f", {u['prompt_tokens'] + u['completion_tokens']} tokens"
        if self.error:
            text += f", error: {self.error}"
        return text

    def __repr__(self) -> str:
        return f"<Run {self.describe()}>"


class _Unread:
    """A Run field holding a dict whose "messages" may not be read back yet (`LazyMessages`: packed input messages,
    see `agent_nb.recording.snapshots`): built into a list of ChatMessages at the first read, so a recording keeps a
    long input conversation as bytes until someone looks at it. Readers see a plain list, as ever."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, run: Any, owner: type | None = None) -> Any:
        if run is None:
            return self
        try:
            value = run.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None
        if type(value) is dict and type(value.get("messages")) is LazyMessages:
            value["messages"] = value["messages"].materialize()
        return value

    def __set__(self, run: Any, value: Any) -> None:
        run.__dict__[self.name] = value


Run.inputs = _Unread("inputs")  # type: ignore[assignment]
Run.recorded_result = _Unread("recorded_result")  # type: ignore[assignment]


def _known_sum(values: Any) -> int | None:
    """The sum, or None when any value is unknown (None)."""
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total
