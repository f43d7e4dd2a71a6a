"""``python -m bcsync_tui``: the same as the ``bcsync`` command."""

import sys

from .cli import main

sys.exit(main())
