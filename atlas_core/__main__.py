"""``python -m atlas_core ...``: the command line for nightly jobs and the sandbox."""

import sys

from .cli import main

sys.exit(main())
