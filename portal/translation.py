"""Admin-typed names with a value per language (django-modeltranslation registrations)."""

from modeltranslation.translator import TranslationOptions, register

from portal.models import Building
from portal.names import mark_fallbacks


@register(Building)
class BuildingTranslation(TranslationOptions):
    fields = ("name", "handler_name")


mark_fallbacks(Building, *BuildingTranslation.fields)
