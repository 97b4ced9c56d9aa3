"""Fingerprints of an Agent definition: generator, tools and hooks, so a replay can say what changed.

`agent_fingerprint(agent, slots)` is a JSON-able dict saved with a run: the generator's class and init
parameters (secrets left out), each tool's name, description, JSON schema and a hash of its code, and for every
hook slot its point, name, type, init parameters and a sha256 of its source (the idea of Hayhooks'
`definition_revision`). `fingerprint_changes(old, new)` turns two fingerprints into readable lines.

Nothing here has side effects on the Agent: Toolsets are read as they are (never warmed, iterated or spawned),
and whatever cannot be read (a hook defined where no source is kept, a generator whose `to_dict` fails) is
said so in its entry instead of failing.

Usage:
    >>> from agent_nb.demo import demo_agent
    >>> from agent_nb.recording import Recorder
    >>> rec = Recorder(demo_agent())
    >>> before = agent_fingerprint(rec.agent, rec.hook_slots)
    >>> [h["name"] for h in before["hooks"]]
    ['MemoryRetrievalHook', 'inject_date', 'inject_user_profile', 'RequireToolHook']
    >>> rec.hook_slots[-1].hook.tool_name = "add"      # the same class, configured differently
    >>> fingerprint_changes(before, agent_fingerprint(rec.agent, rec.hook_slots))
    ['hook on_exit/RequireToolHook: init parameters changed (tool_name)']
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from haystack.hooks import FunctionHook
from haystack.tools import Tool, Toolset

#: Bumped when the fingerprint's layout changes; `fingerprint_changes` compares what both versions have.
FINGERPRINT_VERSION = 1
REDACTED = "<redacted>"

# Names of init parameters whose value is a credential. `max_tokens` and the like are not: only a key that is
# exactly one of these words, or ends with `_<word>`, is redacted.
_SECRET_WORDS = ("api_key", "apikey", "token", "secret", "password", "passwd", "authorization", "credentials")
_SECRET_KEY = re.compile(rf"(^|_)({'|'.join(_SECRET_WORDS)})$", re.IGNORECASE)
# haystack serializes a `Secret` as {"type": "env_var" | "token", ...}.
_SECRET_TYPES = frozenset({"env_var", "token"})


def sha256_text(text: str) -> str:
    """The sha256 hex digest of a text (UTF-8).

    Usage:
        >>> sha256_text("abc")[:12]
        'ba7816bf8f01'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_secret(value: Any) -> bool:
    if type(value).__name__ in ("Secret", "TokenSecret", "EnvVarSecret"):
        return True
    return (
        isinstance(value, Mapping)
        and value.get("type") in _SECRET_TYPES
        and ("env_vars" in value or "token" in value or "_token" in value)
    )


def jsonable(value: Any, depth: int = 0) -> Any:
    """`value` as plain JSON data with credentials redacted; objects become `<ClassName object>` (no address).

    Usage:
        >>> jsonable({"model": "gpt", "api_key": {"type": "env_var", "env_vars": ["KEY"], "strict": True}})
        {'model': 'gpt', 'api_key': '<redacted>'}
        >>> jsonable({"max_tokens": 5, "headers": {"Authorization": "Bearer x"}})
        {'max_tokens': 5, 'headers': {'Authorization': '<redacted>'}}
    """
    if _is_secret(value):
        return REDACTED
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if depth > 30:
        return "<nested too deeply>"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            out[name] = REDACTED if _SECRET_KEY.search(name) and item is not None else jsonable(item, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v, depth + 1) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, type):
        return _qualified(value)
    # repr() of most objects carries a memory address, which would change the fingerprint on every run.
    return f"<{type(value).__name__} object>"


