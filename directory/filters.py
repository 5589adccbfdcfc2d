"""The clinician's filters over the annotated referral list (policy VII.C–D, VI.C).

Every filter takes one value from a closed list (slugs and codes, so that a URL reads well and
can be shared); anything else makes the form invalid, and the page answers 400 with the message.
Filters that look across a relation use EXISTS, so that no listing appears twice.
"""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef

from directory import search, selectors
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


TWELVE_STEP_CHOICES = [("yes", "Twelve-step groups only"), ("no", "Groups not based on 12 steps")]


class GroupFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        max_length=search.MAX_LENGTH,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name, need or words from the description",
                "autocomplete": "off",
            }
        ),
    )
    need = django_filters.ModelChoiceFilter(
        label="Need",
        field_name="needs",
        to_field_name="slug",
        queryset=Need.objects.order_by("name"),
        empty_label="Any need",
    )
    category = django_filters.ModelChoiceFilter(
        label="Heading",
        field_name="categories",
        to_field_name="slug",
        queryset=Category.objects.order_by("order", "name"),
        empty_label="Any heading",
    )
    format = django_filters.ChoiceFilter(
        label="Format (III.A–I)", choices=Format.choices, empty_label="Any format"
    )
    type = django_filters.ModelChoiceFilter(
        label="Type (A–E)",
        field_name="types",
        to_field_name="code",
        queryset=GroupType.objects.order_by("code"),
        empty_label="Any type",
    )
    area = django_filters.ModelChoiceFilter(
        label="Service area",
        method="filter_area",
        to_field_name="slug",
        queryset=ServiceArea.objects.order_by("order", "name"),
        empty_label="Anywhere",
    )
    language = django_filters.ModelChoiceFilter(
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
        covering = selectors.areas_covering(area)
        return queryset.filter(
            Exists(
                Group.service_areas.through.objects.filter(
                    group_id=OuterRef("pk"), servicearea_id__in=covering
                )
            )
            | Exists(
                Contact.service_areas.through.objects.filter(
                    contact__group_id=OuterRef("pk"), servicearea_id__in=covering
                )
            )
            | Exists(Meeting.objects.filter(group_id=OuterRef("pk"), service_area_id__in=covering))
        )

    def filter_language(self, queryset, name, language):
        """Listings in the language, or with a meeting held in it."""
        return queryset.filter(
            Exists(
                Group.languages.through.objects.filter(
                    group_id=OuterRef("pk"), language_id=language.pk
                )
            )
            | Exists(Meeting.objects.filter(group_id=OuterRef("pk"), language_id=language.pk))
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

    @property
    def chosen_area(self):
        """The service area chosen, if the form is valid and one was."""
        if self.is_bound and self.form.is_valid():
            return self.form.cleaned_data.get("area")
        return None
