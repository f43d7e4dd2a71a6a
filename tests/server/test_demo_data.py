"""The demo data: deterministic, realistic, in the model's shape, and loadable into the server."""

from __future__ import annotations

from collections import Counter

from bcsync_tui import demo_data
from bcsync_tui.core import model

from .conftest import FOLDER


def test_master_is_deterministic_and_valid():
    a, b = demo_data.master_contacts(), demo_data.master_contacts()
    assert a == b and len(a) == 300
    assert demo_data.master_contacts(seed=1) != a
    assert [c["no"] for c in a] == [f"CT{i:06d}" for i in range(1, 301)]
    assert len({c["uuid"] for c in a}) == 300
    for c in a:
        assert set(c) == set(model.blank_contact())
        assert model.validate(c) == {}, c
        assert model.normalise(c) == c
    types = Counter(c["type"] for c in a)
    assert types[model.PERSON] > 200 and types[model.COMPANY] > 20
    companies = {c["no"]: c for c in a if c["type"] == model.COMPANY}
    persons = [c for c in a if c["type"] == model.PERSON]
    assert all(p["company_no"] in companies and p["company_name"] == companies[p["company_no"]]["name"]
               for p in persons)
    assert 0 < sum(1 for p in persons if not p["email"]) < 30
    assert sum(c["privacy_blocked"] for c in a) == 2
    assert len({c["country_code"] for c in a}) >= 8 and len({c["salesperson_code"] for c in a}) >= 4
    assert len({c["territory_code"] for c in a}) >= 4
    emails = [c["email"] for c in a if c["email"]]
    assert len(emails) == len(set(emails))
    text = " ".join(c["name"] for c in a)
    assert any(ch in text for ch in "øüëéłř")


def test_mailbox_overlaps_the_master(tmp_path):
    master = demo_data.master_contacts()
    mailbox = demo_data.mailbox_contacts(master)
    assert mailbox == demo_data.mailbox_contacts(master)
    cases = Counter((c["folder"], c["case"]) for c in mailbox)
    assert cases[(FOLDER, "identical")] == 40 and cases[(FOLDER, "differs")] == 15
    assert cases[(FOLDER, "outlook_only")] >= 3 and cases[(FOLDER, "no_email")] >= 1
    assert cases[(FOLDER, "no_name")] >= 1 and cases[("contacts", "personal")] >= 3
    by_email = {c["email"].lower(): c for c in master if c["email"]}
    for c in mailbox:
        if c["case"] in ("identical", "differs", "email_case"):
            m = by_email[c["email1"].strip().lower()]
            assert m["type"] == model.PERSON and not m["privacy_blocked"]
        if c["case"] == "outlook_only":
            assert c["email1"].lower() not in by_email and c["display_name"]


def test_load_demo_mailbox(server, account):
    ids = demo_data.load_demo_mailbox(server)
    expected = Counter(c["folder"] for c in demo_data.mailbox_contacts())
    assert {k: len(v) for k, v in ids.items()} == dict(expected)
    folder = account.contacts // FOLDER
    assert folder.all().count() == expected[FOLDER]
    names = set(folder.all().values_list("display_name", flat=True))
    assert "Ólafur Sigurðsson" in names
