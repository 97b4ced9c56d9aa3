"""Runs to a Parquet dataset, appended in batches, read back with pandas and with DuckDB."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from agent_nb import Recorder, demo_agent
from agent_nb.demo.agent import default_hooks
from agent_nb.demo.hooks import RequireToolHook
from agent_nb.demo.tools import add, get_weather, multiply, search
from agent_nb.export import DATASET_SCHEMA, DATASET_SCHEMA_VERSION, DatasetError, read_parquet, to_parquet
from agent_nb.recording import TIMELINE_COLUMNS

PROMPTS = ["What is 2 + 3?", "What is the weather in Paris?", "What do the docs say about on_exit?"]


@pytest.fixture(scope="module")
def runs():
    rec = Recorder(demo_agent())
    configs = [{}] + [{point: {name: False}} for point, names in rec.hook_config.items() for name in names]
    out = [rec.run(p, hooks=c) for p in PROMPTS for c in configs]
    # A model that cannot call save_note: the on_exit hook sends it back three times.
    hooks = default_hooks()
    hooks["on_exit"] = [RequireToolHook("save_note", max_reminders=3)]
    stubborn = Recorder(demo_agent(hooks=hooks, tools=[add, multiply, get_weather, search]))
    out.append(stubborn.run("What is 4 + 4?"))
    return out


def test_round_trip_keeps_timeline_and_run_columns(runs, tmp_path):
    to_parquet(runs[:5], tmp_path)
    to_parquet(runs[5:], tmp_path)  # an append: a second batch, the first untouched
    files = sorted(tmp_path.glob("batch=*/*.parquet"))
    assert len(files) == 2
    assert pq.read_schema(files[0]).metadata[b"agent_nb.dataset.schema_version"] == str(DATASET_SCHEMA_VERSION).encode()

    frame = read_parquet(tmp_path)
    assert len(frame) == sum(len(r.events) for r in runs)
    assert list(frame.columns) == [c.name for c in DATASET_SCHEMA] + ["batch"]
    for run in runs:
        mine = frame[frame["run_id"] == run.run_id].sort_values("seq").reset_index(drop=True)
        expected = run.timeline
        pd.testing.assert_frame_equal(mine[list(TIMELINE_COLUMNS)], expected, check_categorical=False)
        assert set(mine["run_status"]) == {run.status}
        assert set(mine["run_exit_reason"]) == {run.exit_reason}
        assert set(mine["run_prompt"]) == {run.inputs["messages"][0].text}
        assert set(mine["run_prompt_tokens"]) == {run.usage["prompt_tokens"]}
        assert set(mine["run_steps"]) == {run.steps}
        assert json.loads(mine["run_hook_config"].iloc[0]) == run.hook_config
        assert json.loads(mine["run_fingerprint"].iloc[0]) == json.loads(json.dumps(run.fingerprint, default=str))
        off = [f"{p}/{n}" for p, names in run.hook_config.items() for n, on in names.items() if not on]
        assert all(list(v) == off for v in mine["run_hooks_disabled"])


def test_runs_of_one_agent_share_a_fingerprint_key(runs, tmp_path):
    to_parquet(runs, tmp_path)
    keys = read_parquet(tmp_path).groupby("run_fingerprint_sha256")["run_id"].nunique()
    # The demo agent (every hook configuration) and the agent without save_note: two Agent definitions.
    assert sorted(keys) == [1, len(runs) - 1]


def test_duckdb_answers_questions_across_runs(runs, tmp_path):
    to_parquet(runs, tmp_path)
    source = f"read_parquet('{tmp_path}/**/*.parquet', hive_partitioning = true)"
    con = duckdb.connect()

    # Which hook added the most prompt tokens: per prompt, tokens with every hook on minus tokens with it off.
    added = con.sql(f"""
        WITH per_run AS (SELECT DISTINCT run_id, run_prompt, run_prompt_tokens, run_hooks_disabled FROM {source}
                         ),
             baseline AS (SELECT run_prompt, run_prompt_tokens AS all_on FROM per_run WHERE len(run_hooks_disabled) = 0)
        SELECT run_hooks_disabled[1] AS hook, sum(all_on - run_prompt_tokens) AS tokens_added
        FROM per_run JOIN baseline USING (run_prompt)
        WHERE len(run_hooks_disabled) = 1 GROUP BY hook ORDER BY tokens_added DESC
    """).df()
    # The same answer from the runs themselves.
    by_key = {(r.inputs["messages"][0].text, tuple(_off(r))): r.usage["prompt_tokens"] for r in runs[:-1]}
    expected = {}
    for (prompt, off), tokens in by_key.items():
        if len(off) == 1:
            expected[off[0]] = expected.get(off[0], 0) + by_key[(prompt, ())] - tokens
    assert dict(zip(added["hook"], added["tokens_added"].astype(int), strict=True)) == expected
    assert added["hook"].iloc[0] == max(expected, key=expected.get)

    # Runs where on_exit sent the Agent back more than twice.
    loops = con.sql(f"""
        SELECT run_id, count(*) AS continues FROM {source}
        WHERE hook_point = 'on_exit' AND flow = 'continue_run' GROUP BY run_id HAVING count(*) > 2
    """).df()
    stubborn = runs[-1]
    assert list(loops["run_id"]) == [stubborn.run_id]
    assert loops["continues"].iloc[0] == sum(
        e.hook_point == "on_exit" and e.flow == "continue_run" for e in stubborn.events
    )
    # And pandas gives the same answer from read_parquet.
    frame = read_parquet(tmp_path)
    counts = frame[(frame["hook_point"] == "on_exit") & (frame["flow"] == "continue_run")].groupby("run_id").size()
    assert list(counts[counts > 2].index) == [stubborn.run_id]


def _off(run) -> list[str]:
    return [f"{p}/{n}" for p, names in run.hook_config.items() for n, on in names.items() if not on]


def test_unknown_tokens_stay_unknown_in_run_totals(runs, tmp_path):
    run = runs[0]
    llm = next(e for e in run.events if e.kind == "llm")
    saved = llm.prompt_tokens
    llm.prompt_tokens = None
    try:
        to_parquet(run, tmp_path)
    finally:
        llm.prompt_tokens = saved
    frame = read_parquet(tmp_path)
    assert frame["run_prompt_tokens"].isna().all()
    assert frame["run_completion_tokens"].notna().all()


def test_bad_input_and_foreign_folders_are_refused(tmp_path):
    with pytest.raises(TypeError, match=r"runs\[0\] is a dict"):
        to_parquet([{"run_id": "x"}], tmp_path)
    with pytest.raises(DatasetError, match="holds no Parquet files"):
        read_parquet(tmp_path)
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(DatasetError, match="not an agent_nb dataset"):
        read_parquet(tmp_path)


def test_rows_come_back_in_the_order_the_batches_were_written(runs, tmp_path):
    # Appends in quick succession, as a notebook cell does: read back in write order, run by run.
    order = [runs[-1], *runs[:3], runs[5]]
    for run in order:
        to_parquet(run, tmp_path)
    names = sorted(p.parent.name for p in tmp_path.glob("batch=*/*.parquet"))
    assert len(set(names)) == len(order)
    frame = read_parquet(tmp_path)
    assert list(frame["run_id"].drop_duplicates()) == [r.run_id for r in order]
    assert list(frame["batch"].drop_duplicates()) == [n.removeprefix("batch=") for n in names]
