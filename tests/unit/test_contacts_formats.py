"""Real-world export files (tests/fixtures/exports): what each layout maps where, what it refuses,
country names, the formula guard, --update planning, and hostile sizes and charsets."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bcsync_tui.core import model
from bcsync_tui.core.contact_docs import filled
from bcsync_tui.core.contacts_country import UnknownCountry, country_code
from bcsync_tui.core.contacts_csv import guard_formula, unguard_formula
from bcsync_tui.core.contacts_io import (ImportFileError, decode_text, export_contacts, parse_csv, plan_import,
                                         read_contacts)
from bcsync_tui.core.contacts_vcard import parse_vcards

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"


def _read(name: str, **kw):
    return read_contacts(str(EXPORTS / name), **kw)


def _accepted(plan) -> dict[str, dict]:
    """The plan's new contacts by e-mail, whole (the plan holds them as the store keeps them)."""
    return {c["email"]: c for c in (filled(c) for _, c in plan.accepted)}


def _unmapped(plan) -> dict[str, int]:
    return {u.name: u.values for u in plan.unmapped}


# --- CSV layouts -----------------------------------------------------------------------------

def test_outlook_english_maps_surname_email_company_and_business_address_and_refuses_the_rest():
    read = _read("outlook_en.csv")
    assert read.source == "Outlook CSV (English)" and len(read.rows) == 3
    plan = plan_import(read, [])
    assert _unmapped(plan) == {"Title": 1, "Notes": 1, "Home Phone": 1}
    ann = _accepted(plan)["ann.lee@contoso.com"]
    assert (ann["first_name"], ann["middle_name"], ann["surname"], ann["name"]) == ("Ann", "Marie", "Lee", "Ann Marie Lee")
    assert (ann["company_name"], ann["job_title"], ann["email2"]) == ("Contoso AS", "Head of Sales", "ann@lee.example")
    assert (ann["phone"], ann["mobile_phone"], ann["fax"]) == ("+47 22 33 44 55", "+47 912 34 567", "+47 22 33 44 56")
    # the street's quoted line break: first line Address, the rest Address 2
    assert (ann["address"], ann["address2"], ann["city"], ann["post_code"]) == ("Storgata 1", "Postboks 12", "Oslo", "0150")
    assert ann["country_code"] == "NO" and ann["home_page"] == "https://contoso.example"
    by_mail = _accepted(plan)
    assert by_mail["jose@ejemplo.es"]["country_code"] == "ES" and by_mail["jose@ejemplo.es"]["county"] == "Madrid"
    assert by_mail["zhang.wei@example.cn"]["company_name"] == "北京科技有限公司"
    ignored = plan_import(read, [], ignore_columns=("Title", "notes", "HOME PHONE"))
    assert not ignored.unmapped and {u.name for u in ignored.not_kept} == {"Title", "Notes", "Home Phone"}


def test_classic_outlook_english_in_the_ansi_code_page_with_its_placeholders():
    read = _read("outlook_en_classic.csv")
    assert read.source == "Outlook CSV (English)" and any("Windows-1252" in w for w in read.warnings)
    plan = plan_import(read, [])
    assert not plan.unmapped and not plan.invalid  # "0/0/00", "Unspecified", "Normal", "False": no data
    s = _accepted(plan)["siobhan@cafemuller.example"]
    assert (s["name"], s["company_name"], s["address"], s["address2"], s["post_code"], s["country_code"]) == (
        "Siobhán O'Connor", "Café Müller Ltd.", "12 Grafton Street", "Unit 4", "D02 X285", "IE")
    r = _accepted(plan)["renee@creme.example"]
    assert (r["county"], r["country_code"], r["mobile_phone"]) == ("Québec", "CA", "+1 514 555 0199")


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig"])
def test_outlook_german_in_the_ansi_code_page_or_utf8_with_bom(tmp_path, encoding):
    raw = (EXPORTS / "outlook_de.csv").read_bytes()
    f = tmp_path / "kontakte.csv"
    f.write_bytes(raw.decode("cp1252").encode(encoding))
    read = read_contacts(str(f))
    assert read.source == "Outlook CSV (German)"
    assert any("Windows-1252" in w for w in read.warnings) == (encoding == "cp1252")
    plan = plan_import(read, [])
    assert not plan.unmapped and not plan.invalid  # "0.0.00", "Keine Angabe", "Normal", "Aus" are placeholders
    j = _accepted(plan)["j.gross@mueller-soehne.de"]
    assert (j["name"], j["company_name"], j["job_title"], j["initials"]) == (
        "Jürgen Groß", "Müller & Söhne GmbH", "Einkäufer", "J.G.")
    assert (j["address"], j["address2"], j["city"], j["county"], j["post_code"], j["country_code"]) == (
        "Königstraße 12", "Hinterhaus", "München", "Bayern", "80331", "DE")
    assert _accepted(plan)["zoe@baeckerei-weiss.at"]["country_code"] == "AT"  # "Österreich"
    assert any("E-Mail: Angezeigter Name" in w for w in plan.warnings) is False  # derived, not reported as data


