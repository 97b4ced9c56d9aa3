"""Digest of an LLM input: what the reply cache of a replay is keyed by.

hashlib over canonical JSON of the messages (role, content, name; `meta` left out because it carries
per-call noise such as timings) and the sorted names of the offered tools. Python's `hash()` is salted per
process, so it could not key a run saved in one kernel and replayed in another.

One code path computes every digest (`_fold`): `llm_digest` for one input, `InputDigests` for all the LLM
inputs of a run (each message digested once; a `MessageLog` input continues the hash state of its base, so a
long run costs O(messages), not O(events x messages)), and `event_digest` for a recorded event (what a save
stores and a replay keys by).

Usage:
    >>> from haystack.dataclasses import ChatMessage
    >>> a = llm_digest([ChatMessage.from_user("hi")], ["add"])
    >>> a == llm_digest([ChatMessage.from_user("hi")], ["add"]), a == llm_digest([ChatMessage.from_user("hi")], [])
    (True, False)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from haystack.dataclasses import ChatMessage

from agent_nb.recording.values import MessageLog

if TYPE_CHECKING:
    from agent_nb.recording.events import Event

#: message id -> (the message, its digest); the message is kept so its id cannot be reused by another object.
MessageDigests = dict[int, tuple[ChatMessage, str]]


def message_digest(message: ChatMessage) -> str:
    """sha256 of one message's canonical JSON, without `meta`.

    Usage:
        >>> len(message_digest(ChatMessage.from_user("hi")))
        64
    """
    data = message.to_dict()
    data.pop("meta", None)
    blob = json.dumps(data, sort_keys=True, default=repr, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def _fold(h: Any, messages: Iterable[ChatMessage], cache: MessageDigests | None) -> Any:
    """Fold each message's digest into the hash `h` (the one loop every input digest goes through)."""
    for message in messages:
        if cache is not None:
            hit = cache.get(id(message))
            if hit is not None and hit[0] is message:
                h.update(hit[1].encode())
                continue
        digest = message_digest(message)
        if cache is not None:
            cache[id(message)] = (message, digest)
        h.update(digest.encode())
    return h


def _finish(h: Any, tool_names: Iterable[str]) -> str:
    h.update(json.dumps(sorted(tool_names)).encode())
    return h.hexdigest()


def llm_digest(messages: Iterable[ChatMessage], tool_names: Iterable[str], cache: MessageDigests | None = None) -> str:
    """Digest of an LLM input. `cache` (id -> (message, digest)) makes repeated calls O(new messages).

    Usage:
        >>> len(llm_digest([], []))
        64
    """
    return _finish(_fold(hashlib.sha256(), messages, cache), tool_names)


class InputDigests:
    """The input digests of many LLM calls of one run, each message digested once.

    A `MessageLog` input (how snapshots keep a conversation that grows by appending) is its base plus a tail:
    the hash state after the base is kept and continued (hashlib states copy), so the digest of each call
    costs O(its new messages). The value is `llm_digest`'s, whatever the input's type.

    Usage:
        >>> first = MessageLog(None, (ChatMessage.from_user("hi"),))
        >>> later = MessageLog(first, (ChatMessage.from_assistant("hello"),))
        >>> digests = InputDigests()
        >>> digests.of(later, ["add"]) == llm_digest(list(later), ["add"])
        True
    """

    def __init__(self) -> None:
        self.messages: MessageDigests = {}
        self._logs: dict[int, tuple[MessageLog, Any]] = {}  # id(log) -> (log, sha256 state after its messages)

    def _state(self, log: MessageLog) -> Any:
        pending = []
        node: MessageLog | None = log
        while node is not None and id(node) not in self._logs:  # iterative: a long run makes a deep chain
            pending.append(node)
            node = node.base
        state = self._logs[id(node)][1] if node is not None else hashlib.sha256()
        for item in reversed(pending):
            state = _fold(state.copy(), item.tail, self.messages)
            self._logs[id(item)] = (item, state)
        return state

    def of(self, inputs: Iterable[ChatMessage], tool_names: Iterable[str]) -> str:
        """The digest of one LLM input (a MessageLog or any sequence of messages).

        Usage:
            >>> InputDigests().of([ChatMessage.from_user("hi")], []) == llm_digest([ChatMessage.from_user("hi")], [])
            True
        """
        if isinstance(inputs, MessageLog):
            return _finish(self._state(inputs).copy(), tool_names)
        return llm_digest(inputs, tool_names, self.messages)


def event_digest(event: Event, digests: InputDigests | None = None) -> str | None:
    """The input digest of a recorded LLM event (what a save stores and a replay keys by); None when unknown.

    A digest already in the event's detail (stored by a save, or computed lazily) is returned as it is;
    otherwise it is computed from the event's input messages (or the State's messages before it) and kept in
    the detail as a memo. Pass one `digests` for all the events of a run.

    Usage:
        >>> from agent_nb.recording.events import Event
        >>> event_digest(Event("r", 0, 0, "llm", None, "Gen", "ok", 0.0, 0.0)) is None
        True
    """
    detail = event.detail
    if "input_digest" in detail:  # `in` does not trigger a lazy detail's computation
        return detail["input_digest"]
    inputs = detail.get("input_messages")
    if not isinstance(inputs, list | tuple | MessageLog):
        inputs = (event.before or {}).get("messages")
    if not isinstance(inputs, list | tuple | MessageLog):
        return None
    digest = (digests or InputDigests()).of(inputs, list(detail.get("tool_names") or []))
    if isinstance(detail, dict):
        detail["input_digest"] = digest  # a memo: the value the recording layer would compute lazily
    return digest


class LLMDetail(dict):
    """The `detail` of an LLM event; its `input_digest` is computed on first use, not during the run.

    Digesting the conversation costs more than recording the call, and only replays, compare and save need
    it, so the event keeps a reference to its input messages and digests them when asked.

    Usage:
        >>> d = LLMDetail(input_messages=[ChatMessage.from_user("hi")], tool_names=[])
        >>> d["input_digest"] == llm_digest([ChatMessage.from_user("hi")], [])
        True
    """

    def __missing__(self, key: str) -> Any:
        if key != "input_digest" or "input_messages" not in self:
            raise KeyError(key)
        digest = llm_digest(list(self["input_messages"]), list(self.get("tool_names") or []))
        self["input_digest"] = digest
        return digest

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


def usage_of(replies: list[ChatMessage]) -> tuple[int | None, int | None]:
    """(prompt_tokens, completion_tokens) summed over replies' `meta["usage"]` (OpenAI or Anthropic names).

    Usage:
        >>> usage_of([ChatMessage.from_assistant("x", meta={"usage": {"prompt_tokens": 3, "completion_tokens": 1}})])
        (3, 1)
    """
    prompt = completion = None
    for reply in replies:
        usage: Any = reply.meta.get("usage") if isinstance(reply, ChatMessage) else None
        if not isinstance(usage, dict):
            continue
        p = usage.get("prompt_tokens", usage.get("input_tokens"))
        c = usage.get("completion_tokens", usage.get("output_tokens"))
        if isinstance(p, int):
            prompt = (prompt or 0) + p
        if isinstance(c, int):
            completion = (completion or 0) + c
    return prompt, completion
