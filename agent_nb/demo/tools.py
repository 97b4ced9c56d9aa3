"""
Offline demo tools: arithmetic, a fixed weather table, a note store and a tiny docs search.

They are plain module-level `@tool` functions, so an Agent that uses them serializes with `Agent.to_dict()`.

### Usage example

```python
from agent_nb.demo.tools import demo_tools

tools = demo_tools()
[t.name for t in tools]  # ['add', 'multiply', 'get_weather', 'save_note', 'search']
tools[0].invoke(a=2, b=3)  # 5
```
"""

import re
import threading
import weakref
from typing import Annotated, Any

from haystack.tools import Tool, create_tool_from_function, tool

# Fixed weather per city, so runs are reproducible.
WEATHER: dict[str, str] = {
    "Paris": "18°C, cloudy",
    "Tokyo": "24°C, sunny",
    "London": "14°C, rainy",
    "Berlin": "16°C, windy",
    "New York": "21°C, clear",
    "Sydney": "26°C, sunny",
    "Cairo": "33°C, hot and dry",
    "Lima": "19°C, overcast",
}

_SAVE_NOTE_DESCRIPTION = "Save a short note for later and return its number."


def _number(value: float) -> int | float:
    """Return `value` as an int when it is integral, so 2 + 3 reads 5 rather than 5.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class NoteStore:
    """
    A thread-safe, append-only list of notes (tools run in worker threads).

    Saving a text that is already stored returns its existing number instead of adding a duplicate: a re-run of
    the same conversation (replay, a transparency check, a re-executed notebook cell) then gets the same tool result.

    ### Usage example

    ```python
    store = NoteStore()
    store.add("buy milk")  # 1
    store.add("buy milk")  # 1 (already saved)
    store.notes  # ['buy milk']
    ```
    """

    def __init__(self, notes: list[str] | None = None) -> None:
        """
        Create a store, optionally pre-filled.

        :param notes: Initial notes.
        """
        self._notes: list[str] = list(notes or [])
        self._lock = threading.Lock()

    def add(self, text: str) -> int:
        """
        Save `text` and return its 1-based number.

        :param text: The note.
        :returns: The note's number; the existing one if the same text was saved before.
        """
        with self._lock:
            if text in self._notes:
                return self._notes.index(text) + 1
            self._notes.append(text)
            return len(self._notes)

    @property
    def notes(self) -> list[str]:
        """A copy of the saved notes, oldest first."""
        with self._lock:
            return list(self._notes)

    def clear(self) -> None:
        """Remove every note."""
        with self._lock:
            self._notes.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._notes)

    def __repr__(self) -> str:
        return f"NoteStore({self.notes!r})"


# The store behind the module-level `save_note` tool outside recorded runs (the tool must be a module-level
# function to stay serializable).
DEFAULT_NOTES = NoteStore()

# One store per recorded run (weak: it goes with its Run). A process-wide store made the tool's result depend on
# what earlier runs saved, so replaying a loaded run in a process that had saved another note diverged.
_RUN_NOTES: "weakref.WeakKeyDictionary[Any, NoteStore]" = weakref.WeakKeyDictionary()
_RUN_NOTES_LOCK = threading.Lock()


def _notes_in(state: Any) -> list[str]:
    """Texts of the notes already saved in this conversation (a fork starts with its parent's notes)."""
    notes: list[str] = []
    data = getattr(state, "data", None) or {}
    for message in data.get("messages") or []:
        for result in getattr(message, "tool_call_results", None) or []:
            origin = result.origin
            if origin.tool_name != "save_note" or result.error or not isinstance(origin.arguments, dict):
                continue
            text = origin.arguments.get("text")
            if isinstance(text, str) and text not in notes:
                notes.append(text)
    return notes


def _current_notes() -> NoteStore:
    """The store of the recorded run executing here, created on first use from its conversation; else DEFAULT_NOTES."""
    from agent_nb.recording.context import current, tool_caller  # lazy: the demo tools load without the recorder

    ctx = tool_caller() or current()
    if ctx is None:
        return DEFAULT_NOTES
    with _RUN_NOTES_LOCK:
        store = _RUN_NOTES.get(ctx.run)
        if store is None:
            store = _RUN_NOTES[ctx.run] = NoteStore(_notes_in(ctx.state))
        return store


def run_notes(run: Any) -> list[str]:
    """
    The notes the module-level `save_note` saved during a recorded run, oldest first.

    In a recorded run (record, replay or fork) `save_note` numbers notes per run, starting from the notes already
    in the run's conversation, so a replay gets the numbers the recording got whatever else the process saved.
    Outside a Recorder the tool writes to `DEFAULT_NOTES`.

    ### Usage example

    ```python
    run = Recorder(demo_agent()).run("What is 2 + 3? Then save a note of it.")
    run_notes(run)  # ['of it']
    ```
    """
    with _RUN_NOTES_LOCK:
        store = _RUN_NOTES.get(run)
    return store.notes if store is not None else []


@tool(description="Add two numbers.")
def add(a: Annotated[float, "The first number"], b: Annotated[float, "The second number"]) -> int | float:
    """
    Add two numbers; integral results stay integers.

    ### Usage example

    ```python
    add.invoke(a=2, b=3)  # 5
    ```
    """
    return _number(a + b)


@tool(description="Multiply two numbers.")
def multiply(a: Annotated[float, "The first number"], b: Annotated[float, "The second number"]) -> int | float:
    """
    Multiply two numbers; integral results stay integers.

    ### Usage example

    ```python
    multiply.invoke(a=4, b=5)  # 20
    ```
    """
    return _number(a * b)


@tool(description=f"Get the current weather for a city. Known cities: {', '.join(WEATHER)}.")
def get_weather(city: Annotated[str, "The city name, e.g. Paris"]) -> str:
    """
    Look up the weather of a known city; an unknown city raises `ValueError` (shown as a tool error in the run).

    ### Usage example

    ```python
    get_weather.invoke(city="Paris")  # '18°C, cloudy'
    ```
    """
    for name, weather in WEATHER.items():
        if name.lower() == city.strip().lower():
            return weather
    raise ValueError(f"unknown city: {city}")


@tool(description=_SAVE_NOTE_DESCRIPTION)
def save_note(text: Annotated[str, "The note to save"]) -> str:
    """
    Save a note and return "saved note #N": numbered per recorded run (see `run_notes`), else in `DEFAULT_NOTES`.

    ### Usage example

    ```python
    save_note.invoke(text="buy milk")  # 'saved note #1'
    ```
    """
    return f"saved note #{_current_notes().add(text)}"


def _note_tool(store: NoteStore) -> Tool:
    """Build a `save_note` tool bound to `store` (a closure: such an Agent cannot be serialized with to_dict)."""

    def save_note(text: Annotated[str, "The note to save"]) -> str:
        return f"saved note #{store.add(text)}"

    return create_tool_from_function(save_note, name="save_note", description=_SAVE_NOTE_DESCRIPTION)


# A small corpus about Haystack Agent hooks, for the `search` tool.
DOCS: list[tuple[str, str]] = [
    ("before_run hook", "Runs once per run, after the State is built and before the first LLM call."),
    ("before_llm hook", "Runs at the start of every step, before the chat generator is called."),
    ("before_tool hook", "Runs when the model asked for tools, before any tool runs; it may edit the tool calls."),
    ("after_tool hook", "Runs after the tool results are appended to the messages, before the next step."),
    ("on_exit hook", "Runs when the Agent is about to stop on an exit condition; it can keep the run going."),
    ("after_run hook", "Runs once after the loop ends, also when max_agent_steps was reached."),
    ("continue_run flag", "An on_exit hook sets continue_run to True, with a message, to make the Agent go on."),
    ("stop_run flag", "A hook sets stop_run to a reason; the run ends before the next LLM call with that exit_reason."),
    ("State and handlers", "Hooks mutate the State in place; lists merge by default, replace_values replaces them."),
    ("TokenBudgetHook", "A built-in before_llm hook that stops the run once token_usage reaches a budget."),
    ("CompactionHook", "A built-in before_llm hook that shrinks the messages when the context grows too large."),
    ("ConfirmationHook", "A built-in before_tool hook that asks a human to confirm, edit or reject tool calls."),
]

_STOPWORDS = frozenset(
    {"a", "an", "the", "of", "for", "to", "in", "on", "and", "or", "is", "are", "what", "how", "do", "does"}
    | {"about", "docs", "say"}
)


def _terms(text: str) -> set[str]:
    """Lower-case words without stopwords, with a crude plural strip so 'hooks' matches 'hook'."""
    words = re.findall(r"[a-z_]+", text.lower())
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOPWORDS}


