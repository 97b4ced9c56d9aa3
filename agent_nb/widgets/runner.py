"""`Runner`: runs one recorded job (run, replay or fork) on a background thread, with a throttled refresh tick.

The kernel's main thread stays free, so the widgets answer clicks (Stop, hook switches, confirmations) while
the Agent runs. The Recorder's listener only sets flags; a ticker thread calls `on_tick` at most every
`interval` seconds, so a fast run sends a handful of widget updates instead of one per event.

Usage:
    >>> from agent_nb import Recorder, demo_agent
    >>> rec = Recorder(demo_agent())
    >>> ticks = []
    >>> runner = Runner(rec, on_tick=ticks.append)   # a live view would refresh itself here
    >>> job = runner.start(lambda: rec.run("What is 2 + 3?"), "run")
    >>> runner.wait(10), job.result.status
    (True, 'ok')
    >>> runner.close()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent_nb.errors import InvalidState
from agent_nb.recording import Event, Recorder, Run

logger = logging.getLogger("agent_nb")


@dataclass(eq=False)
class Job:
    """One background job: what it is, its live Run once started, and its outcome.

    Usage:
        >>> Job("run").busy
        True
    """

    label: str
    run: Run | None = None
    result: Run | None = None
    error: BaseException | None = None
    started_at: float = field(default_factory=time.perf_counter)
    stop_requested: bool = False
    started: threading.Event = field(default_factory=threading.Event)
    #: Set once `on_start` has run (on the refresh thread, or after the run when it ended first).
    announced: threading.Event = field(default_factory=threading.Event)
    _announce_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    done: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """True until the job's work has ended (the final refresh may still be running; `Runner.wait` covers it)."""
        return not self.done.is_set()

    @property
    def elapsed_s(self) -> float:
        """Seconds since the job started."""
        return time.perf_counter() - self.started_at


