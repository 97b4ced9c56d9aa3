"""`Controller`: what the Workbench does, apart from how it looks: jobs on the `Runner`, replay and fork specs,
compare and the divergence mark. It changes the `WorkbenchModel`; the panels follow the model.

A replay or fork is built and validated on the caller's thread (a bad edit raises before anything runs) with
one `ReplayOptions` value, and executed on the runner's thread.

Usage:
    >>> from agent_nb import Recorder, demo_agent
    >>> from agent_nb.widgets.model import WorkbenchModel
    >>> rec = Recorder(demo_agent()); model = WorkbenchModel()
    >>> control = Controller(rec, model)
    >>> first = control.outcome(control.run("What is 2 + 3?"), wait=True, timeout=30)
    >>> model.view is first, model.busy
    (True, False)
    >>> control.close()
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from haystack.dataclasses import ChatMessage

from agent_nb.errors import InvalidArgument
from agent_nb.recording import Recorder, Run, RunSpec, as_messages
from agent_nb.recording.options import ReplayOptions
from agent_nb.replay import compare
from agent_nb.replay.resume import execute_spec, fork_spec, replay_spec
from agent_nb.views.html import figure_png
from agent_nb.views.plot import plot_compare
from agent_nb.widgets.model import Compared, WorkbenchModel
from agent_nb.widgets.runner import Job, Runner

logger = logging.getLogger("agent_nb")


def first_divergent_seq(frame: pd.DataFrame, side: str = "b") -> int | None:
    """The seq (in run `side`) of the row `compare()` marks as the first divergence, or None.

    Usage:
        >>> first_divergent_seq(compare(run, fork))
        2
    """
    if frame.empty or "first_divergence" not in frame:
        return None
    rows = frame[frame["first_divergence"].fillna(False).astype(bool)]
    if rows.empty:
        return None
    seq = rows.iloc[0][f"seq_{side}"]
    return None if pd.isna(seq) else int(seq)


class Controller:
    """Runs, replays and forks on a background `Runner`, and keeps `model` in step with them."""

    def __init__(self, recorder: Recorder, model: WorkbenchModel) -> None:
        self.recorder, self.model = recorder, model
        self.runner = Runner(
            recorder, on_start=self._started, on_tick=self._tick, on_done=self._done, on_other=self._other
        )

    # ---- jobs ------------------------------------------------------------------------------------------------
    def resolve(self, run: Run | str | None) -> Run:
        """A Run from a Run, a run id, or None (the shown run)."""
        if isinstance(run, Run):
            return run
        if isinstance(run, str):
            return self.recorder.get(run)
        if self.model.view is None:
            raise InvalidArgument("No run yet: run the agent first.")
        return self.model.view

    def start(self, fn: Callable[[], Run], label: str) -> Job:
        """Start `fn` on the runner (RuntimeError when busy) and mark the model busy."""
        job = self.runner.start(fn, label)
        with self.model.lock:  # `_done` may have run already: it sets busy under the same lock
            self.model.job = job
            self.model.busy = job.busy
        return job

    def run(self, prompt: str, agent_kwargs: Mapping[str, Any] | None = None) -> Job:
        """Run the Agent on `prompt`; with breakpoints set, as a live run (`rec.start`) that may pause."""
        if self.recorder.breakpoints:
            return self.start(lambda: self._live(prompt, dict(agent_kwargs or {})), "run")
        spec = RunSpec(messages=as_messages(prompt), kwargs=dict(agent_kwargs or {}), on_start=self.runner.claim)
        return self.start(lambda: self.recorder.execute(spec), "run")

    def replay(self, source: Run, options: ReplayOptions) -> Job:
        """Replay `source` with `options` (validated here, run on the runner)."""
        spec = replay_spec(source, self.recorder, options)
        spec.on_start = self.runner.claim
        return self.start(lambda: execute_spec(self.recorder, spec), "replay")

    def fork(
        self, source: Run, step: int, edit: Any, reply: ChatMessage | list[ChatMessage] | None, options: ReplayOptions
    ) -> Job:
        """Fork `source` at `step`; a bad edit raises here, before anything runs."""
        spec = fork_spec(source, step, self.recorder, options, edit=edit, reply=reply)
        spec.on_start = self.runner.claim
        return self.start(lambda: execute_spec(self.recorder, spec), "fork")

    def _live(self, prompt: str, agent_kwargs: dict[str, Any]) -> Run:
        # On the job's thread: the live run works on its own thread; this one waits for it, so the runner's
        # refresh, Stop and `wb.wait` treat it as any job, and the kernel's thread stays free for the buttons.
        live = self.recorder.start(prompt, **agent_kwargs)
        self.model.live = live
        unsubscribe = live.subscribe(lambda *_: self._follow(live))
        self._follow(live)  # a pause that came before we subscribed
        self.runner.claim(live.run)
        try:
            return live.wait()
        finally:
            unsubscribe()
            with self.model.lock:
                self.model.paused = None
                if self.model.live is live:
                    self.model.live = None

    def _follow(self, live: Any) -> None:
        # Read and set under the lock: whichever comes last (a listener or the first look) sets the truth.
        with self.model.lock:
            if self.model.live is live:
                self.model.paused = live.paused

    def stop(self) -> bool:
        """Stop the job's run at its next step boundary; a paused live run is aborted (it cannot get there)."""
        live = self.model.live
        if live is not None and live.paused is not None:
            live.abort()
        return self.runner.stop()

    def outcome(self, job: Job, wait: bool, timeout: float | None) -> Run:
        """The job's Run: at its end (`wait`), or as soon as the views show it."""
        if wait:
            self.runner.wait(timeout)
        else:
            job.started.wait(timeout if timeout is not None else 60)
            if job.run is not None:  # the views show it before we return (announced off the Agent's thread)
                job.announced.wait(timeout if timeout is not None else 60)
        if job.run is None and job.error is not None:
            raise job.error
        run = job.run or job.result
        if run is None:
            raise TimeoutError("the run did not start in time")
        return run

    def clicked(self, action: Callable[..., Any], **kwargs: Any) -> None:
        """Button handler: run an API method and show its error instead of raising into the frontend."""
        try:
            action(**kwargs)
        except Exception as exc:
            self.model.fail(exc)

    # ---- compare ---------------------------------------------------------------------------------------------
    def divergence(self, run: Run | None, parent: Run | None = None) -> dict[str, Any]:
        """Where a finished fork or replay first departs from its parent (or `parent`): the model's `mark`."""
        if run is None or run.status == "running":
            return {}
        if parent is None:
            if not run.parent_id:
                return {}
            try:
                parent = self.recorder.get(run.parent_id)
            except Exception:
                return {}
        try:
            frame = compare(parent, run)
        except Exception:
            logger.exception("agent_nb workbench: compare for the divergence mark failed")
            return {}
        seq = first_divergent_seq(frame)
        return {"run": run, "divergence": seq, "parent": parent} if seq is not None else {}

    def compare(self, a: Run, b: Run) -> pd.DataFrame:
        """Compare two runs into the model (`compared`); returns the aligned frame."""
        frame = compare(a, b)
        png = figure_png(plot_compare(a, b, alignment=frame), dpi=100)
        self.model.compared = Compared(a, b, frame, png)
        self.model.tab = "Timeline"
        return frame

    # ---- runner callbacks ------------------------------------------------------------------------------------
    def _started(self, job: Job) -> None:
        model = self.model
        with model.lock:
            model.fail(None)
            model.notice = ""
            if job.label in ("fork", "replay"):
                model.started = job.run
            model.show(job.run)

    def _done(self, job: Job) -> None:
        model = self.model
        with model.lock:
            model.notice = ""
            if job.run is None and job.error is not None:  # failed before its run began (a late bad edit)
                model.fail(job.error)
            model.busy = False
            model.tick(chart=True)
            if job.run is not None and job.run is model.view and job.run.parent_id:
                model.mark = self.divergence(job.run)  # where the finished fork or replay departs

    def _tick(self, chart_due: bool) -> None:
        # The history (rec.tree walks every run's events) follows at the chart's slower pace.
        self.model.tick(chart=chart_due, history=chart_due)

    def _other(self, _run: Run) -> None:
        self.model.tick(chart=False, history=True)

    def close(self) -> None:
        """Stop listening to the Recorder; a live run still going is aborted (its worker ends, nothing hangs)."""
        live = self.model.live
        if live is not None:
            live.abort()
        self.runner.close()
