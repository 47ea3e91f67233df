"""`python -m benchmarks [--quick] [--json PATH] [--only NAME,...]`."""

import sys

from benchmarks.cli import main

if __name__ == "__main__":
    sys.exit(main())
