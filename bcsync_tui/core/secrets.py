"""Passwords and tokens: the OS keyring when one works, else a 0600 file beside the store.

Never in the store, a log or ``--json`` output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .paths import FileProblem, write_private_file

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


class SecretsFileError(FileProblem):
    """The secrets file does not parse: it holds other profiles' passwords, so it is never written over."""

    def __init__(self, file: Path, problem: str):
        super().__init__(file, f"(bcsync's secrets file) {problem}",
                         "It may hold other profiles' passwords, so bcsync does not write over it: repair it, or "
                         "move it away and set each profile's password again (`bcsync setup --password-stdin`).")


class SecretStore:
    def __init__(self, file: Path):
        self.file = file
        self._kr = _keyring()
        self._stored_in: str | None = None  # where the last ``set`` really put the secret

    @property
    def where(self) -> str:
        """Where secrets go here; after ``set``, where that secret really went."""
        if self._stored_in:
            return self._stored_in
        return "the OS keyring" if self._kr else self._file_where

    @staticmethod
    def _key(profile: str, kind: str) -> str:
        return f"{profile}:{kind}"

    @property
    def _file_where(self) -> str:
        return f"{self.file} (readable only by you)"

    def _read_file(self) -> dict[str, str]:
        try:
            raw = self.file.read_bytes()
        except FileNotFoundError:
            return {}
        except IsADirectoryError:
            raise SecretsFileError(self.file, "is a directory, not a file") from None
        except OSError as exc:
            raise SecretsFileError(self.file, f"cannot be read ({exc.strerror or exc})") from None
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise SecretsFileError(self.file, "is damaged (not valid JSON)") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SecretsFileError(self.file, "does not hold what bcsync writes there (names and secrets)")
        return data

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
        """Store the secret; ``where`` then says where it really went. The keyring is read back:
        one that accepts a secret and does not keep it is not trusted."""
        key = self._key(profile, kind)
        why = ""
        if self._kr:
            try:
                self._kr.set_password(SERVICE, key, value)
                if self._kr.get_password(SERVICE, key) == value:
                    self._stored_in = "the OS keyring"
                    return
                why = "the OS keyring did not keep it"
            except Exception as exc:  # keyring locked or refused: fall back to the private file
                why = f"the OS keyring refused it ({type(exc).__name__})"
        data = self._read_file()
        data[key] = value
        write_private_file(self.file, json.dumps(data, indent=1).encode())
        self._stored_in = self._file_where + (f", because {why}" if why else "")

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
