"""`Recorder`: runs a haystack Agent with every hook, LLM call and tool call recorded into a `Run`.

The Recorder runs a clone of the Agent that differs from it in two ways only: its `hooks` dict holds the user's
enabled hook objects (switched-off ones are absent), and its chat generator is a transparent tap. Tools, Toolsets
and everything else are the user's very objects. The clone is rebuilt whenever the Agent's configuration or
the hook configuration changes, so each run uses the Agent as it is when the run starts. The user's Agent is
never changed. A contextvar keeps concurrent runs on one Recorder apart; listeners run on a thread of their
own (`agent_nb.recording.dispatch`), never on the Agent's.

Usage:
    >>> from agent_nb import Recorder, demo_agent
    >>> rec = Recorder(demo_agent())
    >>> run = rec.run("What is 2 + 3, and the weather in Paris?")
    >>> rec.disable("before_llm", "inject_date")
    >>> set(rec.run("Hello").timeline.query("name == 'inject_date'")["status"])
    {'skipped'}
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from haystack.components.agents import Agent
from haystack.dataclasses import ChatMessage

from agent_nb.errors import InvalidArgument, InvalidState, InvalidType, RunAborted, UnknownName
from agent_nb.recording.breaks import Breakpoint, check_breakpoint
from agent_nb.recording.context import CURRENT, STOP_REASON, ReplySource, RunContext, ToolSource, error_text
from agent_nb.recording.dispatch import Dispatcher
from agent_nb.recording.events import TREE_SCHEMA, Event, derive_all, frame_of
from agent_nb.recording.fingerprint import agent_fingerprint
from agent_nb.recording.hook_slots import HookConfig, HookSlots
from agent_nb.recording.interception import GeneratorTap, HookSlot, RecordingHooks, _validate_hooks, install
from agent_nb.recording.options import LIVE_KWARGS
from agent_nb.recording.run import Run
from agent_nb.recording.snapshots import SNAPSHOT_MODES, Snapshotter
from agent_nb.recording.values import copy_value
from agent_nb.recording.verbs import Verb

Listener = Callable[[Run, Event | None], None]


@dataclass
class RunSpec:
    """Everything one recorded execution needs; the replay layer builds these for replays and forks.

    Usage:
        >>> from haystack.dataclasses import ChatMessage
        >>> RunSpec(messages=[ChatMessage.from_user("hi")]).kind
        'run'
    """

    messages: list[ChatMessage]
    kwargs: dict[str, Any] = field(default_factory=dict)
    kind: str = "run"
    hooks: HookConfig | None = None
    parent: Run | None = None
    fork_step: int | None = None
    resume: dict[str, Any] | None = None
    reply_source: ReplySource | None = None
    tool_source: ToolSource | None = None
    label: str = ""
    on_event: Listener | None = None
    on_start: Callable[[Run], None] | None = None
    inherited: dict[str, Any] = field(default_factory=dict)
    #: (point, name) -> hook object run in that slot instead of the slot's own hook.
    swaps: dict[tuple[str, str], Any] = field(default_factory=dict)
    #: What pauses at event boundaries (a live run's breakpoints) or re-applies recorded edits (a replay).
    breaker: Any = None


def recorded_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The `Agent.run` kwargs as a run records them: State values copied, live objects as they are.

    The Agent puts kwargs into its State as given, so a hook that mutates one in place (a profile dict) would
    otherwise change the recorded input, and a replay would start from the mutated value.

    Usage:
        >>> profile = {"name": "Ada"}
        >>> recorded_kwargs({"user_profile": profile})["user_profile"] is profile
        False
    """
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in LIVE_KWARGS:
            out[key] = value
            continue
        out[key] = copy_value(value)  # an uncopyable value becomes a marker that says why
    return out


def as_messages(messages: str | ChatMessage | list[ChatMessage]) -> list[ChatMessage]:
    """A prompt as a message list: a str becomes one user message.

    Usage:
        >>> as_messages("hi")[0].text
        'hi'
    """
    if isinstance(messages, str):
        return [ChatMessage.from_user(messages)]
    if isinstance(messages, ChatMessage):
        return [messages]
    messages = list(messages)
    for i, m in enumerate(messages):
        if not isinstance(m, ChatMessage):
            raise InvalidType(f"messages[{i}] is a {type(m).__name__}, not a ChatMessage")
    return messages


