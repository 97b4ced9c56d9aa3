"""`hook_case(run, seq)`: one recorded hook call as a test case: the State it saw and the State it left.

`case.check(hook)` runs any hook (the recorded one, or new code: a haystack `@hook` function or a class with
`run` / `run_async`) on a fresh haystack `State` rebuilt from a private copy of the State the recorded hook saw,
and returns how the State it leaves differs from the recorded one: a `HookCheck`, falsy when the hook behaves
the same. The run is never touched.

Usage:
    >>> from agent_nb import Recorder
    >>> from agent_nb.demo import demo_agent
    >>> from agent_nb.demo.hooks import RequireToolHook
    >>> run = Recorder(demo_agent()).run("What is 2 + 3?", hook_context={"today": "2025-01-31"})
    >>> seq = int(run.timeline.query("name == 'RequireToolHook'").seq.iloc[0])
    >>> case = hook_case(run, seq)
    >>> bool(case.check(RequireToolHook("save_note")))      # the same code and settings: no difference
    False
    >>> print(case.check(RequireToolHook("add")))           # add was called, so this one lets the run end
    -system[6]: You must call `save_note` before finishing.
    continue_run: true -> false
"""

from __future__ import annotations

import asyncio
import copy
import inspect
from dataclasses import dataclass
from typing import Any

from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage
from haystack.hooks import FunctionHook

from agent_nb.errors import AgentNbError, InvalidType
from agent_nb.recording import Run, StateDiff, Uncopyable
from agent_nb.recording.diff import state_diff
from agent_nb.recording.options import LIVE_STATE_KEYS
from agent_nb.replay.edits import state_schema


class HookCaseError(AgentNbError, ValueError):
    """A hook case cannot be built (not a hook event, no snapshots) or a hook cannot be checked against it.

    Usage:
        >>> try:
        ...     hook_case(Run(run_id="x", snapshots="off"), 0)
        ... except HookCaseError as exc:
        ...     print(str(exc)[:57])
        run x was recorded with snapshots='off': it kept no State
    """


@dataclass
class HookCheck(StateDiff):
    """How the State a hook left differs from the recorded one (a StateDiff from recorded to now), plus errors.

    Falsy when the hook behaved as recorded: same State, and the same exception (or none). Lines read from the
    recorded State to the new one: `+system[5]: ...` is a message the new hook added that the recorded one did
    not; `continue_run: true -> false` means the recorded hook set it and the new one did not.

    Usage:
        >>> bool(HookCheck()), bool(HookCheck(error="ValueError: boom"))
        (False, True)
    """

    error: str | None = None
    recorded_error: str | None = None

    @property
    def same(self) -> bool:
        """True when the hook left the recorded State and raised what the recorded hook raised (if anything)."""
        return self.is_empty and self.error == self.recorded_error

    def __bool__(self) -> bool:
        return not self.same

    def __str__(self) -> str:
        lines = []
        if self.error != self.recorded_error:
            lines.append(f"raised: {self.error or 'nothing'} (recorded: {self.recorded_error or 'nothing'})")
        body = StateDiff.__str__(self)
        if not self.is_empty or not lines:
            lines.append(body if not self.is_empty else "(same as recorded)")
        return "\n".join(lines)


def _copy_state(snapshot: dict[str, Any]) -> dict[str, Any]:
    # state_at gives private containers; messages are deep-copied too, since a hook may mutate a message's meta.
    return {key: copy.deepcopy(value) for key, value in snapshot.items()}


