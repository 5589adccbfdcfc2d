"""Querysets shared by the apps whose rows belong to one clinic."""

from django.db import models


class ClinicScopedQuerySet(models.QuerySet):
    """Rows of one clinic: every page that shows a client's record reads through this."""

    def for_clinic(self, clinic_id: int | None):
        # No clinic (an account without one) sees nothing, rather than everything.
        if clinic_id is None:
            return self.none()
        return self.filter(clinic_id=clinic_id)
