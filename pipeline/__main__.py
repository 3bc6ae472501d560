"""`python -m pipeline`: hand over to the CLI, then leave without the interpreter's teardown."""

import logging
import os
import sys

from pipeline.cli import main

if __name__ == "__main__":  # not when a worker process re-imports this module
    code = main()
    # Everything a finished command owes is done (files written and renamed, the extraction
    # workers stopped, the lock released with the process). Tearing down the interpreter would
    # free openai's, pydantic's and the other modules' objects one by one: 0.1-0.3 s on an idle
    # machine, seconds on a busy one, before the shell gets its prompt back.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a reader that left (`status | head`): nothing more to say
            pass
    os._exit(code)
