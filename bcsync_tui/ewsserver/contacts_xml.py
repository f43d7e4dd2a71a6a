"""Items as XML: the schema facts, validation of new items, UpdateItem changes and extended properties.

An item keeps every top-level element the client sent, verbatim (unknown ones too, so nothing is ever
lost), keyed by local name. Indexed collections (EmailAddresses, PhoneNumbers, PhysicalAddresses,
ImAddresses) are stored as their container element with one ``Entry`` per key. Read-only properties
(ItemId, DateTimeCreated, CompleteName, ...) are computed when a response asks for them (``render``).
"""

from __future__ import annotations

import copy
import re
import uuid
import xml.etree.ElementTree as ET

from .soap import TNS, EwsError, el, local_name, ns_of, schema_error, t

# Element order of ItemType followed by ContactItemType in types.xsd (Exchange 2016/2019).
ITEM_ORDER = (
    "MimeContent ItemId ParentFolderId ItemClass Subject Sensitivity Body Attachments DateTimeReceived Size "
    "Categories Importance InReplyTo IsSubmitted IsDraft IsFromMe IsResend IsUnmodified InternetMessageHeaders "
    "DateTimeSent DateTimeCreated ResponseObjects ReminderDueBy ReminderIsSet ReminderNextTime "
    "ReminderMinutesBeforeStart DisplayCc DisplayTo HasAttachments ExtendedProperty Culture EffectiveRights "
    "LastModifiedName LastModifiedTime IsAssociated WebClientReadFormQueryString WebClientEditFormQueryString "
    "ConversationId UniqueBody Flag StoreEntryId InstanceKey NormalizedBody EntityExtractionResult PolicyTag "
    "ArchiveTag RetentionDate Preview NextPredictedAction GroupingAction PredictedActionReasons IsClutter "
    "RightsManagementLicenseData BlockStatus HasBlockedImages TextBody IconIndex SearchKey SortKey Hashtags "
    "Mentions MentionedMe MentionsPreview MentionsEx AppliedHashtags AppliedHashtagsPreview Likes LikesPreview "
    "PendingSocialActivityTagIds AtAllMention CanDelete InferenceClassification "
    "FileAs FileAsMapping DisplayName GivenName Initials MiddleName Nickname CompleteName CompanyName "
    "EmailAddresses AbchEmailAddresses PhysicalAddresses PhoneNumbers AssistantName Birthday BusinessHomePage "
    "Children Companies ContactSource Department Generation ImAddresses JobTitle Manager Mileage OfficeLocation "
    "PostalAddressIndex Profession SpouseName Surname WeddingAnniversary HasPicture PhoneticFullName "
    "PhoneticFirstName PhoneticLastName Alias Notes Photo UserSMIMECertificate MSExchangeCertificate DirectoryId "
    "ManagerMailbox DirectReports Members"
).split()
ORDER = {name: i for i, name in enumerate(ITEM_ORDER)}

INDEXED = {"EmailAddress": "EmailAddresses", "PhoneNumber": "PhoneNumbers", "PhysicalAddress": "PhysicalAddresses",
           "ImAddress": "ImAddresses"}
INDEX_KEYS = {
    "EmailAddresses": ("EmailAddress1", "EmailAddress2", "EmailAddress3"),
    "PhoneNumbers": ("AssistantPhone", "BusinessFax", "BusinessPhone", "BusinessPhone2", "Callback", "CarPhone",
                     "CompanyMainPhone", "HomeFax", "HomePhone", "HomePhone2", "Isdn", "MobilePhone", "OtherFax",
                     "OtherTelephone", "Pager", "PrimaryPhone", "RadioPhone", "Telex", "TtyTddPhone"),
    "PhysicalAddresses": ("Business", "Home", "Other"),
    "ImAddresses": ("ImAddress1", "ImAddress2", "ImAddress3"),
}
ADDRESS_PARTS = ("Street", "City", "State", "CountryOrRegion", "PostalCode")  # schema order

