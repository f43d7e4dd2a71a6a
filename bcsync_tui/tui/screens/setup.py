"""Business Central's two setup pages: Exchange Sync Setup (mailbox, server, password, Validate
connection) and Contact Sync Setup (folder, delete policies, automatic sync)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Button, Checkbox, Input, Label, Select, Static

from ...core.profiles import (AUTH_TYPES, DEFAULT_FOLDER, LEAVE_FILTER_POLICIES, MASTER_DELETE_POLICIES, TRANSPORTS,
                              Profile, get_or_new_profile, needs_sign_in, save_profile)
from ..threads import in_daemon_thread
from .setup_graph import (EWS_ROWS, GRAPH_ROWS, TRANSPORT_LABELS, DeviceSignIn, graph_rows, graph_values,
                          suggest_transport)
from ..widgets.tickbox import TickBox

MASTER_DELETE_LABELS = {
    "move_to_deleted_items": "Move the Outlook copy to Deleted Items",
    "delete": "Delete the Outlook copy",
    "unlink": "Keep the Outlook copy, stop syncing it",
}
LEAVE_FILTER_LABELS = {
    "remove": "Remove it from the Outlook folder",
    "unlink": "Keep it in Outlook, stop syncing it",
}
AUTH_LABELS = {"basic": "Basic (user name + password)", "ntlm": "NTLM (domain\\user + password)",
               "oauth2": "OAuth 2.0 (Microsoft 365 app)"}


def _validate_in_thread(profile: Profile, secret: str | None, secrets: Any = None) -> tuple[bool, str]:
    from ...core.sync.runner import validate_connection

    return validate_connection(profile, secret, timeout=10.0, secrets=secrets)


class SetupForm(ModalScreen[Profile | None]):
    """A profile form: one row per setting, a message under each bad one, Save / Cancel."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="setup-save"),
        Binding("escape", "cancel", "Cancel", id="setup-cancel"),
    ]
    TITLE_TEXT = ""
    FIELDS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__(classes="dialog")
        self.saved_profile: Profile = Profile(name="")

    def compose(self) -> ComposeResult:
        self.saved_profile = get_or_new_profile(self.app.store, self.app.profile_name)
        with Vertical(classes="dialog-box setup"):
            yield Label(f"{self.TITLE_TEXT} · profile {self.saved_profile.name}", classes="dialog-title",
                        markup=False)
            with VerticalScroll(classes="setup-fields"):
                yield from self.rows(self.saved_profile)
            with Horizontal(classes="dialog-buttons"):
                yield from self.buttons()
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer(compact=True)

    def rows(self, profile: Profile) -> ComposeResult:
        yield from ()

    def buttons(self) -> ComposeResult:
        yield from ()

    @staticmethod
    def row(key: str, caption: str, widget: Widget, hint: str = "") -> ComposeResult:
        with Horizontal(classes="field-row", id=f"row-{key}"):
            yield Label(caption, classes="field-caption")
            yield widget
        if hint:
            yield Label(hint, classes="field-hint", id=f"hint-{key}", markup=False)
        yield Label("", id=f"error-{key}", classes="field-error", markup=False)

    def form_values(self) -> dict[str, Any]:
        raise NotImplementedError

    def form_profile(self) -> Profile:
        """The saved profile (with its engine state) with the form's settings applied."""
        return replace(self.saved_profile, **self.form_values())

    def show_errors(self, errors: dict[str, str]) -> bool:
        for key in self.FIELDS:
            label = self.query_one(f"#error-{key}", Label)
            label.update(errors.get(key, ""))
            label.set_class(key in errors, "-shown")
        return bool(errors)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()  # by name, so a form's own action_save runs

    def action_save(self) -> None:
        try:
            profile = self.form_profile()
        except ValueError as exc:  # a number field with text in it
            self.notify(str(exc), severity="error", markup=False)
            return
        if self.show_errors({k: v for k, v in profile.validate().items() if k in self.FIELDS}):
            return
        self.before_save(profile)
        save_profile(self.app.store, profile)
        self.app.poll_store()
        self.app.reload_profile()
        self.notify(f"{self.TITLE_TEXT} saved", timeout=3)
        self.dismiss(profile)

    def before_save(self, profile: Profile) -> None:
        """Store what does not belong in the store (the password)."""

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        from .dialogs import close_or_ask

        try:
            changed = self.form_profile() != self.saved_profile or bool(getattr(self, "typed_password", str)())
        except ValueError:  # a number field holds text: something was typed
            changed = True
        close_or_ask(self, changed, f"Discard the changes you typed in the {self.TITLE_TEXT.lower()}?")


