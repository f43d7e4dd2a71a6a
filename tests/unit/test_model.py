"""The master contact model: field list, captions, validation messages, normalisation (SPEC §3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bcsync_tui.core import model
from bcsync_tui.core.contacts_prepare import flagged_values, prepare_many
from bcsync_tui.core.model import (
    COMPANY,
    PERSON,
    ValidationError,
    compose_name,
    normalise,
    prepare,
    resolve_field,
    validate,
    validate_field,
)


def person(**fields):
    base = {"type": PERSON, "first_name": "Ann", "surname": "Lee", "email": "ann@example.com"}
    base.update(fields)
    return base


# --- field table ---------------------------------------------------------------------------------


def test_field_limits_match_the_spec_table():
    limits = {f.key: f.max_len for f in model.FIELDS}
    assert limits["no"] == 20
    assert limits["name"] == 100
    for key in ("first_name", "middle_name", "surname", "initials", "job_title", "city", "county",
                "phone", "mobile_phone", "fax"):
        assert limits[key] == 30, key
    assert limits["company_name"] == 100
    assert limits["email"] == limits["email2"] == 80
    assert limits["home_page"] == 255
    assert limits["address"] == 100 and limits["address2"] == 50
    assert limits["post_code"] == 20 and limits["country_code"] == 10


def test_synced_and_filter_keys_are_real_fields_and_type_does_not_sync():
    assert set(model.SYNCED_KEYS) <= set(model.FIELD_BY_KEY)
    assert set(model.BC_FILTER_KEYS) <= set(model.FIELD_BY_KEY)
    assert "type" not in model.SYNCED_KEYS
    for key in ("territory_code", "salesperson_code", "company_no", "privacy_blocked"):
        assert key not in model.SYNCED_KEYS
    for key in ("no", "uuid", "created_at", "modified_at", "revision"):
        assert key not in model.EDITABLE_KEYS


def test_blank_contact_has_every_field_with_a_typed_default():
    blank = model.blank_contact()
    assert set(blank) == set(model.FIELD_BY_KEY)
    assert blank["type"] == PERSON
    assert blank["privacy_blocked"] is False
    assert blank["revision"] == 0
    assert blank["email"] == ""


# --- resolve_field -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("E-Mail", "email"),
        ("e-mail", "email"),
        ("EMAIL", "email"),
        ("E-Mail 2", "email2"),
        ("email1", "email"),
        ("Post Code", "post_code"),
        ("post_code", "post_code"),
        ("No.", "no"),
        ("no", "no"),
        ("Company No.", "company_no"),
        ("Phone No.", "phone"),
        ("Mobile Phone No.", "mobile_phone"),
        ("Mobile", "mobile_phone"),
        ("Country/Region Code", "country_code"),
        ("Country", "country_code"),
        ("Territory Code", "territory_code"),
        ("Privacy Blocked", "privacy_blocked"),
        ("  First Name ", "first_name"),
        ("Type", "type"),
    ],
)
def test_resolve_field_accepts_keys_and_bc_captions(name, key):
    assert resolve_field(name) == key


@pytest.mark.parametrize("name", ["", "Colour", "E-Mail 3", "Notes"])
def test_resolve_field_unknown_is_none(name):
    assert resolve_field(name) is None


# --- validation messages -------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["ann@example.com", "a.b+tag@mail.example.co.uk", " ann@example.com ",
                                  "ÅSE@eksempel.no"])
def test_valid_email_passes(good):
    assert validate_field("email", good) is None


@pytest.mark.parametrize("bad", ["ann", "ann@", "@example.com", "ann@example", "ann example@x.com",
                                 "ann@@example.com", "ann@example.com.", "<ann@example.com>",
                                 "a@b.com, c@d.com"])
def test_bad_email_message_quotes_the_value_and_shows_the_expected_form(bad):
    msg = validate_field("email", bad)
    assert msg == f"{bad!r} is not an e-mail address (expected name@example.com)"
    assert validate_field("email2", bad) == msg


def test_empty_email_is_allowed():
    assert validate_field("email", "") is None
    assert validate_field("email2", "") is None


@pytest.mark.parametrize(("key", "limit"), [("first_name", 30), ("name", 100), ("email", 80),
                                             ("home_page", 255), ("no", 20), ("country_code", 10)])
def test_length_limit_message_names_length_and_limit(key, limit):
    assert validate_field(key, "x" * limit if key != "email" else "a" * (limit - 6) + "@x.com") is None
    too_long = "x" * (limit + 1)
    assert validate_field(key, too_long) == f"is {limit + 1} characters long; at most {limit} allowed"


def test_length_counts_characters_not_bytes():
    assert validate_field("first_name", "Ø" * 30) is None
    assert validate_field("first_name", "😀" * 31) == "is 31 characters long; at most 30 allowed"


@pytest.mark.parametrize("good", ["+47 22 33 44 55", "(555) 123-4567", "22.33.44.55", "1234 x12", "*31#", "555/1234"])
def test_phone_accepts_digits_and_dialling_characters(good):
    for key in ("phone", "mobile_phone", "fax"):
        assert validate_field(key, good) is None


@pytest.mark.parametrize("bad", ["call me", "555-CALL", "12;34", "+47 ☎ 2233"])
def test_phone_rejects_letters_with_a_message_listing_the_allowed_characters(bad):
    for key in ("phone", "mobile_phone", "fax"):
        assert validate_field(key, bad) == "may contain only digits, spaces and + ( ) - . / x # *"


def test_type_must_be_person_or_company():
    assert validate_field("type", PERSON) is None
    assert validate_field("type", COMPANY) is None
    assert validate_field("type", "Robot") == "must be Person or Company"
    assert validate_field("type", "person") == "must be Person or Company"  # normalise() fixes case first


def test_other_kinds():
    assert validate_field("privacy_blocked", True) is None
    assert validate_field("privacy_blocked", "yes") == "must be yes or no"
    assert validate_field("city", 42) == "must be text"
    assert validate_field("territory_code", "N1\nN2") == "must be on one line"
    assert validate_field("colour", "red") == "unknown field 'colour'"


def test_validate_collects_every_bad_field():
    errors = validate(normalise(person(email="nope", phone="abc", job_title="J" * 31)))
    assert set(errors) == {"email", "phone", "job_title"}


def test_validate_requires_a_name_or_name_parts():
    assert validate(normalise({"type": COMPANY, "email": "x@y.no"})) == {
        "name": "a contact needs a name (or a first name / surname)"}
    assert validate(normalise({"type": PERSON, "surname": "Lee"})) == {}
    assert validate(normalise({"type": COMPANY, "name": "Contoso"})) == {}


def test_prepare_raises_validation_error_with_captions_in_message():
    with pytest.raises(ValidationError) as info:
        prepare(person(email="not-an-address", mobile_phone="ring me"))
    err = info.value
    assert set(err.errors) == {"email", "mobile_phone"}
    text = str(err)
    assert "E-Mail: 'not-an-address' is not an e-mail address" in text
    assert "Mobile Phone No.: may contain only digits" in text
    assert isinstance(err, ValueError)


# --- name composition and normalisation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "name"),
    [
        ({"first_name": "Ann", "surname": "Lee"}, "Ann Lee"),
        ({"first_name": "Ann", "middle_name": "Marie", "surname": "Lee"}, "Ann Marie Lee"),
        ({"first_name": " Ann ", "middle_name": "  ", "surname": "Lee"}, "Ann Lee"),
        ({"surname": "Lee"}, "Lee"),
        ({"first_name": "Ann"}, "Ann"),
        ({"middle_name": "M."}, "M."),
        ({}, ""),
        ({"first_name": None, "surname": "Lee"}, "Lee"),
    ],
)
def test_compose_name(parts, name):
    assert compose_name(parts) == name


@pytest.mark.parametrize(
    ("parts", "name"),
    [  # CLDR person-name test data (zh, ja, ko): family name first, no space
        ({"first_name": "伟", "surname": "张"}, "张伟"),
        ({"first_name": "俊年", "middle_name": "杰思", "surname": "陈"}, "陈俊年杰思"),
        ({"first_name": "太郎", "surname": "山田"}, "山田太郎"),
        ({"first_name": "さくら", "surname": "佐藤"}, "佐藤さくら"),
        ({"first_name": "トーマス", "surname": "山田"}, "山田トーマス"),
        ({"first_name": "유미", "surname": "강"}, "강유미"),
        ({"first_name": "민규", "middle_name": "헨리", "surname": "김"}, "김민규 헨리"),
        # a foreign name in Katakana keeps its order, joined by a middle dot
        ({"first_name": "アルベルト", "surname": "アインシュタイン"}, "アルベルト・アインシュタイン"),
        # Latin parts, or a mix of scripts, are composed given name first as before
        ({"first_name": "Wei", "surname": "Zhang"}, "Wei Zhang"),
        ({"first_name": "Wei", "surname": "张"}, "Wei 张"),
        ({"first_name": "Zoë", "surname": "Müller"}, "Zoë Müller"),
        ({"first_name": "伟"}, "伟"),
        ({"surname": "张"}, "张"),
    ],
)
def test_compose_name_puts_the_family_name_first_in_east_asian_scripts(parts, name):
    assert compose_name(parts) == name
    assert normalise({"type": "Person", "name": "伟 张", **parts})["name"] == name


def test_normalise_composes_a_persons_name_over_the_typed_one():
    out = normalise({"type": "Person", "name": "Whatever", "first_name": "Ann", "middle_name": "M", "surname": "Lee"})
    assert out["name"] == "Ann M Lee"


def test_normalise_keeps_a_persons_name_when_no_parts_are_set():
    assert normalise({"type": "Person", "name": "Prince"})["name"] == "Prince"


def test_normalise_never_composes_a_company_name():
    out = normalise({"type": "company", "name": "Contoso AS", "first_name": "Ann", "surname": "Lee"})
    assert out["type"] == COMPANY
    assert out["name"] == "Contoso AS"


def test_normalise_truncates_a_composed_name_to_the_name_limit():
    out = normalise({"first_name": "A" * 30, "middle_name": "B" * 30, "surname": "C" * 30, "initials": ""})
    assert len(out["name"]) == 92
    out = normalise({"first_name": "A" * 60, "middle_name": "B" * 60, "surname": "C" * 60})
    assert len(out["name"]) == 100  # the parts themselves are then reported by validate()
    assert set(validate(out)) == {"first_name", "middle_name", "surname"}


def test_normalise_fills_coerces_strips_and_drops_unknown_keys():
    out = normalise({
        "type": " Firma ",
        "name": "  Contoso  ",
        "email": "  Ann@Example.com ",
        "phone": " 123 ",
        "post_code": " 0150 ",
        "home_page": " https://x.no ",
        "privacy_blocked": "Yes",
        "revision": "7",
        "city": None,
        "colour": "red",
    })
    assert set(out) == set(model.FIELD_BY_KEY)
    assert out["type"] == COMPANY
    assert out["email"] == "Ann@Example.com"  # stripped, case kept (only matching lower-cases)
    assert out["phone"] == "123"
    assert out["post_code"] == "0150"
    assert out["home_page"] == "https://x.no"
    assert out["name"] == "  Contoso  "  # free text keeps its spaces
    assert out["privacy_blocked"] is True
    assert out["revision"] == 7
    assert out["city"] == ""
    assert "colour" not in out


@pytest.mark.parametrize(("text", "value"), [("yes", True), ("1", True), ("x", True), ("Ja", True), ("oui", True),
                                             ("no", False), ("", False), ("0", False), ("nei", False)])
def test_parse_bool(text, value):
    assert normalise({"privacy_blocked": text})["privacy_blocked"] is value


@pytest.mark.parametrize(("text", "value"), [("Person", PERSON), ("personne", PERSON), ("", PERSON), ("P", PERSON),
                                             ("Company", COMPANY), ("entreprise", COMPANY), ("c", COMPANY)])
def test_parse_type(text, value):
    assert normalise({"type": text, "name": "X"})["type"] == value


def test_unknown_type_survives_normalise_and_is_reported():
    out = normalise({"type": "Robot", "name": "R2"})
    assert out["type"] == "Robot"
    assert validate(out) == {"type": "must be Person or Company"}


def test_normalise_is_idempotent():
    once = normalise(person(middle_name="M", email=" ann@example.com ", privacy_blocked="no"))
    assert normalise(once) == once


def test_normalise_email():
    assert model.normalise_email("  Ann@Example.COM ") == "ann@example.com"
    assert model.normalise_email(None) == ""


def test_display_value():
    assert model.display_value({"privacy_blocked": True}, "privacy_blocked") == "yes"
    assert model.display_value({"privacy_blocked": False}, "privacy_blocked") == "no"
    assert model.display_value({}, "city") == ""
    assert model.display_value({"revision": 3}, "revision") == "3"


def test_run_record_and_sync_state_keep_their_stored_shape():
    from bcsync_tui.core.records import (ItemNote, Orphan, OrphanKind, PlanRow, RunRecord, RunStatus, SyncState,
                                         status_words)

    run = RunRecord("id1", "ann", "full", True, "2026-12-01T10:00:00Z", status=RunStatus.ABORTED, exit_code=2)
    run.counts.outlook_created = 3
    run.skipped.append(ItemNote("item-1", "Kari", "no e-mail; not imported"))
    run.errors.append(ItemNote("CT000001", "Ann", "ErrorQuotaExceeded: full"))
    run.plan.append(PlanRow("create", "outlook", "CT000002", "Bo"))
    doc = run.to_doc()
    assert doc["status"] == "aborted" and doc["exit_code"] == 2 and doc["counts"]["outlook_created"] == 3
    assert doc["skipped"] == [{"ref": "item-1", "name": "Kari", "reason": "no e-mail; not imported"}]
    assert doc["errors"] == [{"ref": "CT000001", "name": "Ann", "message": "ErrorQuotaExceeded: full"}]
    assert doc["plan"] == [{"action": "create", "side": "outlook", "ref": "CT000002", "name": "Bo", "detail": ""}]
    assert RunStatus.ABORTED.problem == "the last sync was stopped by a safety guard" and RunStatus.OK.problem is None
    assert status_words("partial") == "finished with errors" and status_words("weird") == "weird"
    state = SyncState("f1", "Business Central", "s1", ["i2"], 4, {"i3": Orphan("", "a@x.example", OrphanKind.DUPLICATE)})
    stored = state.to_doc()
    assert stored["orphans"] == {"i3": ["", "a@x.example", "duplicate"]} and "server_version" not in stored
    assert SyncState.from_doc(stored) == state


# --- prepare_many: the column-wise prepare of an import ---------------------------------------------

_CELLS = st.sampled_from([
    "", " ", "Ann", " Ann ", "Lee", "伟", "张", "유미", "강", "ann@example.com", " ann@example.com ", "ANN@x.no",
    "not-an-address", "a@b", "+47 22 00 00 00", "call me", "CT000001", "CT\n1", "Person", "company", "Firma",
    "robot", "yes", "no", "\u3000山田\u3000", "x" * 31, "y" * 101, "https://example.com", "\t", "Oslo\r\nSentrum",
])
_ROW_KEYS = st.sampled_from(["name", "first_name", "middle_name", "surname", "initials", "email", "email2", "phone",
                             "mobile_phone", "post_code", "country_code", "city", "type", "privacy_blocked",
                             "company_name", "home_page", "address"])


def _outcome(result):
    return ("invalid", result.errors) if isinstance(result, ValidationError) else ("ok", result)


@given(st.lists(st.dictionaries(_ROW_KEYS, _CELLS, max_size=10), max_size=12))
def test_prepare_many_is_prepare_of_every_row(rows):
    expected = [_outcome(model.prepare_or_error(dict(r))) for r in rows]
    assert [_outcome(r) for r in prepare_many([dict(r) for r in rows])] == expected


def test_prepare_many_takes_the_row_by_row_path_for_other_keys():
    rows = [{"first_name": "Ann", "surname": "Lee", "revision": "3"}, {"name": "Bo", "privacy_blocked": "yes"}]
    assert [_outcome(r) for r in prepare_many(rows)] == [_outcome(model.prepare_or_error(r)) for r in rows]
    assert prepare_many([]) == []


@given(st.lists(st.sampled_from(["", "a@b.no", "a\x00b@c.no", "a@b.no\x00c@d.no", "x" * 81, "CT1", "CT\n1", "+47 1",
                                 "+47 1\x00x", "ring", "\x00", "a@b"]), max_size=8),
       st.sampled_from(["email", "no", "phone", "name"]))
def test_flagged_values_holds_every_value_the_field_check_refuses(column, key):
    refused = {i for i, v in enumerate(column) if model.validate_field(key, v)}
    assert refused <= flagged_values(key, column)
