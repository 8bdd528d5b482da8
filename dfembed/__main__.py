"""``python -m dfembed``: the command line (see :mod:`dfembed.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
