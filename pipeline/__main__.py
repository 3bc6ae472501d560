"""`python -m pipeline`: hand over to the CLI."""

import sys

from pipeline.cli import main

if __name__ == "__main__":  # not when a worker process re-imports this module
    sys.exit(main())
