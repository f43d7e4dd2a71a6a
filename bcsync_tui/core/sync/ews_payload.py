"""CreateItem for contacts with the item XML written straight as text: part of the EWS adapter.

exchangelib turns each Contact into XML through its generic machinery (``clean()`` then ``to_xml()``
of every field, indexed entries as full models): ~1 ms of CPU per contact, most of a first sync's.
Here each contact's ``t:Contact`` element is written as text, field by field in the order of
``supported_fields(version)``, with exchangelib's own text rule (``safe_xml_value``, which replaces
characters XML cannot carry) and lxml's escaping: the bytes exchangelib sends, which tests/unit/
test_ews_payload_lxml.py checks on random contacts against exchangelib's own request. A field of a
kind not handled here is rendered by exchangelib's ``to_xml`` and serialised by lxml as part of the
same document, so nothing is ever dropped.

The request is still exchangelib's CreateItem service: its SOAP envelope (built and serialised by
exchangelib, the items put in place of a marker), session, auth, retries and pooling. Only the item
elements and the reading of the answer (an id and change key per item, not a model object) are lean.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from exchangelib import Contact
from exchangelib.fields import (CharField, ExtendedPropertyField, FieldURIField, IndexedField, IntegerField,
                                NamedSubField)
from exchangelib.indexed_properties import MultiFieldIndexedElement, SingleFieldIndexedElement
from exchangelib.items import SAVE_ONLY, SEND_TO_NONE
from exchangelib.services import CreateItem
from exchangelib.services.common import folder_ids_element
from exchangelib.util import TNS, create_element, safe_xml_value, value_to_xml_text
from lxml import etree

#: appends one field's XML text, holding the value, to the item's parts
Render = Callable[[list[str], Any], None]
#: the constructors of an e-mail, a phone and a physical-address entry (exchangelib's or the lean ones)
Entries = tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]
_SCALARS = (str, bool, int)
_ITEM_ID = f"{{{TNS}}}ItemId"
#: what stands for the items in the envelope exchangelib serialises, until they are put in its place
_MARKER = f"bcsync-items-{uuid.uuid4().hex}"
_NS_MAP = CreateItem.NS_MAP


def _escape(text: str) -> str:
    """Text as lxml writes it in an element (``&``, ``<``, ``>`` and CR escaped)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _text(value: Any) -> str:
    """``value_to_xml_text`` for the types contacts hold, escaped, without its per-call checks."""
    kind = type(value)
    if kind is str:
        # printable text holds none of the characters safe_xml_value replaces (controls, U+FDD0-FDDF, U+FFFE/F)
        return _escape(value if value.isprintable() else safe_xml_value(value))
    if kind is bool:
        return "1" if value else "0"
    if kind is int:
        return str(value)
    return _escape(value_to_xml_text(value))


def _fragment(elem: Any) -> str:
    """An element exchangelib built, as text, exactly as it is written inside the request."""
    holder = create_element("s:Envelope", nsmap=_NS_MAP)
    holder.append(elem)
    whole: str = etree.tostring(holder, encoding="unicode")
    return whole[whole.index(">") + 1:whole.rindex("</")]


def _prefixed(tag: str) -> str:
    """``t:Tag`` for a ``{namespace}Tag`` of the types namespace."""
    assert tag.startswith(f"{{{TNS}}}")
    return "t:" + tag[len(TNS) + 2:]


def _generic(field: Any, version: Any) -> Render:
    def render(parts: list[str], value: Any) -> None:
        parts.append(_fragment(field.to_xml(value, version=version)))
    return render


def _text_field(tag: str, field: Any, version: Any) -> Render:
    limit = field.max_length if isinstance(field, CharField) else None
    open_, close = f"<{tag}>", f"</{tag}>"
    empty = f"<{tag}></{tag}>"
    generic = _generic(field, version)

    def render(parts: list[str], value: Any) -> None:
        if type(value) not in _SCALARS:
            generic(parts, value)
            return
        if limit is not None and isinstance(value, str) and len(value) > limit:
            field.clean(value)  # raises exchangelib's own error for a value too long
        text = _text(value)
        parts.append(f"{open_}{text}{close}" if text else empty)
    return render


