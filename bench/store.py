"""Store benchmark (SPEC §6): a 50,000-contact master.

    python bench/store.py [--contacts 50000] [--edits 50] [--stock-edits 5] [--dir DIR]
    python bench/store.py --status-only [--status-sizes 1000,10000,50000]

Measures, in one run: import of N contacts (model.prepare on every row + Store.add_contacts in one
transaction), opening a Store on the existing file, one contact edit (Store.update_contact, each a
crash-safe journaled transaction; median and max) next to stock TinyDB JSONStorage doing the same
edit on the same data, a BC filter pass over all contacts, compaction, file sizes and memory.
Then `bcsync status` (a fresh process, as a person or a monitor runs it) on stores of 1,000 /
10,000 / 50,000 contacts with a profile and a run history: the first call after a write, and the
calls after it. Targets: one edit <= 50 ms, import <= 3 s, status <= 150 ms and within 1.2x of its
time at 1,000 at 50,000 contacts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bcsync_tui.core import model  # noqa: E402
from bcsync_tui.core.store import Store  # noqa: E402

FIRST = ["Ann", "Bjørn", "Camille", "David", "Eva", "François", "Guro", "Hans", "Ingrid", "Jean", "Kari",
         "Lars", "Marie", "Nils", "Océane", "Per", "Queenie", "Ragnhild", "Sophie", "Thomas", "Ulrik",
         "Vigdis", "William", "Xavier", "Yvonne", "Zoé", "Åse", "Øystein", "Émile", "Solveig"]
MIDDLE = ["", "", "", "Marie", "Johan", "Anne", "Louis", "K.", "Elisabeth"]
SURNAMES = ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
            "Jensen", "Karlsen", "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit",
            "Durand", "Leroy", "Moreau", "Smith", "Jones", "Brown", "Taylor", "Wilson", "Berg", "Haugen",
            "Hagen", "Bakken", "Lefèvre"]
COMPANIES = ["Nordlys Shipping AS", "Fjord Consulting AS", "Bergen Bryggeri ASA", "Trondheim Tre og Bygg AS",
             "Société Générale de Café", "Lyon Mécanique SARL", "Contoso Ltd.", "Fabrikam Inc.",
             "Adventure Works Cycles", "Alpine Ski House", "Tailspin Toys", "Wide World Importers",
             "Northwind Traders", "Coho Winery", "Litware, Inc.", "Proseware AS"]
TITLES = ["Sales Manager", "Purchasing Agent", "Managing Director", "Accountant", "Project Manager",
          "CFO", "IT Manager", "Logistics Coordinator", "Head of Marketing", "Office Manager"]
CITIES = [  # city, county, post code prefix, country, territory
    ("Oslo", "Oslo", "01", "NO", "N1"), ("Bergen", "Vestland", "50", "NO", "N2"),
    ("Trondheim", "Trøndelag", "70", "NO", "N3"), ("Stavanger", "Rogaland", "40", "NO", "N2"),
    ("Tromsø", "Troms", "90", "NO", "N4"), ("Paris", "Île-de-France", "75", "FR", "F1"),
    ("Lyon", "Rhône", "69", "FR", "F2"), ("Marseille", "Bouches-du-Rhône", "13", "FR", "F3"),
    ("London", "Greater London", "EC", "GB", "UK1"), ("Manchester", "Greater Manchester", "M", "GB", "UK2"),
    ("Stockholm", "Stockholm", "11", "SE", "S1"), ("København", "Hovedstaden", "10", "DK", "D1"),
]
STREETS = ["Storgata", "Kongens gate", "Rue de la Paix", "Avenue Victor Hugo", "High Street", "Bryggen",
           "Karl Johans gate", "Boulevard Haussmann", "Drottninggatan", "Strandgade"]
SALESPEOPLE = ["JR", "PS", "OF", "MH", "EL", "KT", "AB"]


def realistic_rows(n: int, seed: int = 6700) -> list[dict]:
    """N contacts with every model field filled with plausible values (~700 bytes stored)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        first, middle, last = rng.choice(FIRST), rng.choice(MIDDLE), rng.choice(SURNAMES)
        company = rng.choice(COMPANIES)
        city, county, pc, country, territory = rng.choice(CITIES)
        domain = company.lower().split()[0].strip(",.") + ".example.com"
        local = f"{first}.{last}".lower().replace("ø", "o").replace("å", "a").replace("é", "e").replace("ç", "c")
        local = "".join(ch for ch in local if ch.isascii())
        is_company = i % 20 == 0
        rows.append({
            "type": model.COMPANY if is_company else model.PERSON,
            "name": company if is_company else "",
            "first_name": "" if is_company else first,
            "middle_name": "" if is_company else middle,
            "surname": "" if is_company else last,
            "initials": "" if is_company else (first[0] + (middle[:1] if middle else "") + last[0]).upper(),
            "company_no": f"CT{(i % 997) + 100000:06d}",
            "company_name": company,
            "job_title": rng.choice(TITLES),
            "email": f"{local}{i}@{domain}",
            "email2": f"{local[:1]}{last[:3].lower()}{i}@mail.example.org".encode("ascii", "ignore").decode(),
            "phone": f"+47 {rng.randint(20, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            "mobile_phone": f"+47 {rng.randint(400, 999)} {rng.randint(10, 99)} {rng.randint(100, 999)}",
            "fax": f"+47 {rng.randint(20, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} 00",
            "home_page": f"https://www.{domain}",
            "address": f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
            "address2": rng.choice(["", f"Postboks {rng.randint(1, 9999)}", f"{rng.randint(1, 9)}. etasje",
                                    "c/o Resepsjonen"]),
            "city": city,
            "post_code": f"{pc}{rng.randint(0, 99):02d}",
            "county": county,
            "country_code": country,
            "territory_code": territory,
            "salesperson_code": rng.choice(SALESPEOPLE),
            "privacy_blocked": rng.random() < 0.03,
        })
    return rows


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:,.2f} s"


