"""The three roles as groups with their permissions.

Later apps add their own permissions to these groups in their own migrations, through
``grant`` below, so that a role stays the one thing that grants access.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Clinician": ["use_clinician_home"],
    "Supervisor": ["use_supervisor_home", "view_clinic_access_log"],
    "Site admin": ["use_site_admin_home"],
}


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


def create_roles(apps, schema_editor):
    grant(apps, "accounts", ROLE_PERMISSIONS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
