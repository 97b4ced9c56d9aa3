"""Reference solutions of notebook 13 (developing a hook)."""

from typing import Any

from agent_nb import Run
from agent_nb.testing import hook_case


def same_as_recorded(run: Run, hook: Any, name: str = "RequireToolHook") -> bool:
    """Exercise 13.1: True when `hook` leaves the State the recorded hook `name` left, at every one of its calls."""
    seqs = run.timeline.query("name == @name")["seq"]
    return all(not hook_case(run, int(seq)).check(hook) for seq in seqs)
