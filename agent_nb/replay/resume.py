"""Replay a recorded run, or fork it from the start of a step with edited State or a replacement reply.

A replay re-runs the source run's inputs with the source run's hook configuration (plus `hooks` overrides):
LLM replies are served from the recording while the LLM input matches it, so an unedited replay makes no
live LLM call. A fork restores the State at the start of `step` (before its before_llm hooks) through the
Recorder's before_run sentinel and continues from there. Both are recorded as new runs on the Recorder,
with lineage (`parent_id`, `fork_step`; see `rec.tree`).

How a fork handles the pitfalls of resuming a haystack Agent from a saved State:
1. the restore is in place, on private copies, keeping the run's `tools` and `hook_context` (the sentinel);
2. `stop_run` / `exit_reason` / `continue_run` are cleared (the sentinel);
3. the fork's own cost: `fork.usage` counts only its own LLM and tool events, `fork.inherited` holds the
   snapshot's `token_usage` and `tool_call_counts`, and `own_usage(fork)` gives final minus inherited;
4. `max_agent_steps` is ABSOLUTE: a fork at step 3 of an Agent with `max_agent_steps=5` runs at most 2 steps;
5. the before_run hooks are switched off in forks (they show as `skipped`): their effect is in the snapshot;
6. the snapshot's messages and the source run's other `Agent.run` kwargs (prompt variables) are passed again.

Usage:
    >>> again = run.replay()
    >>> ablation = run.replay(hooks={"before_llm": {"inject_date": False}})
    >>> fork = run.fork(step=1, edit={"user_profile": {"name": "Ada"}})
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from haystack.dataclasses import ChatMessage

from agent_nb.errors import InvalidArgument, InvalidType
from agent_nb.recording import Run, RunSpec, Uncopyable
from agent_nb.recording.hook_slots import HookConfig
from agent_nb.recording.options import LIVE_KWARGS, HookOverrides, OnMiss, ReplayOptions, ToolsMode
from agent_nb.recording.values import copy_value, restore_value
from agent_nb.replay.cache import ReplayAborted, ReplayDivergence, ReplyCache, ToolCache
from agent_nb.replay.edits import (
    Edit,
    InvalidEdit,
    apply_edit,
    check_reply,
    check_step,
    check_value,
    state_schema,
    tool_names_of,
)
from agent_nb.replay.live import reapply

if TYPE_CHECKING:
    from agent_nb.recording import Recorder

DEFAULT_OPTIONS = ReplayOptions()
#: What a replay or fork is before it runs: the Recorder that executes it and the validated spec.
Plan = tuple["Recorder", RunSpec]


def _recorder_for(run: Run, recorder: Recorder | None) -> Recorder:
    if not isinstance(run, Run):
        raise InvalidType(f"expected a Run, got {type(run).__name__}")
    rec = recorder if recorder is not None else run.recorder
    if rec is None:
        raise InvalidArgument(
            f"run {run.run_id} has no Recorder (it was loaded from a file): replay it with rec.replay(run) "
            "or fork it with rec.fork(run, step=...), where rec = Recorder(agent)"
        )
    if run.status == "running":
        raise InvalidArgument(f"run {run.run_id} is still running; replay or fork it once it has ended")
    return rec


#: Said when a loaded run's replay meets a tool call it has no recorded result for.
LOADED_TOOLS_HINT = (
    "; this run was loaded from a file, so its tool calls are served from the file and never executed "
    "(a file from someone else can hold any call): pass tools='live' to run them"
)


def resolve_hook_config(
    recorder: Recorder, source: Mapping[str, Mapping[str, bool]], overrides: HookOverrides | None, *, resumed: bool
) -> HookConfig:
    """The hook configuration a replay or fork runs with: the source run's, then `overrides`.

    A hook the Recorder has but the source run did not (added since) is off; a hook that ran in the source
    run but that the Recorder no longer has is warned about. In a resumed run (a fork) every before_run hook
    is off: its effect is already in the restored State.

    Usage:
        >>> off = {"before_llm": {"inject_date": False}}
        >>> resolve_hook_config(rec, run.hook_config, off, resumed=False)["before_llm"]
        {'inject_date': False, 'inject_user_profile': True}
    """
    current = recorder.hook_config
    config: HookConfig = {}
    for point, names in current.items():
        for name in names:
            recorded = (source.get(point) or {}).get(name)
            config.setdefault(point, {})[name] = bool(recorded) if recorded is not None else False
    lost = [f"{p}/{n}" for p, names in source.items() for n, on in names.items() if on and n not in current.get(p, {})]
    if lost:
        warnings.warn(
            f"hooks {', '.join(lost)} ran in the source run but this Recorder has no such hook: "
            "they cannot run again, so the run may diverge",
            stacklevel=4,
        )
    if overrides:
        recorder.resolve_hooks(overrides)  # names unknown to the Recorder raise a KeyError listing the hooks
        for point, names in overrides.items():
            for name, enabled in names.items():
                if resumed and point == "before_run" and enabled:
                    raise InvalidArgument(
                        f"before_run hook {name!r} cannot run in a fork: its effect is already in the State the "
                        "fork resumes from (and it would re-apply to the restored history)"
                    )
                config[point][name] = enabled
    if resumed:
        for name in config.get("before_run", {}):
            config["before_run"][name] = False
    return config


def _has_marker(value: Any, depth: int = 0) -> bool:
    if isinstance(value, Uncopyable):
        return True
    if depth > 20:
        return False
    if isinstance(value, (list, tuple)):
        return any(_has_marker(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_has_marker(v, depth + 1) for v in value.values())
    return False


def agent_kwargs_of(run: Run, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The source run's `Agent.run` kwargs, on private copies, with `extra` on top.

    State values are restored copies of the recorded ones (a hook mutating one must not change the source run);
    live objects (`hook_context`, `tools`, `streaming_callback`) are passed as they are. A value a saved run
    could not keep (an `Uncopyable` marker) is left out with a warning: pass it again in `extra`.

    Usage:
        >>> agent_kwargs_of(Run(run_id="x", inputs={"kwargs": {"user_profile": {"name": "Ada"}}}))
        {'user_profile': {'name': 'Ada'}}
    """
    kwargs: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in ((run.inputs or {}).get("kwargs") or {}).items():
        if extra and key in extra:
            continue
        if _has_marker(value):
            dropped.append(key)
            continue
        kwargs[key] = value if key in LIVE_KWARGS else restore_value(value)
    if dropped:
        warnings.warn(
            f"Agent.run arguments {', '.join(dropped)} of run {run.run_id} could not be saved, so they are left out; "
            "pass them again with agent_kwargs={...}",
            stacklevel=4,
        )
    kwargs.update(extra or {})
    return kwargs


