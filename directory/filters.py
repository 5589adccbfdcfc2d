"""The clinician's filters over the annotated referral list (policy VII.C–D, VI.C).

Every filter takes one value from a closed list (slugs and codes, so that a URL reads well and
can be shared); anything else makes the form invalid, and the page answers 400 with the message.
Filters that look across a relation use EXISTS or ``IN`` (a subquery), so that no listing appears
twice. The area and language filters, which look across two or three relations, use ``IN``:
PostgreSQL answers both forms alike, but estimates three EXISTS joined by OR at many times their
cost: at the county's 2,000 listings, enough for it to compile the search just in time (JIT),
70 ms spent to save nothing on a query that runs in 12.

The page draws the controls itself (templates/directory/search.html, from :meth:`GroupFilter.
select_menus`), not through the form library's widget templates: those render every option of
every list through a template of its own, which was most of the page's time.
"""

from dataclasses import dataclass

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.forms import BoundField
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField, ModelChoiceIterator

from core.querysets import any_of_ids
from directory.models import (
    Category,
    Contact,
    Format,
    Group,
    GroupType,
    Language,
    Meeting,
    Need,
    ServiceArea,
)
from directory.selectors import browse as selectors
from directory.selectors import search, vocabulary


class CheckboxChoice(forms.CheckboxInput):
    """A checkbox whose submitted value the field checks, so that "?x=nonsense" is an error.

    (Django's own checkbox turns any value into True.) Unticked, it sends nothing; ticked, the
    browser sends "on", the field's one valid choice.
    """

    def __init__(self, attrs=None):
        super().__init__(attrs, check_test=lambda value: value == "on")

    def value_from_datadict(self, data, files, name):
        return data.get(name, "")

    def format_value(self, value):
        return None  # the browser's default value, "on"


class _RowsIterator(ModelChoiceIterator):
    """The choices of a :class:`VocabularyField`, from the rows it has already read."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for row in self.field.rows.values():
            yield self.choice(row)

    def __len__(self):
        extra = (self.field.empty_label is not None) + (self.field.null_label is not None)
        return len(self.field.rows) + extra

    def __bool__(self):
        return self.field.empty_label is not None or bool(self.field.rows)


class VocabularyField(ModelChoiceField):
    """One row of a small vocabulary (needs, headings, types, areas, languages), read once.

    Django's model choice field reads its table each time its options are drawn and once more
    to check a submitted value (``queryset.get``): two queries for a chosen filter. This one
    reads the table once per form, the first time either is needed, and answers both from
    those rows. A value is checked exactly as ``get`` would: equal to a row's key, as text.

    In a :class:`KeptVocabularies` filter set the rows come from the process's memory while
    the catalogue is unchanged (``directory.selectors.vocabulary``): no query at all.
    """

    iterator = _RowsIterator

    def __init__(self, *args, **kwargs):
        self._rows = None
        self.kept_as = (None, None)  # (name, catalogue stamp): set by KeptVocabularies
        super().__init__(*args, **kwargs)

    def __deepcopy__(self, memo):
        copy = super().__deepcopy__(memo)
        copy._rows = None  # each form reads its own rows
        return copy

    @property
    def rows(self) -> dict:
        """The vocabulary's rows in the queryset's order, by their key as text."""
        if self._rows is None:
            name, stamp = self.kept_as
            self._rows = vocabulary.rows_by(name, self.queryset, self.to_field_name or "pk", stamp)
        return self._rows

    def to_python(self, value):
        if self.null_label is not None and value == self.null_value:
            return value
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        try:
            return self.rows[str(value)]
        except KeyError:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            ) from None


class VocabularyFilter(django_filters.ModelChoiceFilter):
    field_class = VocabularyField


# The chosen option's attribute: plain text with nothing to escape.
SELECTED = " selected"


@dataclass(frozen=True)
class SelectMenu:
    """A drop-down filter as the page draws it: the form's field and its options.

    An option is a tuple (value, label, chosen): the template unpacks it in its loop, the
    cheapest way for Django's templates to read a hundred options.
    """

    field: BoundField
    options: list[tuple[str, str, bool]]

    @property
    def options_html(self) -> str:
        """The options as ``<option>`` elements, the chosen one ``selected``: written here in
        one pass, where the template's loop drew a hundred options node by node."""
        return format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((value, SELECTED if chosen else "", label) for value, label, chosen in self.options),
        )


