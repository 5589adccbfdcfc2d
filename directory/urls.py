from directory.views import browse, exchange, manage

app_name = "directory"

# Each module owns its pages: reading the list (clinicians and everyone with view_group),
# keeping it current (site admins), and exchanging it in open formats.
# Browse last: its /directory/<slug>/ would otherwise shadow the fixed paths of the others.
urlpatterns = [*manage.urlpatterns, *exchange.urlpatterns, *browse.urlpatterns]
