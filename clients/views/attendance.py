"""Document attendance (IX.A) from the client's page: one group, one or several dates at once.

``/referrals/attendance/<client_id>/new/``: the clinician chooses the group (those chosen for
the client's referrals first, then any current listing), types the dates, attended or missed, the
meeting when known, whether a peer advocate went along (VIII.H) and how it became known. The form
reads the input (real dates, a current listing, a meeting of that group) and checks the dates it
could read against the record with ``attendance.problems_for`` (the future, duplicates, before the
referral without a reason, the meeting's weekday), so that every problem is listed at once;
``attendance_services.record_attendance`` checks again (it is the authority) and saves all the dates
or none. Refusals answer 400 with every problem listed beside its field and the input kept; nothing
is saved.

Roles and tenancy: clinicians only (``clients.add_attendance``; supervisors may view the
client's page but not record). A client of another clinic answers 404, like one that does not
exist, and the access log records the id asked for. The access log: the form, when opened,
writes one ``view`` row for the client (it shows the client's name and groups); sending it
writes one ``create`` row, saved or refused.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.access_log import access_logged
from accounts.models import AccessEvent
from accounts.permissions import permission_required
from clients.models import Attendance
from clients.rules import attendance as attendance_rules
from clients.selectors import attendance
from clients.services import attendance as attendance_services
from config import widgets
from directory.models import Group
from referrals.selectors import referral as selectors

YES, NO = "yes", "no"


def _meeting_label(meeting) -> str:
    start = meeting.start_time
    noon = "a.m." if start.hour < 12 else "p.m."
    when = f"{meeting.get_weekday_display()} {start.hour % 12 or 12}:{start:%M} {noon}"
    where = meeting.name or meeting.location_name or ("Online" if meeting.online_url else "")
    return f"{when}, {where}" if where else when


class AttendanceForm(forms.Form):
    """IX.A: one group, several dates. Validation only; ``record_attendance`` saves."""

    group = forms.TypedChoiceField(
        label="Group",
        coerce=int,
        # Every current listing (2,000 in the county): written out without a template each.
        widget=widgets.Select,
        error_messages={
            "required": "Choose the group.",
            "invalid_choice": (
                "That listing does not exist or has been archived. Choose a group from the list."
            ),
        },
    )
    dates = forms.CharField(
        label="Dates of the meetings",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "2026-06-02\n6/9/2026"}),
        help_text=(
            "One date a line (or separated by commas), as 2026-06-02 or 6/2/2026. "
            f"Up to {attendance_rules.MAX_DATES} at a time; each must have happened already."
        ),
        error_messages={"required": "Enter at least one date."},
    )
    status = forms.ChoiceField(
        label="The client",
        choices=Attendance.Status.choices,
        initial=Attendance.Status.ATTENDED,
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether the client attended or missed."},
    )
    meeting = forms.TypedChoiceField(
        label="Which meeting",
        coerce=int,
        required=False,
        widget=widgets.Select,  # up to 200 meetings (attendance.form_meetings)
        empty_value=None,
        help_text="When known. The directory's meetings of the client's groups.",
        error_messages={"invalid_choice": "Choose one of the group's meetings, or “Not known”."},
    )
    accompanied = forms.TypedChoiceField(
        label="A peer advocate went with the client (VIII.H)",
        choices=[(NO, "No"), (YES, "Yes")],
        coerce=lambda value: value == YES,
        initial=NO,
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether a peer advocate went with the client."},
    )
    source = forms.ChoiceField(
        label="How it became known",
        choices=Attendance.Source.choices,
        initial=Attendance.Source.CLIENT,
        widget=forms.RadioSelect,
        error_messages={"required": "Say how the attendance became known."},
    )
    before_referral_reason = forms.CharField(
        label="Reason for dates before the referral",
        max_length=200,
        required=False,
        help_text=(
            "Only for dates before the client was referred to this group: for example, "
            "“the client was already going”."
        ),
    )

    def __init__(self, *args, client, today, referred, others, meetings, **kwargs):
        super().__init__(*args, **kwargs)
        self.client, self.today = client, today
        self._parsed: list = []
        group_choices: list = [("", "Choose a group")]
        if referred:
            group_choices.append(("Chosen for this client's referrals", referred))
        if others:
            group_choices.append(("Other listings in the directory", others))
        self.fields["group"].choices = group_choices
        by_group: dict[str, list] = {}
        for meeting in meetings:
            by_group.setdefault(meeting.group.name, []).append(
                (meeting.pk, _meeting_label(meeting))
            )
        self.fields["meeting"].choices = [("", "Not known"), *by_group.items()]
        self._meetings = {m.pk: m for m in meetings}

    def clean_dates(self):
        # The dates that could be read are kept for ``clean``, which checks them against the
        # record too: every problem is listed at once, not the unreadable ones first.
        self._parsed, problems = attendance_rules.parse_dates(self.cleaned_data["dates"])
        if problems:
            raise forms.ValidationError([p.message for p in problems])
        return self._parsed

    def clean_group(self):
        # The choice was listed as current when the page was made; it may have been archived
        # since (or the id was edited): look again.
        group = Group.objects.current().filter(pk=self.cleaned_data["group"]).first()
        if group is None:
            raise forms.ValidationError(self.fields["group"].error_messages["invalid_choice"])
        return group

    def clean_meeting(self):
        pk = self.cleaned_data["meeting"]
        return None if pk is None else self._meetings[pk]

    def clean(self):
        data = super().clean()
        group, meeting = data.get("group"), data.get("meeting")
        if group is not None and meeting is not None and meeting.group_id != group.pk:
            self.add_error(
                "meeting", "That meeting is another group's. Choose one of this group's."
            )
            meeting = None
        if self._parsed:
            problems, _ = attendance.problems_for(
                client=self.client,
                group=group,
                dates=self._parsed,
                today=self.today,
                meeting=meeting,
                reason=data.get("before_referral_reason") or "",
            )
            for problem in problems:
                field = problem.field if problem.field in self.fields else None
                if problem.message not in self.errors.get(field or "__all__", []):
                    self.add_error(field, problem.message)
        return data


def _form(client, data=None, *, today) -> AttendanceForm:
    referred, others = attendance.form_groups(client)
    group_ids = [pk for pk, _ in referred]
    posted = (data or {}).get("group", "")
    if posted.isdecimal():
        group_ids.append(int(posted))  # so the meeting of another listing can be named too
    return AttendanceForm(
        data,
        client=client,
        today=today,
        referred=referred,
        others=others,
        meetings=attendance.form_meetings(group_ids),
    )


def _client(request, client_id: int):
    request.access_log.attempted("client", client_id)
    client = selectors.client_for(request.user, client_id)  # 404 for another clinic's
    request.access_log.subject(client)
    return client


def _page(request, client, form, *, status=200):
    return render(
        request,
        "clients/attendance_form.html",
        {"client": client, "form": form, "today": timezone.localdate()},
        status=status,
    )


@permission_required("clients.add_attendance")
@require_http_methods(["GET", "POST"])
def record(request, client_id: int):
    if request.method == "POST":
        return _save(request, client_id)
    return _show(request, client_id)


@access_logged(AccessEvent.Action.VIEW)
def _show(request, client_id: int):
    client = _client(request, client_id)
    return _page(request, client, _form(client, today=timezone.localdate()))


@access_logged(AccessEvent.Action.CREATE)
def _save(request, client_id: int):
    client = _client(request, client_id)
    today = timezone.localdate()
    form = _form(client, request.POST, today=today)
    if not form.is_valid():
        return _page(request, client, form, status=400)
    data = form.cleaned_data
    try:
        rows = attendance_services.record_attendance(
            client=client,
            group=data["group"],
            dates=data["dates"],
            status=data["status"],
            meeting=data["meeting"],
            accompanied=data["accompanied"],
            source=data["source"],
            before_referral_reason=data["before_referral_reason"],
            by=request.user,
            today=today,
        )
    except attendance_rules.AttendanceRefused as refused:
        for problem in refused.problems:
            form.add_error(problem.field if problem.field in form.fields else None, problem.message)
        return _page(request, client, form, status=400)
    # No names in the message: messages may travel in a cookie.
    count = len(rows)
    messages.success(request, f"{count} meeting{'s' if count != 1 else ''} documented.")
    return redirect(reverse("clients:detail", kwargs={"pk": client.pk}) + "#attendance")
