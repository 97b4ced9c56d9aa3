"""Property: under any sequence of State changes by hooks, each hook row holds exactly the State its hook left.

Hooks at five points change the State from a menu of what hooks do (scalars that change type, nested dicts and
lists changed in place, numpy arrays, DataFrames, objects without `__eq__`, keys removed, message lists rebuilt),
and a second hook after each one keeps a deep copy of the State as the truth. For every recorded run, sync and
async, fast and deep snapshots:

- the State recorded before each truth-taking hook (what the changing hook left) equals the truth, types included;
- each changing hook's `changed` column names exactly the keys whose value differs between its before and after.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_nb import Recorder
from agent_nb.recording.values import MessageLog
from scenarios import TOOLS, plan_prompt, respond

POINTS = ("before_run", "before_llm", "before_tool", "after_tool", "after_run")
KEYS = ("x", "cfg", "arr", "df", "obj", "tags", "pair")


class Plain:
    """No `__eq__`."""

    def __init__(self) -> None:
        self.n = [0]


def change(data: dict[str, Any], op: int) -> None:
    """One change a hook makes, from a menu of 12."""
    if op == 0:
        data["x"] = [1, 1.0, True, "1", None, np.float64(1.0)][len(data["messages"]) % 6]
    elif op == 1:
        data.setdefault("cfg", {"a": {"b": [1]}})["a"]["b"].append(len(data["messages"]))
    elif op == 2:
        data["cfg"] = {"a": {"b": [1]}}  # equal to what may be there: a new object, no change
    elif op == 3:
        data.setdefault("arr", np.zeros(3))[len(data["messages"]) % 3] += 1
    elif op == 4:
        data.setdefault("df", pd.DataFrame({"v": [0, 0]})).loc[len(data["messages"]) % 2, "v"] += 1
    elif op == 5:
        data.setdefault("obj", Plain()).n.append(1)
    elif op == 6:
        data.pop("x", None)
    elif op == 7 and len(data["messages"]) > 2:
        data["messages"] = [data["messages"][0], *data["messages"][2:]]
    elif op == 8:
        data["messages"] = list(data["messages"])  # the same messages in a new list: no change
    elif op == 9:
        data.setdefault("tags", []).append("t")
    elif op == 10:
        data["pair"] = (1, [len(data["messages"])])
    elif op == 11:
        data.pop("pair", None)


def same(a: Any, b: Any) -> bool:
    a, b = (list(v) if isinstance(v, MessageLog) else v for v in (a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, pd.DataFrame):
        return a.equals(b)
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and bool((a == b).all())
    if isinstance(a, Plain):
        return a.n == b.n
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("snapshots", ["fast", "deep"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.integers(0, 11), max_size=40), plan=st.lists(st.sampled_from(["add", "mul"]), max_size=3))
def test_each_hook_row_holds_the_state_its_hook_left(mode: str, snapshots: str, ops: list[int], plan: list[str]):
    todo, truth = list(ops), []

    class Change:
        def run(self, state: State) -> None:
            for _ in range(todo.pop(0) % 3 if todo else 0):
                change(state.data, todo.pop(0) if todo else 0)

    class Truth:
        def run(self, state: State) -> None:
            truth.append(copy.deepcopy({k: v for k, v in state.data.items() if k not in ("tools", "hook_context")}))

    agent = Agent(
        chat_generator=MockChatGenerator(response_fn=respond),
        tools=list(TOOLS),
        hooks={p: [Change(), Truth()] for p in POINTS},
        state_schema={k: {"type": Any} for k in KEYS},
        max_agent_steps=8,
    )
    rec, prompt = Recorder(agent, snapshots=snapshots), plan_prompt(*plan, "text")
    run = rec.run(prompt) if mode == "sync" else asyncio.run(rec.run_async(prompt))
    assert run.status == "ok", run.error

    rows = [e for e in run.events if e.name == "Truth"]
    assert len(rows) == len(truth)
    for row, expected in zip(rows, truth, strict=True):
        recorded = run.state_at(row.seq, "before")
        assert recorded.keys() == expected.keys(), row.seq
        for key, value in expected.items():
            assert same(recorded[key], value), (row.seq, key, recorded[key], value)
    for row in (e for e in run.events if e.name == "Change"):
        before, after = run.state_at(row.seq, "before"), run.state_at(row.seq, "after")
        differ = {
            k
            for k in before.keys() | after.keys()
            if k not in before or k not in after or not same(before[k], after[k])
        }
        assert set(row.changed) == differ, (row.seq, row.changed, differ)
