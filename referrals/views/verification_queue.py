"""The site admin's verification call queue (VII.D): which listing to call next, and why.

It lives with the referrals because its order reads how often each listing was referred; the
call itself is the directory's page (``directory:call``).
"""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.permissions import permission_required
from referrals.selectors import verification_queue as selectors


@permission_required("directory.add_verificationcall")
@require_safe
def verification_queue(request):
    page, rows = selectors.queue(request.GET.get("page"))
    return render(request, "directory/verification/queue.html", {"page": page, "rows": rows})
