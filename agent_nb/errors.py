"""The one base class of agent_nb's own errors.

Every error agent_nb raises about its own input (a bad edit, a replay that diverged, a corrupt run file)
derives from `AgentNbError`, so `except AgentNbError` catches exactly ours and never the Agent's.

Usage:
    >>> issubclass(AgentNbError, Exception)
    True
"""


class AgentNbError(Exception):
    """Base of agent_nb's errors (`InvalidEdit`, `ReplayDivergence`, `RunFileError`)."""


__all__ = ["AgentNbError"]
