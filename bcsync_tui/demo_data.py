"""Deterministic sample data for ``bcsync demo`` and the tests: a contact master and an Outlook mailbox.

Everything comes from a seeded ``random.Random``: the same arguments always give the same data, with no
network and no clock. Names are realistic European business names, unicode included (Müller, Ødegård,
Zoë, Łukasz, ...).

* :func:`master_contacts` -- master contacts in ``bcsync_tui.core.model`` dict shape: companies and the
  persons working there (``company_no`` links them), several countries, salespeople and territories, a
  few persons without e-mail and a couple privacy blocked.
* :func:`mailbox_contacts` -- Outlook contacts (``bcsync_tui.ewsserver.contact_dict`` shape) for the
  "Business Central" folder and the default Contacts folder, overlapping the master by e-mail (some
  identical, some differing), plus Outlook-only eligible contacts and some the sync must skip. Each dict
  has two extra keys: ``folder`` and ``case`` (what the sync is expected to make of it).
* :func:`load_demo_mailbox` -- put that mailbox into a running (or not yet started) LoopbackExchange.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from typing import Any

from .core import model

DEFAULT_SEED = 6700  # BC's codeunit 6700 "O365 Sync. Management"
DEMO_FOLDER = "Business Central"

# (city, post code, county, country code, phone prefix, territory, e-mail TLD)
PLACES = (
    ('Oslo', '0150', '', 'NO', '+47 22', 'NORDIC', 'no'),
    ('Bergen', '5003', 'Vestland', 'NO', '+47 55', 'NORDIC', 'no'),
    ('Trondheim', '7011', 'Trøndelag', 'NO', '+47 73', 'NORDIC', 'no'),
    ('Stockholm', '111 52', '', 'SE', '+46 8', 'NORDIC', 'se'),
    ('Göteborg', '411 04', '', 'SE', '+46 31', 'NORDIC', 'se'),
    ('København', '1050', '', 'DK', '+45 33', 'NORDIC', 'dk'),
    ('Helsinki', '00100', '', 'FI', '+358 9', 'NORDIC', 'fi'),
    ('München', '80331', 'Bayern', 'DE', '+49 89', 'DACH', 'de'),
    ('Hamburg', '20095', '', 'DE', '+49 40', 'DACH', 'de'),
    ('Köln', '50667', 'Nordrhein-Westfalen', 'DE', '+49 221', 'DACH', 'de'),
    ('Wien', '1010', '', 'AT', '+43 1', 'DACH', 'at'),
    ('Zürich', '8001', 'ZH', 'CH', '+41 44', 'DACH', 'ch'),
    ('Paris', '75008', 'Île-de-France', 'FR', '+33 1', 'FRANCE', 'fr'),
    ('Lyon', '69002', 'Rhône', 'FR', '+33 4', 'FRANCE', 'fr'),
    ('Bruxelles', '1000', '', 'BE', '+32 2', 'BENELUX', 'be'),
    ('Amsterdam', '1012 AB', 'Noord-Holland', 'NL', '+31 20', 'BENELUX', 'nl'),
    ('Lisboa', '1100-148', '', 'PT', '+351 21', 'IBERIA', 'pt'),
    ('Madrid', '28013', 'Madrid', 'ES', '+34 91', 'IBERIA', 'es'),
    ('Warszawa', '00-001', 'mazowieckie', 'PL', '+48 22', 'CEE', 'pl'),
    ('Praha', '110 00', '', 'CZ', '+420 2', 'CEE', 'cz'),
    ('Milano', '20121', 'MI', 'IT', '+39 02', 'ITALY', 'it'),
)
FIRST_NAMES = ("Zoë", "Jürgen", "Søren", "Åsa", "Bjørn", "Ingrid", "François", "Hélène", "José", "João",
               "Łukasz",
               "Małgorzata", "Jiří", "Ana", "Matteo", "Chiara", "Lars", "Kari", "Elif", "Anna", "Thomas", "Marie",
               "Pieter", "Sofie", "Mikko", "Aino", "Carmen", "Pablo", "Nina", "Oskar", "Émilie", "Luís", "Greta",
               "Henrik", "Liv", "Marta", "Tomasz", "Eva", "Jan", "Ólafur", "Sigrún", "Dorothée", "René")
SURNAMES = ("Müller", "Ødegård", "Dupont", "Ferreira", "Kowalski", "Novák", "Rossi", "Johansson", "Nielsen",
            "Virtanen", "García", "van den Berg", "Schröder", "Brännström", "Lefèvre", "Haugen", "Andersen",
            "Weiß", "Dvořák", "Bianchi", "Lindqvist", "Jansen", "Peeters", "Santos", "Fernández", "Nowak",
            "Hoffmann", "Berg", "Mäkinen", "Moreau", "Bakke", "Strand", "Łęcki", "Sørensen", "Gonçalves")
MIDDLE = ("Maria", "Johan", "Elisabeth", "Marie", "Anders", "Luise")
COMPANY_STEMS = ("Nordlys", "Fjord", "Alpen", "Rhein", "Lumière", "Atlântico", "Baltic", "Danube", "Polar",
                 "Hansa", "Vista", "Aurora", "Granit", "Cedar", "Falken", "Brisa", "Vltava", "Tatra", "Lago", "Kvarts")
COMPANY_TRADES = ("Maschinenbau", "Shipping", "Logistics", "Energi", "Consulting", "Foods", "Textiles",
                  "Medical", "Software", "Möbel", "Bâtiment", "Papier", "Solar", "Marine", "Electronics")
LEGAL_FORM = {"NO": "AS", "SE": "AB", "DK": "A/S", "FI": "Oy", "DE": "GmbH", "AT": "GmbH", "CH": "AG", "FR": "SARL",
              "BE": "SA", "NL": "B.V.", "PT": "Lda", "ES": "S.L.", "PL": "Sp. z o.o.", "CZ": "s.r.o.", "IT": "S.r.l."}
STREETS = {"NO": ("Storgata", "Karl Johans gate", "Bryggen"), "SE": ("Kungsgatan", "Drottninggatan"),
           "DK": ("Strøget", "Nyhavn"), "FI": ("Mannerheimintie", "Aleksanterinkatu"),
           "DE": ("Hauptstraße", "Maximilianstraße", "Schloßallee"), "AT": ("Kärntner Straße", "Graben"),
           "CH": ("Bahnhofstrasse", "Limmatquai"), "FR": ("Rue de la Paix", "Boulevard Haussmann"),
           "BE": ("Avenue Louise", "Rue Neuve"), "NL": ("Damrak", "Herengracht"), "PT": ("Rua Augusta", "Rua do Ouro"),
           "ES": ("Calle Mayor", "Gran Vía"), "PL": ("ulica Długa", "Nowy Świat"),
           "CZ": ("Na Příkopě", "Václavské náměstí"), "IT": ("Via Roma", "Corso Buenos Aires")}
MOBILE = {"NO": "+47 9", "SE": "+46 70", "DK": "+45 2", "FI": "+358 40", "DE": "+49 151", "AT": "+43 664",
          "CH": "+41 79", "FR": "+33 6", "BE": "+32 470", "NL": "+31 6", "PT": "+351 91", "ES": "+34 6", "PL": "+48 50",
          "CZ": "+420 60", "IT": "+39 33"}
ADDRESS2 = ("Postboks 123", "2. Stock", "Bâtiment B", "c/o Reception", "Unit 4", "3rd floor")
JOB_TITLES = ("Purchasing Manager", "CEO", "Sales Director", "Accountant", "Logistics Coordinator", "Project Manager",
              "CFO", "Office Manager", "Buyer", "Head of IT", "Marketing Lead", "Controller", "Technician")
SALESPEOPLE = ("JO", "PS", "BD", "RB", "OF", "HR")


def _ascii(text: str) -> str:
    table = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "Ł": "L", "đ": "d"})
    text = unicodedata.normalize("NFKD", text.translate(table))
    return "".join(c for c in text if c.isascii() and (c.isalnum() or c in " -.")).strip()


def _slug(text: str) -> str:
    return _ascii(text).lower().replace(" ", "").replace("-", "").replace(".", "")


def _phone(rng: random.Random, prefix: str) -> str:
    return f"{prefix} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(100, 999)}"


def master_contacts(n: int = 300, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """``n`` master contacts (about one in six a Company, the rest Persons), numbered CT000001..."""
    rng = random.Random(seed)
    n_companies = max(1, n // 6)
    out: list[dict[str, Any]] = []
    companies: list[dict[str, Any]] = []
    used_names: set[str] = set()
    for i in range(n_companies):
        place = rng.choice(PLACES)
        while True:
            name = f"{rng.choice(COMPANY_STEMS)} {rng.choice(COMPANY_TRADES)} {LEGAL_FORM[place[3]]}"
            if name not in used_names:
                break
        used_names.add(name)
        domain = f"{_slug(name.rsplit(' ', 1)[0])}.{place[6]}"
        companies.append({"name": name, "place": place, "domain": domain})
    numbers = iter(range(1, n + 1))
    people_per_company: list[list[int]] = [[] for _ in companies]
    slots = ["company" if i < n_companies else "person" for i in range(n)]
    company_no: dict[int, str] = {}
    for idx, kind in enumerate(slots):
        no = f"CT{next(numbers):06d}"
        c = model.blank_contact()
        c["no"] = no
        c["uuid"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if kind == "company":
            comp = companies[idx]
            city, post, county, country, prefix, territory, _tld = comp["place"]
            c.update(type=model.COMPANY, name=comp["name"], company_name=comp["name"], company_no=no,
                     email=f"info@{comp['domain']}", phone=_phone(rng, prefix),
                     home_page=f"https://www.{comp['domain']}",
                     address=f"{rng.choice(STREETS[country])} {rng.randint(1, 120)}", city=city, post_code=post,
                     county=county, country_code=country, territory_code=territory,
                     salesperson_code=rng.choice(SALESPEOPLE))
            company_no[idx] = no
        else:
            ci = rng.randrange(len(companies))
            comp = companies[ci]
            people_per_company[ci].append(idx)
            city, post, county, country, prefix, territory, _tld = comp["place"]
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            middle = rng.choice(MIDDLE) if rng.random() < 0.08 else ""
            local = f"{_slug(first)}.{_slug(last)}"
            c.update(type=model.PERSON, first_name=first, middle_name=middle, surname=last,
                     initials=(first[0] + (middle[:1]) + last.split()[-1][0]).upper(),
                     company_no=company_no.get(ci) or f"CT{ci + 1:06d}", company_name=comp["name"],
                     job_title=rng.choice(JOB_TITLES), email=f"{local}@{comp['domain']}",
                     phone=_phone(rng, prefix), address=f"{rng.choice(STREETS[country])} {rng.randint(1, 120)}",
                     address2=rng.choice(ADDRESS2) if rng.random() < 0.2 else "", city=city, post_code=post,
                     county=county, country_code=country, territory_code=territory,
                     salesperson_code=rng.choice(SALESPEOPLE))
            if rng.random() < 0.5:
                c["mobile_phone"] = _phone(rng, MOBILE[country])
            if rng.random() < 0.1:
                c["fax"] = _phone(rng, prefix)
            if rng.random() < 0.15:
                c["email2"] = f"{_slug(first)}{rng.randint(1, 99)}@mail.{comp['place'][6]}"
            if rng.random() < 0.05:
                c["email"] = ""  # persons without e-mail do not sync (BC's rule)
        out.append(c)
    persons = [c for c in out if c["type"] == model.PERSON and c["email"]]
    for c in rng.sample(persons, k=min(2, len(persons))):
        c["privacy_blocked"] = True
    # make e-mail addresses unique (two "Anna Berg" at one company)
    seen: set[str] = set()
    for c in out:
        e = c["email"]
        while e and e in seen:
            local, _, domain = e.partition("@")
            e = f"{local}{rng.randint(2, 9)}@{domain}"
        c["email"] = e
        if e:
            seen.add(e)
    return [model.normalise(c) for c in out]


def _eligible(c: dict[str, Any]) -> bool:
    return c["type"] == model.PERSON and bool(c["email"]) and not c["privacy_blocked"]


def mailbox_contacts(master: list[dict[str, Any]] | None = None, seed: int = DEFAULT_SEED,
                     folder: str = DEMO_FOLDER) -> list[dict[str, Any]]:
    """The demo mailbox: contacts for ``folder`` and for the default Contacts folder ("contacts").

    ``case`` tells what each one is: ``identical`` (same data as the master, found by e-mail),
    ``differs`` (an Outlook edit of a master contact), ``email_case`` (same contact, e-mail typed with
    other case and spaces), ``outlook_only`` (eligible, not in the master: becomes a new master contact),
    ``no_email`` / ``no_name`` (to be skipped), ``personal`` (default Contacts folder, never synced)."""
    from .ewsserver.contact_dict import master_to_outlook

    master = master if master is not None else master_contacts(seed=seed)
    rng = random.Random(seed + 1)
    pool = [c for c in master if _eligible(c)]
    rng.shuffle(pool)
    out: list[dict[str, Any]] = []

    def add(data: dict[str, Any], case: str, where: str = folder) -> None:
        out.append({**data, "folder": where, "case": case})

    for c in pool[:40]:
        add(master_to_outlook(c), "identical")
    for c in pool[40:55]:
        o = master_to_outlook(c)
        change = rng.choice(("job_title", "business_phone", "business_city", "mobile_phone"))
        prefix = next(p[4] for p in PLACES if p[3] == c["country_code"])
        o[change] = {"job_title": "Head of Procurement", "business_phone": _phone(rng, prefix),
                     "business_city": "Stavanger" if c["country_code"] == "NO" else c["city"] + " Nord",
                     "mobile_phone": _phone(rng, MOBILE[c["country_code"]])}[change]
        if rng.random() < 0.5:
            o["body"] = "Met at the trade fair in Hannover."
            o["categories"] = ["Customer", "Trade fair"]
        add(o, "differs")
    for c in pool[55:60]:
        o = master_to_outlook(c)
        o["email1"] = f"  {o['email1'].upper()} "
        add(o, "email_case")
    extra = (("Ólafur", "Sigurðsson", "Norðurljós ehf.", "olafur@nordurljos.is", "Reykjavík", "IS"),
             ("Chloë", "Van Damme", "Brugse Zot NV", "chloe.vandamme@brugsezot.be", "Brugge", "BE"),
             ("Ángel", "Ruiz", "Olivar S.A.", "angel.ruiz@olivar.es", "Sevilla", "ES"),
             ("Ewa", "Wiśniewska", "Bursztyn Sp. z o.o.", "ewa@bursztyn.pl", "Gdańsk", "PL"),
             ("Knut", "Ødegård", "Fjellvind AS", "knut.odegard@fjellvind.no", "Tromsø", "NO"),
             ("Léa", "Rousseau", "Vignoble Rousseau", "lea@vignoble-rousseau.fr", "Bordeaux", "FR"))
    for first, last, company, email, city, country in extra:
        add({"given_name": first, "surname": last, "display_name": f"{first} {last}", "file_as": f"{last}, {first}",
             "company_name": company, "email1": email, "business_city": city, "business_country": country,
             "home_phone": "+00 000 000", "body": "Added in Outlook."}, "outlook_only")
    add({"given_name": "Henrik", "surname": "Berg", "display_name": "Henrik Berg", "company_name": "Fjord Solar AS",
         "business_phone": "+47 22 33 44 55"}, "no_email")
    add({"display_name": "Reception desk", "business_phone": "+49 89 1234 0"}, "no_email")
    add({"email1": "noreply@example.org"}, "no_name")
    for c in pool[60:66]:
        o = master_to_outlook(c)
        o.update(categories=["Personal"], home_street="Privatveien 7", home_city=c["city"] or "Oslo",
                 body="Private contact card.")
        add(o, "personal", "contacts")
    add({"given_name": "Mamma", "display_name": "Mamma", "mobile_phone": "+47 900 00 000",
         "email1": "mamma@example.no"},
        "personal", "contacts")
    return out


def load_demo_mailbox(server, email: str | None = None, contacts: list[dict[str, Any]] | None = None,
                      folder: str = DEMO_FOLDER, seed: int = DEFAULT_SEED) -> dict[str, list[str]]:
    """Create ``folder`` under Contacts in the mailbox of ``email`` (default: the server's first user) and
    fill it and the default Contacts folder with :func:`mailbox_contacts` (or ``contacts``). Returns the
    new ItemIds by folder name."""
    user = server.outlook(email)
    user.ensure_folder(folder)
    contacts = contacts if contacts is not None else mailbox_contacts(seed=seed, folder=folder)
    by_folder: dict[str, list[dict[str, Any]]] = {}
    for c in contacts:
        data = {k: v for k, v in c.items() if k not in ("folder", "case")}
        by_folder.setdefault(c.get("folder") or folder, []).append(data)
    return {name: user.create_contacts(name, items) for name, items in by_folder.items()}
