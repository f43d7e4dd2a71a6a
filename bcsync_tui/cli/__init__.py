"""The headless command line: ``bcsync`` (see docs/cli.md). ``main`` is the console script."""

from .main import main

__all__ = ["main"]
