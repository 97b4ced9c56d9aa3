"""
Demo hooks modelled on real practice: context injection, memory retrieval, a required tool, a budget and a judge.

The first line of each hook's docstring says what it does; the workbench shows it next to the hook's switch.

### Usage example

```python
from agent_nb.demo import RequireToolHook, demo_agent, inject_date

agent = demo_agent(hooks={"before_llm": [inject_date], "on_exit": [RequireToolHook("save_note")]})
```
"""

import datetime as dt
import re
from typing import Any

from haystack import logging
from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.components.generators.chat.types import ChatGenerator
from haystack.core.serialization import component_to_dict, default_from_dict, default_to_dict
from haystack.dataclasses import ChatMessage, ChatRole
from haystack.hooks import hook
from haystack.utils.deserialization import deserialize_component_inplace

from agent_nb.demo.scripted import JUDGE_MARKER, ScriptedChatGenerator

logger = logging.getLogger(__name__)

DEFAULT_MEMORIES: dict[str, str] = {
    "paris": "The user lives in Paris.",
    "home": "The user lives in Paris.",
    "weather": "The user prefers Celsius.",
    "note": "The user keeps notes short.",
}
JUDGE_PROMPT = (
    f"{JUDGE_MARKER}. Grade how well the answer serves the task, from 0 to 10. Reply with exactly 'SCORE: N/10'."
)
IMPROVE_MESSAGE = "Improve your answer: it was too short."
_DATE_PREFIX = "Today is "
_PROFILE_PREFIX = "User name:"
_MEMORY_PREFIX = "Relevant memories:"


def _text(message: ChatMessage) -> str:
    return "\n".join(message.texts)


def _is_system(message: ChatMessage, prefix: str) -> bool:
    return message.is_from(ChatRole.SYSTEM) and _text(message).startswith(prefix)


def _after_leading_system(messages: list[ChatMessage]) -> int:
    """Index just after the leading system messages (the system prompt and earlier injections)."""
    index = 0
    while index < len(messages) and messages[index].is_from(ChatRole.SYSTEM):
        index += 1
    return index


def _ensure_once(state: State, prefix: str, text: str | None, position: int | None = None) -> None:
    """
    Keep exactly one system message starting with `prefix` whose text is `text` (none when `text` is None).

    The message list is only replaced when something changes, so a hook that runs every step adds nothing twice.
    """
    messages: list[ChatMessage] = state.data["messages"]
    found = [i for i, m in enumerate(messages) if _is_system(m, prefix)]
    if text is not None and len(found) == 1 and _text(messages[found[0]]) == text:
        return
    if text is None and not found:
        return
    new = [m for i, m in enumerate(messages) if i not in found]
    if text is not None:
        # Update in place when the message existed, else insert where the caller wants it.
        where = found[0] if found else (position if position is not None else _after_leading_system(new))
        new.insert(min(where, len(new)), ChatMessage.from_system(text))
    state.set("messages", new, handler_override=replace_values)


def _today(state: State) -> dt.date:
    """`hook_context["today"]` (a date or ISO string) when given, else the real date."""
    value = (state.data.get("hook_context") or {}).get("today")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return dt.date.today()


@hook
def inject_date(state: State) -> None:
    """
    Tell the model today's date in a system message ("Today is 2025-01-31 (Friday).").

    Runs at before_llm; the message appears once, after the first system message (or first), never duplicated
    across steps. Pass `hook_context={"today": "2025-01-31"}` to `agent.run` to pin the date.

    ### Usage example

    ```python
    agent = demo_agent(hooks={"before_llm": [inject_date]})
    agent.run([ChatMessage.from_user("What day is it?")], hook_context={"today": "2025-01-31"})
    ```
    """
    today = _today(state)
    messages: list[ChatMessage] = state.data["messages"]
    position = 1 if messages and messages[0].is_from(ChatRole.SYSTEM) else 0
    _ensure_once(state, _DATE_PREFIX, f"{_DATE_PREFIX}{today.isoformat()} ({today:%A}).", position)


@hook
def inject_user_profile(state: State) -> None:
    """
    Put the user's profile (state key `user_profile`) in a system message ("User name: Ada. Preferences: ...").

    Runs at before_llm; one message, updated in place when the profile changes, removed when it is emptied.

    ### Usage example

    ```python
    agent = demo_agent(hooks={"before_llm": [inject_user_profile]})
    agent.run([ChatMessage.from_user("hi")], user_profile={"name": "Ada", "units": "celsius"})
    ```
    """
    profile = state.data.get("user_profile") or {}
    text = None
    if profile:
        preferences = ", ".join(f"{k}={v}" for k, v in profile.items() if k != "name") or "none"
        text = f"{_PROFILE_PREFIX} {profile.get('name', 'unknown')}. Preferences: {preferences}."
    _ensure_once(state, _PROFILE_PREFIX, text)


