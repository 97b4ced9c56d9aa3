"""How the workbench names a run in every picker (view picker, history, compare A / B): one helper, `run_line`.

A run is named by what a person remembers of it: its prompt and label first, then its lineage (kind, id,
parent, fork step), outcome, duration and tokens. Ids alone say nothing ("run a98f2787").

Usage:
    >>> from haystack.dataclasses import ChatMessage
    >>> r = Run(run_id="ab12", status="ok", label="baseline",
    ...         inputs={"messages": [ChatMessage.from_user("What is 2 + 3?")]})
    >>> run_line(r)
    'What is 2 + 3? · baseline · run ab12 · answered · 0 tokens'
"""

from __future__ import annotations

from haystack.dataclasses import ChatMessage

from agent_nb.recording import Run
from agent_nb.widgets.trace_data import outcome

#: Characters of the prompt a picker shows (the whole prompt is in the prompt box once the run is shown).
PROMPT_CHARS = 48


def tokens_text(run: Run) -> str:
    """The run's own token count, or "?" when a live LLM call did not report usage (unknown is not 0).

    Usage:
        >>> tokens_text(Run(run_id="x"))
        '0'
    """
    llm = [e for e in run.events if e.kind == "llm" and e.status != "cached" and e.status != "error"]
    if any(e.prompt_tokens is None or e.completion_tokens is None for e in llm):
        return "?"
    return str(sum(e.prompt_tokens + e.completion_tokens for e in llm))


def run_prompt(run: Run) -> str:
    """The last user message of the run's input ("" when none).

    Usage:
        >>> run_prompt(Run(run_id="x", inputs={"messages": [ChatMessage.from_user("hi")]}))
        'hi'
    """
    for message in reversed((run.inputs or {}).get("messages") or []):
        if isinstance(message, ChatMessage) and message.role.value == "user" and message.text:
            return message.text
    return ""


def short(text: str, limit: int = PROMPT_CHARS) -> str:
    """The first line of `text`, cut at a word boundary with "…" when longer than `limit`.

    Usage:
        >>> short("Weather in Paris and Tokyo, then save a note", 20)
        'Weather in Paris…'
        >>> short("line one\\nline two")
        'line one…'
    """
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    if len(first) <= limit:
        return first + ("…" if len(lines) > 1 else "")
    head = first[: limit - 1]
    if " " in head.strip():
        head = head.rstrip().rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.") + "…"


def lineage(run: Run) -> str:
    """Kind and id, and for a replay or fork its parent and fork step.

    Usage:
        >>> lineage(Run(run_id="b2", kind="fork", parent_id="a1", fork_step=1))
        'fork b2 of a1 @ step 1'
    """
    text = f"{run.kind} {run.run_id}"
    if run.parent_id:
        text += f" of {run.parent_id}" + (f" @ step {run.fork_step}" if run.fork_step is not None else "")
    return text


def duration_text(ms: float) -> str:
    """A duration for people: "850 ms", "1.4 s".

    Usage:
        >>> duration_text(850.2), duration_text(1400)
        ('850 ms', '1.4 s')
    """
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def run_line(run: Run) -> str:
    """One line naming a run in every picker: prompt, label, lineage, outcome, duration, tokens (what tells two
    runs of one prompt apart comes before what a narrow picker may cut).

    Usage:
        >>> run_line(Run(run_id="ab12", status="ok", inputs={"messages": []}))
        '(no prompt) · run ab12 · answered · 0 tokens'
    """
    parts = [short(run_prompt(run)) or "(no prompt)"]
    if run.label:
        parts.append(short(run.label, 32))
    parts += [lineage(run), outcome(run)[1]]
    if run.duration_ms is not None:
        parts.append(duration_text(run.duration_ms))
    parts.append(f"{tokens_text(run)} tokens")
    return " · ".join(parts)