def _init_parameters(obj: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The `init_parameters` of `obj.to_dict()` (redacted), or None and why not."""
    to_dict = getattr(obj, "to_dict", None)
    if not callable(to_dict):
        return None, "no to_dict"
    try:
        data = to_dict()
    except Exception as exc:  # e.g. a token Secret refuses to serialize; its message is not kept (may hold it)
        return None, f"to_dict raised {type(exc).__name__}"
    params = data.get("init_parameters") if isinstance(data, Mapping) else None
    if not isinstance(params, Mapping):
        return None, "to_dict gave no init_parameters"
    return jsonable(params), None


def _source_of(obj: Any) -> str:
    """The source of a function or class; for a class whose file is not kept (a notebook cell on Python < 3.13),
    the sources of its methods and properties (and its bases') joined. Raises OSError / TypeError when none."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        if not isinstance(obj, type):
            raise
    parts = []
    for klass in obj.__mro__:
        if klass is object:
            continue
        for name, member in sorted(vars(klass).items()):
            if isinstance(member, property):
                funcs = [member.fget, member.fset, member.fdel]
            else:  # staticmethod / classmethod hold the function in __func__
                funcs = [getattr(member, "__func__", member)]
            for func in funcs:
                if inspect.isfunction(func):
                    try:
                        parts.append(f"{klass.__qualname__}.{name}:{inspect.getsource(func)}")
                    except (OSError, TypeError):
                        continue
    if not parts:
        raise OSError(f"no source for class {obj.__qualname__} or its methods")
    return "\n".join(parts)


#: id(target) -> (target, code object, entry). Reading a source costs milliseconds (inspect parses the module for
#: a class), and the Recorder fingerprints at every run start: cache per object. The code that runs is the
#: object's, so a file edited but not re-imported must keep its hash; a redefined hook is a new object anyway.
#: The target is held so its id cannot be reused; a function's code object is checked (hot reloaders swap it).
_SOURCE_CACHE: dict[int, tuple[Any, Any, dict[str, Any]]] = {}
_SOURCE_CACHE_LIMIT = 4096


def _cached_source(target: Any) -> dict[str, Any]:
    code = getattr(target, "__code__", None)
    hit = _SOURCE_CACHE.get(id(target))
    if hit is not None and hit[0] is target and hit[1] is code:
        return hit[2]
    try:
        text = _source_of(target)
        entry = {"source_sha256": sha256_text(text), "source": "available"}
    except (OSError, TypeError) as exc:
        entry = {"source_sha256": None, "source": f"unavailable ({type(exc).__name__}: {exc})"}
    if len(_SOURCE_CACHE) >= _SOURCE_CACHE_LIMIT:
        _SOURCE_CACHE.clear()
    _SOURCE_CACHE[id(target)] = (target, code, entry)
    return entry


def _source_entry(*targets: Any) -> dict[str, Any]:
    entries = [_cached_source(t) for t in targets if t is not None]
    if not entries:
        return {"source_sha256": None, "source": "unavailable (nothing to read)"}
    missing = next((e for e in entries if e["source_sha256"] is None), None)
    if missing is not None:
        return dict(missing)
    if len(entries) == 1:
        return dict(entries[0])
    return {"source_sha256": sha256_text("\n".join(e["source_sha256"] for e in entries)), "source": "available"}


def generator_fingerprint(generator: Any) -> dict[str, Any]:
    """The chat generator's class and init parameters (credentials redacted; `note` says why when missing).

    A recording wrapper (anything with an `inner` generator and a delegating `to_dict`) is seen through.

    Usage:
        >>> from agent_nb.demo import ScriptedChatGenerator
        >>> generator_fingerprint(ScriptedChatGenerator())["init_parameters"]["model"]
        'scripted-1'
    """
    inner = vars(generator).get("inner") if hasattr(generator, "__dict__") else None
    target = inner if inner is not None and type(generator).__name__ == "RecordingChatGenerator" else generator
    params, why = _init_parameters(target)
    entry: dict[str, Any] = {"type": _qualified(type(target)), "init_parameters": params}
    if why:
        entry["note"] = f"init parameters unavailable: {why}"
    return entry


def _tool_entry(tool: Tool, toolset: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": tool.name,
        "type": _qualified(type(tool)),
        "description": tool.description,
        "parameters": jsonable(tool.parameters),
    }
    if toolset is not None:
        entry["toolset"] = toolset
    function = getattr(tool, "function", None)
    async_function = getattr(tool, "async_function", None)
    if function is not None or async_function is not None:
        code = _source_entry(function, async_function)
        entry["code_sha256"] = code["source_sha256"]
        if code["source_sha256"] is None:
            entry["code"] = code["source"]
    return entry


def _toolset_tools(toolset: Toolset) -> tuple[list[Any], str | None]:
    """The tools a Toolset holds right now, read from its attributes: iterating may warm it (SearchableToolset)."""
    attrs = vars(toolset)
    tools = attrs.get("tools")
    if isinstance(tools, list) and tools:
        return tools, None
    catalog = attrs.get("_raw_catalog")  # SearchableToolset keeps the catalog as given until warm_up
    if isinstance(catalog, (list, Toolset, Tool)):
        return (catalog if isinstance(catalog, list) else [catalog]), None
    if isinstance(tools, list):
        return [], "no tools before warm_up (they load when the Agent runs)"
    return [], "tools not readable without warming it up"


def tools_fingerprint(tools: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(tool entries, toolset entries) of `agent.tools`: Tools, Toolsets or a list of both, without side effects.

    Usage:
        >>> from agent_nb.demo.tools import demo_tools
        >>> entries, toolsets = tools_fingerprint(demo_tools())
        >>> entries[0]["name"], sorted(entries[0]["parameters"]["properties"]), toolsets
        ('add', ['a', 'b'], [])
    """
    entries: list[dict[str, Any]] = []
    toolsets: list[dict[str, Any]] = []

    def visit(item: Any, toolset: str | None, depth: int) -> None:
        if isinstance(item, Tool):
            entries.append(_tool_entry(item, toolset))
        elif isinstance(item, Toolset):
            name = type(item).__name__
            held, note = _toolset_tools(item)
            ts_entry: dict[str, Any] = {"type": _qualified(type(item)), "tools": len(held)}
            if note:
                ts_entry["note"] = note
            toolsets.append(ts_entry)
            if depth < 10:
                for inner in held:
                    visit(inner, name, depth + 1)
        elif isinstance(item, (list, tuple)) and depth < 10:
            for inner in item:
                visit(inner, toolset, depth + 1)
        elif item is not None:
            entries.append({"name": f"<{type(item).__name__}>", "type": _qualified(type(item))})

    visit(tools, None, 0)
    return entries, toolsets


def hook_fingerprint(point: str, name: str, hook: Any) -> dict[str, Any]:
    """One hook slot: point, name, type, sha256 of its source (function or class), init parameters if any.

    Usage:
        >>> from agent_nb.demo.hooks import inject_date
        >>> entry = hook_fingerprint("before_llm", "inject_date", inject_date)
        >>> entry["type"], entry["source"], len(entry["source_sha256"])
        ('haystack.hooks.from_function.FunctionHook', 'available', 64)
    """
    entry: dict[str, Any] = {"point": point, "name": name, "type": _qualified(type(hook))}
    if isinstance(hook, FunctionHook):
        entry.update(_source_entry(hook.function, hook.async_function))
        fn = hook.function or hook.async_function
        entry["function"] = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
    else:
        entry.update(_source_entry(type(hook)))
        params, _ = _init_parameters(hook)
        if params is not None:
            entry["init_parameters"] = params
    return entry


def agent_fingerprint(agent: Any, slots: Iterable[Any]) -> dict[str, Any]:
    """A JSON-able fingerprint of an Agent definition: generator, tools, hooks, and the Agent's own settings.

    `slots` are the Recorder's `HookSlot`s (point, name, hook); switched-off hooks are included (whether a hook
    is on is the run's `hook_config`, not its definition).

    Usage:
        >>> from agent_nb.demo import demo_agent
        >>> from agent_nb.recording import Recorder
        >>> rec = Recorder(demo_agent())
        >>> fp = agent_fingerprint(rec.agent, rec.hook_slots)
        >>> fp["generator"]["type"], [t["name"] for t in fp["tools"]][:2]
        ('agent_nb.demo.scripted.ScriptedChatGenerator', ['add', 'multiply'])
        >>> json.loads(json.dumps(fp)) == fp
        True
    """
    tools, toolsets = tools_fingerprint(getattr(agent, "tools", None))
    prompt = getattr(agent, "system_prompt", None)
    schema = getattr(agent, "state_schema", None) or {}
    settings: dict[str, Any] = {
        "type": _qualified(type(agent)),
        "system_prompt_sha256": sha256_text(prompt) if isinstance(prompt, str) else None,
        "max_agent_steps": getattr(agent, "max_agent_steps", None),
        "exit_conditions": jsonable(getattr(agent, "exit_conditions", None)),
        "state_schema": {
            str(k): str(v.get("type")) if isinstance(v, Mapping) else str(v) for k, v in sorted(schema.items())
        },
    }
    return {
        "version": FINGERPRINT_VERSION,
        "agent": settings,
        "generator": generator_fingerprint(getattr(agent, "chat_generator", None)),
        "tools": tools,
        "toolsets": toolsets,
        "hooks": [hook_fingerprint(s.point, s.name, s.hook) for s in slots],
    }


# ---- changes -----------------------------------------------------------------------------------------------
def _changed_keys(old: Any, new: Any) -> list[str]:
    old = old if isinstance(old, Mapping) else {}
    new = new if isinstance(new, Mapping) else {}
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _param_line(what: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if old is None or new is None:
        return [f"{what}: init parameters {'now readable' if old is None else 'no longer readable'}"]
    return [f"{what}: init parameters changed ({', '.join(_changed_keys(old, new))})"]


def _source_line(what: str, old: Mapping[str, Any], new: Mapping[str, Any], key: str, label: str) -> list[str]:
    a, b = old.get(key), new.get(key)
    if a == b:
        return []
    if a is None or b is None:
        return [f"{what}: {label} not comparable (unavailable {'in the recording' if a is None else 'now'})"]
    return [f"{what}: {label} changed"]


def _generator_lines(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    if not old or not new:
        return []
    if old.get("type") != new.get("type"):
        return [f"generator: class changed ({old.get('type')} -> {new.get('type')})"]
    return _param_line("generator", old.get("init_parameters"), new.get("init_parameters"))


Items = Mapping[Any, Mapping[str, Any]]


def _kept(
    before: Items, after: Items, what: Callable[[Any], str], lines: list[str]
) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """The items of `after` also in `before`, as (`what(key)`, was, now), in order; on the way `lines` gets
    the removed items (first), the added ones and changed types, so the lines read in the fingerprint's order."""
    lines += [f"{what(key)}: removed" for key in before if key not in after]
    for key, now in after.items():
        if key not in before:
            lines.append(f"{what(key)}: added")
            continue
        was = before[key]
        if was.get("type") != now.get("type"):
            lines.append(f"{what(key)}: type changed ({was.get('type')} -> {now.get('type')})")
        yield what(key), was, now


def _tool_lines(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]) -> list[str]:
    lines: list[str] = []
    named = {t.get("name"): t for t in old}, {t.get("name"): t for t in new}
    for what, was, tool in _kept(*named, lambda name: f"tool {name}", lines):
        if was.get("parameters") != tool.get("parameters"):
            lines.append(f"{what}: schema changed")
        if was.get("description") != tool.get("description"):
            lines.append(f"{what}: description changed")
        lines += _source_line(what, was, tool, "code_sha256", "code")
    return lines


def _hook_lines(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]) -> list[str]:
    before = {(h.get("point"), h.get("name")): h for h in old}
    after = {(h.get("point"), h.get("name")): h for h in new}
    lines: list[str] = []
    for what, was, hook in _kept(before, after, lambda key: f"hook {key[0]}/{key[1]}", lines):
        lines += _source_line(what, was, hook, "source_sha256", "source")
        lines += [
            line
            for line in _param_line(what, was.get("init_parameters"), hook.get("init_parameters"))
            if "init_parameters" in was or "init_parameters" in hook
        ]
    points = {p for p, _ in after} & {p for p, _ in before}
    for point in sorted(points, key=str):
        order_a = [n for p, n in before if p == point and (p, n) in after]
        order_b = [n for p, n in after if p == point and (p, n) in before]
        if order_a != order_b:
            lines.append(f"hooks at {point}: order changed ({', '.join(order_a)} -> {', '.join(order_b)})")
    return lines


def _agent_lines(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    if old.get("system_prompt_sha256") != new.get("system_prompt_sha256"):
        lines.append("agent: system prompt changed")
    for key in ("max_agent_steps", "exit_conditions"):
        if old.get(key) != new.get(key):
            lines.append(f"agent: {key} changed ({old.get(key)} -> {new.get(key)})")
    if old.get("state_schema") != new.get("state_schema"):
        keys = _changed_keys(old.get("state_schema"), new.get("state_schema"))
        lines.append(f"agent: state schema changed ({', '.join(keys)})")
    return lines


def fingerprint_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """Readable lines saying what changed between two fingerprints; empty when nothing did (or one is missing).

    Lines look like "hook on_exit/RequireToolHook: source changed", "tool add: schema changed",
    "generator: init parameters changed (model)", "hook before_llm/inject_date: removed".

    Usage:
        >>> old = {"tools": [{"name": "add", "parameters": {"a": "number"}}]}
        >>> fingerprint_changes(old, {"tools": [{"name": "add", "parameters": {"a": "string"}}]})
        ['tool add: schema changed']
        >>> fingerprint_changes(None, old)
        []
    """
    if not isinstance(old, Mapping) or not isinstance(new, Mapping) or not old or not new:
        return []  # a run recorded before fingerprints existed: nothing to compare
    lines = _agent_lines(old.get("agent") or {}, new.get("agent") or {}) if "agent" in old and "agent" in new else []
    lines += _generator_lines(old.get("generator") or {}, new.get("generator") or {})
    lines += _tool_lines(list(old.get("tools") or []), list(new.get("tools") or []))
    lines += _hook_lines(list(old.get("hooks") or []), list(new.get("hooks") or []))
    return lines


def fingerprint_json(fingerprint: Mapping[str, Any]) -> str:
    """Canonical JSON of a fingerprint (sorted keys), e.g. to hash or to store beside a run.

    Usage:
        >>> fingerprint_json({"b": 1, "a": [2]})
        '{"a":[2],"b":1}'
    """
    return json.dumps(fingerprint, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
