"""The import's bulk path: ``Store.add_prepared_contacts`` (the plan's contacts become the stored
documents, in one transaction) and ``model.new_uuids`` (uuids drawn at once)."""

from __future__ import annotations

import uuid

import pytest

from bcsync_tui.core import model
from bcsync_tui.core.storage import BULK_OPS
from bcsync_tui.core.store import Store


def _prepared(n: int, tag: str, **fields: str) -> list[dict]:
    return [model.prepare({"first_name": f"{tag}{i}", "surname": "Bulk", "email": f"{tag.lower()}{i}@example.com",
                           **fields}) for i in range(n)]


def test_new_uuids_are_distinct_version_4_uuids_written_like_new_uuid():
    made = model.new_uuids(2000)
    assert len(set(made)) == 2000
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(model.new_uuid()) == len(made[0]) and model.new_uuids(0) == []
    one_by_one = [model.new_uuid() for _ in range(2000)]
    assert len(set(one_by_one) | set(made)) == 4000
    for text in one_by_one:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


@pytest.mark.parametrize("n", [3, BULK_OPS + 5])  # a journal line, and a fresh snapshot
def test_prepared_contacts_are_stored_numbered_and_read_back(tmp_path, n):
    path = tmp_path / "store.json"
    with Store(path) as store:
        first = store.add_contact({"first_name": "Ann", "surname": "Small", "email": "ann@example.com"})
        revision = store.contacts_revision
        own = _prepared(1, "Own")
        own[0]["no"] = "CT000002"  # the next number of the series: the others must skip it
        added = store.add_prepared_contacts(own + _prepared(n, "B"))
        assert store.contacts_revision == revision + 1
        later = store.add_contact({"first_name": "Cy", "surname": "Late", "email": "cy@example.com"})
    with Store(path) as again:
        live = {c["uuid"]: c for c in again.all_contacts()}
        assert len(live) == n + 3
        assert {c["uuid"] for c in added} <= set(live) and first["uuid"] in live and later["uuid"] in live
        stored = live[added[1]["uuid"]]
        assert (stored["name"], stored["email"], stored["revision"]) == ("B0 Bulk", "b0@example.com", 1)
        assert stored["created_at"] == stored["modified_at"] and stored["no"] == "CT000003"
        assert live[added[0]["uuid"]]["no"] == "CT000002"
        assert len({c["no"] for c in live.values()}) == len(live)
        assert again.get_contact(added[-1]["uuid"])["email"] == f"b{n - 1}@example.com"


def test_prepared_contacts_and_the_rest_of_the_transaction_are_all_or_nothing(tmp_path):
    path = tmp_path / "store.json"
    with Store(path) as store:
        store.add_contact({"first_name": "Ann", "surname": "Small", "email": "ann@example.com"})
        with pytest.raises(model.ValidationError):
            with store.transaction():  # as `contacts import --update` does: the adds, then the updates
                store.add_prepared_contacts(_prepared(BULK_OPS, "B"))
                store.update_contact(store.all_contacts()[0]["uuid"], {"email": "not-an-address"})
        assert [c["email"] for c in store.all_contacts()] == ["ann@example.com"]
    with Store(path) as again:
        assert [c["email"] for c in again.all_contacts()] == ["ann@example.com"]
