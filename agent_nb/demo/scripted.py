"""
`ScriptedChatGenerator`: a deterministic, offline, tool-aware Haystack chat generator.

It reads the conversation like a small rule-based model: it finds the task (the last user message that is not a
hook's instruction), works out which tool calls the task needs, calls the still-missing ones, and answers in text
from the tool results it finds in the conversation. Its reply is a pure function of the messages and the names of
the offered tools, so replays and forks behave exactly like a cached real model, and edits to the conversation show
in the answer.

### Usage example

```python
from haystack.dataclasses import ChatMessage
from agent_nb.demo import ScriptedChatGenerator, demo_tools

generator = ScriptedChatGenerator()
reply = generator.run([ChatMessage.from_user("What is 2 + 3?")], tools=demo_tools())["replies"][0]
reply.tool_calls  # [ToolCall(tool_name='add', arguments={'a': 2, 'b': 3}, ...)]
```
"""

import asyncio
import inspect
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from haystack import component, default_from_dict, default_to_dict
from haystack.dataclasses import (
    ChatMessage,
    ChatRole,
    ComponentInfo,
    StreamingCallbackT,
    StreamingChunk,
    TextContent,
    ToolCall,
    ToolCallDelta,
    ToolCallResult,
    select_streaming_callback,
)
from haystack.tools import Tool, ToolsType, flatten_tools_or_toolsets

from agent_nb.demo.tools import WEATHER

# A system message containing this, as the FIRST message, switches the model to judge mode.
JUDGE_MARKER = "You are a judge"

# --- Instructions hooks inject (never mistaken for the task) -----------------------------------------------------
_REQUIRE_CUE = re.compile(r"before\s+(?:finishing|you\s+finish)|must\s+call", re.I)
_BACKTICKED = re.compile(r"`([A-Za-z_][\w\-]*)`")
_IMPROVE = re.compile(r"improve\s+your\s+answer|your\s+answer\s+was\s+too\s+short", re.I)
# Context that hooks inject (ours and haystack's built-in ones: the sliding window's omission note and the
# ConfirmationHook's "parameters were updated" note) is never the user's task.
_CONTEXT = re.compile(
    r"^\s*(?:today\s+is\s+\d{4}-\d{2}-\d{2}|user\s+name:|relevant\s+memories:|<conversation_summary>"
    r"|\[\d+\s+earlier\s+messages?\s+(?:was|were)\s+removed|the\s+parameters\s+for\s+tool\s+)",
    re.I,
)
_OMISSION = re.compile(r"^\s*\[\d+\s+earlier\s+messages?\s+(?:was|were)\s+removed", re.I)
_SUMMARIZE = re.compile(r"<conversation_to_summarize>|you\s+are\s+compacting", re.I)
_PROFILE_NAME = re.compile(r"User name:\s*([^.\n]+)")
_TODAY = re.compile(r"Today is (\d{4}-\d{2}-\d{2}(?: \(\w+\))?)")
_SUMMARY_CALL = re.compile(r"^- ([A-Za-z_][\w\-]*)\((\{.*\})\) -> (.*)$", re.M)