class ExchangeSetupScreen(SetupForm):
    AUTO_FOCUS = "#email"
    TITLE_TEXT = "Exchange sync setup"
    FIELDS = ("transport", "email", "server_url", "auth_type", "username", "password", "oauth_client_id",
              "oauth_tenant_id", "oauth_token_url", "graph_authority", "graph_url", "ca_file", "verify_tls")
    BINDINGS = [Binding("ctrl+t", "validate", "Validate connection", id="setup-validate")]

    def rows(self, p: Profile) -> ComposeResult:
        where = self.app.secrets.where
        has_secret = self.app.secrets.get(p.name) is not None
        self.transport_chosen = p.configured  # a saved profile keeps its service; a new one gets a suggestion
        self.suggested = p.transport if p.configured else "graph"
        yield from self.row("transport", "Service", Select([(TRANSPORT_LABELS[t], t) for t in TRANSPORTS],
                                                           value=self.suggested,
                                                           allow_blank=False, id="transport", compact=True),
                            hint="Exchange Online: sign in with a code in your browser (Microsoft Graph); "
                                 "Exchange Server: your company's own server (EWS)")
        yield from self.row("email", "E-mail", Input(p.email, placeholder="ann@example.com", id="email", compact=True))
        yield from self.row("server_url", "Server URL", Input(p.server_url, id="server_url", compact=True,
                                                              placeholder="blank = autodiscover"),
                            hint="e.g. https://outlook.office365.com/EWS/Exchange.asmx; blank finds it by autodiscover")
        yield from self.row("auth_type", "Authentication", Select([(AUTH_LABELS[a], a) for a in AUTH_TYPES],
                                                                  value=p.auth_type, allow_blank=False,
                                                                  id="auth_type", compact=True))
        yield from self.row("username", "User name", Input(p.username, placeholder="blank = the e-mail address",
                                                           id="username", compact=True))
        yield from self.row("password", "Password", Input(password=True, id="password", compact=True,
                                                          placeholder="saved; type to replace" if has_secret
                                                          else "not saved yet"),
                            hint=f"kept in {where}, never in the contact store")
        yield from self.row("oauth_client_id", "OAuth client id", Input(p.oauth_client_id, id="oauth_client_id",
                                                                        compact=True))
        yield from self.row("oauth_tenant_id", "OAuth tenant id", Input(p.oauth_tenant_id, id="oauth_tenant_id",
                                                                        compact=True))
        yield from self.row("oauth_token_url", "OAuth token URL", Input(p.oauth_token_url, id="oauth_token_url",
                                                                        placeholder="blank = Microsoft's", compact=True),
                            hint="an AD FS or other token endpoint; the password field holds the client secret")
        yield from self.row("verify_tls", "TLS", TickBox("Verify the server's certificate", p.verify_tls,
                                                          id="verify_tls", compact=True))
        yield from graph_rows(self, p)
        yield Static("", id="tls-warning", markup=False)
        yield Static("", id="validate-result", markup=False)

    def buttons(self) -> ComposeResult:
        yield Button("Validate connection", id="validate", compact=True)

    def on_mount(self) -> None:
        self.sign_in: DeviceSignIn | None = None
        self._show_auth_rows()
        self._show_tls_warning()

    @on(Select.Changed, "#auth_type")
    @on(Select.Changed, "#transport")
    def _show_auth_rows(self) -> None:
        graph = self.query_one("#transport", Select).value == "graph"
        oauth = graph or self.query_one("#auth_type", Select).value == "oauth2"
        shown = {**{k: not graph for k in EWS_ROWS}, **{k: graph for k in GRAPH_ROWS},
                 "oauth_client_id": oauth, "oauth_tenant_id": oauth,
                 "oauth_token_url": not graph and oauth}
        for key, visible in shown.items():
            for part in self.query(f"#row-{key}, #hint-{key}, #{key}.-graph-status"):
                part.display = visible

    @on(Select.Changed, "#transport")
    def _transport_chosen(self, event: Select.Changed) -> None:
        if event.value != self.suggested:  # the user's own choice, not the suggestion
            self.transport_chosen = True

    @on(Input.Changed, "#email")
    @on(Input.Changed, "#server_url")
    def _suggest_transport(self) -> None:
        if self.transport_chosen:
            return
        transport, why = suggest_transport(self.query_one("#email", Input).value,
                                           self.query_one("#server_url", Input).value)
        self.suggested = transport
        self.query_one("#transport", Select).value = transport
        self.query_one("#hint-transport", Label).update(f"suggested: {TRANSPORT_LABELS[transport]} ({why})")

    @on(Checkbox.Changed, "#verify_tls")
    def _show_tls_warning(self) -> None:
        off = not self.query_one("#verify_tls", Checkbox).value
        self.query_one("#tls-warning", Static).update(
            "TLS verification is OFF: anyone between you and the server could read your password. "
            "Use this only for a test server you trust." if off else "")
        self.query_one("#tls-warning").set_class(off, "-warning")

    def form_values(self) -> dict[str, Any]:
        text = {k: self.query_one(f"#{k}", Input).value.strip()
                for k in ("email", "server_url", "username", "oauth_client_id", "oauth_tenant_id", "oauth_token_url")}
        return {**text, **graph_values(self), "transport": str(self.query_one("#transport", Select).value),
                "auth_type": str(self.query_one("#auth_type", Select).value),
                "verify_tls": self.query_one("#verify_tls", Checkbox).value}

    def action_save(self) -> None:
        """A person's Microsoft 365 profile signs in first (the code shows in the dialog); the
        dialog saves and closes on its own once the sign-in completes."""
        try:
            profile = self.form_profile()
        except ValueError:
            return super().action_save()
        errors = {k: v for k, v in profile.validate().items() if k in self.FIELDS}
        if errors or not needs_sign_in(profile, self.saved_profile if self.saved_profile.configured else None,
                                       self.app.secrets):
            return super().action_save()
        if self.sign_in is not None:
            self.sign_in.cancel.set()
        self._set_result("Starting the Microsoft 365 sign-in…", "-running")
        self.sign_in = DeviceSignIn(profile, self.app.secrets, self.app.call_from_thread, self._show_code,
                                    self._signed_in, self._sign_in_failed)
        self.sign_in.start()

    def _show_code(self, url: str, code: str) -> None:
        self._set_result(f"To sign in, open {url} in a browser and enter the code {code}\n"
                         "Waiting for the sign-in… (Esc cancels)", "-running")

    def _signed_in(self, user: str) -> None:
        self.sign_in = None
        self._set_result(f"✔ Signed in as {user}", "-ok")
        super().action_save()

    def _sign_in_failed(self, message: str) -> None:
        self.sign_in = None
        self._set_result("✘ " + message, "-failed")

    def on_unmount(self) -> None:
        if getattr(self, "sign_in", None) is not None:
            self.sign_in.cancel.set()

    def typed_password(self) -> str:
        return self.query_one("#password", Input).value

    def before_save(self, profile: Profile) -> None:
        if self.typed_password():
            self.app.secrets.set(profile.name, self.typed_password())
        if self.saved_profile.configured and profile.transport != self.saved_profile.transport:
            profile.forget_server_state()  # moved between EWS and Graph: relinked by stamp at the next sync

    @on(Button.Pressed, "#validate")
    def action_validate(self) -> None:
        profile = self.form_profile()
        if self.show_errors({k: v for k, v in profile.validate().items() if k in self.FIELDS}):
            return
        secret = self.typed_password() or self.app.secrets.get(profile.name)
        self._set_result("Connecting to Exchange…", "-running")
        self._validate(profile, secret)

    @work(exclusive=True, exit_on_error=False, group="validate")
    async def _validate(self, profile: Profile, secret: str | None) -> None:
        ok, message = await in_daemon_thread(_validate_in_thread, profile, secret, self.app.secrets,
                                             name="bcsync-validate")
        self._set_result(("✔ " if ok else "✘ ") + message, "-ok" if ok else "-failed")

    def _set_result(self, message: str, state: str) -> None:
        result = self.query_one("#validate-result", Static)
        result.update(Text(message))
        for cls in ("-running", "-ok", "-failed"):
            result.set_class(cls == state, cls)


