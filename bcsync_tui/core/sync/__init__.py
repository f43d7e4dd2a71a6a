"""The sync engine: a pure planner, a small executor, transports, and an async wrapper."""
