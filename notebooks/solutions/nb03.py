"""Reference solutions of notebook 03 (hook points)."""

from haystack.components.agents.state import State
from haystack.hooks import hook

# Exercise 03.1: what `state.data["step_count"]` reads at each point of a run with one tool step, then a text answer.
STEP_COUNTS = {"before_run": 0, "before_llm": 0, "before_tool": 0, "after_tool": 0, "on_exit": 2, "after_run": 2}


@hook
def llm_limit(state: State) -> None:
    """Exercise 03.2 (before_llm): stop before the third LLM call; before_llm of step n has made n calls so far."""
    if state.data["step_count"] >= 2:
        state.set("stop_run", "llm_limit")