def _single_entries(tag: str, value_attr: str) -> Render:
    def render(parts: list[str], entries: Any) -> None:
        parts.append(f"<{tag}>")
        for entry in entries:
            text = _text(getattr(entry, value_attr))
            parts.append(f'<t:Entry Key="{entry.label}">{text}</t:Entry>' if text else f'<t:Entry Key="{entry.label}"/>')
        parts.append(f"</{tag}>")
    return render


def _multi_entries(tag: str, subfields: list[tuple[str, str]]) -> Render:
    def render(parts: list[str], entries: Any) -> None:
        parts.append(f"<{tag}>")
        for entry in entries:
            subs = []
            for attr, sub_tag in subfields:
                value = getattr(entry, attr)
                if value is not None:
                    text = _text(value)
                    subs.append(f"<{sub_tag}>{text}</{sub_tag}>" if text else f"<{sub_tag}></{sub_tag}>")
            key = f'<t:Entry Key="{entry.label}"'
            parts.append(f'{key}>{"".join(subs)}</t:Entry>' if subs else f"{key}/>")
        parts.append(f"</{tag}>")
    return render


def _extended(field: Any, version: Any) -> Render:
    marker = f"bcsync-value-{uuid.uuid4().hex}"
    template = field.to_xml(marker, version=version)
    text = _fragment(template)
    generic = _generic(field, version)
    if len(template.findall(f"{{{TNS}}}Value")) != 1 or text.count(marker) != 1:
        return generic
    before, after = text.split(marker)

    def render(parts: list[str], value: Any) -> None:
        if not isinstance(value, str):
            generic(parts, value)
            return
        parts.append(f"{before}{_text(value)}{after}")
    return render


def _renderer(field: Any, version: Any) -> Render:
    """The fastest correct way to write this field's element."""
    if isinstance(field, ExtendedPropertyField):
        return _extended(field, version)
    if isinstance(field, IndexedField):
        cls = field.value_cls
        tag = f"t:{field.PARENT_ELEMENT_NAME}"
        if issubclass(cls, SingleFieldIndexedElement):
            return _single_entries(tag, cls.value_field(version=version).name)
        if issubclass(cls, MultiFieldIndexedElement):
            subs = [(f.name, f"t:{f.field_uri}") for f in cls.supported_fields(version=version)
                    if isinstance(f, NamedSubField)]
            return _multi_entries(tag, subs)
    # Plain value fields whose to_xml is "an element holding the value's text" (not enums as ints).
    if isinstance(field, FieldURIField) and type(field).to_xml in (FieldURIField.to_xml, IntegerField.to_xml):
        return _text_field(f"t:{field.field_uri_postfix}", field, version)
    return _generic(field, version)


class _LeanEntry:
    """An indexed entry as the renderers read it (label and value attributes; unset ones are None),
    without exchangelib's per-object field machinery (~40 µs per entry)."""

    label = email = phone_number = street = city = state = zipcode = country = None

    def __init__(self, **values: Any):
        self.__dict__.update(values)


LEAN_ENTRIES: Entries = (_LeanEntry, _LeanEntry, _LeanEntry)


def new_values_class(model: type[Contact]) -> type:
    """A plain class with one attribute per field of ``model``, all None until set: what a create
    fills instead of a ``model`` instance (~110 µs less each). ``ContactXml`` renders it as the model."""
    return type(f"{model.__name__}Values", (), {f.name: None for f in model.FIELDS})


class ItemRef(tuple[str, str]):
    """An item's id and change key read straight from its ``t:ItemId`` element."""

    @property
    def id(self) -> str:
        return self[0]

    @property
    def changekey(self) -> str:
        return self[1]

    @classmethod
    def of(cls, elem: Any) -> ItemRef:
        return cls((elem.get("Id"), elem.get("ChangeKey")))


