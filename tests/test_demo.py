"""Tests for agent_nb.demo: the scripted model, the demo tools and hooks, and demo_agent(), through a real Agent."""

import asyncio
import copy
import datetime as dt
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage, ChatRole, ToolCall
from haystack.hooks import hook

from agent_nb.demo import (
    LLMJudgeHook,
    MemoryRetrievalHook,
    NoteStore,
    RequireToolHook,
    ScriptedChatGenerator,
    TokenBudgetStop,
    default_hooks,
    demo_agent,
    demo_tools,
    inject_date,
    inject_user_profile,
)
from agent_nb.demo.hooks import IMPROVE_MESSAGE, JUDGE_PROMPT
from agent_nb.demo.tools import add, get_weather, multiply, search

TASK = "What is 2 + 3, and the weather in Paris?"


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage.from_user(text)]


def assistants(result: dict) -> list[ChatMessage]:
    return [m for m in result["messages"] if m.is_from(ChatRole.ASSISTANT)]


def calls(message: ChatMessage) -> list[tuple[str, dict]]:
    return [(c.tool_name, c.arguments) for c in message.tool_calls]


def tool_exchange(name: str, arguments: dict, result: str, error: bool = False) -> list[ChatMessage]:
    call = ToolCall(tool_name=name, arguments=arguments, id="c1")
    return [ChatMessage.from_assistant(tool_calls=[call]), ChatMessage.from_tool(result, origin=call, error=error)]


@pytest.fixture
def generator() -> ScriptedChatGenerator:
    return ScriptedChatGenerator()


# --- scenarios through a real Agent --------------------------------------------------------------------------------
def test_parallel_tool_calls_then_text_answer():
    result = demo_agent(hooks=None, notes=NoteStore()).run(user(TASK))

    first, final = assistants(result)
    assert calls(first) == [("add", {"a": 2, "b": 3}), ("get_weather", {"city": "Paris"})]
    assert first.meta["finish_reason"] == "tool_calls"
    assert final.text == "2 + 3 = 5. The weather in Paris is 18°C and cloudy."
    assert final.meta["finish_reason"] == "stop"
    assert result["exit_reason"] == "text"
    assert result["step_count"] == 2


def test_default_hooks_make_the_model_save_a_note_before_finishing():
    notes = NoteStore()
    result = demo_agent(notes=notes).run(user(TASK), hook_context={"today": "2025-01-31"})

    assert result["tool_call_counts"]["save_note"] == 1
    assert notes.notes == ["2 + 3 = 5; Paris: 18°C, cloudy"]
    reminders = [m for m in result["messages"] if m.text == "You must call `save_note` before finishing."]
    assert len(reminders) == 1
    assert result["last_message"].text.endswith("I saved a note (saved note #1).")
    texts = [m.text for m in result["messages"]]
    assert texts.count("Today is 2025-01-31 (Friday).") == 1
    assert "Relevant memories: The user lives in Paris. The user prefers Celsius." in texts


def test_a_note_requested_without_text_is_written_after_the_other_results():
    result = demo_agent(hooks=None, notes=NoteStore()).run(user("Weather in Paris and Tokyo, then save a note"))

    steps = [calls(m) for m in assistants(result)]
    assert steps[0] == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Tokyo"})]
    assert steps[1] == [("save_note", {"text": "Paris: 18°C, cloudy; Tokyo: 24°C, sunny"})]
    assert "The weather in Tokyo is 24°C and sunny." in result["last_message"].text


def test_unknown_city_shows_the_tool_error_in_the_answer():
    result = demo_agent(hooks=None, notes=NoteStore()).run(user("What's the weather in Atlantis?"))

    tool_results = [m.tool_call_result for m in result["messages"] if m.tool_call_result]
    assert len(tool_results) == 1
    assert tool_results[0].error
    assert result["last_message"].text == "I couldn't get the weather in Atlantis: unknown city: Atlantis."


