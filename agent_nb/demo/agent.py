"""
`demo_agent()`: a ready Haystack Agent on the offline scripted model, with the demo tools and hooks.

### Usage example

```python
from haystack.dataclasses import ChatMessage
from agent_nb.demo import demo_agent

agent = demo_agent()
result = agent.run([ChatMessage.from_user("What is 2 + 3, and the weather in Paris?")])
result["last_message"].text
```
"""

from typing import Any

from haystack.components.agents import Agent
from haystack.components.generators.chat.types import ChatGenerator
from haystack.hooks import Hook, HookPoint
from haystack.tools import ToolsType

from agent_nb.demo.hooks import MemoryRetrievalHook, RequireToolHook, inject_date, inject_user_profile
from agent_nb.demo.scripted import ScriptedChatGenerator
from agent_nb.demo.tools import NoteStore, demo_tools

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Use the tools when they help."

# `user_profile` feeds `inject_user_profile`; `notes` is a list hooks (or your own tools) may write to. The demo
# `save_note` keeps its notes in a NoteStore rather than in State: a tool that wrote a State key would crash any
# Agent whose schema lacks that key.
STATE_SCHEMA: dict[str, dict[str, Any]] = {"user_profile": {"type": dict}, "notes": {"type": list}}


def default_hooks() -> dict[HookPoint, list[Hook]]:
    """
    The demo's hooks, with fresh objects for the stateful ones.

    `before_run`: MemoryRetrievalHook; `before_llm`: inject_date, inject_user_profile; `on_exit`:
    RequireToolHook("save_note").

    ### Usage example

    ```python
    hooks = default_hooks()
    hooks["on_exit"].append(LLMJudgeHook())
    agent = demo_agent(hooks=hooks)
    ```
    """
    return {
        "before_run": [MemoryRetrievalHook()],
        "before_llm": [inject_date, inject_user_profile],
        "on_exit": [RequireToolHook("save_note")],
    }


def demo_agent(
    chat_generator: ChatGenerator | None = None,
    *,
    hooks: dict[HookPoint, list[Hook]] | str | None = "default",
    tools: ToolsType | None = None,
    max_agent_steps: int = 12,
    latency_s: float = 0.0,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    notes: NoteStore | None = None,
    **agent_kwargs: Any,
) -> Agent:
    """
    Build a Haystack Agent for demos: the scripted model (or yours), the demo tools, and the demo hooks.

    :param chat_generator: Any haystack chat generator; None uses `ScriptedChatGenerator(latency_s=latency_s)`.
    :param hooks: "default" for `default_hooks()`, None for no hooks, or a hooks dict used as given.
    :param tools: The tools; None uses `demo_tools(notes)`.
    :param max_agent_steps: Step limit of the Agent.
    :param latency_s: Simulated seconds per LLM call of the default scripted model.
    :param system_prompt: The system prompt (a Jinja template, like every Agent system prompt); None for none.
    :param notes: The store the default `save_note` tool writes to; None uses the module-level one (serializable).
    :param agent_kwargs: More `Agent` arguments; a `state_schema` here is merged over the demo's.
    :returns: A new Agent.

    ### Usage example

    ```python
    agent = demo_agent(hooks=None)
    agent.run([ChatMessage.from_user("Weather in Paris and Tokyo")])["last_message"].text
    ```
    """
    if isinstance(hooks, str):
        if hooks != "default":
            raise ValueError(f"hooks must be 'default', None or a dict of hook lists, got {hooks!r}.")
        hooks = default_hooks()
    state_schema = {**STATE_SCHEMA, **(agent_kwargs.pop("state_schema", None) or {})}
    return Agent(
        chat_generator=chat_generator if chat_generator is not None else ScriptedChatGenerator(latency_s=latency_s),
        tools=demo_tools(notes) if tools is None else tools,
        system_prompt=system_prompt,
        state_schema=state_schema,
        max_agent_steps=max_agent_steps,
        hooks=hooks or None,
        **agent_kwargs,
    )
