"""Benchmark: the worst wildcard filters over 50,000 contacts.

    .venv/bin/python bench/filters.py [--n 50000]

Until wildcards were matched in linear time, `*` and `?` became a regex run with ``fullmatch``, and
``name=*?*?*?*?*?*?*?*?x`` took seconds per contact (6 pairs: about 2 h over 50,000). Prints, per
pattern, the time to count the matching contacts through ``ContactFilter.count`` (as ``status``,
every sync and the TUI's live count do), and how many matched.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bcsync_tui.core.filters import ContactFilter  # noqa: E402

WORST = ["*?*?*?*?*?*?*?*?x", "*?*?*?*?*?*?*?*?*?*?*?*?x", "*a*a*a*a*a*a*a*a*a*b", "?*?*?*?*?*?*?*?*?*?*?*?*",
         "*aa*aa*aa*aa*aa*aa*ab", "@*A?A?A*A?A?A*Z", "*e*", "An*"]


def contacts(n: int) -> list[dict[str, str]]:
    rnd = random.Random(7)
    rows = []
    for i in range(n):
        # long runs of one letter are what a backtracking matcher suffers from most
        name = "a" * rnd.randint(20, 60) if i % 3 == 0 else " ".join(
            rnd.choice(["Anna", "Ole", "Kari", "Per", "Åse", "Lars", "Ingrid"]) for _ in range(3))
        rows.append({"name": name, "city": rnd.choice(["Oslo", "Bergen", "Tromsø"])})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    n = ap.parse_args().n
    rows = contacts(n)
    print(f"{n} contacts, ContactFilter.count per pattern on Name:")
    for pattern in WORST:
        flt = ContactFilter({"name": pattern})
        start = time.perf_counter()
        matched = flt.count(rows)
        took = time.perf_counter() - start
        print(f"  {pattern:<28} {took * 1000:8.1f} ms  {matched:6d} match")


if __name__ == "__main__":
    main()
