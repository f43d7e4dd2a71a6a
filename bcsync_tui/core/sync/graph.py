"""The Microsoft Graph transport (Exchange Online): the engine's Transport over Graph v1.0.

Like ``ews.py`` for EWS, this adapter (with ``graph_auth``, ``graph_http``, ``graph_fields``) is the
only code that knows Graph; it is imported only where a sync, a validation or a sign-in runs.

How it reads: ``changes`` follows the folder's contacts delta (``$select=id,changeKey``) to its
deltaLink, the sync state. A full listing then lists the folder with the stamp and fax expanded
(pages of up to 1,000); an incremental one reads the changed items in ``$batch`` GETs (stamps and
fax are extended properties, and expanding them inside delta is not reliable: docs-contrib
#7929). ``@removed`` entries are gone; an item seen twice (delta may replay) is read once.

How it writes: ``$batch`` of 20 POST/PATCH/DELETE, up to four batches in flight. Every PATCH carries
``If-Match``; a 412 is CONFLICT. An update of e-mail, phone or address reads the item first (arrays
and addresses are replaced whole, so unmapped entries must be sent back) and refuses, as CONFLICT,
an item whose change key is no longer the one the engine merged against — so even a server that
ignores ``If-Match`` cannot make us overwrite an edit we have not seen, except one made in the
milliseconds between that read and the PATCH. An update of single-valued fields only skips that
read when this run's delta, at most FRESH_LISTING seconds earlier, showed the item unchanged: on a
server that ignores ``If-Match`` that is its window (docs/graph.md). A lost answer is UNKNOWN.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote, urlparse

from ..profiles import Profile
from . import events as ev
from .graph_auth import GraphAuth, Secrets, http_session
from .graph_fields import EXPAND, SELECT, contact_body, new_contact_body, to_remote
from .graph_http import BATCH_MAX, IMMUTABLE, Answer, GraphClient, Sub, Unanswered
from .transport import (FolderInfo, FolderMissing, FoundBy, ItemUpdate, NewItem, Outcome, RemoteChanges, RemoteItem,
                        ServerInfo, SyncStateInvalid, ThrottleCallback, TransportStats, WriteResult)

#: fields that travel in arrays or complex values (replaced whole by PATCH): an update of one of
#: them reads the item right before writing, to send the entries it does not map back unchanged
WHOLE_VALUES = {"email", "email2", "phone", "address", "address2", "city", "county", "post_code", "country_code"}
#: an update of single-valued fields only trusts the change key this run's delta listing confirmed
#: for this long before it reads the item again (the window documented in docs/graph.md)
FRESH_LISTING = 10.0
TRANSLATE_MAX = 1000  # ids per translateExchangeIds request
PAGE = 1000  # the largest page Graph serves for Outlook contacts (list $top, delta odata.maxpagesize)
#: error codes (besides 410 Gone) that mean "this delta token is no longer valid: start again"
EXPIRED_STATE = {"syncstatenotfound", "syncstateinvalid", "resyncrequired", "errorinvalidsyncstatedata",
                 "invaliddeltatoken", "errorsyncstatenotfound", "badrequestinvalidsynctoken"}
FOLDER_GONE = {"errorfoldernotfound", "erroritemnotfound", "errorinvalidid", "errorinvalididmalformed"}


def _quote_odata(text: str) -> str:
    return text.replace("'", "''")


class GraphTransport:
    write_batch = 12 * BATCH_MAX  # whole $batch requests of 20: 240 items, 12 requests
    confirms_while_writing = False  # a delta page holds 1,000 changes: little to gain

    def __init__(self, profile: Profile, secrets: Secrets | None, *, client_secret: str | None = None,
                 timeout: float = 30.0, max_retry_seconds: float = 600.0):
        self.profile = profile
        self.stats = TransportStats()
        self.on_throttle: ThrottleCallback | None = None
        session = http_session(profile, deadline=timeout)
        self.auth = GraphAuth(profile, secrets, session, client_secret=client_secret, timeout=timeout)
        self.http = GraphClient(profile, self.auth, session, self.stats, timeout=timeout,
                                max_retry_seconds=max_retry_seconds)
        app = profile.graph_auth == "client_credentials"
        self.base = f"/users/{quote(profile.email, safe='@')}" if app else "/me"
        self._missing: set[str] = set()
        self._verify_place: str | None = None  # a folder trusted by id, checked with the first delta page
        self._read: dict[str, dict[str, Any]] = {}  # item id → its JSON as last read (for PATCH arrays)
        self._listed: tuple[float, set[str]] | None = None  # when the last delta ended, and what it named

    # --- the protocol's small parts -------------------------------------------------------------

    def connect(self) -> None:
        """A token (from the cache, refreshed silently, or by client credentials): no Graph request,
        so a sync with no change sends one request. Mailbox and permission problems surface with a
        clear message at the first request."""
        self.http.on_throttle = self.on_throttle
        self.auth.token()

    def server_info(self) -> ServerInfo:
        return ServerInfo(protocol="Microsoft Graph", version=urlparse(self.profile.graph_root).netloc)

    def close(self) -> None:
        self.http.close()

    def _call(self, op: str, method: str, url: str, body: Any = None, **kwargs: Any) -> Answer:
        self.http.on_throttle = self.on_throttle
        try:
            return self.http.call(op, method, url, body, **kwargs)
        except Unanswered as exc:  # a folder create whose answer was lost
            raise ev.ConnectionProblem(f"Microsoft Graph did not answer ({exc}). Try again later.") from exc

    def _ok(self, answer: Answer) -> dict[str, Any]:
        if 200 <= answer.status < 300:
            return answer.body
        raise self.http.problem(answer)

    # --- folders -------------------------------------------------------------------------------

    def _find_folder(self, name: str) -> str | None:
        url = (f"{self.base}/contactFolders?$filter=displayName eq '{quote(_quote_odata(name))}'"
               "&$select=id,displayName")
        found = self._ok(self._call("FindFolder", "GET", url)).get("value") or []
        exact = [f for f in found if f.get("displayName") == name]
        return str((exact or found)[0]["id"]) if (exact or found) else None

    def _place_subs(self, folder_id: str) -> list[Sub]:
        """Where the folder is: its parentFolderId and the Deleted Items folder's id (Outlook's Delete
        key moves a folder there and it keeps its id: it counts as deleted)."""
        return [Sub("GET", f"{self.base}/contactFolders/{quote(folder_id, safe='')}?$select=id,parentFolderId"),
                Sub("GET", f"{self.base}/mailFolders/deleteditems?$select=id")]

    def _folder_here(self, folder: Answer | None, trash: Answer | None) -> bool:
        if folder is None or trash is None:
            raise ev.ConnectionProblem("Microsoft Graph did not answer where the sync folder is; try again later.")
        if self._folder_gone(folder):
            return False
        parent = self._ok(folder).get("parentFolderId")
        return not parent or parent != self._ok(trash).get("id")

    def ensure_folder(self, name: str, known_id: str | None, create: bool = True) -> FolderInfo:
        if known_id:
            # Trusted without a request: the first delta page goes in one $batch with the question
            # where the folder is, and changes() raises FolderMissing when it is gone or in the bin.
            self._verify_place = known_id
            return FolderInfo(known_id, FoundBy.ID)
        if name not in self._missing:
            found = self._find_folder(name)
            if found:
                return FolderInfo(found, FoundBy.NAME)
        if not create:
            self._missing.add(name)  # looked for a moment ago, before the guards: no second request
            return FolderInfo("", FoundBy.MISSING)
        self._missing.discard(name)
        answer = self._call("CreateFolder", "POST", f"{self.base}/contactFolders", {"displayName": name}, write=True)
        if answer.status == 409 or answer.error_code == "ErrorFolderExists":  # the user made it meanwhile
            found = self._find_folder(name)
            if found:
                return FolderInfo(found, FoundBy.NAME)
        return FolderInfo(str(self._ok(answer)["id"]), FoundBy.CREATED)

    # --- reading -------------------------------------------------------------------------------

    def _state_rejected(self, answer: Answer) -> bool:
        return answer.status == 410 or answer.error_code.lower() in EXPIRED_STATE

    def _folder_gone(self, answer: Answer) -> bool:
        return answer.status == 404 or (answer.status == 400 and answer.error_code.lower() in FOLDER_GONE)

    def _delta(self, folder_id: str, state: str | None) -> tuple[dict[str, str], set[str], str]:
        """Follow delta to its deltaLink: changed ids (→ change key), removed ids, the new state."""
        if state is None:
            url = f"{self.base}/contactFolders/{quote(folder_id, safe='')}/contacts/delta?$select=id,changeKey"
        else:
            if not state.startswith(self.profile.graph_root + "/"):
                raise SyncStateInvalid("the stored state is not a delta link of this Graph endpoint")
            url = state
        changed: dict[str, str] = {}
        removed: set[str] = set()
        prefer = f"{IMMUTABLE}, odata.maxpagesize={PAGE}"
        first = self._verify_place == folder_id
        self._verify_place = None
        while True:
            if first:  # one request: where the folder is, and the first delta page
                first = False
                self.http.on_throttle = self.on_throttle
                relative = url[len(self.profile.graph_root):] if url.startswith(self.profile.graph_root) else url
                folder, trash, page = self.http.batch(
                    [*self._place_subs(folder_id), Sub("GET", relative, headers={"Prefer": prefer})])
                if not self._folder_here(folder, trash):
                    raise FolderMissing("the sync folder was deleted (or moved to Deleted Items)")
                if page is None:
                    raise ev.ConnectionProblem("Microsoft Graph did not answer the delta request; try again later.")
                answer = page
            else:
                answer = self._call("Delta", "GET", url, prefer=prefer)
            if answer.status != 200:
                if self._state_rejected(answer) and state is not None:
                    raise SyncStateInvalid(answer.words)
                if self._folder_gone(answer):
                    raise FolderMissing(answer.words)
                raise self.http.problem(answer)
            for entry in answer.body.get("value") or []:
                item_id = str(entry.get("id", ""))
                if not item_id:
                    continue
                if "@removed" in entry:  # deleted, or moved out of the folder
                    changed.pop(item_id, None)
                    removed.add(item_id)
                else:  # delta may return an item more than once: the last word counts
                    removed.discard(item_id)
                    changed[item_id] = str(entry.get("changeKey") or "")
            next_link = answer.body.get("@odata.nextLink")
            if next_link:
                url = str(next_link)
                continue
            delta_link = answer.body.get("@odata.deltaLink")
            if not delta_link:
                raise ev.ConnectionProblem("Microsoft Graph ended a delta listing without a delta link.")
            if state is not None:  # every item it does not name is as the engine last saw it
                self._listed = (time.monotonic(), set(changed) | removed)
            return changed, removed, str(delta_link)

    def _list_folder(self, folder_id: str) -> list[dict[str, Any]]:
        url = (f"{self.base}/contactFolders/{quote(folder_id, safe='')}/contacts?$select={SELECT}"
               f"&$expand={EXPAND}&$top={PAGE}")
        docs: list[dict[str, Any]] = []
        while url:
            answer = self._call("ListContacts", "GET", url)
            if self._folder_gone(answer):
                raise FolderMissing(answer.words)
            body = self._ok(answer)
            docs += [d for d in body.get("value") or [] if isinstance(d, dict) and d.get("id")]
            url = str(body.get("@odata.nextLink") or "")
        return docs

    def changes(self, folder_id: str, state: str | None, ids_only: bool = False) -> RemoteChanges:
        changed, removed, new_state = self._delta(folder_id, state)
        if ids_only:
            items = [RemoteItem(i, ck, None, {}) for i, ck in changed.items()]
            return RemoteChanges(items, sorted(removed), new_state, state is None)
        if state is None:
            # Listed after the delta round began: an item changed in between is listed with its newest
            # values and comes again in the next delta (harmless), so nothing falls between the two.
            docs = self._list_folder(folder_id) if changed else []
            self._read.update({d["id"]: d for d in docs})
            return RemoteChanges([to_remote(d) for d in docs], [], new_state, True)
        items, gone = [], sorted(removed)
        for item_id, item in zip(changed, self.get(folder_id, list(changed)), strict=True):
            if item is None:
                gone.append(item_id)  # moved out of the folder, or deleted since the delta
            else:
                items.append(item)
        return RemoteChanges(items, gone, new_state, False)

    def _item_url(self, item_id: str) -> str:
        return f"{self.base}/contacts/{quote(item_id, safe='')}"

    def _read_items(self, item_ids: list[str]) -> list[dict[str, Any] | None]:
        """The current JSON of items (wherever they are), None for one that no longer exists."""
        subs = [Sub("GET", f"{self._item_url(i)}?$select={SELECT}&$expand={EXPAND}") for i in item_ids]
        self.http.on_throttle = self.on_throttle
        out: list[dict[str, Any] | None] = []
        for item_id, answer in zip(item_ids, self.http.batches(subs), strict=True):
            if answer is not None and answer.status == 200 and answer.body.get("id"):
                self._read[item_id] = answer.body
                out.append(answer.body)
            elif answer is not None and (answer.status == 404 or answer.error_code == "ErrorItemNotFound"):
                self._read.pop(item_id, None)
                out.append(None)
            elif answer is not None and answer.status in (401, 403):
                raise self.http.problem(answer)
            else:
                words = answer.words if answer is not None else "no answer"
                raise ev.ConnectionProblem(f"Microsoft Graph could not read a contact ({words}). Try again later.")
        return out

    def get(self, folder_id: str, item_ids: list[str]) -> list[RemoteItem | None]:
        return [to_remote(d) if d is not None and d.get("parentFolderId") == folder_id else None
                for d in self._read_items(item_ids)]

    # --- writing -------------------------------------------------------------------------------

    @staticmethod
    def _outcome(answer: Answer | None, item_id: str = "") -> WriteResult:
        if answer is None:
            return WriteResult(Outcome.UNKNOWN, item_id, message="Microsoft Graph did not answer in time")
        if 200 <= answer.status < 300:
            body = answer.body
            return WriteResult(Outcome.OK, str(body.get("id") or item_id), str(body.get("changeKey") or ""))
        if answer.status == 412 or answer.error_code == "ErrorIrresolvableConflict":
            return WriteResult(Outcome.CONFLICT, item_id, message=answer.words)
        if answer.status == 404 or answer.error_code == "ErrorItemNotFound":
            return WriteResult(Outcome.NOT_FOUND, item_id, message=answer.words)
        if answer.status >= 500 or answer.status == 0:  # it may have been carried out
            return WriteResult(Outcome.UNKNOWN, item_id, message=answer.words)
        return WriteResult(Outcome.FAILED, item_id, message=answer.words)

    def _write(self, subs: list[Sub]) -> list[Answer | None]:
        self.http.on_throttle = self.on_throttle
        answers = self.http.batches(subs)
        for a in answers:
            if a is not None and a.status in (401, 403):
                raise self.http.problem(a)
        return answers

    def create(self, folder_id: str, items: list[NewItem]) -> list[WriteResult]:
        url = f"{self.base}/contactFolders/{quote(folder_id, safe='')}/contacts"
        subs = [Sub("POST", url, new_contact_body(new.fields, new.stamp), write=True) for new in items]
        return [self._outcome(a) for a in self._write(subs)]

    def _must_read(self, upd: ItemUpdate) -> bool:
        """An update reads the item right before writing unless it sets single-valued fields only and
        this run's delta, a moment ago, showed the item unchanged since the engine last saw it."""
        if WHOLE_VALUES & set(upd.fields) or self._listed is None:
            return True
        listed_at, named = self._listed
        return upd.item_id in named or time.monotonic() - listed_at > FRESH_LISTING

    def update(self, items: list[ItemUpdate]) -> list[WriteResult]:
        to_read = [u.item_id for u in items if self._must_read(u)]
        read = dict(zip(to_read, self._read_items(to_read), strict=True))  # right before writing (module doc)
        current = [read[u.item_id] if u.item_id in read else {"changeKey": u.change_key} for u in items]
        results: dict[int, WriteResult] = {}
        writes: list[tuple[int, Sub]] = []
        for n, (upd, doc) in enumerate(zip(items, current, strict=True)):
            if doc is None:
                results[n] = WriteResult(Outcome.NOT_FOUND, upd.item_id, message="the item no longer exists")
            elif str(doc.get("changeKey") or "") != upd.change_key:
                results[n] = WriteResult(Outcome.CONFLICT, upd.item_id,
                                         message="the item was changed in Outlook after it was read")
            else:
                etag = str(doc.get("@odata.etag") or f'W/"{upd.change_key}"')
                writes.append((n, Sub("PATCH", self._item_url(upd.item_id), contact_body(upd.fields, doc, upd.stamp),
                                      {"If-Match": etag}, write=True)))
        for (n, sub), answer in zip(writes, self._write([s for _, s in writes]), strict=True):
            results[n] = self._outcome(answer, items[n].item_id)
        return [results[n] for n in range(len(items))]

    def delete(self, item_ids: list[str], move_to_deleted_items: bool) -> list[WriteResult]:
        if move_to_deleted_items:  # Graph's DELETE moves a contact to Deleted Items
            subs = [Sub("DELETE", self._item_url(i), write=True) for i in item_ids]
        else:
            subs = [Sub("POST", f"{self._item_url(i)}/permanentDelete", write=True) for i in item_ids]
        return [self._outcome(a, i) for i, a in zip(item_ids, self._write(subs), strict=True)]

    # --- moving a profile from EWS -------------------------------------------------------------

    def translate_ews_ids(self, ews_ids: list[str]) -> dict[str, str]:
        """EWS item ids → Graph immutable ids (``translateExchangeIds``, 1,000 a request); ids the
        server cannot translate (items deleted meanwhile) are left out."""
        out: dict[str, str] = {}
        for start in range(0, len(ews_ids), TRANSLATE_MAX):
            body = {"inputIds": ews_ids[start:start + TRANSLATE_MAX], "sourceIdType": "ewsId",
                    "targetIdType": "restImmutableEntryId"}
            for entry in self._ok(self._call("TranslateIds", "POST", f"{self.base}/translateExchangeIds", body)
                                  ).get("value") or []:
                if isinstance(entry, dict) and entry.get("sourceId") and entry.get("targetId"):
                    out[str(entry["sourceId"])] = str(entry["targetId"])
        return out


def validate_graph(profile: Profile, secrets: Secrets | None, client_secret: str | None,
                   timeout: float = 10.0) -> tuple[bool, str]:
    """"Validate Exchange Connection" over Graph: a token, then the sync folder looked up by name
    (one request, which proves the mailbox exists and the permission is there)."""
    transport = GraphTransport(profile, secrets, client_secret=client_secret, timeout=timeout, max_retry_seconds=0)
    try:
        transport.connect()
        folder = transport.ensure_folder(profile.folder_name, None, create=False)
    except ev.SyncError as exc:
        return False, str(exc)
    finally:
        transport.close()
    where = "exists" if folder.folder_id else "will be created at the first sync"
    return True, (f"Connected successfully to Exchange Online (Microsoft Graph) as {profile.email}. "
                  f"The folder '{profile.folder_name}' {where}.")
