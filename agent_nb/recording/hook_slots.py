"""The Recorder's hook slots: each hook of the Agent in its point's list, named, switched on or off, swapped.

A slot keeps the user's very hook object; a run's clone of the Agent holds the enabled ones, in order.

Usage:
    >>> from agent_nb import Recorder, demo_agent
    >>> rec = Recorder(demo_agent())
    >>> rec.hook_config["before_llm"]
    {'inject_date': True, 'inject_user_profile': True}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from haystack.hooks import VALID_HOOK_POINTS, FunctionHook

from agent_nb.errors import InvalidArgument, InvalidType, UnknownName
from agent_nb.recording.events import HOOKS_SCHEMA, frame_of
from agent_nb.recording.interception import HookSlot
from agent_nb.recording.options import HookOverrides
from agent_nb.recording.types import HookPoint

#: `{hook point: {hook name: enabled}}` for every slot.
HookConfig = dict[HookPoint, dict[str, bool]]


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


class HookSlots:
    """The hook registry part of a `Recorder`: list, switch, add, remove and resolve hook slots."""

    def __init__(self, hooks: Mapping[str, list[Any]]) -> None:
        self._hook_watchers: list[Callable[[], None]] = []
        self._slots: list[HookSlot] = []
        for point in VALID_HOOK_POINTS:
            for hook in hooks.get(point, []):
                self._slots.append(HookSlot(point, self._unique_name(point, hook_name(hook)), hook))

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
        raise UnknownName(f"no hook {name!r} at {point!r}; hooks: {', '.join(known) or 'none'}")

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
            raise InvalidArgument(f"unknown hook point {point!r}; valid points: {', '.join(VALID_HOOK_POINTS)}")
        if not callable(getattr(hook, "run", None)):
            hint = " (wrap a function with haystack.hooks.hook)" if callable(hook) else ""
            raise InvalidType(f"a hook needs a callable run(state), got {type(hook).__name__}{hint}")
        allowed = getattr(hook, "allowed_hook_points", None)
        if allowed is not None and point not in allowed:
            raise InvalidArgument(f"{type(hook).__name__} cannot run at {point!r}; it allows: {', '.join(allowed)}")
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
            raise InvalidType(f"hooks must map hook points to {{name: True/False}}, got {type(overrides).__name__}")
        for point, names in overrides.items():
            if point not in VALID_HOOK_POINTS:
                raise UnknownName(f"unknown hook point {point!r}; valid points: {', '.join(VALID_HOOK_POINTS)}")
            if not isinstance(names, Mapping):
                raise InvalidType(f"hooks[{point!r}] must map hook names to True/False, got {type(names).__name__}")
            for name, value in names.items():
                self._slot(point, name)
                if isinstance(value, bool):
                    config[point][name] = value
                elif callable(getattr(value, "run", None)):
                    allowed = getattr(value, "allowed_hook_points", None)
                    if allowed is not None and point not in allowed:
                        raise InvalidArgument(f"{type(value).__name__} cannot run at {point!r}; it allows: {allowed}")
                    config[point][name] = True
                    swaps[(point, name)] = value
                else:
                    raise InvalidType(
                        f"hooks[{point!r}][{name!r}] must be True, False or a hook object (with run(state)), "
                        f"got {value!r}"
                    )
        return config, swaps
