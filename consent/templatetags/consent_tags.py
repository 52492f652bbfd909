from django import template

register = template.Library()


@register.inclusion_tag("consent/_notice_text.html")
def notice_text(notice, language, level=4):
    """The notice in one language; `level` is the heading level of its sections on the page."""
    return {"notice": notice, "sections": notice.sections(language), "level": level}
