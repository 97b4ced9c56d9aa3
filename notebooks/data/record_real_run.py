"""
Record the saved real-model runs that `07_real_models` loads (by hand, never in CI).

It needs a local OpenAI-compatible server. The committed runs were recorded against SmolLM2-135M-Instruct (Q4_1) on
llama.cpp's `llama_cpp.server` (`--chat_format chatml-function-calling`) behind a small compatibility proxy, with
`max_tokens=48` and `temperature=0` on a 2-core machine.

Every call sends `tool_choice="auto"` explicitly. haystack's OpenAIChatGenerator sends `tools` but no `tool_choice`,
and llama-cpp-python's `chatml-function-calling` format renders the tool schemas into the prompt only when a
`tool_choice` is given ("auto" or a named function): without it the model never sees the tools (the runs recorded
before 2026-12-07 had 75-137-token prompts for that reason). The second run forces `tool_choice` to a named tool where
`ForcedToolGenerator` says so, a recording aid for a model too small to choose a tool itself.

Usage:
    AGENT_NB_BASE_URL=http://127.0.0.1:8011/v1 python notebooks/data/record_real_run.py
    python notebooks/data/record_real_run.py --refresh-summaries   # no server: today's summaries, nothing re-run

`--refresh-summaries` loads each saved run, recomputes every event's one-line summary with today's code and saves
it back: what was recorded (messages, State snapshots, timings, tokens) stays as it is. tests/test_notebooks_current.py
fails while a saved run's summaries are not today's.
"""

import os
import sys
import time
from pathlib import Path
from typing import Any

from haystack import component
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import ChatMessage
from haystack.utils import Secret

from agent_nb import Recorder, demo_agent

HERE = Path(__file__).resolve().parent
TASK = "What is the weather in Paris?"
CONTEXT = {"today": "2026-11-22"}
SETTINGS: dict[str, Any] = {"max_tokens": 48, "temperature": 0.0, "tool_choice": "auto"}


def _forced_tool(messages: list[ChatMessage]) -> str | None:
    """The tool to force: get_weather on the user's turn, save_note right after RequireToolHook's reminder."""
    last = messages[-1] if messages else None
    if last is None:
        return None
    if last.role.value == "user":
        return "get_weather"
    if last.role.value == "system" and (last.text or "").startswith("You must call `save_note`"):
        return "save_note"
    return None


@component
class ForcedToolGenerator(OpenAIChatGenerator):
    """OpenAIChatGenerator that forces `tool_choice` where `_forced_tool` says so (a recording aid for a tiny model)."""

    def _kwargs(self, messages: list[ChatMessage], generation_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        kwargs = dict(generation_kwargs or {})
        if name := _forced_tool(messages):
            kwargs["tool_choice"] = {"type": "function", "function": {"name": name}}
        return kwargs

    @component.output_types(replies=list[ChatMessage])
    def run(self, messages, streaming_callback=None, generation_kwargs=None, *, tools=None, tools_strict=None):
        return OpenAIChatGenerator.run(  # super() fails: @component rebuilds the class
            self,
            messages,
            streaming_callback=streaming_callback,
            generation_kwargs=self._kwargs(messages, generation_kwargs),
            tools=tools,
            tools_strict=tools_strict,
        )

    @component.output_types(replies=list[ChatMessage])
    async def run_async(
        self, messages, streaming_callback=None, generation_kwargs=None, *, tools=None, tools_strict=None
    ):  # haystack requires run and run_async to have the same parameters
        return await OpenAIChatGenerator.run_async(
            self,
            messages,
            streaming_callback=streaming_callback,
            generation_kwargs=self._kwargs(messages, generation_kwargs),
            tools=tools,
            tools_strict=tools_strict,
        )


def generator(cls: type = OpenAIChatGenerator) -> OpenAIChatGenerator:
    """A generator for the server at AGENT_NB_BASE_URL."""
    return cls(
        api_base_url=os.environ["AGENT_NB_BASE_URL"],
        model=os.environ.get("AGENT_NB_MODEL", "smollm2"),
        api_key=Secret.from_token("none"),
        timeout=600,
        generation_kwargs=dict(SETTINGS),
    )


def refresh_summaries() -> None:
    """Save each committed run again with the summaries today's recorder writes (the recording itself unchanged)."""
    from agent_nb import Run
    from agent_nb.recording.summary import summarize

    for path in sorted(HERE.glob("real_*.json.gz")):
        run = Run.load(str(path))
        stale = [e.seq for e in run.events if e.summary != summarize(e)]
        for event in run.events:
            event.summary = summarize(event)
        run.save(str(path))
        print(f"{path.name}: {len(stale)} summaries refreshed {stale}")


def main() -> int:
    if sys.argv[1:] == ["--refresh-summaries"]:
        refresh_summaries()
        return 0
    for name, cls in [("real_smollm2_run", OpenAIChatGenerator), ("real_smollm2_forced_run", ForcedToolGenerator)]:
        if len(sys.argv) > 1 and name not in sys.argv[1:]:
            continue
        started = time.perf_counter()
        run = Recorder(demo_agent(chat_generator=generator(cls))).run(TASK, hook_context=CONTEXT)
        path = run.save(str(HERE / f"{name}.json.gz"))
        print(f"{path}: {run.describe()} in {time.perf_counter() - started:.0f} s")
        print("   answer:", run.final_answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
