from django.urls import path

from referrals import (
    views,
    views_attendance,
    views_procedure,
    views_record_note,
    views_review,
    views_sheet,
    views_worklist,
)

app_name = "referrals"

urlpatterns = [
    path("screen/<int:client_id>/", views.screen, name="screen"),
    path("screen/<int:client_id>/decision/", views.screen_decision, name="screen-decision"),
    path("screenings/<int:pk>/", views.screening_detail, name="screening"),
    path("screenings/<int:pk>/refer/", views.start_referral, name="start"),
    path("<int:pk>/", views.referral_detail, name="detail"),
    path("<int:pk>/client-input/", views.client_input, name="client-input"),
    path("<int:pk>/groups/", views.choose_groups, name="groups"),
    path("<int:pk>/sheet/", views_sheet.client_sheet, name="sheet"),
    # The procedure VIII.A–K; a step is named by its letter (a to k).
    path("<int:pk>/steps/<str:letter>/done/", views_procedure.step_done, name="step-done"),
    path(
        "<int:pk>/steps/<str:letter>/not-applicable/",
        views_procedure.step_not_applicable,
        name="step-not-applicable",
    ),
    path("<int:pk>/steps/c/introduction/", views_procedure.introduction, name="introduction"),
    path("<int:pk>/steps/h/advocate/", views_procedure.advocate, name="advocate"),
    path("<int:pk>/steps/k/answer/", views_procedure.contact_answer, name="contact-answer"),
    path("<int:pk>/follow-ups/", views_procedure.followup_add, name="followup-add"),
    path(
        "<int:pk>/follow-ups/<int:followup_id>/done/",
        views_procedure.followup_done,
        name="followup-done",
    ),
    path("<int:pk>/close/", views_procedure.close, name="close"),
    # VIII.J: the clinic's follow-up schedule (supervisors).
    path("follow-up-schedule/", views_worklist.followup_schedule, name="followup-schedule"),
    # IX.A–B: the note for the clinical record, for a period (?start=&end=, ISO dates).
    path("record-note/<int:client_id>/", views_record_note.record_note, name="record-note"),
    path(
        "record-note/<int:client_id>/note.txt",
        views_record_note.record_note_text,
        name="record-note-text",
    ),
    # IX.A–B: the supervisor's review of their clinic's documentation, sign-off and CSV.
    path("review/", views_review.review_page, name="review"),
    path("review/export.csv", views_review.review_export, name="review-export"),
    path("review/sign-off/", views_review.sign_off, name="review-sign-off"),
    # IX.A: document attendance (one group, several dates) from the client's page.
    path("attendance/<int:client_id>/new/", views_attendance.record, name="attendance-new"),
]
