"""Exchange sync setup (with Validate connection against the loopback server) and contact sync setup."""

from __future__ import annotations

from textual.widgets import Checkbox, Select

from bcsync_tui.core.profiles import load_profile, update_state
from bcsync_tui.core.secrets import SecretStore
from bcsync_tui.core.store import Store
from bcsync_tui.tui.screens.contacts import ContactsScreen
from bcsync_tui.tui.screens.setup import ContactSyncSetupScreen, ExchangeSetupScreen

from .conftest import EMAIL, PASSWORD, PROFILE, make_app


def fill(app, **values: str) -> None:
    for key, value in values.items():
        app.screen.query_one(f"#{key}").value = value


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def choose_exchange_server(app, pilot) -> None:
    """The on-premises service (EWS); a new profile starts on Exchange Online."""
    app.screen.query_one("#transport", Select).value = "ews"
    await pilot.pause()


async def test_exchange_setup_saves_settings_and_keeps_the_password_out_of_the_store(paths, store: Store):
    app = make_app(paths, store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("x")
        await choose_exchange_server(app, pilot)
        assert isinstance(app.screen, ExchangeSetupScreen)
        assert app.focused.id == "email"
        assert app.screen.query_one("#verify_tls", Checkbox).value is True  # on unless turned off
        fill(app, email="ann-at-example", server_url="ftp://mail.example.com")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ExchangeSetupScreen)
        assert "e-mail address" in text_of(app, "#error-email")
        assert "https://" in text_of(app, "#error-server_url")
        fill(app, email=EMAIL, server_url="", username="CONTOSO\\ann", password="pa55 word")
        app.screen.query_one("#auth_type", Select).value = "ntlm"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
        assert app.profile.configured and app.profile.server_url == ""
    profile = load_profile(store, PROFILE)
    assert (profile.email, profile.auth_type, profile.username, profile.verify_tls) == (EMAIL, "ntlm", "CONTOSO\\ann",
                                                                                        True)
    assert SecretStore(paths.secrets_file).get(PROFILE) == "pa55 word"
    assert not [f for f in paths.data_dir.rglob("store*") if b"pa55 word" in f.read_bytes()]
    assert paths.secrets_file.stat().st_mode & 0o777 == 0o600


