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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from haystack.components.agents import Agent
from haystack.dataclasses import ChatMessage
from haystack.hooks import VALID_HOOK_POINTS, FunctionHook

from agent_nb.recording.context import CURRENT, STOP_REASON, ReplySource, RunContext, ToolSource, error_text
from agent_nb.recording.dispatch import Dispatcher
from agent_nb.recording.events import HOOKS_SCHEMA, TREE_SCHEMA, Event, frame_of
from agent_nb.recording.fingerprint import agent_fingerprint
from agent_nb.recording.interception import GeneratorTap, HookSlot, RecordingHooks, _validate_hooks, install
from agent_nb.recording.run import Run
from agent_nb.recording.snapshots import SNAPSHOT_MODES, Snapshotter, copy_value
from agent_nb.recording.types import HookPoint

Listener = Callable[[Run, Event | None], None]
#: `{hook point: {hook name: enabled}}` for every slot.
HookConfig = dict[HookPoint, dict[str, bool]]
#: Per point and name: True / False to switch a hook, or a hook object to swap in (same slot, same position).
HookOverrides = Mapping[HookPoint, Mapping[str, Any]]


def hook_name(hook: Any) -> str:
    """A readable name: the function's qualname for `@hook` functions, else the class name.

    Usage:
        >>> from haystack.components.agents.state import State
        >>> from haystack.hooks import hook
        >>> @hook
        ... def inject_date(state: State) -> None: ...
        >>> hook_name(inject_date)
        'inject_date'
    """
    if isinstance(hook, FunctionHook):
        fn = hook.function or hook.async_function
        qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
        if qualname:
            return qualname.rsplit("<locals>.", 1)[-1]
    return type(hook).__name__


