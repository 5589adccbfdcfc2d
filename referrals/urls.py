from django.urls import path

from referrals.views import (
    fhir,
    medication_safety,
    procedure,
    referral,
    screening,
    sheet,
    verification_queue,
    worklist,
)

app_name = "referrals"

urlpatterns = [
    path("screen/<int:client_id>/", screening.screen, name="screen"),
    path("screen/<int:client_id>/decision/", screening.screen_decision, name="screen-decision"),
    path("screenings/<int:pk>/", screening.screening_detail, name="screening"),
    path("screenings/<int:pk>/refer/", screening.start_referral, name="start"),
    path("<int:pk>/", referral.referral_detail, name="detail"),
    path("<int:pk>/client-input/", referral.client_input, name="client-input"),
    path("<int:pk>/groups/", referral.choose_groups, name="groups"),
    path("<int:pk>/groups/find/", referral.find_listing, name="find-listing"),
    path("<int:pk>/sheet/", sheet.client_sheet, name="sheet"),
    # The referral as a FHIR R4 Bundle for the clinic's health record.
    path("<int:pk>/fhir/", fhir.referral_bundle, name="fhir"),
    # VI.C after the referral: the decision about a chosen group that became unsafe.
    path("<int:pk>/vi-c/<int:group_id>/", medication_safety.decide, name="vic-decision"),
    # The procedure VIII.A–K; a step is named by its letter (a to k).
    path("<int:pk>/steps/<str:letter>/done/", procedure.step_done, name="step-done"),
    path(
        "<int:pk>/steps/<str:letter>/not-applicable/",
        procedure.step_not_applicable,
        name="step-not-applicable",
    ),
    path("<int:pk>/steps/c/introduction/", procedure.introduction, name="introduction"),
    path("<int:pk>/steps/h/advocate/", procedure.advocate, name="advocate"),
    path("<int:pk>/steps/k/answer/", procedure.contact_answer, name="contact-answer"),
    path("<int:pk>/follow-ups/", procedure.followup_add, name="followup-add"),
    path(
        "<int:pk>/follow-ups/<int:followup_id>/done/",
        procedure.followup_done,
        name="followup-done",
    ),
    path("<int:pk>/close/", procedure.close, name="close"),
    # VIII.J: the clinic's follow-up schedule (supervisors).
    path("follow-up-schedule/", worklist.followup_schedule, name="followup-schedule"),
    # VII.D: the listings to call, in order of risk and use (it reads the referrals).
    path(
        "verification-queue/",
        verification_queue.verification_queue,
        name="verification-queue",
    ),
]
