"""nbval executes every notebook in `make test`; this also fails a cell whose committed outputs no longer say what a
fresh run of it says (timings, ids, temporary paths and column padding aside: see meaning.py). A stale committed
notebook then fails CI at the cell that changed, with the committed and the fresh line side by side: rebuild it with
`python notebooks/build.py NN`. No second execution: the comparison reuses the outputs nbval just produced."""

from __future__ import annotations

import pytest
from meaning import difference


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    fresh = getattr(item, "test_outputs", None)
    cell = getattr(item, "cell", None)
    if call.when != "call" or not report.passed or fresh is None or cell is None:
        return
    if cell.get("execution_count") is None:  # a cell never run in the committed copy (07's live section)
        return
    if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):  # `# %% [measured]`: timings
        return
    if problem := difference(cell.get("outputs", []), fresh):
        report.outcome = "failed"
        report.longrepr = (
            f"the committed outputs of this cell are stale (rebuild: python notebooks/build.py "
            f"{item.path.stem[:2]}):\n{problem}"
        )
