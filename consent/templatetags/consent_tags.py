from django import template

from consent.models import NOTICE_SECTIONS

register = template.Library()


@register.inclusion_tag("consent/_notice_text.html")
def notice_text(notice, language, level=4, purpose=None):
    """The notice in one language; `level` is the heading level of its sections on the page."""
    ways_heading = dict(NOTICE_SECTIONS)["alternatives"]
    return {
        "notice": notice,
        # The ways-in section lists the routes the purpose offers before the admin's words.
        "sections": [
            (heading, text, heading == ways_heading) for heading, text in notice.sections(language)
        ],
        "level": level,
        "ways": (purpose or notice.purpose).alternative_labels(),
    }
