"""The access-checked lookup every page of a client's record goes through.

Another clinic's record is not found (404), never forbidden, so that its existence does not
leak; the attempt and the record found are both told to the access log of the request
(``request.access_log``, set by ``accounts``' ``@access_logged`` decorator).
"""

from django.shortcuts import get_object_or_404


def fetch(request, queryset, pk, *, log_type: str | None = None):
    """The row ``pk`` of ``queryset`` within the signed-in user's clinic, or 404.

    ``queryset`` must offer ``for_clinic`` (:class:`core.querysets.ClinicScopedQuerySet`).
    ``log_type`` names the record in the access log when it is not the model's name.
    """
    # No fallback when the view is not access-logged: a page of a client's record that forgot
    # its decorator fails loudly here instead of leaving no trace.
    log = request.access_log
    log.attempted(log_type or queryset.model._meta.model_name, pk)
    obj = get_object_or_404(queryset.for_clinic(request.user.clinic_id), pk=pk)
    log.subject(obj)
    return obj