async def test_turning_tls_verification_off_is_explicit_and_warned(paths, store: Store):
    app = make_app(paths, store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("x")
        await choose_exchange_server(app, pilot)
        assert text_of(app, "#tls-warning") == ""
        app.screen.query_one("#verify_tls", Checkbox).value = False
        await pilot.pause()
        assert "TLS verification is OFF" in text_of(app, "#tls-warning")
        fill(app, email=EMAIL, server_url="https://localhost:8443/EWS/Exchange.asmx")
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert load_profile(store, PROFILE).verify_tls is False


async def test_oauth_fields_appear_only_for_oauth(paths, store: Store):
    app = make_app(paths, store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("x")
        await choose_exchange_server(app, pilot)
        oauth_parts = ("#row-oauth_client_id", "#row-oauth_token_url", "#hint-oauth_token_url")
        assert not any(app.screen.query_one(part).display for part in oauth_parts)
        app.screen.query_one("#auth_type", Select).value = "oauth2"
        await pilot.pause()
        assert all(app.screen.query_one(part).display for part in oauth_parts)
        fill(app, email=EMAIL, oauth_token_url="adfs.example.com/token")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "client" in text_of(app, "#error-oauth_client_id")
        assert "https://" in text_of(app, "#error-oauth_token_url")


async def test_validate_connection_succeeds_against_the_loopback_server(paths, store: Store, exchange):
    app = make_app(paths, store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("x")
        await choose_exchange_server(app, pilot)
        fill(app, email=EMAIL, server_url=exchange.url, password=PASSWORD)
        exchange.faults.slow(1.0)  # long enough to see the check running, and the keyboard stays live
        await pilot.press("ctrl+t")
        assert "Connecting" in text_of(app, "#validate-result")
        await pilot.press("tab")
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        result = app.screen.query_one("#validate-result")
        assert result.has_class("-ok"), text_of(app, "#validate-result")
        assert "Connected successfully to Exchange." in text_of(app, "#validate-result")
        assert isinstance(app.screen, ExchangeSetupScreen)  # validating does not save
    assert not store.profiles.raw()  # nothing was saved


async def test_validate_connection_reports_a_wrong_password(paths, store: Store, exchange):
    app = make_app(paths, store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("x")
        await choose_exchange_server(app, pilot)
        fill(app, email=EMAIL, server_url=exchange.url, password="wrong")
        await pilot.click("#validate")
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        result = app.screen.query_one("#validate-result")
        assert result.has_class("-failed")
        assert "Connected successfully" not in text_of(app, "#validate-result")
        assert len(text_of(app, "#validate-result")) > 20  # says what is wrong


async def test_validate_connection_reports_an_unreachable_server(paths, store: Store):
    app = make_app(paths, store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("x")
        await choose_exchange_server(app, pilot)
        fill(app, email=EMAIL, server_url="http://127.0.0.1:9/EWS/Exchange.asmx", password="x")
        await pilot.press("ctrl+t")
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#validate-result").has_class("-failed")


async def test_contact_sync_setup_saves_policies_and_keeps_the_engine_state(paths, sample_store: Store):
    update_state(sample_store, PROFILE, folder_id="F1", sync_state="S1")
    app = make_app(paths, sample_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("c")
        assert isinstance(app.screen, ContactSyncSetupScreen)
        assert app.screen.query_one("#folder_name").value == "Business Central"
        fill(app, folder_name="BC/contacts", interval_minutes="-5")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "must not contain" in text_of(app, "#error-folder_name")
        assert "minutes" in text_of(app, "#error-interval_minutes")
        fill(app, folder_name="Kunder", interval_minutes="30")
        app.screen.query_one("#master_delete_policy", Select).value = "unlink"
        app.screen.query_one("#leave_filter_policy", Select).value = "unlink"
        app.screen.query_one("#enabled", Checkbox).value = False
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)
    p = load_profile(sample_store, PROFILE)
    assert (p.folder_name, p.master_delete_policy, p.leave_filter_policy, p.interval_minutes, p.enabled) == (
        "Kunder", "unlink", "unlink", 30, False)
    assert p.state["folder_id"] == "F1" and p.state["sync_state"] == "S1"
    assert p.email == EMAIL  # the other page's settings are untouched


async def test_automatic_sync_is_scheduled_from_the_interval(paths, sample_store: Store):
    app = make_app(paths, sample_store)
    async with app.run_test(size=(100, 40)) as pilot:
        assert app.next_auto_sync is None
        await pilot.press("c")
        fill(app, interval_minutes="15")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.next_auto_sync is not None
        from bcsync_tui.tui.widgets.status_line import StatusLine

        assert "auto every 15 min" in str(app.screen.query_one(StatusLine).render())


async def _until(pilot, condition, tries: int = 400) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the dialog did not get there")


async def test_the_service_is_suggested_from_the_address(paths, store: Store):
    app = make_app(paths, store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("x")
        fill(app, email="ann@contoso.onmicrosoft.com")
        await pilot.pause()
        assert app.screen.query_one("#transport", Select).value == "graph"
        assert "contoso.onmicrosoft.com is a Microsoft 365 domain" in text_of(app, "#hint-transport")
        assert not app.screen.query_one("#row-server_url").display and app.screen.query_one("#row-graph_url").display
        fill(app, server_url="https://mail.contoso.com/EWS/Exchange.asmx")
        await pilot.pause()
        assert app.screen.query_one("#transport", Select).value == "ews"
        assert "Exchange Server" in text_of(app, "#hint-transport")
        assert app.screen.query_one("#row-password").display and not app.screen.query_one("#row-graph_url").display


async def test_microsoft_365_sign_in_shows_the_code_in_the_dialog_and_continues_on_its_own(paths, store: Store):
    import asyncio

    from bcsync_tui.graphserver import LoopbackGraph

    with LoopbackGraph(users=[EMAIL], tls=True) as g:
        app = make_app(paths, store)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("x")
            fill(app, email=EMAIL, oauth_client_id=g.public_client_id, graph_authority=g.authority("organizations"),
                 graph_url=g.graph_url, ca_file=g.ca_file)
            await pilot.pause()
            await pilot.press("ctrl+s")
            await _until(pilot, lambda: "enter the code" in text_of(app, "#validate-result"))
            assert isinstance(app.screen, ExchangeSetupScreen)  # waiting for the person, keyboard live
            code = text_of(app, "#validate-result").split("enter the code ")[1].split()[0]
            assert await asyncio.to_thread(g.approve_device_code, code, EMAIL) == 1
            await _until(pilot, lambda: isinstance(app.screen, ContactsScreen))
    profile = load_profile(store, PROFILE)
    assert (profile.transport, profile.graph_auth, profile.email) == ("graph", "device_code", EMAIL)
    assert SecretStore(paths.secrets_file).get(PROFILE, "graph_token_cache")
    assert not [f for f in paths.data_dir.rglob("store*") if b"refresh_token" in f.read_bytes()]


async def test_switching_a_synced_profile_to_microsoft_365_forgets_the_ews_ids_and_keeps_the_links(paths, store):
    import asyncio

    from bcsync_tui.core.profiles import Profile, save_profile
    from bcsync_tui.core.records import LinkRow
    from bcsync_tui.graphserver import LoopbackGraph

    save_profile(store, Profile(name=PROFILE, email=EMAIL, server_url="https://mail.example.com/EWS/Exchange.asmx",
                                state={"folder_id": "EWS-F1", "sync_state": "EWS-S1", "linked_count": 1}))
    store.save_link(LinkRow(PROFILE, "u1", "EWS-I1", "CK", None, None))
    with LoopbackGraph(users=[EMAIL], tls=True) as g:
        g.auto_approve = EMAIL
        app = make_app(paths, store)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("x")
            app.screen.query_one("#transport", Select).value = "graph"
            await pilot.pause()
            fill(app, oauth_client_id=g.public_client_id, graph_authority=g.authority("organizations"),
                 graph_url=g.graph_url, ca_file=g.ca_file)
            await pilot.press("ctrl+s")
            await _until(pilot, lambda: isinstance(app.screen, ContactsScreen))
    profile = load_profile(store, PROFILE)
    assert profile.transport == "graph"
    assert "folder_id" not in profile.state and "sync_state" not in profile.state
    assert [lk.item_id for lk in store.links_of(PROFILE).values()] == ["EWS-I1"]  # relinked by stamp at the next sync
