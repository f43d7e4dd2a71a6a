"""Sync figures against the loopback Exchange server in a separate process (SPEC §6, issue 14).

For each N (default 1,000 and 10,000; ``--big`` adds 50,000), in a fresh process of its own: a full
first sync, an incremental sync with 10 changes (5 in the master, 5 in Outlook) and a sync with no
changes: wall, HTTP requests, client CPU (``time.process_time`` of the client process; the server is
another process) per contact, and the client's peak RSS during that sync.

Then the latency comparison, side by side on one server per latency (0, 20, 100 ms per request by
default): a bcsync first sync, exchangelib's own ``Account.bulk_create`` and a plain loop of one
``save()`` per contact, each on the same contacts, per contact, with the ratios. Last, the wall time
of a full first sync of 10,000 contacts against a server answering each request 100 ms late.
Each sync starts in a process that opens a store another process filled, as ``bcsync sync`` does.

    python bench/sync.py [--sizes 1000,10000] [--big] [--latencies 0,20,100]
                         [--speed-contacts 1000] [--plain 100] [--wall 10000:100]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
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
    """A digest of the store's data as it is on disk, taken by another process: taking it here would
    leave its copies of every contact in this process's memory and in the sync's peak RSS."""
    out = subprocess.run([sys.executable, __file__, "--digest", str(store.path)], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def digest_of(path: str) -> str:
    store = Store(Path(path))
    text = json.dumps([store.all_contacts(True), sorted(map(json.dumps, store.links.raw().values())),
                       [p for p in store.profiles.raw().values()]], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def measure(label: str, store: Store, secrets: SecretStore, mode: str = "incremental",
            requests_of=lambda run: HTTP["requests"]) -> dict:
    """One sync and its figures; ``requests_of(run)`` counts its HTTP requests (EWS: the counting
    adapter's; Graph: the run record's, which counts every Graph request on the wire)."""
    HTTP["requests"] = 0
    before = data_snapshot(store)
    gc.collect()
    reset_peak_rss()
    t0, c0 = time.perf_counter(), time.process_time()
    run = sync_blocking(store, "bench", mode=mode, secrets=secrets)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = peak_rss_mib()
    c = run.counts
    writes = c.outlook_created + c.outlook_updated + c.outlook_deleted + c.outlook_recreated
    master = c.master_created + c.master_updated
    store_changed = data_snapshot(store) != before
    requests = requests_of(run)
    print(f"{label:<38} {wall:8.2f} s {requests:6d} requests  Exchange writes {writes:6d}  "
          f"master writes {master:4d}  store data changed: {'yes' if store_changed else 'no'}  "
          f"throttled {run.throttle_waits}x  client CPU {cpu:6.2f} s  peak RSS {rss:5.0f} MiB  [{run.status.value}]")
    return {"wall": wall, "cpu": cpu, "rss": rss, "requests": requests, "writes": writes, "master": master,
            "store_changed": store_changed, "run": run}


def reset_peak_rss() -> None:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


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


def exchangelib_account(url: str):
    """A stock exchangelib account (stock HTTP adapter), as a plain script would have it."""
    from exchangelib import BASIC, DELEGATE, UTC, Account, Configuration, Credentials
    from exchangelib.protocol import BaseProtocol

    BaseProtocol.HTTP_ADAPTER_CLS = requests.adapters.HTTPAdapter
    return Account(USER, config=Configuration(service_endpoint=url, credentials=Credentials(USER, PASSWORD),
                                              auth_type=BASIC), autodiscover=False, access_type=DELEGATE,
                   default_timezone=UTC)


def exchangelib_contacts(acct, folder, n: int) -> list:
    from exchangelib import Contact
    from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress

    return [Contact(account=acct, folder=folder, display_name=f"{row['first_name']} {row['surname']}",
                    given_name=row["first_name"], surname=row["surname"], company_name=row["company_name"],
                    job_title=row["job_title"], email_addresses=[EmailAddress(email=row["email"])],
                    phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number=row["phone"])],
                    physical_addresses=[PhysicalAddress(label="Business", street=row["address"], city=row["city"],
                                                        zipcode=row["post_code"], country=row["country_code"])])
            for row in contacts(n)]


def new_folder(acct, name: str):
    from exchangelib.folders import Contacts

    folder = Contacts(parent=acct.contacts, name=name)
    folder.save()
    return folder


def plain_loop(url: str, n: int) -> tuple[float, float]:
    """A plain exchangelib loop: one save() per contact. (wall, client CPU) for n contacts."""
    acct = exchangelib_account(url)
    folder = new_folder(acct, "Plain loop")
    t0, c0 = time.perf_counter(), time.process_time()
    for item in exchangelib_contacts(acct, folder, n):
        item.save()
    return time.perf_counter() - t0, time.process_time() - c0


def bulk_create(url: str, n: int) -> tuple[float, float]:
    """exchangelib's own batching: Account.bulk_create of n contacts. (wall, client CPU)."""
    acct = exchangelib_account(url)
    folder = new_folder(acct, "Bulk create")
    t0, c0 = time.perf_counter(), time.process_time()
    results = acct.bulk_create(folder=folder, items=exchangelib_contacts(acct, folder, n))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    failed = [r for r in results if isinstance(r, Exception)]
    assert not failed, failed[:3]
    return wall, cpu