READ_ONLY = frozenset(
    "ItemId ParentFolderId DateTimeReceived Size IsSubmitted IsDraft IsFromMe IsResend IsUnmodified DateTimeSent "
    "DateTimeCreated ResponseObjects HasAttachments EffectiveRights LastModifiedName LastModifiedTime IsAssociated "
    "ConversationId CompleteName ContactSource HasPicture PhoneticFullName PhoneticFirstName PhoneticLastName Alias "
    "Notes Photo UserSMIMECertificate MSExchangeCertificate DirectoryId ManagerMailbox DirectReports InstanceKey "
    "WebClientReadFormQueryString WebClientEditFormQueryString DisplayCc DisplayTo UniqueBody NormalizedBody "
    "TextBody Preview StoreEntryId".split())
COMPUTED = ("ItemId", "ParentFolderId", "ItemClass", "Sensitivity", "DateTimeReceived", "Size",
            "Importance", "IsSubmitted", "IsDraft", "IsFromMe", "IsResend", "IsUnmodified", "DateTimeCreated",
            "ReminderIsSet", "HasAttachments", "Culture", "EffectiveRights", "LastModifiedName", "LastModifiedTime",
            "IsAssociated", "CompleteName", "ContactSource", "HasPicture", "PostalAddressIndex")
CONTACT_ONLY = frozenset({"CompleteName", "ContactSource", "HasPicture", "PostalAddressIndex"})
DEFAULT_ITEM_CLASS = {"Contact": "IPM.Contact", "DistributionList": "IPM.DistList", "Message": "IPM.Note",
                      "Task": "IPM.Task", "CalendarItem": "IPM.Appointment", "PostItem": "IPM.Post", "Item": "IPM"}
ITEM_TAGS = frozenset(DEFAULT_ITEM_CLASS) | {"MeetingRequest", "MeetingResponse", "MeetingCancellation"}
#: xs:boolean properties a client may set; stored as "true"/"false" as Exchange answers them.
BOOLEANS = frozenset({"ReminderIsSet", "IsRead", "IsReadReceiptRequested", "IsDeliveryReceiptRequested",
                      "IsResponseRequested", "IsAllDayEvent", "IsComplete", "IsTeamTask"})

#: Exchange keeps at most 255 characters of these (exchangelib's CharField max_length, and its
#: test_text_field_settings run against Exchange): a longer GivenName / MiddleName / Surname is refused with
#: ErrorPropertyUpdate naming the property, a longer Subject is cut to 255 characters.
MAX_NAME_CHARS = 255
REFUSED_IF_LONGER = {"GivenName": "contacts:GivenName", "MiddleName": "contacts:MiddleName",
                     "Surname": "contacts:Surname"}
CUT_IF_LONGER = frozenset({"Subject"})


def check_length(value: ET.Element) -> ET.Element:
    """The element to store for ``value``, or EwsError(ErrorPropertyUpdate) when it is too long."""
    text = value.text or ""
    if len(text) <= MAX_NAME_CHARS:
        return value
    name = local_name(value.tag)
    if name in REFUSED_IF_LONGER:
        mx = el(t("MessageXml"), children=[el(t("FieldURI"), {"FieldURI": REFUSED_IF_LONGER[name]})])
        raise EwsError("ErrorPropertyUpdate", f"The property {name} is longer than {MAX_NAME_CHARS} characters.",
                       message_xml=mx)
    if name in CUT_IF_LONGER:
        return el(value.tag, value.attrib, text[:MAX_NAME_CHARS])
    return value


# --- extended properties --------------------------------------------------------------------------

