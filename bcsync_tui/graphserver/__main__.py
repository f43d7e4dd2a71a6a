"""``python -m bcsync_tui.graphserver --port 0 --user ann@example.com --tls``"""

import sys

from .cli import main

sys.exit(main())
