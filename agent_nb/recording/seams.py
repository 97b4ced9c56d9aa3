"""The private haystack names agent_nb stands on, declared once, and checked when agent_nb is imported.

haystack gives no public way to watch each hook call and tool call of an Agent, so the Recorder replaces or calls
a few private functions (see `interception`). They are listed here, with the parameters agent_nb passes or
receives and what it does with them. Importing agent_nb resolves every one: a name that is gone, or a function
whose parameters agent_nb cannot call any more, raises `HaystackSeamError` naming the seam, what changed, the
installed haystack-ai and the range agent_nb supports, instead of an AttributeError or TypeError deep inside a
recorded run. `tests/test_haystack_contract.py` pins the same list more strictly (exact parameters, and the
behaviour relied on), so a new haystack that changes any of them fails there first.

Usage:
    >>> seam("haystack.components.agents.agent", "_run_hooks").qualname
    'haystack.components.agents.agent._run_hooks'
    >>> resolve(seam("haystack.hooks.invocation", "_create_hook_span")).__name__
    '_create_hook_span'
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from agent_nb.errors import AgentNbError

#: The haystack-ai versions agent_nb is tested with; the same range as the dependency in pyproject.toml.
HAYSTACK_RANGE = ">=3.4,<3.6"

#: "replaced": agent_nb puts its own function in the module (haystack calls it with exactly these parameters);
#: "called": agent_nb calls it with these parameters (later ones with defaults may be added harmlessly);
#: "attribute": an attribute agent_nb reads (ChatMessage fields on instances, a Toolset attribute).
SeamKind = Literal["replaced", "called", "attribute"]


@dataclass(frozen=True)
class Seam:
    """One private haystack name agent_nb uses.

    Usage:
        >>> s = Seam("haystack.hooks.invocation", "_create_hook_span", "called", ("hook",), "calls it")
        >>> s.qualname
        'haystack.hooks.invocation._create_hook_span'
    """

    module: str
    name: str
    kind: SeamKind
    params: tuple[str, ...]
    use: str
    #: False: agent_nb works without it, with less (the contract test still pins it).
    required: bool = True
    #: For "attribute" seams: the class whose instances hold the attribute, in `module`.
    owner: str | None = None

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.owner + '.' if self.owner else ''}{self.name}"


_AGENT = "haystack.components.agents.agent"
_TOOL_CALLING = "haystack.components.agents.tool_calling"

SEAMS: tuple[Seam, ...] = (
    Seam(_AGENT, "_run_hooks", "replaced", ("hooks", "hook_point", "state"),
         "replaces it to record each hook call (the Agent calls it by this module-level name)"),
    Seam(_AGENT, "_run_hooks_async", "replaced", ("hooks", "hook_point", "state"),
         "replaces it to record each hook call of run_async"),
    Seam(_AGENT, "_validate_hooks", "called", ("hooks",),
         "calls it to validate hooks swapped in by the Recorder, as Agent.__init__ does"),
    Seam(_TOOL_CALLING, "_make_context_bound_invoke", "replaced", ("tool", "args", "tool_call", "parent_span"),
         "replaces it to record each tool call and serve cached results"),
    Seam(_TOOL_CALLING, "_make_bounded_invoke_async", "replaced",
         ("tool", "args", "semaphore", "tool_call", "parent_span"),
         "replaces it to record each tool call of run_async"),
    Seam(_TOOL_CALLING, "_create_tool_span", "called", ("tool", "tool_call", "parent_span"),
         "calls it to open haystack's span for a tool result served from a recording"),
    Seam("haystack.hooks.invocation", "_create_hook_span", "called", ("hook", "hook_point", "parent_span"),
         "calls it to open haystack's span around each recorded hook call"),
    Seam("haystack.utils.async_utils", "_execute_component_async", "called", ("component_instance", "kwargs"),
         "calls it to dispatch a hook in run_async exactly as haystack does"),
    Seam("haystack.dataclasses", "_content", "attribute", (),
         "reads it to snapshot, diff and save a message's parts", owner="ChatMessage"),
    Seam("haystack.dataclasses", "_meta", "attribute", (),
         "reads it to copy a message's meta once per snapshot", owner="ChatMessage"),
    Seam("haystack.dataclasses", "_role", "attribute", (),
         "copies it to build a frozen message field by field", owner="ChatMessage"),
    Seam("haystack.dataclasses", "_name", "attribute", (),
         "copies it to build a frozen message field by field", owner="ChatMessage"),
    Seam("haystack.tools", "_raw_catalog", "attribute", (),
         "reads it to fingerprint a SearchableToolset's tools without warming it up", required=False,
         owner="SearchableToolset"),
)  # fmt: skip


class HaystackSeamError(AgentNbError, ImportError):
    """The installed haystack-ai lacks, or changed, a private name agent_nb needs.

    Usage:
        >>> issubclass(HaystackSeamError, ImportError)
        True
    """


def haystack_version() -> str:
    """The installed haystack-ai version ("unknown" when it has no package metadata).

    Usage:
        >>> haystack_version().count(".") >= 2
        True
    """
    try:
        return version("haystack-ai")
    except PackageNotFoundError:
        return "unknown"


def seam(module: str, name: str) -> Seam:
    """The declared seam `module.name` (KeyError when agent_nb does not declare it)."""
    for s in SEAMS:
        if s.module == module and s.name == name:
            return s
    raise KeyError(f"{module}.{name} is not a declared haystack seam")


def params(func: Any) -> tuple[str, ...]:
    """The parameter names of a function, in order (`**kwargs` as `kwargs`)."""
    return tuple(inspect.signature(func).parameters)


def _sample(owner: type) -> Any:
    if owner.__name__ == "ChatMessage":
        return owner.from_user("seam check")
    if owner.__name__ == "SearchableToolset":
        return owner(catalog=[])
    raise KeyError(owner.__name__)


def problem(s: Seam, module: Any) -> str | None:
    """What is wrong with seam `s` in the (imported) `module`, or None when agent_nb can use it.

    Import-time rule, lenient where that is safe: a "called" function may gain parameters with defaults.

    Usage:
        >>> import types
        >>> fake = types.ModuleType("haystack.hooks.invocation")
        >>> fake._create_hook_span = lambda hook, point, parent_span: None
        >>> s = seam("haystack.hooks.invocation", "_create_hook_span")
        >>> print(problem(s, fake))  # doctest: +NORMALIZE_WHITESPACE
        haystack.hooks.invocation._create_hook_span changed its parameters:
        agent_nb passes (hook, hook_point, parent_span), haystack has (hook, point, parent_span)
    """
    if s.kind == "attribute":
        owner = getattr(module, s.owner or "", None)
        if owner is None:
            return f"{s.module}.{s.owner} is missing"
        try:
            has = s.name in vars(_sample(owner))
        except Exception as exc:
            return f"{s.qualname}: could not build a {s.owner} to check ({type(exc).__name__}: {exc})"
        return None if has else f"{s.qualname} is missing (a {s.owner} no longer holds {s.name} in its __dict__)"
    found = getattr(module, s.name, None)
    if found is None:
        return f"{s.qualname} is missing"
    try:
        signature = inspect.signature(found)
    except (TypeError, ValueError):
        return f"{s.qualname} is no longer a function with a signature"
    names = tuple(signature.parameters)
    if s.kind == "called" and names[: len(s.params)] == s.params:
        extra = list(signature.parameters.values())[len(s.params) :]
        if all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in extra):
            return None
    elif names == s.params:
        return None
    verb = "passes" if s.kind == "called" else "is called with"
    declared, found = ", ".join(s.params), ", ".join(names)
    return f"{s.qualname} changed its parameters: agent_nb {verb} ({declared}), haystack has ({found})"


def seam_error(s: Seam, what: str) -> HaystackSeamError:
    """The error for one broken seam: what changed, what agent_nb does with it, and which haystack it needs."""
    return HaystackSeamError(
        f"agent_nb needs haystack-ai{HAYSTACK_RANGE}; the installed haystack-ai {haystack_version()} does not fit: "
        f"{what} (agent_nb {s.use}). Install a supported version: pip install 'haystack-ai{HAYSTACK_RANGE}'"
    )


def resolve(s: Seam) -> Any:
    """The object of a function seam, checked; raises `HaystackSeamError` when it is missing or incompatible.

    Usage:
        >>> resolve(seam("haystack.components.agents.agent", "_validate_hooks")).__name__
        '_validate_hooks'
    """
    try:
        module = importlib.import_module(s.module)
    except ImportError as exc:
        raise seam_error(s, f"module {s.module} cannot be imported ({exc})") from exc
    what = problem(s, module)
    if what is not None:
        raise seam_error(s, what)
    return getattr(module, s.name) if s.kind != "attribute" else None


def check_all() -> None:
    """Resolve every required seam (what importing agent_nb does); raises `HaystackSeamError` on the first broken.

    Usage:
        >>> check_all()
    """
    for s in SEAMS:
        if s.required:
            resolve(s)