def test_no_tools_offered_gives_a_text_answer_that_names_the_missing_tool(generator):
    reply = generator.run(user(TASK))["replies"][0]
    assert reply.tool_calls == []
    assert reply.text == "I can't add numbers: no add tool. I can't check the weather: no get_weather tool."

    result = demo_agent(hooks=None, tools=[]).run(user(TASK))
    assert result["step_count"] == 1
    assert "no get_weather tool" in result["last_message"].text


def test_token_usage_grows_with_the_conversation_and_the_budget_hooks_stop_the_run():
    from haystack.hooks.budget import TokenBudgetHook

    result = demo_agent(hooks=None, notes=NoteStore()).run(user(TASK + " Then save a note."))
    usages = [m.meta["usage"] for m in assistants(result)]
    prompts = [u["prompt_tokens"] for u in usages]
    assert len(prompts) == 3
    assert prompts == sorted(prompts)
    assert prompts[0] < prompts[1] < prompts[2]
    assert all(u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] for u in usages)
    assert result["token_usage"]["total_tokens"] == sum(u["total_tokens"] for u in usages)

    # A budget the first LLM call uses up: the run stops before the second call.
    base = demo_agent(hooks=None, notes=NoteStore()).run(user(TASK))
    budget = assistants(base)[0].meta["usage"]["total_tokens"]
    stopped = demo_agent(hooks={"before_llm": [TokenBudgetStop(budget)]}, notes=NoteStore()).run(user(TASK))
    assert stopped["exit_reason"] == "token_budget"
    assert len(assistants(stopped)) == 1
    relaxed = demo_agent(hooks={"before_llm": [TokenBudgetStop(budget + 1)]}, notes=NoteStore()).run(user(TASK))
    assert relaxed["exit_reason"] == "text"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning
        builtin = TokenBudgetHook(max_total_tokens=budget)
    stopped = demo_agent(hooks={"before_llm": [builtin]}, notes=NoteStore()).run(user(TASK))
    assert stopped["exit_reason"] == "token_budget_exceeded"


def test_usage_counts_tool_calls_and_results(generator):
    messages = [*user("What is 2 + 3?"), *tool_exchange("add", {"a": 2, "b": 3}, "5")]
    usage = generator.run(messages, tools=demo_tools())["replies"][0].meta["usage"]
    # words: 5 (task) + 1 + 4 (add + '{"a": 2, "b": 3}') + 1 (result) + 3 messages * 4
    assert usage["prompt_tokens"] == 5 + 5 + 1 + 12
    assert usage["completion_tokens"] == 5  # "2 + 3 = 5."


def test_llm_judge_hook_sends_a_short_answer_back_once():
    judge = LLMJudgeHook(min_score=6)
    agent = demo_agent(hooks={"on_exit": [judge]}, notes=NoteStore())
    assert judge.judge is None

    result = agent.run(user("What is 2 + 3?"))

    assert [m.text for m in result["messages"]].count(IMPROVE_MESSAGE) == 1
    assert result["last_message"].text.startswith("2 + 3 = 5. In detail: I used 1 tool call(s) (add)")
    assert judge.judge is not None
    opened = judge.judge
    judge.warm_up()
    assert judge.judge is opened  # idempotent
    agent.close()
    assert judge.closed
    assert judge.judge is None


def test_judge_mode_scores_deterministically(generator):
    def grade(answer: str) -> str:
        prompt = [ChatMessage.from_system(JUDGE_PROMPT), ChatMessage.from_user(f"Task: t\n\nAnswer: {answer}")]
        return generator.run(prompt)["replies"][0].text

    assert grade("2 + 3 = 5.") == "SCORE: 3/10"
    assert grade("one two three four five six seven eight nine ten eleven twelve") == "SCORE: 8/10"
    assert LLMJudgeHook().score("t", "2 + 3 = 5.") == 3


