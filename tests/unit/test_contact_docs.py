"""Schema 4: the store keeps a contact without its blank fields (core/contact_docs.py), hands every
contact out whole, and a schema-3 store (whole documents) is made sparse when first opened."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bcsync_tui.core import model
from bcsync_tui.core import store as store_mod
from bcsync_tui.core.contact_docs import ALWAYS_STORED, OMITTED_BLANKS, filled, stored
from bcsync_tui.core.contacts_io import plan_import, read_contacts
from bcsync_tui.core.store import Store

_TEXT_KEYS = [k for k in OMITTED_BLANKS if k != "privacy_blocked"]


def is_whole(doc: dict) -> bool:
    """Whether a document holds every field of the model."""
    return doc.keys() >= model.blank_contact().keys()


@st.composite
def contacts(draw):
    """A whole contact (as model.prepare makes one, then stamped), each optional field blank or not."""
    data = {k: draw(st.sampled_from(["", "x", " ", "Å", "0"])) for k in _TEXT_KEYS}
    contact = dict(model.blank_contact(), **data, privacy_blocked=draw(st.booleans()))
    contact.update(no="CT1", uuid="u-1", name=draw(st.sampled_from(["", "Ann"])), created_at="t", modified_at="t",
                   revision=draw(st.integers(0, 3)))
    return contact


@given(contacts())
def test_a_stored_document_leaves_out_exactly_the_blank_fields_and_fills_back_to_the_contact(contact):
    doc = stored(contact)
    assert doc.keys() == {k for k, v in contact.items() if k in ALWAYS_STORED or v != OMITTED_BLANKS[k]}
    assert set(ALWAYS_STORED) <= doc.keys()  # a blank name or revision 0 stays
    whole = filled(doc)
    assert whole == contact and list(whole) == list(model.blank_contact())  # the model's order
    assert stored(doc) == doc and stored(whole) == doc


def test_a_blank_of_another_type_and_keys_the_model_does_not_know_are_kept():
    contact = dict(model.blank_contact(), privacy_blocked=0, fax=None, deleted=True, deleted_at="t")
    doc = stored(contact)
    assert doc["privacy_blocked"] == 0 and doc["fax"] is None and doc["deleted"] is True and doc["deleted_at"] == "t"
    assert "email" not in doc and "county" not in doc
    assert is_whole(contact) and not is_whole(doc)


def _on_disk(store: Store) -> list[dict]:
    """The contact documents a fresh process reads from the store's files."""
    store.storage.compact()
    raw = store.path.read_bytes()
    head, _, rest = raw.partition(b'"contacts":{\n')
    body = rest.split(b"\n}", 1)[0]
    return list(json.loads(b"{" + body + b"}").values())


def test_the_store_writes_contacts_without_their_blank_fields_and_hands_them_out_whole(tmp_path):
    with Store(tmp_path / "store.json") as store:
        ann = store.add_contact({"first_name": "Ann", "surname": "Lee", "email": "ann@example.com", "city": "Oslo"})
        assert ann == filled(stored(ann)) and len(ann) == len(model.FIELDS)  # the caller gets it whole
        [bo] = store.add_contacts([{"first_name": "Bo", "fax": "+47 1"}])
        assert bo["email"] == "" and bo["fax"] == "+47 1"
        docs = {d["uuid"]: d for d in store.contacts_raw()}
        assert docs[ann["uuid"]] == stored(ann) and "fax" not in docs[ann["uuid"]]
        assert docs[bo["uuid"]]["fax"] == "+47 1" and "email" not in docs[bo["uuid"]]
        assert store.get_contact(ann["uuid"]) == ann and store.find_contact(ann["no"]) == ann
        assert store.all_contacts() == [ann, bo]

        # a field emptied leaves the document; one filled joins it; an unchanged blank changes nothing
        revision = ann["revision"]
        assert store.update_contact(ann["uuid"], {"fax": "", "county": ""})["revision"] == revision
        after = store.update_contact(ann["uuid"], {"city": "", "county": "Viken"})
        assert after["city"] == "" and after["county"] == "Viken" and after["revision"] == revision + 1
        doc = next(d for d in store.contacts_raw() if d["uuid"] == ann["uuid"])
        assert "city" not in doc and doc["county"] == "Viken"
        store.delete_contact(bo["uuid"])
        tomb = store.get_contact(bo["uuid"], include_deleted=True)
        assert tomb is not None and tomb["deleted"] is True and tomb["fax"] == "+47 1" and tomb["email"] == ""

        on_disk = {d["uuid"]: d for d in _on_disk(store)}
        assert on_disk[ann["uuid"]] == doc and "email" not in on_disk[bo["uuid"]]
        assert b'""' not in json.dumps(on_disk[ann["uuid"]]).encode()  # no blank text at all
    with Store(tmp_path / "store.json") as again:
        assert again.get_contact(ann["uuid"]) == after


