"""``bcsync contacts import`` with the files people have (tests/fixtures/exports): the recognised
layout in the summary, refusal of data without a field, --ignore-column, --update, capped error
lists, the export formula guard, and clear exits for hostile encodings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXPORTS = Path(__file__).parents[1] / "fixtures" / "exports"


def _contacts(cli) -> list[dict]:
    return json.loads(cli("contacts", "list", "--all-fields", "--json").out)["contacts"]


def test_outlook_export_is_refused_with_each_unmapped_column_then_imported_when_ignored(cli):
    f = str(EXPORTS / "outlook_en.csv")
    before = cli.store_bytes()
    r = cli("contacts", "import", f)
    assert r.code == 3 and "Outlook CSV (English)" in r.out
    assert "3 columns hold values bcsync has no field for:" in r.err
    for line in ("'Title': 1 value", "'Notes': 1 value", "'Home Phone': 1 value"):
        assert line in r.err
    assert "--ignore-column" in r.err and "Nothing was imported" in r.err and cli.store_bytes() == before
    data = json.loads(cli("contacts", "import", f, "--json").out)
    assert data["source"] == "Outlook CSV (English)" and data["imported"] == 0
    assert {u["column"]: u["values"] for u in data["unmapped"]} == {"Title": 1, "Notes": 1, "Home Phone": 1}

    r = cli("contacts", "import", f, "--ignore-column", "Title", "--ignore-column", "Notes",
            "--ignore-column", "Home Phone")
    assert r.code == 0 and "Imported 3 of 3" in r.out and "Not kept" in r.err and "'Notes': 1 value" in r.err
    ann = next(c for c in _contacts(cli) if c["email"] == "ann.lee@contoso.com")
    assert (ann["surname"], ann["company_name"], ann["address"], ann["city"], ann["country_code"]) == (
        "Lee", "Contoso AS", "Storgata 1", "Oslo", "NO")


def test_ignore_unmapped_leaves_out_every_such_column_but_still_lists_them(cli):
    r = cli("contacts", "import", str(EXPORTS / "google.csv"), "--ignore-unmapped", "--json")
    data = json.loads(r.out)
    assert r.code == 0 and data["imported"] == 2 and data["source"] == "Google Contacts CSV"
    assert {u["column"] for u in data["not_kept"]} == {"Phone 2 - Value", "Labels", "Notes"}


@pytest.mark.parametrize("name, source", [
    ("outlook_de.csv", "Outlook CSV (German)"), ("outlook_fr.csv", "Outlook CSV (French)"),
    ("outlook_no.csv", "Outlook CSV (Norwegian)"), ("google_old.csv", "Google Contacts CSV (older format)"),
    ("bc_contacts.csv", "Business Central contact export"), ("iphone.vcf", "iPhone/iCloud vCard"),
    ("google.vcf", "Google Contacts vCard"), ("outlook.vcf", "Outlook vCard"),
])
def test_each_export_says_what_it_was_read_as(cli, name, source):
    r = cli("contacts", "import", str(EXPORTS / name), "--ignore-unmapped", "--dry-run")
    assert r.code == 0 and f"as {source}:" in r.out and "would be imported" in r.out


def test_many_row_notes_are_capped_too(cli, tmp_path):
    cards = "".join(f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:张;伟{i};;;\r\nFN:Zhang Wei {i}\r\n"
                    f"EMAIL:z{i}@example.cn\r\nEND:VCARD\r\n" for i in range(25))
    f = tmp_path / "many.vcf"
    f.write_text(cards, encoding="utf-8")
    r = cli("contacts", "import", str(f))
    assert r.code == 0 and r.err.count("composed from N") == 20 and "... and 5 more" in r.err


def test_vcard_import_reports_the_properties_it_does_not_keep(cli):
    r = cli("contacts", "import", str(EXPORTS / "iphone.vcf"))
    assert r.code == 0 and "Imported 2 of 2" in r.out
    assert "Not kept" in r.err and "'PHOTO': 1 value" in r.err and "'NOTE': 1 value" in r.err
    assert "composed from N" in r.err
    zhang = next(c for c in _contacts(cli) if c["email"] == "zhang.wei@example.cn")
    assert (zhang["surname"], zhang["first_name"], zhang["address2"]) == ("张", "伟", "5F, Building A")


def _numbered_csv(path: Path, count: int, city: str) -> None:
    lines = ["No.;Name;E-Mail;City"] + [f"CT{i:06d};Person {i};p{i}@example.com;{city}" for i in range(1, count + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_reimport_lists_the_first_20_errors_and_update_applies_the_changes_all_or_nothing(cli, tmp_path):
    f = tmp_path / "people.csv"
    _numbered_csv(f, 30, "Oslo")
    assert cli("contacts", "import", str(f)).code == 0
    _numbered_csv(f, 30, "Bergen")
    before = cli.store_bytes()
    r = cli("contacts", "import", str(f))
    assert r.code == 3 and "30 invalid rows" in r.err and "... and 10 more" in r.err
    assert r.err.count("is already used in the contact store") == 20 and "--update" in r.err
    assert cli.store_bytes() == before
    assert len(json.loads(cli("contacts", "import", str(f), "--json").out)["invalid"]) == 30  # JSON: all

    r = cli("contacts", "import", str(f), "--update")
    assert r.code == 0 and "30 updates" in r.out
    assert {c["city"] for c in _contacts(cli)} == {"Bergen"} and len(_contacts(cli)) == 30
    r = cli("contacts", "import", str(f), "--update")
    assert r.code == 0 and "no new contacts and no changes" in r.out

    f.write_text(f.read_text(encoding="utf-8").replace(";Bergen", ";Tromsø") + "CT000031;;bad-mail;Oslo\n",
                 encoding="utf-8")
    before = cli.store_bytes()
    r = cli("contacts", "import", str(f), "--update")
    assert r.code == 3 and "line 32" in r.err and cli.store_bytes() == before  # one bad row: nothing updated


def test_export_guards_formulas_and_a_reimport_gives_the_same_values(cli, tmp_path):
    cli("contacts", "add", "--name", "=HYPERLINK(\"http://evil\",\"x\")", "--type", "Company",
        "--email", "evil@example.com", "--job-title", "+SUM(1)")
    out = tmp_path / "all.csv"
    assert cli("contacts", "export", str(out)).code == 0
    text = out.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'+SUM(1)" in text
    r = cli("--home", str(tmp_path / "other"), "contacts", "import", str(out), "--json", profile=None)
    assert r.code == 0 and json.loads(r.out)["source"] == "bcsync export"
    copy = json.loads(cli("--home", str(tmp_path / "other"), "contacts", "list", "--all-fields", "--json",
                          profile=None).out)["contacts"][0]
    assert copy["name"] == "=HYPERLINK(\"http://evil\",\"x\")" and copy["job_title"] == "+SUM(1)"
    assert cli("contacts", "export", str(out), "--no-formula-guard").code == 0
    raw = out.read_text(encoding="utf-8")
    assert '"=HYPERLINK(' in raw and "'=HYPERLINK" not in raw


@pytest.mark.parametrize("encoding", ["undefined", "punycode", "idna", "rot13"])
def test_an_encoding_that_is_no_text_charset_exits_3(cli, tmp_path, encoding):
    f = tmp_path / "people.csv"
    f.write_text("Name;E-Mail\nAnn;ann@example.com\n", encoding="utf-8")
    r = cli("contacts", "import", str(f), "--encoding", encoding)
    assert r.code == 3 and str(f) in r.err and "--encoding" in r.err and "Traceback" not in r.err


def test_a_vcard_with_charset_idna_exits_3_naming_the_card(cli, tmp_path):
    f = tmp_path / "idna.vcf"
    f.write_bytes(b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=idna;ENCODING=QUOTED-PRINTABLE:M=FCller;J\r\n"
                  b"EMAIL:j@example.de\r\nEND:VCARD\r\n")
    r = cli("contacts", "import", str(f))
    assert r.code == 3 and "CHARSET=idna" in r.err and "line 1" in r.err and "Nothing was imported" in r.err
