"""Messages count in words: "1 contact", "2 contacts", never "contact(s)"."""

from __future__ import annotations

import pytest

from bcsync_tui.core.sync import events as ev
from bcsync_tui.core.words import plural


def test_plural():
    assert [plural(0, "contact"), plural(1, "contact"), plural(1204, "contact")] == \
        ["0 contacts", "1 contact", "1,204 contacts"]
    assert plural(2, "entry", "entries") == "2 entries" and plural(1, "entry", "entries") == "1 entry"


@pytest.mark.parametrize("leaving, words",
                         [(1, "remove 1 contact from Outlook"), (2, "remove 2 contacts from Outlook")])
def test_the_delete_guard_counts_in_words(world, leaving, words):
    world.set(max_deletes=0, max_delete_fraction=0.0)
    for i in range(3):
        world.person(f"P{i}", "Test", city="Oslo" if i < leaving else "Bergen")
    world.sync()
    world.set(filter={"city": "Bergen"})  # the Oslo contacts leave the filter
    run = world.sync()
    assert run.exit_code == ev.EXIT_GUARD and words in run.message, run.message
    assert "(s)" not in run.message
