"""Reference solutions of notebook 11 (fork with edited State)."""

from haystack.dataclasses import ChatMessage, ToolCall

from agent_nb import Run


def rescue(run: Run) -> Run:
    """Exercise 11.1: fork at the step whose LLM reply asked for the failed weather call, asking for Lima instead."""
    failed = run.timeline.query("kind == 'tool' and status == 'error'")
    step = int(failed["step"].iloc[0])  # the reply that asked for the call is in the same step
    reply = ChatMessage.from_assistant(tool_calls=[ToolCall("get_weather", {"city": "Lima"})])
    return run.fork(step=step, reply=reply, label="Lima instead")
