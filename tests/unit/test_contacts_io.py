"""CSV and vCard import/export of master contacts (core.contacts_io, core.contacts_vcard)."""

from __future__ import annotations

import io

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bcsync_tui.core import model
from bcsync_tui.core.contact_docs import filled
from bcsync_tui.core.contacts_io import (ImportFileError, decode_text, detect_format, export_contacts,
                                         parse_csv, plan_import, read_contacts, write_csv)
from bcsync_tui.core.contacts_vcard import _fold, parse_vcards, vcard_lines, write_vcards
from bcsync_tui.core.contacts_vcard_lex import logical_lines


def _contact(**fields: object) -> dict:
    c = model.normalise(fields)
    c["uuid"] = model.new_uuid()
    return c


# --- CSV -------------------------------------------------------------------------------------

def test_csv_with_bom_semicolons_captions_and_quoted_line_breaks(tmp_path):
    text = ("\ufeffNo.;First Name;Surname;E-Mail;Post Code;Address\r\n"
            'CT9;Åse;Ødegård;ase@example.no;0150;"Storgata 1\r\nBakgården"\r\n'
            ";Bob;Lee;bob@example.com;;\r\n")
    f = tmp_path / "c.csv"
    f.write_bytes(text.encode("utf-8"))
    read = read_contacts(str(f))
    rows = read.rows
    assert read.fmt == "csv" and read.warnings == [] and read.source == "CSV with BC field names"
    assert [r.line for r in rows] == [2, 4]  # the quoted line break makes row 2 two lines long
    assert rows[0].data["first_name"] == "Åse" and rows[0].data["no"] == "CT9"
    assert rows[0].data["address"] == "Storgata 1\r\nBakgården"
    assert rows[1].data["email"] == "bob@example.com"


def test_csv_comma_delimiter_and_field_keys():
    rows = parse_csv('first_name,email,city\nAnn,"ann@x.com",Oslo\n').rows
    assert rows[0].data == {"first_name": "Ann", "email": "ann@x.com", "city": "Oslo"}


def test_csv_unknown_columns_are_counted_and_assigned_ones_reported():
    read = parse_csv("Name;E-Mail;Favourite colour;UUID;Shoe size\nAnn;a@x.com;blue;123;\nBob;b@x.com;red;;\n")
    assert read.rows[0].data == {"name": "Ann", "email": "a@x.com"}
    assert dict(read.unkept) == {"Favourite colour": 2}  # the empty "Shoe size" holds nothing
    assert any("UUID" in w for w in read.warnings)
    plan = plan_import(read, [])
    assert [(u.name, u.values) for u in plan.unmapped] == [("Favourite colour", 2)]
    ignored = plan_import(read, [], ignore_columns=("favourite  COLOUR",))
    assert not ignored.unmapped and [u.name for u in ignored.not_kept] == ["Favourite colour"]
    assert not plan_import(read, [], ignore_unmapped=True).unmapped


def test_csv_row_with_more_values_than_columns_is_invalid():
    rows = parse_csv("Name;E-Mail\nAnn;a@x.com;extra\n")
    plan = plan_import(rows, [])
    assert not plan.accepted and "header has 2 columns" in plan.invalid[0].reason


@pytest.mark.parametrize("text, fragment", [
    ("Colour;Size\nred;L\n", "no column bcsync knows"),
    ("Name;E-Mail;email\nAnn;a@x.com;b@x.com\n", "two columns for E-Mail"),
    ('Name;E-Mail\n"Ann;a@x.com\n', "not valid CSV"),
])
def test_csv_file_level_errors(text, fragment):
    with pytest.raises(ImportFileError) as exc:
        parse_csv(text, "f.csv")
    assert fragment in str(exc.value) and "f.csv" in str(exc.value)


@pytest.mark.parametrize("data, fragment", [
    (b"", "is empty"),
    (b" \r\n\t\x0b\x0c\n", "is empty"),
    (b"PK\x03\x04rest-of-zip", "Excel workbook"),
    (b"Name\x00\x01\x02\xff", "binary"),
    ("Name;E-Mail\nJosé;j@x.com\n".encode("cp1252"), "not UTF-8"),
])
def test_undecodable_files_say_what_to_do(data, fragment):
    with pytest.raises(ImportFileError) as exc:
        decode_text("in.csv", data, "csv")
    assert fragment in str(exc.value) and "in.csv" in str(exc.value)


def test_explicit_encoding_and_utf16_are_read():
    assert decode_text("x", "Name\nJosé\n".encode("cp1252"), "csv", "cp1252") == "Name\nJosé\n"
    assert decode_text("x", "Name\nJosé\n".encode("utf-16"), "csv") == "Name\nJosé\n"


