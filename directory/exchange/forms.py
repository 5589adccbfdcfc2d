"""The upload and confirmation forms of the imports. They validate; they write nothing."""

from django import forms

from core import widgets
from directory.exchange.uploads import MAX_BYTES, describe_size
from directory.models import Group


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            f"UTF-8 text (Excel: “CSV UTF-8”), at most {describe_size(MAX_BYTES)}, with the "
            "export's columns."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {describe_size(upload.size)}; the limit is "
                f"{describe_size(MAX_BYTES)}."
            )
        return upload


class MeetingUploadForm(UploadForm):
    # Every current listing (2,000 in the county): only the two columns the options show, and
    # written out without a template per option (core/widgets.py).
    listing = forms.ModelChoiceField(
        queryset=Group.objects.current().order_by("name").only("pk", "name"),
        widget=widgets.Select,
        required=False,
        label="Listing the meetings belong to",
        empty_label="Each meeting's “group” names its listing",
        help_text=(
            "Choose a listing when the whole file is one group's schedule; otherwise each "
            "meeting's group field must be the name of a current listing."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].label = "Meeting Guide JSON file"
        self.fields["file"].help_text = (
            f"A JSON array of meetings (code4recovery's Meeting Guide format), UTF-8, at most "
            f"{describe_size(MAX_BYTES)}."
        )
        self.fields["file"].widget.attrs["accept"] = ".json,application/json"


class ConfirmForm(forms.Form):
    """All the confirmation carries: which kept upload, and the hash of its text."""

    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    sha256 = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)