DISTINGUISHED_SETS = {
    "address": "00062004-0000-0000-c000-000000000046", "airsync": "71035549-0739-4dcb-9163-00f0580dbbdf",
    "appointment": "00062002-0000-0000-c000-000000000046", "common": "00062008-0000-0000-c000-000000000046",
    "internetheaders": "00020386-0000-0000-c000-000000000046", "log": "0006200a-0000-0000-c000-000000000046",
    "mapi": "00020328-0000-0000-c000-000000000046", "meeting": "6ed8da90-450b-101b-98da-00aa003f1305",
    "messaging": "41f28f13-83f4-4114-a584-eedb5a6b0bff", "note": "0006200e-0000-0000-c000-000000000046",
    "postrss": "00062041-0000-0000-c000-000000000046", "publicstrings": "00020329-0000-0000-c000-000000000046",
    "remote": "00062014-0000-0000-c000-000000000046", "report": "00062013-0000-0000-c000-000000000046",
    "sharing": "00062040-0000-0000-c000-000000000046", "task": "00062003-0000-0000-c000-000000000046",
    "unifiedmessaging": "4442858e-a9e3-4e80-b900-317a210cc15b", "calendarassistant":
    "11000e07-b51b-40d6-af21-caa85edab1d0",
}
PROPERTY_TYPES = frozenset(
    "ApplicationTime ApplicationTimeArray Binary BinaryArray Boolean CLSID CLSIDArray Currency CurrencyArray Double "
    "DoubleArray Error Float FloatArray Integer IntegerArray Long LongArray Null Object ObjectArray Short ShortArray "
    "SystemTime SystemTimeArray String StringArray".split())
_INT_RE = re.compile(r"^-?\d+$")


def ext_key(uri: ET.Element) -> tuple:
    """Normalised identity of an ExtendedFieldURI: ("tag", n) or ("name", set-guid, name) or ("id", set-guid, n).
    A DistinguishedPropertySetId and its GUID name the same property, as in Exchange."""
    a = uri.attrib
    bad = EwsError("ErrorInvalidExtendedProperty", "The extended property attribute combination is invalid.")
    ptype = a.get("PropertyType")
    if ptype not in PROPERTY_TYPES:
        raise schema_error(f"The 'PropertyType' attribute is invalid - The value '{ptype}' is invalid.")
    if "PropertyTag" in a:
        if any(k in a for k in ("PropertySetId", "DistinguishedPropertySetId", "PropertyName", "PropertyId")):
            raise bad
        try:
            return ("tag", int(a["PropertyTag"], 0))
        except ValueError:
            raise bad from None
    if "DistinguishedPropertySetId" in a:
        if "PropertySetId" in a:
            raise bad
        guid = DISTINGUISHED_SETS.get(a["DistinguishedPropertySetId"].lower())
        if guid is None:
            raise schema_error("The 'DistinguishedPropertySetId' attribute is invalid.")
    elif "PropertySetId" in a:
        try:
            guid = str(uuid.UUID(a["PropertySetId"]))
        except ValueError:
            raise bad from None
    else:
        raise bad
    if ("PropertyName" in a) == ("PropertyId" in a):
        raise bad
    if "PropertyName" in a:
        return ("name", guid, a["PropertyName"])
    try:
        return ("id", guid, int(a["PropertyId"], 0))
    except ValueError:
        raise bad from None


def ext_friendly(key: tuple) -> str:
    if key[0] == "tag":
        return f"0x{key[1]:04x}"
    if key[0] == "name":
        return key[2]
    return f"{key[1]}:{key[2]}"


def check_ext_value(prop: ET.Element) -> None:
    uri = prop.find(t("ExtendedFieldURI"))
    ptype = uri.get("PropertyType", "") if uri is not None else ""
    values = prop.findall(t("Value")) + [v for vs in prop.findall(t("Values")) for v in vs]
    if not values:
        raise EwsError("ErrorInvalidExtendedPropertyValue", "The extended property value is missing.")
    base = ptype[:-5] if ptype.endswith("Array") else ptype
    for v in values:
        text = v.text or ""
        ok = True
        if base in ("Integer", "Long", "Short", "Currency"):
            ok = bool(_INT_RE.match(text.strip()))
        elif base == "Boolean":
            ok = text.strip().lower() in ("true", "false", "0", "1")
        elif base in ("Double", "Float", "ApplicationTime"):
            try:
                float(text)
            except ValueError:
                ok = False
        if not ok:
            raise EwsError("ErrorInvalidExtendedPropertyValue",
                           f"The value '{text}' is not valid for an extended property of type {ptype}.")


# --- new items --------------------------------------------------------------------------------------