def test_format_detection():
    assert detect_format("a.VCF") == "vcard" and detect_format("a.csv") == "csv"
    assert detect_format("-", "  BEGIN:VCARD\r\n") == "vcard" and detect_format("-", "Name\n") == "csv"
    assert detect_format("a.csv", None, "vcard") == "vcard"


def test_csv_export_reimports_to_the_same_contacts(tmp_path):
    contacts = [_contact(no="CT1", first_name="Ann", surname="O'Neil; \"Jr\"", email="ann@x.com",
                         address="Line 1\nLine 2", privacy_blocked=True, type="Person"),
                _contact(no="CT2", name="ACME, Inc.", type="Company", email="info@acme.com")]
    path = tmp_path / "out.csv"
    export_contacts(str(path), contacts, "csv", delimiter=";", bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfNo.;Type;Name")
    rows = read_contacts(str(path))
    plan = plan_import(rows, [])
    assert not plan.invalid
    for (_, got), want in zip(plan.accepted, contacts, strict=True):
        got = filled(got)  # (the plan's contacts are in the store's sparse form)
        assert {k: got[k] for k in model.EDITABLE_KEYS} == {k: want[k] for k in model.EDITABLE_KEYS}
        assert got["no"] == want["no"]


# --- validation, duplicates, line numbers -----------------------------------------------------

def test_plan_lists_every_bad_row_with_its_line_and_reason():
    rows = parse_csv("Name;E-Mail;Phone No.;Privacy Blocked;No.\n"
                        "Ann;ann@x.com;+47 1;no;\n"
                        "Bob;not-an-email;;;\n"
                        ";c@x.com;;;\n"
                        "Dan;d@x.com;call me;maybe;\n"
                        "Eve;e@x.com;;;" + "X" * 21 + "\n")
    plan = plan_import(rows, [])
    assert [p.line for p in plan.invalid] == [3, 4, 5, 6]
    reasons = {p.line: p.reason for p in plan.invalid}
    assert "not an e-mail address" in reasons[3]
    assert "needs a name" in reasons[4]
    assert "Phone No." in reasons[5] and "Privacy Blocked" in reasons[5]
    assert "No." in reasons[6]
    assert [line for line, _ in plan.accepted] == [2]


def test_duplicates_by_email_within_the_file_and_against_the_store():
    existing = [_contact(no="CT1", name="Old Ann", email="ANN@x.com")]
    rows = parse_csv("Name;E-Mail\nAnn;ann@x.com \nBob;bob@x.com\nBobby;Bob@X.com\n")
    plan = plan_import(rows, existing)
    assert [line for line, _ in plan.accepted] == [3]
    assert {p.line: p.reason for p in plan.duplicates} == {
        2: "ann@x.com is already in the store as CT1 Old Ann", 4: "Bob@X.com is also on line 3"}
    allowed = plan_import(rows, existing, allow_duplicates=True)
    assert len(allowed.accepted) == 3 and not allowed.duplicates


def test_numbers_taken_in_store_or_file_are_invalid_and_numbered_rows_go_first():
    tomb = {**_contact(no="CT7", name="Gone", email="g@x.com"), "deleted": True}
    rows = parse_csv("No.;Name\n;Auto\nct7;Taken\nCT8;Mine\nCT8;Again\n")
    plan = plan_import(rows, [tomb])
    assert {p.line: p.reason for p in plan.invalid} == {
        3: "No. ct7 is already used in the contact store", 5: "No. CT8 is also on line 4"}
    assert [c["name"] for c in plan.contacts()] == ["Mine", "Auto"]


# --- vCard -----------------------------------------------------------------------------------

VCARD_30 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann;Marie;Dr.;\r\nFN:Dr. Ann Marie Lee\r\n"
    "ORG:ACME\\, Inc.;Sales\r\nTITLE:Head of\r\n  sales\r\n"
    "item1.EMAIL;type=INTERNET;type=WORK:ann@acme.com\r\nEMAIL;TYPE=INTERNET,PREF:ann.lee@acme.com\r\n"
    "EMAIL:third@acme.com\r\n"
    "TEL;TYPE=HOME:+1 555 0100\r\nTEL;TYPE=WORK,VOICE:+1 555 0101\r\nTEL;TYPE=CELL:+1 555 0102\r\n"
    "TEL;TYPE=WORK,FAX:+1 555 0103\r\n"
    "ADR;TYPE=HOME:;;1 Home Rd;Hometown;;11111;US\r\n"
    "ADR;TYPE=WORK:;Suite 5;1 Main St\\nFloor 2;Springfield;IL;62701;US\r\n"
    "URL:https://acme.com\r\nNOTE:ignored\\, really\r\nPHOTO;ENCODING=b;TYPE=JPEG:AAAA\r\nEND:VCARD\r\n")

