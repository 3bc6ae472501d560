"""`python -m pipeline`: hand over to the CLI, then leave without the interpreter's teardown.

An extraction worker process re-imports this module (as `__mp_main__`): it imports nothing
more than the three standard modules below, so the worker's start-up does not pay for the CLI.
"""

import logging
import os
import sys

if __name__ == "__main__":
    from pipeline.cli import main

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
