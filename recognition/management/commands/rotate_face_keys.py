from django.core.management.base import BaseCommand

from recognition.lifecycle.services import rotate_face_keys


class Command(BaseCommand):
    help = (
        "Re-encrypts every face template with the newest key of FACE_ENCRYPTION_KEYS (put the "
        "new key first, keep the old ones until this has run, then drop them). One line out."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size, **options):
        templates, batches = rotate_face_keys(batch_size=max(1, batch_size))
        self.stdout.write(
            f"Re-encrypted {templates} face templates with the newest key in {batches} batches."
        )
