"""The annotated referral list in the Django admin: read-only, for superusers.

Site admins keep the list current on the product's own pages (``/directory/manage/``), which
check versions, record who changed what and why, and write the catalogue's history. The admin's
changelist is here so a superuser can look a listing up by any field, and so the benchmark
(scale/services/bench.py) can compare the directory's own search with Django's stock
changelist search on the same data: ``search_fields`` below are the fields the directory
search reads (name, aliases, description and needs).
"""

from django.contrib import admin
from django_tasks_db.models import DBTaskResult

from directory.models import Group

# The background tasks' queue (django-tasks-db registers it) stays out of the admin: a queued
# CSV import carries the uploaded file in its arguments, and a task is followed on its own
# progress page; re-running or editing one by hand would bypass the import's checks.
if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["name", "format", "status", "medication_stance", "last_verified_on"]
    list_filter = ["status", "format", "medication_stance", "needs", "languages", "service_areas"]
    search_fields = ["name", "aliases", "description", "needs__name"]
    ordering = ["name"]

    # Changes go through the product's pages, which keep the history and the version check.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
