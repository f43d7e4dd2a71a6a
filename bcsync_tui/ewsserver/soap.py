"""SOAP envelope, faults and the small XML toolkit the loopback server is built on.

Requests are parsed with defusedxml (no DTDs, no entity expansion, no external references).
Responses are built as ``xml.etree`` elements and written by :func:`serialize`, which uses the
prefixes real Exchange uses (``s:``, ``m:``, ``t:``) so a captured response looks like the real thing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Iterable

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _safe_fromstring

SOAPNS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12NS = "http://www.w3.org/2003/05/soap-envelope"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
XMLNS_XML = "http://www.w3.org/XML/1998/namespace"

PREFIXES = {SOAPNS: "s", MNS: "m", TNS: "t", ENS: "e"}

#: The build a real Exchange Server 2019 CU12 reports (15.2.1118.7, April 2022; Microsoft's "Exchange
#: Server build numbers and release dates" page). Exchange 2016 CU23 would be 15.1.2507.6. Both report the
#: schema version "V2017_07_11", which exchangelib recognises as a bogus request version and replaces with
#: the one it asked for (version.py, ``Version._is_invalid_version_string``), exactly as with a real server.
DEFAULT_BUILD = (15, 2, 1118, 7)
DEFAULT_SCHEMA_VERSION = "V2017_07_11"

#: RequestServerVersion values an Exchange 2016/2019 server accepts (ExchangeVersionType in types.xsd).
ACCEPTED_REQUEST_VERSIONS = frozenset({
    "Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2",
    "Exchange2013", "Exchange2013_SP1", "Exchange2015", "Exchange2016", "V2015_10_05", "V2016_01_06",
    "V2016_04_13", "V2016_07_13", "V2016_10_10", "V2017_01_07", "V2017_04_14", "V2017_07_11",
})


def t(local: str) -> str:
    return f"{{{TNS}}}{local}"


def m(local: str) -> str:
    return f"{{{MNS}}}{local}"


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def ns_of(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def el(tag: str, attrs: dict | None = None, text: str | None = None, children: Iterable | None = None) -> ET.Element:
    """Build an element; ``tag`` is a Clark name (``{ns}local``)."""
    e = ET.Element(tag, {k: str(v) for k, v in attrs.items()} if attrs else {})
    if text is not None:
        e.text = text
    if children:
        for c in children:
            if c is not None:
                e.append(c)
    return e


def sub(parent: ET.Element, tag: str, attrs: dict | None = None, text: str | None = None) -> ET.Element:
    e = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()} if attrs else {})
    if text is not None:
        e.text = text
    return e


def child(elem: ET.Element | None, tag: str) -> ET.Element | None:
    return None if elem is None else elem.find(tag)


def child_text(elem: ET.Element | None, tag: str, default: str | None = None) -> str | None:
    c = None if elem is None else elem.find(tag)
    if c is None:
        return default
    return c.text if c.text is not None else ""


# --- errors ---------------------------------------------------------------------------------------

class EwsError(Exception):
    """A per-item (ResponseMessage) error: ResponseClass="Error" with this ResponseCode."""

    def __init__(self, code: str, text: str = "", *, message_xml: ET.Element | None = None,
                 response_class: str = "Error"):
        super().__init__(f"{code}: {text}")
        self.code, self.text, self.message_xml, self.response_class = code, text, message_xml, response_class


class SoapFault(Exception):
    """A request-level error, answered with an HTTP 500 and a SOAP Fault (as Exchange does)."""

    def __init__(self, code: str, text: str, *, message_xml: ET.Element | None = None, status: int = 500):
        super().__init__(f"{code}: {text}")
        self.code, self.text, self.message_xml, self.status = code, text, message_xml, status


def backoff_xml(backoff_ms: int) -> ET.Element:
    mx = el(t("MessageXml"))
    sub(mx, t("Value"), {"Name": "BackOffMilliseconds"}, str(int(backoff_ms)))
    return mx


def schema_error(violation: str, line: int = 1, position: int = 1) -> SoapFault:
    mx = el(t("MessageXml"))
    sub(mx, t("LineNumber"), text=str(line))
    sub(mx, t("LinePosition"), text=str(position))
    sub(mx, t("Violation"), text=violation)
    return SoapFault("ErrorSchemaValidation", "The request failed schema validation: " + violation, message_xml=mx)


# --- serialisation --------------------------------------------------------------------------------

def _esc_text(s: str) -> str:
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    if "\r" in s:
        s = s.replace("\r", "&#13;")
    return s


def _esc_attr(s: str) -> str:
    s = _esc_text(s)
    if '"' in s:
        s = s.replace('"', "&quot;")
    if "\n" in s:
        s = s.replace("\n", "&#10;")
    if "\t" in s:
        s = s.replace("\t", "&#9;")
    return s


def _write(e: ET.Element, out: list, declared: dict) -> None:
    tag = e.tag
    extra = ""
    if tag[0] == "{":
        ns, loc = tag[1:].split("}", 1)
        prefix = declared.get(ns)
        if prefix is None:
            prefix = PREFIXES.get(ns) or f"ns{len(declared)}"
            declared = dict(declared)
            declared[ns] = prefix
            extra = f' xmlns:{prefix}="{_esc_attr(ns)}"'
        name = f"{prefix}:{loc}"
    else:
        name = tag
    out.append("<" + name + extra)
    for k, v in e.attrib.items():
        if k[0] == "{":
            ns, loc = k[1:].split("}", 1)
            prefix = declared.get(ns)
            if prefix is None:
                prefix = PREFIXES.get(ns) or f"ns{len(declared)}"
                declared = dict(declared)
                declared[ns] = prefix
                out.append(f' xmlns:{prefix}="{_esc_attr(ns)}"')
            k = f"{prefix}:{loc}"
        out.append(f' {k}="{_esc_attr(v)}"')
    if len(e) == 0 and not e.text:
        out.append("/>")
    else:
        out.append(">")
        if e.text:
            out.append(_esc_text(e.text))
        for c in e:
            _write(c, out, declared)
            if c.tail:
                out.append(_esc_text(c.tail))
        out.append("</" + name + ">")


def serialize(e: ET.Element, declared: dict | None = None) -> str:
    """Serialise an element; namespaces already in ``declared`` (ns → prefix) are not re-declared."""
    out: list[str] = []
    d = {XMLNS_XML: "xml"}
    if declared:
        d.update(declared)
    _write(e, out, d)
    return "".join(out)


def serialize_standalone(e: ET.Element) -> str:
    """Serialise with its own namespace declarations (for persistence)."""
    return serialize(e, {})


def envelope(body: ET.Element | None, *, build: tuple = DEFAULT_BUILD, schema_version: str = DEFAULT_SCHEMA_VERSION,
             fault: ET.Element | None = None) -> bytes:
    """A complete SOAP response. ``body`` is an ``m:XxxResponse`` element (declares m: and t:)."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<s:Envelope xmlns:s="{SOAPNS}">']
    if body is not None:
        major, minor, mbuild, mminor = build
        parts.append(
            f'<s:Header><h:ServerVersionInfo MajorVersion="{major}" MinorVersion="{minor}" '
            f'MajorBuildNumber="{mbuild}" MinorBuildNumber="{mminor}" Version="{schema_version}" '
            f'xmlns:h="{TNS}" xmlns="{TNS}" xmlns:xsi="{XSI}" xmlns:xsd="{XSD}"/></s:Header>')
        parts.append(f'<s:Body xmlns:xsi="{XSI}" xmlns:xsd="{XSD}">')
        parts.append(f'<m:{local_name(body.tag)} xmlns:m="{MNS}" xmlns:t="{TNS}">')
        declared = {SOAPNS: "s", MNS: "m", TNS: "t"}
        for c in body:
            parts.append(serialize(c, declared))
        parts.append(f"</m:{local_name(body.tag)}>")
        parts.append("</s:Body>")
    else:
        parts.append("<s:Body>")
        parts.append(serialize(fault, {SOAPNS: "s"}))
        parts.append("</s:Body>")
    parts.append("</s:Envelope>")
    return "".join(parts).encode("utf-8")


