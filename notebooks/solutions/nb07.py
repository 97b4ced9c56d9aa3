"""Reference solutions of notebook 07 (real models)."""

import json

from agent_nb import Run


def repeated_calls(run: Run) -> int:
    """Exercise 07.1: how many tool calls repeat an earlier call of the run (same tool, same arguments)."""
    seen: set[tuple[str, str]] = set()
    repeats = 0
    for message in run.result["messages"]:
        for call in message.tool_calls:
            key = (call.tool_name, json.dumps(call.arguments, sort_keys=True))  # dicts are not hashable
            repeats += key in seen
            seen.add(key)
    return repeats
