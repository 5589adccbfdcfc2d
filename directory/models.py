"""The annotated referral list (policy VII.C–D): groups, their contacts and meetings, taxonomy,
verification, review flags, and the referral resources of VIII.D–E.

Nothing here imports from ``clients`` or ``referrals``: dependencies point into the directory.
"""

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from directory.rules.currency import DEFAULT_CURRENT_MONTHS, current_since, months_before
from directory.search_document import SearchDocument, SearchDocumentField

# A listing not verified within this long is stale (design notes, section 4). The period is the
# setting LISTING_CURRENT_MONTHS (12 by default); this is the default as a length of time.
STALE_AFTER = timedelta(days=365)


def current_months() -> int:
    """VII.D: how many months a successful verification keeps a listing current."""
    return getattr(settings, "LISTING_CURRENT_MONTHS", DEFAULT_CURRENT_MONTHS)


def current_cutoff(today: date | None = None) -> date:
    """The earliest verification date that still makes a listing current today."""
    return current_since(today or timezone.localdate(), current_months())


class NaturalKeyManager(models.Manager):
    """Finds a row by its natural key, so fixtures (the directory seed) need no primary keys."""

    def __init__(self, key_field="slug"):
        super().__init__()
        self.key_field = key_field

    def get_by_natural_key(self, key):
        return self.get(**{self.key_field: key})


class Category(models.Model):
    """The appendix's five headings: a classification separate from the III formats."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    objects = NaturalKeyManager()

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class GroupType(models.Model):
    """Self-help group types A–E of section II (Mallory 1984); several may apply."""

    code = models.CharField(max_length=1, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)

    objects = NaturalKeyManager("code")

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code}. {self.name}"

    def natural_key(self):
        return (self.code,)


class Need(models.Model):
    """What a group helps with; screening's indications suggest needs to match on."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)

    objects = NaturalKeyManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class Language(models.Model):
    code = models.CharField(max_length=12, unique=True, help_text="BCP 47 code, e.g. en, es.")
    name = models.CharField(max_length=60)

    objects = NaturalKeyManager("code")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.code,)


class ServiceArea(models.Model):
    class Kind(models.TextChoices):
        SPA = "spa", "Service Planning Area"
        OUT_OF_COUNTY = "out-of-county", "Outside Los Angeles County"
        COUNTYWIDE = "countywide", "Countywide"
        NATIONAL = "national", "National"

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    spa_number = models.PositiveSmallIntegerField(null=True, blank=True, unique=True)
    order = models.PositiveSmallIntegerField(default=0)

    objects = NaturalKeyManager()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class Format(models.TextChoices):
    """The nine self-help formats of section III."""

    TWELVE_STEP_MH = "III.A", "Twelve-step group for individuals with mental illnesses"
    RECOVERY_INC = "III.B", "Recovery, Inc."
    PRTNS = "III.C", "Project Return: The Next Step program"
    OTHER_MH = "III.D", "Other self-help group for individuals with mental illnesses"
    SURVIVORS = "III.E", "Survivors group"
    TWELVE_STEP_OTHER = "III.F", "Twelve-step group not primarily focused on mental illness"
    ADVOCACY = "III.G", "Client Coalition or other client advocacy group"
    OTHER_NON_MH = "III.H", "Other self-help group not primarily focused on mental illness"
    FAMILY = "III.I", "Group for family members of mental health clients"


class Criterion(models.TextChoices):
    """Section II: a self-help group for DMH referral meets all eight."""

    A = "II.A", "Purpose is personal and/or social growth and change"
    B = "II.B", "Everyone in the group is a peer"
    C = "II.C", "There is sharing and/or interaction among members"
    D = "II.D", "The group is self-governing regarding internal affairs"
    E = "II.E", "Leadership is shared or rotated, not based on professional status"
    F = "II.F", "Not dependent on a particular person for its continued existence"
    G = "II.G", "Dues and fees, if any, are nominal"
    H = "II.H", "May be a component of a larger program (e.g. Recovery Inc., 12-step)"


class GroupQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def current(self):
        """Listings not archived (archived listings stay for the history of referrals)."""
        return self.filter(archived_at__isnull=True)

    def stale(self, today: date | None = None):
        return self.filter(
            models.Q(last_verified_on__isnull=True)
            | models.Q(last_verified_on__lt=current_cutoff(today))
        )

    def verified_current(self, today: date | None = None):
        """VII.D: listings verified within the configured period (the opposite of stale)."""
        return self.filter(last_verified_on__gte=current_cutoff(today))