def _task(messages: list[ChatMessage]) -> str:
    """The text of the last user message (the task at before_run)."""
    return next((_text(m) for m in reversed(messages) if m.is_from(ChatRole.USER) and m.texts), "")


class MemoryRetrievalHook:
    """
    Recall memories whose keyword appears in the task, as a system message ("Relevant memories: ...").

    Runs at before_run (or before_llm; it never adds the same message twice). Keywords match whole words,
    case-insensitively; each memory text appears once, in the order of the `memories` dict.

    ### Usage example

    ```python
    memories = MemoryRetrievalHook({"paris": "The user lives in Paris."})
    agent = demo_agent(hooks={"before_run": [memories]})
    ```
    """

    allowed_hook_points = ("before_run", "before_llm")

    def __init__(self, memories: dict[str, str] | None = None) -> None:
        """
        :param memories: keyword -> memory text. Defaults to `DEFAULT_MEMORIES`.
        """
        self.memories = dict(DEFAULT_MEMORIES if memories is None else memories)

    def recall(self, task: str) -> list[str]:
        """
        The memory texts whose keyword occurs in `task`.

        :param task: The user's request.
        :returns: Distinct memory texts, in the order of `memories`.
        """
        hits = [text for key, text in self.memories.items() if re.search(rf"\b{re.escape(key)}\b", task, re.I)]
        return list(dict.fromkeys(hits))

    def run(self, state: State) -> None:
        """
        Insert the recalled memories after the leading system messages.

        :param state: The Agent's live State.
        """
        recalled = self.recall(_task(state.data["messages"]))
        if recalled:
            _ensure_once(state, _MEMORY_PREFIX, f"{_MEMORY_PREFIX} {' '.join(recalled)}")

    def to_dict(self) -> dict[str, Any]:
        """Serialize the hook."""
        return default_to_dict(self, memories=self.memories)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MemoryRetrievalHook":
        """Deserialize the hook."""
        return default_from_dict(cls, data)


class RequireToolHook:
    """
    Keep the run going until the model has called a given tool ("You must call `save_note` before finishing.").

    Runs at on_exit: if `tool_call_counts[tool_name]` is 0 it appends that system message and sets `continue_run`.
    After `max_reminders` unanswered reminders it lets the run end, so a model that cannot comply does not loop.

    ### Usage example

    ```python
    agent = demo_agent(hooks={"on_exit": [RequireToolHook("save_note")]})
    agent.run([ChatMessage.from_user("What is 2 + 3?")])["tool_call_counts"]["save_note"]  # 1
    ```
    """

    allowed_hook_points = ("on_exit",)

    def __init__(self, tool_name: str = "save_note", max_reminders: int = 2) -> None:
        """
        :param tool_name: The tool the model must call before the run may end.
        :param max_reminders: How many reminders a run gets at most.
        """
        if max_reminders < 1:
            raise ValueError(f"max_reminders must be >= 1, got {max_reminders}.")
        self.tool_name = tool_name
        self.max_reminders = max_reminders

    @property
    def message(self) -> str:
        """The reminder the hook appends."""
        return f"You must call `{self.tool_name}` before finishing."

    def run(self, state: State) -> None:
        """
        Remind the model and continue the run if the tool has not been called.

        :param state: The Agent's live State.
        """
        counts = state.data.get("tool_call_counts") or {}
        if counts.get(self.tool_name, 0) > 0:
            return
        reminders = sum(1 for m in state.data["messages"] if _text(m) == self.message)
        if reminders >= self.max_reminders:
            logger.warning("{tool} was never called after {n} reminders.", tool=self.tool_name, n=reminders)
            return
        state.set("messages", [ChatMessage.from_system(self.message)])
        state.set("continue_run", True)

    def to_dict(self) -> dict[str, Any]:
        """Serialize the hook."""
        return default_to_dict(self, tool_name=self.tool_name, max_reminders=self.max_reminders)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RequireToolHook":
        """Deserialize the hook."""
        return default_from_dict(cls, data)


class TokenBudgetStop:
    """
    Stop the run (`stop_run="token_budget"`) once the tokens used reach a budget.

    Runs at before_llm, so the run ends before the next LLM call. A simpler sibling of haystack's
    `haystack.hooks.budget.TokenBudgetHook`.

    ### Usage example

    ```python
    agent = demo_agent(hooks={"before_llm": [TokenBudgetStop(max_total_tokens=200)]})
    agent.run([ChatMessage.from_user("Weather in Paris and Tokyo")])["exit_reason"]  # 'token_budget' if over
    ```
    """

    allowed_hook_points = ("before_llm",)
    reason = "token_budget"

    def __init__(self, max_total_tokens: int) -> None:
        """
        :param max_total_tokens: The budget; the run stops once `token_usage` reaches it.
        """
        if max_total_tokens < 1:
            raise ValueError(f"max_total_tokens must be >= 1, got {max_total_tokens}.")
        self.max_total_tokens = max_total_tokens

    def run(self, state: State) -> None:
        """
        Request a stop when the budget is used up.

        :param state: The Agent's live State.
        """
        usage = state.data.get("token_usage") or {}
        total = usage.get("total_tokens") or usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
        if total >= self.max_total_tokens:
            state.set("stop_run", self.reason)

    def to_dict(self) -> dict[str, Any]:
        """Serialize the hook."""
        return default_to_dict(self, max_total_tokens=self.max_total_tokens)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TokenBudgetStop":
        """Deserialize the hook."""
        return default_from_dict(cls, data)


