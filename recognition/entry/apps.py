from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EntryConfig(AppConfig):
    """Ways in without a face beside door codes: access cards, staff-assisted entry, the door
    kiosk page."""

    name = "recognition.entry"
    label = "entry"  # kept from before it moved: its migrations and tables
    verbose_name = _("Ways in")
