"""The three roles as groups with their permissions.

Later apps add their own permissions to these groups in their own migrations, through
``accounts.roles.grant``, so that a role stays the one thing that grants access.
"""

from django.db import migrations

from accounts.roles import grant

ROLE_PERMISSIONS = {
    "Clinician": ["use_clinician_home"],
    "Supervisor": ["use_supervisor_home", "view_clinic_access_log"],
    "Site admin": ["use_site_admin_home"],
}


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