def test_same_input_gives_equal_replies():
    messages = [*user(TASK), *tool_exchange("add", {"a": 2, "b": 3}, "5")]
    first = ScriptedChatGenerator().run(messages, tools=demo_tools())["replies"]
    second = ScriptedChatGenerator().run(list(messages), tools=demo_tools())["replies"]
    assert first == second
    assert calls(first[0]) == [("get_weather", {"city": "Paris"})]

    # Stateless, so one instance serves concurrent callers with the same replies.
    shared = ScriptedChatGenerator()
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda _: shared.run(messages, tools=demo_tools())["replies"], range(8)))
    assert all(r == first for r in replies)

    runs = [demo_agent(notes=NoteStore()).run(user(TASK), hook_context={"today": "2025-01-31"}) for _ in range(2)]
    assert runs[0]["messages"] == runs[1]["messages"]


def test_async_run_gives_the_same_result_as_run():
    kwargs = {"hook_context": {"today": dt.date(2025, 1, 31)}, "user_profile": {"name": "Ada"}}
    sync = demo_agent(notes=NoteStore()).run(user(TASK), **kwargs)
    async_ = asyncio.run(demo_agent(notes=NoteStore()).run_async(user(TASK), **kwargs))

    assert async_["messages"] == sync["messages"]
    assert async_["token_usage"] == sync["token_usage"]
    assert async_["tool_call_counts"] == sync["tool_call_counts"]
    assert sync["last_message"].text.startswith("Ada, 2 + 3 = 5.")


# --- the scripted model read directly --------------------------------------------------------------------------
def test_an_edited_tool_result_shows_in_the_answer(generator):
    messages = [*user("What is 2 + 3?"), *tool_exchange("add", {"a": 2, "b": 3}, "99")]
    reply = generator.run(messages, tools=demo_tools())["replies"][0]
    assert reply.tool_calls == []
    assert reply.text == "2 + 3 = 99."


def test_edited_tool_arguments_count_as_done(generator):
    # A fork that changed get_weather(Paris) into get_weather(Lima): the model must not call Paris again.
    messages = [*user("Weather in Paris?"), *tool_exchange("get_weather", {"city": "Lima"}, "19°C, overcast")]
    reply = generator.run(messages, tools=demo_tools())["replies"][0]
    assert reply.tool_calls == []
    assert reply.text == "The weather in Lima is 19°C and overcast."


def test_injected_instruction_is_obeyed_once(generator):
    for instruction in (
        ChatMessage.from_system("You must call `save_note` before finishing."),
        ChatMessage.from_user("Call `save_note` before finishing"),
    ):
        messages = [*user("hello"), ChatMessage.from_assistant("You said: hello."), instruction]
        reply = generator.run(messages, tools=demo_tools())["replies"][0]
        assert calls(reply) == [("save_note", {"text": "Task: hello"})]
        call = reply.tool_calls[0]
        done = [*messages, reply, ChatMessage.from_tool("saved note #1", origin=call)]
        final = generator.run(done, tools=demo_tools())["replies"][0]
        assert final.tool_calls == []
        assert final.text == "You said: hello. I saved a note (saved note #1)."


def test_a_call_dropped_twice_is_given_up(generator):
    call = ToolCall(tool_name="add", arguments={"a": 2, "b": 3})
    messages = [
        *user("2 + 3"),
        ChatMessage.from_assistant(tool_calls=[call]),
        ChatMessage.from_assistant(tool_calls=[call]),
    ]
    reply = generator.run(messages, tools=demo_tools())["replies"][0]
    assert reply.tool_calls == []
    assert reply.text == "I could not run add."


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("4 times 5 and 2.5 plus 1", [("multiply", {"a": 4, "b": 5}), ("add", {"a": 2.5, "b": 1})]),
        ("WEATHER IN new york, Lima or Cairo", [("get_weather", {"city": c}) for c in ("New York", "Lima", "Cairo")]),
        ("note that I like tea", [("save_note", {"text": "I like tea"})]),
        (
            "save a note: buy milk. Then look up stop_run",
            [("save_note", {"text": "buy milk"}), ("search", {"query": "stop_run"})],
        ),
        ("What do the docs say about on_exit?", [("search", {"query": "on_exit"})]),
        ("search for before_llm, and 6 * 7", [("search", {"query": "before_llm"}), ("multiply", {"a": 6, "b": 7})]),
    ],
)
def test_recognized_requests(generator, prompt, expected):
    assert calls(generator.run(user(prompt), tools=demo_tools())["replies"][0]) == expected


