"""Reference solutions of notebook 01 (quickstart)."""

from agent_nb import Recorder, Run


def continue_seq(run: Run) -> int:
    """Exercise 01.1: the seq of the event that set `continue_run`, read off the `flow` column."""
    return int(run.timeline.query("flow == 'continue_run'")["seq"].iloc[0])


def run_without_require(rec: Recorder) -> Run:
    """Exercise 01.2: the quickstart's question with RequireToolHook switched off for this run only."""
    return rec.run(
        "What is 2 + 3, and the weather in Paris?",
        hook_context={"today": "2026-11-22"},
        hooks={"on_exit": {"RequireToolHook": False}},
    )
