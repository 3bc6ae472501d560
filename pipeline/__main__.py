"""`python -m pipeline`: hand over to the CLI."""

import sys

from pipeline.cli import main

sys.exit(main())