def own_usage(run: Run) -> dict[str, Any]:
    """What a run spent itself, from its result: token_usage and tool_call_counts minus what it inherited.

    For a plain run this is its result's figures; for a fork, the figures since the fork step (pitfall 3).
    `run.usage` gives the same per-event totals; this one follows the Agent's own counters.

    Usage:
        >>> own_usage(run.fork(step=2))["tool_call_counts"]["save_note"]
        1
    """
    result = run.result or {}
    inherited = run.inherited or {}

    def minus(now: Any, before: Any) -> dict[str, Any]:
        now = now if isinstance(now, dict) else {}
        before = before if isinstance(before, dict) else {}
        out: dict[str, Any] = {}
        for key, value in now.items():
            prev = before.get(key, 0)
            if isinstance(value, (int, float)) and isinstance(prev, (int, float)) and not isinstance(value, bool):
                out[key] = value - prev
            elif isinstance(value, dict):
                out[key] = minus(value, prev)
            else:
                out[key] = value
        return out

    steps = result.get("step_count")
    return {
        "steps": steps - run.start_step if isinstance(steps, int) else None,
        "token_usage": minus(result.get("token_usage"), inherited.get("token_usage")),
        "tool_call_counts": minus(result.get("tool_call_counts"), inherited.get("tool_call_counts")),
    }


