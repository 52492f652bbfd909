"""Backup codes that were stored in clear (django-otp static tokens) become keyed hashes."""

from django.db import migrations
from django.utils.crypto import salted_hmac


def hash_existing_codes(apps, schema_editor):
    StaticDevice = apps.get_model("otp_static", "StaticDevice")
    BackupCodeDevice = apps.get_model("portal", "BackupCodeDevice")
    BackupCode = apps.get_model("portal", "BackupCode")
    for static in StaticDevice.objects.filter(name="backup"):
        device, _created = BackupCodeDevice.objects.get_or_create(
            user_id=static.user_id, defaults={"name": "backup", "confirmed": True}
        )
        for token in static.token_set.all():
            code = token.token.replace(" ", "").replace("-", "").lower()
            BackupCode.objects.get_or_create(
                device=device,
                code_hash=salted_hmac("portal.backup_codes", code, algorithm="sha256").hexdigest(),
            )
        static.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_backup_codes_hashed_and_door_setting"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(hash_existing_codes, migrations.RunPython.noop)]
