"""Sweeps: every (prompt x hook configuration) recorded, on any `concurrent.futures.Executor`.

Each task builds its own Agent with `agent_factory()`, records one run with `Recorder(agent).run(prompt,
hooks=config)`, and sends back the saved-run document (JSON text, the format of `Run.save`), never a live
object: the same code runs on threads, processes, a Dask cluster or Ray. One failing run (a raising tool, a
model error, even a factory that fails) becomes a row whose `error` says why; the others are kept.

Executors:

```python
sweep(make_agent, prompts, configs)                                   # threads (default)
sweep(make_agent, prompts, configs, executor=ProcessPoolExecutor(2))  # processes: make_agent at module level
with distributed.Client("tcp://scheduler:8786") as client:            # Dask
    sweep(make_agent, prompts, configs, executor=client.get_executor())
```

Ray: a Ray `ObjectRef` turns into a `concurrent.futures.Future` with `.future()`, so a few lines make an
Executor (not tested here: Ray is not a dependency):

```python
class RayExecutor(concurrent.futures.Executor):
    def submit(self, fn, /, *args, **kwargs):
        return ray.remote(fn).remote(*args, **kwargs).future()

sweep(make_agent, prompts, configs, executor=RayExecutor())
```

Usage:
    >>> from agent_nb import demo_agent
    >>> result = sweep(demo_agent, ["What is 2 + 3?"], {"all on": {}, "no memory": {"before_run":
    ...     {"MemoryRetrievalHook": False}}}, progress=False)
    >>> result.table[["prompt", "config", "status", "exit_reason"]].to_dict("records")[1]
    {'prompt': 'What is 2 + 3?', 'config': 'no memory', 'status': 'ok', 'exit_reason': 'text'}
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from agent_nb.errors import InvalidArgument, InvalidType
from agent_nb.recording import Column, Recorder, Run
from agent_nb.recording.context import error_text
from agent_nb.recording.hook_slots import HookConfig

#: `progress(done, total, row)`: called after each run with the row of that run.
ProgressCallback = Callable[[int, int, dict[str, Any]], None]

#: The columns of `SweepResult.table`, one row per (prompt, configuration).
SWEEP_COLUMNS: tuple[Column, ...] = (
    Column("prompt", "string", "the prompt of the run", "prompt", 40),
    Column("config", "string", "the hook configuration's name", "config", 20),
    Column("hooks", "string", "the configuration as JSON {point: {name: enabled}}", "hooks", 30),
    Column("run_id", "string", "the recorded run; NA when no run was recorded", "run", 8),
    Column("status", "string", "ok, error or stopped", "status", 7),
    Column("exit_reason", "string", "why the Agent stopped; NA after an error", "exit", 14),
    Column("steps", "Int64", "steps begun", "steps", 5),
    Column("llm_calls", "Int64", "LLM calls", "llm", 4),
    Column("prompt_tokens", "Int64", "prompt tokens; NA when unknown", "in", 6),
    Column("completion_tokens", "Int64", "completion tokens; NA when unknown", "out", 6),
    Column("tokens", "Int64", "prompt + completion tokens; NA when unknown", "tok", 6),
    Column("duration_ms", "float64", "the run's wall time", "ms", 8),
    Column("answer", "string", "text of the last message", "answer", 40),
    Column("error", "string", "why the run (or the task) failed; NA when it did not", "error", 40),
)


def _persistence() -> Any:
    """The core's run persistence (`run_to_document` / `document_to_run`)."""
    from agent_nb.recording import persist

    return persist


def run_to_text(run: Run) -> str:
    """A finished run as saved-run JSON text (what `Run.save` writes).

    Usage:
        >>> run_to_text(Run(run_id="x", status="ok"))[:10]
        '{"format":'
    """
    doc = _persistence().run_to_document(run)
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def text_to_run(text: str) -> Run:
    """A run from saved-run JSON text (JSON only: never executes code).

    Usage:
        >>> text_to_run(run_to_text(Run(run_id="x", status="ok"))).run_id
        'x'
    """
    return _persistence().document_to_run(json.loads(text))


