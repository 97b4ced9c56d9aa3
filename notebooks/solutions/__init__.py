"""
Reference solutions and checkers for the notebook exercises.

`checks` holds one checker per exercise: it runs your answer on the offline demo agent and asserts what it must do,
with a hint that says what went wrong. `nb01` ... `nb14` hold the reference solutions, one module per notebook. They
are not on the notebooks' pages (GitHub and nbviewer show hidden cells): each notebook points here, and
tests/test_course_checkers.py runs every solution through its checker.
"""