class LLMJudgeHook:
    """
    Have an LLM judge grade the final answer, and send the agent back to improve it when the score is low.

    Runs at on_exit: asks the judge (default: a `ScriptedChatGenerator` in judge mode) for "SCORE: N/10"; below
    `min_score`, with rounds left, it appends the user message "Improve your answer: it was too short." and sets
    `continue_run`. Rounds are counted from those messages, so the hook itself keeps no per-run state. The judge is
    opened in `warm_up()` and released in `close()`.

    ### Usage example

    ```python
    judge = LLMJudgeHook(min_score=6)
    agent = demo_agent(hooks={"on_exit": [judge]})
    agent.run([ChatMessage.from_user("What is 2 + 3?")])  # answers, is graded 3/10, answers again in detail
    agent.close()  # judge.closed is now True
    ```
    """

    allowed_hook_points = ("on_exit",)

    def __init__(self, chat_generator: ChatGenerator | None = None, min_score: int = 6, max_rounds: int = 1) -> None:
        """
        :param chat_generator: Any haystack chat generator to judge with; None uses a `ScriptedChatGenerator`.
        :param min_score: Scores below this (out of 10) ask for an improvement.
        :param max_rounds: How many improvement rounds a run gets at most.
        """
        self.chat_generator = chat_generator
        self.min_score = min_score
        self.max_rounds = max_rounds
        self.judge: ChatGenerator | None = None
        self.closed = False

    def warm_up(self) -> None:
        """Open the judge generator (idempotent: the Agent calls this before every run)."""
        if self.judge is not None:
            return
        self.judge = self.chat_generator if self.chat_generator is not None else ScriptedChatGenerator()
        if hasattr(self.judge, "warm_up"):
            self.judge.warm_up()
        self.closed = False

    def close(self) -> None:
        """Release the judge generator."""
        if self.judge is not None and hasattr(self.judge, "close"):
            self.judge.close()
        self.judge = None
        self.closed = True

    def score(self, task: str, answer: str) -> int | None:
        """
        Ask the judge for a score.

        :param task: The user's request.
        :param answer: The answer to grade.
        :returns: The score out of 10, or None when the judge's reply holds no "SCORE: N".
        """
        if self.judge is None:
            self.warm_up()
        prompt = [ChatMessage.from_system(JUDGE_PROMPT), ChatMessage.from_user(f"Task: {task}\n\nAnswer: {answer}")]
        replies = self.judge.run(messages=prompt)["replies"]
        match = re.search(r"SCORE:\s*(\d+)", replies[0].text or "") if replies else None
        return int(match.group(1)) if match else None

    def run(self, state: State) -> None:
        """
        Grade the last answer and ask for another round if it scores too low.

        :param state: The Agent's live State.
        """
        messages: list[ChatMessage] = state.data["messages"]
        if sum(1 for m in messages if _text(m) == IMPROVE_MESSAGE) >= self.max_rounds:
            return
        answer = next((_text(m) for m in reversed(messages) if m.is_from(ChatRole.ASSISTANT) and m.texts), "")
        task = next(
            (
                _text(m)
                for m in reversed(messages)
                if m.is_from(ChatRole.USER) and m.texts and _text(m) != IMPROVE_MESSAGE
            ),
            "",
        )
        score = self.score(task, answer)
        if score is None:
            logger.warning("The judge gave no 'SCORE: N/10'; the answer is accepted.")
            return
        if score < self.min_score:
            state.set("messages", [ChatMessage.from_user(IMPROVE_MESSAGE)])
            state.set("continue_run", True)

    def to_dict(self) -> dict[str, Any]:
        """Serialize the hook (the judge generator too, when one was given)."""
        generator = self.chat_generator
        return default_to_dict(
            self,
            chat_generator=component_to_dict(obj=generator, name="chat_generator") if generator is not None else None,
            min_score=self.min_score,
            max_rounds=self.max_rounds,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LLMJudgeHook":
        """Deserialize the hook."""
        init = data.get("init_parameters", {})
        if init.get("chat_generator") is not None:
            deserialize_component_inplace(init, key="chat_generator")
        return default_from_dict(cls, data)
