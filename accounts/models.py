"""Clinics, staff and their roles, server-side sessions, and the append-only access log."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone


class ServicePlanningArea(models.IntegerChoices):
    """Los Angeles County's eight Service Planning Areas."""

    ANTELOPE_VALLEY = 1, "SPA 1 – Antelope Valley"
    SAN_FERNANDO = 2, "SPA 2 – San Fernando"
    SAN_GABRIEL = 3, "SPA 3 – San Gabriel"
    METRO = 4, "SPA 4 – Metro"
    WEST = 5, "SPA 5 – West"
    SOUTH = 6, "SPA 6 – South"
    EAST = 7, "SPA 7 – East"
    SOUTH_BAY = 8, "SPA 8 – South Bay/Harbor"


class Clinic(models.Model):
    name = models.CharField(max_length=200, unique=True)
    service_planning_area = models.PositiveSmallIntegerField(choices=ServicePlanningArea.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    """The roles staff hold. Each is a Django group of the same name with its permissions."""

    CLINICIAN = "Clinician", "Clinician"
    SUPERVISOR = "Supervisor", "Supervisor"
    SITE_ADMIN = "Site admin", "Site admin"


class User(AbstractUser):
    """A staff member. Roles are the groups they belong to; a clinic scopes what they see."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = [
            ("use_clinician_home", "Can use the clinician's home"),
            ("use_supervisor_home", "Can use the supervisor's home"),
            ("use_site_admin_home", "Can use the site admin's home"),
            ("view_clinic_access_log", "Can read the access log of their clinic"),
        ]

    def __str__(self):
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username

    def role_names(self) -> list[str]:
        """Names of the roles held, in the order of ``Role``; reads prefetched groups."""
        held = {group.name for group in self.groups.all()}
        return [role.label for role in Role if role.value in held]


class StaffSession(AbstractBaseSession):
    """A database session that knows its user, so a disabled account's sessions can be ended."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sessions",
    )

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore


class PermissionsVersion(models.Model):
    """One row counting every write to roles and permissions: what the permission sets kept in
    sessions are checked against (accounts/permission_cache.py).

    Database triggers bump it on every write to the role memberships, the roles' permissions,
    the users' own permissions, the roles, the permissions and the content types, whichever
    way the write is made (the admin, a migration, ``QuerySet.update``, raw SQL).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"permissions version {self.version}"


class AccessLogIsAppendOnly(Exception):
    """Raised on any attempt to change or remove an access-log row."""


class AccessEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AccessLogIsAppendOnly("The access log cannot be changed.")

    def delete(self):
        raise AccessLogIsAppendOnly("The access log cannot be deleted from.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AccessLogIsAppendOnly("The access log cannot be changed.")

    update.queryset_only = True
    delete.queryset_only = True


class AccessEvent(models.Model):
    """Who did what to which record, when, from where, and how it ended. Never the content."""

    class Action(models.TextChoices):
        VIEW = "view", "View"
        CREATE = "create", "Create"
        EDIT = "edit", "Edit"
        PRINT = "print", "Print"
        EXPORT = "export", "Export"
        SIGN_IN = "sign-in", "Sign-in"
        SIGN_OUT = "sign-out", "Sign-out"
        FAILED_SIGN_IN = "failed-sign-in", "Failed sign-in"
        LOCKOUT = "lockout", "Lockout"
        DENIED = "denied", "Denied"
        # Someone changed a staff account (disable, unlock, reset two-factor, new backup
        # codes, an enrolment code): object_type "user", object_id the account's id.
        ACCOUNT = "account", "Account change"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"
        NOT_FOUND = "not-found", "Not found"

    occurred_at = models.DateTimeField(default=timezone.now, editable=False)
    # The foreign keys have no index of their own: the indexes below begin with them.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # staff are deactivated, never deleted, while they have events
        null=True,
        blank=True,
        related_name="access_events",
        db_index=False,
    )
    # The name as typed, kept for failed sign-ins of names that match no account.
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_events",
        db_index=False,
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.SUCCESS)
    # A short, fixed phrase such as "idle timeout"; never free text about a client.
    reason = models.CharField(max_length=100, blank=True)

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        # The supervisor's page reads a clinic's log newest first, a page at a time from a
        # (occurred_at, id) cursor, filtered by action, client or staff member: each index
        # below gives one of those its rows in that order, so a page stops after its rows
        # whatever the log's size (plans and figures: docs/SCALING.md, "The access log").
        indexes = [
            models.Index(fields=["clinic", "-occurred_at", "-id"], name="access_clinic_time_id"),
            models.Index(
                fields=["clinic", "action", "-occurred_at", "-id"], name="access_clinic_action_time"
            ),
            # Also "who opened this client's record", across clinics (the admin, an audit).
            models.Index(
                fields=["object_type", "object_id", "-occurred_at", "-id"],
                name="access_object_time",
            ),
            # The staff-member filter, and each person's recent sign-ins on every page.
            models.Index(fields=["user", "-occurred_at"], name="access_user_time"),
            # The whole log by time: the admin's list, retention by month.
            models.Index(fields=["-occurred_at"], name="access_time"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.username} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AccessLogIsAppendOnly("The access log cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AccessLogIsAppendOnly("The access log cannot be deleted from.")


class SignInLock(models.Model):
    """Failed sign-ins of one username and its temporary lock (accounts.rules.lockout).

    One row per username typed, known or not (telling them apart would tell an attacker which
    names exist). The sign-in locks this row for the whole attempt, so concurrent guesses
    are counted one after another: five failures mean five password checks.
    """

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveSmallIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Lockouts in a row (the cool-off doubles with each); back to 0 on a successful sign-in.
    lockouts = models.PositiveSmallIntegerField(default=0)

    def __str__(self):
        return self.username


class EnrolmentCode(models.Model):
    """A one-time code a supervisor or superuser gives a person to enrol a second factor.

    Only a hash is kept: the code is shown once, to the person who issued it. A password
    alone cannot enrol (a stolen password would capture the second factor otherwise).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self):
        return f"enrolment code for {self.user_id}, issued {self.issued_at:%Y-%m-%d %H:%M}"
