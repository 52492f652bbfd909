from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RightsConfig(AppConfig):
    name = "recognition.rights"
    label = "rights"  # kept from before it moved: its migrations and tables
    verbose_name = _("Rights, incidents and filings")
    default_auto_field = "django.db.models.BigAutoField"
