"""Sync profiles (settings + engine state) and secrets (keyring or a 0600 file, never the store)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from bcsync_tui.core import secrets as secrets_mod
from bcsync_tui.core.paths import Paths
from bcsync_tui.core.profiles import (
    DEFAULT_FOLDER,
    Profile,
    get_or_new_profile,
    list_profiles,
    load_profile,
    save_profile,
    update_state,
)
from bcsync_tui.core.secrets import SecretStore
from bcsync_tui.core.store import NotFoundError, Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store.json")
    yield s
    s.close()


def full_profile(**over) -> Profile:
    base = dict(
        name="ann", email="ann@example.com", server_url="https://mail.example.com/EWS/Exchange.asmx",
        auth_type="ntlm", username="EXAMPLE\\ann", folder_name="BC kontakter",
        filter={"city": "Oslo|Bergen", "territory_code": "N*"}, master_delete_policy="unlink",
        leave_filter_policy="unlink", interval_minutes=15, enabled=False, verify_tls=False,
        max_deletes=7, max_delete_fraction=0.5, oauth_client_id="cid", oauth_tenant_id="tid",
        state={"folder_id": "F1", "sync_state": "S1", "orphans": {"a": ["b"]}},
    )
    base.update(over)
    return Profile(**base)


# --- validation ------------------------------------------------------------------------------------


def test_defaults_are_valid_and_match_bc():
    p = Profile(name="ann")
    assert p.validate() == {}
    assert p.folder_name == DEFAULT_FOLDER == "Business Central"
    assert p.verify_tls is True
    assert p.auth_type == "basic"
    assert not p.configured
    assert Profile(name="ann", email="ann@example.com").configured


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "ann.example.com"}, "email", "must be an e-mail address such as ann@example.com"),
        ({"server_url": "mail.example.com"}, "server_url",
         "must start with https:// (or http:// for a local test server), or be blank for autodiscover"),
        ({"server_url": "ftp://x"}, "server_url",
         "must start with https:// (or http:// for a local test server), or be blank for autodiscover"),
        ({"auth_type": "kerberos"}, "auth_type", "must be one of basic, ntlm, oauth2"),
        ({"auth_type": "oauth2"}, "oauth_client_id", "OAuth2 needs a client (application) id"),
        ({"folder_name": "   "}, "folder_name", "needs a name"),
        ({"folder_name": "a/b"}, "folder_name", "must not contain / or \\"),
        ({"folder_name": "a\\b"}, "folder_name", "must not contain / or \\"),
        ({"master_delete_policy": "shred"}, "master_delete_policy",
         "must be one of move_to_deleted_items, delete, unlink"),
        ({"leave_filter_policy": "keep"}, "leave_filter_policy", "must be one of remove, unlink"),
        ({"interval_minutes": -5}, "interval_minutes", "must be 0 (off) or a number of minutes"),
    ],
)
def test_validate_messages(changes, field, message):
    p = Profile(name="ann", **changes)
    assert p.validate() == {field: message}


def test_validate_reports_every_bad_field_at_once():
    p = Profile(name="ann", email="x", auth_type="oauth2", folder_name="", interval_minutes=-1)
    assert set(p.validate()) == {"email", "oauth_client_id", "folder_name", "interval_minutes"}


def test_valid_full_profile():
    assert full_profile().validate() == {}
    assert full_profile(auth_type="oauth2").validate() == {}
    assert full_profile(server_url="", auth_type="basic").validate() == {}


# --- save / load -----------------------------------------------------------------------------------


def test_save_load_round_trip_keeps_every_setting_and_state(store, tmp_path):
    p = full_profile()
    save_profile(store, p)
    assert load_profile(store, "ann") == p
    with Store(tmp_path / "store.json") as again:  # and from disk
        assert load_profile(again, "ann") == p


def test_save_again_updates_in_place(store):
    save_profile(store, full_profile())
    p = load_profile(store, "ann")
    p.folder_name = "Other"
    p.filter = {"city": "Tromsø"}
    save_profile(store, p)
    assert len(store.profiles.raw()) == 1
    got = load_profile(store, "ann")
    assert got.folder_name == "Other" and got.filter == {"city": "Tromsø"}
    assert got.state == full_profile().state


def test_saving_settings_keeps_state_the_engine_wrote_meanwhile(store):
    """The TUI loads a profile, a sync updates its state, then the TUI saves an edited setting:
    the sync's state must survive (SPEC: settings and state are edited independently)."""
    save_profile(store, full_profile())
    edited = load_profile(store, "ann")
    update_state(store, "ann", sync_state="S2", last_run="r9")
    edited.folder_name = "Renamed"
    save_profile(store, edited)
    got = load_profile(store, "ann")
    assert got.folder_name == "Renamed"
    assert got.state["sync_state"] == "S2" and got.state["last_run"] == "r9"
    assert got.state["folder_id"] == "F1"


