"""Export layer: recorded runs out to OpenTelemetry, OTLP/JSON files, Parquet datasets, and sweeps of runs.

Imports only the core (`agent_nb.recording`, `agent_nb.errors`) and pandas at import; OpenTelemetry, pyarrow,
DuckDB and Dask are optional extras (`otel`, `parquet`, `dask`) imported inside the functions that use them.

Usage:
    >>> from agent_nb.export import sweep, to_otel, to_otlp_json, to_parquet
"""

from agent_nb.export.datasets import DATASET_SCHEMA, DATASET_SCHEMA_VERSION, DatasetError, read_parquet, to_parquet
from agent_nb.export.otel import OtelListener, to_otel
from agent_nb.export.otlp_json import otlp_json_lines, to_otlp_json
from agent_nb.export.sweep import SWEEP_COLUMNS, SweepResult, sweep

__all__ = [
    "DATASET_SCHEMA",
    "DATASET_SCHEMA_VERSION",
    "SWEEP_COLUMNS",
    "DatasetError",
    "OtelListener",
    "SweepResult",
    "otlp_json_lines",
    "read_parquet",
    "sweep",
    "to_otel",
    "to_otlp_json",
    "to_parquet",
]
