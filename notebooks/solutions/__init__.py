"""
Reference solutions and checkers for the notebook exercises.

`checks` holds one checker per exercise: it runs your hook on the offline demo agent and asserts what the hook
must do, with a message that says what went wrong. `nb01` ... `nb06` hold the reference solutions, one module per
notebook; the notebooks import them in a collapsed cell, and every build runs them through their checkers.
"""
