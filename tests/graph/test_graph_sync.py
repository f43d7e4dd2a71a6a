"""What only the Graph transport has to get right, against the loopback Graph server through MSAL and
plain HTTP: stamps and fax as extended properties, 429 per item and per batch, If-Match (enforced or
ignored), delta replays and expiry, immutable ids across a move, tokens expiring mid-run, four requests
in flight at most."""

from __future__ import annotations

import threading
import time

import pytest

from tests.engine.backends import World
from tests.engine.invariants import check_all


def _people(world: World, n: int, tag: str = "P") -> list[dict]:
    return [world.person(f"{tag}{i:03d}", "Graph") for i in range(n)]


def test_first_sync_stamps_items_writes_fax_and_a_quiet_sync_sends_one_request(world):
    ann = world.person("Ann", "Lee", fax="+47 22 33 44 55", phone="+47 1", city="Oslo", address="Storgata 1",
                       address2="Bakgården")
    run = world.sync()
    assert run.status.value == "ok" and run.counts.outlook_created == 1
    outlook = world.backend.outlook["ann@example.com"].contacts("Business Central")
    assert outlook[0]["business_fax"] == "+47 22 33 44 55"  # String 0x3A24 is Outlook's business fax
    assert outlook[0]["business_street"].replace("\r\n", "\n") == "Storgata 1\nBakgården"
    assert world.item_of(ann["uuid"]).stamp == ann["uuid"]
    writes = world.backend.writes
    quiet = world.sync()
    assert quiet.requests == 1 and world.backend.writes == writes
    assert world.backend.server.stats.count("contactsDelta") >= 1


def test_a_fax_edited_in_outlook_reaches_the_master(world):
    ann = world.person("Ann", "Lee", fax="+47 1")
    world.sync()
    world.backend.user_update(world.item_of(ann["uuid"]).item_id, fax="+47 2")
    run = world.sync()
    assert run.counts.master_updated == 1
    assert world.contact(ann["uuid"])["fax"] == "+47 2"


def test_a_throttled_request_inside_a_batch_is_sent_again_after_its_retry_after(world):
    people = _people(world, 30)
    world.backend.server.faults.item_errors({3: "TooManyRequests", 7: "TooManyRequests"}, operation="createContact",
                                            count=1, backoff_ms=200)
    run = world.sync()
    assert run.status.value == "ok", run.errors
    assert run.counts.outlook_created == 30 and run.throttle_waits >= 1
    assert sorted(i.stamp for i in world.backend.items()) == sorted(p["uuid"] for p in people)
    check_all(world)


def test_a_throttled_batch_is_sent_again_after_its_retry_after(world):
    _people(world, 25)
    world.backend.server.faults.throttle(count=2, backoff_ms=100, operation="batch")
    run = world.sync()
    assert run.status.value == "ok" and run.counts.outlook_created == 25
    assert run.throttle_waits >= 2
    check_all(world)


def test_throttling_past_the_runs_cap_stops_at_a_safe_point_and_the_next_sync_finishes(world):
    _people(world, 5)
    world.backend.server.faults.throttle(count=None, backoff_ms=60_000, operation="batch")
    run = world.sync()
    assert run.status.value == "partial" and run.exit_code == 1
    assert "slow down" in run.message
    world.backend.server.faults.clear()
    assert world.sync().status.value == "ok"
    check_all(world)


@pytest.mark.parametrize("in_flight", [8, 1])
def test_never_more_than_four_requests_in_flight_nor_more_than_the_profile_asks(world, in_flight):
    world.set(in_flight=in_flight)
    _people(world, 200)
    lock, active, most = threading.Lock(), [0], [0]

    def hold():  # runs in the server's thread before each batch executes: overlapping holds = requests in flight
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1

    world.backend.server.faults.before_executing(hold, count=None, operation="batch")
    run = world.sync()
    assert run.status.value == "ok" and run.counts.outlook_created == 200
    assert 1 <= most[0] <= min(4, in_flight)
    check_all(world)


def test_an_outlook_edit_between_our_read_and_write_is_a_conflict_when_if_match_is_enforced(world):
    ann = world.person("Ann", "Lee", email2="ann.old@example.com")
    world.sync()
    item_id = world.item_of(ann["uuid"]).item_id
    world.store.update_contact(ann["uuid"], {"email": "ann.new@example.com"})
    world.backend.between_read_and_write(lambda: world.backend.user_update(item_id, email2="ann.home@example.com"))
    world.sync()
    world.sync()
    assert world.contact(ann["uuid"])["email2"] == "ann.home@example.com"
    fields = world.item_of(ann["uuid"]).fields
    assert (fields["email"], fields["email2"]) == ("ann.new@example.com", "ann.home@example.com")
    assert world.store.conflicts.raw() == {}
    check_all(world)


