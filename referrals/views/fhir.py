"""A referral as a FHIR R4 Bundle for the clinic's electronic health record (DESIGN section 4).

Only a clinician of the referral's clinic may take it (``change_referral``: supervisors read
referrals, they do not send them); another clinic's referral is "not found" and the attempt is
logged. Each request writes one ``export`` row to the access log. The URL carries the
referral's id only. What 42 CFR Part 2 kept out of the Bundle is said in the Bundle (an
OperationOutcome entry) and in the ``Content-Withheld`` header.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from core.access import fetch
from referrals.rules import fhir as rules
from referrals.selectors import fhir

CONTENT_TYPE = "application/fhir+json; charset=utf-8"


@permission_required("referrals.change_referral")
@access_logged(AccessEvent.Action.EXPORT)
@require_safe
def referral_bundle(request, pk: int):
    referral = fetch(request, fhir.fhir_referrals(), pk)
    try:
        result = rules.export(fhir.record(referral), generated_at=timezone.localtime())
    except rules.NotExportable as problem:
        # 409: the referral exists and may be seen, but it has nothing to send yet.
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "business-rule", "diagnostics": str(problem)}],
        }
        return _response(outcome, status=409)
    response = _response(result.bundle)
    if result.withheld:
        response["Content-Withheld"] = "substance-use information (42 CFR Part 2)"
    return response


def _response(document: dict, *, status: int = 200) -> HttpResponse:
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=1),
        content_type=CONTENT_TYPE,
        status=status,
    )
    response["Content-Disposition"] = "inline"
    return response
