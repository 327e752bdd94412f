"""The pre-save pages' own gettext domain (``locale/<lang>/LC_MESSAGES/presave.po``).

Kept apart from the smart-link page's ``messages`` domain so the two can be translated
and merged independently; the main catalogue is the fallback, so shared strings resolve.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from launchlink.i18n import LOCALE_DIR, Catalogues

DOMAIN = "presave"


def N_(message: str) -> str:
    return message


@lru_cache(maxsize=1)
def _own_catalogues() -> dict[str, bytes]:
    compiled: dict[str, bytes] = {}
    for po_path in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = po_path.parent.parent.name
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        compiled[language] = buffer.getvalue()
    return compiled


class PresaveTranslations:
    """Translations per language: the pre-save domain first, then the main catalogue."""

    def __init__(self, catalogues: Catalogues) -> None:
        self.catalogues = catalogues
        self._cache: dict[str, gettext.NullTranslations] = {}

    @property
    def languages(self) -> tuple[str, ...]:
        return self.catalogues.languages

    def negotiate(self, accept_language: str | None, fallback: str | None = None) -> str:
        return self.catalogues.negotiate(accept_language, fallback)

    def get(self, language: str) -> gettext.NullTranslations:
        found = self._cache.get(language)
        if found is not None:
            return found
        own = _own_catalogues().get(language)
        translations: gettext.NullTranslations
        if own is None:
            translations = gettext.NullTranslations()
        else:
            translations = gettext.GNUTranslations(io.BytesIO(own))
        translations.add_fallback(self.catalogues.get(language))
        self._cache[language] = translations
        return translations
