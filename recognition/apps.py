from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecognitionConfig(AppConfig):
    name = "recognition"
    verbose_name = _("Face recognition")

    def ready(self) -> None:
        # Imported for their receivers: consent's signals, sign-in results.
        from recognition import receivers  # noqa: F401
        from recognition.reporting import signin_log  # noqa: F401
