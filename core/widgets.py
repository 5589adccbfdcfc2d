"""Form widgets for long lists.

``widgets.Select`` is Django's ``Select`` written out in Python with ``format_html`` instead of
through a template per option. The forms that let a clinician choose any listing of the
directory (attendance, feedback, a Meeting Guide import) hold every current listing: 2,000 in
the county. Django's ``select.html`` includes ``select_option.html`` (which includes
``attrs.html``) for each option; measured on the county data (generate_scale_data --scale
county), the attendance and feedback forms took about 400 ms, most of it those templates. Here
a few milliseconds. The markup is the template's own, character for character, every value
escaped as the template escapes it (tests/unit/core/test_widgets.py), so crispy-forms, labels,
errors and tests see no change.
"""

from __future__ import annotations

from django import forms
from django.utils.html import format_html, format_html_join
from phonenumber_field.phonenumber import PhoneNumber, to_python
from phonenumber_field.widgets import RegionalPhoneNumberWidget

# The option's only attribute: a Select's options inherit none (``option_inherits_attrs``).
SELECTED = format_html(" {}", "selected")


def _attrs(attrs: dict):
    """``django/forms/widgets/attrs.html``: `` name="value"``, a bare name for True, nothing
    for False, in the dictionary's order."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


def _options(options: list):
    return format_html_join(
        "",
        '\n  <option value="{}"{}>{}</option>\n',
        (
            (str(option["value"]), SELECTED if option["selected"] else "", option["label"])
            for option in options
        ),
    )


class Select(forms.Select):
    """``forms.Select`` with the same markup, written out without a template per option.

    Named ``Select`` like Django's: crispy-forms gives a field's tag its widget's class name
    as a CSS class (``class="select form-select"``), which stays as it was.
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [
            format_html('\n  <optgroup label="{}">{}\n  </optgroup>', label, _options(options))
            if label
            else _options(options)
            for label, options, _index in widget["optgroups"]
        ]
        return format_html(
            '<select name="{}"{}>{}\n</select>',
            widget["name"],
            _attrs(widget["attrs"]),
            format_html_join("", "{}", ((part,) for part in parts)),
        )


class PhoneInput(RegionalPhoneNumberWidget):
    """A phone number shown in the national format once valid, and exactly as typed otherwise.

    phonenumber-field's widget reformats whatever it is given; an invalid number came back
    stripped of its punctuation ("213-385-59" as "21338559"), so the message spoke of a number
    the clinician had not typed.
    """

    def format_value(self, value):
        if isinstance(value, str):
            number = to_python(value, region=self.region)
            if not (isinstance(number, PhoneNumber) and number.is_valid()):
                return value
        return super().format_value(value)
