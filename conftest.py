"""What the docstring examples of `agent_nb` are given: a Recorder on the demo agent, a recorded run, a fork.

`make test` runs every `Usage:` example as a doctest (`--doctest-modules agent_nb`); examples refer to these
names the way a user's notebook would, and run in a temporary folder so files they write go nowhere.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _agent_nb_doctest_namespace(request, doctest_namespace, tmp_path):
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    from haystack.dataclasses import ChatMessage

    from agent_nb import Recorder, Run, demo_agent
    from agent_nb.recording import RunSpec, as_messages

    rec = Recorder(demo_agent())
    run = rec.run("What is 2 + 3, and the weather in Paris?")
    doctest_namespace.update(
        rec=rec,
        run=run,
        fork=run.fork(step=1, edit={"user_profile": {"name": "Ada"}}),
        Run=Run,
        Recorder=Recorder,
        RunSpec=RunSpec,
        as_messages=as_messages,
        ChatMessage=ChatMessage,
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield
    finally:
        os.chdir(cwd)
