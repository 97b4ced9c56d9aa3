"""
The offline demo kit: a scripted chat model, demo tools, demo hooks and `demo_agent()`. Imports only haystack.

### Usage example

```python
from haystack.dataclasses import ChatMessage
from agent_nb.demo import demo_agent

agent = demo_agent()
agent.run([ChatMessage.from_user("What is 2 + 3, and the weather in Paris?")])["last_message"].text
```
"""

import os

# Haystack reads this at import time; set it before any haystack import (it never overrides the user's choice).
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from agent_nb.demo.agent import default_hooks, demo_agent
from agent_nb.demo.hooks import (
    LLMJudgeHook,
    MemoryRetrievalHook,
    RequireToolHook,
    TokenBudgetStop,
    inject_date,
    inject_user_profile,
)
from agent_nb.demo.scripted import ScriptedChatGenerator
from agent_nb.demo.tools import NoteStore, demo_tools

__all__ = [
    "LLMJudgeHook",
    "MemoryRetrievalHook",
    "NoteStore",
    "RequireToolHook",
    "ScriptedChatGenerator",
    "TokenBudgetStop",
    "default_hooks",
    "demo_agent",
    "demo_tools",
    "inject_date",
    "inject_user_profile",
]
