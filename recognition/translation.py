"""Admin-typed names with a value per language (django-modeltranslation registrations)."""

from modeltranslation.translator import TranslationOptions, register

from portal.names import mark_fallbacks
from recognition.models import Device, Location


@register(Location)
class LocationTranslation(TranslationOptions):
    fields = ("name",)


@register(Device)
class DeviceTranslation(TranslationOptions):
    fields = ("name",)


mark_fallbacks(Location, *LocationTranslation.fields)
mark_fallbacks(Device, *DeviceTranslation.fields)
