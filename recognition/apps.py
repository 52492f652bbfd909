from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecognitionConfig(AppConfig):
    name = "recognition"
    verbose_name = _("Face recognition")

    def ready(self) -> None:
        from recognition import receivers  # noqa: F401  (connects the consent signals)
