"""Template filters of the referral pages."""

from django import template
from django.utils.translation import gettext, gettext_noop

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``mapping|get_item:key`` for keys a template cannot spell (hyphens, numbers); None
    without a mapping (a name the context lacks is "" in a template)."""
    if not mapping:
        return None
    return mapping.get(key)


# Words the client's sheet prints from the directory's data rather than its template: phone
# labels, contact notes and area names as the 2008 list and the taxonomy spell them. Marked here
# so that ``makemessages`` keeps them in the catalogue; ``client_words`` looks each one up when
# the sheet is rendered, in the client's language. Anything else a site admin types is printed as
# entered (a listing's own name, a street address).
DATA_WORDS = (
    gettext_noop("Client Coalition (LAC DMH Office of Consumer Affairs)"),
    gettext_noop("Friendship Line"),
    gettext_noop("Toll free"),
    gettext_noop("L A County"),
    gettext_noop("Los Angeles"),
    gettext_noop("LAC DMH Office of Consumer Affairs"),
    gettext_noop("Antelope Valley"),
    gettext_noop("San Fernando"),
    gettext_noop("San Gabriel"),
    gettext_noop("Metro"),
    gettext_noop("West"),
    gettext_noop("South"),
    gettext_noop("East"),
    gettext_noop("South Bay/Harbor"),
    gettext_noop("Los Angeles County (countywide)"),
    gettext_noop("Los Angeles County"),
    gettext_noop("Inland Empire/San Bernardino"),
    gettext_noop("Orange County"),
    gettext_noop("National"),
    gettext_noop("San Fernando Valley"),
    gettext_noop("San Gabriel Valley"),
    gettext_noop("Long Beach/South Bay"),
    gettext_noop("Beach Cities"),
)


@register.filter
def client_words(value):
    """A label from the directory in the language being rendered (the sheet's), when the
    catalogue has it; as entered otherwise."""
    if not value:
        return ""
    return gettext(str(value))


@register.filter
def lower_in(name, language):
    """A language's name as a sentence in ``language`` writes it: lower case in Spanish
    ("español"), as given in English ("Spanish")."""
    return str(name).lower() if language == "es" else name
