"""Human in the loop: a widget UI for haystack's `ConfirmationHook`.

`WidgetConfirmationUI` implements haystack's `ConfirmationUI` protocol. When the Agent (running on the
workbench's background thread) asks to confirm a tool call, the UI publishes a `PendingConfirmation` and the
Agent's thread waits on a `threading.Event` until someone answers: the panel's buttons, or the programmatic
`approve()` / `reject()`. With `timeout` set, no answer in time means a rejection.

One Approve button: it sends the arguments the box shows, so editing them and pressing Approve approves the
edited call (the button then reads "Approve with edited arguments"). Every answer is kept in `ui.decisions`
with the time the run waited, for the trace view's ConfirmationHook rows.

CSS classes: `anb-confirmation` (panel), `anb-confirm-args` (arguments JSON), `anb-approve-button`,
`anb-reject-button`, `anb-reject-feedback`, `anb-confirm-error`.

Usage:
    >>> from agent_nb import Recorder, Workbench, demo_agent
    >>> rec = Recorder(demo_agent())
    >>> wb = Workbench(rec)
    >>> rec.add_hook("before_tool", wb.confirmation_hook(["add"]))   # ask before every call of `add`
    'ConfirmationHook'
    >>> run = wb.run("What is 2 + 40?", wait=False)
    >>> wb.wait_for_confirmation(10).tool_name
    'add'
    >>> wb.approve(arguments={"a": 2, "b": 41}); wb.wait(timeout=30)
    True
    >>> [d.action for d in wb.confirmation_ui.decisions]
    ['modify']
    >>> wb.close()
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W
from haystack.core.serialization import default_to_dict
from haystack.hooks.human_in_the_loop import (
    AlwaysAskPolicy,
    BlockingConfirmationStrategy,
    ConfirmationHook,
    ConfirmationUIResult,
)

from agent_nb.errors import InvalidArgument, InvalidType
from agent_nb.views.html import esc
from agent_nb.widgets.style import button, css, error_label, set_error, show


@dataclass(frozen=True)
class Decision:
    """One answered confirmation: what was asked, what the person decided, and when (wall clock, ns).

    Usage:
        >>> Decision("add", {"a": 1}, "modify", {"a": 2}, None, 0, 2_000_000).text()
        'arguments edited: {"a": 1} -> {"a": 2} (waited 2 ms)'
    """

    tool_name: str
    params: dict[str, Any]
    action: str  # confirm, modify, reject
    new_params: dict[str, Any] | None
    feedback: str | None
    asked_ns: int
    answered_ns: int
    #: The recorded run that asked, and the seq its ConfirmationHook row gets (None outside a recorded run).
    run_id: str | None = None
    seq: int | None = None

    @property
    def wait_ms(self) -> float:
        """How long the run waited for the person."""
        return (self.answered_ns - self.asked_ns) / 1e6

    def text(self) -> str:
        """The decision in words, as the trace view shows it on the hook's row."""
        dump = lambda v: json.dumps(v, ensure_ascii=False, default=repr)  # noqa: E731
        if self.action == "modify":
            text = f"arguments edited: {dump(self.params)} -> {dump(self.new_params)}"
        elif self.action == "reject":
            text = "rejected" + (f" with feedback: {self.feedback}" if self.feedback else "")
        else:
            text = "approved"
        if self.feedback and self.action != "reject":
            text += f" (feedback: {self.feedback})"
        return f"{text} (waited {self.wait_ms:.0f} ms)"


def asking_row() -> tuple[str | None, int | None]:
    """The recorded run and the seq of the hook row asking now: (None, None) outside a recorded run.

    The confirmation is asked inside a ConfirmationHook call, on the Agent's thread, so the recording context
    (`agent_nb.recording.context.current()`) is the asking run's, and its `open_hook` the asking row. That row is
    numbered when the hook call ends, and nothing else is recorded while it runs: its seq is the event count now.

    Usage:
        >>> asking_row()
        (None, None)
    """
    from agent_nb.recording.context import current

    ctx = current()
    if ctx is None or ctx.open_hook is None:
        return None, None
    return ctx.run.run_id, len(ctx.run.events)


