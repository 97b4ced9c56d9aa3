"""How a replay or fork runs, declared once: the option types, their one frozen value, and the live keys.

Every entry point (`run.replay`, `run.fork`, their async variants, `rec.replay`, `rec.fork`, the Workbench)
takes or forwards a `ReplayOptions`; the modes have one type each (`ToolsMode`, `OnMiss`).

Usage:
    >>> ReplayOptions(tools="cached", on_miss="error").on_miss
    'error'
    >>> ReplayOptions(on_miss="panic")
    Traceback (most recent call last):
    ...
    agent_nb.recording.options.InvalidOption: on_miss must be one of ('live', 'error'), got 'panic'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, get_args

from agent_nb.errors import AgentNbError

#: How a replay gets tool results: run the tools again, or serve the recorded results (no side effects).
ToolsMode = Literal["live", "cached"]
#: What a replay does when an LLM input or tool call is not in the recording: ask live, or raise.
OnMiss = Literal["live", "error"]
TOOL_MODES: tuple[str, ...] = get_args(ToolsMode)
ON_MISS: tuple[str, ...] = get_args(OnMiss)

#: State keys that hold live objects, not values: never snapshotted, compared, edited or restored.
LIVE_STATE_KEYS = frozenset({"tools", "hook_context"})
#: `Agent.run` kwargs recorded and passed on as they are (live objects a hook could not have mutated as data).
LIVE_KWARGS = LIVE_STATE_KEYS | {"streaming_callback"}
#: State keys haystack's Agent keeps for its own flow: an edit may not set them (a fork clears the flow).
FLOW_KEYS = frozenset({"continue_run", "stop_run", "step_count", "exit_reason"})
#: State keys an edit may not set: live objects and the flow.
RESERVED_KEYS = LIVE_STATE_KEYS | FLOW_KEYS
#: Data keys the Agent manages: they may be edited, but not removed or set to None.
MANAGED_KEYS = frozenset({"messages", "token_usage", "tool_call_counts", "context_tokens"})

#: `{point: {name: enabled or a hook object}}`: hooks switched on or off, or swapped, for one run.
HookOverrides = Mapping[str, Mapping[str, Any]]


class InvalidOption(AgentNbError, ValueError):
    """An option of a replay or fork that is not one of its allowed values."""


@dataclass(frozen=True)
class ReplayOptions:
    """How a replay or fork runs: hook overrides, tool mode, what to do on a miss, extra run kwargs, a label.

    `tools=None` runs tools live for a run recorded in this process and serves a loaded run's tool results
    from its file (see `agent_nb.replay.replay`).

    Usage:
        >>> options = ReplayOptions(hooks={"before_llm": {"inject_date": False}}, label="no date")
        >>> options.hooks["before_llm"]["inject_date"], options.tools
        (False, None)
    """

    hooks: HookOverrides | None = None
    tools: ToolsMode | None = None
    on_miss: OnMiss = "live"
    agent_kwargs: Mapping[str, Any] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.tools is not None and self.tools not in TOOL_MODES:
            raise InvalidOption(
                f"tools must be one of {TOOL_MODES} (or None: live, but cached for a loaded run), got {self.tools!r}"
            )
        if self.on_miss not in ON_MISS:
            raise InvalidOption(f"on_miss must be one of {ON_MISS}, got {self.on_miss!r}")
        if not isinstance(self.label, str):
            raise InvalidOption(f"label must be a str, got {type(self.label).__name__}")
        if self.agent_kwargs is not None:
            if not isinstance(self.agent_kwargs, Mapping):
                raise InvalidOption(f"agent_kwargs must be a mapping, got {type(self.agent_kwargs).__name__}")
            # Frozen means frozen: the caller's dict may change after the options were made.
            object.__setattr__(self, "agent_kwargs", MappingProxyType(dict(self.agent_kwargs)))
