from django.db import migrations


def create_all_users(apps, schema_editor):
    Segment = apps.get_model("audiences", "Segment")
    Segment.objects.get_or_create(name="All Users", defaults={"definition": ""})


class Migration(migrations.Migration):
    dependencies = [("audiences", "0001_initial")]

    operations = [migrations.RunPython(create_all_users, migrations.RunPython.noop)]