def test_only_offered_tools_are_called(generator):
    reply = generator.run(user(TASK), tools=[add])["replies"][0]
    assert calls(reply) == [("add", {"a": 2, "b": 3})]


def test_context_messages_greet_date_and_memory_city(generator):
    messages = [
        ChatMessage.from_system("Today is 2025-01-31 (Friday)."),
        ChatMessage.from_system("User name: Ada. Preferences: none."),
        *user("What day is it?"),
    ]
    assert generator.run(messages)["replies"][0].text == "Ada, today is 2025-01-31 (Friday)."
    assert generator.run(user("what's today's date"))["replies"][0].text == "I don't know today's date."
    home = [
        ChatMessage.from_system("Relevant memories: The user lives in Paris."),
        *user("What's the weather at home?"),
    ]
    assert calls(generator.run(home, tools=demo_tools())["replies"][0]) == [("get_weather", {"city": "Paris"})]
    assert generator.run(user("Hi"))["replies"][0].text == "You said: Hi."
    # A task that merely starts like an injected message is still the task.
    assert generator.run(user("Today is my birthday"))["replies"][0].text == "You said: Today is my birthday."


def test_summarization_compaction_does_not_make_the_model_loop():
    from haystack.hooks.compaction import CompactionHook, SummarizationCompactor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning
        compaction = CompactionHook(
            SummarizationCompactor(chat_generator=ScriptedChatGenerator()),
            context_window=250,
            compact_at=0.5,
            compact_to=0.3,
        )
    prompt = "What is 2 + 3, and the weather in Paris and Tokyo, and search for on_exit, then save a note"
    result = demo_agent(hooks={"before_llm": [compaction]}, notes=NoteStore()).run(user(prompt))

    summaries = [m for m in result["messages"] if (m.text or "").startswith("<conversation_summary>")]
    assert summaries, "the compactor should have summarized"
    assert '- get_weather({"city": "Tokyo"}) -> 24°C, sunny' in summaries[0].text
    assert result["exit_reason"] == "text"
    assert result["tool_call_counts"] == {"add": 1, "multiply": 0, "get_weather": 2, "save_note": 1, "search": 1}
    assert "The weather in Tokyo is 24°C and sunny." in result["last_message"].text


def test_streaming_emits_text_and_tool_call_chunks(generator):
    chunks = []
    reply = generator.run(user("hi there"), streaming_callback=chunks.append)["replies"][0]
    assert "".join(c.content for c in chunks) == reply.text == "You said: hi there."
    assert chunks[-1].finish_reason == "stop"

    chunks.clear()
    generator.run(user("2 + 3"), tools=demo_tools(), streaming_callback=chunks.append)
    assert [d.tool_name for c in chunks for d in c.tool_calls or []] == ["add"]

    async def collect(chunk):
        chunks.append(chunk)

    chunks.clear()
    asyncio.run(generator.run_async(user("hi"), streaming_callback=collect))
    assert "".join(c.content for c in chunks) == "You said: hi."


def test_latency_is_simulated():
    import time

    started = time.perf_counter()
    ScriptedChatGenerator(latency_s=0.05).run(user("hi"))
    assert time.perf_counter() - started >= 0.05
    with pytest.raises(ValueError, match="latency_s"):
        ScriptedChatGenerator(latency_s=-1)