def test_an_import_stores_its_rows_sparse_through_both_of_its_paths(tmp_path):
    """The bulk path (a table of columns) builds its rows sparse; rows prepared one by one (a row a
    column check flags) are made so: both are stored without their blanks, and read back whole."""
    path = tmp_path / "in.csv"
    path.write_text("First Name,Surname,E-mail,City,Fax\r\nAnn,Lee,ann@example.com,Oslo,\r\n"
                    "Bo,Berg,,,+47 22\r\nCy,Dahl,not-an-address,Bergen,\r\n", encoding="utf-8")
    plan = plan_import(read_contacts(str(path)), [])
    assert [c.get("first_name") for _, c in plan.accepted] == ["Ann", "Bo"] and len(plan.invalid) == 1
    assert all(not is_whole(c) for _, c in plan.accepted)
    with Store(tmp_path / "store.json") as store:
        added = store.add_prepared_contacts(plan.contacts())
        assert all(set(ALWAYS_STORED) <= c.keys() and "county" not in c for c in added)
        docs = {d["first_name"]: d for d in store.contacts_raw()}
        assert "fax" not in docs["Ann"] and docs["Bo"]["fax"] == "+47 22" and "email" not in docs["Bo"]
        whole = {c["first_name"]: c for c in store.all_contacts()}
        assert whole["Bo"]["email"] == "" and whole["Ann"]["fax"] == "" and whole["Ann"]["privacy_blocked"] is False
        assert whole["Ann"]["name"] == "Ann Lee" and whole["Ann"]["revision"] == 1


def test_a_schema_3_store_is_made_sparse_when_first_opened_and_keeps_every_contact(tmp_path):
    path = tmp_path / "store.json"
    with Store(path) as store:
        people = [store.add_contact({"first_name": f"P{i}", "email": f"p{i}@example.com", "fax": "1" if i else ""})
                  for i in range(3)]
        gone = store.add_contact({"first_name": "Gone"})
        store.delete_contact(gone["uuid"])
        tomb = store.get_contact(gone["uuid"], include_deleted=True)
        # As bcsync wrote it before schema 4: every contact whole
        with store.transaction():
            store.contacts.put({doc_id: filled(doc) for doc_id, doc in store.contacts.raw().items()})
            store._set_meta("schema", version=3)
        assert all(is_whole(d) for d in _on_disk(store))
    with Store(path) as store:
        assert store.schema_version == store_mod.SCHEMA_VERSION == 4
        assert [store.get_contact(p["uuid"]) for p in people] == people
        assert store.get_contact(gone["uuid"], include_deleted=True) == tomb
        docs = _on_disk(store)
        assert not any(is_whole(d) for d in docs) and all("county" not in d for d in docs)
        assert [d.get("fax") for d in docs[:3]] == [None, "1", "1"]
    with Store(path) as store:  # and so it stays
        assert store.all_contacts(include_deleted=True) == people + [tomb]
