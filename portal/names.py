"""Names that admins type, with a value per language (registered in each app's translation.py).

A page shows the reader's language. Where that value is missing, the other language is shown
and marked: the name is an `Untranslated` string, equal to the plain name in code (exports,
comparisons, JSON) and rendered by templates with its language and a visible "not translated".
"""

from collections.abc import Mapping

from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from modeltranslation.fields import TranslationFieldDescriptor
from modeltranslation.utils import build_localized_fieldname

LANGUAGES = ("en", "zh-hans")
TRANSLATED = ("name", "handler_name")
# What services accept besides a translated field itself: its value in each language.
PER_LANGUAGE = tuple(f"{name}_{suffix}" for name in TRANSLATED for suffix in ("en", "zh_hans"))


class Untranslated(str):
    """A name in another language than the reader's."""

    language = "en"

    def __html__(self) -> str:
        return format_html(
            '<span lang="{}">{}</span> <small class="untranslated">({})</small>',
            self.language,
            str(self),
            _("not translated"),
        )


class MarkedFallbackDescriptor(TranslationFieldDescriptor):
    def __get__(self, instance, owner):
        value = super().__get__(instance, owner)
        if instance is None or not isinstance(value, str) or not value:
            return value
        reader = get_language() or LANGUAGES[0]
        if getattr(instance, build_localized_fieldname(self.field.name, reader), None):
            return value
        marked = Untranslated(value)
        marked.language = next(
            (
                language
                for language in LANGUAGES
                if getattr(instance, build_localized_fieldname(self.field.name, language), None)
                == value
            ),
            LANGUAGES[0],
        )
        return marked


def for_creation(fields: Mapping) -> dict:
    """A service's `name` is the English value (whatever the admin's own page language);
    `name_zh_hans` the Chinese one. Both are kept, and the base column gets the name too."""
    out = dict(fields)
    for name in TRANSLATED:
        if name in out:
            out.setdefault(f"{name}_en", out[name])
    return out


def for_update(changes: Mapping) -> dict:
    """The same for a change: `name` sets the English value only."""
    out = dict(changes)
    for name in TRANSLATED:
        if name in out:
            out[f"{name}_en"] = out.pop(name)
    return out


def mark_fallbacks(model, *fields: str) -> None:
    """Marks the fallback value of these translated fields (after `register`)."""
    for name in fields:
        descriptor = model.__dict__[name]
        assert isinstance(descriptor, TranslationFieldDescriptor)
        descriptor.__class__ = MarkedFallbackDescriptor