def test_outlook_french_tells_the_two_titre_columns_apart():
    read = _read("outlook_fr.csv")
    assert read.source == "Outlook CSV (French)"
    plan = plan_import(read, [])
    assert _unmapped(plan) == {"Titre": 1}  # the courtesy title "M."; the second Titre is the job title
    h = _accepted(plan)["helene.dubois@sge.fr"]
    assert (h["first_name"], h["surname"], h["job_title"], h["country_code"]) == (
        "Hélène", "Dubois-Lefèvre", "Responsable achats", "FR")
    assert h["address"] == "12, rue de l'Église" and h["mobile_phone"] == "+33 6 12 34 56 78"
    assert _accepted(plan)["francois@garcon.ch"]["country_code"] == "CH"  # "Suisse"


def test_outlook_norwegian():
    read = _read("outlook_no.csv")
    assert read.source == "Outlook CSV (Norwegian)"
    plan = plan_import(read, [])
    assert not plan.unmapped and not plan.invalid
    a = _accepted(plan)["ase@nordlys.no"]
    assert (a["name"], a["job_title"], a["address"], a["city"], a["post_code"], a["country_code"], a["fax"]) == (
        "Åse Ødegård", "Salgssjef", "Karl Johans gate 1", "Oslo", "0154", "NO", "+47 22 00 00 01")
    assert _accepted(plan)["bjorn@fjellvaer.no"]["name"] == "Bjørn Ståle Bråten"


def test_google_csv_routes_numbered_groups_by_label():
    read = _read("google.csv")
    assert read.source == "Google Contacts CSV"
    plan = plan_import(read, [])
    # Björn's home phone, his label "Kunder" and his note have no field; "* myContacts" is no data
    assert _unmapped(plan) == {"Phone 2 - Value": 1, "Labels": 1, "Notes": 1}
    k = _accepted(plan)["kari@fjord.no"]
    assert (k["email2"], k["mobile_phone"], k["phone"]) == ("kari.nordmann@gmail.com", "+47 400 00 000", "+47 55 00 00 00")
    assert (k["company_name"], k["job_title"], k["home_page"]) == ("Fjord Consulting AS", "Rådgiver", "https://fjord.example")
    assert (k["address"], k["address2"], k["city"], k["post_code"], k["country_code"]) == (
        "Bryggen 1", "Bygg B, 3. etasje", "Bergen", "5003", "NO")
    b = _accepted(plan)["bjorn@akesson.se"]
    assert b["email2"] == "b.akesson@akesson.se"  # two addresses in one cell, joined by " ::: "
    assert b["fax"] == "+46 8 123 45 67" and b["country_code"] == "SE" and b["phone"] == ""


def test_google_csv_older_format():
    read = _read("google_old.csv")
    assert read.source == "Google Contacts CSV (older format)"
    plan = plan_import(read, [])
    assert not plan.unmapped and not plan.invalid
    i = _accepted(plan)["ingrid@haugen.no"]
    assert (i["company_name"], i["job_title"], i["phone"], i["mobile_phone"], i["home_page"]) == (
        "Haugen Regnskap", "Revisor", "+47 73 00 00 00", "+47 950 00 000", "http://haugen.example")
    assert _accepted(plan)["lars@overgaard.dk"]["country_code"] == "DK"  # "Danmark"


def test_business_central_export_keeps_numbers_codes_and_types():
    read = _read("bc_contacts.csv")
    assert read.source == "Business Central contact export" and read.derived == ["Search Name"]
    plan = plan_import(read, [])
    assert not plan.unmapped and not plan.invalid
    company = _accepted(plan)["info@cannongroup.example"]
    assert (company["no"], company["type"], company["salesperson_code"], company["territory_code"]) == (
        "CT000100", model.COMPANY, "JO", "N")
    assert _accepted(plan)["mette@kjaer.example"]["name"] == "Mette Kjær"


# --- vCard producers -------------------------------------------------------------------------