def _inferred_schema(values: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    for key, value in values.items():
        if key == "messages":
            schema[key] = {"type": list[ChatMessage]}
        else:
            schema[key] = {"type": type(value) if value is not None and not isinstance(value, Uncopyable) else Any}
    return schema


def _check_runnable(hook: Any) -> None:
    if not callable(getattr(hook, "run", None)) and not callable(getattr(hook, "run_async", None)):
        hint = " (wrap a function with haystack.hooks.hook)" if callable(hook) else ""
        raise HookCaseError(f"a hook needs a run(state) or run_async(state) method, got {type(hook).__name__}{hint}")


class HookCase:
    """One recorded hook call: `before` (the State it saw) and `after` (the State it left), both private copies.

    Attributes: `run_id`, `seq`, `step`, `point`, `name`, `status` (ok, error, skipped), `recorded_error`,
    `before`, `after`, `hook_context` (the run's, when it was kept; hooks read it from the State), `recorded`
    (what the recorded hook changed, a StateDiff), `hook` (the hook now in that slot of the run's Recorder, or
    None for a loaded run).

    Usage:
        >>> from agent_nb import Recorder
        >>> from agent_nb.demo import demo_agent
        >>> run = Recorder(demo_agent()).run("What is 2 + 3?", hook_context={"today": "2025-01-31"})
        >>> case = HookCase(run, 8)
        >>> repr(case).startswith("<HookCase on_exit/RequireToolHook"), case.recorded.flow
        (True, 'continue_run')
        >>> case.check().same                              # the hook now in that slot of the run's Recorder
        True
    """

    def __init__(self, run: Run, seq: int) -> None:
        if not isinstance(run, Run):
            raise InvalidType(f"hook_case needs a Run, got {type(run).__name__}")
        if run.snapshots == "off":
            raise HookCaseError(
                f"run {run.run_id} was recorded with snapshots='off': it kept no State, so its hook calls cannot "
                'be checked (record with Recorder(agent, snapshots="fast"))'
            )
        event = run.event(seq)
        if event.kind != "hook":
            hooks = [e.seq for e in run.events if e.kind == "hook"]
            shown = ", ".join(map(str, hooks[:20])) + (", ..." if len(hooks) > 20 else "")
            raise HookCaseError(
                f"event {seq} of run {run.run_id} is a {event.kind} event ({event.name}), not a hook call; "
                f"hook events: {shown or 'none'}"
            )
        try:
            before, after = run.state_at(seq, "before"), run.state_at(seq, "after")
        except ValueError as exc:
            raise HookCaseError(str(exc)) from None
        self.run_id = run.run_id
        self.seq = seq
        self.step = event.step
        self.point = str(event.hook_point)
        self.name = event.name
        self.status = event.status
        self.recorded_error = event.error
        self.before = before
        self.after = after
        context = ((run.inputs or {}).get("kwargs") or {}).get("hook_context")
        self.hook_context: dict[str, Any] | None = context if isinstance(context, dict) else None
        recorder = run.recorder
        self.schema = dict(state_schema(recorder.agent)) if recorder is not None else _inferred_schema(before)
        self.hook = next(
            (
                s.hook
                for s in (recorder.hook_slots if recorder else [])
                if s.point == self.point and s.name == self.name
            ),
            None,
        )

    @property
    def recorded(self) -> StateDiff:
        """What the recorded hook changed (before -> after)."""
        return state_diff(self.before, self.after)

    def state(self, hook_context: dict[str, Any] | None = None) -> State:
        """A fresh haystack State holding a private copy of the State the recorded hook saw.

        Usage:
            >>> from agent_nb import Recorder
            >>> from agent_nb.demo import demo_agent
            >>> case = hook_case(Recorder(demo_agent()).run("What is 2 + 3?"), 8)
            >>> state = case.state(); state.data["step_count"], state.data["hook_context"]
            (2, {})
        """
        data = _copy_state(self.before)
        for key in list(data):
            if key not in self.schema:  # a key the Agent no longer declares: keep it readable anyway
                self.schema[key] = _inferred_schema({key: data[key]})[key]
        context = hook_context if hook_context is not None else self.hook_context
        if "hook_context" in self.schema:
            data["hook_context"] = dict(context or {})
        return State(schema=self.schema, data=data)

    def _hook(self, hook: Any) -> Any:
        hook = self.hook if hook is None else hook
        if hook is None:
            raise HookCaseError(
                f"no hook to check: run {self.run_id} has no Recorder with a hook {self.point}/{self.name}; "
                "pass one: case.check(my_hook)"
            )
        _check_runnable(hook)
        return hook

    def _result(self, state: State, error: BaseException | None) -> HookCheck:
        now = {k: v for k, v in state.data.items() if k not in LIVE_STATE_KEYS}
        recorded = {k: v for k, v in self.after.items() if k not in LIVE_STATE_KEYS}
        diff = state_diff(recorded, now)
        return HookCheck(
            messages_added=diff.messages_added,
            messages_removed=diff.messages_removed,
            messages_replaced=diff.messages_replaced,
            changed=diff.changed,
            flow=diff.flow,
            error=f"{type(error).__name__}: {error}" if error is not None else None,
            recorded_error=self.recorded_error,
        )

    def check(self, hook: Any = None, *, hook_context: dict[str, Any] | None = None) -> HookCheck:
        """Run `hook` (default: the hook now in this slot) on a copy of the recorded before-State; compare.

        An exception the hook raises is caught and reported in the result (`error`), as a difference unless the
        recorded hook raised the same. `hook_context` replaces the run's (which a saved run keeps when it was
        plain data).

        Usage:
            >>> from agent_nb import Recorder
            >>> from agent_nb.demo import demo_agent
            >>> from haystack.hooks import hook
            >>> case = hook_case(Recorder(demo_agent()).run("What is 2 + 3?"), 8)
            >>> @hook
            ... def broken(state: State) -> None:
            ...     raise RuntimeError("boom")
            >>> print(case.check(broken))
            raised: RuntimeError: boom (recorded: nothing)
            -system[6]: You must call `save_note` before finishing.
            continue_run: true -> false
        """
        hook = self._hook(hook)
        state = self.state(hook_context)
        if not callable(getattr(hook, "run", None)) or (isinstance(hook, FunctionHook) and hook.function is None):
            raise HookCaseError(f"{type(hook).__name__} has only run_async: use `await case.check_async(hook)`")
        try:
            hook.run(state)
        except Exception as exc:
            return self._result(state, exc)
        return self._result(state, None)

    async def check_async(self, hook: Any = None, *, hook_context: dict[str, Any] | None = None) -> HookCheck:
        """`check` the way an async Agent run calls a hook: `await run_async(state)`, else `run` in a thread.

        Usage:
            >>> import asyncio
            >>> from agent_nb import Recorder
            >>> from agent_nb.demo import demo_agent
            >>> from agent_nb.demo.hooks import RequireToolHook
            >>> case = hook_case(Recorder(demo_agent()).run("What is 2 + 3?"), 8)
            >>> asyncio.run(case.check_async(RequireToolHook("save_note"))).same
            True
        """
        hook = self._hook(hook)
        state = self.state(hook_context)
        run_async = getattr(hook, "run_async", None)
        try:
            if callable(run_async) and inspect.iscoroutinefunction(run_async):
                await run_async(state=state)
            else:
                await asyncio.to_thread(hook.run, state)
        except Exception as exc:
            return self._result(state, exc)
        return self._result(state, None)

    def __repr__(self) -> str:
        step = f"step {self.step}, " if self.step is not None else ""
        return f"<HookCase {self.point}/{self.name}: run {self.run_id}, event {self.seq}, {step}{self.status}>"


def hook_case(run: Run, seq: int) -> HookCase:
    """The recorded hook call `seq` of `run` as a `HookCase` (HookCaseError if it is not a hook call).

    Usage:
        >>> from agent_nb import Recorder
        >>> from agent_nb.demo import demo_agent
        >>> case = hook_case(Recorder(demo_agent()).run("What is 2 + 3?"), 8)
        >>> case.point, case.name, case.step
        ('on_exit', 'RequireToolHook', 1)
    """
    return HookCase(run, seq)