# --- hooks -----------------------------------------------------------------------------------------------------------
def make_state(messages: list[ChatMessage], **data) -> State:
    schema = {
        "messages": {"type": list[ChatMessage]},
        "user_profile": {"type": dict},
        "hook_context": {"type": dict},
        "tool_call_counts": {"type": dict},
        "token_usage": {"type": dict},
        "continue_run": {"type": bool},
        "stop_run": {"type": str},
    }
    return State(schema=schema, data={"messages": messages, **data})


def test_inject_date_adds_one_message_after_the_system_prompt():
    state = make_state([ChatMessage.from_system("prompt"), *user("hi")], hook_context={"today": "2024-02-29"})
    inject_date.run(state)
    inject_date.run(state)
    texts = [m.text for m in state.data["messages"]]
    assert texts == ["prompt", "Today is 2024-02-29 (Thursday).", "hi"]
    state.data["hook_context"] = {"today": dt.date(2024, 3, 1)}
    inject_date.run(state)
    assert [m.text for m in state.data["messages"]] == ["prompt", "Today is 2024-03-01 (Friday).", "hi"]

    state = make_state(user("hi"))
    inject_date.run(state)
    assert state.data["messages"][0].text == f"Today is {dt.date.today().isoformat()} ({dt.date.today():%A})."


def test_inject_user_profile_updates_in_place():
    state = make_state([ChatMessage.from_system("prompt"), *user("hi")], user_profile={"name": "Ada", "units": "C"})
    inject_user_profile.run(state)
    inject_user_profile.run(state)
    assert [m.text for m in state.data["messages"]][1] == "User name: Ada. Preferences: units=C."
    state.data["user_profile"] = {"name": "Grace"}
    inject_user_profile.run(state)
    assert [m.text for m in state.data["messages"]] == ["prompt", "User name: Grace. Preferences: none.", "hi"]
    state.data["user_profile"] = {}
    inject_user_profile.run(state)
    assert [m.text for m in state.data["messages"]] == ["prompt", "hi"]


def test_memory_retrieval_matches_keywords_in_the_task():
    hook_ = MemoryRetrievalHook({"tea": "The user likes tea.", "paris": "The user lives in Paris."})
    state = make_state([ChatMessage.from_system("prompt"), *user("Weather in PARIS?")])
    hook_.run(state)
    hook_.run(state)
    assert [m.text for m in state.data["messages"]] == [
        "prompt",
        "Relevant memories: The user lives in Paris.",
        "Weather in PARIS?",
    ]
    assert MemoryRetrievalHook().recall("teapot") == []


def test_require_tool_hook_reminds_until_called_then_gives_up():
    hook_ = RequireToolHook("save_note", max_reminders=2)
    state = make_state(user("hi"), tool_call_counts={"save_note": 0}, continue_run=False)
    for _ in range(3):
        state.data["continue_run"] = False
        hook_.run(state)
    reminders = [m for m in state.data["messages"] if m.text == hook_.message]
    assert len(reminders) == 2
    assert state.data["continue_run"] is False  # the third exit was let through

    done = make_state(user("hi"), tool_call_counts={"save_note": 1}, continue_run=False)
    hook_.run(done)
    assert len(done.data["messages"]) == 1
    assert done.data["continue_run"] is False


def test_require_tool_hook_cannot_be_registered_elsewhere():
    with pytest.raises(ValueError, match="on_exit"):
        demo_agent(hooks={"before_llm": [RequireToolHook()]})


def test_token_budget_stop():
    state = make_state(user("hi"), token_usage={"prompt_tokens": 60, "completion_tokens": 39})
    TokenBudgetStop(100).run(state)
    assert state.data.get("stop_run") is None
    state.data["token_usage"] = {"total_tokens": 100}
    TokenBudgetStop(100).run(state)
    assert state.data["stop_run"] == "token_budget"
    with pytest.raises(ValueError):
        TokenBudgetStop(0)


