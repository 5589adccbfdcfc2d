"""Database sessions in ``accounts.StaffSession``, which records the signed-in user.

Django's own database backend stores sessions as opaque blobs; finding one person's sessions
would mean decoding every row. Keeping the user id beside the blob (the pattern Django documents
for extending session backends) lets disabling an account end all of its sessions on the
server with one indexed delete.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY_CHARS = frozenset(VALID_KEY_CHARS)


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        """Django's own rule (a key of 8 or more characters) and only the characters Django
        makes keys of: a cookie with any other (a NUL, which PostgreSQL refuses with a 500
        before the lookup can say "no such session") is no session, so sign in again."""
        return super()._validate_session_key(key) and _KEY_CHARS.issuperset(key)

    @classmethod
    def get_model_class(cls):
        from accounts.models import StaffSession

        return StaffSession

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        try:
            instance.user_id = int(data.get("_auth_user_id"))
        except (TypeError, ValueError):
            instance.user_id = None
        return instance