def test_iphone_vcard_reports_what_it_does_not_keep():
    read = _read("iphone.vcf")
    assert read.source == "iPhone/iCloud vCard"
    plan = plan_import(read, [])
    assert not plan.unmapped  # vCard: reported, not refused
    assert {u.name: u.values for u in plan.not_kept} == {
        "ORG (department)": 1, "TEL (home)": 1, "NOTE": 1, "BDAY": 1, "PHOTO": 1}
    z = _accepted(plan)["zhang.wei@example.cn"]
    assert (z["surname"], z["first_name"]) == ("张", "伟")  # from N, not by splitting FN
    assert z["name"] == "张伟"  # family name first, as Chinese names are written
    assert (z["address"], z["address2"], z["country_code"]) == ("1 Zhongguancun St", "5F, Building A", "CN")
    assert any("Zhang Wei 张伟" in w and "composed from N" in w for w in plan.warnings)
    firm = _accepted(plan)["post@fjellvaer.example"]
    assert firm["type"] == model.COMPANY and firm["name"] == "Fjellvær Bygg AS" and firm["country_code"] == "NO"


def test_google_and_outlook_vcards():
    google = plan_import(_read("google.vcf"), [])
    assert _read("google.vcf").source == "Google Contacts vCard"
    assert {u.name: u.values for u in google.not_kept} == {"BDAY": 1, "CATEGORIES": 1, "ADR (home)": 1, "NOTE": 1}
    assert _accepted(google)["kari@fjord.no"]["home_page"] == "https://fjord.example"  # Google escapes the colon
    outlook_read = _read("outlook.vcf")
    assert outlook_read.source == "Outlook vCard"
    outlook = plan_import(outlook_read, [])
    assert {u.name for u in outlook.not_kept} == {"ORG (department)", "NOTE"}  # LABEL, X-MS-OL-DESIGN: layout only
    a = _accepted(outlook)["ase@nordlys.no"]
    assert (a["name"], a["fax"], a["country_code"]) == ("Åse Ødegård", "+47 22 00 00 01", "NO")


@pytest.mark.parametrize("version, readable", [("2.1", True), ("3.0", False)])
def test_an_outlook_vcard_21_in_the_windows_code_page_is_read(tmp_path, version, readable):
    f = tmp_path / "Åse.vcf"
    f.write_bytes(f"BEGIN:VCARD\r\nVERSION:{version}\r\nN:Ødegård;Åse\r\nFN:Åse Ødegård\r\n"
                  "EMAIL;INTERNET:ase@nordlys.no\r\nEND:VCARD\r\n".encode("cp1252"))
    if not readable:  # vCard 3.0 and 4.0 are UTF-8 by definition
        with pytest.raises(ImportFileError, match="not UTF-8"):
            read_contacts(str(f))
        return
    read = read_contacts(str(f))
    assert read.rows[0].data["surname"] == "Ødegård" and any("Windows-1252" in w for w in read.warnings)


def test_a_6_mb_photo_line_unfolds_and_is_counted():
    photo = "A" * 6_000_000
    folded = "\r\n ".join(photo[i:i + 74] for i in range(0, len(photo), 74))
    read = parse_vcards(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big Photo\r\nPHOTO;ENCODING=b:{folded}\r\nEND:VCARD\r\n")
    assert read.rows[0].data["name"] == "Big Photo" and read.unkept["PHOTO"] == 1


@pytest.mark.parametrize("charset", ["idna", "punycode", "undefined", "no-such-charset"])
def test_a_vcard_charset_that_is_no_text_charset_makes_the_card_invalid(charset):
    read = parse_vcards(f"BEGIN:VCARD\r\nFN;CHARSET={charset};ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen\r\nEND:VCARD\r\n"
                        f"BEGIN:VCARD\r\nFN;CHARSET={charset}:Ann\r\nEND:VCARD\r\n")
    plan = plan_import(read, [])
    assert not plan.accepted and len(plan.invalid) == 2
    assert all(f"CHARSET={charset}" in p.reason for p in plan.invalid)


@pytest.mark.parametrize("encoding", ["undefined", "punycode", "idna", "base64", "nonsense"])
def test_an_encoding_that_is_no_text_charset_is_a_file_error(encoding):
    with pytest.raises(ImportFileError) as exc:
        decode_text("in.csv", "Name\nJosé\n".encode(), "csv", encoding)
    assert "in.csv" in str(exc.value) and "--encoding" in str(exc.value)


# --- country names ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, code", [
    ("Norway", "NO"), ("Norge", "NO"), ("norge", "NO"), ("España", "ES"), ("Espana", "ES"), ("Deutschland", "DE"),
    ("France", "FR"), ("NOR", "NO"), ("no", "NO"), ("GB", "GB"), ("United Kingdom", "GB"), ("USA", "US"),
    ("Sverige", "SE"), ("EU-NORTH", "EU-NORTH"), ("", ""),
])
def test_country_names_and_codes(value, code):
    assert country_code(value) == code


