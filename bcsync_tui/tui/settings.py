"""The TUI's own preferences (theme, sort order) in ``settings.json`` beside the config, mode 0600."""

from __future__ import annotations

import json
from typing import Any

from ..core.paths import Paths, write_private_file


def load_settings(paths: Paths) -> dict[str, Any]:
    try:
        data = json.loads(paths.settings_file.read_text())
    except (OSError, ValueError):
        return {}  # missing or hand-damaged: start from the defaults rather than refuse to open
    return data if isinstance(data, dict) else {}


def save_settings(paths: Paths, **changes: Any) -> None:
    """Merge ``changes`` into the saved settings (other keys, e.g. the CLI's, are kept)."""
    data = load_settings(paths)
    if all(data.get(k) == v for k, v in changes.items()):
        return
    data.update(changes)
    write_private_file(paths.settings_file, json.dumps(data, indent=1, sort_keys=True).encode())
