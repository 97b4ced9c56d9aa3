"""Reference solutions of notebook 06 (async hooks)."""

import asyncio
import time

from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.dataclasses import ChatMessage, ChatRole
from haystack.hooks import hook

CITY_NOTE = "The user is in Lima."


async def lookup_city() -> str:
    """Stands for an async call to a user service."""
    await asyncio.sleep(0.01)
    return "Lima"


@hook
async def inject_city_async(state: State) -> None:
    """Exercise 06.1 (before_llm, async): await the lookup, then add the note once."""
    messages = state.data["messages"]
    if any(m.is_from(ChatRole.SYSTEM) and m.text == CITY_NOTE for m in messages):
        return
    note = ChatMessage.from_system(f"The user is in {await lookup_city()}.")
    at = 1 if messages and messages[0].is_from(ChatRole.SYSTEM) else 0
    state.set("messages", [*messages[:at], note, *messages[at:]], handler_override=replace_values)


class SlowLookup:
    """Exercise 06.2: a blocking call (time.sleep) in a class hook WITHOUT run_async: haystack runs it in a thread."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds

    def run(self, state: State) -> None:
        time.sleep(self.seconds)  # blocks its worker thread, not the event loop
