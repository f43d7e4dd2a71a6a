"""``bcsync contacts ...``: list/show/add/edit/delete and all-or-nothing import/export."""

from __future__ import annotations

import json

import pytest

ANN = ["--first-name", "Ann", "--surname", "Lee", "--email", "ann@example.com", "--city", "Oslo"]


def _add_three(cli):
    assert cli("contacts", "add", *ANN).code == 0
    assert cli("contacts", "add", "--set", "First Name=Bob", "--set", "surname=Berg", "--set", "E-Mail=bob@example.com",
               "--set", "Post Code=5003", "--city", "Bergen").code == 0
    assert cli("contacts", "add", "--name", "Nordlys AS", "--type", "Company", "--email", "post@nordlys.no",
               "--city", "Oslo").code == 0


def test_add_list_show(cli):
    _add_three(cli)
    r = cli("contacts", "list")
    assert r.code == 0
    assert [ln.split()[0] for ln in r.out.splitlines()[2:5]] == ["CT000001", "CT000002", "CT000003"]
    assert "3 contacts" in r.out
    r = cli("contacts", "list", "--filter", "City=Oslo", "--json")
    data = json.loads(r.out)
    assert data["schema"] == 1 and data["count"] == 2
    assert set(data["contacts"][0]) == {"no", "uuid", "type", "name", "company_name", "email", "phone", "city"}
    assert [c["name"] for c in data["contacts"]] == ["Ann Lee", "Nordlys AS"]
    full = json.loads(cli("contacts", "list", "--all-fields", "--json").out)["contacts"][1]
    assert full["post_code"] == "5003" and full["privacy_blocked"] is False and "revision" in full
    r = cli("contacts", "show", "ct000002")
    assert r.code == 0 and "Post Code:" in r.out and "5003" in r.out
    shown = json.loads(cli("contacts", "show", "CT000002", "--json").out)
    assert shown["schema"] == 1 and shown["contact"]["first_name"] == "Bob"


def test_list_filter_errors_show_position_with_a_caret(cli):
    _add_three(cli)
    r = cli("contacts", "list", "--filter", "Post Code=10..5'")
    assert r.code == 3
    lines = r.err.splitlines()
    assert lines[0].startswith("bcsync: bad filter for Post Code: unclosed quote")
    assert lines[1] == "  Post Code: 10..5'"
    assert lines[2] == " " * len("  Post Code: 10..5'") + "^"  # the quote is never closed: points past the end
    r = cli("contacts", "list", "--filter", "City=a..b..c")
    assert r.err.splitlines()[1:] == ["  City: a..b..c", " " * len("  City: a..b") + "^"]
    assert cli("contacts", "list", "--filter", "Colour=red").code == 3
    assert cli("contacts", "list", "--filter", "no-equals-sign").code == 3


def test_add_rejects_bad_values_and_duplicate_email(cli):
    r = cli("contacts", "add", "--first-name", "Bob", "--email", "nope", "--phone", "call me")
    assert r.code == 3 and "E-Mail" in r.err and "Phone No." in r.err and "nothing was saved" in r.err
    assert cli("contacts", "add", *ANN).code == 0
    r = cli("contacts", "add", "--first-name", "Ann2", "--email", "ANN@example.com")
    assert r.code == 3 and "already the e-mail of CT000001" in r.err
    assert cli("contacts", "add", "--first-name", "Ann2", "--email", "ANN@example.com", "--allow-duplicate").code == 0
    assert cli("contacts", "add").code == 3
    assert cli("contacts", "add", "--set", "UUID=x", "--name", "X").code == 3
    assert cli("contacts", "add", "--name", "X", "--privacy-blocked", "maybe").code == 3


def test_edit_and_delete(cli):
    _add_three(cli)
    r = cli("contacts", "edit", "CT000001", "--set", "City=Bergen", "--job-title", "CEO")
    assert r.code == 0 and "City: 'Oslo' → 'Bergen'" in r.out
    r = cli("contacts", "edit", "CT000001", "--city", "Bergen", "--json")
    assert json.loads(r.out)["changed"] == []
    assert cli("contacts", "edit", "CT000001", "--email", "bob@example.com").code == 3
    assert cli("contacts", "edit", "CT999999", "--city", "X").code == 3
    assert cli("contacts", "edit", "CT000001").code == 3
    r = cli("contacts", "delete", "CT000002")
    assert r.code == 3 and "--yes" in r.err  # no terminal to ask on: never waits
    assert cli("contacts", "delete", "CT000002", "--yes").code == 0
    assert cli("contacts", "show", "CT000002").code == 3
    with cli.store() as store:
        assert store.get_contact(
            next(c["uuid"] for c in store.all_contacts(include_deleted=True) if c["no"] == "CT000002"),
            include_deleted=True)["deleted"] is True