VCARD_40 = (
    "BEGIN:VCARD\nVERSION:4.0\nKIND:org\nFN:Nordlys AS\nN:;;;;\nORG:Nordlys AS\n"
    "EMAIL;TYPE=work;PREF=1:post@nordlys.no\nTEL;VALUE=uri;TYPE=\"voice,work\":tel:+47-22-00-00-00\n"
    "ADR;TYPE=work;LABEL=\"Storgata 1\\nOslo\":;;Storgata 1;Oslo;;0150;NO\nEND:VCARD\n")


def test_vcard_30_mapping():
    rows = parse_vcards(VCARD_30)
    d = rows.rows[0].data
    assert (d["surname"], d["first_name"], d["middle_name"]) == ("Lee", "Ann", "Marie")
    assert d["company_name"] == "ACME, Inc." and d["job_title"] == "Head of sales"
    assert (d["email"], d["email2"]) == ("ann.lee@acme.com", "ann@acme.com")  # PREF first
    assert (d["phone"], d["mobile_phone"], d["fax"]) == ("+1 555 0101", "+1 555 0102", "+1 555 0103")
    assert (d["address"], d["address2"], d["city"], d["county"], d["post_code"], d["country_code"]) == (
        "1 Main St", "Floor 2, Suite 5", "Springfield", "IL", "62701", "US")  # extended address → Address 2
    assert d["home_page"] == "https://acme.com"
    assert "NOTE" not in str(d)
    assert dict(rows.unkept) == {"N (prefix, suffix)": 1, "ORG (department)": 1, "EMAIL (third and later)": 1,
                                 "TEL (home)": 1, "ADR (home)": 1, "NOTE": 1, "PHOTO": 1}


def test_vcard_40_company_with_uri_phone():
    rows = parse_vcards(VCARD_40)
    d = rows.rows[0].data
    assert d["type"] == model.COMPANY and d["name"] == "Nordlys AS"
    assert d["phone"] == "+47-22-00-00-00" and d["post_code"] == "0150"
    plan = plan_import(rows, [])
    assert plan.accepted[0][1]["type"] == model.COMPANY and plan.accepted[0][1]["name"] == "Nordlys AS"


def test_vcard_21_quoted_printable_and_charset_do_not_crash():
    text = ("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen\r\n"
            "FN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:J=C3=BCrgen M=C3=BC=\r\nller\r\n"
            "EMAIL;INTERNET;WORK:j@x.de\r\nTEL;WORK;FAX:0301\r\nEND:VCARD\r\n")
    rows = parse_vcards(text)
    d = rows.rows[0].data
    assert d["surname"] == "Müller" and d["first_name"] == "Jürgen" and d["name"] == "Jürgen Müller"
    assert d["email"] == "j@x.de" and d["fax"] == "0301"


@pytest.mark.parametrize("text, fragment", [
    ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\n", "truncated"),
    ("BEGIN:VCARD\r\nFN:A\r\nBEGIN:VCARD\r\nFN:B\r\nEND:VCARD\r\n", "no END:VCARD before"),
    ("FN:Ann\r\n", "outside BEGIN:VCARD"),
    ("\r\n\r\n", "no vCard"),
])
def test_damaged_vcards_are_file_errors(text, fragment):
    with pytest.raises(ImportFileError) as exc:
        parse_vcards(text, "x.vcf")
    assert fragment in str(exc.value) and "x.vcf" in str(exc.value)


def test_garbled_vcard_line_makes_that_card_invalid_with_its_line():
    rows = parse_vcards("BEGIN:VCARD\nFN:Ann\nEMAIL:a@x.com\nEND:VCARD\n"
                           "BEGIN:VCARD\nFN:Bob\ngarbage without colon\nEND:VCARD\n")
    plan = plan_import(rows, [])
    assert [line for line, _ in plan.accepted] == [1]
    assert plan.invalid[0].line == 5 and "line 7 is not a vCard property" in plan.invalid[0].reason


