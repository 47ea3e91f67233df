"""`python -m bundle manifest [--check]` and `python -m bundle pack [--out DIR]`."""

import sys

from bundle.cli import main

if __name__ == "__main__":
    sys.exit(main())
