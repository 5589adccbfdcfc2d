"""The authentication backend: Django's password check, the user loaded with their clinic."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class StaffBackend(ModelBackend):
    """Django's password backend, loading each request's user with their clinic in one query.

    Every page shows the clinic in its header and scopes its data by it.
    """

    def get_user(self, user_id):
        try:
            user = get_user_model()._default_manager.select_related("clinic").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