def test_hook_docstrings_start_with_what_they_do():
    for hook_ in (inject_date.function, inject_user_profile.function):
        assert hook_.__doc__.strip().splitlines()[0].endswith(".")
    for cls in (MemoryRetrievalHook, RequireToolHook, TokenBudgetStop, LLMJudgeHook):
        assert cls.__doc__.strip().splitlines()[0].endswith(".")


# --- tools -----------------------------------------------------------------------------------------------------------
def test_demo_tools():
    assert add.invoke(a=2, b=3) == 5
    assert isinstance(add.invoke(a=2.0, b=3.0), int)
    assert add.invoke(a=0.5, b=1) == 1.5
    assert multiply.invoke(a=4, b=5) == 20
    assert get_weather.invoke(city=" paris ") == "18°C, cloudy"
    with pytest.raises(Exception, match="unknown city: Atlantis"):
        get_weather.invoke(city="Atlantis")
    assert search.invoke(query="stop_run").startswith("stop_run flag:")
    assert len(search.invoke(query="hooks").splitlines()) == 2
    assert search.invoke(query="zebra") == "No documents match 'zebra'."


def test_note_store_and_bound_save_note():
    store = NoteStore()
    save = next(t for t in demo_tools(store) if t.name == "save_note")
    assert save.invoke(text="a") == "saved note #1"
    assert save.invoke(text="b") == "saved note #2"
    assert save.invoke(text="a") == "saved note #1"  # same text, same result: re-runs stay reproducible
    assert store.notes == ["a", "b"]
    assert len(store) == 2
    store.clear()
    assert store.notes == []


# --- demo_agent and serialization -------------------------------------------------------------------------------------
def test_demo_agent_options():
    agent = demo_agent()
    assert isinstance(agent, Agent)
    assert isinstance(agent.chat_generator, ScriptedChatGenerator)
    assert [t.name for t in agent.tools] == ["add", "multiply", "get_weather", "save_note", "search"]
    assert set(agent.hooks) == {"before_run", "before_llm", "on_exit"}
    assert agent.max_agent_steps == 12
    assert {"user_profile", "notes"} <= set(agent.state_schema)
    assert demo_agent().hooks["on_exit"][0] is not agent.hooks["on_exit"][0]  # fresh stateful hooks
    assert demo_agent(hooks=None).hooks == {}
    assert demo_agent(latency_s=0.5).chat_generator.latency_s == 0.5
    assert set(default_hooks()) == {"before_run", "before_llm", "on_exit"}

    @hook
    def noop(state: State) -> None:
        pass

    assert demo_agent(hooks={"after_run": [noop]}).hooks == {"after_run": [noop]}
    with pytest.raises(ValueError, match="default"):
        demo_agent(hooks="defaults")
    other = ScriptedChatGenerator(model="other")
    assert demo_agent(other).chat_generator is other


def test_agent_round_trips_through_to_dict(monkeypatch):
    hooks = default_hooks()
    hooks["on_exit"].append(LLMJudgeHook(chat_generator=ScriptedChatGenerator(model="judge"), min_score=4))
    hooks["before_llm"].append(TokenBudgetStop(500))
    data = demo_agent(hooks=hooks).to_dict()
    assert data["init_parameters"]["chat_generator"]["init_parameters"] == {"latency_s": 0.0, "model": "scripted-1"}

    monkeypatch.setenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", "agent_nb.*")
    agent = Agent.from_dict(copy.deepcopy(data))  # from_dict rewrites its argument in place
    assert agent.to_dict() == data
    result = agent.run(user("What is 2 + 3?"), hook_context={"today": "2025-01-31"})
    assert result["tool_call_counts"]["save_note"] == 1


