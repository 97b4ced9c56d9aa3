"""Run.search / matching_seqs: the rows whose content holds a text, whatever part of the event holds it."""

from __future__ import annotations

import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage

from agent_nb import Recorder, demo_agent
from agent_nb.recording.search import matching_seqs
from scenarios import TOOLS, respond

PROMPT = "What is 2 + 3, and the weather in Paris?"


@pytest.fixture(scope="module")
def demo_run():
    return Recorder(demo_agent()).run(PROMPT)


def names(frame) -> list[str]:
    return frame["name"].tolist()


def test_a_word_past_the_summary_cut_is_found(demo_run) -> None:
    # "The user prefers Celsius." is past the memory hook's 60-character summary (the review found 0 rows).
    found = demo_run.search("Celsius")
    assert "MemoryRetrievalHook" in names(found)
    assert found.equals(demo_run.search("cElSiUs")), "case-insensitive"


def test_tool_arguments_and_results_are_searched(demo_run) -> None:
    assert "get_weather" in names(demo_run.search("cloudy"))  # a result
    assert "save_note" in names(demo_run.search("text=")) or "save_note" in names(demo_run.search("2 + 3 = 5; paris"))


def test_rows_are_timeline_rows_in_order_and_nothing_found_is_empty(demo_run) -> None:
    found = demo_run.search("paris")
    assert list(found.columns) == list(demo_run.timeline.columns)
    assert found["seq"].tolist() == sorted(found["seq"].tolist())
    assert demo_run.search("no such words anywhere").empty
    assert len(demo_run.search("")) == len(demo_run.events)


def test_matching_seqs_is_what_search_returns(demo_run) -> None:
    assert matching_seqs(demo_run, "cloudy") == demo_run.search("cloudy")["seq"].tolist()


def test_a_non_text_query_is_refused(demo_run) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        matching_seqs(demo_run, 3)


class SetScore:
    def run(self, state: State) -> None:
        state.set("score", 4217)


class Fails:
    def run(self, state: State) -> None:
        raise RuntimeError("the quota of Zanzibar is exhausted")


def test_state_values_a_hook_set_and_errors_are_searched() -> None:
    agent = Agent(
        chat_generator=MockChatGenerator(response_fn=respond),
        tools=list(TOOLS),
        hooks={"before_llm": [SetScore()], "on_exit": [Fails()]},
        state_schema={"score": {"type": int}},
    )
    rec = Recorder(agent)
    with pytest.raises(RuntimeError, match="Zanzibar"):
        rec.run("hello")
    run = rec.last_run
    assert names(run.search("4217")) == ["SetScore"]
    assert names(run.search("zanzibar")) == ["Fails"]


def test_a_reply_is_found_at_its_llm_row_not_at_every_later_one() -> None:
    agent = Agent(chat_generator=MockChatGenerator(response_fn=lambda m, t=None: ChatMessage.from_assistant("Quokka")))
    run = Recorder(agent).run("hello")
    assert run.search("quokka")["kind"].tolist() == ["llm"]
