"""The CLI fixtures (own --home, no real keyring, crontab or systemd) for the security tests."""

from tests.cli.conftest import _isolated_env, cli, home  # noqa: F401 - pytest fixtures