class ContactXml:
    """Writes Contact objects (or a subclass's, or ``new_values_class`` ones) for one server version,
    as exchangelib would."""

    def __init__(self, model: type[Contact], version: Any):
        self.tag = _prefixed(f"{{{TNS}}}{model.ELEMENT_NAME}")
        self.model = model
        # (name, field, the text of its default or None when required, renderer, is a list)
        self.fields: list[tuple[str, Any, str | None, Render, bool]] = []
        for f in model.supported_fields(version=version):
            if f.is_read_only:
                continue
            render = _renderer(f, version)
            # exchangelib's clean() gives a field left None its default (Sensitivity Normal, ...):
            # the same text for every contact, written once here
            default_text = None
            if not f.is_required:
                default_parts: list[str] = []
                if f.default is not None and not (f.is_list and not f.default):
                    render(default_parts, f.default)
                default_text = "".join(default_parts)
            self.fields.append((f.name, f, default_text, render, f.is_list))
        if any(not f.is_read_only for f in model.attribute_fields()):
            raise TypeError(f"{model.__name__} has XML attributes this renderer does not write")

    def text(self, item: Any) -> str:
        parts = [f"<{self.tag}>"]
        for name, field, default_text, render, is_list in self.fields:
            value = getattr(item, name)
            if value is None:
                if default_text is not None:
                    if default_text:
                        parts.append(default_text)
                    continue
                value = field.clean(None)  # a required field: raises exchangelib's error
            if value is None or (is_list and not value):
                continue
            render(parts, value)
        if len(parts) == 1:
            return f"<{self.tag}/>"
        parts.append(f"</{self.tag}>")
        return "".join(parts)


_RENDERERS: dict[tuple[type, str], ContactXml] = {}


def contact_xml(model: type[Contact], version: Any) -> ContactXml:
    key = (model, version.api_version)
    if key not in _RENDERERS:
        _RENDERERS[key] = ContactXml(model, version)
    return _RENDERERS[key]


class CreateContacts(CreateItem):
    """exchangelib's CreateItem for contacts written as text (``model``'s fields), answering
    (id, change key) per item."""

    def __init__(self, *args: Any, model: type[Contact] = Contact, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.model = model
        self._items_xml = ""

    def get_payload(self, items: list[Any], folder: Any, message_disposition: str,
                    send_meeting_invitations: str) -> Any:
        render = contact_xml(self.model, self.account.version)
        self._items_xml = "".join(render.text(item) for item in items)
        payload = create_element(f"m:{self.SERVICE_NAME}", attrs=dict(
            MessageDisposition=message_disposition, SendMeetingInvitations=send_meeting_invitations))
        payload.append(folder_ids_element(folders=[folder], version=self.account.version, tag="m:SavedItemFolderId"))
        item_elems = create_element("m:Items")
        item_elems.text = _MARKER
        payload.append(item_elems)
        return payload

    def wrap(self, content: Any, api_version: Any = None) -> bytes:
        data: bytes = super().wrap(content=content, api_version=api_version)
        marker = _MARKER.encode()
        if self._items_xml and data.count(marker) == 1:
            data = data.replace(marker, self._items_xml.encode("utf-8"))
        return data

    def _elem_to_obj(self, elem: Any) -> Any:
        if isinstance(elem, bool):
            return elem
        found = elem.find(_ITEM_ID)
        if found is None:
            return None, None  # what exchangelib's BulkCreateResult holds then
        return ItemRef.of(found)


def create_contacts(account: Any, folder: Any, contacts: list[Any], model: type[Contact] | None = None) -> list[Any]:
    """CreateItem of ``contacts`` in ``folder`` (SaveOnly), one request: per item an exception or
    ``(item_id, change_key)``, like ``account.bulk_create`` but without its per-field machinery.
    ``contacts`` are ``model`` instances, or ``new_values_class(model)`` ones (``model`` named)."""
    service = CreateContacts(account=account, chunk_size=len(contacts), model=model or type(contacts[0]))
    return list(service.call(items=contacts, folder=folder, message_disposition=SAVE_ONLY,
                             send_meeting_invitations=SEND_TO_NONE))