class KeptVocabularies:
    """A filter set whose vocabulary menus, and the listings each area and language reaches,
    are kept in memory while the catalogue stays unchanged, under the version read with the
    request's user (no query of their own)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stamp = vocabulary.stamp_of(getattr(self.request, "user", None))
        self.catalogue_stamp = stamp
        for name, field in self.form.fields.items():
            if isinstance(field, VocabularyField):
                field.kept_as = (f"{type(self).__name__}.{name}", stamp)


TWELVE_STEP_CHOICES = [("yes", "Twelve-step groups only"), ("no", "Groups not based on 12 steps")]


class GroupFilter(KeptVocabularies, django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        max_length=search.MAX_LENGTH,
    )
    need = VocabularyFilter(
        label="Need",
        field_name="needs",
        to_field_name="slug",
        queryset=Need.objects.order_by("name"),
        empty_label="Any need",
    )
    category = VocabularyFilter(
        label="Heading",
        field_name="categories",
        to_field_name="slug",
        queryset=Category.objects.order_by("order", "name"),
        empty_label="Any heading",
    )
    format = django_filters.ChoiceFilter(
        label="Format (III.A–I)", choices=Format.choices, empty_label="Any format"
    )
    type = VocabularyFilter(
        label="Type (A–E)",
        field_name="types",
        to_field_name="code",
        queryset=GroupType.objects.order_by("code"),
        empty_label="Any type",
    )
    area = VocabularyFilter(
        label="Service area",
        method="filter_area",
        to_field_name="slug",
        queryset=ServiceArea.objects.order_by("order", "name"),
        empty_label="Anywhere",
    )
    language = VocabularyFilter(
        label="Language",
        method="filter_language",
        to_field_name="code",
        queryset=Language.objects.order_by("name"),
        empty_label="Any language",
    )
    weekday = django_filters.ChoiceFilter(
        label="Meets on",
        method="filter_weekday",
        choices=[(str(day), label) for day, label in Meeting.Weekday.choices],
        empty_label="Any day",
    )
    twelve_step = django_filters.ChoiceFilter(
        label="12-step",
        method="filter_twelve_step",
        choices=TWELVE_STEP_CHOICES,
        empty_label="12-step or not",
    )
    medication_affirming = django_filters.ChoiceFilter(
        label="Only groups known to affirm members on prescribed medication (VI.C)",
        method="filter_medication_affirming",
        choices=[("on", "Yes")],
        widget=CheckboxChoice,
    )

    class Meta:
        model = Group
        fields = []

    def filter_search(self, queryset, name, value):
        return search.search_groups(queryset, value)

    def filter_area(self, queryset, name, area):
        """Listings that serve the area: the listing itself, one of its contacts or meetings.

        A countywide or national listing serves every Service Planning Area in the county.
        """
        covering = selectors.covering_ids(area, self.form.fields["area"].rows.values())
        stamp = getattr(self, "catalogue_stamp", None)
        if stamp is not None:  # the same listings, kept in memory (KeptVocabularies)
            by_area = vocabulary.listings_by_area(stamp)
            reached = set().union(*(by_area.get(pk, ()) for pk in covering))
            return queryset.filter(pk__in=any_of_ids(reached))
        return queryset.filter(
            Q(
                pk__in=Group.service_areas.through.objects.filter(
                    servicearea_id__in=covering
                ).values("group_id")
            )
            | Q(
                pk__in=Contact.service_areas.through.objects.filter(
                    servicearea_id__in=covering
                ).values("contact__group_id")
            )
            | Q(pk__in=Meeting.objects.filter(service_area_id__in=covering).values("group_id"))
        )

    def filter_language(self, queryset, name, language):
        """Listings in the language, or with a meeting held in it."""
        stamp = getattr(self, "catalogue_stamp", None)
        if stamp is not None:  # the same listings, kept in memory (KeptVocabularies)
            reached = vocabulary.listings_by_language(stamp).get(language.pk, ())
            return queryset.filter(pk__in=any_of_ids(reached))
        return queryset.filter(
            Q(
                pk__in=Group.languages.through.objects.filter(language_id=language.pk).values(
                    "group_id"
                )
            )
            | Q(pk__in=Meeting.objects.filter(language_id=language.pk).values("group_id"))
        )

    def filter_weekday(self, queryset, name, weekday):
        return queryset.filter(
            Exists(Meeting.objects.filter(group_id=OuterRef("pk"), weekday=int(weekday)))
        )

    def filter_twelve_step(self, queryset, name, value):
        return queryset.filter(is_twelve_step=(value == "yes"))

    def filter_medication_affirming(self, queryset, name, value):
        # VI.C: for a client on prescribed psychiatric medication, only groups known to treat
        # medicated members as full members. "Not known" is left out as well.
        if value != "on":
            return queryset
        return queryset.filter(medication_stance=Group.MedicationStance.AFFIRMING)

    def select_menus(self) -> list[SelectMenu]:
        """The drop-down filters with their options, the chosen one marked, in the form's order.

        The option marked is the one whose value is the submitted text, as Django's select
        widget marks it: none when the value is not in the list (the page then answers 400).
        """
        menus = []
        for field in self.form:
            if not isinstance(field.field.widget, forms.Select):
                continue
            current = field.value()
            current = "" if current is None else str(current)
            options = [
                (str(value), str(label), str(value) == current)
                for value, label in field.field.choices
            ]
            menus.append(SelectMenu(field, options))
        return menus

    @property
    def chosen_area(self):
        """The service area chosen, if the form is valid and one was."""
        if self.is_bound and self.form.is_valid():
            return self.form.cleaned_data.get("area")
        return None

    @property
    def covering_area_ids(self) -> list[int] | None:
        """The ids of the chosen area and of the wider areas serving it, from the menu's rows
        (no query); None without a chosen area."""
        area = self.chosen_area
        if area is None:
            return None
        return selectors.covering_ids(area, self.form.fields["area"].rows.values())


class PublicGroupFilter(django_filters.FilterSet):
    """The public directory's search (VII.A): words, need, area, language and day.

    The same searches as the clinician's (the search selector and :class:`GroupFilter`'s
    lookups), with labels in the reader's language; the clinical filters (format, type,
    heading, 12-step, VI.C) stay on the staff page.
    """

    q = django_filters.CharFilter(
        label=_("Search"), method="filter_search", max_length=search.MAX_LENGTH
    )
    need = VocabularyFilter(
        label=_("Help with"),
        field_name="needs",
        to_field_name="slug",
        queryset=Need.objects.order_by("name"),
        empty_label=_("Anything"),
    )
    area = VocabularyFilter(
        label=_("Area"),
        method="filter_area",
        to_field_name="slug",
        queryset=ServiceArea.objects.order_by("order", "name"),
        empty_label=_("Anywhere"),
    )
    language = VocabularyFilter(
        label=_("Language"),
        method="filter_language",
        to_field_name="code",
        queryset=Language.objects.order_by("name"),
        empty_label=_("Any language"),
    )
    weekday = django_filters.ChoiceFilter(
        label=_("Meets on"),
        method="filter_weekday",
        choices=[(str(day), _(label)) for day, label in Meeting.Weekday.choices],
        empty_label=_("Any day"),
    )

    class Meta:
        model = Group
        fields = []

    filter_search = GroupFilter.filter_search
    filter_area = GroupFilter.filter_area
    filter_language = GroupFilter.filter_language
    filter_weekday = GroupFilter.filter_weekday
    select_menus = GroupFilter.select_menus
    chosen_area = GroupFilter.chosen_area
    covering_area_ids = GroupFilter.covering_area_ids