@tool(description="Search the Haystack agent hooks documentation; returns the two best matching entries.")
def search(query: Annotated[str, "What to look for, e.g. on_exit"]) -> str:
    """
    Keyword search over `DOCS`: the top two entries as "Title: text" lines (title matches count double).

    ### Usage example

    ```python
    search.invoke(query="stop_run")  # 'stop_run flag: A hook sets stop_run ...'
    ```
    """
    wanted = _terms(query)
    scored = []
    for position, (title, text) in enumerate(DOCS):
        score = 2 * len(wanted & _terms(title)) + len(wanted & _terms(text))
        if score:
            scored.append((-score, position, f"{title}: {text}"))
    if not scored:
        return f"No documents match '{query}'."
    return "\n".join(line for _, _, line in sorted(scored)[:2])


def demo_tools(notes: NoteStore | None = None) -> list[Tool]:
    """
    The demo tool list: add, multiply, get_weather, save_note, search.

    :param notes: Where `save_note` writes. None (or `DEFAULT_NOTES`) uses the module-level, serializable tool;
        another store gets a bound `save_note` that works the same but makes `Agent.to_dict()` fail.
    :returns: A new list of tools.

    ### Usage example

    ```python
    store = NoteStore()
    tools = demo_tools(store)
    next(t for t in tools if t.name == "save_note").invoke(text="hi")  # 'saved note #1'
    store.notes  # ['hi']
    ```
    """
    note_tool = save_note if notes is None or notes is DEFAULT_NOTES else _note_tool(notes)
    return [add, multiply, get_weather, note_tool, search]
