"""Reference solutions of notebook 04 (patterns)."""

from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage, ChatRole
from haystack.hooks import hook

MORE = "Improve your answer: add more detail."


@hook
def ask_for_more(state: State) -> None:
    """Exercise 04.1 (on_exit): ask once for a longer answer when the last answer is under 8 words."""
    messages = state.data["messages"]
    if any(m.text == MORE for m in messages):
        return  # the once-guard: the request is already in this run's conversation
    answer = next((m.text or "" for m in reversed(messages) if m.is_from(ChatRole.ASSISTANT) and m.text), "")
    if len(answer.split()) < 8:
        state.set("messages", [ChatMessage.from_user(MORE)])
        state.set("continue_run", True)


class CountingClient:
    """Exercise 04.2: a class hook whose resource opens once in warm_up and is released in close."""

    def __init__(self) -> None:
        self.client: object | None = None
        self.opened = 0
        self.closed = False

    def warm_up(self) -> None:
        if self.client is not None:
            return  # the Agent calls warm_up before EVERY run: keep it idempotent
        self.client = object()  # stands for an HTTP client, a model, a database connection
        self.opened += 1
        self.closed = False

    def run(self, state: State) -> None:
        assert self.client is not None, "warm_up has not run"

    def close(self) -> None:
        self.client = None
        self.closed = True
