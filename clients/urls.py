from django.urls import path

from clients import views, views_feedback, views_peer_contacts

app_name = "clients"

# Clients are addressed by database id only: no names or record numbers in any address.
urlpatterns = [
    path("", views.client_list, name="list"),
    path("find/", views.client_find, name="find"),
    path("new/", views.client_create, name="new"),
    path("<int:pk>/", views.client_detail, name="detail"),
    path("<int:pk>/edit/", views.client_edit, name="edit"),
    path("<int:pk>/feedback/new/", views_feedback.feedback_create, name="feedback-new"),
    path("peer-contacts/", views_peer_contacts.peer_contact_list, name="peer-contacts"),
    path(
        "peer-contacts/<int:pk>/withdraw/",
        views_peer_contacts.peer_contact_withdraw,
        name="peer-contact-withdraw",
    ),
]