def run_task(
    agent_factory: Callable[[], Any], prompt: str, hooks: HookConfig, label: str, agent_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """One sweep task (runs in the worker): record one run, return its document as text and any error.

    Module-level so process pools and Dask can pickle it.

    Usage:
        >>> from agent_nb import demo_agent
        >>> out = run_task(demo_agent, "What is 2 + 3?", {}, "all on", {})
        >>> out["error"], text_to_run(out["document"]).label
        (None, 'all on')
    """
    started = time.perf_counter()
    run: Run | None = None
    error: str | None = None
    try:
        rec = Recorder(agent_factory())
        try:
            run = rec.run(prompt, hooks=hooks or None, **agent_kwargs)
        except Exception as exc:  # the Recorder keeps the partial run with its error
            run, error = rec.last_run, error_text(exc)
    except Exception as exc:  # the factory or the hook configuration failed: no run at all
        error = error_text(exc)
    document = None
    if run is not None:
        run.label = label
        try:
            document = run_to_text(run)
        except Exception as exc:
            error = error or f"the run could not be saved: {type(exc).__name__}: {exc}"
    return {"document": document, "error": error, "seconds": time.perf_counter() - started}


@dataclass
class SweepResult:
    """What `sweep` returns: `table` (one row per run, `SWEEP_COLUMNS`) and `runs` (a Run or None per row).

    Usage:
        >>> result = SweepResult(table=pd.DataFrame(), runs=[])
        >>> result.ok.empty
        True
    """

    table: pd.DataFrame
    runs: list[Run | None] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> pd.DataFrame:
        """The rows of runs that ended without an error."""
        if self.table.empty:
            return self.table
        return self.table[self.table["error"].isna()]

    @property
    def failed(self) -> pd.DataFrame:
        """The rows of runs (or tasks) that failed."""
        if self.table.empty:
            return self.table
        return self.table[self.table["error"].notna()]

    def to_parquet(self, folder: str | os.PathLike[str]) -> str:
        """Append the recorded runs to a Parquet dataset (see `agent_nb.export.to_parquet`)."""
        from agent_nb.export.datasets import to_parquet

        return to_parquet([r for r in self.runs if r is not None], folder)

    def __repr__(self) -> str:
        rate = f", {len(self.runs) / self.seconds:.1f} runs/s" if self.seconds else ""
        return f"<SweepResult {len(self.runs)} runs, {len(self.failed)} failed{rate}>"


def _label(config: HookConfig) -> str:
    off = [f"{p}/{n}" for p, names in config.items() for n, on in names.items() if not on]
    on = [f"{p}/{n}" for p, names in config.items() for n, on in names.items() if on]
    if not off and not on:
        return "default"
    parts = (["off: " + ", ".join(off)] if off else []) + (["on: " + ", ".join(on)] if on else [])
    return "; ".join(parts)


def _configs(hook_configs: Mapping[str, HookConfig] | Iterable[HookConfig] | None) -> list[tuple[str, HookConfig]]:
    if hook_configs is None:
        return [("default", {})]
    items = list(hook_configs.items()) if isinstance(hook_configs, Mapping) else [(None, c) for c in hook_configs]
    out = []
    for i, (name, config) in enumerate(items):
        config = config or {}
        if not isinstance(config, Mapping) or not all(isinstance(v, Mapping) for v in config.values()):
            raise InvalidType(f"hook_configs[{name or i}] must map hook points to {{name: True/False}}, got {config!r}")
        plain = {str(p): {str(n): bool(v) for n, v in names.items()} for p, names in config.items()}
        out.append((str(name) if name is not None else _label(plain), plain))
    if not out:
        raise InvalidArgument("hook_configs is empty: pass at least one configuration ({} for the Agent's own hooks)")
    return out


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    ip = get() if get is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _progress_bar(total: int) -> tuple[ProgressCallback, Callable[[], None]] | None:
    """A notebook progress bar (tqdm's widget form), imported only when a notebook is running."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    bar = tqdm(total=total, desc="sweep", unit="run")

    def update(done: int, total: int, row: dict[str, Any]) -> None:
        bar.update(1)
        if row.get("error"):
            bar.set_postfix_str("last error: " + str(row["error"])[:60])

    return update, bar.close


def _row(prompt: str, label: str, config: HookConfig, run: Run | None, error: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"prompt": prompt, "config": label, "hooks": json.dumps(config, sort_keys=True)}
    if run is not None:
        from agent_nb.export.datasets import run_columns

        cols = run_columns(run)
        prompt_tokens, completion_tokens = cols["run_prompt_tokens"], cols["run_completion_tokens"]
        tokens = None if prompt_tokens is None or completion_tokens is None else prompt_tokens + completion_tokens
        row.update(
            run_id=run.run_id,
            status=run.status,
            exit_reason=run.exit_reason,
            steps=run.steps,
            llm_calls=cols["run_llm_calls"],
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            tokens=tokens,
            duration_ms=run.duration_ms,
            answer=run.final_answer,
        )
    else:
        row["status"] = "error"
    row["error"] = error if error is not None else (run.error if run is not None else None)
    return row


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[c.name for c in SWEEP_COLUMNS])
    return frame.astype({c.name: c.dtype for c in SWEEP_COLUMNS})


def sweep(
    agent_factory: Callable[[], Any],
    prompts: str | Iterable[str],
    hook_configs: Mapping[str, HookConfig] | Iterable[HookConfig] | None = None,
    executor: Executor | None = None,
    progress: ProgressCallback | bool | None = None,
    *,
    max_workers: int | None = None,
    **agent_kwargs: Any,
) -> SweepResult:
    """Record every (prompt x hook configuration) on `executor` and return a table of one row per run.

    `agent_factory()` builds a fresh Agent per run (a module-level function for processes and Dask).
    `hook_configs`: a dict of named configurations or a list (named after the hooks they switch), each
    `{point: {hook name: enabled}}`; `{}` is the Agent's own hooks. `executor`: any
    `concurrent.futures.Executor`; None uses a thread pool of `max_workers` (default: the CPU count, at most
    4) that the sweep shuts down. `progress`: a callback `progress(done, total, row)`, False for none, or None
    for a progress bar when running in a notebook. `agent_kwargs` go to every `Agent.run`.

    Usage:
        >>> from agent_nb import demo_agent
        >>> seen = []
        >>> result = sweep(demo_agent, ["What is 2 + 3?", "Weather in Paris?"], [{}],
        ...                progress=lambda done, total, row: seen.append((done, total)))
        >>> len(result.table), sorted(seen)
        (2, [(1, 2), (2, 2)])
    """
    if not callable(agent_factory):
        raise InvalidType(f"agent_factory must be a function that builds an Agent, got {type(agent_factory).__name__}")
    prompt_list = [prompts] if isinstance(prompts, str) else list(prompts)
    for i, prompt in enumerate(prompt_list):
        if not isinstance(prompt, str):
            raise InvalidType(f"prompts[{i}] is a {type(prompt).__name__}, not a str")
    configs = _configs(hook_configs)
    if isinstance(executor, ProcessPoolExecutor):
        try:
            pickle.dumps(agent_factory)
        except Exception as exc:
            raise InvalidType(
                f"agent_factory {agent_factory!r} cannot be sent to worker processes ({exc}); "
                "define it as a module-level function"
            ) from exc
    tasks = [(p, label, config) for p in prompt_list for label, config in configs]
    total = len(tasks)

    callback: ProgressCallback | None = None
    close: Callable[[], None] | None = None
    if callable(progress):
        callback = progress
    elif progress is None and _in_notebook():
        bar = _progress_bar(total)
        if bar is not None:
            callback, close = bar

    own = executor is None
    pool = ThreadPoolExecutor(max_workers=max_workers or min(4, os.cpu_count() or 1)) if own else executor
    started = time.perf_counter()
    rows: list[dict[str, Any] | None] = [None] * total
    runs: list[Run | None] = [None] * total
    try:
        futures: dict[Future, int] = {
            pool.submit(run_task, agent_factory, p, config, label, agent_kwargs): i  # type: ignore[union-attr]
            for i, (p, label, config) in enumerate(tasks)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            i = futures[future]
            prompt, label, config = tasks[i]
            run, error = None, None
            try:
                out = future.result()
                error = out["error"]
                if out["document"] is not None:
                    run = text_to_run(out["document"])
            except Exception as exc:  # the task itself failed (a worker died, pickling): keep the others
                error = error_text(exc)
            runs[i] = run
            rows[i] = _row(prompt, label, config, run, error)
            if callback is not None:
                try:
                    callback(done, total, rows[i])  # type: ignore[arg-type]
                except Exception:  # a broken progress display must not lose the sweep
                    callback = None
    finally:
        if own:
            pool.shutdown(wait=True)  # type: ignore[union-attr]
        if close is not None:
            close()
    return SweepResult(
        table=_frame([r for r in rows if r is not None]), runs=runs, seconds=time.perf_counter() - started
    )
