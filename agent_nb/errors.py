"""The one base class of agent_nb's own errors.

Every error agent_nb raises about its own input (a bad edit, a replay that diverged, a corrupt run file)
derives from `AgentNbError`, so `except AgentNbError` catches exactly ours and never the Agent's.

Usage:
    >>> issubclass(AgentNbError, Exception)
    True
"""


class AgentNbError(Exception):
    """Base of agent_nb's errors about a user's input: `InvalidEdit`, `InvalidOption`, `ReplayDivergence`,
    `RunFileError`, `DatasetError`, `HookCaseError`, `TestExportError`, `CliError`, and the plain mistakes below."""


# A plain mistake is still the builtin error it always was, so callers catching that keep working.
class InvalidArgument(AgentNbError, ValueError):
    """A value agent_nb cannot use (an unknown mode, an id it cannot save), or a run it cannot use so (still
    running, loaded without a Recorder)."""


class InvalidType(AgentNbError, TypeError):
    """An argument of the wrong type (a dict where a Run is needed)."""


class UnknownName(AgentNbError, KeyError):
    """A name agent_nb does not have: a run id, a hook, a hook point.

    Usage:
        >>> print(UnknownName("no hook 'x' at before_llm"))  # a sentence, not quoted as a KeyError's key is
        no hook 'x' at before_llm
    """

    def __str__(self) -> str:
        return Exception.__str__(self)


class OutOfRange(AgentNbError, IndexError):
    """An event or step number the run does not have."""


class InvalidState(AgentNbError, RuntimeError):
    """A call made at a time it cannot be carried out (a live run that is not paused, `rec.run` with
    breakpoints set)."""


class RunInterrupted(BaseException):
    """Control flow, not an error: stops a run from inside a tool call (haystack turns any `Exception` a tool
    raises into an error result and goes on). The tool row it stopped is marked `detail["interrupted"]`, so
    a replay never serves it as a recorded result. `ReplayAborted` is one."""


class RunAborted(RunInterrupted):
    """A live run ended by hand (`live.abort()`) at an event boundary: the partial run is kept, with status
    `aborted`."""
