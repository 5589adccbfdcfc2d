"""Writes to client records: create and edit, each in one transaction, by an acting user.

Every function takes keyword-only arguments and records the acting user ``by`` in the
client's history (django-simple-history), with a change reason, so that the history says who
changed what. The access-log row is the view's (``@access_logged``), not written here.

Two clinicians editing one client (design notes, section 5): ``update_client`` takes the
version the editor loaded and moves it on in one conditional UPDATE, as
``directory.services.update_group`` does for listings; if it had already moved, nothing is
written and ``EditConflict`` is raised with the client as saved now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Clinic
from clients.models import CLIENT_FIELDS, Client, normalise_record_number

# What a clinician sets; never the clinic, the creator or the version.


class EditConflict(Exception):
    """Someone saved the client after this editor loaded it; nothing was written."""

    def __init__(self, current: Client):
        self.current = current
        super().__init__(f"client {current.pk} is at version {current.version}")


class DuplicateRecordNumber(Exception):
    """The clinic already has a client with this record number (caught by the database).

    The form checks first; this is the race between two saves that both passed that check.
    """


def _set_fields(client: Client, data: Mapping[str, Any]) -> None:
    for name in CLIENT_FIELDS:
        if name in data:
            setattr(client, name, data[name])
    client.record_number = normalise_record_number(client.record_number)
    if not client.record_number.isascii():
        # The model's \d would let other scripts' digits through; the county's are 0-9.
        raise ValidationError(
            {"record_number": "A clinical record number is 6 to 10 digits (0-9)."},
            code="invalid_record_number",
        )


def _save(client: Client, *, by, reason: str) -> Client:
    client._history_user = by
    client._change_reason = reason
    try:
        # A savepoint, so that a refused row leaves the surrounding transaction usable.
        with transaction.atomic():
            client.save()
    except IntegrityError as error:
        raise DuplicateRecordNumber(client.record_number) from error
    return client


@transaction.atomic
def create_client(*, clinic: Clinic, data: Mapping[str, Any], by) -> Client:
    """A new client of ``clinic`` (the user's clinic: never taken from the form)."""
    primary = data.get("primary_clinician")
    if primary is not None and primary.clinic_id != clinic.pk:
        # The form offers only the clinic's own clinicians; this guards other callers.
        raise ValueError("The primary clinician must belong to the client's clinic.")
    client = Client(clinic=clinic, created_by=by)
    _set_fields(client, data)
    client.full_clean(exclude=["clinic", "created_by"], validate_constraints=False)
    return _save(client, by=by, reason="Client added")


def update_client(*, client: Client, data: Mapping[str, Any], version: int, by) -> Client:
    """Save an edit of the client made from ``version``.

    Raises ``EditConflict`` (and writes nothing) when the client has been saved since.
    """
    with transaction.atomic():
        # The optimistic lock: one conditional UPDATE. On PostgreSQL a concurrent save waits
        # for this row, then finds the version moved and updates nothing.
        moved_on = Client.objects.filter(pk=client.pk, version=version).update(version=version + 1)
        if not moved_on:
            raise EditConflict(Client.objects.get(pk=client.pk))
        # A fresh copy: the history record copies the instance, and the caller's copy may be
        # stale or already carry the form's values.
        fresh = Client.objects.get(pk=client.pk)
        primary = data.get("primary_clinician")
        if primary is not None and primary.clinic_id != fresh.clinic_id:
            raise ValueError("The primary clinician must belong to the client's clinic.")
        _set_fields(fresh, data)
        fresh.full_clean(exclude=["clinic", "created_by"], validate_constraints=False)
        return _save(fresh, by=by, reason="Client details changed")
