"""`to_pytest(run, path, agent_factory=...)`: a recorded run as a small test module plus its run file, to commit.

The test module imports the user's agent factory and replays the run file (written beside it) through the
`agent_replay` fixture of agent_nb's pytest plugin: no model is called, and the test fails with the first
divergence when a change to the Agent changes the run.

Usage:
    >>> import tempfile, pathlib
    >>> from agent_nb import Recorder
    >>> from agent_nb.demo import demo_agent
    >>> run = Recorder(demo_agent()).run("What is 2 + 3?", user_profile={"name": "Ada"})
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> test = to_pytest(run, folder / "test_adds.py", agent_factory="agent_nb.demo:demo_agent")
    >>> sorted(p.name for p in folder.iterdir())
    ['test_adds.py', 'test_adds.run.json']
    >>> text = pathlib.Path(test).read_text()
    >>> print(text[text.index("from agent_nb"):])
    from agent_nb.demo import demo_agent
    <BLANKLINE>
    <BLANKLINE>
    def test_adds(agent_replay):
        run = agent_replay(demo_agent, 'What is 2 + 3?', path='test_adds.run.json', user_profile={'name': 'Ada'})
        # Add assertions on the replayed run here, e.g. on run.final_answer or run.timeline.
    <BLANKLINE>
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from haystack.dataclasses import ChatMessage

from agent_nb.errors import AgentNbError, InvalidType
from agent_nb.files import atomic_write
from agent_nb.recording import Run

_FACTORY = re.compile(r"^(?P<module>[A-Za-z_]\w*(\.[A-Za-z_]\w*)*):(?P<name>[A-Za-z_]\w*)$")
#: Agent.run arguments that are live objects: never written into a test.
_LIVE = frozenset({"streaming_callback", "tools"})


class TestExportError(AgentNbError, ValueError):
    """A run cannot be turned into a test as asked (bad factory, file name, a run that failed...).

    Usage:
        >>> try:
        ...     factory_reference("my_agents.build")
        ... except TestExportError as exc:
        ...     print(str(exc)[:47])
        agent_factory must read "module:function" (e.g.
    """

    __test__ = False  # not a pytest test class, whatever its name says


def factory_reference(factory: str | Callable[..., Any]) -> tuple[str, str]:
    """(module, function) of an agent factory given as "module:function" or as an importable function.

    Usage:
        >>> from agent_nb.demo import demo_agent
        >>> factory_reference(demo_agent), factory_reference("pkg.agents:build")
        (('agent_nb.demo.agent', 'demo_agent'), ('pkg.agents', 'build'))
    """
    if isinstance(factory, str):
        match = _FACTORY.match(factory.strip())
        if match is None:
            raise TestExportError(
                f'agent_factory must read "module:function" (e.g. "my_project.agents:build_agent"), got {factory!r}'
            )
        return match["module"], match["name"]
    if callable(factory):
        module, qualname = getattr(factory, "__module__", None), getattr(factory, "__qualname__", "")
        if not module or module == "__main__" or not qualname.isidentifier():
            raise TestExportError(
                f"the agent factory {qualname or factory!r} cannot be imported by a test (defined in {module}); "
                'define it in a module and pass it, or pass "module:function"'
            )
        return module, qualname
    raise TestExportError(f'agent_factory must be "module:function" or a function, got {type(factory).__name__}')


def _literal(value: Any) -> str | None:
    """`repr(value)` when it reads back as an equal Python literal, else None."""
    try:
        text = repr(value)
        return text if ast.literal_eval(text) == value else None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _prompt(run: Run) -> str | None:
    messages = (run.inputs or {}).get("messages") or []
    if run.resumed or len(messages) != 1 or not isinstance(messages[0], ChatMessage):
        return None  # the fixture takes the messages from the run file
    message = messages[0]
    if message.role.value != "user" or message.text is None or len(message.texts) != 1 or message.meta:
        return None
    return message.text


def module_source(run: Run, module: str, function: str, test_name: str, run_file: str) -> str:
    """The text of the generated test module.

    Usage:
        >>> from agent_nb.recording import Run
        >>> "def test_x(agent_replay):" in module_source(Run(run_id="r1"), "pkg", "build", "test_x", "test_x.run.json")
        True
    """
    args = [function]
    prompt = _prompt(run)
    if prompt is not None:
        args.append(repr(prompt))
    args.append(f"path={run_file!r}")
    left_out = []
    for key, value in ((run.inputs or {}).get("kwargs") or {}).items():
        text = _literal(value) if key not in _LIVE and key.isidentifier() else None
        if text is None:
            left_out.append(key)
        else:
            args.append(f"{key}={text}")
    note = ""
    if left_out:
        note = (
            f"    # Agent.run arguments not written here (not plain data): {', '.join(sorted(left_out))}; the replay\n"
            "    # uses the recorded values, or pass them to agent_replay.\n"
        )
    return (
        f'"""Regression test generated by agent_nb from run {run.run_id} (recorded {run.started_at}).\n'
        "\n"
        f"It replays {run_file} on the Agent that {module}:{function}() builds: LLM replies and tool results come\n"
        "from the file, so no model is called. It fails, naming the first divergence, when a change to the Agent\n"
        "(a hook, a tool, the prompt) changes the run. After an intended change, record the run again:\n"
        "\n"
        "    pytest --agent-nb-record-mode=rewrite <this file>\n"
        '"""\n'
        "\n"
        f"from {module} import {function}\n"
        "\n"
        "\n"
        f"def {test_name}(agent_replay):\n"
        f"{note}"
        f"    run = agent_replay({', '.join(args)})\n"
        "    # Add assertions on the replayed run here, e.g. on run.final_answer or run.timeline.\n"
    )


