"""Run counts in the store: the ``kept`` count is new, and records written before it still load."""

from __future__ import annotations

from bcsync_tui.cli.runview import log_rows, print_run
from bcsync_tui.core.records import RunCounts, RunRecord

OLD = {"outlook_created": 2, "outlook_updated": 0, "outlook_deleted": 0, "outlook_recreated": 0, "master_created": 1,
       "master_updated": 0, "unlinked": 0, "conflicts": 0, "skipped": 0, "errors": 0}


def test_a_record_without_kept_loads_as_zero():
    counts = RunCounts.from_doc(OLD)
    assert counts.kept == 0 and counts.outlook_created == 2
    assert RunCounts.from_doc({**OLD, "kept": 3}).to_doc() == {**OLD, "kept": 3, "relinked": 0}


def test_the_log_shows_kept_only_when_there_are_some(capsys):
    doc = {"id": "abcdef12-x", "profile": "ann", "mode": "full", "status": "ok", "counts": OLD}
    run, kept = RunRecord.from_doc(doc), RunRecord.from_doc({**doc, "counts": {**OLD, "kept": 3}})
    print_run(run)
    assert "kept" not in capsys.readouterr().out
    print_run(kept)
    assert "  kept: 3 in your Outlook folder, outside the filter" in capsys.readouterr().out.splitlines()
    headers, rows = log_rows([run, kept], with_profile=False)
    assert [row[headers.index("Kept")] for row in rows] == ["0", "3"]