class Recorder(HookSlots):
    """Records runs of a haystack Agent: every hook invocation, LLM call and tool call, with State snapshots.

    `snapshots`: "fast" (default; shares messages, copies what changed), "deep" (also compares every message at
    every event, so a message changed in place shows on the row where it changed), or "off" (no State kept;
    timeline only).

    Usage:
        >>> from agent_nb import Recorder, demo_agent
        >>> rec = Recorder(demo_agent())
        >>> run = rec.run("What is 2 + 3?")
        >>> rec.hooks["name"].tolist()
        ['MemoryRetrievalHook', 'inject_date', 'inject_user_profile', 'RequireToolHook']
        >>> rec.disable("before_llm", "inject_date")
    """

    def __init__(self, agent: Agent, snapshots: str = "fast", *, max_runs: int | None = None) -> None:
        if not isinstance(agent, Agent):
            raise InvalidType(f"Recorder needs a haystack Agent, got {type(agent).__name__}")
        if snapshots not in SNAPSHOT_MODES:
            raise InvalidArgument(f"snapshots must be one of {SNAPSHOT_MODES}, got {snapshots!r}")
        if max_runs is not None and (not isinstance(max_runs, int) or isinstance(max_runs, bool) or max_runs < 1):
            raise InvalidArgument(f"max_runs must be a positive int or None, got {max_runs!r}")
        install()
        self.agent = agent
        self.snapshots = snapshots
        #: Keep at most this many finished runs in `runs` (the oldest are dropped); None keeps all.
        self.max_runs = max_runs
        self._breakpoints: list[Breakpoint] = []  # breakpoints (i20): what live runs (`start`) pause at
        self.runs: list[Run] = []
        self._listeners: list[Listener] = []
        self._dispatcher = Dispatcher()
        HookSlots.__init__(self, agent.hooks or {})
        self._clones: dict[tuple[Any, ...], Agent] = {}
        self._fingerprints: dict[int, dict[str, Any]] = {}  # by id of a clone in _clones

    # ---- the instrumented clone ----------------------------------------------------------------------------
    @property
    def instrumented_agent(self) -> Agent:
        """The clone of the Agent that a run with the current hook configuration executes."""
        return self._clone_for(self._run_slots(self.hook_config, {}))

    def _agent_key(self) -> tuple[Any, ...]:
        # Identity of every init parameter the clone copies (and the length of lists users append to):
        # a change to the Agent between runs gives a new clone, so each run uses the Agent as it is.
        key = []
        for name in _clone_params(type(self.agent)):
            value = getattr(self.agent, name, None)
            key.append((id(value), len(value) if isinstance(value, list | dict) else -1))
        return tuple(key)

    def _run_slots(self, config: HookConfig, swaps: dict[tuple[str, str], Any]) -> list[HookSlot]:
        """The slots as one run sees them: switched on or off per `config`, swapped hooks in their places."""
        return [
            HookSlot(s.point, s.name, swaps.get((s.point, s.name), s.hook), config[s.point][s.name])
            for s in self._slots
        ]

    def _clone_for(self, slots: list[HookSlot]) -> Agent:
        hook_key = tuple((s.point, s.name, id(s.hook), s.enabled) for s in slots)
        key = (self._agent_key(), hook_key, id(self.agent.chat_generator))
        clone = self._clones.get(key)
        if clone is None:
            if len(self._clones) > 32:  # configurations come and go; keep the cache small
                self._clones.clear()
                self._fingerprints.clear()
            hooks = RecordingHooks(slots)
            # A shallow copy, not `Agent.clone()`: clone() re-runs `__init__` from same-named attributes, which fails
            # for subclasses whose init parameters are not attributes, re-derives what `__init__` decided (the
            # system prompt builder, whether the generator takes `tools`) from attributes changed since, and so
            # could run a different Agent than the user's. The copy holds exactly what the user's Agent holds.
            clone = copy.copy(self.agent)
            clone.chat_generator = GeneratorTap(self.agent.chat_generator)
            _validate_hooks(dict(hooks))  # as `Agent.__init__` would (a swapped-in hook is checked here)
            clone.hooks = hooks
            self._clones[key] = clone
        return clone

    # ---- listeners -----------------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(run, event)` for every event of every run (event None at run start and end).

        `run` is the live run: a listener reads where it stands now, which may be later than the event it was
        called for (a fast run may have ended by the time a listener sees its start).

        Listeners run on a thread of their own, in event order, never on the Agent's: a slow or failing listener
        costs the Agent no time and cannot change the run. `rec.run` returns once listeners have seen the run's
        end. Returns a function that unsubscribes. Listener errors are logged, never raised into the run.

        Usage:
            >>> unsubscribe = rec.subscribe(lambda run, ev: print(ev.summary if ev else run.status))
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # ---- running -------------------------------------------------------------------------------------------
    def run(
        self,
        messages: str | ChatMessage | list[ChatMessage],
        *,
        hooks: HookConfig | None = None,
        on_event: Listener | None = None,
        **agent_kwargs: Any,
    ) -> Run:
        """Run the Agent on `messages` (a str or ChatMessages) plus `Agent.run` kwargs, recorded.

        `hooks` switches hooks on / off for this run only. A run that raises is kept in `rec.runs` with its
        error set, and the exception reaches the caller unchanged.

        Usage:
            >>> run = rec.run("What is 2 + 3?", user_profile={"name": "Ada"})
        """
        self._no_breakpoints("run")
        return self.execute(self._spec(messages, hooks, on_event, agent_kwargs))

    async def run_async(
        self,
        messages: str | ChatMessage | list[ChatMessage],
        *,
        hooks: HookConfig | None = None,
        on_event: Listener | None = None,
        **agent_kwargs: Any,
    ) -> Run:
        """`run` through `Agent.run_async`.

        Usage:
            >>> import asyncio
            >>> asyncio.run(rec.run_async("What is 2 + 3?")).status
            'ok'
        """
        self._no_breakpoints("run_async")
        return await self.execute_async(self._spec(messages, hooks, on_event, agent_kwargs))

    def _spec(
        self, messages: Any, hooks: HookConfig | None, on_event: Listener | None, kwargs: dict[str, Any]
    ) -> RunSpec:
        if "messages" in kwargs:
            raise InvalidType("pass the messages as the first argument, not as messages=")
        return RunSpec(messages=as_messages(messages), kwargs=kwargs, hooks=hooks, on_event=on_event)

    def _start(self, spec: RunSpec) -> tuple[Run, RunContext, Agent, dict[str, Any]]:
        config, swaps = self._resolve(spec.hooks)
        swaps.update(spec.swaps)
        slots = self._run_slots(config, swaps)
        agent = self._clone_for(slots)
        snapshotter = Snapshotter("fast" if self.snapshots == "off" else self.snapshots)  # type: ignore[arg-type]
        run = Run(
            kind=spec.kind,  # type: ignore[arg-type]
            parent_id=spec.parent.run_id if spec.parent is not None else None,
            fork_step=spec.fork_step,
            label=spec.label,
            # Each input message is frozen once: the first snapshot takes the same copy.
            inputs={"messages": snapshotter.freeze_inputs(spec.messages), "kwargs": recorded_kwargs(spec.kwargs)},
            hook_config=config,
            generator=type(self.agent.chat_generator).__name__,
            snapshots=self.snapshots,
            inherited=dict(spec.inherited),
            recorder=self,
        )
        run.fingerprint = self._fingerprints.get(id(agent))
        if run.fingerprint is None:
            # Once per Agent / hook configuration (the clone's key): reading sources costs about a millisecond.
            run.fingerprint = self._fingerprints[id(agent)] = agent_fingerprint(self.agent, slots)
        listeners = tuple(self._listeners) + ((spec.on_event,) if spec.on_event else ())
        ctx = RunContext(
            run=run,
            snapshotter=snapshotter,
            listeners=listeners,
            dispatcher=self._dispatcher,
            resume=spec.resume,
            reply_source=spec.reply_source,
            tool_source=spec.tool_source,
            breaker=spec.breaker,
        )
        run.started_unix_ns = time.time_ns()
        ctx.t0 = time.perf_counter()
        run._ctx = ctx
        self.runs.append(run)
        self._trim()
        call = {"messages": list(spec.messages), **spec.kwargs}
        try:
            if spec.on_start is not None:
                spec.on_start(run)
            ctx.notify(None)
        except BaseException as exc:
            self._finish(run, ctx, None, exc)
            raise
        return run, ctx, agent, call

    def _trim(self) -> None:
        if self.max_runs is None or len(self.runs) <= self.max_runs:
            return
        finished = [r for r in self.runs if r.status != "running"]
        drop = {id(r) for r in finished[: len(self.runs) - self.max_runs]}
        self.runs = [r for r in self.runs if id(r) not in drop]

    def _finish(self, run: Run, ctx: RunContext, result: Any, exc: BaseException | None) -> None:
        with ctx.lock:
            ctx.closed = True  # a tool thread outliving a cancelled run adds nothing after this
        ctx.settle()  # rows still waiting for their `after` (the run raised, or ended right after them)
        run.duration_ms = ctx.now_ms()  # on the clock the events' offsets use
        if exc is not None:
            run.status, run.error, run.exception = "error", error_text(exc), exc
            if isinstance(exc, RunAborted):
                run.status = "aborted"
            if run.final_snapshot is None and ctx.state is not None:
                run.final_state = ctx.final_snapshot()
        else:
            run.result = result
            run.recorded_result = _freeze_result(result, ctx.snapshotter)
            run.status = "stopped" if (result or {}).get("exit_reason") == STOP_REASON else "ok"
        if self.snapshots == "off":
            # The derived columns are computed now, once per snapshot pair (most hook rows share theirs), before the
            # snapshots they come from are dropped.
            unsettled = set(derive_all(run.events))
            for i, event in enumerate(run.events):
                if i in unsettled:
                    event.materialize()
                event.before = event.after = None
            run.step_starts.clear()
            run.initial_state = run.final_state = None
        run._ctx = None
        ctx.notify(None)

    def execute(self, spec: RunSpec) -> Run:
        """Run one `RunSpec` synchronously (what `run`, replays and forks use).

        Usage:
            >>> rec.execute(RunSpec(messages=as_messages("hi"))).status
            'ok'
        """
        execution = _Execution(self, spec)
        try:
            with execution:
                execution.result = execution.agent.run(**execution.call)
        finally:
            execution.flush()
        return execution.run

    async def execute_async(self, spec: RunSpec) -> Run:
        """Run one `RunSpec` through `Agent.run_async` (the same execution as `execute`, awaited).

        Usage:
            >>> import asyncio
            >>> asyncio.run(rec.execute_async(RunSpec(messages=as_messages("hi")))).status
            'ok'
        """
        execution = _Execution(self, spec)
        try:
            with execution:
                execution.result = await execution.agent.run_async(**execution.call)
        finally:
            if execution.ctx.listeners:  # never block the event loop on the listeners' thread
                await asyncio.to_thread(execution.flush)
        return execution.run

    def forget(self, *runs: Run) -> None:
        """Drop runs from `rec.runs` (all finished runs when none are given) to free their memory.

        Usage:
            >>> rec.forget(); [r for r in rec.runs if r.status != "running"]
            []
        """
        drop = {id(r) for r in (runs or [r for r in self.runs if r.status != "running"])}
        self.runs = [r for r in self.runs if id(r) not in drop]

    # ---- history -------------------------------------------------------------------------------------------
    @property
    def last_run(self) -> Run | None:
        """The most recent run, or None."""
        return self.runs[-1] if self.runs else None

    def get(self, run_id: str) -> Run:
        """The run with this id (KeyError naming the known ids otherwise)."""
        for run in self.runs:
            if run.run_id == run_id:
                return run
        raise UnknownName(f"no run {run_id!r}; runs: {', '.join(r.run_id for r in self.runs) or 'none'}")

    @property
    def tree(self) -> pd.DataFrame:
        """The run history with lineage: run_id, kind, parent_id, fork_step, depth, status, exit_reason, events,
        llm_calls, cached_llm_calls, tokens, label.

        Usage:
            >>> rec.tree[["kind", "status"]].iloc[0].tolist()
            ['run', 'ok']
        """
        return tree_of(self.runs)

    # ---- breakpoints ---------------------------------------------------------------------------------------
    def break_at(
        self,
        point: str | None = None,
        *,
        name: str | None = None,
        when: Callable[[dict[str, Any]], Any] | None = None,
        on_error: bool = False,
    ) -> Breakpoint:
        """Pause live runs (`rec.start`) at an event boundary, before the event runs; returns the breakpoint.

        `point`: a hook point (before the hooks there, or with `name`, before that one hook), "llm" (before an
        LLM call) or "tool" (before any tool call, or with `name`, that tool's). `when(state)` gets a copy of
        the State data and makes the breakpoint conditional; one that raises counts as not hit (the error is
        kept once in `run.warnings`). `on_error=True` pauses where a hook, tool or LLM call raised (at `point`
        only, when given). Unknown points, hooks or tools raise a ValueError naming the valid ones.

        Usage:
            >>> bp = rec.break_at("before_tool"); rec.break_at("tool", name="add")
            Breakpoint(point='tool', name='add')
            >>> rec.clear_breakpoints(); rec.breakpoints
            []
        """
        breakpoint_ = check_breakpoint(self, point, name, when, on_error)
        self._breakpoints.append(breakpoint_)
        return breakpoint_

    @property
    def breakpoints(self) -> list[Breakpoint]:
        """The breakpoints the next live run (`rec.start`) uses, in the order they were set (a copy)."""
        return list(self._breakpoints)

    def clear_breakpoints(self) -> None:
        """Remove every breakpoint (live runs too go on without pausing)."""
        self._breakpoints.clear()

    def remove_breakpoint(self, breakpoint_: Breakpoint) -> None:
        """Remove one breakpoint, as `break_at` returned it (live runs stop pausing there at once)."""
        if breakpoint_ in self._breakpoints:  # by identity: Breakpoint compares so
            self._breakpoints.remove(breakpoint_)

    def _no_breakpoints(self, verb: str) -> None:
        # A run in a cell holds the kernel's main thread: nothing could resume it from a pause.
        if self._breakpoints:
            raise InvalidState(
                f"rec.{verb}() cannot pause at breakpoints: it holds the calling thread (in a notebook, the kernel), "
                f"so nothing could resume it. Use live = rec.start(...) (then live.wait_paused(), live.resume()) or "
                f"the Workbench; or rec.clear_breakpoints() first. Breakpoints set: {self._breakpoints}"
            )

    #: `live = rec.start(prompt, **run_kwargs)`: a live run on a worker thread that pauses at the breakpoints.
    start = Verb("agent_nb.replay.live:start", bind="recorder")

    # Replay and fork a run (also a loaded one) on this Recorder's Agent: `rec.fork(run, 1)` is
    # `run.fork(1, recorder=rec)`, with the replay layer's own signature.
    replay = Verb("agent_nb.replay.resume:replay", bind="recorder")
    replay_async = Verb("agent_nb.replay.resume:replay_async", bind="recorder")
    fork = Verb("agent_nb.replay.resume:fork", bind="recorder")
    fork_async = Verb("agent_nb.replay.resume:fork_async", bind="recorder")

    def __repr__(self) -> str:
        return f"<Recorder {type(self.agent.chat_generator).__name__}, {len(self._slots)} hooks, {len(self.runs)} runs>"


