"""The public directory (VII.A: "information about self-help options should be routinely
available to all clients"): search, a group's page and the Meeting Guide feed, without signing
in; and the waiting-room poster that points to it, printed by staff for their clinic.

Public pages show catalogue data only (``directory.selectors.public``). English at
``/groups/``, Spanish at ``/groups/es/``: the language is in the address, not in a session or
cookie, so a shared link, a QR code and a cache all see one page per address. Each view is a
plain function, read-only (GET and HEAD), so that a cache can wrap it.
"""

from __future__ import annotations

from base64 import b64encode
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_safe

from accounts.permissions import permission_required
from core import streaming
from core.pagination import CountedPaginator
from directory.filters import PublicGroupFilter
from directory.rules import meeting_guide as meeting_feed
from directory.rules.meeting_types import type_label
from directory.selectors import public as selectors
from directory.selectors import snapshot
from directory.views.caching import catalogue_cached

PAGE_SIZE = 20
LANGUAGES = ("en", "es")


def _urls(lang: str, name: str, *args) -> dict:
    """This page's address in each language, for the language switch and hreflang links."""
    return {
        language: reverse(f"public:{name}{'-es' if language == 'es' else ''}", args=args)
        for language in LANGUAGES
    }


def _public(response, lang: str | None = None):
    """Headers every public answer carries: no indexing by search engines unless the
    deployment allows it (``PUBLIC_DIRECTORY_NOINDEX``), and the page's language."""
    if settings.PUBLIC_DIRECTORY_NOINDEX:
        response["X-Robots-Tag"] = "noindex, nofollow"
    if lang:
        response["Content-Language"] = lang
    return response


def _context(lang: str, **extra) -> dict:
    return {
        "lang": lang,
        "other_lang": "en" if lang == "es" else "es",
        "noindex": settings.PUBLIC_DIRECTORY_NOINDEX,
        "today": timezone.localdate(),
        **extra,
    }


@login_not_required
@require_safe
@catalogue_cached  # catalogue data only, the same for every visitor; kept per catalogue version
def search(request, lang: str = "en"):
    """Search the public directory by words, need, area, language and day (VII.A)."""
    with translation.override(lang):
        group_filter = PublicGroupFilter(request.GET or None, queryset=selectors.listings())
        partial = request.htmx and not request.htmx.history_restore_request
        template = "directory/public/_results.html" if partial else "directory/public/search.html"
        context = _context(lang, filter=group_filter, partial=partial, urls=_urls(lang, "search"))
        if group_filter.is_bound and not group_filter.is_valid():
            response = render(request, template, {**context, "page": None}, status=400)
        else:
            query = request.GET.copy()
            query.pop("page", None)
            results = selectors.with_result_details(group_filter.qs)
            page = CountedPaginator(results, PAGE_SIZE, query=query).get_page(
                request.GET.get("page")
            )
            response = render(request, template, {**context, "page": page})
    patch_vary_headers(response, ["HX-Request"])
    return _public(response, lang)


@login_not_required
@require_safe
@catalogue_cached
def group(request, slug: str, lang: str = "en"):
    """One group: what it helps with, how to reach it, its meetings, languages, areas and
    when its listing was last verified."""
    with translation.override(lang):
        listing = selectors.group_page(slug)
        for meeting in listing.public_meetings:
            meeting.type_labels = [type_label(code, lang) for code in meeting.type_codes or []]
        response = render(
            request,
            "directory/public/group.html",
            _context(lang, group=listing, urls=_urls(lang, "group", slug)),
        )
    return _public(response, lang)


@login_not_required
@require_http_methods(["GET", "HEAD", "OPTIONS"])
@catalogue_cached
def meetings_feed(request):
    """The Meeting Guide feed, for the Meeting Guide app, TSML and TSML UI, from any site.

    CORS: any origin may read it (no cookie, no credential: it is public data). Streamed, a
    meeting at a time, as the staff export is.
    """
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
    else:
        items = meeting_feed.feed_items(
            snapshot.listings(with_meetings=True), timezone=settings.TIME_ZONE
        )
        response = StreamingHttpResponse(
            streaming.buffered(streaming.json_array(items)), content_type="application/json"
        )
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response["Access-Control-Max-Age"] = "86400"
    return _public(response)


def _qr_data_uri(url: str) -> str:
    """The QR code as an SVG data: URI for an <img> (the page's CSP allows data: images and
    no inline markup is injected)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + b64encode(buffer.getvalue()).decode()


def public_address(request, path: str) -> str:
    """The absolute address a printed QR code opens: ``SITE_URL`` when the deployment sets it
    (the address clients can reach from their phones), else this request's own host."""
    base = settings.SITE_URL
    return f"{base.rstrip('/')}{path}" if base else request.build_absolute_uri(path)


@require_safe
@permission_required("directory.view_group")
def poster(request, clinic_id: int):
    """A clinic's waiting-room poster, letter size, English and Spanish, each with a QR code
    that opens the public directory for the clinic's Service Planning Area (VII.A)."""
    found = selectors.poster(clinic_id)
    query = f"?area={found.area.slug}" if found.area else ""
    codes = {}
    for lang in LANGUAGES:
        name = "public:search-es" if lang == "es" else "public:search"
        address = public_address(request, reverse(name) + query)
        codes[lang] = {"url": address, "qr": _qr_data_uri(address)}
    return render(
        request,
        "directory/public/poster.html",
        {"clinic": found.clinic, "area": found.area, "codes": codes},
    )
