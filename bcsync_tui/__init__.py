"""bcsync-tui: keep a business contact master and Outlook/Exchange contacts in sync from a terminal."""

__version__ = "0.1.0"
