"""Sync figures against the loopback Exchange server in a separate process (SPEC §6).

Prints, for N contacts (default 10,000): a full first sync, an incremental sync with 10 changes
(5 in the master, 5 in Outlook), a sync with no changes — wall time, HTTP requests and writes.
Then the speed against a plain exchangelib loop saving one contact at a time, per contact, on the
same server: once on raw loopback and once with the server modelling a real server's per-request
latency (default 30 ms), since on loopback a request costs almost nothing.

    python bench/sync.py [--contacts 10000] [--plain 300] [--speed-contacts 2000] [--latency 30]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BCSYNC_NO_KEYRING", "1")

import requests.adapters  # noqa: E402

from bcsync_tui.core.profiles import Profile, save_profile  # noqa: E402
from bcsync_tui.core.secrets import SecretStore  # noqa: E402
from bcsync_tui.core.store import Store  # noqa: E402
from bcsync_tui.core.sync.ews import EwsHTTPAdapter  # noqa: E402
from bcsync_tui.core.sync.runner import sync_blocking  # noqa: E402

USER, PASSWORD = "bench@example.com", "bench-password"
HTTP = {"requests": 0}


class CountingAdapter(EwsHTTPAdapter):
    """Counts every HTTP request exchangelib sends (installed as exchangelib's adapter class)."""

    def send(self, *args, **kwargs):
        HTTP["requests"] += 1
        return super().send(*args, **kwargs)


def start_server(latency_ms: float = 0.0) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "bcsync_tui.ewsserver", "--port", "0", "--user",
                             f"{USER}:{PASSWORD}", "--latency", str(latency_ms)], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip().split()[-1]
    return proc, url


def contacts(n: int) -> list[dict]:
    cities = ["Oslo", "Bergen", "Trondheim", "Zürich", "Lyon", "Malmö"]
    return [{"first_name": f"First{i}", "surname": f"Surname{i}", "email": f"person{i}@bench.example",
             "company_name": f"Company {i % 300}", "job_title": "Buyer", "phone": f"+47 {10000000 + i}",
             "address": f"Street {i}", "city": cities[i % len(cities)], "post_code": f"{1000 + i % 9000}",
             "country_code": "NO"} for i in range(n)]


def data_snapshot(store: Store) -> str:
    return json.dumps([store.all_contacts(True), sorted(map(json.dumps, store.links.raw().values())),
                       [p for p in store.profiles.raw().values()]], sort_keys=True, default=str)


def measure(label: str, store: Store, secrets: SecretStore, mode: str = "incremental",
            requests_of=lambda run: HTTP["requests"]) -> dict:
    """One sync and its figures; ``requests_of(run)`` counts its HTTP requests (EWS: the counting
    adapter's; Graph: the run record's, which counts every Graph request on the wire)."""
    HTTP["requests"] = 0
    before = data_snapshot(store)
    t0 = time.perf_counter()
    run = sync_blocking(store, "bench", mode=mode, secrets=secrets)
    wall = time.perf_counter() - t0
    c = run["counts"]
    writes = c["outlook_created"] + c["outlook_updated"] + c["outlook_deleted"] + c["outlook_recreated"]
    master = c["master_created"] + c["master_updated"]
    store_changed = data_snapshot(store) != before
    requests = requests_of(run)
    print(f"{label:<38} {wall:8.2f} s {requests:6d} requests  Exchange writes {writes:6d}  "
          f"master writes {master:4d}  store data changed: {'yes' if store_changed else 'no'}  "
          f"throttled {run['throttle_waits']}x  [{run['status']}]")
    return {"wall": wall, "requests": requests, "writes": writes, "master": master,
            "store_changed": store_changed, "run": run}


def outlook_edits(url: str, n: int, total: int) -> None:
    """Act as the Outlook user: change the job title of n contacts in the sync folder."""
    from exchangelib import BASIC, DELEGATE, UTC, Account, Configuration, Credentials

    acct = Account(USER, config=Configuration(service_endpoint=url, credentials=Credentials(USER, PASSWORD),
                                              auth_type=BASIC), autodiscover=False, access_type=DELEGATE,
                   default_timezone=UTC)
    folder = acct.contacts // "Business Central"
    # The last contacts, so these edits do not touch the ones edited in the master.
    wanted = [f"Surname{i}" for i in range(total - n, total)]
    for item in list(folder.filter(surname__in=wanted).only("job_title")):
        item.job_title = "Edited in Outlook"
        item.save(update_fields=["job_title"])


