"""Admin-typed names with a value per language (django-modeltranslation registrations)."""

from modeltranslation.translator import TranslationOptions, register

from consent.models import Purpose
from portal.names import mark_fallbacks


@register(Purpose)
class PurposeTranslation(TranslationOptions):
    fields = ("name",)


mark_fallbacks(Purpose, *PurposeTranslation.fields)
