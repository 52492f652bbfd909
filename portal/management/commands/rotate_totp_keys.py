from django.core.management.base import BaseCommand

from portal.accounts import rotate_totp_keys


class Command(BaseCommand):
    help = (
        "Re-encrypts every authenticator seed with the newest key of FACE_ENCRYPTION_KEYS "
        "(run beside rotate_face_keys, before the old key is dropped). One line out."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size, **options):
        devices = rotate_totp_keys(batch_size=max(1, batch_size))
        self.stdout.write(f"Re-encrypted {devices} authenticator seeds with the newest key.")