class _Execution:
    """One recorded execution, shared by `Recorder.execute` and `execute_async`: `with` binds the run's context
    to the Agent's calls and finishes the run (with its error, when the Agent raised; the exception goes on)."""

    def __init__(self, recorder: Recorder, spec: RunSpec) -> None:
        self.recorder = recorder
        self.run, self.ctx, self.agent, self.call = recorder._start(spec)
        self.result: Any = None

    def __enter__(self) -> None:
        self._token = CURRENT.set(self.ctx)

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: Any) -> None:
        CURRENT.reset(self._token)
        self.recorder._finish(self.run, self.ctx, None if exc is not None else self.result, exc)

    def flush(self) -> None:
        """Wait until every listener has seen the run's events (the Workbench draws on a thread of its own)."""
        if self.ctx.listeners:
            self.recorder._dispatcher.flush()


def tree_of(runs: Sequence[Run]) -> pd.DataFrame:
    """Runs with their lineage, one row each (`TREE_SCHEMA`): what `Recorder.tree` and the report's lineage show.

    `depth` counts the generations back to the original run among `runs` (a parent not among them ends the
    chain); `tokens` is NA when a run's token counts are unknown.

    Usage:
        >>> tree_of([run, run.replay()])[["kind", "depth"]].values.tolist()
        [['run', 0], ['replay', 1]]
    """
    by_id = {r.run_id: r for r in runs}
    rows = []
    for run in runs:
        depth, parent = 0, run.parent_id
        while parent is not None and parent in by_id and depth < 100:
            depth += 1
            parent = by_id[parent].parent_id
        u = run.usage
        rows.append(
            {
                "run_id": run.run_id,
                "kind": run.kind,
                "parent_id": run.parent_id,
                "fork_step": run.fork_step,
                "depth": depth,
                "status": run.status,
                "exit_reason": run.exit_reason,
                "events": len(run.events),
                "llm_calls": u["llm_calls"],
                "cached_llm_calls": u["cached_llm_calls"],
                "tokens": _total(u["prompt_tokens"], u["completion_tokens"]),
                "label": run.label,
            }
        )
    return frame_of(rows, TREE_SCHEMA)


def _total(*parts: int | None) -> int | None:
    return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]


@functools.cache
def _clone_params(agent_type: type) -> tuple[str, ...]:
    return tuple(p for p in inspect.signature(agent_type.__init__).parameters if p != "self")


def _freeze_result(result: Any, snapshotter: Snapshotter) -> dict[str, Any] | None:
    """A private copy of the Agent's output for saving: the caller may change the one they were given.

    Messages reuse the frozen copies the run's snapshots already hold (each message is copied once per run); packed
    input messages stay unread (`LazyMessages`) until `run.recorded_result` is first read.
    """
    if not isinstance(result, dict):
        return None
    return {
        k: snapshotter.freeze_list(v)
        if k == "messages" and isinstance(v, list)
        else snapshotter.freeze(v)
        if isinstance(v, ChatMessage)
        else copy_value(v)
        for k, v in result.items()
    }
