"""The home screen: every contact of the master, quick search, sort, sync badges, and the actions of
Business Central's contact list (open, new, edit, delete, Sync, Full Sync)."""

from __future__ import annotations

import gc
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from ..badges import BadgeSource
from ..commands import HELP, QUIT, Command, bindings
from ..contact_view import SORT_KEYS, ContactView
from ..threads import in_daemon_thread
from ..widgets.contact_list import ContactList
from ..widgets.footer import Footer
from ..widgets.header import Header
from ..widgets.status_line import StatusLine
from ..widgets.sync_panel import SyncPanel

#: seconds from a reload to preparing its search texts in the background
SEARCH_PREP_DELAY = 0.5

SEARCH = Command("search", "slash", "search", "Search", "Search: type to narrow the list by name, No., e-mail, "
                 "company or city", key_display="/", show=False)  # the search bar says so
NEW = Command("new", "n", "new", "New", "New contact: open an empty contact card")
EDIT = Command("edit", "e", "edit", "Edit", "Edit contact: open the highlighted contact's card")
DELETE = Command("delete", "d,delete", "delete", "Delete", "Delete contact: remove the highlighted contact "
                 "(after you confirm)", key_display="d")
SYNC = Command("sync", "r", "sync('incremental')", "Sync", "Sync: send changed contacts to Outlook and bring "
               "Outlook changes back")
FULL_SYNC = Command("full-sync", "R", "sync('full')", "Full sync", "Full sync: compare every contact on both sides",
                    show=False)
CANCEL = Command("cancel-sync", "escape", "cancel_sync", "Cancel sync", "Cancel sync: stop the running sync at the "
                 "next safe point")
CLEAR = Command("clear-search", "escape", "clear_search", "Clear search", "Clear search: show every contact again")
SORT = Command("sort", "s", "sort", "Sort", "Sort: cycle the order (No., Name, Company, City, E-Mail)", show=False)
REVERSE = Command("reverse", "S", "reverse", "Reverse", "Reverse sort: flip ascending/descending", show=False)
FILTER = Command("filter", "f", "filter", "Filter", "Set sync filter: which contacts go to your Outlook folder")
EXCHANGE = Command("exchange-setup", "x", "exchange_setup", "Exchange", "Exchange sync setup: mailbox, server, "
                   "password, validate the connection", show=False)
CONTACT_SETUP = Command("contact-sync-setup", "c", "contact_sync_setup", "Sync setup", "Contact sync setup: folder, "
                        "delete policies, automatic sync", show=False)
HISTORY = Command("history", "h", "history", "History", "Run history: past syncs, skipped items, errors, conflicts")

SORT_CAPTIONS = dict(SORT_KEYS)


class SearchInput(Input):
    BINDINGS = [
        Binding("escape", "leave(True)", "Clear search", id="search-clear"),
        Binding("enter,down", "leave(False)", "To the list", id="search-done"),
    ]

    def action_leave(self, clear: bool) -> None:
        if clear:
            self.value = ""
        self.screen.query_one(ContactList).focus()