def test_a_server_that_ignores_if_match_still_cannot_make_us_overwrite_an_edit_we_have_not_seen(world):
    """Graph replaces emailAddresses whole: a blind PATCH of the master's new e-mail would also put back
    the old second address. The change key read right before writing catches the edit."""
    g = world.backend.server
    g.ignore_if_match = True
    ann = world.person("Ann", "Lee", email2="ann.old@example.com")
    world.sync()
    item_id = world.item_of(ann["uuid"]).item_id
    world.store.update_contact(ann["uuid"], {"email": "ann.new@example.com"})
    # The user's edit lands after the run's delta read, before the update reads the item.
    g.faults.before_executing(lambda: world.backend.user_update(item_id, email2="ann.home@example.com"),
                              count=1, operation="getContact")
    run = world.sync()
    assert run.status.value == "ok", run
    fields = world.item_of(ann["uuid"]).fields
    assert (fields["email"], fields["email2"]) == ("ann.new@example.com", "ann.home@example.com")
    assert world.contact(ann["uuid"])["email2"] == "ann.home@example.com"
    check_all(world)


def test_a_replayed_delta_is_harmless(world):
    people = _people(world, 12)
    world.sync()
    world.backend.user_update(world.item_of(people[0]["uuid"]).item_id, job_title="Boss")
    world.backend.server.replay_delta(5)
    writes = world.backend.writes
    run = world.sync()
    assert run.status.value == "ok" and run.counts.master_updated == 1
    assert run.counts.conflicts == 0 and world.backend.writes == writes
    world.backend.server.replay_delta(5)
    again = world.sync()
    assert sum(again.counts.to_doc().values()) == 0 and world.backend.writes == writes
    check_all(world)


def test_an_expired_delta_token_means_a_full_reconcile_with_nothing_created_twice(world):
    people = _people(world, 8)
    world.sync()
    world.backend.user_update(world.item_of(people[2]["uuid"]).item_id, city="Tromsø")
    world.backend.server.expire_delta_tokens()
    run = world.sync()
    assert run.status.value == "ok" and run.token_resets == 1
    assert run.counts.outlook_created == 0 and run.counts.outlook_recreated == 0
    assert world.contact(people[2]["uuid"])["city"] == "Tromsø"
    assert len(world.backend.items()) == 8
    check_all(world)


def test_an_item_moved_out_and_back_keeps_its_immutable_id_and_its_link(world):
    ann = world.person("Ann", "Lee")
    world.sync()
    item_id = world.item_of(ann["uuid"]).item_id
    user = world.backend.outlook["ann@example.com"]
    elsewhere = user.move_contact(world.backend.ews_id(item_id), "contacts")
    user.move_contact(elsewhere, "Business Central")
    assert world.item_of(ann["uuid"]).item_id == item_id  # the EWS id changed twice; the Graph id did not
    run = world.sync()
    assert run.counts.outlook_created == run.counts.outlook_recreated == 0
    assert [lk["item_id"] for lk in world.links()] == [item_id]
    check_all(world)


def test_an_access_token_that_expires_mid_run_is_renewed_silently(world):
    _people(world, 70)
    g = world.backend.server
    g.faults.before_executing(g.expire_tokens, count=1, operation="createContact")
    run = world.sync()
    assert run.status.value == "ok" and run.counts.outlook_created == 70
    check_all(world)


def test_a_revoked_sign_in_stops_with_sign_in_again_and_exit_3(world):
    world.person("Ann", "Lee")
    world.sync()
    world.backend.server.expire_tokens(refresh=True)
    world.person("Bob", "Lee")
    run = world.sync()
    assert run.status.value == "failed" and run.exit_code == 3
    assert "sign in again" in run.message


def test_master_delete_policies_over_graph(world):
    ann, bob = world.person("Ann", "Lee"), world.person("Bob", "Lee")
    world.sync()
    world.store.delete_contact(ann["uuid"])
    world.sync()
    assert [i.stamp for i in world.backend.items("Deleted Items")] == [ann["uuid"]]  # DELETE moves it
    world.set(master_delete_policy="delete")
    world.store.delete_contact(bob["uuid"])
    run = world.sync()
    assert run.counts.outlook_deleted == 1 and world.backend.items() == []
    assert [i.stamp for i in world.backend.items("Deleted Items")] == [ann["uuid"]]  # permanentDelete
    assert world.backend.server.stats.count("permanentDeleteContact") == 1


@pytest.mark.parametrize("mode", ["drop", "500"])
def test_creates_whose_answer_is_lost_are_unknown_and_the_next_sync_relinks_them_by_stamp(world, mode):
    people = _people(world, 25)
    world.backend.server.faults.ghost_write(count=1, operation="batch", mode=mode)  # the whole batch, stored
    first = world.sync()
    assert first.status.value == "partial" and first.counts.errors >= 1
    assert any("did not confirm" in e.reason for e in first.errors)
    second = world.sync()
    assert second.status.value == "ok", second
    stamps = [i.stamp for i in world.backend.items()]
    assert sorted(stamps) == sorted(p["uuid"] for p in people)  # each exactly once: never sent blindly again
    check_all(world)
