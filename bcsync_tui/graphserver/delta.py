"""Delta query per contact folder: ``…/contactFolders/{id}/contacts/delta`` (also ``delta()`` and
``microsoft.graph.delta``).

Computed from the mailbox's change numbers as SyncFolderItems does (``ewsserver.ops_sync``): a round
compares what the client knows (item serial -> change number) with the folder now. New and changed items
come whole (or as ``$select`` asks), removed ones as ``{"id", "@removed": {"reason"}}`` -- ``deleted`` when
the item went to Deleted Items / Recoverable Items or is gone, ``changed`` when it moved to another folder.

A round is kept on the server, as Exchange Online keeps its delta tokens in a cache; the client sees
opaque, HMAC-signed tokens (``$skiptoken`` for the next page, ``$deltatoken`` for the next round). A forged
token gets 400; one the server no longer has (:meth:`DeltaRounds.expire`, or pushed out of the cache) gets
``410 Gone`` with ``syncStateNotFound`` and a ``Location`` to start over. :meth:`DeltaRounds.replay` makes
the next rounds send items the client already has again, as Graph may.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass

from ..ewsserver.mailbox import Folder, Mailbox
from . import ids
from .calls import Call, Reply
from .contacts import Shape
from .errors import GraphError

MAX_ROUNDS = 4096
_EXPIRED = ("The sync state generation is not found. The delta token is expired and data must be synchronized "
            "again.")


@dataclass
class Round:
    mailbox: str                       # mailbox GUID
    folder: int                        # folder serial
    known: dict[int, tuple[int, int]]  # what the client knows once the round is done: serial -> (cn, origin)
    entries: list[tuple[int, int, str | None]]  # (serial, origin, None for an item | a removal reason)
    select: str | None
    expand: str | None


class DeltaRounds:
    def __init__(self, secret: bytes):
        self._secret = secret
        self._lock = threading.Lock()
        self._rounds: OrderedDict[str, Round] = OrderedDict()
        self._replays = 0

    def expire(self) -> None:
        """Forget every round: every delta and skip token handed out so far gets 410 Gone."""
        with self._lock:
            self._rounds.clear()

    def replay(self, count: int = 1) -> None:
        """The next rounds repeat ``count`` items the client already has, unchanged."""
        with self._lock:
            self._replays += count

    # --- tokens -------------------------------------------------------------------------------------
    def _sign(self, key: str, offset: int) -> str:
        body = f"{key}.{offset}"
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:12]
        return body + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def _open(self, token: str) -> tuple[str, int]:
        try:
            key, offset, mac = token.split(".")
            good = self._sign(key, int(offset)).rsplit(".", 1)[1]
        except ValueError:
            raise GraphError(400, "BadRequest", "The delta token is not valid.") from None
        if not hmac.compare_digest(good, mac):
            raise GraphError(400, "BadRequest", "The delta token is not valid.")
        return key, int(offset)

    def _store(self, rnd: Round) -> str:
        key = secrets.token_urlsafe(12).replace(".", "_")
        with self._lock:
            self._rounds[key] = rnd
            while len(self._rounds) > MAX_ROUNDS:
                self._rounds.popitem(last=False)
        return key

    # --- the call -----------------------------------------------------------------------------------
    def call(self, call: Call, folder: Folder) -> Reply:
        token = call.query.get("$skiptoken") or call.query.get("$deltatoken")
        base_url = call.request_url.split("?", 1)[0]
        mbx = call.mailbox
        key: str | None = None
        if token:
            key, offset = self._open(token)
            with self._lock:
                rnd = self._rounds.get(key)
            if rnd is None or rnd.mailbox != str(mbx.guid) or rnd.folder != folder.serial:
                if rnd is None:
                    raise GraphError(410, "syncStateNotFound", _EXPIRED,
                                     headers={"Location": base_url + "?$deltatoken="})
                raise GraphError(400, "BadRequest", "The delta token belongs to another folder.")
            if "$deltatoken" in call.query and "$skiptoken" not in call.query:
                rnd, key, offset = self._next_round(mbx, folder, rnd, rnd.select, rnd.expand), None, 0
        else:
            rnd, key, offset = self._next_round(mbx, folder, None, call.query.get("$select"),
                                                call.query.get("$expand")), None, 0
        if key is None:
            key = self._store(rnd)
        query = dict(call.query)
        for option, kept in (("$select", rnd.select), ("$expand", rnd.expand)):
            if kept:
                query[option] = kept
        shape = Shape(Call(call.method, call.segments, query, call.headers, None, call.store, mbx, call.graph_url,
                           call.owner, call.request_url, call.applied))
        size = call.page_size()
        immutable = shape.immutable
        value: list[dict] = []
        end = offset
        while end < len(rnd.entries) and len(value) < size:
            serial, origin, reason = rnd.entries[end]
            end += 1
            if reason is not None:
                value.append({"@odata.type": "#microsoft.graph.contact",
                              "id": ids.removed_id(mbx, serial, origin, immutable), "@removed": {"reason": reason}})
                continue
            item = folder.items.get(serial)
            if item is None:  # gone since the round began: the next round reports it
                continue
            value.append({"@odata.type": "#microsoft.graph.contact", **shape.render(call, item, folder)})
        body = {"@odata.context": call.context("contactFolders('" + ids.folder_id(mbx, folder) + "')/contacts"
                                               + (f"({rnd.select})" if rnd.select else "") + "/$delta"),
                "value": value}
        if end < len(rnd.entries):
            body["@odata.nextLink"] = base_url + "?$skiptoken=" + urllib.parse.quote(self._sign(key, end))
        else:
            body["@odata.deltaLink"] = base_url + "?$deltatoken=" + urllib.parse.quote(self._sign(key, end))
        return Reply(200, body)

    def _next_round(self, mbx: Mailbox, folder: Folder, base: Round | None, select: str | None,
                    expand: str | None) -> Round:
        known = base.known if base is not None else {}
        mbx_items = folder.items
        entries: list[tuple[int, int, str | None]] = []
        new_known: dict[int, tuple[int, int]] = {}
        for serial, (cn, origin) in known.items():
            if serial in mbx_items:
                new_known[serial] = (cn, origin)
            else:
                entries.append((serial, origin, _reason(mbx, origin)))
        changed = sorted((it for it in mbx_items.values()
                          if it.serial not in known or it.cn > known[it.serial][0]), key=lambda it: it.cn)
        for it in changed:
            entries.append((it.serial, it.origin, None))
            new_known[it.serial] = (it.cn, it.origin)
        with self._lock:
            replays, self._replays = self._replays, 0
        if replays:
            seen = {s for s, _, _ in entries}
            again = [s for s in new_known if s not in seen][:replays]
            entries.extend((s, new_known[s][1], None) for s in again)
            with self._lock:
                self._replays += replays - len(again)
        return Round(str(mbx.guid), folder.serial, new_known, entries, select, expand)


def _reason(mbx: Mailbox, origin: int) -> str:
    item = mbx.item_by_origin(origin)
    if item is None:
        return "deleted"
    where = mbx.folders.get(item.folder)
    bins = (mbx.distinguished(n) for n in ("deleteditems", "recoverableitemsdeletions", "recoverableitemspurges"))
    return "deleted" if where is None or any(where is b for b in bins) else "changed"