def test_confirmation_modify_note_is_context_not_a_task() -> None:
    """ConfirmationHook's "parameters were updated" note is not the user's request."""
    note = "The parameters for tool 'add' were updated by the user to: {'a': 10, 'b': 1}"
    messages = [ChatMessage.from_user("What is 2 + 3?"), ChatMessage.from_user(note)]
    reply = ScriptedChatGenerator().run(messages, tools=demo_tools())["replies"][0]
    assert [tc.tool_name for tc in reply.tool_calls] == ["add"]


def test_after_a_sliding_window_the_model_answers_instead_of_redoing_lost_calls() -> None:
    """Results dropped by a sliding window are not fetched again (which would loop): the answer says so."""
    note = "[4 earlier messages were removed from this conversation to free up context and cannot be recovered.]"
    messages = [ChatMessage.from_user("What is 2 + 3?"), ChatMessage.from_user(note)]
    reply = ScriptedChatGenerator().run(messages, tools=demo_tools())["replies"][0]
    assert reply.tool_calls == []
    assert reply.text.startswith("Some earlier results were removed") and "You said" not in reply.text


# --- The notebook exercises: the checkers accept the reference solutions and reject the classic mistakes ----------


@pytest.fixture(scope="module")
def exercises():
    """`notebooks/solutions` (checkers and reference solutions), imported as the notebooks import it."""
    import importlib
    import sys
    from pathlib import Path

    notebooks = str(Path(__file__).resolve().parents[1] / "notebooks")
    sys.path.insert(0, notebooks)
    try:
        checks = importlib.import_module("solutions.checks")
        nb02 = importlib.import_module("solutions.nb02")
        nb06 = importlib.import_module("solutions.nb06")
    finally:
        sys.path.remove(notebooks)
    return checks, nb02, nb06


def test_exercise_checkers_accept_the_reference_solutions(exercises, capsys):
    checks, nb02, nb06 = exercises
    checks.check_context_hook(nb02.inject_city)
    checks.check_require_tool(nb02.require_save_note)
    checks.check_guardrail(nb02.block_search)
    asyncio.run(checks.check_non_blocking_hook(nb06.SlowLookup()))
    assert capsys.readouterr().out.count("OK: ") == 4


def test_exercise_checkers_reject_the_classic_mistakes(exercises):
    from haystack.components.agents.state.state import replace_values

    checks, nb02, _ = exercises

    @hook
    def appends_whole_list(state: State) -> None:  # state.set appends: the conversation is doubled
        messages = state.get("messages")
        if not any(m.text == checks.CITY_NOTE for m in messages):
            messages.insert(1, ChatMessage.from_system(checks.CITY_NOTE))
            state.set("messages", messages)

    @hook
    def no_loop_guard(state: State) -> None:  # a model that never complies loops to max_agent_steps
        if not (state.data.get("tool_call_counts") or {}).get("save_note"):
            state.set("messages", [ChatMessage.from_system(nb02.REMINDER)])
            state.set("continue_run", True)

    @hook
    def silent_drop(state: State) -> None:  # the model is not told, and asks again
        last = state.data["messages"][-1]
        kept = [c for c in last.tool_calls if c.tool_name != "search"]
        if len(kept) < len(last.tool_calls):
            new = [*state.data["messages"][:-1], ChatMessage.from_assistant(last.text, tool_calls=kept)]
            state.set("messages", new, handler_override=replace_values)

    @hook
    def blocks_the_loop(state: State) -> None:  # a sync @hook runs on the event loop in async runs
        import time

        time.sleep(0.2)

    with pytest.raises(AssertionError, match="APPENDS"):
        checks.check_context_hook(appends_whole_list)
    with pytest.raises(AssertionError, match="loop guard"):
        checks.check_require_tool(no_loop_guard)
    with pytest.raises(AssertionError, match="asks again"):
        checks.check_guardrail(silent_drop)
    with pytest.raises(AssertionError, match="event loop was blocked"):
        asyncio.run(checks.check_non_blocking_hook(blocks_the_loop))
