"""Many runs to one Parquet dataset: the timeline rows of every run plus run-level columns, cheap to append.

Layout: every call of `to_parquet` writes one new file under its own hive partition, so an append never
rewrites what is there and readers see whole batches only:

```
folder/
  batch=20261130T181500.123456Z-1a2b3c4d/part-0.parquet
  batch=20261130T183000.654321Z-5e6f7a8b/part-0.parquet
```

Batch names sort in the order they were written (a microsecond UTC stamp first), and `read_parquet` returns the
batches in that order, each in the order its runs were given.

Schema (version `DATASET_SCHEMA_VERSION`, stored in each file's metadata under `agent_nb.dataset.schema_version`):
the timeline columns of `agent_nb.recording.events.TIMELINE_SCHEMA` (categoricals as strings, `changed` and
`agent_changed` as lists of strings), then `RUN_COLUMNS` (one value per run, repeated on each of its rows), then
the `batch` partition. Read it back with `read_parquet` (declared dtypes), pandas, or DuckDB:

```sql
SELECT name, sum(messages_added) FROM read_parquet('folder/**/*.parquet', hive_partitioning = true)
WHERE kind = 'hook' GROUP BY name
```

Versions: 2 added `agent_changed` and took the Agent's bookkeeping keys (step_count, token_usage...) out of
the `changed` of LLM and tool rows (version 1 listed them there). A reader checks the version before relying
on a column.

Usage:
    >>> import tempfile
    >>> from agent_nb.recording import Event, Run
    >>> run = Run(run_id="r1", status="ok", duration_ms=2.0, events=[
    ...     Event("r1", 0, None, "hook", "before_run", "memory", "ok", 0.1, 0.2, changed=["messages"])])
    >>> folder = tempfile.mkdtemp()
    >>> _ = to_parquet([run], folder)
    >>> read_parquet(folder)[["run_id", "name", "changed", "run_status"]].to_dict("records")
    [{'run_id': 'r1', 'name': 'memory', 'changed': ['messages'], 'run_status': 'ok'}]
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from agent_nb.errors import AgentNbError, InvalidArgument, InvalidType
from agent_nb.recording import TIMELINE_SCHEMA, Column, Run

#: Version of the dataset layout; bumped when a column changes meaning (adding columns keeps old readers working).
DATASET_SCHEMA_VERSION = 2
_VERSION_KEY = b"agent_nb.dataset.schema_version"

#: Run-level columns, repeated on every row of the run.
RUN_COLUMNS: tuple[Column, ...] = (
    Column("run_kind", "string", "run, replay or fork", "run kind", 6),
    Column("run_parent_id", "string", "the run this one replays or forks; NA for a plain run", "parent", 8),
    Column("run_fork_step", "Int64", "the step a fork resumed at; NA otherwise", "fork@", 5),
    Column("run_label", "string", "the run's label (a sweep writes its hook configuration name here)", "label", 16),
    Column("run_prompt", "string", "text of the run's input messages, one per line", "prompt", 40),
    Column("run_generator", "string", "the chat generator class", "generator", 16),
    Column("run_hook_config", "string", "JSON {point: {name: enabled}} the run used", "hooks", 30),
    Column("run_hooks_disabled", "object", 'hooks switched off, as "point/name"', "off", 20),
    Column("run_status", "string", "ok, error, stopped", "status", 7),
    Column("run_exit_reason", "string", "why the Agent stopped; NA after an error", "exit", 12),
    Column("run_error", "string", "exception type and message; NA when none", "error", 30),
    Column("run_answer", "string", "text of the last message", "answer", 40),
    Column("run_steps", "Int64", "steps begun", "steps", 5),
    Column("run_llm_calls", "Int64", "LLM calls that reached the generator", "llm", 4),
    Column("run_prompt_tokens", "Int64", "prompt tokens of the run's own calls; NA if any count is unknown", "in", 6),
    Column("run_completion_tokens", "Int64", "completion tokens; NA if any count is unknown", "out", 6),
    Column("run_duration_ms", "float64", "wall time of the run", "ms", 8),
    Column("run_started_unix_ns", "Int64", "wall clock at the run's start, ns since the epoch", "start", 12),
    Column(
        "run_fingerprint", "string", "fingerprint of the Agent definition (JSON), when the run carries one", "fp", 12
    ),
    Column("run_fingerprint_sha256", "string", "SHA-256 of that JSON: runs of the same Agent share it", "agent", 12),
)
DATASET_SCHEMA: tuple[Column, ...] = (*TIMELINE_SCHEMA, *RUN_COLUMNS)
_NAMES = frozenset(c.name for c in DATASET_SCHEMA)


class DatasetError(AgentNbError, ValueError):
    """A folder that is not an agent_nb dataset, or one written by a newer schema version.

    Usage:
        >>> import tempfile
        >>> try:
        ...     read_parquet(tempfile.mkdtemp())
        ... except DatasetError as exc:
        ...     print(str(exc).split(": ", 1)[1])
        not an agent_nb dataset (write one with to_parquet)
    """


def _arrow_type(column: Column) -> Any:
    import pyarrow as pa

    if column.name in ("changed", "agent_changed", "run_hooks_disabled"):
        return pa.list_(pa.string())
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) or dtype == "string":
        return pa.string()
    if dtype in ("int64", "Int64"):
        return pa.int64()
    if dtype == "float64":
        return pa.float64()
    raise TypeError(f"no Arrow type declared for column {column.name} ({dtype})")


def arrow_schema() -> Any:
    """The dataset's Arrow schema, derived from `DATASET_SCHEMA`, with the schema version in its metadata.

    Usage:
        >>> arrow_schema().field("changed").type
        ListType(list<item: string>)
    """
    import pyarrow as pa

    fields = [pa.field(c.name, _arrow_type(c), nullable=c.dtype != "int64") for c in DATASET_SCHEMA]
    return pa.schema(fields, metadata={_VERSION_KEY: str(DATASET_SCHEMA_VERSION).encode()})


def _known_sum(values: list[Any]) -> int | None:
    """The sum of token counts, or None when any is unknown (unknown stays unknown)."""
    total = 0
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return None
        total += int(value)
    return total


def fingerprint_json(run: Run) -> str | None:
    """The run's Agent fingerprint as canonical JSON (sorted keys), or None when it has none.

    Usage:
        >>> fingerprint_json(Run(run_id="x")) is None
        True
    """
    fingerprint = getattr(run, "fingerprint", None)
    if fingerprint is None:
        return None
    if isinstance(fingerprint, str):
        return fingerprint
    return json.dumps(fingerprint, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint_sha256(run: Run) -> str | None:
    """SHA-256 (hex) of `fingerprint_json(run)`: one short key per Agent definition.

    Usage:
        >>> fingerprint_sha256(Run(run_id="x")) is None
        True
    """
    text = fingerprint_json(run)
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None


def run_columns(run: Run) -> dict[str, Any]:
    """The run-level values of one run (the `RUN_COLUMNS`).

    Usage:
        >>> from agent_nb.recording import Run
        >>> run_columns(Run(run_id="x", hook_config={"on_exit": {"Require": False}}))["run_hooks_disabled"]
        ['on_exit/Require']
    """
    own = [e for e in run.events if e.kind == "llm" and e.status != "cached"]
    messages = (run.inputs or {}).get("messages") or []
    return {
        "run_kind": run.kind,
        "run_parent_id": run.parent_id,
        "run_fork_step": run.fork_step,
        "run_label": run.label or None,
        "run_prompt": "\n".join(getattr(m, "text", None) or "" for m in messages) or None,
        "run_generator": run.generator or None,
        "run_hook_config": json.dumps(run.hook_config, sort_keys=True),
        "run_hooks_disabled": [f"{p}/{n}" for p, names in run.hook_config.items() for n, on in names.items() if not on],
        "run_status": run.status,
        "run_exit_reason": run.exit_reason,
        "run_error": run.error,
        "run_answer": run.final_answer,
        "run_steps": run.steps,
        "run_llm_calls": run.usage["llm_calls"],
        "run_prompt_tokens": _known_sum([e.prompt_tokens for e in own]),
        "run_completion_tokens": _known_sum([e.completion_tokens for e in own]),
        "run_duration_ms": run.duration_ms,
        "run_started_unix_ns": run.started_unix_ns,
        "run_fingerprint": fingerprint_json(run),
        "run_fingerprint_sha256": fingerprint_sha256(run),
    }


def dataset_frame(runs: Iterable[Run]) -> pd.DataFrame:
    """The rows `to_parquet` writes: every run's timeline plus its run-level columns, in `DATASET_SCHEMA` order.

    Usage:
        >>> from agent_nb.recording import Run
        >>> list(dataset_frame([Run(run_id="x", status="ok")]).columns) == [c.name for c in DATASET_SCHEMA]
        True
    """
    timelines, per_run, lengths = [], [], []
    for i, run in enumerate(runs):
        if not isinstance(run, Run):
            raise InvalidType(f"runs[{i}] is a {type(run).__name__}, not an agent_nb Run")
        if run.status == "running":
            raise InvalidArgument(f"run {run.run_id} is still running: write it when it has ended")
        timeline = run.timeline
        timelines.append(timeline)
        per_run.append(run_columns(run))
        lengths.append(len(timeline))
    if not timelines:
        timelines = [Run(run_id="").timeline]
    frame = pd.concat(timelines, ignore_index=True) if len(timelines) > 1 else timelines[0].copy()
    # Run-level values repeated per row, column by column (assigning per run would insert 19 columns per run).
    columns = {}
    for column in RUN_COLUMNS:
        values = [values[column.name] for values in per_run]
        if column.dtype == "object":
            columns[column.name] = pd.Series(
                [v for v, n in zip(values, lengths, strict=True) for _ in range(n)], dtype=object
            )
        else:
            repeated = np.repeat(np.array(values, dtype=object), lengths) if values else []
            columns[column.name] = pd.array(
                [None if v is None or v is pd.NA else v for v in repeated], dtype=column.dtype
            )
    frame = pd.concat([frame.reset_index(drop=True), pd.DataFrame(columns, index=frame.index)], axis=1)
    return frame[[c.name for c in DATASET_SCHEMA]]


def to_parquet(runs: Run | Iterable[Run], folder: str | os.PathLike[str]) -> str:
    """Append runs to the Parquet dataset in `folder` as one new batch file; returns that file's path.

    Usage:
        >>> import tempfile
        >>> from agent_nb.recording import Run
        >>> folder = tempfile.mkdtemp()
        >>> first = to_parquet(Run(run_id="a", status="ok"), folder)
        >>> second = to_parquet([Run(run_id="b", status="ok")], folder)   # a new batch beside the first
        >>> os.path.dirname(first) != os.path.dirname(second)
        True
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = dataset_frame([runs] if isinstance(runs, Run) else runs)
    columns = {}
    schema = arrow_schema()
    for field in schema:
        values = frame[field.name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("string")
        if pa.types.is_list(field.type):
            columns[field.name] = pa.array([list(v) if v is not None else [] for v in values], type=field.type)
        else:
            columns[field.name] = pa.Array.from_pandas(values, type=field.type)
    table = pa.Table.from_pydict(columns, schema=schema)
    batch = os.path.join(os.fspath(folder), f"batch={_later_stamp(folder)}-{uuid.uuid4().hex[:8]}")
    os.makedirs(batch, exist_ok=False)
    path = os.path.join(batch, "part-0.parquet")
    # Written under a dot-name, then renamed: a reader globbing *.parquet never sees half a file.
    tmp = os.path.join(batch, ".part-0.parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def _later_stamp(folder: str | os.PathLike[str]) -> str:
    """A UTC stamp, to the microsecond, later than every batch already in `folder`.

    Two appends in one clock tick (or a clock stepped back) would otherwise sort by their random suffix, and the
    rows read back would come in another order than written.
    """
    now = _dt.datetime.now(_dt.UTC).replace(tzinfo=None)
    names = os.listdir(folder) if os.path.isdir(folder) else []
    stamps = [n[len("batch=") :].split("-")[0] for n in names if n.startswith("batch=")]
    latest = max((s for s in stamps if len(s) == len("20261130T181500.123456Z")), default=None)
    if latest is not None:
        last = _dt.datetime.strptime(latest, "%Y%m%dT%H%M%S.%fZ")
        now = max(now, last + _dt.timedelta(microseconds=1))
    return now.strftime("%Y%m%dT%H%M%S.%fZ")


def read_parquet(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a dataset written by `to_parquet` into one DataFrame with the declared dtypes (plus `batch`).

    Usage:
        >>> import tempfile
        >>> from agent_nb.recording import Event, Run
        >>> run = Run(run_id="r", status="ok", events=[Event("r", 0, 0, "llm", None, "Gen", "ok", 0.0, 1.0)])
        >>> folder = tempfile.mkdtemp()
        >>> _ = to_parquet(run, folder)
        >>> read_parquet(folder).dtypes[["step", "kind", "prompt_tokens"]].astype(str).tolist()
        ['Int64', 'category', 'Int64']
    """
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    folder = os.fspath(folder)
    files = [os.path.join(d, f) for d, _, names in os.walk(folder) for f in names if f.endswith(".parquet")]
    if not files:
        raise DatasetError(f"{folder} holds no Parquet files: not an agent_nb dataset (write one with to_parquet)")
    dataset = ds.dataset(folder, format="parquet", partitioning="hive", exclude_invalid_files=True)
    version = (dataset.schema.metadata or {}).get(_VERSION_KEY)
    if version is None:
        raise DatasetError(f"{folder}: Parquet files without {_VERSION_KEY.decode()}: not an agent_nb dataset")
    if int(version) > DATASET_SCHEMA_VERSION:
        raise DatasetError(
            f"{folder}: dataset schema version {int(version)} is newer than this agent_nb reads "
            f"({DATASET_SCHEMA_VERSION}); upgrade agent_nb"
        )
    # The batch first, then each file's own row order: the order the runs were written in.
    table = dataset.to_table()
    if "batch" in table.column_names:
        table = table.take(pc.sort_indices(table, [("batch", "ascending")]))
    lists = {c.name for c in DATASET_SCHEMA if c.dtype == "object" and c.name in table.column_names}
    frame = table.drop_columns(sorted(lists)).to_pandas()
    for column in DATASET_SCHEMA:
        if column.name in lists:
            # Arrow's own to_pylist: several times faster than converting numpy arrays of arrays one by one.
            values = [v if v is not None else [] for v in table.column(column.name).to_pylist()]
            frame[column.name] = pd.Series(values, dtype=object, index=frame.index)
        elif column.name not in frame:
            continue
        else:
            frame[column.name] = frame[column.name].astype(column.dtype)
    if "batch" in frame:
        frame["batch"] = frame["batch"].astype("string")
    order = [c.name for c in DATASET_SCHEMA if c.name in frame] + [c for c in frame if c not in set(lists) | _NAMES]
    return frame[order]
