"""Benchmark of the loopback Graph server with the clients a Graph transport uses (MSAL + requests).

    .venv/bin/python bench/graph_server.py [--n 2000] [--page 500] [--latency MS]

Signs in with client credentials through MSAL, creates N contacts (the SPEC §3 fields, the stamp and
the fax as extended properties) with ``$batch`` (20 per batch), runs a full delta listing of the folder
(``Prefer: odata.maxpagesize=PAGE``) and a no-change incremental delta, and prints the HTTP requests
and wall time of each step (https, one keep-alive connection).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msal  # noqa: E402
import requests  # noqa: E402

from bcsync_tui.graphserver import LoopbackGraph  # noqa: E402

USER, APP, SECRET = "ann@example.com", "bench-app", "bench-secret"
STAMP = "String {6f0a8e1c-2b7d-4c55-9a43-8d1e5b7c3f21} Name bcsync-contact-uuid"


def contact(i: int) -> dict:
    return {"displayName": f"Zoë Müller {i}", "fileAs": f"Müller, Zoë {i}", "givenName": "Zoë",
            "surname": f"Müller {i}", "companyName": "Fjord Shipping AS", "jobTitle": "Buyer",
            "businessHomePage": "https://fjord.example.no",
            "emailAddresses": [{"address": f"zoe.{i}@fjord.example.no"}], "businessPhones": ["+47 22 00 00 00"],
            "mobilePhone": "+47 900 00 000",
            "businessAddress": {"street": "Kaigata 1", "city": "Bergen", "postalCode": "5003",
                                "countryOrRegion": "NO"},
            "singleValueExtendedProperties": [{"id": STAMP, "value": f"uuid-{i:06d}"},
                                              {"id": "String 0x3A24", "value": "+47 22 00 00 01"}]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--page", type=int, default=500, help="Prefer: odata.maxpagesize for delta")
    ap.add_argument("--latency", type=float, default=0.0, metavar="MS")
    args = ap.parse_args()
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would override verify=
        os.environ.pop(var, None)
    with LoopbackGraph(users=[USER], clients={APP: SECRET}, tls=True, latency_ms=args.latency) as g:
        cca = msal.ConfidentialClientApplication(APP, client_credential=SECRET, authority=g.authority(g.tenant_id),
                                                 instance_discovery=False, verify=g.ca_file)
        token = cca.acquire_token_for_client(["https://graph.microsoft.com/.default"])["access_token"]
        s = requests.Session()
        s.verify = g.ca_file
        s.headers["Authorization"] = f"Bearer {token}"
        base = f"{g.graph_url}/users/{USER}"
        folder = s.post(f"{base}/contactFolders", json={"displayName": "Business Central"}).json()["id"]

        before, t0 = g.stats.total, time.perf_counter()
        for start in range(0, args.n, 20):
            batch = [{"id": str(i), "method": "POST", "url": f"/users/{USER}/contactFolders/{folder}/contacts",
                      "headers": {"Content-Type": "application/json"}, "body": contact(i)}
                     for i in range(start, min(start + 20, args.n))]
            answers = s.post(f"{g.graph_url}/$batch", json={"requests": batch}).json()["responses"]
            assert all(a["status"] == 201 for a in answers), answers[0]
        print(f"create {args.n} contacts via $batch: {g.stats.total - before} requests, "
              f"{time.perf_counter() - t0:.2f} s")

        before, t0 = g.stats.total, time.perf_counter()
        url, seen = f"{base}/contactFolders/{folder}/contacts/delta", 0
        prefer = {"Prefer": f"odata.maxpagesize={args.page}"}
        while True:
            body = s.get(url, headers=prefer).json()
            seen += len(body["value"])
            if "@odata.deltaLink" in body:
                delta_link = body["@odata.deltaLink"]
                break
            url = body["@odata.nextLink"]
        print(f"full delta listing ({seen} contacts, maxpagesize {args.page}): {g.stats.total - before} requests, "
              f"{time.perf_counter() - t0:.2f} s")

        before, t0 = g.stats.total, time.perf_counter()
        body = s.get(delta_link, headers=prefer).json()
        assert body["value"] == [] and "@odata.deltaLink" in body
        print(f"incremental delta, no change: {g.stats.total - before} requests, {time.perf_counter() - t0:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
