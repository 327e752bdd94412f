"""Message templates: built-in wording per kind × channel × language, a workspace's own
wording over it, rendered in a sandbox, with a plain-text part always.

Workspace templates are Jinja2 in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
``StrictUndefined``: an operator's template can read only the variables listed in
:data:`VARIABLES` (checked when saved, so a typo is a 422 then rather than a failed
message on release day) and cannot reach Python internals. The text part is rendered
without escaping (it is not HTML), the HTML part with autoescape; when a template has no
HTML, the HTML part is the text with its links made clickable.

Every link into a release goes through its smart link with a channel code
(``?c=email-release``), so analytics counts it (``analytics/campaign.py``).
"""

from __future__ import annotations

import html as html_module
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2 import Template as JinjaTemplate
from jinja2.sandbox import SandboxedEnvironment

from launchlink.analytics.campaign import CHANNEL_PARAMETER
from launchlink.models.messaging import MessageChannel, MessageKind

VARIABLES: dict[str, str] = {
    "title": "the release's title",
    "artists": "its artists, as a list in the fan's language",
    "listen_url": "the smart link (to the fan's own service when known), with its channel code",
    "service_name": "the fan's service, or 'your service'",
    "hours": "hours until the release (countdown)",
    "saved": "receipt: true when it is in the fan's library",
    "body": "announcement: the text the workspace wrote",
    "workspace": "the workspace's sender name",
    "reminder_only": "SMS opt-in: true when the number was given for this release only",
}

SAMPLE: dict[str, Any] = {
    "title": "Tidewater",
    "artists": "Nova Reyes",
    "listen_url": "https://links.example.test/tidewater?c=email-release",
    "service_name": "Spotify",
    "hours": 24,
    "saved": True,
    "body": "New tour dates are up.",
    "workspace": "Nova Reyes",
    "reminder_only": False,
}

CHANNEL_CODES: dict[MessageKind, str] = {
    MessageKind.release_day: "release",
    MessageKind.countdown: "countdown",
    MessageKind.receipt: "receipt",
    MessageKind.announcement: "announcement",
    MessageKind.sms_opt_in: "optin",
}

_URL = re.compile(r"https?://[^\s<>\"']+")


class InvalidTemplate(ValueError):
    """A template that does not parse or names a variable that does not exist."""


@dataclass(frozen=True, slots=True)
class Template:
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str | None


_E, _S = MessageChannel.email, MessageChannel.sms
_K = MessageKind

