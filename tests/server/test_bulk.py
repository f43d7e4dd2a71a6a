"""A bigger round trip: create many contacts and list them back with few requests (bench/ews_server.py
measures 2,000; this checks correctness and request counts on 600)."""

from __future__ import annotations

from exchangelib import Contact
from exchangelib.indexed_properties import EmailAddress

from .conftest import FOLDER

N = 600


def test_create_and_list_back(server, account, folder, stamp):
    server.stats.reset()
    items = [Contact(folder=folder, display_name=f"Kontakt {i:04d}", given_name="Jiří", surname=f"Dvořák {i}",
                     email_addresses=[EmailAddress(label="EmailAddress1", email=f"k{i}@example.cz")],
                     **{stamp: f"uuid-{i}"}) for i in range(N)]
    created = account.bulk_create(folder=folder, items=items, chunk_size=250)
    assert len(created) == N and not [c for c in created if isinstance(c, Exception)]
    assert server.stats.by_operation == {"CreateItem": 3} and server.stats.writes == N

    server.stats.reset()
    qs = folder.all().only("display_name", "email_addresses", stamp)
    qs.page_size, qs.chunk_size = 1000, 500
    got = list(qs)
    assert server.stats.by_operation == {"FindItem": 1, "GetItem": 2}
    assert sorted(getattr(c, stamp) for c in got) == sorted(f"uuid-{i}" for i in range(N))
    assert {c.email_addresses[0].email for c in got} == {f"k{i}@example.cz" for i in range(N)}
    assert server.outlook().count(FOLDER) == N and server.stats.writes == 0


def test_concurrent_clients(server):
    """Two users and the "Outlook user" write at the same time; nothing is lost or mixed up."""
    import threading

    from .conftest import ANN, ANN_PW, BOB, BOB_PW, connect, find_or_create

    errors: list[BaseException] = []

    def client(user, password):
        try:
            account = connect(server, user, password)
            folder = find_or_create(account)
            for chunk in range(3):
                items = [Contact(folder=folder, display_name=f"{user} {chunk}-{i}") for i in range(50)]
                assert len(account.bulk_create(folder=folder, items=items)) == 50
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def outlook_user():
        ann = server.outlook(ANN)
        for i in range(100):
            ann.create_contact("contacts", display_name=f"outlook {i}")

    threads = [threading.Thread(target=client, args=(ANN, ANN_PW)), threading.Thread(target=client, args=(BOB, BOB_PW)),
               threading.Thread(target=outlook_user)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors
    assert server.outlook(ANN).count(FOLDER) == 150 and server.outlook(BOB).count(FOLDER) == 150
    assert server.outlook(ANN).count("contacts") == 100
    assert {c["display_name"].split()[0] for c in server.outlook(BOB).contacts(FOLDER)} == {BOB}