def _normalise_indexed(container: ET.Element) -> ET.Element:
    name = local_name(container.tag)
    keys = INDEX_KEYS[name]
    entries: dict[str, ET.Element] = {}
    for entry in container:
        if entry.tag != t("Entry"):
            raise schema_error(f"The element '{local_name(entry.tag)}' is invalid in {name}.")
        key = entry.get("Key")
        if key not in keys:
            raise schema_error(f"The 'Key' attribute is invalid - The value '{key}' is invalid in {name}.")
        entries[key] = entry  # a repeated key: the last one wins
    out = el(container.tag, container.attrib)
    for key in keys:
        if key in entries:
            out.append(entries[key])
    return out


def _normalise_bool(e: ET.Element) -> ET.Element:
    value = (e.text or "").strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise schema_error(f"The value '{e.text}' is invalid for the boolean element '{local_name(e.tag)}'.")
    return el(e.tag, e.attrib, "true" if value in ("true", "1") else "false")


def parse_new_item(elem: ET.Element) -> tuple[str, dict, dict]:
    """Validate an item element of CreateItem; returns (tag, props, ext). Raises SoapFault for schema
    violations (the whole request fails, as schema validation does) and EwsError for item errors."""
    if ns_of(elem.tag) != TNS or local_name(elem.tag) not in ITEM_TAGS:
        raise schema_error(f"The element '{local_name(elem.tag)}' is not a valid item.")
    props: dict[str, ET.Element] = {}
    ext: dict[tuple, ET.Element] = {}
    for c in elem:
        name = local_name(c.tag)
        if ns_of(c.tag) != TNS:
            raise schema_error(f"The element '{c.tag}' is invalid in {local_name(elem.tag)}.")
        if name == "ExtendedProperty":
            uri = c.find(t("ExtendedFieldURI"))
            if uri is None:
                raise schema_error("ExtendedProperty without ExtendedFieldURI.")
            ext[ext_key(uri)] = c
            continue
        if name in READ_ONLY:
            raise EwsError("ErrorInvalidPropertySet", f"Set action is invalid for property '{name}'.")
        if name in INDEX_KEYS:
            c = _normalise_indexed(c)
            if len(c) == 0:
                continue
        props[name] = _normalise_bool(c) if name in BOOLEANS else check_length(c)
    return local_name(elem.tag), props, ext


def validate_ext(ext: dict) -> None:
    for prop in ext.values():
        check_ext_value(prop)


# --- UpdateItem -----------------------------------------------------------------------------------

def path_of(change: ET.Element) -> ET.Element:
    for c in change:
        if local_name(c.tag) in ("FieldURI", "IndexedFieldURI", "ExtendedFieldURI"):
            return c
    raise schema_error(f"{local_name(change.tag)} needs a FieldURI, IndexedFieldURI or ExtendedFieldURI.")


def uri_element(uri: str) -> str:
    """The element name a FieldURI addresses: 'contacts:DisplayName' -> 'DisplayName'."""
    name = uri.split(":", 1)[-1]
    return INDEXED.get(name, name)


def _the_value(change: ET.Element, path: ET.Element) -> ET.Element:
    holders = [c for c in change if c is not path]
    if len(holders) != 1 or local_name(holders[0].tag) not in ITEM_TAGS:
        raise schema_error("SetItemField needs exactly one item element holding the new value.")
    holder = holders[0]
    if len(holder) != 1:
        raise EwsError("ErrorIncorrectUpdatePropertyCount", "An object within a change description must contain "
                       "one and only one property to modify.")
    return holder[0]


