"""Reference solution of notebook 09 (breakpoints)."""

from agent_nb import Recorder, Run

CTX = {"today": "2026-11-22"}


def ada_run(rec: Recorder) -> Run:
    """Exercise 09.1: pause before inject_user_profile, set the profile to Ada, resume; the finished run."""
    rec.break_at("before_llm", name="inject_user_profile")
    live = rec.start("What is 2 + 3?", hook_context=CTX)
    live.wait_paused(timeout=30)
    live.edit({"user_profile": {"name": "Ada"}})
    rec.clear_breakpoints()
    live.resume()
    return live.wait(timeout=30)
