"""The one base class of agent_nb's own errors.

Every error agent_nb raises about its own input (a bad edit, a replay that diverged, a corrupt run file)
derives from `AgentNbError`, so `except AgentNbError` catches exactly ours and never the Agent's.

Usage:
    >>> issubclass(AgentNbError, Exception)
    True
"""


class AgentNbError(Exception):
    """Base of agent_nb's errors about a user's input: `InvalidEdit`, `InvalidOption`, `ReplayDivergence`,
    `RunFileError`, `DatasetError`, `HookCaseError`, `TestExportError`, `CliError`."""


class RunInterrupted(BaseException):
    """Control flow, not an error: stops a run from inside a tool call (haystack turns any `Exception` a tool
    raises into an error result and goes on). The tool row it stopped is marked `detail["interrupted"]`, so
    a replay never serves it as a recorded result. `ReplayAborted` is one."""


class RunAborted(RunInterrupted):
    """A live run ended by hand (`live.abort()`) at an event boundary: the partial run is kept, with status
    `aborted`."""