@dataclass(eq=False)
class PendingConfirmation:
    """A tool call waiting for the user's answer.

    Usage:
        >>> p = PendingConfirmation("add", "Add two numbers.", {"a": 2, "b": 3})
        >>> p.answered
        False
    """

    tool_name: str
    tool_description: str
    tool_params: dict[str, Any]
    result: ConfirmationUIResult | None = None
    event: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def answered(self) -> bool:
        """True once approved or rejected."""
        return self.event.is_set()

    def answer(self, result: ConfirmationUIResult) -> None:
        """Give the answer and release the waiting Agent thread (a second answer is ignored)."""
        if not self.event.is_set():
            self.result = result
            self.event.set()


class WidgetConfirmationUI:
    """haystack `ConfirmationUI` answered from widgets (or code): approve, approve with edited arguments, reject.

    `timeout`: seconds to wait for an answer before rejecting (None waits until answered or `cancel()`).

    Usage:
        >>> ui = WidgetConfirmationUI(timeout=0.01)
        >>> ui.get_user_confirmation("add", "Add.", {"a": 1}).action   # nobody answers in time
        'reject'
    """

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout
        self._pending: PendingConfirmation | None = None
        self._announced: PendingConfirmation | None = None  # pending, and every listener has shown it
        self._listeners: list[Callable[[PendingConfirmation | None], None]] = []
        self._ask_lock = threading.Lock()  # concurrent runs ask one at a time
        self._changed = threading.Condition()
        self._widget: ConfirmationPanel | None = None
        #: Every answered request, oldest first (the trace view puts each on its ConfirmationHook row).
        self.decisions: list[Decision] = []

    @property
    def pending(self) -> PendingConfirmation | None:
        """The tool call waiting for an answer, or None (an answered one is no longer pending)."""
        request = self._pending
        return request if request is not None and not request.answered else None

    # ---- the ConfirmationUI protocol -------------------------------------------------------------------------
    def get_user_confirmation(
        self, tool_name: str, tool_description: str, tool_params: dict[str, Any]
    ) -> ConfirmationUIResult:
        """Publish the request and block the calling (Agent) thread until it is answered or times out."""
        with self._ask_lock:
            request = PendingConfirmation(tool_name, tool_description, dict(tool_params))
            asked = time.time_ns()
            run_id, seq = asking_row()
            self._publish(request)
            try:
                answered = request.event.wait(self.timeout)
            finally:
                self._publish(None)
            result = request.result
            if not answered or result is None:
                result = ConfirmationUIResult(action="reject", feedback=f"No answer within {self.timeout} s.")
            self.decisions.append(
                Decision(tool_name, dict(tool_params), result.action, result.new_tool_params, result.feedback,
                         asked, time.time_ns(), run_id, seq)
            )  # fmt: skip
            return result

    def to_dict(self) -> dict[str, Any]:
        """Serialize (the widgets are not: a loaded Agent gets a fresh, unconnected UI)."""
        return default_to_dict(self, timeout=self.timeout)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WidgetConfirmationUI:
        """Deserialize."""
        return cls(**data.get("init_parameters", {}))

    # ---- answering -------------------------------------------------------------------------------------------
    def approve(self, arguments: dict[str, Any] | None = None, feedback: str | None = None) -> None:
        """Approve the pending call, with edited `arguments` if given (a "modify"); ValueError if none is pending.

        Usage:
            >>> from agent_nb import Workbench
            >>> wb = Workbench(rec); ui = wb.confirmation_ui
            >>> _ = wb.add_hook("before_tool", wb.confirmation_hook(["add"]))
            >>> live = wb.run("What is 2 + 40?", wait=False)
            >>> _ = ui.wait_pending(timeout=10)
            >>> ui.approve(arguments={"a": 2, "b": 40}); wb.wait(timeout=30)
            True
            >>> ui.approve()
            Traceback (most recent call last):
            ...
            agent_nb.errors.InvalidArgument: ...
            >>> wb.close()
        """
        request = self._require_pending()
        if arguments is not None and not isinstance(arguments, dict):
            raise InvalidType(f"arguments must be a dict, got {type(arguments).__name__}")
        if arguments is not None and arguments != request.tool_params:
            request.answer(ConfirmationUIResult(action="modify", feedback=feedback or None, new_tool_params=arguments))
        else:
            request.answer(ConfirmationUIResult(action="confirm", feedback=feedback or None))
        self._notify(None)

    def reject(self, feedback: str | None = None) -> None:
        """Reject the pending call; the feedback reaches the model in the rejection message.

        Usage:
            >>> from agent_nb import Workbench
            >>> wb = Workbench(rec); ui = wb.confirmation_ui
            >>> _ = wb.add_hook("before_tool", wb.confirmation_hook(["add"]))
            >>> live = wb.run("What is 2 + 40?", wait=False)
            >>> _ = ui.wait_pending(timeout=10)
            >>> ui.reject("not this sum"); wb.wait(timeout=30)
            True
            >>> wb.close()
        """
        self._require_pending().answer(ConfirmationUIResult(action="reject", feedback=feedback or None))
        self._notify(None)

    def cancel(self, feedback: str = "Cancelled: the run was stopped.") -> None:
        """Reject whatever is pending (used by Stop, so a waiting run can reach its step boundary)."""
        request = self.pending
        if request is not None:
            request.answer(ConfirmationUIResult(action="reject", feedback=feedback))
            self._notify(None)

    def wait_pending(self, timeout: float | None = None) -> PendingConfirmation | None:
        """Wait until a confirmation is pending (or `timeout` passes); returns it or None.

        Usage:
            >>> from agent_nb import Workbench
            >>> wb = Workbench(rec); ui = wb.confirmation_ui
            >>> _ = wb.add_hook("before_tool", wb.confirmation_hook(["add"]))
            >>> live = wb.run("What is 2 + 40?", wait=False)
            >>> ui.wait_pending(timeout=10).tool_params
            {'a': 2, 'b': 40}
            >>> ui.approve(); wb.wait(timeout=30)
            True
            >>> wb.close()
        """
        with self._changed:
            self._changed.wait_for(lambda: self.pending is not None and self._announced is self.pending, timeout)
        return self.pending

    def _require_pending(self) -> PendingConfirmation:
        request = self.pending
        if request is None:
            raise InvalidArgument("no tool call is waiting for confirmation")
        return request

    # ---- observers -------------------------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[PendingConfirmation | None], None]) -> Callable[[], None]:
        """Call `listener(pending_or_None)` whenever a request appears or is answered; returns an unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _publish(self, request: PendingConfirmation | None) -> None:
        with self._changed:
            self._pending = request
        # Listeners (the workbench's panel and progress line) first: whoever waits for a pending request
        # then finds the views already showing it.
        self._notify(request)
        with self._changed:
            self._announced = request
            self._changed.notify_all()

    def _notify(self, request: PendingConfirmation | None) -> None:
        for listener in list(self._listeners):
            try:
                listener(request)
            except Exception:  # the Agent thread must never die of a view
                import logging

                logging.getLogger("agent_nb").exception("confirmation listener failed")

    @property
    def widget(self) -> ConfirmationPanel:
        """The panel for this UI (built once); display it when you use the UI without a Workbench."""
        if self._widget is None:
            self._widget = ConfirmationPanel(self)
        return self._widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def confirmation_hook(
    ui: WidgetConfirmationUI, tools: str | list[str] | tuple[str, ...] = "*", policy: Any = None
) -> ConfirmationHook:
    """A haystack `ConfirmationHook` (before_tool) that asks `ui` about the calls of `tools` ("*" means all).

    `policy` defaults to `AlwaysAskPolicy()`; `AskOncePolicy()` asks once per tool and arguments.

    Usage:
        >>> hook = confirmation_hook(WidgetConfirmationUI(), tools=["save_note"])
        >>> hook.allowed_hook_points
        ('before_tool',)
    """
    key: str | tuple[str, ...] = tools if isinstance(tools, str) else tuple(tools)
    strategy = BlockingConfirmationStrategy(confirmation_policy=policy or AlwaysAskPolicy(), confirmation_ui=ui)
    return ConfirmationHook(confirmation_strategies={key: strategy})


class ConfirmationPanel(W.VBox):
    """The pending tool call, its arguments (editable JSON), one Approve (sends the edits, if any), Reject.

    Hidden while nothing is pending. Invalid edited JSON shows in red and nothing is sent.

    Usage:
        >>> panel = ConfirmationPanel(WidgetConfirmationUI())
        >>> panel.layout.display
        'none'
    """

    def __init__(self, ui: WidgetConfirmationUI) -> None:
        self.ui = ui
        self.title = W.HTML()
        self.args = css(
            W.Textarea(layout=W.Layout(width="100%", height="90px"), placeholder="arguments as JSON"),
            "anb-confirm-args",
        )
        self.feedback = css(
            W.Text(placeholder="feedback for the model (optional)", layout=W.Layout(width="320px")),
            "anb-reject-feedback",
        )
        # One Approve: it sends the arguments as the box shows them (edited or not); its label says which.
        self.approve_button = button("Approve", "anb-approve-button", style="success", icon="check", width="270px")
        self.reject_button = button("Reject", "anb-reject-button", style="danger", icon="times")
        self.error = error_label("anb-confirm-error")
        self.approve_button.on_click(lambda _: self._answer("approve"))
        self.reject_button.on_click(lambda _: self._answer("reject"))
        self.args.observe(self._args_edited, names="value")
        self._original: dict[str, Any] | None = None
        buttons = W.HBox([self.approve_button, self.reject_button, self.feedback])
        super().__init__(
            [self.title, self.args, self.error, buttons],
            layout=W.Layout(padding="6px 8px", margin="4px 0", width="100%"),
        )
        css(self, "anb-confirmation")
        show(self, False)
        self._unsubscribe = ui.subscribe(self._update)
        self._update(ui.pending)

    def _update(self, request: PendingConfirmation | None) -> None:
        if request is None:
            show(self, False)
            return
        desc = esc((request.tool_description or "").strip().splitlines()[0] if request.tool_description else "")
        self.title.value = (
            f"<b>The agent wants to call <code>{esc(request.tool_name)}</code></b> "
            f'<span class="anb-muted">{desc}</span><br>'
            '<span class="anb-muted">Approve (edit the arguments first to approve edited ones), or reject. '
            "The run waits for your answer.</span>"
        )
        self._original = dict(request.tool_params)
        self.args.value = json.dumps(request.tool_params, indent=2, ensure_ascii=False, default=repr)
        self._args_edited(None)
        self.feedback.value = ""
        set_error(self.error, None)
        show(self, True)

    def _answer(self, action: str) -> None:
        if self.ui.pending is None:
            set_error(self.error, "Nothing is waiting for confirmation any more.")
            return
        if action == "reject":
            self.ui.reject(self.feedback.value.strip() or None)
            return
        try:
            arguments = json.loads(self.args.value)
        except json.JSONDecodeError as exc:
            set_error(self.error, f"Arguments are not valid JSON: {exc}")
            return
        if not isinstance(arguments, dict):
            set_error(self.error, 'Arguments must be a JSON object, like {"a": 2, "b": 40}.')
            return
        self.ui.approve(arguments=arguments, feedback=self.feedback.value.strip() or None)

    def edited_arguments(self) -> dict[str, Any] | None:
        """The arguments in the box when they parse and differ from the request's, else None."""
        try:
            value = json.loads(self.args.value)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) and value != self._original else None

    def _args_edited(self, _change: dict | None) -> None:
        edited = self.edited_arguments() is not None
        self.approve_button.description = "Approve with edited arguments" if edited else "Approve"
        self.approve_button.button_style = "warning" if edited else "success"

    def close(self) -> None:
        """Stop listening to the UI and close the widgets."""
        self._unsubscribe()
        super().close()
