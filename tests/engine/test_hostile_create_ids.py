"""A server that names one new item twice in its answers to CreateItem (hostile, or broken): the
executor keeps no document id for the links of items it creates (a first sync of 50,000 holds
50,000 fewer), so such an answer must still leave one link per item id, not two."""

from __future__ import annotations

from dataclasses import replace

from bcsync_tui.core.sync.memory import MemoryTransport

from .backends import PROFILE, MemoryBackend, World


class _NamesOneItemTwice(MemoryTransport):
    def create(self, folder_id, items):  # type: ignore[no-untyped-def]
        results = super().create(folder_id, items)
        if len(results) >= 2:
            results[1] = replace(results[1], item_id=results[0].item_id, change_key=results[0].change_key)
        return results


def test_a_new_item_named_twice_by_the_server_leaves_one_link_for_it(tmp_path):
    backend = MemoryBackend(tmp_path)
    backend.factory = lambda profile: _NamesOneItemTwice(backend.mb)  # type: ignore[method-assign]
    with World(tmp_path, backend) as world:
        for i in range(3):
            world.person(f"Ann{i}", "Hostile")
        world.sync()
        links = world.links(PROFILE)
        assert len(links) == 2  # the item named twice is linked once (to the contact written last)
        assert len({lk["item_id"] for lk in links}) == len(links)
        world.sync()  # the contact that lost its link goes to Outlook again: nothing is lost
        contacts = {c["uuid"] for c in world.store.contacts_raw()}
        linked = {lk["contact_uuid"] for lk in world.links(PROFILE)}
        assert len({lk["item_id"] for lk in world.links(PROFILE)}) == len(world.links(PROFILE))
        assert linked == contacts