CSV_GOOD = "\ufeffFirst Name;Surname;E-Mail;Post Code\r\nÅse;Ødegård;ase@example.no;0150\r\nPer;Hansen;per@example.no;5003\r\n"
CSV_BAD = ("Name,E-Mail,Phone No.\n"
           "Good One,good@example.com,+47 1\n"
           "Bad Mail,not-an-address,\n"
           "\"Multi\nLine\",ok@example.com,letters\n"
           "Fine,fine@example.com,\n")


def test_import_csv_with_bom_and_semicolons(cli, tmp_path):
    f = tmp_path / "people.csv"
    f.write_bytes(CSV_GOOD.encode("utf-8"))
    r = cli("contacts", "import", str(f))
    assert r.code == 0 and "Imported 2 of 2" in r.out
    names = [c["name"] for c in json.loads(cli("contacts", "list", "--json").out)["contacts"]]
    assert names == ["Åse Ødegård", "Per Hansen"]
    assert any(p.name.endswith("-import.json") for p in cli.paths.backup_dir.iterdir())


def test_failing_import_writes_nothing(cli, tmp_path):
    _add_three(cli)
    before = cli.store_bytes()
    backups_before = sorted(cli.paths.backup_dir.glob("*")) if cli.paths.backup_dir.exists() else []
    f = tmp_path / "bad.csv"
    f.write_text(CSV_BAD, encoding="utf-8")
    r = cli("contacts", "import", str(f))
    assert r.code == 3
    assert "line 3 (Bad Mail)" in r.err and "line 4 (Multi" in r.err and "Nothing was imported" in r.err
    assert cli.store_bytes() == before
    assert (sorted(cli.paths.backup_dir.glob("*")) if cli.paths.backup_dir.exists() else []) == backups_before
    r = cli("contacts", "import", str(f), "--json")
    data = json.loads(r.out)
    assert r.code == 3 and data["imported"] == 0 and [p["line"] for p in data["invalid"]] == [3, 4]
    assert cli.store_bytes() == before