class Group(models.Model):
    """One listing of the annotated referral list."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        TEMPORARILY_CLOSED = "temporarily-closed", "Temporarily closed"
        INACTIVE = "inactive", "Inactive"
        DEFUNCT = "defunct", "Defunct"

    class MedicationStance(models.TextChoices):
        """VI.C: whether members on prescribed psychiatric medication are full members."""

        # Both limbs of VI.C in one value: either one makes the group unsuitable for a
        # client on appropriately prescribed psychiatric medication.
        AFFIRMING = "affirming", "Treats members on prescribed medication as full members"
        NOT_KNOWN = "not-known", "Not known"
        DISCOURAGES = (
            "discourages",
            (
                "Members encourage stopping psychiatric medication against physician advice, or "
                "members on prescribed medication are not treated as full members"
            ),
        )

    slug = models.SlugField(max_length=120, unique=True)
    name = models.CharField(max_length=200)
    aliases = models.JSONField(
        default=list, blank=True, help_text="Other names the group is known by."
    )
    description = models.TextField(blank=True)
    format = models.CharField(max_length=5, choices=Format.choices)
    is_twelve_step = models.BooleanField(default=False)
    categories = models.ManyToManyField(Category, related_name="groups")
    types = models.ManyToManyField(GroupType, blank=True, related_name="groups")
    needs = models.ManyToManyField(Need, blank=True, related_name="groups")
    languages = models.ManyToManyField(Language, blank=True, related_name="groups")
    service_areas = models.ManyToManyField(ServiceArea, blank=True, related_name="groups")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    medication_stance = models.CharField(
        max_length=20, choices=MedicationStance.choices, default=MedicationStance.NOT_KNOWN
    )
    etiquette_note = models.TextField(blank=True, help_text="VIII.F: what to expect, customs.")
    evidence_note = models.TextField(blank=True, help_text="I.F: evidence of effectiveness.")
    fees_note = models.TextField(blank=True, help_text="II.G: dues and fees, if any.")
    source_note = models.TextField(blank=True, help_text="What the source printed, verbatim.")
    last_verified_on = models.DateField(null=True, blank=True)
    last_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    # The words of the listing's needs (with their synonyms in English and Spanish), languages
    # (named in both) and areas, kept by directory.services.search_terms: a generated column
    # cannot read other tables, so this row-level copy is what the search document indexes.
    search_terms = models.TextField(blank=True, default="", editable=False)
    # The stored, indexed search document (PostgreSQL): see directory.search_document.
    search_document = models.GeneratedField(
        expression=SearchDocument("name", "aliases", "description", "search_terms"),
        output_field=SearchDocumentField(),
        db_persist=True,
        editable=False,
    )
    # Optimistic locking: a save names the version it started from (design notes, section 5).
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        m2m_fields=[categories, types, needs, languages, service_areas],
        excluded_fields=["updated_at", "search_terms", "search_document"],
    )
    objects = GroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [
            ("verify_group", "Can mark a listing verified"),
            ("resolve_reviewflag", "Can resolve review flags"),
            ("view_verification_progress", "Can see how current the list is"),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    def is_stale(self, today: date | None = None) -> bool:
        return self.last_verified_on is None or self.last_verified_on < current_cutoff(today)

    @property
    def current_until(self) -> date | None:
        """The last day the listing stays current, or None when it was never verified."""
        if self.last_verified_on is None:
            return None
        return months_before(self.last_verified_on, -current_months())


class CriterionConfirmation(models.Model):
    """Whether a listing meets one criterion of II.A–H, by whom, when."""

    class Status(models.TextChoices):
        # II: a group for referral meets all eight; "does not meet" is a known failure,
        # "not confirmed" is the absence of knowledge and must not be read as either.
        MEETS = "meets", "Meets"
        DOES_NOT_MEET = "does_not_meet", "Does not meet"
        NOT_CONFIRMED = "not_confirmed", "Not confirmed"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="criteria")
    criterion = models.CharField(max_length=4, choices=Criterion.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NOT_CONFIRMED)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["criterion"]
        constraints = [
            models.UniqueConstraint(fields=["group", "criterion"], name="one_row_per_criterion")
        ]

    def __str__(self):
        return f"{self.group}: {self.criterion}"


class Contact(models.Model):
    """A way to reach a group: a phone (with extension), an email, or a web address."""

    class Kind(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        WEB = "web", "Web address"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    phone = PhoneNumberField(blank=True, region="US")
    extension = models.CharField(max_length=10, blank=True)
    email = models.EmailField(blank=True)
    url = models.URLField(max_length=300, blank=True)
    area_label = models.CharField(
        max_length=120, blank=True, help_text='The area as printed, e.g. "Long Beach".'
    )
    service_areas = models.ManyToManyField(ServiceArea, blank=True, related_name="contacts")
    hours = models.CharField(max_length=200, blank=True)
    person_first_name = models.CharField(
        max_length=60, blank=True, help_text="First name only (anonymity, VIII.C)."
    )
    note = models.CharField(max_length=300, blank=True)
    as_printed = models.CharField(max_length=300, blank=True, help_text="The source's text.")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords(m2m_fields=[service_areas])

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return self.display_value

    @property
    def display_value(self) -> str:
        if self.kind == self.Kind.PHONE:
            number = self.phone.as_national if self.phone else ""
            return f"{number} ext. {self.extension}" if self.extension else number
        return self.email if self.kind == self.Kind.EMAIL else self.url


class Meeting(models.Model):
    """A weekly meeting of a group (the Meeting Guide's shape: weekday, time, types)."""

    class Weekday(models.IntegerChoices):
        # Meeting Guide numbers days from Sunday = 0.
        SUNDAY = 0, "Sunday"
        MONDAY = 1, "Monday"
        TUESDAY = 2, "Tuesday"
        WEDNESDAY = 3, "Wednesday"
        THURSDAY = 4, "Thursday"
        FRIDAY = 5, "Friday"
        SATURDAY = 6, "Saturday"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="meetings")
    name = models.CharField(max_length=200, blank=True)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField(null=True, blank=True)
    # Stable identifier in the Meeting Guide feed; kept from an imported source.
    slug = models.SlugField(max_length=120, blank=True)
    location_name = models.CharField(max_length=200, blank=True)
    # Street line; with city, state and postal code it makes a full address (Meeting Guide,
    # HSDS locations). Empty for an online-only meeting.
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True, default="CA")
    postal_code = models.CharField(max_length=10, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    location_notes = models.TextField(blank=True)
    online_url = models.URLField(max_length=300, blank=True)
    conference_notes = models.TextField(blank=True)
    dial_in = models.CharField(max_length=100, blank=True)
    service_area = models.ForeignKey(
        ServiceArea, on_delete=models.PROTECT, null=True, blank=True, related_name="meetings"
    )
    language = models.ForeignKey(
        Language, on_delete=models.PROTECT, null=True, blank=True, related_name="meetings"
    )
    type_codes = models.JSONField(
        default=list, blank=True, help_text="Meeting Guide type codes, e.g. O, C, BE, X."
    )
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["weekday", "start_time"]
        # The search's area and language filters read which listings meet in an area or a
        # language: the listing's id from the index alone (an index-only scan), not the
        # county's 20,000 meetings.
        indexes = [
            models.Index(fields=["service_area", "group"], name="meeting_area_group"),
            models.Index(fields=["language", "group"], name="meeting_language_group"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__isnull=True)
                | models.Q(end_time__gt=models.F("start_time")),
                name="meeting_ends_after_it_starts",
            )
        ]

    def __str__(self):
        return f"{self.group} {self.get_weekday_display()} {self.start_time:%H:%M}"


