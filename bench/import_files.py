"""Import benchmark (issues 11 and 14): files in, contacts stored.

    python bench/import_files.py [--contacts 50000] [--big 100000] [--photo-mb 6] [--profile] [--dir DIR]

Prints, for a CSV and a vCard of N contacts written by our own export: the time to read the file,
to plan the import (validate every row, duplicates, country codes) and to store it in one
transaction, and the whole `bcsync contacts import` command in a fresh process; the same for a
CSV of --big rows; and parsing a vCard whose PHOTO is one folded line of --photo-mb MB (time and
peak Python memory). Target (issue 14): importing 50,000 contacts <= 2 s of CPU time (the
comparable figure on a shared machine; the wall is printed beside it). ``--profile`` prints
the functions the 50,000-row CSV and vCard imports spend their own time in (cProfile, by tottime).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from store import mib, realistic_rows, secs  # noqa: E402

from bcsync_tui.core import model  # noqa: E402
from bcsync_tui.core.contacts_io import export_contacts, paused_gc, plan_import, read_contacts  # noqa: E402
from bcsync_tui.core.contacts_vcard import parse_vcards  # noqa: E402
# parse_vcards imports its bulk reader when first called (they import each other): imported here, as
# the CSV reader's modules are, so that no phase is timed compiling a module (with
# PYTHONDONTWRITEBYTECODE set, as here, that was ~20 ms of the vCard's reading)
from bcsync_tui.core import contacts_vcard_bulk  # noqa: E402,F401
from bcsync_tui.core.store import Store  # noqa: E402


def row(what: str, value: str, target: str = "", ok: bool | None = None, cpu: float | None = None) -> None:
    mark = "" if ok is None else ("  ok" if ok else "  MISSED")
    spent = f"  ({cpu:,.2f} s CPU)" if cpu is not None else ""
    print(f"  {what:<52} {value:>10}{spent:<18} {target}{mark}")


def timed(fn):
    """(wall seconds, CPU seconds of this process, result): on a busy machine the CPU time is the
    steadier figure."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def write_file(directory: Path, n: int, fmt: str) -> Path:
    contacts = []
    for i, data in enumerate(realistic_rows(n)):
        contact = model.normalise(data)
        contact["no"] = f"CT{i + 1:06d}"
        contacts.append(contact)
    path = directory / f"contacts-{n}.{'vcf' if fmt == 'vcard' else 'csv'}"
    export_contacts(str(path), contacts, fmt)
    return path


def import_phases(path: Path, store_dir: Path) -> list[tuple[str, float, float]]:
    """The phases of `bcsync contacts import` (which runs them with the cyclic collector paused):
    (what, wall seconds, CPU seconds)."""
    store = Store(store_dir / "store.json")
    try:
        with paused_gc():
            t_read, c_read, read = timed(lambda: read_contacts(str(path)))
            t_plan, c_plan, plan = timed(lambda: plan_import(read, store.all_contacts(include_deleted=True)))
            assert not plan.invalid and not plan.unmapped, (plan.invalid[:3], plan.unmapped)
            t_store, c_store, added = timed(lambda: store.add_prepared_contacts(plan.contacts()))
        assert len(added) == len(read.rows)
        return [("read the file", t_read, c_read), ("plan (validate, duplicates, countries)", t_plan, c_plan),
                ("store (add_prepared_contacts, one transaction)", t_store, c_store)]
    finally:
        store.close()


def cli_import(path: Path, home: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bcsync_tui", "--home", str(home), "contacts", "import", str(path)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def bench_file(label: str, path: Path, n: int, work: Path, target: float | None) -> float:
    """Prints the import's phases; returns its CPU seconds in-process."""
    print(f"{label}: {n:,} contacts, {mib(path.stat().st_size)}")
    phases = import_phases(path, Path(tempfile.mkdtemp(dir=work)))
    for what, wall, cpu in phases:
        row(what, secs(wall), cpu=cpu)
    total, total_cpu = sum(p[1] for p in phases), sum(p[2] for p in phases)
    # judged by CPU time: on a machine shared with other work the wall time measures the load
    row("import in-process (read + plan + store)", secs(total), f"<= {target:g} s CPU" if target else "",
        total_cpu <= target if target else None, cpu=total_cpu)
    row("`bcsync contacts import` (new process, with backup)", secs(cli_import(path, Path(tempfile.mkdtemp(dir=work)))))
    return total_cpu


def bench_photo(mb: int) -> None:
    photo = "A" * (mb * 1_000_000)
    folded = "\r\n ".join(photo[i:i + 74] for i in range(0, len(photo), 74))
    text = f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big Photo\r\nEMAIL:big@example.com\r\nPHOTO;ENCODING=b;TYPE=JPEG:{folded}\r\nEND:VCARD\r\n"
    del photo, folded
    print(f"vCard with a {mb} MB PHOTO line ({mib(len(text))} of text)")
    tracemalloc.start()
    elapsed, cpu, read = timed(lambda: parse_vcards(text))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert read.unkept["PHOTO"] == 1
    row("parse (unfold, properties, report PHOTO)", secs(elapsed), "was 23 s", cpu=cpu)
    row("peak Python memory while parsing", mib(peak), "was 128 MB")


def profile_import(path: Path, work: Path) -> None:
    store = Store(Path(tempfile.mkdtemp(dir=work)) / "store.json")
    prof = cProfile.Profile()
    with paused_gc():  # as `bcsync contacts import` runs it
        prof.enable()
        read = read_contacts(str(path))
        plan = plan_import(read, store.all_contacts(include_deleted=True))
        store.add_prepared_contacts(plan.contacts())
        prof.disable()
    store.close()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--contacts", type=int, default=50_000)
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--photo-mb", type=int, default=6)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--dir", help="work directory (default: a temporary one)")
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="bcsync-import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    reference = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000
    print(f"reference: sum(range(1000)) takes {reference * 1e6:,.1f} µs on this machine now "
          "(compare figures across machines by it)")
    csv_path = write_file(work, args.contacts, "csv")
    csv_cpu = bench_file("CSV (our export)", csv_path, args.contacts, work, 2.0)
    vcard_path = write_file(work, args.contacts, "vcard")
    vcard_cpu = bench_file("vCard 3.0 (our export)", vcard_path, args.contacts, work, 2.0)
    # the same contacts: the ratio holds on a busy machine, where every CPU figure grows
    row("vCard import CPU / CSV import CPU (this run)", f"{vcard_cpu / csv_cpu:.2f}")
    if args.big:
        bench_file("CSV (our export)", write_file(work, args.big, "csv"), args.big, work, None)
    bench_photo(args.photo_mb)
    if args.profile:
        for path in (csv_path, vcard_path):
            print(f"profile of the import of {path.name}:")
            profile_import(path, work)


if __name__ == "__main__":
    main()