class ContactSyncSetupScreen(SetupForm):
    AUTO_FOCUS = "#folder_name"
    TITLE_TEXT = "Contact sync setup"
    FIELDS = ("folder_name", "master_delete_policy", "leave_filter_policy", "link_outside_filter", "interval_minutes",
              "enabled")

    def rows(self, p: Profile) -> ComposeResult:
        yield from self.row("folder_name", "Outlook folder", Input(p.folder_name, placeholder=DEFAULT_FOLDER,
                                                                   id="folder_name", compact=True),
                            hint="a contacts folder in your mailbox; created at the first sync")
        yield from self.row("master_delete_policy", "Deleted in master",
                            Select([(MASTER_DELETE_LABELS[k], k) for k in MASTER_DELETE_POLICIES],
                                   value=p.master_delete_policy, allow_blank=False, id="master_delete_policy",
                                   compact=True))
        yield from self.row("leave_filter_policy", "Leaves the filter",
                            Select([(LEAVE_FILTER_LABELS[k], k) for k in LEAVE_FILTER_POLICIES],
                                   value=p.leave_filter_policy, allow_blank=False, id="leave_filter_policy",
                                   compact=True))
        yield from self.row("link_outside_filter", "Outside the filter",
                            TickBox("Link contacts already in the Outlook folder", p.link_outside_filter,
                                    id="link_outside_filter", compact=True),
                            hint="on: an Outlook contact whose e-mail matches a master contact outside the filter "
                                 "is linked and kept there; off: it is left alone")
        yield from self.row("interval_minutes", "Automatic sync", Input(str(p.interval_minutes), type="integer",
                                                                        id="interval_minutes", compact=True),
                            hint="every this many minutes while bcsync is open; 0 = off")
        yield from self.row("enabled", "Enabled", TickBox("Sync this profile", p.enabled, id="enabled",
                                                           compact=True))

    def buttons(self) -> ComposeResult:
        yield Button("Set sync filter…", id="open-filter", compact=True)
        yield Button("Activity log…", id="open-history", compact=True)

    def form_values(self) -> dict[str, Any]:
        interval = self.query_one("#interval_minutes", Input).value.strip() or "0"
        return {"folder_name": self.query_one("#folder_name", Input).value.strip(),
                "master_delete_policy": str(self.query_one("#master_delete_policy", Select).value),
                "leave_filter_policy": str(self.query_one("#leave_filter_policy", Select).value),
                "link_outside_filter": self.query_one("#link_outside_filter", Checkbox).value,
                "interval_minutes": int(interval), "enabled": self.query_one("#enabled", Checkbox).value}

    @on(Button.Pressed, "#open-filter")
    def _open_filter(self) -> None:
        from .filter_editor import FilterScreen

        self.app.push_screen(FilterScreen())

    @on(Button.Pressed, "#open-history")
    def _open_history(self) -> None:
        from .history import HistoryScreen

        self.app.push_screen(HistoryScreen())