def test_an_unknown_country_name_makes_the_row_invalid():
    with pytest.raises(UnknownCountry):
        country_code("Narnia")
    read = parse_csv("Name;Country/Region Code\nAnn;Narnia\nBob;Norge\n")
    plan = plan_import(read, [])
    assert [p.line for p in plan.invalid] == [2] and "Narnia" in plan.invalid[0].reason
    assert plan.accepted[0][1]["country_code"] == "NO"


# --- formula guard ---------------------------------------------------------------------------

@given(st.text())
def test_the_formula_guard_is_undone_exactly_and_leaves_no_formula(value):
    guarded = guard_formula(value)
    assert unguard_formula(guarded) == value
    assert not guarded[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_export_neutralises_formulas_and_our_import_undoes_it(tmp_path):
    hostile = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\")", "+SUM(1)", "@x", "-1+2", "'=already quoted"]
    contacts = []
    for i, text in enumerate(hostile):
        c = model.normalise({"no": f"CT{i}", "name": f"Contact {i}", "company_name": text, "job_title": text[:30]})
        c["uuid"] = model.new_uuid()
        contacts.append(c)
    path = tmp_path / "out.csv"
    export_contacts(str(path), contacts, "csv")
    written = path.read_text("utf-8")
    assert "'=cmd|" in written and "'+SUM(1)" in written and "'@x" in written and "'-1+2" in written
    assert "''=already quoted" in written
    read = read_contacts(str(path))
    assert read.source == "bcsync export" and read.guarded
    plan = plan_import(read, [])
    assert [c["company_name"] for _, c in plan.accepted] == hostile
    table = list(csv.reader(io.StringIO(written, newline="")))
    keep = [table[0].index("Company Name"), table[0].index("Name")]  # a spreadsheet kept two columns, swapped
    edited = tmp_path / "edited.csv"
    with edited.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([[cells[i] for i in keep] for cells in table])
    assert [c["company_name"] for _, c in plan_import(read_contacts(str(edited)), []).accepted] == hostile
    kept = read_contacts(str(path), unguard=False)
    assert [r.data["company_name"] for r in kept.rows][1] == "'=HYPERLINK(\"http://x\")"
    export_contacts(str(path), contacts, "csv", formula_guard=False)
    assert ",=cmd|" in path.read_text("utf-8")  # --no-formula-guard: as it is


def test_update_plans_changes_by_number_or_email():
    existing = [dict(model.normalise({"no": "CT1", "first_name": "Ann", "surname": "Lee", "email": "ann@x.com",
                                      "city": "Oslo"}), uuid="u1"),
                dict(model.normalise({"no": "CT2", "name": "Bob", "email": "bob@x.com"}), uuid="u2")]
    read = parse_csv("No.;First Name;Surname;E-Mail;City\nCT1;Ann;Lee;ann@x.com;Bergen\n"
                              ";Bob;;BOB@x.com;\nCT1;Ann;Lee;ann@x.com;Oslo\nCT9;New;Person;new@x.com;\n"
                              "CT7;Eve;;bob@x.com;\n")
    plan = plan_import(read, existing, update=True)
    assert [(u.line, u.no, u.changes) for u in plan.updates] == [
        (2, "CT1", {"city": "Bergen"}), (3, "CT2", {"email": "BOB@x.com", "first_name": "Bob"})]  # empty cells change nothing
    assert {p.line: p.reason for p in plan.invalid} == {
        4: "updates CT1 like line 2; give each contact one row",
        6: "bob@x.com is the e-mail of CT2 Bob, but the row's No. is CT7"}
    assert [line for line, _ in plan.accepted] == [5]
    without = plan_import(read, existing)
    assert "pass --update" in without.invalid[0].reason and not without.updates


def test_export_to_buffer_keeps_header_and_guard_per_cell():
    from bcsync_tui.core.contacts_csv import write_csv

    buf = io.StringIO()
    write_csv(buf, [model.normalise({"name": "=1+1", "email": "a@x.com"})], ("name", "email"))
    assert buf.getvalue().splitlines() == ["Name,E-Mail", "'=1+1,a@x.com"]


def test_paused_gc_pauses_and_restores_the_collector():
    import gc

    from bcsync_tui.core.contacts_io import paused_gc

    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
