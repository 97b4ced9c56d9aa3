"""`HeaderPanel`: the Workbench's title, view picker, prompt, Run / Stop / Replay, and the progress line.

It observes the `WorkbenchModel`: the run on view, busy, the pending confirmation, the last error and notice,
and each live refresh. The progress line says what happened (answered, stopped at max_agent_steps, stopped by
a hook or by you, failed tool calls, error), with the error count, steps, time, tokens and lineage.

CSS classes: `anb-title`, `anb-view-run`, `anb-prompt`, `anb-run-button`, `anb-stop-button`,
`anb-replay-button`, `anb-tools-cached`, `anb-progress-bar`, `anb-progress`.

Usage:
    >>> from agent_nb.widgets.model import WorkbenchModel
    >>> model = WorkbenchModel(); header = HeaderPanel(rec, model, prompt="What is 2 + 3?")
    >>> "No run yet" in header.progress.value
    True
    >>> model.show(run); "✓ answered" in header.progress.value, header.replay_button.disabled
    (True, False)
    >>> header.view_picker.value == run.run_id
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W

from agent_nb.recording import Recorder, Run
from agent_nb.replay.edits import tool_names_of
from agent_nb.views.html import esc
from agent_nb.views.style import ATTENTION_COLOR, ERROR_COLOR, FALLBACK_COLOR, STATUS_COLORS
from agent_nb.widgets.model import WorkbenchModel
from agent_nb.widgets.names import duration_text, lineage, run_line, run_prompt, tokens_text
from agent_nb.widgets.style import button, css, set_options
from agent_nb.widgets.trace_data import outcome

#: Mark and colour per run outcome (`trace_data.outcome`): only a clean answer is a green tick.
OUTCOME_MARKS = {"running": "●", "ok": "✓", "max_steps": "⚠", "stop_run": "■", "stopped": "■", "tool_error": "⚠",
                 "error": "✗", "other": "⚠"}  # fmt: skip
OUTCOME_COLOURS = {"running": STATUS_COLORS["cached"], "ok": STATUS_COLORS["ok"], "max_steps": ATTENTION_COLOR,
                   "stop_run": ATTENTION_COLOR, "stopped": ATTENTION_COLOR, "tool_error": ERROR_COLOR,
                   "error": ERROR_COLOR, "other": ATTENTION_COLOR}  # fmt: skip
BAR_STYLES = {"ok": "success", "stopped": "warning", "error": "danger"}


def title_html(recorder: Recorder) -> str:
    """The title line: generator, tools, hooks and the step limit."""
    agent = recorder.agent
    tools = len(tool_names_of(agent) or [])  # read without warming the user's Toolsets
    gen = type(agent.chat_generator).__name__
    return (
        f"<b>agent_nb workbench</b> "
        f'<span class="anb-muted">{esc(gen)} · {tools} tools · {len(recorder.hook_slots)} hooks · '
        f"max {getattr(agent, 'max_agent_steps', '?')} steps</span>"
    )


def progress_html(model: WorkbenchModel, max_steps: int | None) -> str:
    """The progress line of the model's run: outcome, errors, steps, time, tokens, events, lineage, warnings.

    Usage:
        >>> from agent_nb.widgets.model import WorkbenchModel
        >>> "✓ answered" in progress_html(WorkbenchModel(view=run), 12)
        True
    """
    run = model.view
    if run is None:
        parts = ['<span class="anb-muted">No run yet: type a prompt and press Run.</span>']
    else:
        parts = _run_parts(run, model, max_steps)
    text = " · ".join(parts)
    if model.paused is not None:
        text += f' · <b class="anb-paused" style="color:{ATTENTION_COLOR}">‖ {esc(model.paused)} (below)</b>'
    if model.pending is not None:
        text += f' · <b style="color:{ATTENTION_COLOR}">waiting for your confirmation (above)</b>'
    if model.notice:
        text += f' · <span class="anb-muted">{esc(model.notice)}</span>'
    if model.error and (run is None or model.error != run.error):
        text += f'<div class="anb-error-text">{esc(model.error)}</div>'
    return f"<div>{text}</div>"


def _run_parts(run: Run, model: WorkbenchModel, max_steps: int | None) -> list[str]:
    key, text = outcome(run)
    colour = OUTCOME_COLOURS.get(key, FALLBACK_COLOR)
    parts = [
        f'<b class="anb-outcome anb-outcome-{esc(key)}" style="color:{colour}">'
        f"{OUTCOME_MARKS.get(key, '●')} {esc(text)}</b>"
    ]
    errors = sum(1 for e in run.events if e.status == "error" or e.error)
    if errors:
        parts.append(f'<b class="anb-error-count" style="color:{ERROR_COLOR}">{errors} error{"s" * (errors > 1)}</b>')
    done = (run.result or {}).get("step_count")
    if run.status == "running":
        parts.append(f"step {run.steps} of {max_steps}")
    else:
        parts.append(f"{done if isinstance(done, int) else run.steps} steps")
    job = model.job
    if run.status == "running" and job is not None and job.run is run:
        parts.append(duration_text(job.elapsed_s * 1000))
    else:
        parts.append(duration_text(run.duration_ms or 0.0))
    parts.append(esc(f"{tokens_text(run)} tokens"))
    cached = run.usage["cached_llm_calls"]  # replies served from a recording cost nothing
    if cached:
        parts.append(f"{cached} cached LLM replies")
    parts.append(f"{len(run.events)} events")
    parts.append(f'<span class="anb-muted">{esc(lineage(run))}</span>')
    if run.error:
        parts.append(f'<span class="anb-error-text">{esc(run.error)} (partial timeline kept)</span>')
    for warning in run.warnings:  # its first clause here, the whole text on hover and in `run.warnings`
        parts.append(
            f'<span class="anb-warning" style="color:{ATTENTION_COLOR}" title="{esc(warning)}">'
            f"⚠ {esc(warning.split(':')[0])}</span>"
        )
    return parts


class HeaderPanel(W.VBox):
    """Title and view picker, prompt and buttons, progress bar and line. `on_run`, `on_stop`, `on_replay` are
    the buttons' actions; `on_pick(run_id)` is called when another run is picked in the view picker."""

    def __init__(
        self,
        recorder: Recorder,
        model: WorkbenchModel,
        *,
        prompt: str = "",
        on_run: Callable[[], Any] | None = None,
        on_stop: Callable[[], Any] | None = None,
        on_replay: Callable[[], Any] | None = None,
        on_pick: Callable[[str], Any] | None = None,
        extra: W.Widget | None = None,
    ) -> None:
        self.recorder, self.model, self.on_pick = recorder, model, on_pick
        self._picking = False
        self.title = css(W.HTML(title_html(recorder)), "anb-title")
        self.view_picker = css(
            W.Dropdown(options=[], description="view", style={"description_width": "initial"},
                       layout=W.Layout(width="480px")),
            "anb-view-run",
        )  # fmt: skip
        self.view_picker.observe(self._picked, names="value")
        self.prompt = css(
            W.Textarea(
                value=prompt,
                placeholder="Ask the agent something, e.g. Weather in Paris and Tokyo, then save a note",
                layout=W.Layout(width="100%", height="64px", flex="1 1 auto"),
            ),
            "anb-prompt",
        )
        self.run_button = button("Run", "anb-run-button", style="primary", icon="play", width="100px")
        self.stop_button = button("Stop", "anb-stop-button", style="danger", icon="stop", width="100px")
        self.replay_button = button(
            "Replay", "anb-replay-button", icon="repeat", width="100px",
            tooltip="re-run the shown run with the current hook switches; LLM replies come from the recording",
        )  # fmt: skip
        self.tools_cached = css(
            W.Checkbox(value=False, description="tools cached", indent=False, layout=W.Layout(width="110px")),
            "anb-tools-cached",
        )
        for widget, action in ((self.run_button, on_run), (self.stop_button, on_stop), (self.replay_button, on_replay)):
            if action is not None:
                widget.on_click(lambda _, act=action: act())
        self.progress_bar = css(
            W.FloatProgress(value=0, min=0, max=1, layout=W.Layout(width="140px", height="14px")), "anb-progress-bar"
        )
        self.progress = css(W.HTML(), "anb-progress")
        buttons = W.VBox(
            [W.HBox([self.run_button, self.stop_button]), W.HBox([self.replay_button, self.tools_cached])],
            layout=W.Layout(flex="0 0 auto"),
        )
        rows: list[W.Widget] = [
            W.HBox([self.title, self.view_picker],
                   layout=W.Layout(justify_content="space-between", align_items="center", width="100%")),
            W.HBox([self.prompt, buttons], layout=W.Layout(width="100%")),
            W.HBox([self.progress_bar, self.progress], layout=W.Layout(align_items="center")),
        ]  # fmt: skip
        super().__init__(rows + ([extra] if extra is not None else []), layout=W.Layout(width="100%"))
        model.watch(self._view_changed, "view")
        model.watch(lambda _: self._refresh(history=True), "busy", "started")
        model.watch(lambda change: self._refresh(history=change["new"].history), "refresh")
        model.watch(lambda _: self._refresh(history=False), "pending", "paused", "error", "notice")
        model.watch(lambda _: setattr(self.title, "value", title_html(recorder)), "hooks", "refresh")
        self._refresh(history=True)

    def _view_changed(self, change: dict) -> None:
        run = change["new"]
        if run is not None and run.status != "running":
            # The prompt box follows the run on view, so Run repeats what you are looking at.
            self.prompt.value = run_prompt(run) or self.prompt.value
        self._refresh(history=True)

    def _refresh(self, *, history: bool) -> None:
        model, run = self.model, self.model.view
        if history:
            self._picking = True
            try:
                options = [(run_line(r), r.run_id) for r in reversed(self.recorder.runs)]
                set_options(self.view_picker, options, run.run_id if run is not None else None)
            finally:
                self._picking = False
        limit = getattr(self.recorder.agent, "max_agent_steps", None)
        self.progress.value = progress_html(model, limit)
        if run is None:
            self.progress_bar.value, self.progress_bar.bar_style = 0, ""
        else:
            top = max(limit or 1, 1)
            self.progress_bar.max = top
            self.progress_bar.value = min(run.steps, top) if run.status == "running" else top
            self.progress_bar.bar_style = BAR_STYLES.get(run.status, "info")
        self.run_button.disabled = model.busy
        self.replay_button.disabled = model.busy or run is None
        self.stop_button.disabled = not model.busy

    def _picked(self, change: dict) -> None:
        if self._picking or not change["new"] or self.on_pick is None:
            return
        if self.model.view is None or change["new"] != self.model.view.run_id:
            self.on_pick(change["new"])