class ContactsScreen(Screen[None]):
    AUTO_FOCUS = "ContactList"
    COMMAND_LIST = (SEARCH, NEW, EDIT, DELETE, SYNC, FULL_SYNC, CANCEL, CLEAR, SORT, REVERSE, FILTER, EXCHANGE,
                    CONTACT_SETUP, HISTORY, HELP, QUIT)
    BINDINGS = bindings(*COMMAND_LIST[:-2])

    def __init__(self) -> None:
        super().__init__()
        self.view = ContactView([])
        self.badges = BadgeSource()
        self._badges_generation = -1
        self._footer_state: tuple[bool, bool] | None = None
        self._search_prepared: ContactView | None = None  # the view whose search texts are (being) prepared

    def compose(self) -> ComposeResult:
        yield Header(icon="≡")
        yield SearchInput(placeholder="/ search: name, No., e-mail, company, city", id="search", compact=True)
        yield ContactList(id="contacts")
        yield SyncPanel()
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        app = self.app
        contacts = self.query_one(ContactList)
        contacts.sort_key, contacts.sort_reverse = app.sort_setting
        if contacts.sort_key not in SORT_CAPTIONS:
            contacts.sort_key = "no"
        contacts.badge_of = lambda contact: self.badges.badge(contact)
        panel, status = self.query_one(SyncPanel), self.query_one(StatusLine)
        status.profile = app.profile
        self.reload()  # builds the badges of this profile
        self.watch(app, "generation", lambda: self.reload(), init=False)
        # Not called at once: reload() above did their work (the badges, the bindings).
        self.watch(app, "profile", self._profile_changed, init=False)
        self.watch(app, "last_run", lambda run: setattr(status, "last_run", run))
        self.watch(app, "next_auto_sync", lambda due: setattr(status, "next_auto_sync", due))
        self.watch(app, "sync_kind", lambda kind: setattr(panel, "kind", kind))
        panel.running = app.sync_running
        self.watch(app, "sync_running", self._sync_running_changed, init=False)
        self.watch(app, "sync_progress", lambda progress: setattr(panel, "progress", progress))
        self.call_after_refresh(gc.enable)  # (start_app paused it: the first screen is up once painted)

    # --- data -----------------------------------------------------------------------------------

    def reload(self) -> None:
        """Rebuild the rows from the store's memory (after a write, a sync or another process's edit)."""
        store = self.app.store
        view = self.view = ContactView(store.contacts_raw())
        # Not during the first paint, where its CPU (~90 ms at 50,000 contacts) held the paint up:
        # a moment later, or at once when the search bar opens.
        self.set_timer(SEARCH_PREP_DELAY, lambda: self._prepare_search(view))
        self._build_badges()
        status = self.query_one(StatusLine)
        status.notice = "the saved filter is invalid (f)" if self.badges.filter_error else ""
        self.show_rows()

    def _prepare_search(self, view: ContactView) -> None:
        """Prepare the search texts of ``view`` in a thread, once, unless a reload replaced it."""
        if view is self.view and view is not self._search_prepared:
            self._search_prepared = view
            self._prepare_search_worker(view)

    @work(group="search-keys", exclusive=True, exit_on_error=False)
    async def _prepare_search_worker(self, view: ContactView) -> None:
        await in_daemon_thread(view.prepare_search, name="bcsync-search-keys")

    def show_rows(self, keep: str | None = None) -> None:
        contacts = self.query_one(ContactList)
        current = contacts.highlighted
        keep = keep or (current.get("uuid") if current else None)
        search = self.query_one(SearchInput).value
        rows = self.view.rows(search, contacts.sort_key, contacts.sort_reverse)
        contacts.empty_text = f"No contact matches {search!r}." if search else "No contacts yet: press n to add one."
        contacts.set_rows(rows, keep)
        self.query_one(StatusLine).shown = (len(rows), len(self.view))
        self._footer_may_change()

    def _footer_may_change(self) -> None:
        """Rebuild the footer only when what it offers changes (edit/delete need a highlighted
        contact, Esc clears a search): rebuilding it costs more than a keystroke's list update."""
        state = (self.query_one(ContactList).highlighted is not None, bool(self.query_one(SearchInput).value))
        if state != self._footer_state:
            self._footer_state = state
            self.refresh_bindings()

    def _build_badges(self) -> None:
        store = self.app.store
        self.badges = BadgeSource.build(store, self.app.profile_name)
        self._badges_generation = store.storage.generation

    def _profile_changed(self, profile: Any) -> None:
        self.query_one(StatusLine).profile = profile
        # The profile is read from the store: badges built from this very data are current (a
        # store change reloads the rows first, then the profile; at 50,000 links a build is ~40 ms).
        if self._badges_generation != self.app.store.storage.generation:
            self._build_badges()
            self.query_one(ContactList).redraw_rows()
        self.refresh_bindings()

    def _sync_running_changed(self, running: bool) -> None:
        self.query_one(SyncPanel).running = running
        self.refresh_bindings()

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        self.show_rows()

    @on(ContactList.Highlighted)
    def _highlighted(self) -> None:
        self._footer_may_change()

    @on(ContactList.Selected)
    def _selected(self, message: ContactList.Selected) -> None:
        self.open_card(message.contact)

    @on(ContactList.SortRequested)
    def _sort_requested(self, message: ContactList.SortRequested) -> None:
        contacts = self.query_one(ContactList)
        if message.key not in SORT_CAPTIONS:
            self.notify(f"The list sorts by {', '.join(SORT_CAPTIONS.values())}.")
            return
        reverse = not contacts.sort_reverse if message.key == contacts.sort_key else False
        self._set_sort(message.key, reverse)

    def _set_sort(self, key: str, reverse: bool) -> None:
        contacts = self.query_one(ContactList)
        contacts.sort_key, contacts.sort_reverse = key, reverse
        self.app.save_sort(key, reverse)
        self.show_rows()

    # --- actions --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return True
        app = self.app
        if action in ("edit", "delete"):
            return self.query_one(ContactList).highlighted is not None
        if action == "sync":
            return not app.sync_running  # without a mailbox, `r` says so and opens the setup
        if action == "cancel_sync":
            return app.sync_running
        if action == "clear_search":
            return not app.sync_running and bool(self.query_one(SearchInput).value)
        return True

    def action_search(self) -> None:
        self.query_one(SearchInput).focus()
        self._prepare_search(self.view)  # the first keystroke is likely before the timer of reload()

    def action_clear_search(self) -> None:
        self.query_one(SearchInput).value = ""
        self.query_one(ContactList).focus()

    def action_sort(self) -> None:
        keys = [k for k, _ in SORT_KEYS]
        current = self.query_one(ContactList).sort_key
        key = keys[(keys.index(current) + 1) % len(keys)] if current in keys else keys[0]
        self._set_sort(key, False)
        self.notify(f"Sorted by {SORT_CAPTIONS[key]}", timeout=2)

    def action_reverse(self) -> None:
        contacts = self.query_one(ContactList)
        self._set_sort(contacts.sort_key, not contacts.sort_reverse)

    def action_new(self) -> None:
        self.open_card(None)

    def action_edit(self) -> None:
        contact = self.query_one(ContactList).highlighted
        if contact is not None:
            self.open_card(contact)

    def open_card(self, contact: dict[str, Any] | None) -> None:
        from .contact_card import ContactCard

        status = self.badges.reason(contact) if contact is not None else ""

        def saved(result: Any) -> None:
            if result is not None:
                self.app.poll_store()
                self.show_rows(keep=result.contact["uuid"])
                self.notify(f"{'Created' if result.created else 'Saved'} {result.contact['no']}", timeout=3)

        self.app.push_screen(ContactCard(contact, self._save_contact, status), saved)

    def _save_contact(self, uuid: str | None, values: dict[str, Any]) -> dict[str, Any]:
        store = self.app.store
        return store.add_contact(values) if uuid is None else store.update_contact(uuid, values)

    def action_delete(self) -> None:
        from .dialogs import ConfirmDialog

        contact = self.query_one(ContactList).highlighted
        if contact is None:
            return
        uuid, label = contact["uuid"], f"{contact.get('no', '')} {contact.get('name', '')}".strip()

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.store.delete_contact(uuid)
                self.app.poll_store()
                self.notify(f"Deleted {label}", timeout=3, markup=False)

        self.app.push_screen(ConfirmDialog(
            "Delete contact", f"Delete {label}?\n\nAt the next sync it is also removed from the Outlook folders "
            "it syncs to (as each profile's delete policy says).", yes="Delete", no="Keep"), answered)

    def action_sync(self, mode: str) -> None:
        from .sync import SyncDialog

        if not self.app.profile.configured:
            self._set_up_first(mode)
            return

        def chosen(request: Any) -> None:
            if request is not None:
                self.app.start_sync(request.mode, force=request.force)

        self.app.push_screen(SyncDialog(mode), chosen)

    def _set_up_first(self, mode: str) -> None:
        """Say what a sync still needs, open the Exchange setup, and go on to the sync once it is saved."""
        from .setup import ExchangeSetupScreen

        self.notify(f"Profile '{self.app.profile_name}' has no mailbox to sync with yet: enter its e-mail "
                    "address and how to sign in here, then save.", title="Set up Exchange first",
                    severity="warning", timeout=8, markup=False)

        def saved(profile: Any) -> None:
            if profile is not None and self.app.profile.configured:
                self.action_sync(mode)

        self.app.push_screen(ExchangeSetupScreen(), saved)

    def action_cancel_sync(self) -> None:
        self.app.cancel_sync()

    def action_filter(self) -> None:
        from .filter_editor import FilterScreen

        self.app.push_screen(FilterScreen())

    def action_exchange_setup(self) -> None:
        from .setup import ExchangeSetupScreen

        self.app.push_screen(ExchangeSetupScreen())

    def action_contact_sync_setup(self) -> None:
        from .setup import ContactSyncSetupScreen

        self.app.push_screen(ContactSyncSetupScreen())

    def action_history(self) -> None:
        from .history import HistoryScreen

        self.app.push_screen(HistoryScreen())