# --- Requests recognized in the task ----------------------------------------------------------------------------
_NUM = r"-?\d+(?:\.\d+)?"
_ARITH = re.compile(rf"({_NUM})\s*(\+|\bplus\b|\*|×|\btimes\b|\bmultiplied\s+by\b)\s*({_NUM})", re.I)
_WEATHER = re.compile(r"\bweather\b(?:\s+(?:like\s+)?(?:in|for|at)\b)?", re.I)
_NOTE = re.compile(r"\bsave\s+(?:a\s+|the\s+|this\s+)?note(?:\s*:|\s+(?:that|saying)\b)?|\bnote\s+that\b", re.I)
_SEARCH = re.compile(
    r"\bsearch\s+(?:the\s+docs\s+)?for\b|\blook\s+up\b|\bwhat\s+do(?:es)?\s+the\s+docs?\s+say\s+about\b", re.I
)
_DATE = re.compile(
    r"\bwhat\s+day\s+is\s+it\b|\btoday'?s\s+date\b|\bwhat(?:'s|\s+is)\s+the\s+date\b|\bwhat\s+date\s+is\s+it\b", re.I
)
_SENTENCE_END = re.compile(r"[?!;\n]|\.(?=\s|$)")
_TRAILING_JOINERS = re.compile(r"(?:[\s,]|\band\b|\bthen\b|\balso\b|\bplease\b)+$", re.I)
_CITY_SPLIT = re.compile(r",|\band\b|\bor\b|&", re.I)
_CITY_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# Words that end up in a "weather in ..." clause but are no city.
_NOT_CITY = frozenset(
    {"what", "is", "how", "the", "a", "it", "today", "tomorrow", "now", "there", "here", "home", "me", "my"}
    | {"please", "also", "then", "like", "weather"}
)

_VERB = {
    "add": "add numbers",
    "multiply": "multiply numbers",
    "get_weather": "check the weather",
    "save_note": "save a note",
    "search": "search the docs",
}
_FIRST_WORDS_TO_LOWER = frozenset({"The", "You", "Which", "Today", "Hello!", "Based"})


@dataclass(frozen=True)
class _Need:
    """A tool call the task needs. `args=None` means: build them from the results so far (a summary note)."""

    tool: str
    args: dict[str, Any] | None
    position: float


@dataclass(frozen=True)
class _Result:
    """One answered tool call found in the conversation."""

    call: ToolCall
    text: str
    error: bool


@dataclass(frozen=True)
class _Task:
    """What the task asks for."""

    needs: list[_Need]
    asks_date: bool
    weather_without_city: bool


# --- small helpers -------------------------------------------------------------------------------------------------
def _text(message: ChatMessage) -> str:
    return "\n".join(message.texts)


def _result_text(result: ToolCallResult) -> str:
    if isinstance(result.result, str):
        return result.result
    return "".join(block.text for block in result.result if isinstance(block, TextContent))


def _plain(value: Any) -> Any:
    """Integral floats as ints, so 2.0 and 2 compare (and print) the same."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _key(tool: str, args: dict[str, Any]) -> str:
    return f"{tool}:{json.dumps(_plain(args), sort_keys=True, default=str)}"


def _number(text: str) -> int | float:
    return _plain(float(text))


def _words(text: str) -> int:
    return len(text.split())


def _required_tool(text: str) -> str | None:
    """The tool an injected instruction demands ("You must call `save_note` before finishing."), if any."""
    if _REQUIRE_CUE.search(text) and (match := _BACKTICKED.search(text)):
        return match.group(1)
    return None


def _is_instruction(text: str) -> bool:
    return bool(_required_tool(text) or _IMPROVE.search(text) or _CONTEXT.search(text))


def _cut(region: str) -> str:
    """The clause a request's free text lives in: up to the sentence end, without trailing 'and', 'then', commas."""
    region = _SENTENCE_END.split(region, maxsplit=1)[0]
    return _TRAILING_JOINERS.sub("", region).strip(" :,")


def _known_cities(text: str) -> list[tuple[int, str]]:
    found = []
    for city in WEATHER:
        found.extend((m.start(), city) for m in re.finditer(rf"\b{re.escape(city)}\b", text, re.I))
    return sorted(found)


def _cities_in(region: str) -> list[str]:
    """Cities in 'Paris and Tokyo' / 'Lima, Cairo or Atlantis': known ones by name, others if they look like one."""
    cities = []
    for candidate in _CITY_SPLIT.split(region):
        candidate = re.sub(r"^\s*the\s+", "", candidate, flags=re.I).strip(" .")
        known = [city for _, city in _known_cities(candidate)]
        words = candidate.split()
        if known:
            cities.extend(known)
        elif (
            1 <= len(words) <= 3
            and all(_CITY_WORD.fullmatch(w) for w in words)
            and not any(w.lower() in _NOT_CITY for w in words)
        ):
            cities.append(" ".join(w[:1].upper() + w[1:] for w in words))
    return cities


