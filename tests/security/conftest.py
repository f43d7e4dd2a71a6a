"""The CLI fixtures (own --home, no real keyring, crontab or systemd) for the security tests, and a
loopback Exchange server with a profile pointed at it."""

import pytest

from bcsync_tui.ewsserver import LoopbackExchange
from tests.cli.conftest import _isolated_env, cli, home  # noqa: F401 - pytest fixtures

EMAIL, PASSWORD = "ann@example.com", "Loopback-pw-7"


@pytest.fixture
def server():
    with LoopbackExchange(users={EMAIL: PASSWORD}) as srv:
        yield srv


def set_up_profile(cli, server, *names: str) -> None:
    """Profile ann on the loopback server, and a contact per name (first name, surname Test)."""
    r = cli("setup", "--email", EMAIL, "--server", server.url, "--password-stdin", stdin=PASSWORD + "\n")
    assert r.code == 0, r.both
    for name in names:
        assert cli("contacts", "add", "--first-name", name, "--surname", "Test",
                   "--email", f"{name.lower()}@example.no").code == 0
