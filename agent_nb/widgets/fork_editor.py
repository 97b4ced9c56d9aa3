"""`ForkEditor`: pick a step of the shown run, edit the State it starts from, optionally replace its LLM reply, Fork.

- Messages: one row per message (role, text; move up / down, delete; add). Messages holding tool calls or
  tool results cannot be retyped here (delete or move them, or replace the step's reply instead).
- State keys: the Agent's own keys (e.g. `user_profile`, `notes`) as a JSON object; only the keys you
  change are sent. Other editable keys (`token_usage`, ...) may be added to the object.
- Reply: replaces this step's LLM reply: a text, or tool calls as JSON
  `[{"tool_name": "add", "arguments": {"a": 2, "b": 40}}]`.

Bad input (invalid JSON, an unknown key, a wrong type, an unknown tool) is shown in red next to its field;
nothing runs and every field keeps what you typed.

CSS classes: `anb-fork`, `anb-fork-step`, `anb-message-row`, `anb-message-role`, `anb-message-text`,
`anb-message-up`, `anb-message-down`, `anb-message-delete`, `anb-add-message`, `anb-messages-error`,
`anb-state-json`, `anb-state-error`, `anb-reply-toggle`, `anb-reply-mode`, `anb-reply-text`, `anb-reply-error`,
`anb-fork-tools-cached`, `anb-fork-button`, `anb-fork-reset`, `anb-fork-status`.

Usage:
    >>> forks = []   # what the workbench would fork
    >>> editor = ForkEditor(tool_names=["add"], on_fork=lambda **kw: forks.append(kw))
    >>> editor.show_run(run); editor.step.value = 1
    >>> _ = editor.add_message("user", "Use Fahrenheit"); editor.fork_button.click()
    >>> forks[0]["step"], forks[0]["edit"]["messages"][-1].text
    (1, 'Use Fahrenheit')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W
from haystack.dataclasses import ChatMessage, ToolCall

from agent_nb.errors import InvalidArgument
from agent_nb.recording import Run
from agent_nb.recording.diff import message_text
from agent_nb.recording.options import MANAGED_KEYS
from agent_nb.recording.summary import safe_repr
from agent_nb.replay.edits import InvalidEdit, editable_keys, state_schema
from agent_nb.views.html import esc
from agent_nb.widgets.style import button, css, error_label, error_text, section_title, set_error, set_options, show

EDITABLE_ROLES = ("system", "user", "assistant")


class EditError(InvalidEdit):
    """A problem in one field of the fork editor (`field` is "messages", "state" or "reply"): an `InvalidEdit`.

    Usage:
        >>> EditError("state", "not JSON").field
        'state'
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, str(self)))


def is_plain_text(message: ChatMessage) -> bool:
    """True for a message that is just one text (no tool calls, results, images, reasoning, files).

    Usage:
        >>> is_plain_text(ChatMessage.from_user("hi"))
        True
    """
    return (
        len(message.texts) == 1
        and not message.tool_calls
        and not message.tool_call_results
        and not message.images
        and not message.files
        and not message.reasonings
    )


