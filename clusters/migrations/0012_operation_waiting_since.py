from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clusters", "0011_operation_api_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="operation",
            name="waiting_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