def _inherited(state: Mapping[str, Any], step: int) -> dict[str, Any]:
    return {
        "step": step,
        "token_usage": copy_value(state.get("token_usage") or {}),
        "tool_call_counts": copy_value(state.get("tool_call_counts") or {}),
    }


def _sources(
    run: Run, tools: ToolsMode | None, on_miss: OnMiss, from_step: int | None, forced: Any = None
) -> dict[str, Any]:
    """The reply and tool sources of a replay or fork.

    `tools=None` runs tools live for a run recorded in this process, but serves a *loaded* run's tool results
    from the file and refuses to execute a call the file does not hold (`ReplayDivergence`): running the tool
    calls of a file from someone else takes an explicit `tools="live"`.
    """
    loaded = tools is None and getattr(run, "loaded_from", None) is not None
    if loaded:
        tool_source = ToolCache(run, on_miss="error", from_step=from_step, hint=LOADED_TOOLS_HINT)
    else:
        tool_source = ToolCache(run, on_miss=on_miss, from_step=from_step) if tools == "cached" else None
    return {
        "reply_source": ReplyCache(run, on_miss=on_miss, from_step=from_step, forced=forced),
        "tool_source": tool_source,
    }


def replay_spec(run: Run, recorder: Recorder, options: ReplayOptions = DEFAULT_OPTIONS) -> RunSpec:
    """The RunSpec of a replay (validated; nothing runs). `replay` executes it.

    Usage:
        >>> spec = replay_spec(run, rec); spec.kind
        'replay'
    """
    resumed = run.resumed
    config = resolve_hook_config(recorder, run.hook_config or {}, options.hooks, resumed=resumed)
    kwargs = agent_kwargs_of(run, options.agent_kwargs)
    if not resumed:
        # Copies: the Agent and its hooks get these very objects, and the source run must never change.
        messages = restore_value(list((run.inputs or {}).get("messages") or []))
        for i, message in enumerate(messages):
            if not isinstance(message, ChatMessage):
                raise InvalidArgument(f"run {run.run_id}: its input messages[{i}] is not a ChatMessage")
        if not messages:
            raise InvalidArgument(f"run {run.run_id} has no input messages to replay")
        return RunSpec(
            messages=messages,
            kwargs=kwargs,
            kind="replay",
            hooks=config,
            parent=run,
            label=options.label,
            breaker=reapply(run),  # edits and skips made by hand while the source was paused, re-applied
            **_sources(run, options.tools, options.on_miss, None),
        )
    # A fork (or a replay of one) is replayed from the State it started with, as it was restored.
    if run.initial_state is None:
        raise InvalidArgument(
            f"run {run.run_id} started from a restored State that was not kept (snapshots='off'): it cannot be replayed"
        )
    state = {k: restore_value(v) for k, v in run.initial_state.items()}
    for key, value in state.items():
        if isinstance(value, Uncopyable):
            check_value(key, value, None)  # raises, naming the key
    step = run.start_step
    return RunSpec(
        messages=list(state.get("messages") or []),
        kwargs=kwargs,
        kind="replay",
        hooks=config,
        parent=run,
        resume=state,
        inherited=dict(run.inherited) if run.inherited else _inherited(state, step),
        label=options.label,
        breaker=reapply(run),
        **_sources(run, options.tools, options.on_miss, step),
    )


def fork_spec(
    run: Run,
    step: int,
    recorder: Recorder,
    options: ReplayOptions = DEFAULT_OPTIONS,
    *,
    edit: Edit = None,
    reply: ChatMessage | list[ChatMessage] | None = None,
) -> RunSpec:
    """The RunSpec of a fork, with the edit applied to a private copy and validated; nothing runs.

    Usage:
        >>> spec = fork_spec(run, 1, rec, edit={"user_profile": {"name": "Ada"}}); spec.fork_step
        1
    """
    step = check_step(run, step)
    replies = check_reply(reply, step=step, tool_names=tool_names_of(recorder.agent))
    config = resolve_hook_config(recorder, run.hook_config or {}, options.hooks, resumed=True)
    state = apply_edit(run.step_starts[step], edit, state_schema(recorder.agent))
    if not isinstance(state.get("messages"), list):
        raise InvalidEdit("the State to resume from has no message list")
    return RunSpec(
        messages=list(state["messages"]),
        kwargs=agent_kwargs_of(run, options.agent_kwargs),
        kind="fork",
        hooks=config,
        parent=run,
        fork_step=step,
        resume=state,
        inherited=_inherited(state, step),
        label=options.label,
        **_sources(run, options.tools, options.on_miss, step, (step, replies) if replies else None),
    )


