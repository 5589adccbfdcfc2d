"""Every route of clients: the register under /clients/, the IX documentation under /referrals/.

The documentation pages kept the addresses they had when they lived with the referrals, so this
module is included at the site's root and spells out both prefixes.
"""

from django.urls import path

from clients.views import (
    attendance,
    clients,
    feedback,
    part2_consents,
    peer_contacts,
    record_note,
    review,
)

app_name = "clients"

# Clients are addressed by database id only: no names or record numbers in any address.
urlpatterns = [
    path("clients/", clients.client_list, name="list"),
    path("clients/find/", clients.client_find, name="find"),
    path("clients/new/", clients.client_create, name="new"),
    path("clients/<int:pk>/", clients.client_detail, name="detail"),
    path("clients/<int:pk>/edit/", clients.client_edit, name="edit"),
    path("clients/<int:pk>/feedback/new/", feedback.feedback_create, name="feedback-new"),
    # 42 CFR Part 2: the client's consents to disclose substance-use information.
    path(
        "clients/<int:pk>/part2-consents/",
        part2_consents.part2_consents,
        name="part2-consents",
    ),
    path("clients/peer-contacts/", peer_contacts.peer_contact_list, name="peer-contacts"),
    path(
        "clients/peer-contacts/<int:pk>/withdraw/",
        peer_contacts.peer_contact_withdraw,
        name="peer-contact-withdraw",
    ),
    # IX.A–B: the note for the clinical record, for a period (?start=&end=, ISO dates).
    path("referrals/record-note/<int:client_id>/", record_note.record_note, name="record-note"),
    path(
        "referrals/record-note/<int:client_id>/note.txt",
        record_note.record_note_text,
        name="record-note-text",
    ),
    # IX.A–B: the supervisor's review of their clinic's documentation, sign-off and CSV.
    path("referrals/review/", review.review_page, name="review"),
    path("referrals/review/export.csv", review.review_export, name="review-export"),
    path("referrals/review/sign-off/", review.sign_off, name="review-sign-off"),
    # IX.A: document attendance (one group, several dates) from the client's page.
    path("referrals/attendance/<int:client_id>/new/", attendance.record, name="attendance-new"),
]