def mib(n: int) -> str:
    return f"{n / 1048576:,.1f} MiB"


def timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def load_memory(path: Path) -> tuple[int, int]:
    """Peak RSS (VmHWM, KiB) of a fresh process before and after opening the store and reading
    every contact. (ru_maxrss would carry the parent's peak over the exec on Linux.)"""
    code = (
        "import sys\n"
        "from bcsync_tui.core.store import Store\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'): return int(line.split()[1])\n"
        "a = hwm()\n"
        "s = Store(sys.argv[1]); n = len(s.contacts_raw())\n"
        "print(a, hwm())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]), int(out[1])


def status_store(home: Path, n: int) -> None:
    """A store as status finds it after some syncs: n contacts, a profile with a filter, runs."""
    from bcsync_tui.core.profiles import Profile, save_profile
    from bcsync_tui.core.run_log import record_run

    store = Store(home / "store.json")
    store.add_contacts([model.prepare(r) for r in realistic_rows(n)])
    save_profile(store, Profile(name="bench", email="bench@example.com", server_url="https://ex.example/EWS",
                                filter={"city": "Oslo|Bergen"}))
    for i in range(20):
        record_run(store, {"id": f"run{i:04d}", "profile": "bench", "mode": "incremental", "status": "ok",
                           "started_at": f"2026-12-01T09:{i:02d}:00+00:00",
                           "ended_at": f"2026-12-01T09:{i:02d}:05+00:00", "counts": {"outlook_created": i}})
    store.close()


def status_wall(home: Path, runs: int = 5) -> tuple[float, float, float]:
    """`bcsync status` in a fresh process: wall of the first call after a write, then the median
    wall and CPU (user + system, the child's) of the calls after it. Byte-code is cached (in a
    temp dir), as an installed bcsync has it."""
    cmd = [sys.executable, "-m", "bcsync_tui", "--home", str(home), "--profile", "bench", "status"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(home / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "bcsync_tui", "--version"], env=env, capture_output=True, check=False)
    walls, cpus = [], []
    for _ in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls[0], statistics.median(walls[1:]), statistics.median(cpus[1:])


def status_figures(sizes: list[int], row) -> None:
    walls, cpus = {}, {}
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bcsync-bench-status-") as tmp:
            status_store(Path(tmp), n)
            first, later, cpu = status_wall(Path(tmp))
        walls[n], cpus[n] = later, cpu
        row(f"`bcsync status` at {n:,} contacts: first after a write (wall)", ms(first))
        row(f"`bcsync status` at {n:,} contacts: median of 5 after it (wall)", ms(later), "<= 150 ms", later <= 0.150)
        row(f"`bcsync status` at {n:,} contacts: median of 5 after it (CPU)", ms(cpu))
    if len(sizes) > 1:
        big, small = sizes[-1], sizes[0]
        ratio = walls[big] / walls[small]
        row(f"`bcsync status` {big:,} / {small:,} contacts (wall)", f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2)
        row(f"`bcsync status` {big:,} / {small:,} contacts (CPU)", f"{cpus[big] / cpus[small]:.2f}x", "<= 1.2x",
            cpus[big] / cpus[small] <= 1.2)


def print_table(results: list[tuple[str, str, str, str]]) -> int:
    w1 = max(len(r[0]) for r in results)
    w2 = max(len(r[1]) for r in results)
    w3 = max(len(r[2]) for r in results)
    line = "-" * (w1 + w2 + w3 + 14)
    print(line)
    print(f"{'measure':<{w1}} | {'result':<{w2}} | {'target':<{w3}} | verdict")
    print(line)
    for what, value, target, verdict in results:
        print(f"{what:<{w1}} | {value:<{w2}} | {target:<{w3}} | {verdict}")
    print(line)
    failed = [r for r in results if r[3] == "FAIL"]
    print("all targets met" if not failed else f"{len(failed)} target(s) missed")
    return len(failed)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=50_000)
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--stock-edits", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: a temp dir)")
    ap.add_argument("--status-sizes", default="1000,10000,50000", help="store sizes for `bcsync status`")
    ap.add_argument("--status-only", action="store_true", help="only the `bcsync status` figures")
    args = ap.parse_args()
    sizes = [int(x) for x in args.status_sizes.split(",") if x]
    if args.status_only:
        only: list[tuple[str, str, str, str]] = []
        status_figures(sizes, lambda what, value, target="", ok=None: only.append(
            (what, value, target, "" if ok is None else ("PASS" if ok else "FAIL"))))
        return 1 if print_table(only) else 0
    n = args.contacts
    work = Path(args.dir or tempfile.mkdtemp(prefix="bcsync-bench-store-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "store.json"
    for p in (path, path.with_name("store.json.wal")):
        p.unlink(missing_ok=True)
    results: list[tuple[str, str, str, str]] = []  # what, value, target, verdict

    def row(what: str, value: str, target: str = "", ok: bool | None = None) -> None:
        results.append((what, value, target, "" if ok is None else ("PASS" if ok else "FAIL")))

    print(f"bcsync store benchmark: {n:,} contacts, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {work}")

    rows = realistic_rows(n)

    # --- import: validation of every row + one transaction --------------------------------------------
    store = Store(path)

    def do_import():
        prepared = [model.prepare(r) for r in rows]
        return store.add_contacts(prepared)

    t_import, imported = timed(do_import)
    assert len(imported) == n
    del imported, rows  # what stays in memory from here on is what an app holding the store holds
    row(f"import {n:,} contacts (prepare + add_contacts, 1 txn)", secs(t_import), "<= 3 s", t_import <= 3.0)
    snap_size = path.stat().st_size if path.exists() else 0
    wal_size = path.with_name("store.json.wal").stat().st_size
    per = (snap_size or wal_size) / n
    row("store file (snapshot + journal) after import", f"{mib(snap_size)} + {mib(wal_size)}  ({per:,.0f} B/contact)")
    store.close()

    # --- load -----------------------------------------------------------------------------------------
    loads = []
    for _ in range(3):
        t, s = timed(lambda: Store(path))
        loads.append(t)
        assert len(s.contacts_raw()) == n
        s.close()
    row("load: open a Store on the existing file (median of 3)", ms(statistics.median(loads)))

    # --- one contact edit -------------------------------------------------------------------------------
    store = Store(path)
    rng = random.Random(1)
    uuids = [c["uuid"] for c in store.contacts_raw()]
    store.update_contact(uuids[0], {"job_title": "warm-up"})
    edit_times = []
    for i in range(args.edits):
        uuid = rng.choice(uuids)
        t0 = time.perf_counter()
        store.update_contact(uuid, {"job_title": f"Edited {i}", "city": rng.choice(["Oslo", "Bergen", "Lyon"])})
        edit_times.append(time.perf_counter() - t0)
    med, worst = statistics.median(edit_times), max(edit_times)
    row(f"one edit, Store.update_contact (median of {args.edits})", ms(med), "<= 50 ms", med <= 0.050)
    row(f"one edit, Store.update_contact (max of {args.edits})", ms(worst), "<= 50 ms", worst <= 0.050)

    # --- stock TinyDB JSONStorage, same data, same edit -------------------------------------------------
    from tinydb import TinyDB
    from tinydb.storages import JSONStorage

    stock_path = work / "stock-tinydb.json"
    stock_path.unlink(missing_ok=True)
    docs = list(store.contacts.raw().items())
    stock_path.write_text(json.dumps({"contacts": dict(docs)}, ensure_ascii=False))
    stock = TinyDB(stock_path, storage=JSONStorage)
    table = stock.table("contacts")
    doc_ids = [int(k) for k, _ in docs]
    stock_times = []
    for i in range(args.stock_edits):
        doc_id = rng.choice(doc_ids)
        t0 = time.perf_counter()
        table.update({"job_title": f"Edited {i}", "city": "Oslo"}, doc_ids=[doc_id])
        stock_times.append(time.perf_counter() - t0)
    stock.close()
    stock_med = statistics.median(stock_times)
    row(f"one edit, stock TinyDB JSONStorage (median of {args.stock_edits}; not crash-safe)", ms(stock_med))
    row("  -> speed-up of Store over stock TinyDB", f"{stock_med / med:,.0f}x")
    stock_size = stock_path.stat().st_size
    stock_path.unlink()

    # --- filter pass -------------------------------------------------------------------------------------
    try:
        from bcsync_tui.core.filters import ContactFilter
    except ImportError:
        ContactFilter = None  # noqa: N806
    if ContactFilter is None:
        row("filter pass (city Oslo|Bergen, territory N*)", "skipped: bcsync_tui.core.filters.ContactFilter missing")
    else:
        flt = ContactFilter({"city": "Oslo|Bergen", "territory_code": "N*"})
        contacts = store.contacts_raw()
        match = flt.select if hasattr(flt, "select") else (lambda cs: [c for c in cs if flt.matches(c)])
        times, hits = [], 0
        for _ in range(5):
            t0 = time.perf_counter()
            hits = len(match(store.contacts_raw()))
            times.append(time.perf_counter() - t0)
        expect = sum(1 for c in contacts if c["city"] in ("Oslo", "Bergen") and c["territory_code"].startswith("N"))
        assert hits == expect, (hits, expect)
        row(f"filter pass over {n:,} (city Oslo|Bergen & territory N*; median of 5)",
            f"{ms(statistics.median(times))}  ({hits:,} match)")

    # --- compaction ---------------------------------------------------------------------------------------
    t_compact, _ = timed(store.storage.compact)
    row("compaction: journal folded into a new snapshot (every ~snapshot/4 bytes of edits)", ms(t_compact))
    store.close()

    # --- sizes and memory -----------------------------------------------------------------------------------
    size = path.stat().st_size
    row("store.json after compaction", f"{mib(size)}  ({size / n:,.0f} B/contact; stock TinyDB file {mib(stock_size)})")
    before, after = load_memory(path)
    row("memory: peak RSS of a fresh process, before -> after opening the store",
        f"{before / 1024:,.0f} -> {after / 1024:,.0f} MiB (+{(after - before) / 1024:,.0f} MiB)")
    row("memory: peak RSS of this benchmark process",
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")

    status_figures(sizes, row)

    failed = print_table(results)
    if not args.dir:
        for p in work.iterdir():
            p.unlink() if p.is_file() else None
        try:
            for p in work.rglob("*"):
                p.unlink() if p.is_file() else None
            for p in sorted(work.rglob("*"), reverse=True):
                p.rmdir()
            work.rmdir()
        except OSError:
            pass
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