def apply_change(props: dict, ext: dict, change: ET.Element) -> None:
    """Apply one SetItemField / AppendToItemField / DeleteItemField to copies of an item's props and ext."""
    kind = local_name(change.tag)
    path = path_of(change)
    ptag = local_name(path.tag)
    if ptag == "ExtendedFieldURI":
        key = ext_key(path)
        if kind == "DeleteItemField":
            ext.pop(key, None)
            return
        if kind == "AppendToItemField":
            raise EwsError("ErrorInvalidPropertyAppend", "The property does not support append.")
        value = _the_value(change, path)
        if local_name(value.tag) != "ExtendedProperty" or value.find(t("ExtendedFieldURI")) is None:
            raise EwsError("ErrorUpdatePropertyMismatch", "The property being updated does not match the path.")
        if ext_key(value.find(t("ExtendedFieldURI"))) != key:
            raise EwsError("ErrorUpdatePropertyMismatch", "The property being updated does not match the path.")
        check_ext_value(value)
        ext[key] = value
        return
    uri = path.get("FieldURI") or ""
    name = uri_element(uri)
    if ptag == "IndexedFieldURI":
        _apply_indexed(props, change, path, kind, uri)
        return
    if name in READ_ONLY or name in ("ItemId",):
        code = "ErrorInvalidPropertyDelete" if kind == "DeleteItemField" else "ErrorInvalidPropertySet"
        raise EwsError(code, f"The property '{uri}' is read-only.")
    if kind == "DeleteItemField":
        props.pop(name, None)
        return
    value = _the_value(change, path)
    if local_name(value.tag) != name:
        raise EwsError("ErrorUpdatePropertyMismatch", f"The property being updated does not match {uri}.")
    if kind == "AppendToItemField":
        if name != "Body":
            raise EwsError("ErrorInvalidPropertyAppend", f"The property '{uri}' does not support append.")
        old = props.get("Body")
        if old is not None:
            value = copy.copy(value)
            value.text = (old.text or "") + (value.text or "")
    if name in INDEX_KEYS:
        value = _normalise_indexed(value)
    elif name in BOOLEANS:
        value = _normalise_bool(value)
    else:
        value = check_length(value)
    props[name] = value


def _apply_indexed(props: dict, change: ET.Element, path: ET.Element, kind: str, uri: str) -> None:
    parts = uri.split(":")
    field = parts[1] if len(parts) > 1 else ""
    container_name = INDEXED.get(field)
    key = path.get("FieldIndex")
    subfield = parts[2] if len(parts) > 2 else None
    if container_name is None or key not in INDEX_KEYS[container_name]:
        raise schema_error(f"The indexed field URI '{uri}' with index '{key}' is invalid.")
    if (container_name == "PhysicalAddresses") != (subfield is not None) or (subfield and subfield not in
                                                                                ADDRESS_PARTS):
        raise schema_error(f"The indexed field URI '{uri}' is invalid.")
    if kind == "AppendToItemField":
        raise EwsError("ErrorInvalidPropertyAppend", f"The property '{uri}' does not support append.")
    container = props.get(container_name)
    container = copy.copy(container) if container is not None else el(t(container_name))
    entries = {e.get("Key"): e for e in container}
    if kind == "DeleteItemField":
        if subfield is None:
            entries.pop(key, None)
        elif key in entries:
            entry = copy.copy(entries[key])
            for c in list(entry):
                if local_name(c.tag) == subfield:
                    entry.remove(c)
            if len(entry):
                entries[key] = entry
            else:
                del entries[key]
    else:
        value = _the_value(change, path)
        if local_name(value.tag) != container_name or len(value) != 1 or value[0].get("Key") != key:
            raise EwsError("ErrorUpdatePropertyMismatch", f"The property being updated does not match {uri}.")
        new_entry = value[0]
        if subfield is None:
            entries[key] = new_entry
        else:
            vals = [c for c in new_entry if local_name(c.tag) == subfield]
            if len(vals) != 1 or len(new_entry) != 1:
                raise EwsError("ErrorIncorrectUpdatePropertyCount", "Exactly one address part must be set.")
            old = entries.get(key)
            parts_by_name = {local_name(c.tag): c for c in (old if old is not None else [])}
            parts_by_name[subfield] = vals[0]
            entry = el(t("Entry"), {"Key": key})
            for p in ADDRESS_PARTS:
                if p in parts_by_name:
                    entry.append(parts_by_name[p])
            entries[key] = entry
    out = el(t(container_name))
    for k in INDEX_KEYS[container_name]:
        if k in entries:
            out.append(entries[k])
    if len(out):
        props[container_name] = out
    else:
        props.pop(container_name, None)