class ReferralResource(models.Model):
    """SHARE!, the Friendship Line, the Client Coalition (VIII.D–E): data, not template text."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.URLField(blank=True)
    hours = models.CharField(max_length=120, blank=True)
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    needs_confirmation = models.BooleanField(default=False)
    confirmation_note = models.TextField(blank=True)
    history = HistoricalRecords()

    objects = NaturalKeyManager("key")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.key,)


class ResourcePhone(models.Model):
    resource = models.ForeignKey(ReferralResource, on_delete=models.CASCADE, related_name="phones")
    phone = PhoneNumberField(region="US")
    extension = models.CharField(max_length=10, blank=True)
    label = models.CharField(max_length=120, blank=True)
    as_printed = models.CharField(max_length=120, blank=True)
    source = models.CharField(max_length=60, blank=True, help_text="Where it was printed.")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return f"{self.resource}: {self.phone}"


class ReviewFlag(models.Model):
    """A doubt about a listing or a resource, for a site admin to resolve with a note."""

    class Source(models.TextChoices):
        SEED = "seed", "Found when the 2008 list was transcribed"
        ADMIN = "admin", "Raised by a site admin"
        FEEDBACK = "feedback", "Raised by client feedback"
        CLINICIAN = "clinician", "Reported by a clinician"

    class Outcome(models.TextChoices):
        UNFOUNDED = "unfounded", "Unfounded: the concern was not borne out"
        STANCE_CHANGED = "stance-changed", "Confirmed: the listing's medication stance changed"
        GROUP_REMOVED = "group-removed", "Confirmed: the listing removed from the referral list"

    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="review_flags"
    )
    resource = models.ForeignKey(
        ReferralResource,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="review_flags",
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    summary = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    # True when the doubt is about whether a medicated client is safe there (VI.C).
    concerns_medication = models.BooleanField(default=False)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    # VI.C: what a site admin found about a medication concern. "Unfounded" clears it; "stance
    # changed" leaves the listing's stance to exclude it; "group removed" (the listing archived)
    # stays a confirmed concern for clients already referred there.
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(group__isnull=False) | models.Q(resource__isnull=False),
                name="flag_is_about_something",
            )
        ]
        indexes = [models.Index(fields=["resolved_at"], name="reviewflag_open")]

    def __str__(self):
        return self.summary

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class VerificationCall(models.Model):
    """One attempt to reach a group by phone and check its listing (VII.D)."""

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached the group"
        NO_ANSWER = "no-answer", "No answer"
        VOICEMAIL = "voicemail", "Left a voicemail"
        DISCONNECTED = "disconnected", "Number disconnected"
        WRONG_NUMBER = "wrong-number", "Wrong number"
        GROUP_CLOSED = "group-closed", "The group has closed"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="verification_calls")
    called_on = models.DateField()
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    number_called = models.CharField(max_length=40, blank=True)
    # Who answered, as they put it ("a member", "the secretary"): never a surname (VIII.C).
    spoke_with = models.CharField(max_length=100, blank=True)
    # The two VI.C questions, as answered (yes / no / not-asked).
    encourages_stopping = models.CharField(max_length=10, blank=True)
    full_members = models.CharField(max_length=10, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-called_on", "-id"]
        indexes = [models.Index(fields=["group", "called_on"], name="verificationcall_recent")]

    def __str__(self):
        return f"{self.group} {self.called_on} {self.get_outcome_display()}"


class VerificationLink(models.Model):
    """An e-mailed link that lets a group's contact confirm or correct its listing, once.

    The token in the link is signed and carries this row's id and nonce; the row makes it
    single-use (``used_at``) and expiring (``expires_at``) without anyone signing in.
    """

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="verification_links")
    email = models.EmailField()
    nonce = models.CharField(max_length=32, unique=True)
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self):
        return f"{self.group} -> {self.email}"


class ChangeRequest(models.Model):
    """A correction or a confirmation sent by a group or by the public, for a site admin.

    Nothing in it reaches the catalogue until a site admin accepts it field by field.
    """

    class Source(models.TextChoices):
        PUBLIC_FORM = "public-form", "Suggest-a-change form"
        EMAILED_LINK = "emailed-link", "The group's e-mailed verification link"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        REVIEWED = "reviewed", "Reviewed"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="change_requests")
    source = models.CharField(max_length=20, choices=Source.choices)
    link = models.ForeignKey(
        VerificationLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    sender_name = models.CharField(max_length=100, blank=True)
    sender_email = models.EmailField(blank=True)
    # A keyed hash of the sender's network address: enough to limit the rate, not to find them.
    sender_key = models.CharField(max_length=64, blank=True, db_index=True)
    confirms_all = models.BooleanField(default=False)
    # Field name -> the value proposed (plain text); see directory.rules.change_requests.
    proposed = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    # Field name -> "accepted" / "edited" / "rejected", with the value written when accepted.
    decisions = models.JSONField(default=dict, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["submitted_at", "id"]
        indexes = [models.Index(fields=["state", "submitted_at"], name="changerequest_open")]

    def __str__(self):
        return f"{self.group}: {self.get_source_display()} {self.submitted_at:%Y-%m-%d}"


class CatalogueVersion(models.Model):
    """One row counting every write to the catalogue: what shared reads are cached under.

    Database triggers on every catalogue table bump it (directory/catalogue_version.py), so
    QuerySet.update, bulk_create, COPY and raw SQL count as well as save(): a cache keyed on
    it can never serve a listing as it was before a committed write.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"catalogue version {self.version}"
