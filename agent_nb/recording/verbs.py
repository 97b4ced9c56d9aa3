"""Verbs of the layers above, attached to the core's records without the core importing them.

`Run.replay`, `Run.plot`, `Run.to_otel`, ... are `Verb` descriptors (in the style of pandas' `DataFrame.plot`
accessor): each names the function that implements it, in its own layer, and resolves it on first use. The
signature and docs are that function's, written once there, so `help(run.replay)` and tab completion show
the real ones, and the core never imports replay, views, export or testing (`tests/test_layers.py` checks).

Usage:
    >>> import inspect
    >>> from agent_nb import Run
    >>> list(inspect.signature(run.fork).parameters)[:3]
    ['step', 'edit', 'reply']
    >>> Run.replay.__module__
    'agent_nb.replay.resume'
"""

from __future__ import annotations

import functools
import importlib
import inspect
import types
from collections.abc import Callable
from typing import Any


class Verb:
    """A method implemented in another layer: `target` is "package.module:function", taking the record first.

    `bind="recorder"` passes the owner as that keyword instead (`rec.replay(run, ...)` is
    `replay(run, ..., recorder=rec)`); `static=True` passes no owner at all (`Run.load(path)`).
    """

    def __init__(self, target: str, *, bind: str | None = None, static: bool = False) -> None:
        self.target, self.bind, self.static = target, bind, static
        self._function: Callable[..., Any] | None = None

    def function(self) -> Callable[..., Any]:
        """The implementing function (imported on first use)."""
        if self._function is None:
            module, _, name = self.target.partition(":")
            self._function = getattr(importlib.import_module(module), name)
        return self._function

    def __get__(self, owner: Any, owner_type: type | None = None) -> Callable[..., Any]:
        fn = self.function()
        if self.static or owner is None:
            return fn
        if self.bind is None:
            return types.MethodType(fn, owner)
        return _with_keyword(fn, self.bind, owner)


def _with_keyword(fn: Callable[..., Any], key: str, value: Any) -> Callable[..., Any]:
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def bound(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **{key: value}, **kwargs)

    bound.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != key]
    )
    return bound
