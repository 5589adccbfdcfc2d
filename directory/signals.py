"""The directory's framework hooks: the catalogue version's triggers after ``migrate``, and the
search document's vocabulary words kept current when a listing's lists or a vocabulary row
change (see directory/catalogue_version.py and directory/services/search_terms.py)."""

from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from directory import catalogue_version
from directory.models import Group, Language, Meeting, Need, ServiceArea
from directory.services import search_terms


def _lists_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        search_terms.refresh([instance.pk])
    elif pk_set:
        search_terms.refresh(pk_set)
    elif action == "post_clear":
        search_terms.refresh(None)


def _vocabulary_saved(sender, instance, created, raw=False, **kwargs):
    if created or raw:
        return  # a new word belongs to no listing yet; fixtures refresh once they are loaded
    search_terms.refresh(instance.groups.values_list("pk", flat=True))


def _meeting_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        search_terms.refresh([instance.group_id])  # its language counts for the listing


def connect() -> None:
    post_migrate.connect(catalogue_version.on_post_migrate, dispatch_uid="catalogue-version")
    for through in (Group.needs.through, Group.languages.through, Group.service_areas.through):
        m2m_changed.connect(_lists_changed, sender=through, dispatch_uid=f"terms-{through}")
    for model in (Need, Language, ServiceArea):
        post_save.connect(_vocabulary_saved, sender=model, dispatch_uid=f"terms-{model}")
    post_save.connect(_meeting_changed, sender=Meeting, dispatch_uid="terms-meeting-saved")
    post_delete.connect(_meeting_changed, sender=Meeting, dispatch_uid="terms-meeting-deleted")
