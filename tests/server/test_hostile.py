"""Malformed and hostile requests get a SOAP fault; the server keeps serving."""

from __future__ import annotations

import http.client
import urllib.parse

from bcsync_tui.ewsserver import LoopbackExchange

from .conftest import ANN, ANN_PW, FOLDER, connect, raw_post, soap

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
<s:Body><m:ResolveNames><m:UnresolvedEntry>&lol9;</m:UnresolvedEntry></m:ResolveNames></s:Body></s:Envelope>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
<s:Body><m:ResolveNames><m:UnresolvedEntry>&xxe;</m:UnresolvedEntry></m:ResolveNames></s:Body></s:Envelope>"""


def assert_fault(status, body, code):
    assert status == 500
    assert body.startswith(b"<?xml")
    assert f"<e:ResponseCode xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">{code}".encode() \
        in body, body[:600]


def test_entity_bombs_and_external_entities_are_refused(server, account):
    for payload in (BILLION_LAUGHS, XXE):
        status, _, body = raw_post(server, payload)
        assert_fault(status, body, "ErrorSchemaValidation")
        assert b"root:" not in body
    assert account.contacts.name == "Contacts"  # still serving


def test_malformed_and_foreign_requests(server):
    for payload, code in (("<s:Envelope", "ErrorSchemaValidation"),
                          ("<foo/>", "ErrorSchemaValidation"),
                          ("\xff\xfe garbage", "ErrorSchemaValidation"),
                          (soap("<m:NoSuchOperation/>"), "ErrorInvalidOperation"),
                          (soap("<m:GetFolder><m:FolderShape><t:BaseShape>Nope</t:BaseShape></m:FolderShape>"
                                "<m:FolderIds/></m:GetFolder>"), "ErrorSchemaValidation"),
                          (soap("<m:GetItem/>", version="Exchange1999"), "ErrorInvalidServerVersion"),
                          (soap('<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
                                '<m:SyncFolderId><t:DistinguishedFolderId Id="contacts"/></m:SyncFolderId>'
                                '<m:MaxChangesReturned>0</m:MaxChangesReturned></m:SyncFolderItems>'),
                           "ErrorSchemaValidation")):
        status, _, body = raw_post(server, payload)
        assert_fault(status, body, code)


def test_item_level_errors_in_raw_requests(server):
    status, _, body = raw_post(server, soap(
        '<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>'
        '<t:ItemId Id="not-base64!"/><t:ItemId Id=""/></m:ItemIds></m:GetItem>'))
    assert status == 200
    assert body.count(b'ResponseClass="Error"') == 2
    assert b"ErrorInvalidIdMalformed" in body and b"ErrorInvalidIdEmpty" in body


def test_unknown_elements_are_kept_verbatim(server):
    status, _, body = raw_post(server, soap(
        '<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId><t:DistinguishedFolderId Id="contacts"/>'
        '</m:SavedItemFolderId><m:Items><t:Contact><t:DisplayName>Raw</t:DisplayName>'
        '<t:AccountName>raw-account</t:AccountName><t:Birthday>1980-02-29T11:59:00Z</t:Birthday>'
        '</t:Contact></m:Items></m:CreateItem>'))
    assert status == 200, body
    c = server.outlook().contacts("contacts")[0]
    assert c["unmapped"]["AccountName"].endswith(">raw-account</t:AccountName>")
    assert "Birthday" in c["unmapped"]
    status, _, body = raw_post(server, soap(
        '<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds>'
        f'<t:ItemId Id="{c["id"]}"/></m:ItemIds></m:GetItem>'))
    assert b"<t:AccountName>raw-account</t:AccountName>" in body
    assert b"<t:Birthday>1980-02-29T11:59:00Z</t:Birthday>" in body


def test_read_only_properties_cannot_be_set(server):
    status, _, body = raw_post(server, soap(
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Contact><t:DateTimeCreated>2020-01-01T00:00:00Z'
        '</t:DateTimeCreated><t:DisplayName>x</t:DisplayName></t:Contact><t:Contact><t:DisplayName>ok</t:DisplayName>'
        '</t:Contact></m:Items></m:CreateItem>'))
    assert status == 200
    assert b"ErrorInvalidPropertySet" in body and body.count(b'ResponseClass="Success"') == 1


def test_request_size_limit_and_auth_required():
    with LoopbackExchange(users={ANN: ANN_PW}, max_request_bytes=2048) as s:
        status, headers, _ = raw_post(s, soap("<m:ResolveNames><m:UnresolvedEntry>" + "x" * 4096 +
                                              "</m:UnresolvedEntry></m:ResolveNames>"))
        assert status == 413 and headers.get("connection") == "close"
        status, _, _ = raw_post(s, soap("<m:ConvertId/>"), user=None)
        assert status == 401
        u = urllib.parse.urlparse(s.url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        c.request("GET", "/nowhere")
        assert c.getresponse().status == 404
        c.close()
        assert connect(s).contacts.name == "Contacts"


def test_a_broken_rule_predicate_does_not_kill_the_server(server, account):
    server.faults.item_errors({lambda c: 1 / 0: "ErrorItemSave"}, operation="CreateItem")
    server.outlook().ensure_folder(FOLDER)
    from exchangelib import Contact
    folder = account.contacts // FOLDER
    res = account.bulk_create(folder=folder, items=[Contact(folder=folder, display_name="fine")])
    assert len(res) == 1 and not isinstance(res[0], Exception)


def test_an_internal_error_is_a_fault_not_a_dead_server(server, account, monkeypatch):
    from bcsync_tui.ewsserver import server as server_module

    def boom(ctx, body):
        raise RuntimeError("bug")
    monkeypatch.setitem(server_module.HANDLERS, "ResolveNames", boom)
    status, _, body = raw_post(server, soap("<m:ResolveNames><m:UnresolvedEntry>a</m:UnresolvedEntry>"
                                            "</m:ResolveNames>"))
    assert_fault(status, body, "ErrorInternalServerError")
    assert account.contacts.name == "Contacts"
