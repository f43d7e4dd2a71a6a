"""The Graph tests run isolated as the CLI tests do (own --home and config dir, no keyring) and may use
the command line fixtures."""

from __future__ import annotations

from tests.cli.conftest import _isolated_env, cli, home  # noqa: F401 - fixtures, shared with the CLI tests
