"""Counts the times an account was disabled: the trusted-browser binding includes it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0007_audit_log_from_consent'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='disabled_times',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='times disabled'),
        ),
    ]
