"""The French full-text GIN expression index of messages (PostgreSQL only; see preau/messaging/search.py)."""

from django.db import migrations

from preau.messaging.search import CREATE_INDEX, DROP_INDEX


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_INDEX)


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
