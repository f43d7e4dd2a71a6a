"""The Textual user interface. Imports ``core``; ``core`` never imports this package."""
