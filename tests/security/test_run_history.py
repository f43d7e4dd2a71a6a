"""Run history stays bounded: a huge fault string is not stored whole, and old runs are pruned."""

from __future__ import annotations

import json

from bcsync_tui.core import run_log
from bcsync_tui.core.history import list_runs

from .conftest import set_up_profile


def test_a_20_mb_fault_string_is_not_stored_whole(cli, server):
    set_up_profile(cli, server, "Per")
    server.faults.item_errors({0: "ErrorItemSave"}, operation="CreateItem", message="E" * 20_000_000)
    r = cli("sync")
    assert r.code == 1, r.both
    size = sum(p.stat().st_size for p in cli.store_file.parent.glob("store.json*"))
    assert size < 200_000, size
    run_id = json.loads(cli("log", "--json").out)["runs"][0]["id"]
    run = json.loads(cli("log", "--run", run_id, "--json").out)["run"]
    message = run["errors"][0]["message"]
    assert "E" * 1000 in message and "more characters not kept" in message
    assert len(message) < run_log.MAX_TEXT + 100


def test_history_is_pruned_to_the_documented_number_in_one_transaction(cli):
    store = cli.store()
    try:
        for i in range(run_log.MAX_RUNS_PER_PROFILE + 5):
            store.runs.insert({"id": f"r{i}", "profile": "ann", "started_at": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}"})
        store.runs.insert({"id": "other", "profile": "bob", "started_at": "2020-01-01T00:00:00"})
        wal = cli.store_file.with_name("store.json.wal")
        lines_before = wal.read_bytes().count(b"\n")
        run_log.record_run(store, {"id": "newest", "profile": "ann", "started_at": "2026-02-01T00:00:00",
                                   "message": "x" * 50_000})
        assert wal.read_bytes().count(b"\n") == lines_before + 1  # one transaction (or folded into a snapshot)
        runs = list_runs(store, "ann")
        assert len(runs) == run_log.MAX_RUNS_PER_PROFILE
        assert runs[0]["id"] == "newest" and len(runs[0]["message"]) < 2100
        kept = {r["id"] for r in runs}
        assert "r0" not in kept and f"r{run_log.MAX_RUNS_PER_PROFILE + 4}" in kept
        assert [r["id"] for r in list_runs(store, "bob")] == ["other"]  # another profile's history is its own
    finally:
        store.close()
