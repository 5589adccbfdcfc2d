from directory.views import browse, exchange, manage

app_name = "directory"

# Each module owns its pages: reading the list (clinicians and everyone with view_group),
# keeping it current (site admins), and exchanging it in open formats.
urlpatterns = [*browse.urlpatterns, *manage.urlpatterns, *exchange.urlpatterns]
