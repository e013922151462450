"""Store each environment's namespace and make it unique (issue 13.1).

Existing rows get "{client}-{site}-{env}" as before. Where two existing environments
already share one, the older keeps it (it made the namespace, its objects are there) and
the newer gets a name of its own with its id, so the two stop sharing on its next apply;
its old objects are in the older environment's namespace and the cluster guard
(sites.namespaces) refuses to touch that namespace on its behalf."""

from django.db import migrations, models


def fill_namespaces(apps, schema_editor):
    Environment = apps.get_model("sites", "Environment")
    taken = set()
    rows = Environment.objects.select_related("site__client").order_by("created_at", "pk")
    for environment in rows:
        name = f"{environment.site.client.slug}-{environment.site.slug}-{environment.slug}"
        if name in taken:
            suffix = f"-e{environment.pk}"
            name = name[: 63 - len(suffix)].rstrip("-") + suffix
        taken.add(name)
        Environment.objects.filter(pk=environment.pk).update(namespace_name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("sites", "0008_backup_corrupt_status_and_table_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="environment",
            name="namespace_name",
            field=models.CharField(default="", editable=False, max_length=63),
            preserve_default=False,
        ),
        migrations.RunPython(fill_namespaces, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="environment",
            name="namespace_name",
            field=models.CharField(editable=False, max_length=63, unique=True),
        ),
    ]