def test_skip_invalid_imports_the_good_rows_and_exits_1(cli, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text(CSV_BAD, encoding="utf-8")
    r = cli("contacts", "import", str(f), "--skip-invalid", "--json")
    data = json.loads(r.out)
    assert r.code == 1 and data["imported"] == 2 and data["numbers"] == ["CT000001", "CT000002"]
    assert data["backup"] and [p["line"] for p in data["invalid"]] == [3, 4]


def test_duplicates_are_skipped_and_reported(cli, tmp_path):
    assert cli("contacts", "add", *ANN).code == 0
    f = tmp_path / "dups.csv"
    f.write_text("Name;E-Mail\nAnn Again;ANN@example.com\nNew;new@example.com\nNew Twin;new@example.com\n")
    r = cli("contacts", "import", str(f))
    assert r.code == 0 and "Imported 1 of 3" in r.out
    assert "line 2 (Ann Again): ANN@example.com is already in the store as CT000001 Ann Lee" in r.err
    assert "line 4 (New Twin): new@example.com is also on line 3" in r.err
    assert json.loads(cli("contacts", "list", "--json").out)["count"] == 2
    r = cli("contacts", "import", str(f), "--allow-duplicates", "--json")
    assert json.loads(r.out)["imported"] == 3


def test_dry_run_import_changes_nothing(cli, tmp_path):
    f = tmp_path / "people.csv"
    f.write_bytes(CSV_GOOD.encode())
    cli("contacts", "list")
    before = cli.store_bytes()
    r = cli("contacts", "import", str(f), "--dry-run")
    assert r.code == 0 and "would be imported" in r.out and cli.store_bytes() == before


@pytest.mark.parametrize("name, data, fragment", [
    ("book.xlsx", b"PK\x03\x04\x14\x00binary", "Excel workbook"),
    ("latin.csv", "Name;E-Mail\nJosé;j@x.com\n".encode("cp1252"), "not UTF-8"),
    ("binary.csv", bytes(range(256)), "binary"),
    ("cut.vcf", b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEMAIL:a@x.com\r\n", "truncated"),
    ("empty.csv", b"", "empty"),
])
def test_malformed_files_exit_3_and_leave_the_store_alone(cli, tmp_path, name, data, fragment):
    _add_three(cli)
    before = cli.store_bytes()
    f = tmp_path / name
    f.write_bytes(data)
    r = cli("contacts", "import", str(f), "--skip-invalid")
    assert r.code == 3
    assert str(f) in r.err and fragment in r.err and "store is unchanged" in r.err
    assert cli.store_bytes() == before


def test_missing_file_and_wrong_encoding_hint(cli, tmp_path):
    r = cli("contacts", "import", str(tmp_path / "nope.csv"))
    assert r.code == 3 and "does not exist" in r.err
    f = tmp_path / "latin.csv"
    f.write_bytes("Name;E-Mail\nJosé;j@x.com\n".encode("cp1252"))
    r = cli("contacts", "import", str(f), "--encoding", "cp1252", "--json")
    assert r.code == 0 and json.loads(r.out)["imported"] == 1
    assert json.loads(cli("contacts", "show", "CT000001", "--json").out)["contact"]["name"] == "José"


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcard_export_import_round_trip(cli, tmp_path, home, version):
    _add_three(cli)
    cli("contacts", "edit", "CT000001", "--set", "Address=Storgata 1; 2. etg", "--set", "Privacy Blocked=yes",
        "--territory-code", "N", "--mobile-phone", "+47 900 00 000")
    out = tmp_path / "all.vcf"
    r = cli("contacts", "export", str(out), "--vcard-version", version)
    assert r.code == 0 and "Exported 3" in r.out
    assert out.read_text(encoding="utf-8").count(f"VERSION:{version}") == 3
    original = json.loads(cli("contacts", "list", "--all-fields", "--json").out)["contacts"]
    r = cli("--home", str(tmp_path / "other"), "contacts", "import", str(out), "--json", profile=None)
    assert r.code == 0, r.err
    copy = json.loads(cli("--home", str(tmp_path / "other"), "contacts", "list", "--all-fields", "--json").out)["contacts"]
    keep = lambda c: {k: v for k, v in c.items() if k not in ("uuid", "created_at", "modified_at", "revision")}  # noqa: E731
    assert [keep(c) for c in copy] == [keep(c) for c in original]


def test_csv_export_filtered_to_stdout_and_file(cli, tmp_path):
    _add_three(cli)
    r = cli("contacts", "export", "-", "--filter", "City=Oslo", "--delimiter", ";")
    lines = r.out.splitlines()
    assert r.code == 0 and lines[0].startswith("No.;Type;Name;First Name") and len(lines) == 3
    f = tmp_path / "x.csv"
    r = cli("contacts", "export", str(f), "--bom", "--json")
    assert json.loads(r.out) == {"schema": 1, "file": str(f), "format": "csv", "exported": 3}
    assert f.read_bytes().startswith(b"\xef\xbb\xbfNo.,")
    assert cli("contacts", "export", str(tmp_path / "no-such-dir" / "x.csv")).code == 3


def test_imported_and_edited_east_asian_names_read_family_name_first(cli, tmp_path):
    f = tmp_path / "people.csv"
    f.write_text("First Name;Surname;E-Mail\n伟;张;zhang@example.cn\n", encoding="utf-8")
    assert cli("contacts", "import", str(f)).code == 0
    assert [c["name"] for c in json.loads(cli("contacts", "list", "--json").out)["contacts"]] == ["张伟"]
    r = cli("contacts", "edit", "CT000001", "--first-name", "小伟")
    assert r.code == 0 and "'张伟' → '张小伟'" in r.out
    r = cli("contacts", "edit", "CT000001", "--first-name", "Wei", "--surname", "Zhang")
    assert r.code == 0 and "'张小伟' → 'Wei Zhang'" in r.out
