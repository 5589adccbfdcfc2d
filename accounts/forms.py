"""The account forms: sign-in, the second-factor code, enrolling an app, the access-log filter."""

from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from accounts.models import AccessEvent
from accounts.selectors import access_log as access_log_selectors
from core import widgets


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": (
            "That username and password do not match an active account. Both are "
            "case-sensitive. After 5 failed attempts the account is locked for a few minutes."
        ),
        "inactive": "This account is disabled.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=16,
        help_text=(
            "The 6-digit code your authenticator app shows now, or one of your backup codes."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_token(self):
        # People type codes with spaces ("123 456"); the devices expect them without.
        token = "".join(self.cleaned_data["token"].split())
        if not token.isalnum():
            raise forms.ValidationError("A code has only digits and letters.")
        return token


class EnrolmentForm(forms.Form):
    enrolment_code = forms.CharField(
        label="Enrolment code",
        max_length=20,
        help_text=("The one-time code your supervisor or administrator gave you (valid 72 hours)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        help_text="Scan the QR code, then type the 6-digit code the app shows.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self):
        token = "".join(self.cleaned_data["token"].split())
        if not (token.isdigit() and len(token) == 6):
            raise forms.ValidationError("Enter the 6 digits the app shows.")
        return token


class ConfirmPasswordForm(forms.Form):
    """The password again, before an action a stolen session must not take alone."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password. Nothing was changed.")
        return password


class IssueEnrolmentCodeForm(forms.Form):
    """The person of the supervisor's clinic who gets a new enrolment code."""

    user = forms.ModelChoiceField(queryset=None, label="Staff member")

    def __init__(self, *args, staff_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff_queryset


class AccessEventFilter(django_filters.FilterSet):
    """The supervisor's filters over their clinic's access log."""

    # The clinic's staff, a hundred people in a large clinic: options written in Python
    # (core/widgets.py), the same markup as Django's template per option.
    user = django_filters.ModelChoiceFilter(
        label="Staff member", queryset=None, widget=widgets.Select
    )
    client_id = django_filters.CharFilter(
        label="Client id", method="filter_client_id", max_length=64
    )
    action = django_filters.ChoiceFilter(choices=AccessEvent.Action.choices, widget=widgets.Select)
    # The dates are the clinic's (Los Angeles) calendar days. They filter as a range of
    # occurred_at, from the day's first moment to the next day's: an index on occurred_at can
    # start from a range, not from "occurred_at's local date <= d" (a function of the column,
    # which made a filter for an old date read the whole clinic's log back to it).
    date_from = django_filters.DateFilter(
        label="From (date)",
        method="filter_date_from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label="To (date)",
        method="filter_date_to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AccessEvent
        fields = ["user", "client_id", "action", "date_from", "date_to"]

    def __init__(self, *args, staff_queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["user"].queryset = staff_queryset

    def filter_client_id(self, queryset, name, value):
        return queryset.filter(access_log_selectors.about_client(value))

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=_start_of_day(value))

    def filter_date_to(self, queryset, name, value):
        if value == date.max:
            return queryset  # every event is on or before the last day there is
        return queryset.filter(occurred_at__lt=_start_of_day(value + timedelta(days=1)))


def _start_of_day(day: date) -> datetime:
    """The first moment of a calendar day in the current time zone (midnight exists every day
    in Los Angeles: the clocks change at 2 a.m.)."""
    return timezone.make_aware(datetime.combine(day, time.min))
