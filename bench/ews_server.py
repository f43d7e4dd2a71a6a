"""Benchmark of the loopback EWS server with a real exchangelib client.

    .venv/bin/python bench/ews_server.py [--n 2000] [--chunk 100]

Creates N contacts (every SPEC §3 field plus the stamp extended property) with bulk_create, lists them
back (FindItem + GetItem, page_size=1000, chunk_size=500), runs a full SyncFolderItems (512 per call) and
a no-change incremental one, and prints the HTTP requests and wall time of each step. The time includes
exchangelib's own XML work on the client side (about 1 ms per contact to serialise).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exchangelib import (BASIC, DELEGATE, UTC, Account, Build, Configuration, Contact, Credentials,  # noqa: E402
                         ExtendedProperty, Version)
from exchangelib.folders import Contacts  # noqa: E402
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress  # noqa: E402
from exchangelib.protocol import close_connections  # noqa: E402

from bcsync_tui.ewsserver import LoopbackExchange  # noqa: E402


class BenchStamp(ExtendedProperty):
    property_set_id = "6f0a8e1c-2b7d-4c55-9a43-8d1e5b7c3f21"
    property_name = "bcsync-contact-uuid"
    property_type = "String"


def contact(folder, i: int) -> Contact:
    return Contact(
        folder=folder, display_name=f"Zoë Müller {i}", file_as=f"Müller, Zoë {i}", given_name="Zoë",
        surname=f"Müller {i}", company_name="Fjord Shipping AS", job_title="Buyer",
        business_homepage="https://fjord.example.no",
        email_addresses=[EmailAddress(label="EmailAddress1", email=f"zoe.{i}@fjord.example.no")],
        phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number="+47 22 12 34 56"),
                       PhoneNumber(label="MobilePhone", phone_number="+47 900 00 000")],
        physical_addresses=[PhysicalAddress(label="Business", street="Storgata 1\nPostboks 123", city="Oslo",
                                            zipcode="0150", country="NO")],
        bench_stamp=f"uuid-{i}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--chunk", type=int, default=100, help="bulk_create chunk size (exchangelib default 100)")
    args = ap.parse_args()
    Contact.register("bench_stamp", BenchStamp)
    rows = []
    try:
        with LoopbackExchange(users={"bench@example.com": "pw"}) as server:
            cfg = Configuration(service_endpoint=server.url, credentials=Credentials("bench@example.com", "pw"),
                                auth_type=BASIC, version=Version(Build(15, 2, 1118, 7)))
            account = Account("bench@example.com", config=cfg, autodiscover=False, access_type=DELEGATE,
                              default_timezone=UTC)
            folder = Contacts(parent=account.contacts, name="Business Central").save()

            def step(name, fn):
                server.stats.reset()
                t0 = time.perf_counter()
                result = fn()
                rows.append((name, server.stats.total, time.perf_counter() - t0, server.stats.by_operation))
                return result

            items = [contact(folder, i) for i in range(args.n)]
            created = step(f"create {args.n} (bulk_create, chunk {args.chunk})",
                           lambda: account.bulk_create(folder=folder, items=items, chunk_size=args.chunk))
            assert len(created) == args.n and not [c for c in created if isinstance(c, Exception)]

            def listing():
                qs = folder.all().only("display_name", "email_addresses", "phone_numbers", "physical_addresses",
                                       "bench_stamp")
                qs.page_size, qs.chunk_size = 1000, 500
                return list(qs)
            listed = step(f"list {args.n} back (page 1000, chunk 500)", listing)
            assert len(listed) == args.n and {c.bench_stamp for c in listed} == {f"uuid-{i}" for i in range(args.n)}
            ids = step("list ids only (values_list)", lambda: list(folder.all().values_list("id", "changekey")))
            assert len(ids) == args.n

            def full_sync():
                return list(folder.sync_items(only_fields=["display_name", "email_addresses", "bench_stamp"],
                                              max_changes_returned=512))
            changes = step("full SyncFolderItems (512 per call)", full_sync)
            assert len(changes) == args.n
            state = folder.item_sync_state
            step("incremental SyncFolderItems, no change", lambda: list(folder.sync_items(sync_state=state)))
            state_kb = len(state) / 1024
    finally:
        Contact.deregister("bench_stamp")
        close_connections()
    print(f"loopback EWS server + exchangelib, {args.n} contacts")
    print(f"{'step':48} {'HTTP requests':>13} {'seconds':>8}  operations")
    for name, requests, secs, ops in rows:
        print(f"{name:48} {requests:13d} {secs:8.2f}  {dict(ops)}")
    print(f"sync state size after the full sync: {state_kb:.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
