"""RunRecord <-> its stored / --json document (docs/cli.md): one mapping, both ways, tolerant of old records."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bcsync_tui.core.records import COUNT_KEYS, ItemNote, PlanRow, RunCounts, RunRecord, RunStatus

text = st.text(max_size=20)
notes = st.lists(st.builds(ItemNote, text, text, text), max_size=3)


@given(status=st.sampled_from(list(RunStatus)), counts=st.lists(st.integers(0, 10**6), min_size=len(COUNT_KEYS),
                                                                  max_size=len(COUNT_KEYS)),
       skipped=notes, errors=notes, warnings=st.lists(text, max_size=3),
       plan=st.lists(st.builds(PlanRow, text, text, text, text, text), max_size=3),
       numbers=st.tuples(st.integers(0, 99), st.floats(0, 1e4), st.integers(0, 9), st.integers(0, 10**5)),
       ended=st.none() | st.just("2026-12-01T10:00:01+00:00"), dry=st.booleans())
def test_a_record_survives_its_document_and_json(status, counts, skipped, errors, warnings, plan, numbers, ended, dry):
    waits, seconds, resets, requests = numbers
    run = RunRecord(id="r1", profile="ann", mode="full", dry_run=dry, started_at="2026-12-01T10:00:00+00:00",
                    ended_at=ended, status=status, exit_code=1, message="m", counts=RunCounts(*counts),
                    skipped=skipped, errors=errors, warnings=warnings, plan=plan, throttle_waits=waits,
                    throttle_seconds=seconds, token_resets=resets, requests=requests)
    doc = run.to_doc()
    back = RunRecord.from_doc(json.loads(json.dumps(doc)))
    assert back == run and back.to_doc() == doc and list(back.to_doc()) == list(doc)


def test_a_record_of_an_older_version_reads_with_defaults():
    old = {"id": "r0", "profile": "ann", "mode": "incremental", "dry_run": False, "started_at": "2025-01-01T00:00:00",
           "ended_at": "2025-01-01T00:00:05", "status": "partial", "exit_code": 1, "message": "",
           "counts": {"outlook_created": 3, "errors": 1},  # no kept, relinked, ...
           "errors": [{"ref": "CT1", "name": "Ann", "message": "refused"}]}  # no skipped, plan, requests, ...
    run = RunRecord.from_doc(old)
    assert run.status is RunStatus.PARTIAL and run.problem == "the last sync finished with errors"
    assert run.counts == RunCounts(outlook_created=3, errors=1) and run.counts.kept == 0
    assert run.errors == [ItemNote("CT1", "Ann", "refused")] and run.skipped == [] and run.plan == []
    assert run.requests == 0 and run.throttle_seconds == 0.0 and run.warnings == []
    assert set(run.to_doc()) >= set(old)


def test_an_unknown_status_stays_readable_and_never_counts_as_ok():
    run = RunRecord.from_doc({"id": "r2", "status": "paused-by-admin", "counts": {"outlook_created": "x"},
                              "skipped": "not a list", "requests": float("nan")})
    assert run.status_value == "paused-by-admin" and run.status_words == "paused-by-admin"
    assert run.status is not RunStatus.OK and run.problem == "the last sync ended paused-by-admin"
    assert run.to_doc()["status"] == "paused-by-admin"
    assert run.counts.outlook_created == 0 and run.skipped == [] and run.requests == 0
    known = RunRecord.from_doc({"id": "r3", "status": "aborted"})
    assert known.status_words == "stopped by a safety guard" and known.status_value == "aborted"
    assert RunRecord.from_doc({"id": "r4", "status": "ok"}).problem is None