def _capture(spec: RunSpec) -> list[Run]:
    started: list[Run] = []
    previous = spec.on_start

    def on_start(run: Run) -> None:
        started.append(run)
        if previous is not None:
            previous(run)

    spec.on_start = on_start
    return started


def _divergence(exc: ReplayDivergence, started: list[Run]) -> ReplayDivergence:
    if started:
        run = started[0]
        exc.run = run
        run.error, run.exception = f"ReplayDivergence: {exc}", exc
    return exc


@contextlib.contextmanager
def _divergences(spec: RunSpec) -> Iterator[None]:
    """A divergence raised by the run (or carried out of a tool thread) names the partial run, `exc.run`."""
    started = _capture(spec)
    try:
        yield
    except ReplayAborted as abort:
        raise _divergence(abort.divergence, started) from None
    except ReplayDivergence as exc:
        raise _divergence(exc, started) from None


def execute_spec(recorder: Recorder, spec: RunSpec) -> Run:
    """Execute a replay / fork spec; a divergence under `on_miss="error"` raises ReplayDivergence.

    Usage:
        >>> execute_spec(rec, replay_spec(run, rec)).kind
        'replay'
    """
    with _divergences(spec):
        return recorder.execute(spec)


async def execute_spec_async(recorder: Recorder, spec: RunSpec) -> Run:
    """`execute_spec` through `Agent.run_async`.

    Usage:
        >>> import asyncio
        >>> asyncio.run(execute_spec_async(rec, replay_spec(run, rec))).kind
        'replay'
    """
    with _divergences(spec):
        return await recorder.execute_async(spec)


def _verbs(plan: Callable[..., Plan]) -> tuple[Callable[..., Run], Callable[..., Any]]:
    """The sync and async verb of one plan function: its signature and docs, written once there.

    The plan validates and builds the spec (nothing runs); the sync verb executes it through `Agent.run`,
    the async one through `Agent.run_async`.
    """
    name = plan.__name__.lstrip("_")
    signature = inspect.signature(plan).replace(return_annotation="Run")

    @functools.wraps(plan)
    def sync(*args: Any, **kwargs: Any) -> Run:
        return execute_spec(*plan(*args, **kwargs))

    @functools.wraps(plan)
    async def asynchronous(*args: Any, **kwargs: Any) -> Run:
        return await execute_spec_async(*plan(*args, **kwargs))

    for verb, verb_name, doc in (
        (sync, name, plan.__doc__),
        (asynchronous, f"{name}_async", f"`{name}` through `Agent.run_async`: the same arguments, awaited."),
    ):
        verb.__name__ = verb.__qualname__ = verb_name
        verb.__doc__ = doc
        verb.__signature__ = signature  # type: ignore[attr-defined]
        del verb.__wrapped__  # type: ignore[attr-defined]
    return sync, asynchronous