def new_store(home: str, url: str, n: int) -> tuple[Store, SecretStore, list[dict]]:
    store = Store(Path(home) / "store.json")
    secrets = SecretStore(Path(home) / "secrets.json")
    secrets.set("bench", PASSWORD)
    save_profile(store, Profile(name="bench", email=USER, server_url=url, username=USER))
    return store, secrets, store.add_contacts(contacts(n))


def filled_elsewhere(home: str, url: str, n: int) -> tuple[Store, SecretStore]:
    """The store of ``new_store``, filled by another process and opened here: the sync then starts
    as `bcsync sync` does, in a process that opens the store from disk (filling it here would leave
    the filling's memory behind)."""
    subprocess.run([sys.executable, __file__, "--fill", home, url, str(n)], check=True)
    return Store(Path(home) / "store.json"), SecretStore(Path(home) / "secrets.json")


def speed_one(latency_ms: float, n: int, plain_n: int) -> dict:
    """bcsync, bulk_create and a save() loop on one server with the given latency: per-contact figures."""
    proc, url = start_server(latency_ms)
    try:
        with tempfile.TemporaryDirectory() as home:
            store, secrets, _ = new_store(home, url, n)
            t0, c0 = time.perf_counter(), time.process_time()
            run = sync_blocking(store, "bench", secrets=secrets)
            sync_wall, sync_cpu = time.perf_counter() - t0, time.process_time() - c0
            store.close()
        bulk_wall, bulk_cpu = bulk_create(url, n)
        loop_wall, loop_cpu = plain_loop(url, plain_n)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"latency": latency_ms, "n": n, "plain_n": plain_n, "status": run.status.value,
            "sync": [sync_wall / n, sync_cpu / n], "bulk": [bulk_wall / n, bulk_cpu / n],
            "loop": [loop_wall / plain_n, loop_cpu / plain_n]}


def size_one(n: int) -> dict:
    """Full, incremental (10 changes) and no-change sync of n contacts, in this process."""
    from exchangelib.protocol import BaseProtocol

    BaseProtocol.HTTP_ADAPTER_CLS = CountingAdapter
    proc, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as home:
            t0 = time.perf_counter()
            store, secrets = filled_elsewhere(home, url, n)
            edited = [d["uuid"] for d in list(store.contacts.raw().values())[:5]]  # (no copies of every contact)
            print(f"server {url}; store filled with {n} contacts in {time.perf_counter() - t0:.2f} s")
            full = measure(f"full first sync ({n})", store, secrets)
            for uuid in edited:
                store.update_contact(uuid, {"job_title": "Edited in master"})
            outlook_edits(url, 5, n)
            incr = measure(f"incremental, 10 changes ({n})", store, secrets)
            quiet = measure(f"no changes ({n})", store, secrets)
            store.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    keep = ("wall", "cpu", "rss", "requests", "writes", "store_changed")
    return {"n": n, **{name: {k: r[k] for k in keep} for name, r in
                       (("full", full), ("incremental", incr), ("quiet", quiet))}}


def wall_one(n: int, latency_ms: float) -> dict:
    """A full first sync of n contacts against a server answering every request latency_ms late."""
    proc, url = start_server(latency_ms)
    try:
        with tempfile.TemporaryDirectory() as home:
            store, secrets = filled_elsewhere(home, url, n)
            t0, c0 = time.perf_counter(), time.process_time()
            run = sync_blocking(store, "bench", secrets=secrets)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            store.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"n": n, "latency": latency_ms, "wall": wall, "cpu": cpu, "requests": run.requests,
            "status": run.status.value}