def hook_doc(hook: Any) -> str:
    """First line of the hook's docstring (of the wrapped function for `@hook` functions).

    Usage:
        >>> class Budget:
        ...     '''Stop the run once the token budget is spent.'''
        >>> hook_doc(Budget())
        'Stop the run once the token budget is spent.'
    """
    target = hook
    if isinstance(hook, FunctionHook):
        target = hook.function or hook.async_function
    doc = (getattr(target, "__doc__", None) or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


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


#: Agent.run kwargs recorded as they are: live objects, not State values.
_LIVE_KWARGS = frozenset({"hook_context", "tools", "streaming_callback"})


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
        if key in _LIVE_KWARGS:
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
            raise TypeError(f"messages[{i}] is a {type(m).__name__}, not a ChatMessage")
    return messages


class Recorder:
    """Records runs of a haystack Agent: every hook invocation, LLM call and tool call, with State snapshots.

    `snapshots`: "fast" (default; shares messages, copies what changed), "deep" (copies everything), or
    "off" (no State kept; timeline only).

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
            raise TypeError(f"Recorder needs a haystack Agent, got {type(agent).__name__}")
        if snapshots not in SNAPSHOT_MODES:
            raise ValueError(f"snapshots must be one of {SNAPSHOT_MODES}, got {snapshots!r}")
        if max_runs is not None and (not isinstance(max_runs, int) or isinstance(max_runs, bool) or max_runs < 1):
            raise ValueError(f"max_runs must be a positive int or None, got {max_runs!r}")
        install()
        self.agent = agent
        self.snapshots = snapshots
        #: Keep at most this many finished runs in `runs` (the oldest are dropped); None keeps all.
        self.max_runs = max_runs
        self.runs: list[Run] = []
        self._listeners: list[Listener] = []
        self._hook_watchers: list[Callable[[], None]] = []
        self._dispatcher = Dispatcher()
        self._slots: list[HookSlot] = []
        for point in VALID_HOOK_POINTS:
            for hook in (agent.hooks or {}).get(point, []):
                self._slots.append(HookSlot(point, self._unique_name(point, hook_name(hook)), hook))
        self._clones: dict[tuple[Any, ...], Agent] = {}
        self._fingerprints: dict[int, dict[str, Any]] = {}  # by id of a clone in _clones

    # ---- hook slots ----------------------------------------------------------------------------------------
    def _unique_name(self, point: str, base: str) -> str:
        taken = {s.name for s in self._slots if s.point == point}
        if base not in taken:
            return base
        n = 2
        while f"{base}#{n}" in taken:
            n += 1
        return f"{base}#{n}"

    def _slot(self, point: str, name: str) -> HookSlot:
        for slot in self._slots:
            if slot.point == point and slot.name == name:
                return slot
        known = [f"{s.point}/{s.name}" for s in self._slots]
        raise KeyError(f"no hook {name!r} at {point!r}; hooks: {', '.join(known) or 'none'}")

    @property
    def hook_slots(self) -> list[HookSlot]:
        """The hook slots in run order (a copy)."""
        return list(self._slots)

    @property
    def hooks(self) -> pd.DataFrame:
        """The hook slots as a DataFrame: point, name, enabled, doc (first docstring line), type.

        Usage:
            >>> rec.hooks.query("point == 'before_llm'")["name"].tolist()
            ['inject_date', 'inject_user_profile']
        """
        rows = [
            {
                "point": s.point,
                "name": s.name,
                "enabled": s.enabled,
                "doc": hook_doc(s.hook),
                "type": type(s.hook).__name__,
            }
            for s in self._slots
        ]
        return frame_of(rows, HOOKS_SCHEMA)

    @property
    def hook_config(self) -> HookConfig:
        """`{point: {name: enabled}}` for every slot: what the next run uses.

        Usage:
            >>> again = run.replay(hooks=rec.hook_config)
        """
        config: HookConfig = {}
        for slot in self._slots:
            config.setdefault(slot.point, {})[slot.name] = slot.enabled
        return config

    def watch_hooks(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` after every change of the hook slots (add, remove, switch); returns an unsubscribe.

        Views use it to stay current when a cell calls `rec.add_hook` or `rec.disable`. The callback runs on the
        caller's thread; an exception it raises propagates to that caller.

        Usage:
            >>> changes = []
            >>> stop = rec.watch_hooks(lambda: changes.append(rec.hook_config["before_llm"]["inject_date"]))
            >>> rec.disable("before_llm", "inject_date"); rec.enable("before_llm", "inject_date"); stop()
            >>> changes
            [False, True]
        """
        self._hook_watchers.append(callback)
        return lambda: self._hook_watchers.remove(callback) if callback in self._hook_watchers else None

    def _hooks_changed(self) -> None:
        for callback in list(self._hook_watchers):
            callback()

    def disable(self, point: HookPoint, name: str) -> None:
        """Switch a hook off for the next runs; it still appears in the timeline, as `skipped`.

        Usage:
            >>> rec.disable("before_llm", "inject_date")
        """
        self.set_enabled(point, name, False)

    def enable(self, point: HookPoint, name: str) -> None:
        """Switch a hook back on.

        Usage:
            >>> rec.enable("before_llm", "inject_date")
        """
        self.set_enabled(point, name, True)

    def set_enabled(self, point: HookPoint, name: str, enabled: bool) -> None:
        """Switch a hook on or off."""
        slot = self._slot(point, name)
        if slot.enabled != bool(enabled):
            slot.enabled = bool(enabled)
            self._hooks_changed()

    def add_hook(self, point: HookPoint, hook: Any, name: str | None = None) -> str:
        """Add a hook at the end of `point`'s list for the next runs; returns its (unique) name.

        Usage:
            >>> from haystack.components.agents.state import State
            >>> from haystack.hooks import hook
            >>> @hook
            ... def my_hook(state: State) -> None: ...
            >>> rec.add_hook("on_exit", my_hook)
            'my_hook'
        """
        if point not in VALID_HOOK_POINTS:
            raise ValueError(f"unknown hook point {point!r}; valid points: {', '.join(VALID_HOOK_POINTS)}")
        if not callable(getattr(hook, "run", None)):
            hint = " (wrap a function with haystack.hooks.hook)" if callable(hook) else ""
            raise TypeError(f"a hook needs a callable run(state), got {type(hook).__name__}{hint}")
        allowed = getattr(hook, "allowed_hook_points", None)
        if allowed is not None and point not in allowed:
            raise ValueError(f"{type(hook).__name__} cannot run at {point!r}; it allows: {', '.join(allowed)}")
        slot = HookSlot(point, self._unique_name(point, name or hook_name(hook)), hook)
        self._slots.append(slot)
        self._hooks_changed()
        return slot.name

    def remove_hook(self, point: HookPoint, name: str) -> None:
        """Remove a hook slot (added or original) for the next runs."""
        self._slots.remove(self._slot(point, name))
        self._hooks_changed()

    def resolve_hooks(self, overrides: HookOverrides | None) -> HookConfig:
        """The slot configuration with `overrides` applied (a hook object counts as switched on).

        Unknown points or names raise a KeyError naming the known ones; values that are neither True/False nor
        a hook object raise a TypeError.

        Usage:
            >>> rec.resolve_hooks({"before_llm": {"inject_date": False}})["before_llm"]["inject_date"]
            False
        """
        return self._resolve(overrides)[0]

    def _resolve(self, overrides: HookOverrides | None) -> tuple[HookConfig, dict[tuple[str, str], Any]]:
        config = self.hook_config
        swaps: dict[tuple[str, str], Any] = {}
        if overrides is None:
            return config, swaps
        if not isinstance(overrides, Mapping):
            raise TypeError(f"hooks must map hook points to {{name: True/False}}, got {type(overrides).__name__}")
        for point, names in overrides.items():
            if point not in VALID_HOOK_POINTS:
                raise KeyError(f"unknown hook point {point!r}; valid points: {', '.join(VALID_HOOK_POINTS)}")
            if not isinstance(names, Mapping):
                raise TypeError(f"hooks[{point!r}] must map hook names to True/False, got {type(names).__name__}")
            for name, value in names.items():
                self._slot(point, name)
                if isinstance(value, bool):
                    config[point][name] = value
                elif callable(getattr(value, "run", None)):
                    allowed = getattr(value, "allowed_hook_points", None)
                    if allowed is not None and point not in allowed:
                        raise ValueError(f"{type(value).__name__} cannot run at {point!r}; it allows: {allowed}")
                    config[point][name] = True
                    swaps[(point, name)] = value
                else:
                    raise TypeError(
                        f"hooks[{point!r}][{name!r}] must be True, False or a hook object (with run(state)), "
                        f"got {value!r}"
                    )
        return config, swaps

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
        return await self.execute_async(self._spec(messages, hooks, on_event, agent_kwargs))

    def _spec(
        self, messages: Any, hooks: HookConfig | None, on_event: Listener | None, kwargs: dict[str, Any]
    ) -> RunSpec:
        if "messages" in kwargs:
            raise TypeError("pass the messages as the first argument, not as messages=")
        return RunSpec(messages=as_messages(messages), kwargs=kwargs, hooks=hooks, on_event=on_event)

    def _start(self, spec: RunSpec) -> tuple[Run, RunContext, Agent, dict[str, Any]]:
        config, swaps = self._resolve(spec.hooks)
        swaps.update(spec.swaps)
        slots = self._run_slots(config, swaps)
        agent = self._clone_for(slots)
        run = Run(
            kind=spec.kind,  # type: ignore[arg-type]
            parent_id=spec.parent.run_id if spec.parent is not None else None,
            fork_step=spec.fork_step,
            label=spec.label,
            inputs={"messages": [copy_value(m) for m in spec.messages], "kwargs": recorded_kwargs(spec.kwargs)},
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
        snapshotter = Snapshotter("fast" if self.snapshots == "off" else self.snapshots)  # type: ignore[arg-type]
        ctx = RunContext(
            run=run,
            snapshotter=snapshotter,
            listeners=listeners,
            dispatcher=self._dispatcher,
            resume=spec.resume,
            reply_source=spec.reply_source,
            tool_source=spec.tool_source,
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
            if run.final_snapshot is None and ctx.state is not None:
                run.final_state = ctx.final_snapshot()
        else:
            run.result = result
            run.recorded_result = _freeze_result(result, ctx.snapshotter)
            run.status = "stopped" if (result or {}).get("exit_reason") == STOP_REASON else "ok"
        if self.snapshots == "off":
            for event in run.events:
                event.materialize()
                event.before = event.after = None
            run.step_starts.clear()
            run.initial_state = run.final_state = None
        run._ctx = None
        ctx.notify(None)

    def _wait_listeners(self, ctx: RunContext) -> None:
        if ctx.listeners:
            self._dispatcher.flush()

    def execute(self, spec: RunSpec) -> Run:
        """Run one `RunSpec` synchronously (what `run`, replays and forks use).

        Usage:
            >>> rec.execute(RunSpec(messages=as_messages("hi"))).status
            'ok'
        """
        run, ctx, agent, call = self._start(spec)
        token = CURRENT.set(ctx)
        try:
            result = agent.run(**call)
        except BaseException as exc:
            CURRENT.reset(token)
            self._finish(run, ctx, None, exc)
            self._wait_listeners(ctx)
            raise
        CURRENT.reset(token)
        self._finish(run, ctx, result, None)
        self._wait_listeners(ctx)
        return run

    async def execute_async(self, spec: RunSpec) -> Run:
        """Run one `RunSpec` through `Agent.run_async`.

        Usage:
            >>> import asyncio
            >>> asyncio.run(rec.execute_async(RunSpec(messages=as_messages("hi")))).status
            'ok'
        """
        run, ctx, agent, call = self._start(spec)
        token = CURRENT.set(ctx)
        try:
            result = await agent.run_async(**call)
        except BaseException as exc:
            CURRENT.reset(token)
            self._finish(run, ctx, None, exc)
            if ctx.listeners:
                await asyncio.to_thread(self._dispatcher.flush)
            raise
        CURRENT.reset(token)
        self._finish(run, ctx, result, None)
        if ctx.listeners:
            await asyncio.to_thread(self._dispatcher.flush)
        return run

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
        raise KeyError(f"no run {run_id!r}; runs: {', '.join(r.run_id for r in self.runs) or 'none'}")

    @property
    def tree(self) -> pd.DataFrame:
        """The run history with lineage: run_id, kind, parent_id, fork_step, depth, status, exit_reason, events,
        llm_calls, cached_llm_calls, tokens, label.

        Usage:
            >>> rec.tree[["kind", "status"]].iloc[0].tolist()
            ['run', 'ok']
        """
        return tree_of(self.runs)

    def replay(
        self,
        run: Run,
        *,
        hooks: HookOverrides | None = None,
        tools: Literal["live", "cached"] | None = None,
        on_miss: Literal["live", "error"] = "live",
        agent_kwargs: Mapping[str, Any] | None = None,
        label: str = "",
    ) -> Run:
        """Replay a run (also a loaded one) on this Recorder's Agent: `run.replay(..., recorder=self)`.

        Usage:
            >>> rec.replay(Run.load(run.save("run.json"))).usage["llm_calls"]   # replies from the file
            0
        """
        return run.replay(
            hooks=hooks, tools=tools, on_miss=on_miss, recorder=self, agent_kwargs=agent_kwargs, label=label
        )

    def fork(
        self,
        run: Run,
        step: int,
        *,
        edit: Any = None,
        reply: ChatMessage | list[ChatMessage] | None = None,
        hooks: HookOverrides | None = None,
        tools: Literal["live", "cached"] | None = None,
        on_miss: Literal["live", "error"] = "live",
        agent_kwargs: Mapping[str, Any] | None = None,
        label: str = "",
    ) -> Run:
        """Fork a run (also a loaded one) on this Recorder's Agent: `run.fork(step, ..., recorder=self)`.

        Usage:
            >>> loaded = Run.load(run.save("run.json"))
            >>> rec.fork(loaded, step=1, edit={"user_profile": {"name": "Ada"}}).parent_id == run.run_id
            True
        """
        return run.fork(
            step,
            edit=edit,
            reply=reply,
            hooks=hooks,
            tools=tools,
            on_miss=on_miss,
            recorder=self,
            agent_kwargs=agent_kwargs,
            label=label,
        )

    def __repr__(self) -> str:
        return f"<Recorder {type(self.agent.chat_generator).__name__}, {len(self._slots)} hooks, {len(self.runs)} runs>"


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

    Messages reuse the frozen copies the run's snapshots already hold (each message is copied once per run).
    """
    if not isinstance(result, dict):
        return None
    return {
        k: [snapshotter.freeze(m) for m in v]
        if k == "messages" and isinstance(v, list)
        else snapshotter.freeze(v)
        if isinstance(v, ChatMessage)
        else copy_value(v)
        for k, v in result.items()
    }


__all__ = ["HookConfig", "HookSlot", "Recorder", "RunSpec", "as_messages", "hook_doc", "hook_name", "tree_of"]
