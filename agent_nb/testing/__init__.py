"""The hook development loop: recorded hook calls as test cases, saved runs as pytest tests.

- `hook_case(run, seq)`: the State a recorded hook saw and left; `case.check(new_hook)` says what differs.
- `to_pytest(run, path, agent_factory="pkg.agents:build_agent")`: a test module and the run file beside it.
- The pytest plugin (`agent_nb.testing.pytest_plugin`, registered as the `agent_nb` pytest11 entry point):
  the `agent_replay` fixture and `--agent-nb-record-mode=none|once|rewrite`.

Names are imported when first used, so `import agent_nb.testing` (which pytest does for the plugin) is cheap.

Usage:
    >>> from agent_nb.testing import hook_case, to_pytest
    >>> hook_case.__module__, to_pytest.__module__
    ('agent_nb.testing.case', 'agent_nb.testing.generated')
"""

from __future__ import annotations

from typing import Any

_NAMES = {
    "HookCase": "agent_nb.testing.case",
    "HookCaseError": "agent_nb.testing.case",
    "HookCheck": "agent_nb.testing.case",
    "hook_case": "agent_nb.testing.case",
    "to_pytest": "agent_nb.testing.generated",
    "TestExportError": "agent_nb.testing.generated",
    "AgentReplay": "agent_nb.testing.pytest_plugin",
}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        import importlib

        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'agent_nb.testing' has no attribute {name!r}")


__all__ = sorted(_NAMES)
