"""The client's sheet to print (policy VII.A, VIII.C–G), in English or Spanish.

Printing (or showing the page to print) is a use of the client's record, so every request writes
one ``print`` row to the access log; another clinic's referral is "not found" and the attempt is
logged with the id asked for. The page is the sheet itself: the browser's Print, or "Save as
PDF" in the print dialogue, gives the handout, with the site's menus left off by print.css.
"""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_safe

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from core.access import fetch
from referrals.selectors import sheet


@permission_required("referrals.view_referral")
@access_logged(AccessEvent.Action.PRINT)
@require_safe
def client_sheet(request, pk: int):
    referral = fetch(request, sheet.sheet_referrals(), pk)
    try:
        content = sheet.build(referral, today=timezone.localdate())
    except sheet.SheetNotReady as problem:
        # 409: the referral exists and may be seen, but it is not in a state that has a sheet.
        return render(
            request,
            "referrals/sheet.html",
            {"problem": str(problem), "referral": referral},
            status=409,
        )
    # The client's language for the sheet's fixed text, weekday names, dates and times; the
    # staff pages around it stay English. Rendering happens inside the override.
    with translation.override(content.language):
        return render(request, "referrals/sheet.html", {"sheet": content, "referral": referral})