def _fmt(value: Any) -> str:
    return str(_plain(value))


# --- reading the conversation --------------------------------------------------------------------------------------
def _task_index(messages: list[ChatMessage]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.is_from(ChatRole.USER) and not message.tool_call_results:
            text = _text(message)
            if text.strip() and not _is_instruction(text):
                return index
    return None


def _parse_task(task: str, context: str) -> _Task:
    """Find the requests in the task text, in prompt order. `context` (system messages) supplies a default city."""
    triggers = sorted(
        [(m.start(), m.end(), "arith", m) for m in _ARITH.finditer(task)]
        + [(m.start(), m.end(), "weather", m) for m in _WEATHER.finditer(task)]
        + [(m.start(), m.end(), "note", m) for m in _NOTE.finditer(task)]
        + [(m.start(), m.end(), "search", m) for m in _SEARCH.finditer(task)],
        key=lambda t: t[0],
    )
    needs: list[_Need] = []
    weather_without_city = False
    for i, (start, end, kind, match) in enumerate(triggers):
        region = _cut(task[end : triggers[i + 1][0] if i + 1 < len(triggers) else len(task)])
        if kind == "arith":
            tool = "add" if match.group(2).strip().lower() in ("+", "plus") else "multiply"
            needs.append(_Need(tool, {"a": _number(match.group(1)), "b": _number(match.group(3))}, start))
        elif kind == "weather":
            named = match.group(0).lower() != "weather"  # "weather in/for/at ..." names its cities
            cities = _cities_in(region) if named else []
            cities = cities or [c for _, c in _known_cities(task)] or [c for _, c in _known_cities(context)][:1]
            weather_without_city |= not cities
            needs.extend(_Need("get_weather", {"city": c}, start + n / 100) for n, c in enumerate(cities))
        elif kind == "note":
            needs.append(_Need("save_note", {"text": region} if region else None, start))
        elif kind == "search" and region:
            needs.append(_Need("search", {"query": region}, start))
    unique: dict[str, _Need] = {}
    for need in needs:
        unique.setdefault(_key(need.tool, need.args) if need.args is not None else f"{need.tool}@{need.position}", need)
    return _Task(list(unique.values()), bool(_DATE.search(task)), weather_without_city)


def _answered(messages: list[ChatMessage], start: int) -> list[_Result]:
    """Tool results after `start`, plus calls a compaction summary after `start` reports as done."""
    results = []
    for message in messages[start:]:
        for result in message.tool_call_results:
            results.append(_Result(result.origin, _result_text(result), result.error))
        text = _text(message)
        if text.startswith("<conversation_summary>"):
            for name, args, outcome in _SUMMARY_CALL.findall(text):
                try:
                    call = ToolCall(tool_name=name, arguments=json.loads(args))
                except json.JSONDecodeError:
                    continue
                error = outcome.startswith("error: ")
                results.append(_Result(call, outcome.removeprefix("error: "), error))
    return results


def _requested(messages: list[ChatMessage], start: int) -> list[ToolCall]:
    return [call for message in messages[start:] for call in message.tool_calls]


def _match(needs: list[_Need], results: list[_Result]) -> list[_Need]:
    """
    The needs no result answers yet.

    Exact (name, arguments) matches first; then any unused result of the same tool, so a fork that edited a call's
    arguments (Paris -> Lima) counts as done instead of being called again.
    """
    used: set[int] = set()
    open_needs = []
    for need in needs:
        index = next(
            (
                i
                for i, r in enumerate(results)
                if i not in used
                and need.args is not None
                and _key(r.call.tool_name, r.call.arguments) == _key(need.tool, need.args)
            ),
            None,
        )
        if index is None:
            open_needs.append(need)
        else:
            used.add(index)
    still_open = []
    for need in open_needs:
        index = next((i for i, r in enumerate(results) if i not in used and r.call.tool_name == need.tool), None)
        if index is None:
            still_open.append(need)
        else:
            used.add(index)
    return still_open


def _short(result: _Result) -> str:
    """One result as a fragment of a one-line summary."""
    args = result.call.arguments
    name = result.call.tool_name
    outcome = "error" if result.error else result.text.replace("\n", "; ")
    if name == "add":
        return f"{_fmt(args.get('a'))} + {_fmt(args.get('b'))} = {outcome}"
    if name == "multiply":
        return f"{_fmt(args.get('a'))} * {_fmt(args.get('b'))} = {outcome}"
    if name == "get_weather":
        return f"{args.get('city')}: {outcome}"
    if name == "search":
        return f"searched '{args.get('query')}'"
    return f"{name}: {outcome[:40]}"


def _note_text(task: str, results: list[_Result]) -> str:
    """A one-line summary of the answer so far, used as a note's text."""
    parts = [_short(r) for r in _unique_results(results) if r.call.tool_name != "save_note"]
    if parts:
        return "; ".join(parts)
    line = " ".join(task.split())
    return f"Task: {line[:77]}..." if len(line) > 80 else f"Task: {line}"


def _unique_results(results: list[_Result]) -> list[_Result]:
    """One result per (name, arguments): the latest one, at the place of the first."""
    unique: dict[str, _Result] = {}
    for result in results:
        # Re-assigning a key keeps its position in the dict, so order is by first appearance.
        unique[_key(result.call.tool_name, result.call.arguments)] = result
    return list(unique.values())


def _error_detail(text: str) -> str:
    """Haystack wraps tool errors as '... Error: <message>': keep the message."""
    return text.rsplit("Error: ", 1)[-1].strip()


def _sentence(result: _Result) -> str:
    """One answered call as a sentence of the final answer."""
    args = result.call.arguments
    name = result.call.tool_name
    if result.error:
        detail = _error_detail(result.text)
        if name == "get_weather":
            return f"I couldn't get the weather in {args.get('city')}: {detail}."
        return f"The {name} tool failed: {detail}."
    text = " ".join(line.strip() for line in result.text.strip().splitlines() if line.strip()).rstrip(".")
    if name in ("add", "multiply"):
        return f"{_short(result)}."
    if name == "get_weather":
        text = re.sub(r"^(.*?), (.*)$", r"\1 and \2", text)
        return f"The weather in {args.get('city')} is {text}."
    if name == "save_note":
        return f"I saved a note ({text})."
    if name == "search":
        return f"About '{args.get('query')}', the docs say: {text}."
    return f"{name} returned: {text}."


def _arguments_for(tool: Tool, tool_name: str, summary: str, task: str) -> dict[str, Any] | None:
    """Arguments for a tool an instruction demands: the summary for text fields, the task for a search."""
    if tool_name == "save_note":
        return {"text": summary}
    if tool_name == "search":
        return {"query": task or summary}
    properties = tool.parameters.get("properties", {})
    args: dict[str, Any] = {}
    for name in tool.parameters.get("required", []):
        kind = properties.get(name, {}).get("type")
        defaults = {"string": summary, "number": 0, "integer": 0, "boolean": False}
        if kind not in defaults:
            return None
        args[name] = defaults[kind]
    return args


# --- the three modes -----------------------------------------------------------------------------------------------
def _judge(messages: list[ChatMessage]) -> str:
    """Judge mode: a deterministic grade of the answer under review (short answers score low)."""
    review = next((_text(m) for m in reversed(messages) if m.is_from(ChatRole.USER)), "")
    match = re.search(r"Answer:\s*(.*)", review, re.S | re.I)
    answer = match.group(1) if match else review
    return f"SCORE: {3 if _words(answer) < 12 else 8}/10"


def _summarize(messages: list[ChatMessage]) -> str:
    """
    Summary mode (haystack's SummarizationCompactor).

    Lists each completed tool call as `- name({json args}) -> result`, which the model reads back from the summary,
    so compaction does not make it call the same tools again.
    """
    transcript = "\n".join(_text(m) for m in messages if m.is_from(ChatRole.USER))
    objective = next((line[7:] for line in transcript.splitlines() if line.startswith("[user] ")), "")
    calls: dict[str, str] = {}
    lines = [f"- Objective: {' '.join(objective.split()[:12]) or '(none)'}"]
    for line in transcript.splitlines():
        if call := re.match(r"\[assistant -> tool_call id=(\S+)\] ([\w\-]+)\((.*)\)$", line):
            calls[call.group(1)] = f"{call.group(2)}({call.group(3)})"
        elif (done := re.match(r"\[tool:[\w\-]+ id=(\S+?)( \(error\))?\] (.*)$", line)) and done.group(1) in calls:
            outcome = f"error: {done.group(3)}" if done.group(2) else done.group(3)
            lines.append(f"- {calls[done.group(1)]} -> {outcome}")
    old = re.findall(r"^- .*$", transcript, re.M)  # fold earlier summaries in
    lines.extend(line for line in old if _SUMMARY_CALL.match(line) and line not in lines)
    return "\n".join(lines)


@dataclass(frozen=True)
class _Reading:
    """The conversation as the model reads it."""

    messages: list[ChatMessage]
    start: int  # first message after the task
    task: str
    context: str  # system messages and injected context, for the profile, date and memories
    parsed: _Task
    results: list[_Result]
    offered: dict[str, Tool]


def _read(messages: list[ChatMessage], tools: list[Tool]) -> _Reading:
    task_index = _task_index(messages)
    context = "\n".join(_text(m) for m in messages if m.is_from(ChatRole.SYSTEM) or _CONTEXT.search(_text(m)))
    start = 0 if task_index is None else task_index + 1
    task = "" if task_index is None else _text(messages[task_index])
    return _Reading(
        messages=messages,
        start=start,
        task=task,
        context=context,
        parsed=_parse_task(task, context),
        results=_answered(messages, start),
        offered={tool.name: tool for tool in tools},
    )


def _respond(messages: list[ChatMessage], tools: list[Tool], call_prefix: str) -> tuple[str | None, list[ToolCall]]:
    """Normal mode: the next tool calls, or the final text answer."""
    reading = _read(messages, tools)
    offered = reading.offered
    requested = _requested(messages, reading.start)

    def abandoned(need: _Need) -> bool:
        # Asked twice and still no result (a hook dropped the call): stop asking, so the run cannot loop.
        same = [c for c in requested if c.tool_name == need.tool]
        if need.args is not None:
            same = [c for c in same if _key(c.tool_name, c.arguments) == _key(need.tool, need.args)]
        return len(same) >= 2

    open_needs = _match(reading.parsed.needs, reading.results)
    if any(_OMISSION.search(_text(m)) for m in messages):
        # A sliding window dropped earlier steps: their results are gone. Calling the tools again would only
        # grow the context until it is compacted again (a loop), so answer from what is left and say so.
        lost = [n for n in open_needs if n.tool in offered and n.args is not None]
        if lost:
            return _answer(reading, [], [], lost=True), []
    missing = [n for n in open_needs if n.tool not in offered]
    given_up = [n for n in open_needs if n.tool in offered and abandoned(n)]
    callable_now = [n for n in open_needs if n.tool in offered and not abandoned(n)]
    calls = [n for n in callable_now if n.args is not None]
    if not calls:
        # Notes written from the results, and tools that instructions demand, come after every other call.
        summary = _note_text(reading.task, reading.results)
        calls = [_Need(n.tool, {"text": summary}, n.position) for n in callable_now]
        calls += _instructed(reading, summary, exclude={n.tool for n in calls})
    if calls:
        tool_calls = [
            ToolCall(tool_name=n.tool, arguments=n.args or {}, id=f"{call_prefix}_{i}") for i, n in enumerate(calls)
        ]
        return None, tool_calls
    return _answer(reading, missing, given_up), []


def _instructed(reading: _Reading, summary: str, exclude: set[str]) -> list[_Need]:
    """Calls demanded by injected instructions that no result after the instruction satisfies yet."""
    needs: list[_Need] = []
    for index, message in enumerate(reading.messages):
        tool = _required_tool(_text(message))
        if tool is None or tool in exclude or tool not in reading.offered or any(n.tool == tool for n in needs):
            continue
        if any(r.call.tool_name == tool for r in _answered(reading.messages, index + 1)):
            continue
        tried = [c for c in _requested(reading.messages, index + 1) if c.tool_name == tool]
        args = _arguments_for(reading.offered[tool], tool, summary, reading.task)
        if args is not None and len(tried) < 2:
            needs.append(_Need(tool, args, index))
    return needs


def _answer(reading: _Reading, missing: list[_Need], given_up: list[_Need], *, lost: bool = False) -> str:
    """The final text answer, built from the tool results in the conversation."""
    messages, parsed, results = reading.messages, reading.parsed, reading.results
    parts = []
    if lost:
        parts.append(
            "Some earlier results were removed from the conversation to free up context, so I can't repeat them."
        )
    if parsed.asks_date:
        today = _TODAY.search(reading.context)
        parts.append(f"Today is {today.group(1)}." if today else "I don't know today's date.")
    parts += [_sentence(r) for r in _unique_results(results)]
    if parsed.weather_without_city:
        parts.append("Which city should I check the weather for?")
    for tool in dict.fromkeys(n.tool for n in missing):
        parts.append(f"I can't {_VERB.get(tool, 'do that')}: no {tool} tool.")
    for tool in dict.fromkeys(n.tool for n in given_up):
        parts.append(f"I could not run {tool}.")
    for message in messages:
        tool = _required_tool(_text(message))
        if tool is not None and tool not in reading.offered:
            parts.append(f"I was asked to call `{tool}`, but there is no such tool.")
    parts = list(dict.fromkeys(parts))
    if reading.task and not (parsed.needs or parsed.asks_date or parsed.weather_without_city):
        echo = " ".join(reading.task.split())
        parts.insert(0, f"You said: {echo}" + ("" if echo.endswith((".", "?", "!")) else "."))
    if not parts:
        # No task left: compaction may have folded it into a summary; never start calling tools from there.
        summary = next((_text(m) for m in messages if _text(m).startswith("<conversation_summary>")), "")
        objective = re.search(r"Objective:\s*(.*)", summary)
        parts.append(
            f"Based on the earlier conversation: {objective.group(1)}" if objective else "Hello! How can I help?"
        )
    text = " ".join(parts)
    if not text.endswith((".", "?", "!")):
        text += "."
    improve_sources = messages[reading.start :] + [m for m in messages if m.is_from(ChatRole.SYSTEM)]
    if any(_IMPROVE.search(_text(m)) for m in improve_sources):
        used = sorted({r.call.tool_name for r in results})
        text += (
            f" In detail: I used {len(_unique_results(results))} tool call(s) ({', '.join(used)}) and built this answer"
            " from their results."
            if used
            else " In detail: I answered directly from your message, without calling any tool."
        )
    name = _PROFILE_NAME.search(reading.context)
    if name and name.group(1).strip().lower() not in ("", "unknown"):
        first = text.split(" ", 1)[0]
        text = f"{name.group(1).strip()}, {text[0].lower() + text[1:] if first in _FIRST_WORDS_TO_LOWER else text}"
    return text


def _tokens(message: ChatMessage) -> int:
    """Words of the text, plus tool calls (name + JSON arguments) and tool results."""
    count = _words(_text(message))
    for call in message.tool_calls:
        count += 1 + _words(json.dumps(call.arguments))
    for result in message.tool_call_results:
        count += _words(_result_text(result))
    return count


def _usage(messages: list[ChatMessage], reply: ChatMessage) -> dict[str, int]:
    prompt = sum(_tokens(m) + 4 for m in messages)  # ~4 tokens of per-message framing, as real chat formats have
    completion = _tokens(reply)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@component
class ScriptedChatGenerator:
    """
    A deterministic, offline, tool-aware chat generator for demos and tests.

    The reply is a pure function of the messages and the offered tool names; the component keeps no state between
    calls, so it is thread-safe and replays exactly. It recognizes, case-insensitively and combined in one prompt:
    `A + B`, `A plus B`, `A * B`, `A times B` (tools `add`, `multiply`); "weather in Paris and Tokyo" (`get_weather`,
    one call per city); "save a note ..." / "note that ..." (`save_note`); "search for X" / "look up X" / "what do
    the docs say about X" (`search`); "what day is it" / "today's date". It calls every still-needed tool in one
    assistant message, in prompt order, then answers from the tool results. It obeys injected instructions
    ("You must call `save_note` before finishing."), writes a longer answer after "Improve your answer", greets the
    user named in a "User name: ..." system message, grades answers when the first message is a system message
    containing "You are a judge" ("SCORE: N/10"), and summarizes for haystack's `SummarizationCompactor`.

    `reply.meta["usage"]` counts words of every message (tool calls and results included) plus 4 per message.

    ### Usage example

    ```python
    from haystack.components.agents import Agent
    from haystack.dataclasses import ChatMessage
    from agent_nb.demo import ScriptedChatGenerator, demo_tools

    agent = Agent(chat_generator=ScriptedChatGenerator(), tools=demo_tools())
    result = agent.run([ChatMessage.from_user("What is 2 + 3, and the weather in Paris?")])
    result["last_message"].text  # '2 + 3 = 5. The weather in Paris is 18°C and cloudy.'
    ```
    """

    def __init__(self, latency_s: float = 0.0, model: str = "scripted-1") -> None:
        """
        Create the generator.

        :param latency_s: Seconds to sleep per call, to make demos feel like a real model (0 in tests).
        :param model: The model name reported in `reply.meta["model"]`.
        """
        if latency_s < 0:
            raise ValueError(f"latency_s must be >= 0, got {latency_s}.")
        self.latency_s = latency_s
        self.model = model

    def warm_up(self) -> None:
        """Nothing to load: provided for interface compatibility with real chat generators."""

    def to_dict(self) -> dict[str, Any]:
        """
        Serialize the generator.

        :returns: The init parameters, in haystack's component dict format.
        """
        return default_to_dict(self, latency_s=self.latency_s, model=self.model)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ScriptedChatGenerator":
        """
        Deserialize a generator produced by `to_dict`.

        :param data: The serialized generator.
        :returns: The generator.
        """
        return default_from_dict(cls, data)

    def reply(self, messages: list[ChatMessage] | str, tools: ToolsType | None = None) -> ChatMessage:
        """
        The assistant reply for `messages` with `tools` offered, without latency or streaming.

        :param messages: The conversation (a string is taken as one user message).
        :param tools: The offered tools; only their names (and, for demanded calls, parameters) matter.
        :returns: An assistant message with either tool calls or text, and usage in `meta`.

        ### Usage example

        ```python
        ScriptedChatGenerator().reply("hi").text  # 'You said: hi.'
        ```
        """
        if isinstance(messages, str):
            messages = [ChatMessage.from_user(messages)]
        flat = flatten_tools_or_toolsets(tools) if tools is not None else []
        text: str | None
        tool_calls: list[ToolCall] = []
        first = messages[0] if messages else None
        if first is not None and first.is_from(ChatRole.SYSTEM) and JUDGE_MARKER.lower() in _text(first).lower():
            text = _judge(messages)
        elif any(_SUMMARIZE.search(_text(m)) for m in messages if not m.is_from(ChatRole.ASSISTANT)):
            text = _summarize(messages)
        else:
            text, tool_calls = _respond(messages, flat, call_prefix=f"call_{len(messages)}")
        base = ChatMessage.from_assistant(text=text, tool_calls=tool_calls or None)
        meta = {
            "model": self.model,
            "index": 0,
            "finish_reason": "tool_calls" if tool_calls else "stop",
            "usage": _usage(messages, base),
        }
        return ChatMessage.from_assistant(text=text, tool_calls=tool_calls or None, meta=meta)

    def _chunks(self, reply: ChatMessage) -> list[StreamingChunk]:
        """The reply as streaming chunks: the text word by word, then one chunk per tool call."""
        info = ComponentInfo.from_component(self)
        meta = {"model": self.model}
        words = re.findall(r"\S+\s*", reply.text or "")
        chunks = [
            StreamingChunk(content=word, component_info=info, index=0, start=i == 0, meta=meta)
            for i, word in enumerate(words)
        ]
        for i, call in enumerate(reply.tool_calls, start=1 if words else 0):
            delta = ToolCallDelta(
                index=i, tool_name=call.tool_name, arguments=json.dumps(call.arguments, ensure_ascii=False), id=call.id
            )
            chunks.append(
                StreamingChunk(content="", component_info=info, index=i, start=True, tool_calls=[delta], meta=meta)
            )
        if not chunks:
            chunks.append(StreamingChunk(content="", component_info=info, index=0, meta=meta))
        finish = reply.meta["finish_reason"]
        last = chunks[-1]
        chunks[-1] = StreamingChunk(
            content=last.content,
            component_info=info,
            index=last.index,
            start=last.start,
            tool_calls=last.tool_calls,
            finish_reason=finish,
            meta={**meta, "finish_reason": finish},
        )
        return chunks

    @component.output_types(replies=list[ChatMessage])
    def run(
        self,
        messages: list[ChatMessage],
        generation_kwargs: dict[str, Any] | None = None,
        tools: ToolsType | None = None,
        streaming_callback: StreamingCallbackT | None = None,
    ) -> dict[str, list[ChatMessage]]:
        """
        Reply to the conversation.

        :param messages: The conversation.
        :param generation_kwargs: Accepted for interface compatibility and ignored.
        :param tools: The tools the model may call.
        :param streaming_callback: If given, receives the reply as `StreamingChunk`s before it is returned.
        :returns: `{"replies": [reply]}`.

        ### Usage example

        ```python
        ScriptedChatGenerator().run([ChatMessage.from_user("hi")])["replies"][0].text  # 'You said: hi.'
        ```
        """
        if self.latency_s:
            time.sleep(self.latency_s)
        reply = self.reply(messages, tools)
        callback = select_streaming_callback(
            init_callback=None, runtime_callback=streaming_callback, requires_async=False
        )
        if callback is not None:
            for chunk in self._chunks(reply):
                callback(chunk)
        return {"replies": [reply]}

    @component.output_types(replies=list[ChatMessage])
    async def run_async(
        self,
        messages: list[ChatMessage],
        generation_kwargs: dict[str, Any] | None = None,
        tools: ToolsType | None = None,
        streaming_callback: StreamingCallbackT | None = None,
    ) -> dict[str, list[ChatMessage]]:
        """
        Async version of `run`: same reply; the latency is an `asyncio.sleep`, and async callbacks are awaited.

        :param messages: The conversation.
        :param generation_kwargs: Accepted for interface compatibility and ignored.
        :param tools: The tools the model may call.
        :param streaming_callback: If given (sync or async), receives the reply as `StreamingChunk`s.
        :returns: `{"replies": [reply]}`.

        ### Usage example

        ```python
        await ScriptedChatGenerator().run_async([ChatMessage.from_user("hi")])
        ```
        """
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        reply = self.reply(messages, tools)
        callback = select_streaming_callback(
            init_callback=None, runtime_callback=streaming_callback, requires_async=True
        )
        if callback is not None:
            for chunk in self._chunks(reply):
                outcome = callback(chunk)
                if inspect.isawaitable(outcome):
                    await outcome
        return {"replies": [reply]}