def fault_envelope(code: str, text: str, message_xml: ET.Element | None = None) -> bytes:
    """The SOAP fault Exchange sends, e.g. ErrorServerBusy with BackOffMilliseconds (see exchangelib
    ``EWSService._raise_soap_errors``: ``detail/e:ResponseCode``, ``detail/e:Message``, ``detail/t:MessageXml``)."""
    f = el(f"{{{SOAPNS}}}Fault")
    fc = sub(f, "faultcode", text=f"a:{code}")
    fc.set("xmlns:a", TNS)  # written verbatim by serialize (a plain attribute)
    fs = sub(f, "faultstring", text=text)
    fs.set(f"{{{XMLNS_XML}}}lang", "en-US")
    detail = sub(f, "detail")
    sub(detail, f"{{{ENS}}}ResponseCode", text=code)
    sub(detail, f"{{{ENS}}}Message", text=text)
    if message_xml is not None:
        detail.append(message_xml)
    return envelope(None, fault=f)


# --- parsing --------------------------------------------------------------------------------------

class Request:
    """A parsed SOAP request."""

    __slots__ = ("operation", "body", "header", "request_version", "impersonate")

    def __init__(self, operation: str, body: ET.Element, header: ET.Element | None):
        self.operation, self.body, self.header = operation, body, header
        rsv = child(header, t("RequestServerVersion"))
        self.request_version = rsv.get("Version") if rsv is not None else "Exchange2007"
        self.impersonate = None
        imp = child(header, t("ExchangeImpersonation"))
        if imp is not None:
            sid = imp.find(t("ConnectingSID"))
            vals = [c.text for c in (sid if sid is not None else [])]
            self.impersonate = (vals[0] if vals else "") or ""


def parse_request(data: bytes) -> Request:
    """Parse a SOAP request. Raises SoapFault (ErrorSchemaValidation) on anything malformed or hostile."""
    try:
        root = _safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise schema_error(f"DTD is prohibited in this XML document ({e.__class__.__name__}).") from None
    except ET.ParseError as e:
        line, col = getattr(e, "position", (1, 1))
        raise schema_error(f"The XML is not well-formed: {e}", line, col) from None
    except (ValueError, UnicodeError) as e:
        raise schema_error(f"The XML could not be read: {e}") from None
    if root.tag not in (f"{{{SOAPNS}}}Envelope", f"{{{SOAP12NS}}}Envelope"):
        raise schema_error(f"The root element must be a SOAP Envelope, not {local_name(root.tag)!r}.")
    ns = ns_of(root.tag)
    header = root.find(f"{{{ns}}}Header")
    body = root.find(f"{{{ns}}}Body")
    if body is None or len(body) == 0:
        raise schema_error("The SOAP Body is missing or empty.")
    op = body[0]
    if ns_of(op.tag) != MNS:
        raise schema_error(f"The element {op.tag!r} is not an EWS operation.")
    return Request(local_name(op.tag), op, header)