class Runner:
    """Runs one job at a time on a daemon thread and keeps the views in step, throttled.

    Callbacks (all optional; exceptions in them are logged, never raised into the run):
    - `on_start(job)`: the job's Run exists (called on the refresh thread, never on the Agent's: building the
      views must not count in the run's recorded time);
    - `on_tick(chart_due)`: periodic refresh while the job runs; `chart_due` is True at most every `chart_every` s
      and only when new events arrived;
    - `on_done(job)`: the job ended (ok, stopped or raised), on the job's thread; `wait()` returns after it;
    - `on_other(run)`: a run not started by this Runner began or ended (e.g. `rec.run` in another cell).

    Usage:
        >>> done = []
        >>> runner = Runner(rec, on_done=done.append)
        >>> job = runner.start(lambda: rec.run("What is 2 + 3?"), "run")
        >>> runner.wait(timeout=30), done == [job], runner.busy
        (True, True, False)
        >>> runner.close()
    """

    def __init__(
        self,
        recorder: Recorder,
        *,
        on_start: Callable[[Job], None] | None = None,
        on_tick: Callable[[bool], None] | None = None,
        on_done: Callable[[Job], None] | None = None,
        on_other: Callable[[Run], None] | None = None,
        interval: float = 0.3,
        chart_every: float = 1.5,
    ) -> None:
        self.recorder = recorder
        self.on_start, self.on_tick, self.on_done, self.on_other = on_start, on_tick, on_done, on_other
        self.interval, self.chart_every = interval, chart_every
        self.job: Job | None = None
        self.dirty = False
        self._last_chart = 0.0
        self._lock = threading.Lock()
        self._unsubscribe = recorder.subscribe(self._listen)

    # ---- state -----------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a job's run executes."""
        return self.job is not None and self.job.busy

    @property
    def live(self) -> Run | None:
        """The Run of the current job while it runs, else None."""
        job = self.job
        return job.run if job is not None and job.busy else None

    # ---- control ---------------------------------------------------------------------------------------------
    def start(self, fn: Callable[[], Run], label: str = "run") -> Job:
        """Start `fn` (which records one run and returns it) on a background thread; RuntimeError when busy.

        Usage:
            >>> runner = Runner(rec)
            >>> job = runner.start(lambda: rec.run("hi"), "run")
            >>> runner.wait(timeout=30), job.result.status
            (True, 'ok')
            >>> runner.close()
        """
        with self._lock:
            if self.busy:
                raise InvalidState("a run is in progress: stop it or wait for it (wb.stop(), wb.wait())")
            job = Job(label)
            self.job = job
            self.dirty = True
            job.thread = threading.Thread(target=self._work, args=(job, fn), name=f"agent_nb-{label}", daemon=True)
        job.thread.start()
        threading.Thread(target=self._tick_loop, args=(job,), name="agent_nb-refresh", daemon=True).start()
        return job

    def stop(self) -> bool:
        """Ask the current job's run to stop at the next step boundary; True if there was one to stop.

        Usage:
            >>> import threading
            >>> runner, gate = Runner(rec), threading.Event()
            >>> spec = RunSpec(messages=as_messages("Weather in Paris and Tokyo"), on_start=runner.claim)
            >>> job = runner.start(lambda: gate.wait(10) and rec.execute(spec), "run")
            >>> runner.stop()
            True
            >>> gate.set(); runner.wait(timeout=30)
            True
            >>> job.result.exit_reason
            'stopped_by_user'
            >>> runner.stop()   # nothing running any more
            False
            >>> runner.close()
        """
        job = self.job
        if job is None or not job.busy:
            return False
        job.stop_requested = True
        if job.run is not None:
            job.run.stop()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current job (and its final refresh); True when nothing is running any more.

        Usage:
            >>> runner = Runner(rec)
            >>> runner.wait(timeout=30)   # no job yet
            True
            >>> job = runner.start(lambda: rec.run("What is 2 + 3?"), "run")
            >>> runner.wait(timeout=30), job.busy
            (True, False)
            >>> runner.close()
        """
        job = self.job
        if job is None or job.thread is None:
            return True
        job.thread.join(timeout)
        return not job.thread.is_alive()

    def close(self) -> None:
        """Stop listening to the Recorder."""
        self._unsubscribe()

    def claim(self, run: Run) -> None:
        """Make `run` the current job's run: give it as a RunSpec's `on_start` (called on the job's thread, before
        the Agent's first step). Recorder listeners run on a dispatcher thread, so they cannot tell whose run it is.

        Usage:
            >>> runner = Runner(rec)
            >>> spec = RunSpec(messages=as_messages("What is 2 + 3?"))
            >>> spec.on_start = runner.claim
            >>> job = runner.start(lambda: rec.execute(spec), "run")
            >>> runner.wait(timeout=30), job.run is job.result
            (True, True)
            >>> runner.close()
        """
        job = self.job
        if job is None or job.run is not None or threading.current_thread() is not job.thread:
            return
        job.run = run
        if job.stop_requested:
            run.stop()
        job.started.set()  # wakes the refresh thread, which announces the run (on_start) off this thread
        self.dirty = True

    def _announce(self, job: Job) -> None:
        with job._announce_lock:
            if job.announced.is_set() or job.run is None:
                return
            self._call(self.on_start, job)
            job.announced.set()

    # ---- threads ---------------------------------------------------------------------------------------------
    def _listen(self, run: Run, event: Event | None) -> None:
        job = self.job
        # A Recorder that calls listeners on the Agent's thread: the job's own run announces itself from the
        # job's thread (`claim` through RunSpec.on_start is the way that works with the dispatcher thread).
        if (
            job is not None
            and job.run is None
            and event is None
            and threading.current_thread() is job.thread
            and run.status == "running"
        ):
            self.claim(run)
            return
        if job is not None and run is job.run:
            self.dirty = True
        elif event is None:
            self._call(self.on_other, run)

    def _work(self, job: Job, fn: Callable[[], Run]) -> None:
        try:
            job.result = fn()
        except BaseException as exc:  # shown in the workbench; a partial run keeps its events
            job.error = exc
        finally:
            job.started.set()
            self._announce(job)  # a run that ended before the refresh thread announced it
            job.done.set()
            self.dirty = False
            self._call(self.on_done, job)

    def _tick_loop(self, job: Job) -> None:
        job.started.wait()
        # The first refresh waits one interval: a short run ends before any view work competes with the
        # Agent's thread for the interpreter (the GIL), and a long one is announced within `interval` s.
        if not job.done.wait(self.interval):
            self._announce(job)
        while not job.done.wait(self.interval):
            chart_due = self.dirty and time.perf_counter() - self._last_chart >= self.chart_every
            if chart_due:
                self._last_chart = time.perf_counter()
            self.dirty = False
            self._call(self.on_tick, chart_due)

    @staticmethod
    def _call(callback: Callable[..., None] | None, *args: object) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # a broken view must never break the run it shows
            logger.exception("agent_nb workbench refresh failed")