DEFAULTS: dict[tuple[MessageKind, MessageChannel], dict[str, Template]] = {
    (_K.release_day, _E): {
        "en": Template(
            "{{ title }} is out now",
            "{{ title }} by {{ artists }} is out now.\n\nListen on {{ service_name }}: "
            "{{ listen_url }}\n",
        ),
        "de": Template(
            "{{ title }} ist jetzt erschienen",
            "{{ title }} von {{ artists }} ist jetzt erschienen.\n\nJetzt auf "
            "{{ service_name }} hören: {{ listen_url }}\n",
        ),
        "fr": Template(
            "{{ title }} est sorti",
            "{{ title }} de {{ artists }} est sorti.\n\nÉcouter sur {{ service_name }} : "
            "{{ listen_url }}\n",
        ),
        "es": Template(
            "{{ title }} ya está disponible",
            "{{ title }} de {{ artists }} ya está disponible.\n\nEscúchalo en "
            "{{ service_name }}: {{ listen_url }}\n",
        ),
        # The subjects of the release-day reminder email these replace (presave.po).
        "it": Template(
            "{{ title }} è uscito",
            "{{ title }} di {{ artists }} è uscito.\n\nAscoltalo su {{ service_name }}: "
            "{{ listen_url }}\n",
        ),
        "nl": Template(
            "{{ title }} is nu uit",
            "{{ title }} van {{ artists }} is nu uit.\n\nLuister op {{ service_name }}: "
            "{{ listen_url }}\n",
        ),
        "pt": Template(
            "{{ title }} já saiu",
            "{{ title }} de {{ artists }} já saiu.\n\nOuve no {{ service_name }}: "
            "{{ listen_url }}\n",
        ),
    },
    (_K.release_day, _S): {
        "en": Template("", "{{ title }} by {{ artists }} is out now: {{ listen_url }}"),
        "de": Template("", "{{ title }} von {{ artists }} ist erschienen: {{ listen_url }}"),
        "fr": Template("", "{{ title }} de {{ artists }} est sorti : {{ listen_url }}"),
        "es": Template("", "{{ title }} de {{ artists }} ya está aquí: {{ listen_url }}"),
        "it": Template("", "{{ title }} di {{ artists }} è uscito: {{ listen_url }}"),
        "nl": Template("", "{{ title }} van {{ artists }} is nu uit: {{ listen_url }}"),
        "pt": Template("", "{{ title }} de {{ artists }} já saiu: {{ listen_url }}"),
    },
    (_K.countdown, _E): {
        "en": Template(
            "{{ title }} is out in {{ hours }} hours",
            "{{ hours }} hours to go: {{ title }} by {{ artists }} comes out tomorrow.\n\n"
            "{{ listen_url }}\n",
        ),
        "de": Template(
            "{{ title }} erscheint in {{ hours }} Stunden",
            "Noch {{ hours }} Stunden: {{ title }} von {{ artists }} erscheint morgen.\n\n"
            "{{ listen_url }}\n",
        ),
        "fr": Template(
            "{{ title }} sort dans {{ hours }} heures",
            "Plus que {{ hours }} heures : {{ title }} de {{ artists }} sort demain.\n\n"
            "{{ listen_url }}\n",
        ),
        "es": Template(
            "{{ title }} sale en {{ hours }} horas",
            "Faltan {{ hours }} horas: {{ title }} de {{ artists }} sale mañana.\n\n"
            "{{ listen_url }}\n",
        ),
        "pt": Template(
            "{{ title }} sai daqui a {{ hours }} horas",
            "Faltam {{ hours }} horas: {{ title }} de {{ artists }} sai amanhã.\n\n"
            "{{ listen_url }}\n",
        ),
    },
    (_K.countdown, _S): {
        "en": Template(
            "", "{{ hours }} hours until {{ title }} by {{ artists }}: {{ listen_url }}"
        ),
        "de": Template("", "Noch {{ hours }} Stunden bis {{ title }}: {{ listen_url }}"),
        "fr": Template(
            "", "Plus que {{ hours }} heures avant {{ title }} de {{ artists }} : {{ listen_url }}"
        ),
        "es": Template(
            "", "Faltan {{ hours }} horas para {{ title }} de {{ artists }}: {{ listen_url }}"
        ),
        "pt": Template(
            "", "Faltam {{ hours }} horas para {{ title }} de {{ artists }}: {{ listen_url }}"
        ),
    },
    (_K.receipt, _E): {
        "en": Template(
            "{% if saved %}{{ title }} is in your library{% else %}We couldn't save "
            "{{ title }}{% endif %}",
            "{% if saved %}{{ title }} by {{ artists }} is in your {{ service_name }} library."
            "\n\nOpen it: {{ listen_url }}\n{% else %}We couldn't save {{ title }} to your "
            "{{ service_name }} library.\n\nTap to listen: {{ listen_url }}\n{% endif %}",
        ),
        "de": Template(
            "{% if saved %}{{ title }} ist in deiner Bibliothek{% else %}Wir konnten "
            "{{ title }} nicht speichern{% endif %}",
            "{% if saved %}{{ title }} von {{ artists }} ist in deiner {{ service_name }}-"
            "Bibliothek.\n\nÖffnen: {{ listen_url }}\n{% else %}Wir konnten {{ title }} nicht "
            "in deiner {{ service_name }}-Bibliothek speichern.\n\nHier anhören: "
            "{{ listen_url }}\n{% endif %}",
        ),
        "fr": Template(
            "{% if saved %}{{ title }} est dans ta bibliothèque{% else %}Nous n'avons pas pu "
            "enregistrer {{ title }}{% endif %}",
            "{% if saved %}{{ title }} de {{ artists }} est dans ta bibliothèque "
            "{{ service_name }}.\n\nL'ouvrir : {{ listen_url }}\n{% else %}Nous n'avons pas "
            "pu enregistrer {{ title }} dans ta bibliothèque {{ service_name }}.\n\n"
            "Écouter : {{ listen_url }}\n{% endif %}",
        ),
        "es": Template(
            "{% if saved %}{{ title }} está en tu biblioteca{% else %}No pudimos guardar "
            "{{ title }}{% endif %}",
            "{% if saved %}{{ title }} de {{ artists }} está en tu biblioteca de "
            "{{ service_name }}.\n\nÁbrelo: {{ listen_url }}\n{% else %}No pudimos guardar "
            "{{ title }} en tu biblioteca de {{ service_name }}.\n\nToca para escuchar: "
            "{{ listen_url }}\n{% endif %}",
        ),
        "pt": Template(
            "{% if saved %}{{ title }} está na tua biblioteca{% else %}Não conseguimos "
            "guardar {{ title }}{% endif %}",
            "{% if saved %}{{ title }} de {{ artists }} está na tua biblioteca do "
            "{{ service_name }}.\n\nAbre aqui: {{ listen_url }}\n{% else %}Não conseguimos "
            "guardar {{ title }} na tua biblioteca do {{ service_name }}.\n\nToca para ouvir: "
            "{{ listen_url }}\n{% endif %}",
        ),
    },
    (_K.receipt, _S): {
        "en": Template(
            "",
            "{% if saved %}{{ title }} is in your {{ service_name }} library: {{ listen_url }}"
            "{% else %}We couldn't save {{ title }}. Tap to listen: {{ listen_url }}{% endif %}",
        ),
        "de": Template(
            "",
            "{% if saved %}{{ title }} ist in deiner {{ service_name }}-Bibliothek: "
            "{{ listen_url }}{% else %}Wir konnten {{ title }} nicht speichern. Hier anhören: "
            "{{ listen_url }}{% endif %}",
        ),
        "fr": Template(
            "",
            "{% if saved %}{{ title }} est dans ta bibliothèque {{ service_name }} : "
            "{{ listen_url }}{% else %}Nous n'avons pas pu enregistrer {{ title }}. Écouter : "
            "{{ listen_url }}{% endif %}",
        ),
        "es": Template(
            "",
            "{% if saved %}{{ title }} está en tu biblioteca de {{ service_name }}: "
            "{{ listen_url }}{% else %}No pudimos guardar {{ title }}. Toca para escuchar: "
            "{{ listen_url }}{% endif %}",
        ),
        "pt": Template(
            "",
            "{% if saved %}{{ title }} está na tua biblioteca do {{ service_name }}: "
            "{{ listen_url }}{% else %}Não conseguimos guardar {{ title }}. Toca para ouvir: "
            "{{ listen_url }}{% endif %}",
        ),
    },
    (_K.announcement, _E): {
        "en": Template("{{ workspace }}: news", "{{ body }}\n\n{{ listen_url }}\n"),
        "de": Template("{{ workspace }}: Neuigkeiten", "{{ body }}\n\n{{ listen_url }}\n"),
        "fr": Template("{{ workspace }} : nouveautés", "{{ body }}\n\n{{ listen_url }}\n"),
        "es": Template("{{ workspace }}: novedades", "{{ body }}\n\n{{ listen_url }}\n"),
        "pt": Template("{{ workspace }}: novidades", "{{ body }}\n\n{{ listen_url }}\n"),
    },
    # The workspace's own words in any language: only the link is added.
    (_K.announcement, _S): {"en": Template("", "{{ body }} {{ listen_url }}")},
    (_K.sms_opt_in, _S): {
        "en": Template(
            "",
            "{{ workspace }}: reply YES to get texts about {{ title }}"
            "{% if not reminder_only %} and future releases{% endif %}. "
            "Msg & data rates may apply. Reply HELP for help.",
        ),
        "de": Template(
            "",
            "{{ workspace }}: Antworte YES, um SMS zu {{ title }}"
            "{% if not reminder_only %} und künftigen Veröffentlichungen{% endif %} zu "
            "erhalten. Es können Gebühren anfallen. HELP für Hilfe.",
        ),
        "fr": Template(
            "",
            "{{ workspace }} : réponds YES pour recevoir des SMS sur {{ title }}"
            "{% if not reminder_only %} et les prochaines sorties{% endif %}. "
            "Des frais peuvent s'appliquer. HELP pour de l'aide.",
        ),
        "es": Template(
            "",
            "{{ workspace }}: responde YES para recibir SMS sobre {{ title }}"
            "{% if not reminder_only %} y próximos lanzamientos{% endif %}. "
            "Pueden aplicarse tarifas. HELP para ayuda.",
        ),
        "pt": Template(
            "",
            "{{ workspace }}: responde YES para receber SMS sobre {{ title }}"
            "{% if not reminder_only %} e próximos lançamentos{% endif %}. "
            "Podem aplicar-se tarifas. HELP para ajuda.",
        ),
    },
}

