"""``core.widgets.Select`` writes exactly what Django's ``Select`` template writes, for any
labels, groups, chosen value and attributes, every one escaped as the templates escape it:
the long lists of listings render the same, only faster (no template per option)."""

from django import forms
from hypothesis import given
from hypothesis import strategies as st

from core import widgets
from directory.models import Group
from tests.factories.directory import GroupFactory

labels = st.text(max_size=12)  # quotes, ampersands, angle brackets, any Unicode
values = st.integers(0, 50) | st.text(max_size=6)  # ids, or any text (quotes, <, &)
options = st.lists(st.tuples(values, labels), max_size=6)
choices = st.lists(
    st.one_of(
        st.tuples(values, labels),  # an option
        st.tuples(labels.filter(bool), options),  # a group of options
    ),
    max_size=5,
)
attrs = st.none() | st.dictionaries(
    st.sampled_from(["id", "class", "aria-describedby", "required", "disabled", "data-x"]),
    st.one_of(st.booleans(), labels),
)


@given(choices, st.one_of(st.none(), st.integers(0, 50).map(str), st.text(max_size=6)), attrs)
def test_the_markup_is_djangos_own(choice_list, value, attributes):
    choice_list = [("", "Choose a group"), *choice_list]
    expected = forms.Select(choices=choice_list).render("group", value, attributes)
    written = widgets.Select(choices=choice_list).render("group", value, attributes)
    assert written == expected


def test_a_model_choice_field_renders_the_same(db):
    for name in ["Alcoholics Anonymous", "Grupo «Ánimo» & <Co>"]:
        GroupFactory(name=name)
    queryset = Group.objects.order_by("name")
    django_field = forms.ModelChoiceField(queryset=queryset)
    ours = forms.ModelChoiceField(queryset=queryset, widget=widgets.Select)
    chosen = queryset.last().pk
    assert ours.widget.render("listing", chosen, {"id": "id_listing"}) == (
        django_field.widget.render("listing", chosen, {"id": "id_listing"})
    )


def test_an_invalid_phone_number_is_shown_as_typed():
    """The message is about the number the person typed, not a number with its dashes gone."""
    from phonenumber_field.formfields import PhoneNumberField

    class PhoneForm(forms.Form):
        phone = PhoneNumberField(region="US", widget=widgets.PhoneInput)

    invalid = PhoneForm({"phone": "213-385-59"})
    assert not invalid.is_valid()
    assert 'value="213-385-59"' in str(invalid["phone"])
    valid = PhoneForm({"phone": "213-385-5900"})
    assert valid.is_valid()
    assert 'value="(213) 385-5900"' in str(valid["phone"])
