"""Passwords and tokens: the OS keyring when one works, else a 0600 file beside the store.

Never in the store, a log or ``--json`` output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .paths import write_private_file

SERVICE = "bcsync-tui"
NO_KEYRING_ENV = "BCSYNC_NO_KEYRING"


def _keyring():
    """The keyring module if a real backend is usable here, else None."""
    if os.environ.get(NO_KEYRING_ENV):
        return None
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or "chainer" in type(backend).__module__ and not backend.backends:
            return None
        if getattr(backend, "priority", 1) <= 0:
            return None
        return keyring
    except Exception:  # a broken keyring setup must not stop the tool: use the file
        return None


class SecretStore:
    def __init__(self, file: Path):
        self.file = file
        self._kr = _keyring()

    @property
    def where(self) -> str:
        return "the OS keyring" if self._kr else f"{self.file} (readable only by you)"

    @staticmethod
    def _key(profile: str, kind: str) -> str:
        return f"{profile}:{kind}"

    def _read_file(self) -> dict[str, str]:
        try:
            return json.loads(self.file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def get(self, profile: str, kind: str = "password") -> str | None:
        key = self._key(profile, kind)
        if self._kr:
            try:
                value = self._kr.get_password(SERVICE, key)
                if value is not None:
                    return value
            except Exception:
                pass
        return self._read_file().get(key)

    def set(self, profile: str, value: str, kind: str = "password") -> None:
        key = self._key(profile, kind)
        if self._kr:
            try:
                self._kr.set_password(SERVICE, key, value)
                return
            except Exception:
                pass  # keyring locked or refused: fall back to the private file
        data = self._read_file()
        data[key] = value
        write_private_file(self.file, json.dumps(data, indent=1).encode())

    def delete(self, profile: str, kind: str = "password") -> None:
        key = self._key(profile, kind)
        if self._kr:
            try:
                self._kr.delete_password(SERVICE, key)
            except Exception:
                pass
        data = self._read_file()
        if data.pop(key, None) is not None:
            write_private_file(self.file, json.dumps(data, indent=1).encode())
