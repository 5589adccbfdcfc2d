from django.urls import path

from referrals import views

app_name = "referrals"

urlpatterns = [
    path("screen/<int:client_id>/", views.screen, name="screen"),
    path("screen/<int:client_id>/decision/", views.screen_decision, name="screen-decision"),
    path("screenings/<int:pk>/", views.screening_detail, name="screening"),
    path("screenings/<int:pk>/refer/", views.start_referral, name="start"),
    path("<int:pk>/", views.referral_detail, name="detail"),
    path("<int:pk>/client-input/", views.client_input, name="client-input"),
    path("<int:pk>/groups/", views.choose_groups, name="groups"),
]