def plain_loop(url: str, n: int) -> float:
    """A plain exchangelib loop: one save() per contact."""
    from exchangelib import BASIC, DELEGATE, UTC, Account, Configuration, Contact, Credentials
    from exchangelib.folders import Contacts
    from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress

    from exchangelib.protocol import BaseProtocol

    BaseProtocol.HTTP_ADAPTER_CLS = requests.adapters.HTTPAdapter  # stock exchangelib, as a plain loop has it
    acct = Account(USER, config=Configuration(service_endpoint=url, credentials=Credentials(USER, PASSWORD),
                                              auth_type=BASIC), autodiscover=False, access_type=DELEGATE,
                   default_timezone=UTC)
    folder = Contacts(parent=acct.contacts, name="Plain loop")
    folder.save()
    t0 = time.perf_counter()
    for row in contacts(n):
        Contact(account=acct, folder=folder, display_name=f"{row['first_name']} {row['surname']}",
                given_name=row["first_name"], surname=row["surname"], company_name=row["company_name"],
                job_title=row["job_title"], email_addresses=[EmailAddress(email=row["email"])],
                phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number=row["phone"])],
                physical_addresses=[PhysicalAddress(label="Business", street=row["address"], city=row["city"],
                                                    zipcode=row["post_code"], country=row["country_code"])]).save()
    return time.perf_counter() - t0


def new_store(home: str, url: str, n: int) -> tuple[Store, SecretStore, list[dict]]:
    store = Store(Path(home) / "store.json")
    secrets = SecretStore(Path(home) / "secrets.json")
    secrets.set("bench", PASSWORD)
    save_profile(store, Profile(name="bench", email=USER, server_url=url, username=USER))
    return store, secrets, store.add_contacts(contacts(n))


def speed(latency_ms: float, n: int, plain_n: int) -> float:
    """Per-contact time of a first sync of n contacts vs a plain loop of plain_n, on one server."""
    proc, url = start_server(latency_ms)
    try:
        with tempfile.TemporaryDirectory() as home:
            store, secrets, _ = new_store(home, url, n)
            t0 = time.perf_counter()
            run = sync_blocking(store, "bench", secrets=secrets)
            per_sync = (time.perf_counter() - t0) / n
            store.close()
        per_plain = plain_loop(url, plain_n) / plain_n
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"  server latency {latency_ms:4.0f} ms: sync {per_sync * 1000:6.2f} ms/contact ({n}, {run['status']}), "
          f"plain loop {per_plain * 1000:6.2f} ms/contact ({plain_n}) -> {per_plain / per_sync:5.1f}x")
    return per_plain / per_sync


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--contacts", type=int, default=10_000)
    ap.add_argument("--plain", type=int, default=300, help="contacts for the plain one-at-a-time loop")
    ap.add_argument("--speed-contacts", type=int, default=2_000, help="contacts for the speed comparison")
    ap.add_argument("--latency", type=float, default=30.0,
                    help="per-request latency (ms) the server models for the speed comparison")
    args = ap.parse_args()
    from exchangelib.protocol import BaseProtocol

    BaseProtocol.HTTP_ADAPTER_CLS = CountingAdapter
    n = args.contacts
    proc, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as home:
            t0 = time.perf_counter()
            store, secrets, added = new_store(home, url, n)
            print(f"server {url}; store filled with {n} contacts in {time.perf_counter() - t0:.2f} s\n")
            full = measure(f"full first sync ({n})", store, secrets)
            for c in added[:5]:
                store.update_contact(c["uuid"], {"job_title": "Edited in master"})
            outlook_edits(url, 5, n)
            incr = measure("incremental, 10 changes", store, secrets)
            quiet = measure("no changes", store, secrets)
            store.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print("\nspeed against a plain exchangelib loop (one save() per contact), same server, same contacts:")
    raw = speed(0, args.speed_contacts, args.plain)
    modelled = speed(args.latency, args.speed_contacts, args.plain) if args.latency else raw
    budget = 1.1 * math.ceil(n / 100) + 10
    print("\ntargets (SPEC §6):")
    print(f"  full sync requests   {full['requests']:6d} <= {budget:.0f}: {'OK' if full['requests'] <= budget else 'MISSED'}")
    print(f"  10 changes requests  {incr['requests']:6d} <= 5: {'OK' if incr['requests'] <= 5 else 'MISSED'}")
    ok = quiet["requests"] <= 2 and quiet["writes"] == 0 and not quiet["store_changed"]
    print(f"  no changes           {quiet['requests']:6d} requests, {quiet['writes']} Exchange writes, store "
          f"{'unchanged' if not quiet['store_changed'] else 'CHANGED'}: {'OK' if ok else 'MISSED'}")
    print(f"  speed-up vs plain    {modelled:6.1f}x >= 30x with {args.latency:.0f} ms per request: "
          f"{'OK' if modelled >= 30 else 'MISSED'}; {raw:.1f}x on raw loopback, where exchangelib's ~1 ms of "
          "CPU per contact is all there is to save")


if __name__ == "__main__":
    main()
