"""Country names in import files ("Norway", "Norge", "España", "Deutschland") → the ISO 3166 codes
Business Central's Country/Region Code uses.

pycountry (ISO 3166 from Debian's iso-codes, with its translations) is imported lazily, only when
a value is not already a code, so ``bcsync status`` and plain code-only imports never load it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: the languages whose country names are recognised (English plus those of our users and of the
#: Outlook and Google exports they bring)
LANGUAGES = ("nb_NO", "nn", "da", "sv", "fi", "is", "de", "fr", "es", "it", "nl", "pt", "pl")

#: everyday names ISO does not list
_ALIASES = {"uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
            "usa": "US", "u.s.a.": "US", "u.s.": "US", "america": "US", "holland": "NL", "russia": "RU"}

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,9}$")


class UnknownCountry(ValueError):
    pass


def _key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    import gettext

    import pycountry

    table: dict[str, str] = {}
    countries = list(pycountry.countries)
    for lang in reversed(LANGUAGES):  # earlier languages win a name two of them use differently
        try:
            tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:
            continue
        for c in countries:
            for attr in ("name", "common_name", "official_name"):
                english = getattr(c, attr, None)
                if english:
                    table[_key(tr.gettext(english))] = c.alpha_2
    for c in countries:
        for attr in ("alpha_3", "official_name", "common_name", "name"):
            value = getattr(c, attr, None)
            if value:
                table[_key(value)] = c.alpha_2
    table.update({_key(k): v for k, v in _ALIASES.items()})
    return table


def country_code(value: str) -> str:
    """The code for ``value``: a two-letter code as it is (upper-cased), a name in one of
    ``LANGUAGES`` or an ISO alpha-3 code as its alpha-2 code, another code-like value (BC allows
    its own codes up to 10 characters) unchanged; raises UnknownCountry otherwise."""
    text = value.strip()
    if not text:
        return ""
    if len(text) == 2 and text.isalpha():
        return text.upper()
    if len(text) > 3 and _CODE.match(text):
        return text
    found = _names().get(_key(text))
    if found:
        return found
    if _CODE.match(text):
        return text
    raise UnknownCountry(f"{text!r} is not a country name or code bcsync knows; write its ISO code (e.g. NO, DE, FR)")