def to_pytest(
    run: Run,
    path: str | os.PathLike[str],
    *,
    agent_factory: str | Callable[..., Any],
    overwrite: bool = False,
) -> str:
    """Write a pytest module at `path` and the run file beside it (`<name>.run.json`); returns the module path.

    `agent_factory` is the function that builds the Agent under test, as "module:function" or the function
    itself (it must be importable by pytest, so not defined in a notebook). The prompt and plain-data
    `Agent.run` arguments are written into the test; the rest stays in the run file. An existing test module is
    kept unless `overwrite=True`.

    Usage:
        >>> try:
        ...     to_pytest(Run(run_id="r"), "notes.py", agent_factory="pkg:build")
        ... except TestExportError as exc:
        ...     print(exc)
        notes.py: pytest collects test_*.py or *_test.py files; name the module e.g. test_notes.py
    """
    if not isinstance(run, Run):
        raise InvalidType(f"to_pytest needs a Run, got {type(run).__name__}")
    target = Path(path)
    if target.suffix != ".py" or not (target.stem.startswith("test_") or target.stem.endswith("_test")):
        raise TestExportError(
            f"{os.fspath(path)}: pytest collects test_*.py or *_test.py files; name the module e.g. "
            f"test_{target.stem.removeprefix('test_') or 'agent'}.py"
        )
    if run.status == "running":
        raise TestExportError(f"run {run.run_id} is still running; turn it into a test once it has ended")
    if run.error is not None or run.status == "error":
        raise TestExportError(f"run {run.run_id} ended with an error ({run.error}): it cannot be replayed as a test")
    module, function = factory_reference(agent_factory)
    if target.exists() and not overwrite:
        raise TestExportError(f"{target} exists; pass overwrite=True to replace it")
    name = re.sub(r"\W", "_", target.stem)
    test_name = name if name.startswith("test") else f"test_{name}"
    run_file = target.with_name(f"{target.stem}.run.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    run.save(str(run_file))
    return atomic_write(target, module_source(run, module, function, test_name, run_file.name))
