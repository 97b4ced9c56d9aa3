"""Digest of an LLM input: what the reply cache of a replay is keyed by.

hashlib over canonical JSON of the messages (role, content, name; `meta` left out because it carries
per-call noise such as timings) and the sorted names of the offered tools. Python's `hash()` is salted per
process, so it could not key a run saved in one kernel and replayed in another.

Usage:
    >>> from haystack.dataclasses import ChatMessage
    >>> a = llm_digest([ChatMessage.from_user("hi")], ["add"])
    >>> a == llm_digest([ChatMessage.from_user("hi")], ["add"]), a == llm_digest([ChatMessage.from_user("hi")], [])
    (True, False)
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from haystack.dataclasses import ChatMessage


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


def llm_digest(
    messages: list[ChatMessage], tool_names: list[str], cache: dict[int, tuple[ChatMessage, str]] | None = None
) -> str:
    """Digest of an LLM input. `cache` (id -> (message, digest)) makes repeated calls O(new messages).

    Usage:
        >>> len(llm_digest([], []))
        64
    """
    h = hashlib.sha256()
    for message in messages:
        if cache is not None:
            hit = cache.get(id(message))
            if hit is not None and hit[0] is message:
                h.update(hit[1].encode())
                continue
        digest = message_digest(message)
        if cache is not None:
            # Keep the message alive with its digest so its id cannot be reused by another object.
            cache[id(message)] = (message, digest)
        h.update(digest.encode())
    h.update(json.dumps(sorted(tool_names)).encode())
    return h.hexdigest()


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
