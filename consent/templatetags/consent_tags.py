from django import template

register = template.Library()


@register.inclusion_tag("consent/_notice_text.html")
def notice_text(notice, language):
    return {"notice": notice, "sections": notice.sections(language)}
