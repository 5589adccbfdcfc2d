"""Writing the access log: the one place every page records who touched which record.

Two ways in, both through :func:`record`: ``@access_logged(action)`` on a view that shows,
changes, prints or exports a client's record, writing exactly one row per request for the record
the view named with ``request.access_log.subject(obj)``; and ``record(...)`` directly, for events
that are not a page (sign-in, sign-out, lockout).

An ``Http404`` or ``PermissionDenied`` is logged as ``not-found`` or ``denied`` (with the id the
view named first with ``request.access_log.attempted``) and re-raised, so that probing another
clinic's records leaves a trace; a response of 400 or more is logged as a failure. Rows never
carry a record's content: only its type and id, its clinic, the actor, the time, the client's
address and the outcome.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from accounts.models import AccessEvent


def client_ip(request: HttpRequest | None) -> str | None:
    """The address the request came from, as the server saw it (``REMOTE_ADDR``).

    Never ``X-Forwarded-For``: any client can write that header. Behind the nginx of
    ``deploy/`` (which sets ``X-Real-IP`` itself, overwriting a client's) ``TRUST_X_REAL_IP``
    reads that header instead; see the README's deployment notes.
    """
    if request is None:
        return None
    if settings.TRUST_X_REAL_IP and request.META.get("HTTP_X_REAL_IP"):
        return _valid_address(request.META["HTTP_X_REAL_IP"].strip())
    return request.META.get("REMOTE_ADDR") or None


def _valid_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def record(
    request: HttpRequest | None,
    action: str,
    *,
    user=None,
    username: str = "",
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    clinic_id: int | None = None,
    outcome: str = AccessEvent.Outcome.SUCCESS,
    reason: str = "",
) -> AccessEvent:
    """Append one row to the access log and return it."""
    if user is None and request is not None:
        candidate = getattr(request, "user", None)
        if candidate is not None and candidate.is_authenticated:
            user = candidate
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
        if clinic_id is None:
            clinic_id = getattr(obj, "clinic_id", None)
    if clinic_id is None and user is not None:
        clinic_id = user.clinic_id
    return AccessEvent.objects.create(
        user=user,
        username=(user.get_username() if user is not None else username)[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id != "" else "",
        clinic_id=clinic_id,
        ip_address=client_ip(request),
        outcome=outcome,
        reason=reason[:100],
    )


@dataclass
class _RequestAccessLog:
    """What a view tells the decorator about the record it handled."""

    obj: object | None = None
    object_type: str = ""
    object_id: str = ""

    def subject(self, obj) -> None:
        """The record this request showed, changed, printed or exported.

        A second subject replaces the record looked up first, and the name ``attempted``
        gave it: a request that looked up a client and then created a screening is logged as
        the screening it created, not as the client."""
        if self.obj is not None:
            self.object_type = ""
            self.object_id = ""
        self.obj = obj

    def attempted(self, object_type: str, object_id) -> None:
        """The record the request asked for, before it is known to exist or be allowed."""
        self.object_type = object_type
        self.object_id = str(object_id)


READ_METHODS = ("GET", "HEAD")


def access_logged(action: str, *, on_read: str | None = None):
    """Decorate a view so that each request writes exactly one access-log row.

    ``on_read``: the action for a GET (or HEAD) of a view that also takes the POST that
    ``action`` names. A form that is only opened shows the record and changes nothing, so it
    is a ``view``, as on the client's edit form, feedback and attendance (which split GET and
    POST into two views): ``@access_logged(Action.CREATE, on_read=Action.VIEW)``.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            request.access_log = _RequestAccessLog()
            logged = on_read if on_read and request.method in READ_METHODS else action
            try:
                response = view(request, *args, **kwargs)
            except Http404:
                _write(request, logged, AccessEvent.Outcome.NOT_FOUND)
                raise
            except PermissionDenied:
                _write(request, logged, AccessEvent.Outcome.DENIED)
                raise
            if response.status_code >= 400:
                _write(request, logged, AccessEvent.Outcome.FAILURE)
            else:
                _write(request, logged, AccessEvent.Outcome.SUCCESS)
            return response

        return wrapper

    return decorator


def access_checked(view):
    """Decorate a view that checks access to a client's record but shows none of it: the
    screening's live decision, computed from the answers posted, says nothing about the
    client. It writes no row when it answers (six or seven "views" of one screening were only
    noise in the log), but a request refused or for another clinic's record is logged as a
    ``view`` attempt, so that probing still leaves a trace."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        request.access_log = _RequestAccessLog()
        try:
            return view(request, *args, **kwargs)
        except Http404:
            _write(request, AccessEvent.Action.VIEW, AccessEvent.Outcome.NOT_FOUND)
            raise
        except PermissionDenied:
            _write(request, AccessEvent.Action.VIEW, AccessEvent.Outcome.DENIED)
            raise

    return wrapper


def _write(request, action, outcome):
    log = request.access_log
    record(
        request,
        action,
        obj=log.obj,
        object_type=log.object_type,
        object_id=log.object_id,
        outcome=outcome,
    )