_text_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
_html_env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


SMS_FOOTERS = {
    "en": "Reply STOP to opt out.",
    "de": "Antworte STOP zum Abmelden.",
    "fr": "Réponds STOP pour te désabonner.",
    "es": "Responde STOP para darte de baja.",
    "it": "Rispondi STOP per annullare l'iscrizione.",
    "nl": "Antwoord STOP om je af te melden.",
    "pt": "Responde STOP para cancelar.",
}
"""The opt-out line every text but the opt-in ends with, in the fan's language (STOP is
the keyword in every language: carriers and our inbound webhook honour it)."""


def sms_footer(language: str) -> str:
    return SMS_FOOTERS.get(language.split("-")[0].lower(), SMS_FOOTERS["en"])


def default_template(kind: MessageKind, channel: MessageChannel, language: str) -> Template:
    """The built-in wording in ``language`` (its base language, else English)."""
    by_language = DEFAULTS.get((kind, channel))
    if by_language is None:
        raise InvalidTemplate(f"{kind.value} messages are not sent by {channel.value}")
    base = language.split("-")[0].lower()
    return by_language.get(language) or by_language.get(base) or by_language["en"]


def validate(template: Template) -> None:
    """:class:`InvalidTemplate` when a part does not parse or reads an unknown variable."""
    for name, source in (("subject", template.subject), ("text", template.text)):
        _check(name, source, _text_env)
    if template.html is not None:
        _check("html", template.html, _html_env)
    if not template.text.strip():
        raise InvalidTemplate("a template needs a text part")


