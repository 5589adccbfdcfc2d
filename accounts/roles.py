"""Granting permissions to roles, for data migrations of every app.

A role is a Django group; an app's migration gives the roles the permissions its pages check,
so that a role stays the one thing that grants access.
"""

from django.contrib.auth.management import create_permissions


def grant(apps, app_label, role_permissions):
    """Give each named group the listed permissions of ``app_label``, creating what is missing."""
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True  # lets create_permissions run inside a migration
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in role_permissions.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found for {role}: {sorted(missing)}")
        group.permissions.add(*permissions)


def revoke(apps, app_label, role_permissions):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in role_permissions.items():
        for group in Group.objects.filter(name=role):
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )
