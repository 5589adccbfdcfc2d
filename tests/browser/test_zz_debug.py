import pytest
from django.contrib.auth.models import Group
from django.db import connection

@pytest.mark.parametrize("i", [1, 2, 3])
def test_dbg(i, page, settings):
    print("serialized:", hasattr(connection, "_test_serialized_contents"), len(getattr(connection, "_test_serialized_contents", "")), connection.settings_dict["NAME"])
    print("groups", list(Group.objects.values_list("name", flat=True)))
    if i == 1:
        page.goto("/")
