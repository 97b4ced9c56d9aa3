"""What happened at an event, said in words: a hook's decision line, and a traceback with the user's frames first.

`decision_text(event)` is the detail pane's and the report's "decision" line: a tool confirmation's approved /
rejected / modified calls, a hook that raised, run control (continue_run, stop_run), the keys a hook changed, or
"no change". `fold_traceback(exc)` splits a traceback into the user's frames and the frames of agent_nb,
haystack and Python itself (folded under "internal frames" by the views).

Usage:
    >>> from agent_nb.recording import Event
    >>> decision_text(Event("r", 0, 0, "hook", "on_exit", "Check", "error", 0.0, 0.1, error="ValueError: no"))
    'raised ValueError: no'
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from haystack.dataclasses import ChatMessage

from agent_nb.recording.diff import format_args
from agent_nb.recording.events import Event


# ---- the decision line ----------------------------------------------------------------------------------------
def decision_text(event: Event, *, resumed: bool = False) -> str:
    """One line: what a hook decided (approved / rejected / modified tool calls, raised, run control, changed keys).

    `resumed`: the run is a fork (its before_run hooks did not run: they are history).

    Usage:
        >>> from agent_nb.recording import Event
        >>> decision_text(Event("r", 0, 0, "hook", "before_llm", "h", "ok", 0.0, 0.1, before={}, after={}))
        'no change'
        >>> decision_text(Event("r", 0, 0, "hook", "before_llm", "h", "ok", 0.0, 0.1, before={"score": 0},
        ...                     after={"score": 1}))
        'changed score'
    """
    if event.status == "skipped":
        if resumed and event.hook_point == "before_run":
            return "not run: this run resumed a recorded State after before_run"
        return "switched off: not run"
    if event.error:
        return f"raised {event.error}"
    parts: list[str] = []
    if event.hook_point == "before_tool":
        parts += _confirmation(event)
    if event.flow:
        parts.append(event.flow)
    keys = [k for k in event.changed if k not in ("continue_run", "stop_run")]
    if keys and not (parts and keys == ["messages"]):  # the tool-call words already say what the messages are
        parts.append("changed " + ", ".join(map(str, keys)))
    return "; ".join(parts) if parts else "no change"


def _confirmation(event: Event) -> list[str]:
    """A before_tool hook's verdict on the pending tool calls (haystack's ConfirmationHook rewrites the messages:
    a rejected call gets an error tool result, a modified one new arguments; an approved one stays as it was)."""
    before = list((event.before or {}).get("messages") or [])
    after = list((event.after or {}).get("messages") or [])
    last = before[-1] if before else None
    pending = list(last.tool_calls) if isinstance(last, ChatMessage) else []
    if not pending:
        return []
    if "messages" not in event.changed:  # the calls go ahead as the LLM made them
        calls = ", ".join(f"{c.tool_name}({format_args(c.arguments)})" for c in pending)
        # Only a confirmation hook decided anything; any other hook that left the calls alone just let them pass.
        return [f"approved {calls}" if event.name == "ConfirmationHook" else f"no change: {calls} went ahead"]
    tail = [m for m in after[len(before) - 1 :] if isinstance(m, ChatMessage)]
    rejected = {id_of(r.origin) for m in tail for r in m.tool_call_results if r.error}
    kept = {id_of(c): c for m in tail for c in m.tool_calls}
    words: dict[str, list[str]] = {"approved": [], "modified": [], "rejected": []}
    for call in pending:
        key = id_of(call)
        new = kept.get(key)
        if key in rejected:
            words["rejected"].append(call.tool_name)
        elif new is not None and new.arguments != call.arguments:
            words["modified"].append(f"{call.tool_name}({format_args(new.arguments)})")
        elif new is not None:
            words["approved"].append(f"{call.tool_name}({format_args(call.arguments)})")
    return [f"{word} {', '.join(items)}" for word, items in words.items() if items]


def id_of(call: Any) -> tuple[str, str]:
    """A tool call's identity: its id when it has one, else its name (what haystack matches decisions by)."""
    return (call.tool_name, call.id or "")


# ---- tracebacks -----------------------------------------------------------------------------------------------
#: Folders whose frames are folded: agent_nb itself, haystack, and Python's own library.
_INTERNAL: tuple[str, ...] = tuple(
    os.path.normcase(os.path.abspath(p)) + os.sep
    for p in (
        os.path.dirname(os.path.dirname(__file__)),
        sysconfig.get_paths().get("stdlib", os.path.dirname(os.__file__)),
    )
)