TRICKY = dict(no="CT000042", first_name="Zoë", middle_name="d'Arc", surname="Ünlü; Smith, Jr.",
              initials="ZÜ", company_name="Bäcker & Söhne, GmbH; Abt. 3", job_title="Back\\slash",
              email="zoe@example.com", email2="zoe.private@example.org", phone="+49 30 1234",
              mobile_phone="+49 170 5555", fax="+49 30 1235", home_page="https://example.com/a,b;c",
              address="Hauptstraße 1, Hinterhaus", address2="Aufgang B", city="Berlin", county="BE",
              post_code="10115", country_code="DE", territory_code="EU", salesperson_code="SP1",
              company_no="C0001", privacy_blocked=True)


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcard_round_trip(version):
    contacts = [_contact(**TRICKY), _contact(name=("Emoji 🎉 Corp with a long name " * 3).strip(), type="Company",
                                               email="corp@example.com")]
    buf = io.StringIO()
    write_vcards(buf, contacts, version)
    text = buf.getvalue()
    assert f"VERSION:{version}" in text and "\r\n " in text  # long lines were folded
    rows = parse_vcards(text)
    plan = plan_import(rows, [])
    assert not plan.invalid
    for (_, got), want in zip(plan.accepted, contacts, strict=True):
        got = filled(got)  # (the plan's contacts are in the store's sparse form)
        assert {k: got[k] for k in ("no",) + model.EDITABLE_KEYS} == {k: want[k] for k in ("no",) + model.EDITABLE_KEYS}


def test_folding_keeps_lines_within_75_octets_and_utf8_whole():
    line = "NOTE:" + "ø🎉a" * 60
    folded = _fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


def test_vcard_lines_reject_unknown_version():
    with pytest.raises(ValueError):
        vcard_lines(_contact(name="A"), "2.1")


def test_write_csv_header_uses_bc_captions():
    buf = io.StringIO()
    write_csv(buf, [_contact(name="A", email="a@x.com")], keys=("no", "name", "email", "post_code"))
    assert buf.getvalue().splitlines()[0] == "No.,Name,E-Mail,Post Code"


# --- East Asian names ----------------------------------------------------------------------------

def test_csv_and_vcard_compose_east_asian_names_family_name_first(tmp_path):
    csv_file = tmp_path / "outlook.csv"
    csv_file.write_text('"First Name","Middle Name","Last Name","E-mail Address"\n'
                        '"伟","","张","zhang@example.cn"\n"유미","","강","kang@example.kr"\n'
                        '"Wei","","Zhang","wei@example.cn"\n', encoding="utf-8")
    vcf = tmp_path / "cards.vcf"
    vcf.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zhang Wei 张伟\r\nN:张;伟;;;\r\nEMAIL:zw@example.cn\r\n"
                   "END:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:山田太郎\r\nN:山田;太郎;;;\r\n"
                   "EMAIL:yamada@example.jp\r\nEND:VCARD\r\n", encoding="utf-8")
    names = {}
    for path in (csv_file, vcf):
        plan = plan_import(read_contacts(str(path)), [])
        assert not plan.invalid and not plan.unmapped
        names |= {c["email"]: c["name"] for _, c in plan.accepted}
    assert names == {"zhang@example.cn": "张伟", "kang@example.kr": "강유미", "wei@example.cn": "Wei Zhang",
                     "zw@example.cn": "张伟", "yamada@example.jp": "山田太郎"}
    # the card whose FN differs from the composed Name says so; the one that matches does not
    warnings = plan_import(read_contacts(str(vcf)), []).warnings
    assert [w for w in warnings if "composed from N" in w] == [
        next(w for w in warnings if "'Zhang Wei 张伟'" in w and "'张伟'" in w)]


def test_east_asian_names_survive_an_export_and_reimport(tmp_path):
    people = [_contact(first_name="伟", surname="张", email="zw@example.cn"),
              _contact(first_name="민규", middle_name="헨리", surname="김", email="kim@example.kr")]
    assert [c["name"] for c in people] == ["张伟", "김민규 헨리"]
    for fmt in ("csv", "vcard"):
        path = tmp_path / f"out.{fmt}"
        export_contacts(str(path), people, fmt)
        plan = plan_import(read_contacts(str(path)), [])
        assert [c["name"] for _, c in plan.accepted] == ["张伟", "김민규 헨리"], fmt
        assert not [w for w in plan.warnings if "composed from N" in w], fmt


@given(st.lists(st.sampled_from(["N:a", "FN:b", " c", "\td", "", " ", "\r\n", "\n", "\r", "x;y=1:z", "é"]), max_size=14))
def test_unfolding_without_quoted_printable_is_the_line_by_line_unfolding(pieces):
    text = "".join(pieces)
    assume(not text.endswith("\r"))  # its CR and the appended LF would be one line break
    line_by_line = logical_lines(text + "\nX-N:rintable")[:-1]  # the word takes the quoted-printable-aware loop
    assert logical_lines(text) == line_by_line


def test_a_cr_before_a_fold_unfolds_as_line_by_line():
    text = "N:a\r\r\n \nFN:c"  # removing the fold puts the CR beside the next LF: one break, not two
    assert logical_lines(text) == logical_lines(text + "\nX-N:rintable")[:-1]