class MessageRow(W.HBox):
    """One message in the fork editor: index, role, text, and move / delete buttons.

    Usage:
        >>> row = MessageRow(ChatMessage.from_user("hi"))
        >>> row.text.value = "hello"; row.to_message().text
        'hello'
    """

    def __init__(self, message: ChatMessage | None = None, *, role: str = "user", text: str = "") -> None:
        self.original = message
        self.locked = message is not None and not is_plain_text(message)
        if message is not None:
            role = message.role.value
            text = message_text(message, limit=None) if self.locked else (message.text or "")
        self.index = W.HTML(layout=W.Layout(width="30px"))
        roles = EDITABLE_ROLES if role in EDITABLE_ROLES else (*EDITABLE_ROLES, role)
        self.role = css(W.Dropdown(options=roles, value=role, layout=W.Layout(width="105px")), "anb-message-role")
        # Height from the text (about 70 characters a line at this width): short messages stay one line.
        lines = sum(1 + len(line) // 70 for line in text.splitlines()) or 1
        self.text = css(
            W.Textarea(
                value=text, layout=W.Layout(width="100%", flex="1 1 auto", height=f"{min(lines, 6) * 18 + 14}px")
            ),
            "anb-message-text",
        )
        if self.locked:
            self.role.disabled = self.text.disabled = True
            self.text.tooltip = "tool call or tool result: move or delete it, or replace the step's reply below"
        self.up = button("", "anb-message-up", icon="arrow-up", tooltip="move up", width="32px")
        self.down = button("", "anb-message-down", icon="arrow-down", tooltip="move down", width="32px")
        self.delete = button("", "anb-message-delete", icon="trash", tooltip="delete", width="32px")
        super().__init__(
            [self.index, self.role, self.text, self.up, self.down, self.delete],
            layout=W.Layout(width="100%", align_items="flex-start"),
        )
        css(self, "anb-message-row")

    @property
    def changed(self) -> bool:
        """True when this row no longer equals its original message (or is new)."""
        if self.original is None:
            return True
        original = self.original
        return not self.locked and (self.role.value != original.role.value or self.text.value != original.text)

    def to_message(self) -> ChatMessage:
        """The original message when unchanged (keeping its meta), else a new one with the row's role and text."""
        if self.original is not None and not self.changed:
            return self.original
        builder = {"system": ChatMessage.from_system, "user": ChatMessage.from_user}.get(self.role.value)
        if builder is not None:
            return builder(self.text.value)
        return ChatMessage.from_assistant(self.text.value)


def parse_reply(text: str, mode: str, tool_names: Sequence[str] | None = None, step: int = 0) -> ChatMessage:
    """The replacement reply: an assistant text, or tool calls from JSON (EditError naming the problem).

    Usage:
        >>> parse_reply('[{"tool_name": "add", "arguments": {"a": 2, "b": 40}}]', "tool calls").tool_calls[0].arguments
        {'a': 2, 'b': 40}
    """
    if mode == "text":
        if not text.strip():
            raise EditError("reply", "The reply text is empty: write the model's answer, or untick the reply box.")
        return ChatMessage.from_assistant(text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditError("reply", f"Tool calls are not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise EditError("reply", 'Tool calls must be a JSON list: [{"tool_name": "add", "arguments": {"a": 2}}]')
    calls = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise EditError("reply", f"tool call {i} must be an object with tool_name and arguments")
        extra = set(item) - {"tool_name", "arguments", "id"}
        if extra:
            raise EditError("reply", f"tool call {i} has unknown fields: {', '.join(sorted(extra))}")
        name, arguments = item.get("tool_name"), item.get("arguments", {})
        if not isinstance(name, str) or not name:
            raise EditError("reply", f'tool call {i} needs a "tool_name" string')
        if tool_names is not None and name not in tool_names:
            raise EditError("reply", f"tool call {i}: unknown tool {name!r}; tools: {', '.join(tool_names)}")
        if not isinstance(arguments, dict):
            raise EditError("reply", f'tool call {i}: "arguments" must be a JSON object')
        calls.append(ToolCall(tool_name=name, arguments=arguments, id=str(item.get("id") or f"edit_{step}_{i}")))
    return ChatMessage.from_assistant(tool_calls=calls)


def _to_json(value: Any) -> Any:
    """A JSON-able form of a State value (what the editor shows and compares against).

    A part with a broken repr reads as a marker; a value JSON cannot hold at all (a cycle) as its repr text.
    """
    try:
        return json.loads(json.dumps(value, ensure_ascii=False, default=safe_repr))
    except (ValueError, TypeError, RecursionError):
        return safe_repr(value)


class MessageList(W.VBox):
    """Messages as editable rows (role and text; move up / down, delete; add a user message): the fork editor's
    conversation and the paused LLM input. Tool calls and tool results show but cannot be retyped (move or delete
    them). `load(messages)`, then `messages()`; `add_class` names the add button, `max_height` the scroll area.

    Usage:
        >>> from haystack.dataclasses import ChatMessage
        >>> box = MessageList(); box.load([ChatMessage.from_user("What is 2 + 3?")])
        >>> box.rows[0].text.value = "What is 2 + 40?"; box.changed, box.messages()[0].text
        (True, 'What is 2 + 40?')
    """

    def __init__(self, add_class: str = "anb-add-message", max_height: str = "300px", beside_add: Any = None) -> None:
        self.rows: list[MessageRow] = []
        self.original: list[ChatMessage] = []
        self.box = W.VBox(layout=W.Layout(width="100%"))
        self.add_button = button("message", add_class, icon="plus", tooltip="add a user message at the end")
        self.add_button.on_click(lambda _: self.add())
        scroll = W.Box([self.box], layout=W.Layout(max_height=max_height, overflow="auto", width="100%"))
        under = W.HBox([self.add_button, beside_add], layout=W.Layout(align_items="center")) if beside_add else None
        super().__init__([scroll, under or self.add_button], layout=W.Layout(width="100%"))

    def load(self, messages: list[ChatMessage]) -> None:
        """Show `messages` (the rows keep each original, so an untouched one goes back as it was)."""
        for row in self.rows:
            row.close()
        self.original = list(messages)
        self.rows = [self._wire(MessageRow(m)) for m in messages]
        self._relayout()

    def add(self, role: str = "user", text: str = "") -> MessageRow:
        """Append a new message row (a user message by default)."""
        row = self._wire(MessageRow(role=role, text=text))
        self.rows.append(row)
        self._relayout()
        return row

    def move(self, row: MessageRow, delta: int) -> None:
        """Move a row up (-1) or down (+1)."""
        i = self.rows.index(row)
        j = max(0, min(len(self.rows) - 1, i + delta))
        self.rows[i], self.rows[j] = self.rows[j], self.rows[i]
        self._relayout()

    def delete(self, row: MessageRow) -> None:
        """Remove a row."""
        self.rows.remove(row)
        row.close()
        self._relayout()

    def empty_message(self) -> tuple[int, str] | None:
        """The first message the user can type in that is empty, as (index, what to say), else None."""
        for i, row in enumerate(self.rows):
            if not row.locked and not row.text.value.strip():
                return i, f"Message [{i}] is empty: write something or delete it."
        return None

    def messages(self) -> list[ChatMessage]:
        """The messages as the rows say (check `empty_message()` first)."""
        return [row.to_message() for row in self.rows]

    @property
    def changed(self) -> bool:
        """True when the rows no longer give the messages loaded (compared by content)."""
        rows = self.rows
        if len(rows) != len(self.original):
            return True
        return any(row.original is not m or row.changed for row, m in zip(rows, self.original, strict=True))

    def _wire(self, row: MessageRow) -> MessageRow:
        row.up.on_click(lambda _: self.move(row, -1))
        row.down.on_click(lambda _: self.move(row, 1))
        row.delete.on_click(lambda _: self.delete(row))
        return row

    def _relayout(self) -> None:
        for i, row in enumerate(self.rows):
            row.index.value = f'<span class="anb-muted">[{i}]</span>'
            row.up.disabled = i == 0
            row.down.disabled = i == len(self.rows) - 1
        self.box.children = tuple(self.rows)


class ForkEditor(W.VBox):
    """Edit the State at the start of a step and fork.

    `on_fork(step=..., edit=..., reply=..., tools=...)` starts the fork; it may raise (e.g. `InvalidEdit`),
    and the error is shown next to the field it concerns.

    Usage:
        >>> editor = ForkEditor(agent=rec.agent, tool_names=["add"], on_fork=lambda **kw: None)
        >>> editor.show_run(run)
        >>> editor.step.value, sorted(json.loads(editor.state_json.value))
        (0, ['notes', 'user_profile'])
    """

    def __init__(
        self,
        *,
        agent: Any = None,
        tool_names: Sequence[str] | None = None,
        on_fork: Callable[..., Any] | None = None,
    ) -> None:
        self.agent = agent
        self.tool_names = list(tool_names) if tool_names is not None else None
        self.on_fork = on_fork
        self.run: Run | None = None
        self.loaded: tuple[str, int] | None = None
        self._original_keys: dict[str, Any] = {}
        self._loading = False

        self.step = css(
            W.Dropdown(
                options=[], description="step", style={"description_width": "initial"}, layout=W.Layout(width="170px")
            ),
            "anb-fork-step",
        )
        self.step.observe(self._step_changed, names="value")
        self.source = W.HTML()
        self.messages_error = error_label("anb-messages-error")
        self.message_list = MessageList("anb-add-message", max_height="360px", beside_add=self.messages_error)
        self.state_json = css(W.Textarea(layout=W.Layout(width="100%", height="110px")), "anb-state-json")
        self.state_hint = W.HTML()
        self.state_error = error_label("anb-state-error")
        self.reply_toggle = css(
            W.Checkbox(value=False, description="Replace this step's LLM reply", indent=False), "anb-reply-toggle"
        )
        self.reply_mode = css(
            W.ToggleButtons(options=["text", "tool calls"], value="text", style={"button_width": "90px"}),
            "anb-reply-mode",
        )
        self.reply_text = css(W.Textarea(layout=W.Layout(width="100%", height="80px")), "anb-reply-text")
        self.reply_error = error_label("anb-reply-error")
        self.reply_toggle.observe(lambda _: self._show_reply(), names="value")
        self.reply_box = W.VBox([self.reply_mode, self.reply_text], layout=W.Layout(width="100%"))
        self.tools_cached = css(
            W.Checkbox(value=False, description="tools cached (no side effects)", indent=False),
            "anb-fork-tools-cached",
        )
        self.fork_button = button("Fork", "anb-fork-button", style="primary", icon="code-fork", width="110px")
        self.fork_button.on_click(lambda _: self.submit())
        self.reset_button = button("Reset edits", "anb-fork-reset", icon="undo", width="120px")
        self.reset_button.on_click(lambda _: self.reload())
        self.status = css(W.HTML(), "anb-fork-status")
        super().__init__(
            [
                W.HBox([self.step, self.source], layout=W.Layout(align_items="center")),
                section_title("Messages", hint="edit, reorder, delete or add; tool calls and results are fixed"),
                self.message_list,
                section_title("State keys", hint="JSON; only the keys you change are sent"),
                self.state_json,
                self.state_hint,
                self.state_error,
                section_title("Reply"),
                self.reply_toggle,
                self.reply_box,
                self.reply_error,
                W.HBox(
                    [self.fork_button, self.reset_button, self.tools_cached, self.status],
                    layout=W.Layout(align_items="center", margin="6px 0 0 0", flex_flow="row wrap"),
                ),
            ],
            layout=W.Layout(width="100%"),
        )
        css(self, "anb-fork")
        self._show_reply()
        self.show_run(None)

    # ---- loading ---------------------------------------------------------------------------------------------
    def show_run(self, run: Run | None, step: int | None = None) -> None:
        """Edit `run` (the step defaults to its fork point, else its first step).

        Usage:
            >>> editor = ForkEditor(tool_names=["add"])
            >>> editor.show_run(run, step=1)
            >>> editor.step.value, [row.role.value for row in editor.rows][:4]
            (1, ['system', 'system', 'system', 'user'])
        """
        self.run = run
        self.loaded = None
        self.refresh_steps()
        if step is not None:
            self.select_step(step)

    def refresh_steps(self) -> None:
        """Update the step list (a live run gains steps); loads the default step once one exists."""
        run = self.run
        steps = sorted(run.step_starts) if run is not None else []
        options = [(f"step {s}", s) for s in steps]
        if list(self.step.options) != options:
            self._loading = True
            try:
                set_options(self.step, options, self.step.value)
            finally:
                self._loading = False
        if self.loaded is None or (run is not None and self.loaded[0] != run.run_id):
            if steps:
                default = run.fork_step if run is not None and run.fork_step in steps else steps[0]
                self.select_step(default)
            elif run is None:
                self._clear("No run yet.")
            elif run.snapshots == "off":
                self._clear("This run kept no State (recorded with snapshots='off'): it cannot be forked.")
            else:
                self._clear("No step to fork from yet." if run.status == "running" else "This run has no step to fork.")

    def select_step(self, step: int) -> None:
        """Load the State at the start of `step` into the fields (discarding unsaved edits)."""
        if self.run is None or step not in self.run.step_starts:
            raise InvalidArgument(
                f"no step {step} to fork from; steps: {sorted(self.run.step_starts) if self.run else []}"
            )
        self._loading = True
        try:
            self.step.value = step
        finally:
            self._loading = False
        self._load(step)

    def reload(self) -> None:
        """Discard the edits: reload the picked step."""
        if self.step.value is not None:
            self._load(self.step.value)

    def _step_changed(self, change: dict) -> None:
        if not self._loading and change["new"] is not None:
            self._load(change["new"])

    def _clear(self, note: str) -> None:
        self.loaded = None
        self.message_list.load([])
        self.source.value = f'<span class="anb-muted">{esc(note)}</span>'
        self.state_json.value = ""
        self.reply_text.value = ""
        self.fork_button.disabled = True
        for label in (self.messages_error, self.state_error, self.reply_error):
            set_error(label, None)

    def _load(self, step: int) -> None:
        run = self.run
        assert run is not None
        state = run.state_at_step(step)
        self.loaded = (run.run_id, step)
        self.fork_button.disabled = False
        self.source.value = (
            f'<span class="anb-muted">Forks {esc(run.kind)} {esc(run.run_id)} from the State at the '
            f"start of step {step} (before its before_llm hooks).</span>"
        )
        self.message_list.load(state.get("messages") or [])
        keys = [k for k in editable_keys(state, state_schema(self.agent)) if k != "messages"]
        shown = [k for k in keys if k not in MANAGED_KEYS]
        self._original_keys = {k: _to_json(state.get(k)) for k in shown}
        self.state_json.value = json.dumps(self._original_keys, indent=2, ensure_ascii=False)
        others = [k for k in keys if k in MANAGED_KEYS]
        self.state_hint.value = (
            f'<span class="anb-muted">Also editable (add them to the object): {esc(", ".join(others))}</span>'
            if others
            else ""
        )
        self._load_reply(run, step)
        for label in (self.messages_error, self.state_error, self.reply_error):
            set_error(label, None)
        self.status.value = ""

    def _load_reply(self, run: Run, step: int) -> None:
        llm = next((e for e in run.events if e.kind == "llm" and e.step == step), None)
        replies = (llm.detail.get("replies") if llm is not None else None) or []
        reply = replies[0] if replies else None
        self.reply_toggle.value = False
        if reply is not None and reply.tool_calls:
            calls = [{"tool_name": tc.tool_name, "arguments": tc.arguments} for tc in reply.tool_calls]
            self.reply_mode.value = "tool calls"
            self.reply_text.value = json.dumps(calls, indent=2, ensure_ascii=False, default=repr)
        else:
            self.reply_mode.value = "text"
            self.reply_text.value = (reply.text or "") if reply is not None else ""

    def _show_reply(self) -> None:
        show(self.reply_box, self.reply_toggle.value)

    # ---- message rows ----------------------------------------------------------------------------------------
    @property
    def rows(self) -> list[MessageRow]:
        """The conversation's rows, in order."""
        return self.message_list.rows

    def add_message(self, role: str = "user", text: str = "") -> MessageRow:
        """Append a new message row (user by default).

        Usage:
            >>> editor = ForkEditor(tool_names=["add"]); editor.show_run(run)
            >>> row = editor.add_message("user", "Answer in French.")
            >>> editor.rows[-1] is row, row.role.value, row.text.value
            (True, 'user', 'Answer in French.')
        """
        return self.message_list.add(role, text)

    # ---- collecting ------------------------------------------------------------------------------------------
    def collect(self) -> tuple[dict[str, Any] | None, ChatMessage | None]:
        """The edit (`{key: value}` of what changed, or None) and the replacement reply; EditError on bad input."""
        if self.run is None or self.loaded is None:
            raise EditError("state", "Nothing to fork: run the agent first.")
        edit: dict[str, Any] = {}
        originals = self.run.state_at_step(self.loaded[1]).get("messages") or []
        empty = self.message_list.empty_message()
        if empty is not None:
            raise EditError("messages", empty[1])
        messages = self.message_list.messages()
        # Rows rebuild their messages: compare by content, so an untouched conversation is not sent as an edit.
        if len(messages) != len(originals) or any(
            a.to_dict() != b.to_dict() for a, b in zip(messages, originals, strict=False)
        ):
            edit["messages"] = messages
        text = self.state_json.value.strip() or "{}"
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EditError("state", f"State keys are not valid JSON: {exc}") from None
        if not isinstance(values, dict):
            raise EditError("state", 'State keys must be a JSON object, like {"user_profile": {"name": "Ada"}}.')
        removed = [k for k in self._original_keys if k not in values]
        if removed:
            raise EditError(
                "state", f"Keys cannot be removed here: {', '.join(removed)} (set a value, e.g. null, instead)."
            )
        for key, value in values.items():
            if key not in self._original_keys or self._original_keys[key] != value:
                edit[key] = value
        reply = None
        if self.reply_toggle.value:
            reply = parse_reply(self.reply_text.value, self.reply_mode.value, self.tool_names, self.loaded[1])
        return (edit or None), reply

    def show_error(self, exc: BaseException) -> None:
        """Show an error next to the field it concerns: an `InvalidEdit`'s `field` ("reply", "messages", or a
        State key); anything else next to the State."""
        field = exc.field if isinstance(exc, InvalidEdit) else None
        label = {"messages": self.messages_error, "reply": self.reply_error}.get(field or "", self.state_error)
        set_error(label, str(exc))
        self.status.value = '<span class="anb-error-text">Not forked: fix the field marked in red.</span>'

    @property
    def errors(self) -> dict[str, str]:
        """The error texts shown now, by field (empty when none).

        Usage:
            >>> editor = ForkEditor(tool_names=["add"], on_fork=lambda **kw: None); editor.show_run(run)
            >>> editor.errors
            {}
            >>> editor.state_json.value = "{oops"; editor.submit()
            False
            >>> editor.errors  # doctest: +ELLIPSIS
            {'state': 'State keys are not valid JSON: ...'}
        """
        found = {"messages": self.messages_error, "state": self.state_error, "reply": self.reply_error}
        return {k: error_text(v) for k, v in found.items() if error_text(v)}

    def submit(self) -> bool:
        """What the Fork button does: collect, validate, start the fork; False (errors shown) if invalid.

        Usage:
            >>> forks = []
            >>> editor = ForkEditor(tool_names=["add"], on_fork=lambda **kw: forks.append(kw))
            >>> editor.show_run(run, step=1)
            >>> editor.state_json.value = '{"user_profile": {"name": "Ada"}}'; editor.submit()
            True
            >>> forks[0]["step"], forks[0]["edit"]["user_profile"]
            (1, {'name': 'Ada'})
        """
        for label in (self.messages_error, self.state_error, self.reply_error):
            set_error(label, None)
        self.status.value = '<span class="anb-muted">Forking…</span>'
        try:
            edit, reply = self.collect()
            if self.on_fork is None:
                raise EditError("state", "This editor is not connected to a workbench.")
            assert self.loaded is not None
            self.on_fork(
                step=self.loaded[1], edit=edit, reply=reply, tools="cached" if self.tools_cached.value else "live"
            )
        except RuntimeError as exc:  # busy: not a problem of any field
            self.status.value = f'<span class="anb-error-text">{esc(str(exc))}</span>'
            return False
        except (EditError, ValueError, TypeError) as exc:  # InvalidEdit is a ValueError
            self.show_error(exc)
            return False
        # The fork started and the workbench shows it (this editor now edits the fork).
        self.status.value = ""
        return True