@dataclass
class Frame:
    """One traceback frame: where, and the formatted lines (`File ..., line N, in f` and its source)."""

    filename: str
    lineno: int | None
    name: str
    text: str
    internal: bool


@dataclass
class FoldedTraceback:
    """A traceback as the views show it: the user's frames first, the internal ones apart (folded).

    `exception` is the last line (`ValueError: no budget left`); `chain` the earlier exceptions' last lines
    ("During handling of..."), oldest first.
    """

    exception: str
    user: list[Frame] = field(default_factory=list)
    internal: list[Frame] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)

    def text(self) -> str:
        """Plain text: the exception, the user's frames, then "internal frames (N)" and those frames.

        Usage:
            >>> try:
            ...     int("x")
            ... except ValueError as exc:
            ...     print(fold_traceback(exc).text().splitlines()[0])
            ValueError: invalid literal for int() with base 10: 'x'
        """
        lines = [self.exception, *(f"(caused by {c})" for c in self.chain)]
        lines += [f.text for f in self.user]
        if self.internal:
            lines.append(f"internal frames ({len(self.internal)}: agent_nb, haystack, Python):")
            lines += [f.text for f in self.internal]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a widget: {"exception", "chain", "user": [text...], "internal": [text...]}."""
        return {
            "exception": self.exception,
            "chain": list(self.chain),
            "user": [f.text for f in self.user],
            "internal": [f.text for f in self.internal],
        }


def is_internal(filename: str) -> bool:
    """Is a frame's file part of agent_nb, haystack or Python's own library (not the user's code)?

    Usage:
        >>> is_internal(os.__file__), is_internal("/home/me/notebook_hooks.py")
        (True, False)
    """
    path = os.path.normcase(os.path.abspath(filename))
    if path.startswith(_INTERNAL):
        return True
    parts = path.replace("\\\\", "/").split("/")
    return "haystack" in parts and ("site-packages" in parts or "dist-packages" in parts)


def fold_traceback(error: BaseException | str) -> FoldedTraceback:
    """An exception's traceback (or a formatted traceback text) split into the user's frames and internal ones.

    Frames keep their order within each group; the innermost frame is last.

    Usage:
        >>> folded = fold_traceback("Traceback (most recent call last):\\n  File \\"/me/hooks.py\\", line 3, in run\\n"
        ...                         "    raise ValueError('no')\\nValueError: no")
        >>> folded.exception, [f.name for f in folded.user]
        ('ValueError: no', ['run'])
    """
    if isinstance(error, BaseException):
        return _fold_exception(error)
    return _fold_text(str(error))


def _fold_exception(exc: BaseException) -> FoldedTraceback:
    tbe = traceback.TracebackException.from_exception(exc)
    chain = []
    cause = tbe.__cause__ or (None if tbe.__suppress_context__ else tbe.__context__)
    while cause is not None:
        chain.append("".join(cause.format_exception_only()).strip())
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    out = FoldedTraceback("".join(tbe.format_exception_only()).strip(), chain=chain)
    for summary, text in zip(tbe.stack, tbe.stack.format(), strict=False):
        frame = Frame(summary.filename, summary.lineno, summary.name, text.rstrip("\n"), is_internal(summary.filename))
        (out.internal if frame.internal else out.user).append(frame)
    return out


def _fold_text(text: str) -> FoldedTraceback:
    lines = text.rstrip("\n").splitlines()
    frames: list[Frame] = []
    last = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _is_frame(line) and ", line " in stripped:
            filename = stripped[6 : stripped.index('", line ')]
            rest = stripped[stripped.index('", line ') + 8 :]
            number, _, name = rest.partition(", in ")
            body = [line]
            while i + 1 < len(lines) and lines[i + 1].startswith("    ") and not _is_frame(lines[i + 1]):
                i += 1
                body.append(lines[i])
            lineno = int(number) if number.strip().isdigit() else None
            frames.append(Frame(filename, lineno, name, "\n".join(body), is_internal(filename)))
        elif stripped and not line.startswith(" ") and not stripped.startswith("Traceback"):
            last = stripped
        i += 1
    out = FoldedTraceback(last or (lines[-1].strip() if lines else ""))
    for frame in frames:
        (out.internal if frame.internal else out.user).append(frame)
    return out


def _is_frame(line: str) -> bool:
    return line.strip().startswith('File "')


def frames_of(folded: FoldedTraceback) -> Sequence[Frame]:
    """Every frame, the user's first (the order the views show them in)."""
    return [*folded.user, *folded.internal]
