"""`python -m agent_nb ...` is the `agent-nb` command.

Usage:
    $ python -m agent_nb demo --out out/demo
    $ python -m agent_nb report out/demo/run.json
"""

import sys

from agent_nb.cli import main

if __name__ == "__main__":
    sys.exit(main())
