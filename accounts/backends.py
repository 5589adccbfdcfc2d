"""The authentication backend: Django's password check, the user loaded with their clinic."""

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import BigIntegerField, Subquery, Value
from django.db.models.functions import Coalesce

from accounts import permission_cache


class StaffBackend(ModelBackend):
    """Django's password backend, loading each request's user with their clinic in one query.

    Every page shows the clinic in its header and scopes its data by it. The same query reads
    the version of roles and permissions, which says whether the permission set kept in the
    session is still current (accounts/permission_cache.py), and the versions named in
    ``settings.VERSIONS_READ_WITH_USER`` (each a one-row table of ``version`` and
    ``changed_at`` bumped by triggers: ``core/version_triggers.py``), as ``<name>`` and
    ``<name>_at``, for what other apps keep in memory under them.
    """

    def get_user(self, user_id):
        from accounts.models import PermissionsVersion

        version = PermissionsVersion.objects.filter(pk=1).values("version")[:1]
        versions = {}
        for name, label in getattr(settings, "VERSIONS_READ_WITH_USER", {}).items():
            row = apps.get_model(label).objects.filter(pk=1)
            versions[name] = Subquery(row.values("version")[:1])
            versions[f"{name}_at"] = Subquery(row.values("changed_at")[:1])
        users = (
            get_user_model()
            ._default_manager.select_related("clinic")
            .annotate(
                **{
                    permission_cache.VERSION_ATTRIBUTE: Coalesce(
                        Subquery(version), Value(0), output_field=BigIntegerField()
                    )
                },
                **versions,
            )
        )
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
