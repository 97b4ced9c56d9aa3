"""Reference solutions of notebook 12 (comparing runs)."""

from agent_nb import Run, compare


def first_missing_step(a: Run, b: Run) -> int | None:
    """Exercise 12.1: the first step with an event in one run only, or None when every event has its match."""
    table = compare(a, b)
    one_sided = table[table["status_a"].isna() | table["status_b"].isna()]
    return None if one_sided.empty else int(one_sided["step"].min())
