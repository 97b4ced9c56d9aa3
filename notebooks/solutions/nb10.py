"""Reference solutions of notebook 10 (ablation)."""

from agent_nb import Run


def quiet_ablation(run: Run) -> Run:
    """Exercise 10.1: replay `run` without MemoryRetrievalHook (a before_run hook), tools served from the recording."""
    return run.replay(hooks={"before_run": {"MemoryRetrievalHook": False}}, tools="cached")
