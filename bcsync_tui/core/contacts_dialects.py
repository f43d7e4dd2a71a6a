"""The CSV layouts people have, by their header: Outlook's export (English, French, German,
Norwegian), Google Contacts (current and older), Business Central's contact list and our own.

Each layout maps a header cell to a role: a master field key, ``street``/``street2`` (the business
street lines: the first becomes Address, the others Address 2), ``DERIVED`` (computed from other
columns, e.g. an e-mail display name: not data), ``DEFAULTED`` (Outlook writes a placeholder such as
"Normal" or "0/0/00" into every row: only other values are data) or ``UNKEPT`` (a known column the
master has no field for: its values make the import refuse unless the user ignores the column).
Google's numbered groups ("Phone 2 - Value" with its label) are routed in ``contacts_csv``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import model

UNKEPT = ""
DERIVED = "=derived"
DEFAULTED = "=default"
STREET = "street"
STREET2 = "street2"

#: what Outlook writes into columns it has no value for (compared case-insensitively)
OUTLOOK_PLACEHOLDERS = frozenset({
    "0/0/00", "00/00/00", "0.0.00", "00.00.00", "0-0-00", "00.00.0000", "0/0/0000",
    "unspecified", "normal", "false", "keine angabe", "falsch", "non spécifié", "faux",
    "ikke angitt", "usann", "ikke oppgitt", "normale", "aus",
})


@dataclass(frozen=True)
class Dialect:
    key: str
    label: str
    #: folded header → roles for its first, second, ... occurrence (Outlook French has two "Titre")
    columns: dict[str, tuple[str, ...]]
    #: numbered Google groups ("E-mail 1 - Value") are part of this layout
    google_groups: bool = False


def fold(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split()).casefold()


def _table(*entries: tuple[str, str | tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for name, role in entries:
        out[fold(name)] = role if isinstance(role, tuple) else (role,)
    return out


def _unkept(*names: str) -> list[tuple[str, str | tuple[str, ...]]]:
    return [(n, UNKEPT) for n in names]


def _roles(role: str, *names: str) -> list[tuple[str, str | tuple[str, ...]]]:
    return [(n, role) for n in names]


OUTLOOK_EN = Dialect("outlook-en", "Outlook CSV (English)", _table(
    ("First Name", "first_name"), ("Middle Name", "middle_name"), ("Last Name", "surname"),
    ("Company", "company_name"), ("Job Title", "job_title"), ("Initials", "initials"),
    ("Business Street", STREET), ("Business Street 2", STREET2), ("Business Street 3", STREET2),
    ("Business City", "city"), ("Business State", "county"), ("Business Postal Code", "post_code"),
    ("Business Country/Region", "country_code"), ("Business Phone", "phone"), ("Mobile Phone", "mobile_phone"),
    ("Business Fax", "fax"), ("E-mail Address", "email"), ("E-mail 2 Address", "email2"), ("Web Page", "home_page"),
    *_roles(DERIVED, "E-mail Type", "E-mail Display Name", "E-mail 2 Type", "E-mail 2 Display Name",
            "E-mail 3 Type", "E-mail 3 Display Name"),
    *_roles(DEFAULTED, "Anniversary", "Birthday", "Gender", "Priority", "Private", "Sensitivity"),
    *_unkept("Title", "Suffix", "Nickname", "Given Yomi", "Surname Yomi", "Company Yomi", "Department",
             "Home Street", "Home Street 2", "Home Street 3", "Home City", "Home State", "Home Postal Code",
             "Home Country/Region", "Other Street", "Other Street 2", "Other Street 3", "Other City",
             "Other State", "Other Postal Code", "Other Country/Region", "Assistant's Phone",
             "Business Phone 2", "Callback", "Car Phone", "Company Main Phone", "Home Fax", "Home Phone",
             "Home Phone 2", "ISDN", "Other Fax", "Other Phone", "Pager", "Primary Phone", "Radio Phone",
             "TTY/TDD Phone", "Telex", "IMAddress", "Account", "Assistant's Name", "Billing Information",
             "Business Address PO Box", "Categories", "Children", "Directory Server", "E-mail 3 Address",
             "Government ID Number", "Hobby", "Home Address PO Box", "Internet Free Busy", "Keywords",
             "Language", "Location", "Manager's Name", "Mileage", "Notes", "Office Location",
             "Organizational ID Number", "Other Address PO Box", "Profession", "Referred By", "Spouse",
             "Schools", "Personal Web Page", "User 1", "User 2", "User 3", "User 4"),
))

OUTLOOK_DE = Dialect("outlook-de", "Outlook CSV (German)", _table(
    ("Vorname", "first_name"), ("Weitere Vornamen", "middle_name"), ("Nachname", "surname"),
    ("Firma", "company_name"), ("Position", "job_title"), ("Initialen", "initials"),
    ("Straße geschäftlich", STREET), ("Straße geschäftlich 2", STREET2), ("Straße geschäftlich 3", STREET2),
    ("Ort geschäftlich", "city"), ("Region geschäftlich", "county"), ("Postleitzahl geschäftlich", "post_code"),
    ("Land/Region geschäftlich", "country_code"), ("Telefon geschäftlich", "phone"), ("Mobiltelefon", "mobile_phone"),
    ("Fax geschäftlich", "fax"), ("E-Mail-Adresse", "email"), ("E-Mail 2: Adresse", "email2"), ("Webseite", "home_page"),
    *_roles(DERIVED, "E-Mail-Typ", "E-Mail: Angezeigter Name", "E-Mail 2: Typ", "E-Mail 2: Angezeigter Name",
            "E-Mail 3: Typ", "E-Mail 3: Angezeigter Name"),
    *_roles(DEFAULTED, "Geburtstag", "Jahrestag", "Geschlecht", "Priorität", "Privat", "Vertraulichkeit"),
    *_unkept("Anrede", "Suffix", "Abteilung", "Straße privat", "Straße privat 2", "Straße privat 3", "Ort privat",
             "Bundesland/Kanton privat", "Postleitzahl privat", "Land/Region privat", "Weitere Straße",
             "Weitere Straße 2", "Weitere Straße 3", "Weiterer Ort", "Weiteres/r Bundesland/Kanton",
             "Weitere Postleitzahl", "Weiteres/e Land/Region", "Telefon Assistent", "Telefon geschäftlich 2",
             "Rückmeldung", "Autotelefon", "Telefon Firma", "Fax privat", "Telefon (privat)", "Telefon (privat 2)",
             "Telefon privat", "Telefon privat 2", "ISDN", "Weiteres Fax", "Weiteres Telefon", "Pager",
             "Haupttelefon", "Mobiltelefon 2", "Telefon für Hörbehinderte", "Telex", "Abrechnungsinformation",
             "Assistent(in)", "Benutzer 1", "Benutzer 2", "Benutzer 3", "Benutzer 4", "Beruf", "Büro",
             "E-Mail 3: Adresse", "Empfohlen von", "Hobby", "Internet Frei/Gebucht", "Kategorien", "Kinder",
             "Konto", "Name des/r Vorgesetzten", "Name des/der Vorgesetzten", "Notizen", "Organisationsnr.",
             "Ort", "Partner", "Postfach geschäftlich", "Postfach privat", "Reisekilometer",
             "Sozialversicherungsnr.", "Sprache", "Stichwörter", "Verzeichnisserver", "Weiteres Postfach"),
))

OUTLOOK_FR = Dialect("outlook-fr", "Outlook CSV (French)", _table(
    ("Titre", (UNKEPT, "job_title")),  # the courtesy title first, the job title later in the header
    ("Fonction", "job_title"), ("Prénom", "first_name"), ("Deuxième prénom", "middle_name"), ("Nom", "surname"),
    ("Société", "company_name"), ("Initiales", "initials"),
    ("Rue (bureau)", STREET), ("Rue (bureau) 2", STREET2), ("Rue (bureau) 3", STREET2),
    ("Ville (bureau)", "city"), ("Dép/Région (bureau)", "county"), ("Code postal (bureau)", "post_code"),
    ("Pays/Région (bureau)", "country_code"), ("Téléphone (bureau)", "phone"), ("Tél. mobile", "mobile_phone"),
    ("Télécopie (bureau)", "fax"), ("Adresse de messagerie", "email"), ("Adresse de messagerie 2", "email2"),
    ("Adresse de courrier", "email"), ("Adresse de courrier 2", "email2"), ("Page Web", "home_page"),
    *_roles(DERIVED, "Type de messagerie", "Nom complet de l'adresse de messagerie", "Type de messagerie 2",
            "Nom complet de l'adresse de messagerie 2", "Type de messagerie 3",
            "Nom complet de l'adresse de messagerie 3"),
    *_roles(DEFAULTED, "Anniversaire", "Anniversaire de mariage ou fête", "Sexe", "Priorité", "Privé",
            "Critère de diffusion"),
    *_unkept("Suffixe", "Service", "Rue (domicile)", "Rue (domicile) 2", "Rue (domicile) 3", "Ville (domicile)",
             "Dép/Région (domicile)", "Code postal (domicile)", "Pays/Région (domicile)", "Rue (autre)",
             "Rue (autre) 2", "Rue (autre) 3", "Ville (autre)", "Dép/Région (autre)", "Code postal (autre)",
             "Pays/Région (autre)", "Téléphone de l'assistant(e)", "Téléphone 2 (bureau)", "Rappel",
             "Téléphone (voiture)", "Téléphone société", "Télécopie (domicile)", "Téléphone (domicile)",
             "Téléphone 2 (domicile)", "RNIS", "Télécopie (autre)", "Téléphone (autre)",
             "Récepteur de radiomessagerie", "Téléphone principal", "Radio téléphone", "Téléphone TDD/TTY",
             "Télex", "Adresse de messagerie 3", "Adresse de courrier 3", "Autre boîte postale",
             "B.P. professionnelle", "Boîte postale du domicile", "Bureau", "Catégories", "Code gouvernement",
             "Compte", "Conjoint(e)", "Disponibilité Internet", "Emplacement", "Enfants",
             "Informations facturation", "Kilométrage", "Langue", "Mots clés", "Nom de l'assistant(e)", "Notes",
             "Numéro d'identification de l'organisation", "Passe-temps", "Profession", "Recommandé par",
             "Responsable", "Serveur d'annuaire", "Utilisateur 1", "Utilisateur 2", "Utilisateur 3",
             "Utilisateur 4"),
))

OUTLOOK_NO = Dialect("outlook-no", "Outlook CSV (Norwegian)", _table(
    ("Fornavn", "first_name"), ("Mellomnavn", "middle_name"), ("Etternavn", "surname"),
    ("Firma", "company_name"), ("Stilling", "job_title"), ("Initialer", "initials"),
    ("Gateadresse, arbeid", STREET), ("Gateadresse 2, arbeid", STREET2), ("Gateadresse 3, arbeid", STREET2),
    ("Poststed, arbeid", "city"), ("Region, arbeid", "county"), ("Fylke, arbeid", "county"),
    ("Postnummer, arbeid", "post_code"), ("Land/område, arbeid", "country_code"),
    ("Land/region, arbeid", "country_code"), ("Telefon, arbeid", "phone"), ("Mobiltelefon", "mobile_phone"),
    ("Faks, arbeid", "fax"), ("E-postadresse", "email"), ("E-postadresse 2", "email2"),
    ("Webside", "home_page"), ("Nettside", "home_page"),
    *_roles(DERIVED, "E-posttype", "Visningsnavn for e-post", "E-posttype 2", "Visningsnavn for e-post 2",
            "E-posttype 3", "Visningsnavn for e-post 3"),
    *_roles(DEFAULTED, "Fødselsdag", "Bursdag", "Merkedag", "Kjønn", "Prioritet", "Privat", "Følsomhet"),
    *_unkept("Tittel", "Suffiks", "Avdeling", "Gateadresse, privat", "Gateadresse 2, privat",
             "Gateadresse 3, privat", "Poststed, privat", "Region, privat", "Postnummer, privat",
             "Land/område, privat", "Annen gateadresse", "Annet poststed", "Annet postnummer",
             "Telefon 2, arbeid", "Telefon, privat", "Telefon 2, privat", "Faks, privat", "Annen telefon",
             "Annen faks", "Personsøker", "Hovedtelefon", "Biltelefon", "Sentralbord", "Tilbakeringing",
             "E-postadresse 3", "Notater", "Kategorier", "Kontor", "Yrke", "Hobby", "Barn", "Ektefelle/samboer",
             "Sted", "Konto", "Språk", "Nøkkelord", "Leder", "Assistent", "Telefon, assistent",
             "Bruker 1", "Bruker 2", "Bruker 3", "Bruker 4"),
))

GOOGLE = Dialect("google", "Google Contacts CSV", _table(
    ("First Name", "first_name"), ("Middle Name", "middle_name"), ("Last Name", "surname"),
    ("Organization Name", "company_name"), ("Organization Title", "job_title"),
    ("Labels", DEFAULTED),
    *_unkept("Phonetic First Name", "Phonetic Middle Name", "Phonetic Last Name", "Name Prefix", "Name Suffix",
             "Nickname", "File As", "Organization Department", "Birthday", "Notes", "Photo"),
), google_groups=True)

GOOGLE_OLD = Dialect("google-old", "Google Contacts CSV (older format)", _table(
    ("Name", "name"), ("Given Name", "first_name"), ("Additional Name", "middle_name"),
    ("Family Name", "surname"), ("Initials", "initials"), ("Group Membership", DEFAULTED),
    *_unkept("Yomi Name", "Given Name Yomi", "Additional Name Yomi", "Family Name Yomi", "Name Prefix",
             "Name Suffix", "Nickname", "Short Name", "Maiden Name", "Birthday", "Gender", "Location",
             "Billing Information", "Directory Server", "Mileage", "Occupation", "Hobby", "Sensitivity",
             "Priority", "Subject", "Notes", "Language", "Photo"),
), google_groups=True)

#: Business Central's contact list as exported (Open in Excel, saved as CSV): its captions, plus
#: columns BC computes from others (Search Name is the upper-cased Name)
BC_DERIVED = frozenset({fold("Search Name"), fold("Coupled to Dataverse"), fold("Coupled to CRM")})
BC_EXTRA_UNKEPT = tuple(fold(n) for n in (
    "Language Code", "Currency Code", "Contact Business Relation", "Business Relation", "Date of Last Interaction",
    "Last Date Attempted", "Next Task Date", "Minor", "Parental Consent Received", "Registration Number",
    "Salutation Code", "Phone No. 2", "Extension", "Pager", "Mobile Phone No. 2", "Telex No.", "Organizational Level Code",
    "Exclude from Segment", "External ID", "Lookup Contact No.",
))

DIALECTS: tuple[Dialect, ...] = (OUTLOOK_EN, OUTLOOK_DE, OUTLOOK_FR, OUTLOOK_NO, GOOGLE, GOOGLE_OLD)

#: the labels the summary uses for the caption layouts
BCSYNC_EXPORT = "bcsync export"
BC_EXPORT = "Business Central contact export"
CAPTIONS = "CSV with BC field names"


#: a numbered Google column: "E-mail 1 - Value", "Phone 2 - Label", "Address 1 - Postal Code"
GOOGLE_GROUP = re.compile(r"^(?P<kind>[A-Za-z][A-Za-z -]*?) (?P<n>\d+) - (?P<part>[A-Za-z][A-Za-z ]*)$")


def is_google_group(title: str) -> bool:
    return GOOGLE_GROUP.match(title.strip()) is not None


def recognise(cells: list[str]) -> tuple[Dialect | None, str]:
    """The layout a header belongs to: (dialect, label), or (None, caption label) for BC captions."""
    titles = [fold(c) for c in cells if c.strip()]
    if [model.resolve_field(c) for c in cells] == [model.resolve_field(model.FIELD_BY_KEY[k].caption)
                                                    for k in ("no",) + model.EDITABLE_KEYS]:
        return None, BCSYNC_EXPORT
    best, best_score = None, 0
    for dialect in DIALECTS:
        score = sum(1 for t in titles if t in dialect.columns)
        if dialect.google_groups:
            score += sum(1 for c in cells if is_google_group(c))
        if score > best_score:
            best, best_score = dialect, score
    captions = sum(1 for c in cells if c.strip() and model.resolve_field(c))
    if best is not None and best_score > captions and best_score >= 3:
        return best, best.label
    bc_only = sum(1 for t in titles if t in BC_DERIVED or t in BC_EXTRA_UNKEPT)
    return None, BC_EXPORT if bc_only and "no" in {model.resolve_field(c) for c in cells} else CAPTIONS
