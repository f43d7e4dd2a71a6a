"""Confirming a run's own writes (core/sync/drain.py): what the read-back keeps for the caller to
compare with the links, and what it confirms on the spot."""

from __future__ import annotations

from bcsync_tui.core.sync.drain import Confirmation
from bcsync_tui.core.sync.memory import MemoryMailbox, MemoryTransport


def test_an_item_seen_as_this_run_linked_it_is_confirmed_and_anything_else_is_kept():
    mb = MemoryMailbox()
    t = MemoryTransport(mb)
    folder = mb.create_folder("Business Central")
    state = t.changes(folder, None).state
    ours_same = mb.user_create(folder, {"email": "a@example.com"})  # as if this run created them
    ours_edited = mb.user_create(folder, {"email": "b@example.com"})
    foreign = mb.user_create(folder, {"email": "c@example.com"})  # the user's, meanwhile
    gone = mb.user_create(folder, {"email": "d@example.com"})
    ours = {i: mb.items[i].change_key for i in (ours_same, ours_edited, gone)}
    mb.user_update(ours_edited, job_title="Edited in Outlook during the run")
    mb.user_delete(gone)

    confirm = Confirmation(t, folder, state)
    confirm.ours = ours
    new_state, seen, deleted = confirm.finish()
    assert new_state and new_state != state
    assert seen == {ours_edited: mb.items[ours_edited].change_key, foreign: mb.items[foreign].change_key}
    assert deleted == {gone}


def test_an_item_first_seen_edited_and_then_as_this_run_wrote_it_again_is_confirmed():
    mb = MemoryMailbox()
    t = MemoryTransport(mb)
    folder = mb.create_folder("Business Central")
    confirm = Confirmation(t, folder, t.changes(folder, None).state)
    item = mb.user_create(folder, {"email": "a@example.com"})
    ours = {item: mb.items[item].change_key}
    confirm.ours = ours
    mb.user_update(item, job_title="the user's edit")
    confirm._read()  # a page read while the writes go out
    assert confirm.seen == {item: mb.items[item].change_key}
    mb.user_update(item, job_title="this run's retry")  # the run writes it again and links it
    ours[item] = mb.items[item].change_key
    _, seen, _ = confirm.finish()
    assert seen == {}
