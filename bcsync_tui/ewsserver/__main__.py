"""``python -m bcsync_tui.ewsserver --port 0 --user ann@example.com:secret``"""

import sys

from .cli import main

sys.exit(main())
