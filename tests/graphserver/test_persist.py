"""A data file keeps the mailboxes across restarts, immutable ids included (their origin is saved)."""

from __future__ import annotations

import os
import stat

from bcsync_tui.graphserver import LoopbackGraph

from .conftest import ANN, Graph, device_sign_in

PREFER = {"Prefer": 'IdType="ImmutableId"'}


def test_contacts_and_immutable_ids_survive_a_restart(tmp_path):
    data = tmp_path / "mailboxes.json"
    with LoopbackGraph(users=[ANN], tls=True, data_path=data) as g:
        client = Graph(g, device_sign_in(g)["access_token"])
        fid = client.folder()
        made = client.post(f"/contactFolders/{fid}/contacts", {"displayName": "Kept"}, headers=PREFER).json()
        outlook = g.outlook()
        outlook.create_folder("Archive")
        outlook.move_contact(outlook.contacts("Business Central")[0]["id"], "Archive")
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o600
    with LoopbackGraph(users=[ANN], tls=True, data_path=data) as g:
        client = Graph(g, device_sign_in(g)["access_token"])
        again = client.get(f"/contacts/{made['id']}", headers=PREFER)
        assert again.status_code == 200 and again.json()["displayName"] == "Kept"
        assert [c["display_name"] for c in g.outlook().contacts("Archive")] == ["Kept"]
