"""Breakpoints in the Workbench: where a run pauses (`BreakpointControls`), and what you do there (`Debugger`).

- `BreakpointControls` (sidebar, under the hook switches): "before LLM call", "before tool call" (any tool, or
  one by name), "pause on error", and a condition: a Python expression over `state` (the State data), checked
  as it is typed (a clear error beside it). The hook switches' dots (`HooksPanel`) set breakpoints through it.
  Each control calls `rec.break_at` / `rec.remove_breakpoint`; a run started with breakpoints set goes through
  `rec.start`, so the kernel stays free to answer the buttons.
- `Debugger` (under the header, only while paused): the banner ("paused before before_tool, step 2"),
  Continue / Step / Skip / Abort (keys F8 and F10 as in DevTools), the live State as JSON (validated as the
  fork editor's: `InvalidEdit` shown beside the field, nothing applied), the pending tool calls with editable
  arguments, the pending LLM input before an LLM call (the fork editor's message rows: role and text, move,
  delete, add; what you apply is what the model gets), and Apply edits (`live.edit`). It follows the model's
  `paused` trait.

CSS classes: `anb-breakpoints`, `anb-break-llm`, `anb-break-tool`, `anb-break-tool-name`, `anb-break-error`,
`anb-break-condition`, `anb-break-condition-error`; `anb-debugger`, `anb-pause-banner`, `anb-continue-button`,
`anb-step-button`, `anb-skip-button`, `anb-abort-button`, `anb-pause-state`, `anb-pause-state-error`,
`anb-pause-args` (one per pending tool call), `anb-pause-args-error`, `anb-pause-llm`, `anb-pause-llm-add`,
`anb-pause-llm-error` (the LLM input's rows are the fork editor's `anb-message-row`), `anb-apply-edits-button`,
`anb-pause-status`.

Usage:
    >>> from agent_nb import Recorder, demo_agent
    >>> rec = Recorder(demo_agent()); controls = BreakpointControls(rec)
    >>> controls.tool.value = True; controls.tool_name.value = "add"
    >>> rec.breakpoints
    [Breakpoint(point='tool', name='add')]
    >>> controls.condition.value = "state['step_count'] >"
    >>> "not a Python expression" in controls.condition_error.value
    True
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets as W
import traitlets
from haystack.dataclasses import ChatMessage

from agent_nb.errors import InvalidArgument, InvalidState
from agent_nb.recording import Recorder
from agent_nb.recording.breaks import Breakpoint
from agent_nb.recording.options import MANAGED_KEYS
from agent_nb.replay.edits import InvalidEdit, editable_keys, state_schema, tool_names_of
from agent_nb.views.html import esc
from agent_nb.widgets.fork_editor import MessageList
from agent_nb.widgets.model import WorkbenchModel
from agent_nb.widgets.style import button, css, error_label, set_error, show

#: A breakpoint the Workbench set: ("hook", point, name), ("llm",), ("tool", name or None), ("error",).
Spot = tuple[Any, ...]


def compile_condition(text: str) -> Callable[[dict[str, Any]], Any] | None:
    """A breakpoint's `when` from a Python expression over `state`; None for an empty text; ValueError when
    it does not compile.

    Usage:
        >>> when = compile_condition("state['step_count'] == 2")
        >>> when({"step_count": 2}), when({"step_count": 1})
        (True, False)
        >>> compile_condition("state[") is None
        Traceback (most recent call last):
        ...
        agent_nb.errors.InvalidArgument: not a Python expression: '[' was never closed (column 6)
    """
    text = text.strip()
    if not text:
        return None
    try:
        code = compile(text, "<breakpoint condition>", "eval")
    except SyntaxError as exc:
        raise InvalidArgument(f"not a Python expression: {exc.msg} (column {exc.offset})") from None

    def when(state: dict[str, Any]) -> Any:
        # The user's own expression, run in their own kernel as a cell would be: `state` is bound to the State
        # data (a copy the breakpoint gets); a condition that raises counts as not hit (`run.warnings` says so).
        return eval(code, {"__builtins__": builtins}, {"state": state})

    when.__name__ = text
    return when


class BreakpointControls(W.VBox):
    """The Workbench's breakpoints: `set(spot, on)` adds or removes one on the Recorder; the checkboxes and the
    condition box drive it. `spots` maps each spot to its `Breakpoint`."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.spots: dict[Spot, Breakpoint] = {}
        self._syncing = False
        self.when: Callable[[dict[str, Any]], Any] | None = None
        self.on_change: Callable[[], None] | None = None  # the hook dots follow
        self.llm = self._box("before LLM call", "anb-break-llm", ("llm",))
        self.tool = self._box("before tool call", "anb-break-tool", None)
        names = tool_names_of(recorder.agent) or []
        self.tool_name = css(
            W.Dropdown(options=[("any tool", "")] + [(n, n) for n in names], value="",
                       layout=W.Layout(width="130px")),
            "anb-break-tool-name",
        )  # fmt: skip
        self.tool.observe(lambda _: self._tool_changed(), names="value")
        self.tool_name.observe(lambda _: self._tool_changed(), names="value")
        self.on_error = self._box("pause on error", "anb-break-error", ("error",))
        self.condition = css(
            W.Text(placeholder="condition over state (Python)", continuous_update=True, layout=W.Layout(width="98%"),
                   tooltip="pause only where it is true, e.g. state['step_count'] == 2"),
            "anb-break-condition",
        )  # fmt: skip
        self.condition_error = css(W.HTML(), "anb-break-condition-error")
        self.condition.observe(lambda change: self.set_condition(change["new"]), names="value")
        super().__init__(
            [
                W.HTML('<b>Breakpoints</b> <span class="anb-muted">a run pauses there (● beside a hook)</span>'),
                self.llm,
                W.HBox([self.tool, self.tool_name], layout=W.Layout(flex_flow="row wrap")),  # wraps in a narrow sidebar
                self.on_error,
                self.condition,
                self.condition_error,
            ],
            layout=W.Layout(width="100%", margin="0 0 8px 0"),
        )
        css(self, "anb-breakpoints")

    def _box(self, label: str, cls: str, spot: Spot | None) -> W.Checkbox:
        box = css(W.Checkbox(value=False, description=label, indent=False, layout=W.Layout(width="auto")), cls)
        if spot is not None:
            box.observe(lambda change: self._syncing or self.set(spot, bool(change["new"])), names="value")
        return box

    def sync(self) -> None:
        """Forget the breakpoints removed from code (`rec.clear_breakpoints()`); the boxes follow.

        Usage:
            >>> controls = BreakpointControls(rec); controls.llm.value = True
            >>> rec.clear_breakpoints(); controls.sync(); controls.llm.value
            False
        """
        present = {id(bp) for bp in self.recorder.breakpoints}
        for spot in [s for s, bp in self.spots.items() if id(bp) not in present]:
            del self.spots[spot]
        self._syncing = True
        try:
            self.llm.value = ("llm",) in self.spots
            self.on_error.value = ("error",) in self.spots
            self.tool.value = any(s[0] == "tool" for s in self.spots)
        finally:
            self._syncing = False

    def _tool_changed(self) -> None:
        if self._syncing:
            return
        for spot in [s for s in self.spots if s[0] == "tool"]:
            self.set(spot, False)
        if self.tool.value:
            self.set(("tool", self.tool_name.value or None), True)

    def is_set(self, spot: Spot) -> bool:
        """Whether the Workbench set a breakpoint at `spot` that the Recorder still has."""
        bp = self.spots.get(spot)
        return bp is not None and any(bp is b for b in self.recorder.breakpoints)

    def set(self, spot: Spot, on: bool) -> Breakpoint | None:
        """Add (`on`) or remove the breakpoint at `spot`; returns the one added.

        Usage:
            >>> controls = BreakpointControls(rec)
            >>> controls.set(("hook", "before_llm", "inject_date"), True)
            Breakpoint(point='before_llm', name='inject_date')
            >>> controls.set(("hook", "before_llm", "inject_date"), False); rec.breakpoints
            []
        """
        old = self.spots.pop(spot, None)
        if old is not None:
            self.recorder.remove_breakpoint(old)
        bp = None
        if on:
            kind = spot[0]
            if kind == "error":  # where a call raised: the condition is about pausing before events, not here
                bp = self.recorder.break_at(on_error=True)
            else:
                point, name = {"hook": (spot[1:] or (None, None)), "llm": ("llm", None)}.get(kind, ("tool", spot[-1]))
                bp = self.recorder.break_at(point, name=name, when=self.when)
            self.spots[spot] = bp
        if self.on_change is not None:
            self.on_change()
        return bp

    def set_condition(self, text: str) -> bool:
        """Compile `text` as the condition of every breakpoint set here (re-set with it); False, with the error
        shown beside the box and the breakpoints left as they were, when it does not compile."""
        try:
            when = compile_condition(text)
        except ValueError as exc:
            self.condition_error.value = f'<span class="anb-error-text">{esc(exc)}</span>'
            return False
        self.condition_error.value = (
            f'<span class="anb-muted">pauses only where {esc(text.strip())} is true</span>' if when else ""
        )
        self.when = when
        for spot in [s for s in self.spots if s[0] != "error"]:
            self.set(spot, True)
        return True


