"""Every view declares the permission it needs here, in one decorator.

Signing in is already required everywhere by ``LoginRequiredMiddleware`` (deny by default);
this adds the role's permission and writes a ``denied`` row to the access log on refusal.
Roles grant permissions through their groups; no view looks at usernames or group names.
"""

import functools

from django.core.exceptions import PermissionDenied

from accounts.models import AccessEvent
from accounts.services import access_log


def permission_required(perm: str):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perm(perm):
                access_log.record(
                    request,
                    AccessEvent.Action.DENIED,
                    outcome=AccessEvent.Outcome.DENIED,
                    reason=f"lacks {perm}"[:100],
                )
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.required_permission = perm
        return wrapper

    return decorator
