"""pytest plugin: replay saved agent runs as tests, with record modes in the style of pytest-recording / VCR.

Registered as the `agent_nb` pytest11 entry point, so it is loaded in every pytest run where agent_nb is
installed; it imports nothing heavy and does nothing until a test asks for the `agent_replay` fixture.

    def test_adds(agent_replay):
        run = agent_replay(build_agent, "What is 2 + 3?", hook_context={"today": "2025-01-31"})
        assert "5" in run.final_answer

The fixture replays the run file (default `recordings/<test module>/<test name>.json` beside the test module)
on the Agent the test builds: LLM replies come from the file (`on_miss="error"`: no live model call), tool
results too (`tools="cached"`: no side effects). The test fails when the replay diverges from the recording,
with a message that says what changed in the Agent definition since the recording (its fingerprint), then the
first divergence (step, hook or call, what differed). Files are the saved-run JSON, reviewed like code.

`--agent-nb-record-mode` (or the ini option `agent_nb_record_mode`):
- `none` (default, for CI): replay only; a missing file fails the test and says how to record it;
- `once`: record when the file is missing (the live model runs), replay otherwise;
- `rewrite`: record again, overwriting the file.

Usage:
    >>> RECORD_MODES
    ('none', 'once', 'rewrite')
    >>> recording_path("tests/test_agent.py", "test_adds[paris]").as_posix()
    'tests/recordings/test_agent/test_adds-paris.json'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported when the fixture is used: loading the plugin must stay cheap
    from agent_nb.recording import Recorder, Run

RECORD_MODES: tuple[str, ...] = ("none", "once", "rewrite")
_OPTION = "--agent-nb-record-mode"
_INI = "agent_nb_record_mode"
_WRITTEN = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """pytest hook: `--agent-nb-record-mode` and the ini option `agent_nb_record_mode`."""
    group = parser.getgroup("agent_nb", "agent_nb: replay saved agent runs as tests")
    group.addoption(
        _OPTION,
        action="store",
        default=None,
        choices=RECORD_MODES,
        help="none: replay saved runs only (default); once: record a run when its file is missing; "
        "rewrite: record every run again",
    )
    parser.addini(_INI, "agent_nb record mode when the command line gives none: none, once or rewrite", default="none")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """pytest hook: list the run files this session recorded (nothing when it recorded none)."""
    written = config.stash.get(_WRITTEN, [])
    if written:
        terminalreporter.write_sep("-", f"agent_nb: recorded {len(written)} run file(s)")
        for path in written:
            terminalreporter.write_line(path)


def recording_path(test_file: str | os.PathLike[str], test_name: str) -> Path:
    """The default run file of a test: `recordings/<module>/<test name>.json` beside the test module.

    Usage:
        >>> recording_path("t/test_x.py", "test_y").as_posix()
        't/recordings/test_x/test_y.json'
    """
    module = Path(test_file)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-") or "run"
    return module.parent / "recordings" / module.stem / f"{safe}.json"


def record_mode(config: pytest.Config) -> str:
    """The record mode of this pytest run: the command-line option, else the ini option, else `none`.

    Usage:
        >>> class Config:  # what pytest gives: no command-line option, an ini value
        ...     def getoption(self, name): return None
        ...     def getini(self, name): return "once"
        >>> record_mode(Config())
        'once'
    """
    mode = config.getoption(_OPTION) or config.getini(_INI) or "none"
    if mode not in RECORD_MODES:
        raise pytest.UsageError(f"{_INI} must be one of {', '.join(RECORD_MODES)}, got {mode!r}")
    return str(mode)


def _where(row: dict[str, Any]) -> str:
    kind, point, name, step = row.get("kind"), row.get("hook_point"), row.get("name"), row.get("step")
    at = f"step {step}, " if step is not None and step == step else ""
    if kind == "hook":
        return f"{at}{point} hook {name}"
    if kind == "llm":
        return f"{at}LLM call ({name})"
    return f"{at}tool {name}"


def divergence_message(
    path: str | os.PathLike[str],
    recorded: Run,
    replayed: Run | None,
    *,
    changes: list[str],
    error: BaseException | None = None,
    nodeid: str = "",
) -> str:
    """The failure text: what changed in the Agent since the recording, then the first divergence, then the error.

    Usage:
        >>> from agent_nb.recording import Run
        >>> print(divergence_message("r.json", Run(run_id="a"), None, changes=["tool add: schema changed"]))
        agent_nb: the replay of r.json diverged from the recorded run a.
        Changed in the Agent since the recording:
          tool add: schema changed
        If the new behaviour is right, record the run again: pytest --agent-nb-record-mode=rewrite
    """
    from agent_nb.replay import compare

    lines = [f"agent_nb: the replay of {os.fspath(path)} diverged from the recorded run {recorded.run_id}."]
    if changes:
        lines.append("Changed in the Agent since the recording:")
        lines += [f"  {line}" for line in changes]
    if replayed is not None:
        first = compare(recorded, replayed).attrs.get("first_divergence")
        if first:
            lines.append(f"First divergence: {_where(first)}: {first['reason']}")
    if error is not None:
        lines.append(f"The replay stopped: {type(error).__name__}: {error}")
    lines.append(f"If the new behaviour is right, record the run again: pytest {_OPTION}=rewrite {nodeid}".rstrip())
    return "\n".join(lines)


class AgentReplay:
    """What the `agent_replay` fixture gives a test: call it to replay (or record) one agent run.

    Usage:
        >>> AgentReplay(mode="none", test_file="tests/test_a.py", test_name="test_b").mode
        'none'
    """

    def __init__(
        self,
        *,
        mode: str = "none",
        test_file: str | os.PathLike[str] = "test.py",
        test_name: str = "test",
        nodeid: str = "",
        written: list[str] | None = None,
    ) -> None:
        if mode not in RECORD_MODES:
            from agent_nb.errors import InvalidArgument

            raise InvalidArgument(f"record mode must be one of {', '.join(RECORD_MODES)}, got {mode!r}")
        self.mode = mode
        self.test_file = Path(test_file)
        self.test_name = test_name
        self.nodeid = nodeid
        self.written = written if written is not None else []
        self.recorded: Run | None = None
        self.replayed: Run | None = None

    def path(self, path: str | os.PathLike[str] | None = None) -> Path:
        """The run file: `path` (relative to the test module's directory), or the test's default one.

        Usage:
            >>> replay = AgentReplay(test_file="tests/test_a.py", test_name="test_b")
            >>> replay.path().as_posix(), replay.path("b.run.json").as_posix()
            ('tests/recordings/test_a/test_b.json', 'tests/b.run.json')
        """
        if path is None:
            return recording_path(self.test_file, self.test_name)
        given = Path(path)
        return given if given.is_absolute() else self.test_file.parent / given

    def __call__(
        self,
        agent: Any,
        messages: Any = None,
        *,
        path: str | os.PathLike[str] | None = None,
        strict: bool = True,
        snapshots: str = "fast",
        **agent_kwargs: Any,
    ) -> Run:
        """Replay the run file on `agent` (an Agent, or a function that builds one); record it if the mode says so.

        `messages` (a prompt str or ChatMessages) and `agent_kwargs` (`Agent.run` arguments) are what a recording
        runs with; a replay checks that they match the file. `strict=False` passes as long as the replay
        finishes with no divergence in LLM inputs or tool calls; `strict=True` (default) also fails when any
        event differs from the recording (per `compare`). Returns the replayed (or recorded) Run.

        Usage:
            >>> from agent_nb.demo import demo_agent
            >>> replay = AgentReplay(mode="none", test_file="tests/test_a.py", test_name="test_b")
            >>> try:
            ...     replay(demo_agent, "What is 2 + 3?")
            ... except pytest.fail.Exception as exc:
            ...     print(*str(exc).split("; "), sep="\\n")
            agent_nb: no recorded run at tests/recordings/test_a/test_b.json
            record it with: pytest --agent-nb-record-mode=once
        """
        file = self.path(path)
        build = agent if callable(agent) and not hasattr(agent, "run") else (lambda: agent)
        record = self.mode == "rewrite" or (self.mode == "once" and not file.exists())
        if record:
            return self._record(build, messages, file, snapshots, agent_kwargs)
        if not file.exists():
            pytest.fail(
                f"agent_nb: no recorded run at {file}; record it with: pytest {_OPTION}=once {self.nodeid}".rstrip(),
                pytrace=False,
            )
        return self._replay(build, messages, file, strict, agent_kwargs)

    # ---- recording -----------------------------------------------------------------------------------------
    def _record(
        self, build: Callable[[], Any], messages: Any, file: Path, snapshots: str, kwargs: dict[str, Any]
    ) -> Run:
        from agent_nb.recording import Recorder

        if messages is None and file.exists():  # rewrite a run whose prompt lives only in its file
            from agent_nb.replay.resume import agent_kwargs_of

            previous = self._load(file)
            messages = list(previous.inputs.get("messages") or [])
            kwargs = agent_kwargs_of(previous, kwargs)  # values the file could not keep are left out, with a warning
        if messages is None:
            pytest.fail(
                f"agent_nb: pass the prompt to record {file}: agent_replay(agent, 'prompt', ...)", pytrace=False
            )
        rec = Recorder(self._agent(build), snapshots=snapshots)
        run = rec.run(messages, **kwargs)
        file.parent.mkdir(parents=True, exist_ok=True)
        run.save(str(file))
        self.written.append(str(file))
        self.recorded = run
        return run

    # ---- replaying -----------------------------------------------------------------------------------------
    @staticmethod
    def _load(file: Path) -> Run:
        from agent_nb.recording import Run
        from agent_nb.replay import RunFileError

        try:
            return Run.load(str(file))
        except RunFileError as exc:
            pytest.fail(f"agent_nb: cannot load the recorded run: {exc}", pytrace=False)

    @staticmethod
    def _agent(build: Callable[[], Any]) -> Any:
        from haystack.components.agents import Agent

        agent = build()
        if not isinstance(agent, Agent):
            from agent_nb.errors import InvalidType

            raise InvalidType(f"agent_replay needs a haystack Agent or a function that builds one, got {type(agent)}")
        return agent

    def _check_inputs(self, recorded: Run, messages: Any, file: Path) -> None:
        if messages is None:
            return
        from agent_nb.recording import as_messages

        now = [m.to_dict() for m in as_messages(messages)]
        then = [m.to_dict() for m in (recorded.inputs.get("messages") or [])]
        if now != then:
            pytest.fail(
                f"agent_nb: the test's messages differ from those recorded in {file}; if the test changed on purpose, "
                f"record the run again: pytest {_OPTION}=rewrite {self.nodeid}".rstrip(),
                pytrace=False,
            )

    def _replay(self, build: Callable[[], Any], messages: Any, file: Path, strict: bool, kwargs: dict[str, Any]) -> Run:
        from agent_nb.recording import Recorder
        from agent_nb.recording.fingerprint import agent_fingerprint, fingerprint_changes
        from agent_nb.replay import ReplayDivergence, compare

        recorded = self._load(file)
        self.recorded = recorded
        self._check_inputs(recorded, messages, file)
        rec: Recorder = Recorder(self._agent(build))
        try:
            replayed = rec.replay(recorded, tools="cached", on_miss="error", agent_kwargs=kwargs or None)
        except Exception as exc:  # a divergence, or a hook / tool that raises now
            partial = exc.run if isinstance(exc, ReplayDivergence) else rec.last_run
            self._fail(file, recorded, partial, rec, exc, agent_fingerprint, fingerprint_changes)
        self.replayed = replayed
        if strict and compare(recorded, replayed).attrs.get("first_divergence"):
            self._fail(file, recorded, replayed, rec, None, agent_fingerprint, fingerprint_changes)
        return replayed

    def _fail(
        self,
        file: Path,
        recorded: Run,
        replayed: Run | None,
        rec: Recorder,
        error: BaseException | None,
        agent_fingerprint: Callable[..., dict[str, Any]],
        fingerprint_changes: Callable[..., list[str]],
    ) -> None:
        now = getattr(replayed, "fingerprint", None) or agent_fingerprint(rec.agent, rec.hook_slots)
        changes = fingerprint_changes(getattr(recorded, "fingerprint", None), now)
        text = divergence_message(file, recorded, replayed, changes=changes, error=error, nodeid=self.nodeid)
        pytest.fail(text, pytrace=False)


@pytest.fixture
def agent_replay(request: pytest.FixtureRequest) -> AgentReplay:
    """Replay a saved agent run as a test (see the module docstring); record it per `--agent-nb-record-mode`.

    Usage (in a test module):

        def test_adds(agent_replay):
            run = agent_replay(build_agent, "What is 2 + 3?", hook_context={"today": "2025-01-31"})
    """
    config = request.config
    written = config.stash.setdefault(_WRITTEN, [])
    return AgentReplay(
        mode=record_mode(config),
        test_file=request.node.path,
        test_name=request.node.name,
        nodeid=request.node.nodeid,
        written=written,
    )