def _replay(
    run: Run,
    *,
    hooks: HookOverrides | None = None,
    tools: ToolsMode | None = None,
    on_miss: OnMiss = "live",
    recorder: Recorder | None = None,
    agent_kwargs: Mapping[str, Any] | None = None,
    label: str = "",
) -> Plan:
    """Re-run `run` from its inputs, serving the recorded LLM replies while the LLM input matches.

    - `hooks`: `{point: {name: bool}}` overrides on top of the source run's hook configuration (a replay
      reproduces the source run's configuration, not the Recorder's current one), or `{point: {name: hook}}`
      to run another hook object in that slot (same position).
    - `tools`: "live" re-runs the tools; "cached" serves the recorded results (no side effects). The default
      runs tools live, except for a run loaded from a file, whose tool calls are served from the file and
      never executed unless you pass `tools="live"`.
    - `on_miss`: "live" asks the live generator (or runs the tool) when the input is not in the recording;
      "error" raises `ReplayDivergence` naming the step and what differed (the partial run is `exc.run`).
    - `recorder`: the Recorder that executes (default: `run.recorder`; needed for a loaded run).
    - `agent_kwargs`: `Agent.run` kwargs to add or replace (e.g. a `hook_context` that could not be saved).
    - `label`: a name for the new run (shown in the run history and pickers).

    LLM rows served from the recording have status `cached`; `again.usage["llm_calls"]` counts live calls.
    Replayed LLM replies are not streamed to a `streaming_callback` (they arrive whole).

    Usage:
        >>> again = run.replay()
        >>> again.usage["llm_calls"], again.final_answer == run.final_answer
        (0, True)
        >>> ablation = run.replay(hooks={"before_llm": {"inject_date": False}}, tools="cached")
        >>> import asyncio
        >>> asyncio.run(run.replay_async()).usage["llm_calls"]
        0
    """
    rec = _recorder_for(run, recorder)
    return rec, replay_spec(run, rec, ReplayOptions(hooks, tools, on_miss, agent_kwargs, label))


def _fork(
    run: Run,
    step: int,
    *,
    edit: Edit = None,
    reply: ChatMessage | list[ChatMessage] | None = None,
    hooks: HookOverrides | None = None,
    tools: ToolsMode | None = None,
    on_miss: OnMiss = "live",
    recorder: Recorder | None = None,
    agent_kwargs: Mapping[str, Any] | None = None,
    label: str = "",
) -> Plan:
    """Resume `run` from the State at the start of `step` (before its before_llm hooks), optionally edited.

    - `edit`: a dict of State keys to new values, or a function that gets a private copy of the State (a
      dict) and changes it in place or returns a new dict. Validated before anything runs (`InvalidEdit`):
      unknown or reserved keys, wrong types (per the Agent's state_schema), messages that are not ChatMessage.
    - `reply`: an assistant ChatMessage (or list) served as the LLM reply of `step`, whatever the input: the
      way to edit a tool call's arguments. Its tool calls must name the Agent's tools; a call without an `id`
      gets one (`edit_{step}_{n}`), as OpenAI-compatible generators need at the next call. Its LLM row has
      status `cached` and reads `given` (`detail["given"]`).
    - `hooks`, `tools`, `on_miss`, `recorder`, `agent_kwargs`, `label`: as for `replay`. Later LLM calls are
      served from the source run's recording of the steps from `step` on, while their input matches.

    The fork's before_run hooks are switched off (shown as `skipped`: their effect is in the snapshot).
    `max_agent_steps` is absolute: the fork continues from `step` up to the Agent's limit, not `step` + limit.
    `fork.usage` counts the fork's own LLM and tool events; `fork.inherited` holds what it started with.

    Usage:
        >>> celsius = ChatMessage.from_user("Use Celsius")
        >>> f1 = run.fork(step=2, edit=lambda s: s["messages"].append(celsius))
        >>> f2 = run.fork(step=1, edit={"user_profile": {"name": "Ada"}})
        >>> from haystack.dataclasses import ToolCall
        >>> call = ToolCall("add", {"a": 2, "b": 40})
        >>> f3 = run.fork(step=0, reply=ChatMessage.from_assistant(tool_calls=[call]))
        >>> given = next(e for e in f3.events if e.kind == "llm")
        >>> given.detail["given"], given.detail["replies"][0].tool_calls[0].id
        (True, 'edit_0_0')
        >>> import asyncio
        >>> asyncio.run(run.fork_async(step=1, edit={"user_profile": {"name": "Ada"}})).fork_step
        1
    """
    rec = _recorder_for(run, recorder)
    options = ReplayOptions(hooks, tools, on_miss, agent_kwargs, label)
    return rec, fork_spec(run, step, rec, options, edit=edit, reply=reply)


replay, replay_async = _verbs(_replay)
fork, fork_async = _verbs(_fork)
