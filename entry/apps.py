from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EntryConfig(AppConfig):
    """Ways in without a face beside door codes: access cards, staff-assisted entry, the door
    kiosk page."""

    name = "entry"
    verbose_name = _("Ways in")
