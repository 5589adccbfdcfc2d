"""The signed-in person's permission set, kept in their session while roles stay unchanged.

Django's ``ModelBackend`` reads a user's permissions with two queries (their own, their
roles') once per request. The set changes only when a role or a permission changes, so it is
kept in the session beside the version of roles and permissions it was read at
(``PermissionsVersion``, bumped by database triggers on every write to the tables a permission
check reads, however the write is made). Each request reads the current version with the user
(``StaffBackend.get_user``, no query of its own) and uses the kept set only if both versions
agree: a revoked role or permission takes effect on the very next request, in every session.

Superusers and inactive accounts: ``is_superuser`` is part of what the set is kept under
(it is read from the user's row on every request); an inactive account has no session.
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from core import version_triggers

VERSION_TABLE = "accounts_permissionsversion"
FUNCTION = "accounts_permissions_changed"
PREFIX = "permissions_changed"
SESSION_KEY = "_permission_set"
VERSION_ATTRIBUTE = "permissions_version"  # annotated on the user by StaffBackend.get_user


def permission_tables() -> list[str]:
    """The tables whose rows decide what ``ModelBackend`` answers."""
    user_model = apps.get_model("accounts", "User")
    return sorted(
        {
            user_model.groups.through._meta.db_table,
            user_model.user_permissions.through._meta.db_table,
            Group.permissions.through._meta.db_table,
            Group._meta.db_table,
            Permission._meta.db_table,
            ContentType._meta.db_table,
        }
    )


def trigger_name(table: str, operation: str = "") -> str:
    return version_triggers.trigger_name(PREFIX, table, operation)


def install(using: str = "default") -> None:
    version_triggers.install(
        version_table=VERSION_TABLE,
        function=FUNCTION,
        prefix=PREFIX,
        tables=permission_tables(),
        using=using,
    )


def on_post_migrate(sender, using="default", **kwargs) -> None:
    if sender.name == "accounts":
        install(using)


def _stamp(user) -> list | None:
    version = getattr(user, VERSION_ATTRIBUTE, None)
    if version is None:
        return None  # a user not loaded by StaffBackend.get_user: nothing to check against
    return [user.pk, version, bool(user.is_superuser)]


def restore(session, user) -> bool:
    """Give ``user`` the set kept in ``session`` if it was read at the current version."""
    stamp = _stamp(user)
    kept = session.get(SESSION_KEY)
    if stamp is None or not isinstance(kept, dict) or kept.get("stamp") != stamp:
        return False
    own, roles = set(kept["user"]), set(kept["group"])
    user._user_perm_cache = own
    user._group_perm_cache = roles
    user._perm_cache = own | roles
    return True


def current_version() -> int:
    from accounts.models import PermissionsVersion

    row = PermissionsVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return row or 0


def keep_at_sign_in(session, user) -> None:
    """Read the set as the person signs in (that request writes the session anyway), so that
    their pages read it from the session from the first one on.

    The version is read before the set: a change committed in between leaves the set under
    the older version, which the next request finds stale and reads again, never the reverse.
    """
    setattr(user, VERSION_ATTRIBUTE, current_version())
    user.get_all_permissions()
    keep(session, user)


def keep(session, user) -> None:
    """Keep the set this request read (if it read one) in ``session``, under its version."""
    stamp = _stamp(user)
    if stamp is None:
        return
    own = getattr(user, "_user_perm_cache", None)
    roles = getattr(user, "_group_perm_cache", None)
    if own is None or roles is None:
        return  # no permission was checked, or only part of the set was read
    kept = session.get(SESSION_KEY)
    if isinstance(kept, dict) and kept.get("stamp") == stamp:
        return  # already there: no session write
    session[SESSION_KEY] = {"stamp": stamp, "user": sorted(own), "group": sorted(roles)}