def test_a_caller_that_changes_state_on_purpose_saves_it(store):
    save_profile(store, full_profile())
    p = load_profile(store, "ann")
    p.state = {}
    save_profile(store, p)
    assert load_profile(store, "ann").state == {}
    p = load_profile(store, "ann")
    p.state["sync_state"] = "mine"
    save_profile(store, p)
    assert load_profile(store, "ann").state == {"sync_state": "mine"}


def test_load_unknown_profile(store):
    with pytest.raises(NotFoundError) as info:
        load_profile(store, "bob")
    assert "bob" in str(info.value) and "bcsync setup" in str(info.value)
    fresh = get_or_new_profile(store, "bob")
    assert fresh == Profile(name="bob")


def test_list_profiles_sorted(store):
    for name in ("carl", "ann", "bob"):
        save_profile(store, Profile(name=name))
    assert [p.name for p in list_profiles(store)] == ["ann", "bob", "carl"]


def test_unknown_keys_in_a_stored_profile_are_ignored(store):
    store.profiles.insert({"name": "ann", "email": "ann@example.com", "from_a_newer_version": 1})
    assert load_profile(store, "ann") == Profile(name="ann", email="ann@example.com")


def test_update_state_merges_keys(store):
    save_profile(store, full_profile())
    update_state(store, "ann", sync_state="S2", linked_count=3)
    update_state(store, "ann", orphans={})
    got = load_profile(store, "ann")
    assert got.state == {"folder_id": "F1", "sync_state": "S2", "linked_count": 3, "orphans": {}}
    assert got.folder_name == "BC kontakter"  # settings untouched


def test_update_state_inside_a_transaction_is_part_of_it(store):
    save_profile(store, full_profile())
    with pytest.raises(RuntimeError):
        with store.transaction():
            update_state(store, "ann", sync_state="lost")
            raise RuntimeError
    assert load_profile(store, "ann").state["sync_state"] == "S1"


def test_update_state_of_unknown_profile(store):
    with pytest.raises(NotFoundError):
        update_state(store, "nobody", x=1)


def test_profiles_are_isolated(store):
    save_profile(store, full_profile())
    save_profile(store, full_profile(name="bob", folder_name="Bob's", state={"sync_state": "B"}))
    update_state(store, "ann", sync_state="A2")
    assert load_profile(store, "bob").state == {"sync_state": "B"}
    assert load_profile(store, "bob").folder_name == "Bob's"


# --- secrets ---------------------------------------------------------------------------------------


def mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_no_keyring_env_forces_the_file(tmp_path):
    s = SecretStore(tmp_path / "secrets.json")
    assert s._kr is None
    assert str(tmp_path / "secrets.json") in s.where and "readable only by you" in s.where


def test_file_fallback_round_trip_and_is_0600(tmp_path):
    old = os.umask(0)
    try:
        f = tmp_path / "cfg" / "secrets.json"
        s = SecretStore(f)
        assert s.get("ann") is None
        s.set("ann", "pa55 wörd")
        s.set("ann", "tok", kind="oauth_token")
        s.set("bob", "other")
        assert mode(f) == 0o600
        assert mode(f.parent) == 0o700
        assert s.get("ann") == "pa55 wörd"
        assert s.get("ann", "oauth_token") == "tok"
        assert SecretStore(f).get("bob") == "other"
        s.delete("ann")
        assert s.get("ann") is None
        assert s.get("ann", "oauth_token") == "tok"
        assert mode(f) == 0o600
        s.delete("nobody")  # deleting what is not there is fine
    finally:
        os.umask(old)