def in_child(*args: str) -> dict:
    """Run one part of this bench in a fresh process (its own CPU clock and peak RSS); its figures."""
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    lines = out.stdout.strip().splitlines()
    for line in lines[:-1]:
        print("  " + line)
    if out.returncode or not lines:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"bench part {args} failed")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,10000", help="contact counts for the sync figures")
    ap.add_argument("--big", action="store_true", help="add 50,000 contacts to the sizes (takes minutes)")
    ap.add_argument("--latencies", default="0,20,100", help="per-request server latencies (ms) to compare at")
    ap.add_argument("--speed-contacts", type=int, default=1_000, help="contacts for bcsync and bulk_create")
    ap.add_argument("--plain", type=int, default=100, help="contacts for the plain one-at-a-time loop")
    ap.add_argument("--size-one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--speed-one", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--fill", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--wall", default="10000:100", help="N:LATENCY_MS of the wall-time figure ('' to skip)")
    ap.add_argument("--wall-one", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--digest", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.digest:
        print(digest_of(args.digest))
        return
    if args.wall_one:
        print(json.dumps(wall_one(int(args.wall_one[0]), float(args.wall_one[1]))))
        return
    if args.fill:
        home, url, n = args.fill
        new_store(home, url, int(n))[0].close()
        return
    if args.size_one:
        print(json.dumps(size_one(args.size_one)))
        return
    if args.speed_one is not None:
        print(json.dumps(speed_one(args.speed_one, args.speed_contacts, args.plain)))
        return
    sizes = [int(x) for x in args.sizes.split(",") if x] + ([50_000] if args.big else [])
    figures = []
    for n in sizes:
        print(f"--- {n:,} contacts (own process)")
        figures.append(in_child("--size-one", str(n)))
    print("\nper size: wall s / requests / client CPU ms per contact (no change: CPU s) / peak RSS MiB")
    print(f"{'contacts':>9} | {'full first sync':^34} | {'10 changes':^24} | {'no change':^24}")
    for f in figures:
        n, full, incr, quiet = f["n"], f["full"], f["incremental"], f["quiet"]
        print(f"{n:9,} | {full['wall']:7.2f} {full['requests']:5d} {full['cpu'] / n * 1000:6.3f} ms "
              f"{full['rss']:6.0f} MiB | {incr['wall']:5.2f} {incr['requests']:3d} {incr['cpu']:5.2f} s "
              f"{incr['rss']:4.0f} MiB | {quiet['wall']:5.2f} {quiet['requests']:3d} {quiet['cpu']:5.2f} s "
              f"{quiet['rss']:4.0f} MiB")
    latencies = [float(x) for x in args.latencies.split(",") if x]
    rows = [in_child("--speed-one", str(lat), "--speed-contacts", str(args.speed_contacts), "--plain", str(args.plain))
            for lat in latencies]
    print(f"\nlatency comparison, per contact (wall ms / client CPU ms); bcsync and bulk_create "
          f"{args.speed_contacts:,} contacts, save() loop {args.plain}:")
    print(f"{'latency':>8} | {'bcsync':^15} | {'bulk_create':^15} | {'save() loop':^15} | bulk/bcsync | loop/bcsync")
    for r in rows:
        (sw, sc), (bw, bc), (lw, lc) = r["sync"], r["bulk"], r["loop"]
        print(f"{r['latency']:6.0f}ms | {sw * 1000:6.2f} {sc * 1000:6.3f} | {bw * 1000:6.2f} {bc * 1000:6.3f} | "
              f"{lw * 1000:6.2f} {lc * 1000:6.3f} | {bw / sw:10.2f}x | {lw / sw:10.1f}x   [{r['status']}]")
    wall = None
    if args.wall:
        n_text, lat_text = args.wall.split(":")
        wall = in_child("--wall-one", n_text, lat_text)
        print(f"\nfull first sync of {wall['n']:,} contacts, server {wall['latency']:.0f} ms per request: "
              f"{wall['wall']:.2f} s wall, {wall['requests']} requests, client CPU {wall['cpu']:.2f} s  "
              f"[{wall['status']}]")
    print("\ntargets (SPEC §6, issue 14):")
    for f in figures:
        n, full, incr, quiet = f["n"], f["full"], f["incremental"], f["quiet"]
        budget = 1.1 * math.ceil(n / 100) + 10
        per = full["cpu"] / n * 1000
        print(f"  {n:6,}: full sync requests {full['requests']} <= {budget:.0f}: "
              f"{'OK' if full['requests'] <= budget else 'MISSED'}; client CPU {per:.3f} ms/contact <= 0.3: "
              f"{'OK' if per <= 0.3 else 'MISSED'}; 10 changes {incr['requests']} requests <= 5 "
              f"(+1: where the folder is, issue 10): {'OK' if incr['requests'] <= 6 else 'MISSED'}; "
              f"no change {quiet['requests']} requests, "
              f"{quiet['writes']} writes, store {'unchanged' if not quiet['store_changed'] else 'CHANGED'}, "
              f"{quiet['cpu']:.2f} s CPU <= 0.3: {'OK' if quiet['cpu'] <= 0.3 and quiet['requests'] <= 2 else 'MISSED'}")
    for f in figures:
        if f["n"] >= 50_000:
            rss = f["full"]["rss"]
            print(f"  {f['n']:,}: full first sync peak RSS {rss:.0f} MiB <= 250: {'OK' if rss <= 250 else 'MISSED'}")
    if wall is not None and wall["n"] == 10_000 and wall["latency"] == 100:
        print(f"  at 100 ms: 10,000 contacts in {wall['wall']:.2f} s <= 8 s: {'OK' if wall['wall'] <= 8 else 'MISSED'}")
    for r in rows:
        sw, bw, lw = r["sync"][0], r["bulk"][0], r["loop"][0]
        if r["latency"] == 100:
            print(f"  at 100 ms: bcsync {bw / sw:.2f}x bulk_create >= 2x: {'OK' if bw / sw >= 2 else 'MISSED'}")
        if r["latency"] == 20:
            print(f"  at 20 ms: bcsync {lw / sw:.1f}x the save() loop >= 30x: {'OK' if lw / sw >= 30 else 'MISSED'}")


if __name__ == "__main__":
    main()
