"""Reference solutions of notebook 02 (write your own hook)."""

from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.dataclasses import ChatMessage, ChatRole
from haystack.hooks import hook

CITY_NOTE = "The user is in Lima."
REMINDER = "You must call `save_note` before finishing."


@hook
def inject_city(state: State) -> None:
    """Exercise 02.1 (before_llm): tell the model where the user is, once, right after the system prompt."""
    messages = state.data["messages"]  # the live list: read it, never append to it directly
    if any(m.is_from(ChatRole.SYSTEM) and m.text == CITY_NOTE for m in messages):
        return  # before_llm runs at every step: add the note only once
    at = 1 if messages and messages[0].is_from(ChatRole.SYSTEM) else 0
    new = [*messages[:at], ChatMessage.from_system(CITY_NOTE), *messages[at:]]
    state.set("messages", new, handler_override=replace_values)  # plain state.set would APPEND the whole list


@hook
def require_save_note(state: State) -> None:
    """Exercise 02.2 (on_exit): no finishing before save_note ran; give up after two reminders (the loop guard)."""
    if (state.data.get("tool_call_counts") or {}).get("save_note"):
        return
    reminders = sum(1 for m in state.data["messages"] if m.text == REMINDER)  # per-run count, kept in State
    if reminders >= 2:
        return
    state.set("messages", [ChatMessage.from_system(REMINDER)])  # appends one message (merge handler)
    state.set("continue_run", True)


@hook
def block_search(state: State) -> None:
    """Exercise 02.3 (before_tool): refuse every `search` call, tell the model, let the other calls run."""
    messages = state.data["messages"]
    last = messages[-1]  # only the LAST message's tool calls run after before_tool
    blocked = [c for c in last.tool_calls if c.tool_name == "search"]
    if not blocked:
        return
    allowed = [c for c in last.tool_calls if c.tool_name != "search"]
    new = [*messages[:-1], ChatMessage.from_assistant(last.text, tool_calls=blocked)]
    new += [ChatMessage.from_tool("Blocked: search is disabled here", origin=c, error=True) for c in blocked]
    if allowed:  # a new last message holding only the allowed calls: these are the ones that run
        new.append(ChatMessage.from_assistant(tool_calls=allowed))
    state.set("messages", new, handler_override=replace_values)