def test_a_damaged_secrets_file_is_never_written_over(tmp_path):
    f = tmp_path / "secrets.json"
    f.write_text("{not json")
    s = SecretStore(f)
    with pytest.raises(secrets_mod.SecretsFileError, match="secrets.json"):
        s.set("ann", "pw")
    with pytest.raises(secrets_mod.SecretsFileError):
        s.get("ann")
    assert f.read_text() == "{not json"


def test_secret_never_reaches_the_store(tmp_path):
    paths = Paths.resolve(tmp_path / "home").ensure()
    store = Store.open(paths)
    password = "S3cr3t-Pässw0rd-xyzzy"
    save_profile(store, full_profile())
    secrets = SecretStore(paths.secrets_file)
    secrets.set("ann", password)
    secrets.set("ann", password + "-token", kind="oauth_token")
    update_state(store, "ann", sync_state="S2")
    store.add_contact({"first_name": "Ann", "surname": "Lee", "email": "ann@example.com"})
    store.storage.compact()
    store.add_contact({"first_name": "Bo", "surname": "Ek", "email": "bo@example.com"})
    store.backup("check")
    assert secrets.get("ann") == password
    store_files = [p for p in paths.data_dir.rglob("*") if p.is_file() and p != paths.secrets_file]
    assert paths.store_file in store_files
    forms = [password.encode(), json.dumps(password)[1:-1].encode(), password.encode("utf-16-le"),
             b"xyzzy"]
    for p in store_files:
        raw = p.read_bytes()
        for form in forms:
            assert form not in raw, (p, form)
    assert json.loads(paths.secrets_file.read_text())["ann:password"] == password
    store.close()


def test_a_working_keyring_is_used_and_the_file_stays_unwritten(tmp_path, monkeypatch):
    class FakeKeyring:
        def __init__(self):
            self.saved = {}

        def get_password(self, service, key):
            return self.saved.get((service, key))

        def set_password(self, service, key, value):
            self.saved[(service, key)] = value

        def delete_password(self, service, key):
            self.saved.pop((service, key))

    fake = FakeKeyring()
    monkeypatch.setattr(secrets_mod, "_keyring", lambda: fake)
    f = tmp_path / "secrets.json"
    s = SecretStore(f)
    assert s.where == "the OS keyring"
    s.set("ann", "pw")
    assert fake.saved == {(secrets_mod.SERVICE, "ann:password"): "pw"}
    assert not f.exists()
    assert s.get("ann") == "pw"
    s.delete("ann")
    assert s.get("ann") is None


def test_a_refusing_keyring_falls_back_to_the_file(tmp_path, monkeypatch):
    class Locked:
        def get_password(self, *a):
            raise RuntimeError("locked")

        def set_password(self, *a):
            raise RuntimeError("locked")

        def delete_password(self, *a):
            raise RuntimeError("locked")

    monkeypatch.setattr(secrets_mod, "_keyring", lambda: Locked())
    f = tmp_path / "secrets.json"
    s = SecretStore(f)
    s.set("ann", "pw")
    assert mode(f) == 0o600
    assert s.get("ann") == "pw"
    s.delete("ann")
    assert s.get("ann") is None


def test_only_profile_picks_the_single_profile_when_the_default_has_none(tmp_path):
    from bcsync_tui.core.profiles import Profile, only_profile, save_profile
    from bcsync_tui.core.store import Store

    store = Store(tmp_path / "store.json")
    assert only_profile(store, "root") == "root"  # nothing set up yet: the OS user
    save_profile(store, Profile(name="demo", email="demo@example.com"))
    assert only_profile(store, "root") == "demo"
    save_profile(store, Profile(name="bob", email="bob@example.com"))
    assert only_profile(store, "root") == "root"  # ambiguous: no guessing
    assert only_profile(store, "bob") == "bob"
    store.close()
