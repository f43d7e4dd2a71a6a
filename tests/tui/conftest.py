"""Fixtures for the TUI tests: every test gets its own home directory, store and (if it asks) a
loopback Exchange server; nothing touches the real user's data, config or keyring."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bcsync_tui.core import model
from bcsync_tui.core.paths import Paths
from bcsync_tui.core.profiles import Profile, save_profile
from bcsync_tui.core.secrets import SecretStore
from bcsync_tui.core.store import Store
from bcsync_tui.tui.app import BcsyncApp

PROFILE = "ann"
EMAIL = "ann@example.com"
PASSWORD = "s3cret!"


def person(no: str, first: str, surname: str, email: str, city: str = "", company: str = "",
           **more: object) -> dict[str, object]:
    return {"no": no, "type": model.PERSON, "first_name": first, "surname": surname, "email": email, "city": city,
            "company_name": company, **more}


#: a small deterministic master: persons in and out of the filter, a company, no e-mail, privacy blocked,
#: unicode, and a name that looks like markup
SAMPLE: list[dict[str, object]] = [
    person("CT000001", "Zoë", "Müller", "zoe.mueller@alpen.de", "München", "Alpen Maschinenbau GmbH",
           territory_code="DACH", salesperson_code="JR"),
    person("CT000002", "Bjørn", "Ødegård", "bjorn@fjord.no", "Oslo", "Fjord Shipping AS", territory_code="NORDIC"),
    person("CT000003", "Hélène", "Dupont", "helene@lumiere.fr", "Paris", "Lumière SARL", territory_code="FRANCE"),
    {"no": "CT000004", "type": model.COMPANY, "name": "Baltic Logistics Sp. z o.o.", "email": "info@baltic.pl",
     "city": "Warszawa", "company_name": "Baltic Logistics Sp. z o.o.", "territory_code": "CEE"},
    person("CT000005", "Łukasz", "Kowalski", "", "Warszawa", "Baltic Logistics Sp. z o.o.", territory_code="CEE"),
    person("CT000006", "Åsa", "Johansson", "asa@aurora.se", "Stockholm", "Aurora AB", territory_code="NORDIC",
           privacy_blocked=True),
    {"no": "CT000007", "type": model.PERSON, "name": "[b]x[/] [red]Markup[/red]", "email": "markup@example.com",
     "city": "Bergen", "territory_code": "NORDIC"},
    person("CT000008", "Matteo", "Rossi", "matteo@lago.it", "Milano", "Lago S.r.l.", territory_code="ITALY"),
    person("CT000009", "Ingrid", "Haugen", "ingrid@nordlys.no", "Trondheim", "Nordlys Energi AS",
           territory_code="NORDIC"),
    person("CT000010", "João", "Ferreira", "joao@atlantico.pt", "Lisboa", "Atlântico Lda", territory_code="IBERIA"),
]


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BCSYNC_NO_KEYRING", "1")


@pytest.fixture
def paths(tmp_path) -> Paths:
    return Paths.resolve(tmp_path / "home").ensure()


@pytest.fixture
def store(paths: Paths) -> Iterator[Store]:
    s = Store.open(paths)
    yield s
    s.close()


def add_profile(store: Store, **settings: object) -> Profile:
    profile = Profile(name=PROFILE, **settings)  # type: ignore[arg-type]
    save_profile(store, profile)
    return profile


@pytest.fixture
def sample_store(store: Store) -> Store:
    store.add_contacts([dict(row) for row in SAMPLE])
    add_profile(store, email=EMAIL, server_url="https://mail.example.com/EWS/Exchange.asmx",
                filter={"territory_code": "NORDIC|DACH|FRANCE|CEE"})
    return store


def make_app(paths: Paths, store: Store) -> BcsyncApp:
    return BcsyncApp(paths, PROFILE, store)


@pytest.fixture
def app(paths: Paths, sample_store: Store) -> BcsyncApp:
    return make_app(paths, sample_store)


@pytest.fixture
def exchange():
    """A loopback Exchange server with Ann's mailbox (and her password in the test's secrets file)."""
    from bcsync_tui.ewsserver import LoopbackExchange

    server = LoopbackExchange(users={EMAIL: PASSWORD}).start()
    yield server
    server.stop()


@pytest.fixture
def synced_setup(paths: Paths, sample_store: Store, exchange) -> Store:
    """The sample store with Ann's profile pointing at the loopback server, password saved."""
    add_profile(sample_store, email=EMAIL, server_url=exchange.url, username=EMAIL,
                filter={"territory_code": "NORDIC|DACH|FRANCE|CEE"})
    SecretStore(paths.secrets_file).set(PROFILE, PASSWORD)
    return sample_store