_KEYS_ESM = """
export default {
  render({ model, el }) {
    // F8 continue, F10 step, as in DevTools: only while the run is paused, so other keys stay the page's.
    const onKey = (event) => {
      if (!model.get("active") || (event.key !== "F8" && event.key !== "F10")) return;
      event.preventDefault();
      event.stopPropagation();
      model.send({ key: event.key });
    };
    document.addEventListener("keydown", onKey, true);
    return () => document.removeEventListener("keydown", onKey, true);
  },
};
"""


class DebugKeys(anywidget.AnyWidget):
    """A keydown listener in the page: sends F8 / F10 to `on_key` while `active` (a run is paused)."""

    _esm = _KEYS_ESM
    active = traitlets.Bool(False).tag(sync=True)

    def __init__(self, on_key: Callable[[str], Any]) -> None:
        super().__init__()
        self.on_msg(lambda _widget, content, _buffers: on_key(str((content or {}).get("key", ""))))


def _to_json(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=repr))


class Debugger(W.VBox):
    """The paused run: banner, commands, State, pending tool calls and LLM input, Apply edits. Hidden while no
    run is paused. `resume`, `step`, `skip`, `abort`, `apply` are what the buttons (and F8 / F10) do.

    Usage:
        >>> from agent_nb.widgets.model import WorkbenchModel
        >>> debugger = Debugger(WorkbenchModel(), rec.agent)
        >>> debugger.layout.display, debugger.wait_paused(timeout=0) is None
        ('none', True)
    """

    def __init__(self, model: WorkbenchModel, agent: Any) -> None:
        self.model, self.agent = model, agent
        self._cond = threading.Condition()
        self._original: dict[str, Any] = {}
        self._original_args: list[Any] = []
        self.banner = css(W.HTML(), "anb-pause-banner")
        self.continue_button = button("Continue (F8)", "anb-continue-button", style="primary", icon="play")
        self.step_button = button("Step (F10)", "anb-step-button", icon="step-forward")
        self.skip_button = button("Skip", "anb-skip-button", icon="forward",
                                  tooltip="the hook, tool call or LLM call paused before does not run")  # fmt: skip
        self.abort_button = button("Abort", "anb-abort-button", style="danger", icon="stop")
        for widget, action in ((self.continue_button, self.resume), (self.step_button, self.step),
                               (self.skip_button, self.skip), (self.abort_button, self.abort)):  # fmt: skip
            widget.on_click(lambda _, act=action: self._clicked(act))
        self.state_json = css(W.Textarea(layout=W.Layout(width="98%", height="110px")), "anb-pause-state")
        self.state_error = css(W.HTML(), "anb-pause-state-error")
        self.args_box = W.VBox()
        self.arg_areas: list[W.Textarea] = []
        self.args_error = css(W.HTML(), "anb-pause-args-error")
        self.llm_input = css(W.HTML(), "anb-pause-llm")
        self.llm_messages = MessageList("anb-pause-llm-add")
        self.llm_error = error_label("anb-pause-llm-error")
        self.llm_box = W.VBox([self.llm_input, self.llm_messages, self.llm_error], layout=W.Layout(width="100%"))
        self.apply_button = button("Apply edits", "anb-apply-edits-button", style="warning", icon="check")
        self.apply_button.on_click(lambda _: self.apply())
        self.status = css(W.HTML(), "anb-pause-status")
        self.key_listener = DebugKeys(self._key)
        super().__init__(
            [
                self.banner,
                W.HBox(
                    [self.continue_button, self.step_button, self.skip_button, self.abort_button, self.key_listener]
                ),
                W.HTML('<span class="anb-muted">State (JSON; change values, then Apply edits)</span>'),
                self.state_json,
                self.state_error,
                self.args_box,
                self.args_error,
                self.llm_box,
                W.HBox([self.apply_button, self.status]),
            ],
            layout=W.Layout(width="100%", border="1px solid #d97706", padding="4px", margin="4px 0"),
        )
        css(self, "anb-debugger")
        show(self, False)
        model.watch(self._paused, "paused")

    # ---- commands --------------------------------------------------------------------------------------------
    def wait_paused(self, timeout: float | None = None, *, other_than: Any = None) -> Any:
        """Wait until the model shows a pause (at most `timeout` s), one that is not `other_than` (the pause
        you just left: after Step, the next one); the Pause, or None."""

        def shown() -> bool:
            paused = self.model.paused
            return paused is not None and paused is not other_than

        with self._cond:
            self._cond.wait_for(shown, timeout)
            return self.model.paused if shown() else None

    def _live(self, verb: str) -> Any:
        live = self.model.live
        if live is None or live.paused is None:
            raise InvalidState(f"cannot {verb}: no run is paused (set a breakpoint, then Run)")
        return live

    def resume(self) -> None:
        """Continue to the next breakpoint or the end (F8)."""
        self._live("continue").resume()

    def step(self) -> None:
        """Go on to the next event boundary and pause there (F10)."""
        self._live("step").step()

    def skip(self) -> None:
        """Do not run the hook, tool call or LLM call the run paused before."""
        self._live("skip").skip()

    def abort(self) -> None:
        """End the run now; the partial run is kept, status `aborted`."""
        self._live("abort").abort()

    def apply(self) -> bool:
        """Apply the edited State, tool arguments and LLM input to the paused run (`live.edit`); False, with the
        error shown beside its field and nothing applied, when one is invalid (the run stays paused)."""
        for label in (self.state_error, self.args_error, self.llm_error):
            label.value = ""
        try:
            live = self._live("apply edits")
            changes, arguments = self._collect()
            llm_input = self._collect_llm_input()
            if changes is None and arguments is None and llm_input is None:
                self.status.value = '<span class="anb-muted">nothing changed</span>'
                return False
            live.edit(changes, arguments=arguments, llm_input=llm_input)
        except InvalidEdit as exc:
            to_args = exc.field == "arguments"  # live.edit names the field; the message is never parsed
            to_llm = exc.field in ("llm_input", "messages")
            label = self.args_error if to_args else (self.llm_error if to_llm else self.state_error)
            set_error(label, str(exc))
            self.status.value = '<span class="anb-error-text">Not applied: fix the field marked in red.</span>'
            return False
        except Exception as exc:
            self.status.value = f'<span class="anb-error-text">{esc(f"{type(exc).__name__}: {exc}")}</span>'
            return False
        with self.model.lock:
            self.model.paused = live.paused  # the edited State, shown again
        self.status.value = '<span class="anb-muted">applied: an edit row is in the run</span>'
        return True

    def _collect(self) -> tuple[dict[str, Any] | None, Any]:
        try:
            values = json.loads(self.state_json.value.strip() or "{}")
        except json.JSONDecodeError as exc:
            raise InvalidEdit(f"the State is not valid JSON: {exc}", "state") from None
        if not isinstance(values, dict):
            raise InvalidEdit('the State must be a JSON object, like {"user_profile": {"name": "Ada"}}', "state")
        changes = {k: v for k, v in values.items() if k not in self._original or self._original[k] != v}
        arguments: dict[int, Any] = {}
        for i, (area, original) in enumerate(zip(self.arg_areas, self._original_args, strict=False)):
            try:
                value = json.loads(area.value.strip() or "{}")
            except json.JSONDecodeError as exc:
                raise InvalidEdit(f"tool call [{i}] arguments are not valid JSON: {exc}", "arguments") from None
            if value != original:
                arguments[i] = value
        pause = self.model.paused
        args: Any = arguments or None
        if args is not None and pause is not None and pause.kind == "tool":
            args = arguments[0]  # before one tool call: its arguments themselves
        return (changes or None), args

    def _collect_llm_input(self) -> list[ChatMessage] | None:
        """The LLM input as edited, or None when there is none pending or nothing changed."""
        pause = self.model.paused
        if pause is None or pause.llm_input is None or not self.llm_messages.changed:
            return None
        empty = self.llm_messages.empty_message()
        if empty is not None:
            raise InvalidEdit(empty[1], "llm_input", empty[0])
        return self.llm_messages.messages()

    def _clicked(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as exc:
            self.status.value = f'<span class="anb-error-text">{esc(f"{type(exc).__name__}: {exc}")}</span>'

    def _key(self, key: str) -> None:
        action = {"F8": self.resume, "F10": self.step}.get(key)
        if action is not None:
            self._clicked(action)

    # ---- view ------------------------------------------------------------------------------------------------
    def _paused(self, change: dict) -> None:
        pause = change["new"]
        with self._cond:
            self._cond.notify_all()
        self.key_listener.active = pause is not None
        show(self, pause is not None)
        if pause is None:
            self.status.value = ""
            return
        head = f"‖ {esc(pause)}" + (f" · event #{pause.seq}" if pause.seq is not None else "")
        self.banner.value = f"<b>{head}</b>"
        self.skip_button.disabled = pause.error is not None
        keys = [k for k in editable_keys(pause.state, state_schema(self.agent)) if k not in MANAGED_KEYS]
        self._original = {k: _to_json(pause.state.get(k)) for k in keys}
        self.state_json.value = json.dumps(self._original, indent=2, ensure_ascii=False)
        lines = self.state_json.value.count("\n") + 1
        self.state_json.layout.height = f"{min(max(lines, 3), 14) * 17 + 12}px"  # as tall as the State, within reason
        self._original_args = [_to_json(call["arguments"]) for call in pause.tool_calls]
        areas = []
        for call, args in zip(pause.tool_calls, self._original_args, strict=True):
            area = W.Textarea(
                value=json.dumps(args, ensure_ascii=False),
                description=str(call["tool_name"]),
                style={"description_width": "initial"},
                layout=W.Layout(width="98%", height="48px"),
            )
            areas.append(css(area, "anb-pause-args"))
        self.arg_areas = areas
        head = W.HTML('<span class="anb-muted">Pending tool calls (arguments as JSON)</span>')
        self.args_box.children = [head, *areas] if areas else []
        set_error(self.llm_error, None)
        if pause.llm_input is not None:
            n = len(pause.llm_input)
            self.llm_input.value = (
                f'<span class="anb-muted">Pending LLM input: the {n} message{"s" * (n != 1)} the model gets '
                "(change, move, delete or add; tool calls and results only move or go), then Apply edits</span>"
            )
            self.llm_messages.load(pause.llm_input)
        else:
            self.llm_input.value = ""
            self.llm_messages.load([])
        show(self.llm_box, pause.llm_input is not None)