def _check(part: str, source: str, environment: SandboxedEnvironment) -> None:
    try:
        parsed = environment.parse(source)
    except TemplateError as error:
        raise InvalidTemplate(f"the {part} does not parse: {error}") from None
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES))
    if unknown:
        raise InvalidTemplate(
            f"the {part} uses unknown variables: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(VARIABLES))})"
        )


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> JinjaTemplate:
    # Compiling costs far more than rendering; a release day renders one template per
    # kind x channel x language thousands of times.
    return (_html_env if html else _text_env).from_string(source)


def render(template: Template, variables: dict[str, Any]) -> Rendered:
    """Render every part; :class:`InvalidTemplate` when a part fails."""
    try:
        subject = " ".join(_compiled(template.subject, False).render(variables).split())
        text = _compiled(template.text, False).render(variables)
        page = (
            _compiled(template.html, True).render(variables)
            if template.html is not None
            else _html_from_text(text)
        )
    except TemplateError as error:
        raise InvalidTemplate(f"the template cannot be rendered: {error}") from None
    return Rendered(subject=subject, text=text, html=page)


def render_shared(template: Template, variables: dict[str, Any]) -> Rendered:
    """:func:`render` for wording many fans get with the same variables (none of them is
    the fan's own: a release day is one rendering per link, service and language), so it
    is rendered once, not once per fan. Unhashable variables are rendered each time."""
    try:
        key = tuple(sorted(variables.items()))
        hash(key)
    except TypeError:
        return render(template, variables)
    return _render_once(template, key)


@lru_cache(maxsize=1024)
def _render_once(template: Template, variables: tuple[tuple[str, Any], ...]) -> Rendered:
    return render(template, dict(variables))


def preview(template: Template) -> Rendered:
    """The template with sample values, for the editor."""
    validate(template)
    return render(template, dict(SAMPLE))


def _html_from_text(text: str) -> str:
    parts, last = [], 0
    for match in _URL.finditer(text):
        parts.append(html_module.escape(text[last : match.start()]))
        url = html_module.escape(match.group(0))
        parts.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    parts.append(html_module.escape(text[last:]))
    body = "".join(parts).replace("\n", "<br>\n")
    return f'<!doctype html><html><body style="font-family:sans-serif">{body}</body></html>'


def smart_link(
    canonical_url: str, channel: MessageChannel, kind: MessageKind, service: str | None = None
) -> str:
    """The smart link (``/<service>`` for the fan's own one) with the channel code."""
    base = f"{canonical_url.rstrip('/')}/{service}" if service else canonical_url.rstrip("/")
    code = f"{channel.value}-{CHANNEL_CODES[kind]}"
    return f"{base}?{urlencode({CHANNEL_PARAMETER: code})}"
