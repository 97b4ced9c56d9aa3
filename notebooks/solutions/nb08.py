"""Reference solutions of notebook 08 (writing a compaction hook)."""

from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.dataclasses import ChatMessage, ChatRole
from haystack.token_counters import ApproximateTokenCounter, TokenCounter

LIMIT = 100  # compact once the context reaches this many tokens


OMITTED = "[{n} earlier messages were removed from this conversation to free up context and cannot be recovered.]"


class KeepLastSteps:
    """The compactor of section 2: keep the system messages, the task and the last `keep` steps, drop whole steps."""

    def __init__(self, keep: int = 1) -> None:
        self.keep = keep

    def compact(
        self, messages: list[ChatMessage], target_tokens: int, token_counter: TokenCounter
    ) -> list[ChatMessage] | None:
        task_at = next((i for i, m in enumerate(messages) if m.is_from(ChatRole.USER)), None)
        if task_at is None:
            return None
        head, rest = messages[: task_at + 1], messages[task_at + 1 :]
        starts = [i for i, m in enumerate(rest) if m.is_from(ChatRole.ASSISTANT)]  # a step starts at its reply
        if len(starts) <= self.keep:
            return None  # rule 1 of the protocol: None unless the conversation gets smaller
        cut = starts[-self.keep]
        note = ChatMessage.from_user(OMITTED.format(n=cut))  # haystack's sliding-window wording
        return [*head, note, *rest[cut:]]  # rule 2: a new list

    async def compact_async(
        self, messages: list[ChatMessage], target_tokens: int, token_counter: TokenCounter
    ) -> list[ChatMessage] | None:
        return self.compact(messages, target_tokens, token_counter)

    def to_dict(self) -> dict:
        return {"type": f"{__name__}.KeepLastSteps", "init_parameters": {"keep": self.keep}}


class TrimContext:
    """Exercise 08.1 (before_llm): compact with `compactor` once `context_tokens` reaches `limit`."""

    def __init__(self, compactor: KeepLastSteps, limit: int = LIMIT) -> None:
        self.compactor = compactor
        self.limit = limit
        self.counter = ApproximateTokenCounter()

    def run(self, state: State) -> None:
        if (state.data.get("context_tokens") or 0) < self.limit:
            return
        compacted = self.compactor.compact(state.data["messages"], self.limit // 2, self.counter)
        if compacted is None:
            return
        state.set("messages", compacted, handler_override=replace_values)  # plain set would APPEND the list
        # context_tokens is refreshed by the Agent only after the next LLM call: until then, later hooks would read
        # the size before compaction
        state.set("context_tokens", self.counter.count(messages=compacted))


trim_context = TrimContext(KeepLastSteps(1))
