"""The main pages of every role, rendered in Chinese, hold no English sentence of our own.

The catalogue's English strings (msgids) are looked for in the visible text of each page: one
found means a string was left out of the catalogue's reach (hard-coded, built by joining, or
rendered outside the reader's language). Data that admins typed in one language only is not
ours to translate here: it is listed in test-artifacts/one-language-data.txt, not hidden.
"""

import html
import re

import polib
import pytest

from consent import rules as consent_rules
from tests.factories import grant, make_active_purpose, make_door
from tests.paths import ARTIFACTS, REPO

pytestmark = pytest.mark.django_db
CATALOGUE = REPO / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{[^}]*\}")


def _english_fragments() -> set[str]:
    """Sentences of our own: each msgid cut at its placeholders, pieces of two words or more."""
    fragments = set()
    for entry in polib.pofile(str(CATALOGUE)):
        if entry.obsolete or not entry.msgid or entry.msgstr == entry.msgid:
            continue
        for piece in PLACEHOLDER.split(entry.msgid):
            piece = piece.strip(" .,:;()“”\"'")
            if len(piece) >= 12 and " " in piece and re.search(r"[a-z]{3}", piece):
                fragments.add(piece)
    return fragments


FRAGMENTS = _english_fragments()


def _visible_text(content: bytes) -> str:
    text = content.decode()
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text))


def _english_in(text: str) -> list[str]:
    return sorted(f for f in FRAGMENTS if f in text)


@pytest.fixture
def world(building_a, resident, staff, admin_a, sign_in_purpose):  # noqa: F811
    door = make_active_purpose(building_a, demo=consent_rules.IDENTIFICATION)
    make_door(building_a, door)
    grant(resident, door)
    grant(staff, sign_in_purpose)
    return {"door": door}


PAGES = {
    "anonymous": ["/accounts/login/", "/accounts/login/face/"],
    "resident": ["/", "/consents/", "/my-data/", "/face/enrol/", "/face/door-code/"],
    "staff": ["/", "/consents/", "/my-data/", "/face/enrol/", "/accounts/two-factor/"],
    "admin_a": [
        "/",
        "/manage/purposes/",
        "/manage/people/",
        "/manage/dashboard/",
        "/manage/devices/",
        "/manage/locations/",
        "/face/purges/",
    ],
}


def _pages_for(role, world) -> list[str]:
    pages = list(PAGES[role])
    if role == "admin_a":
        pages.append(f"/manage/purposes/{world['door'].pk}/")
    if role == "resident":
        pages.append(f"/consents/notices/{world['door'].current_notice_id}/")
    return pages


@pytest.mark.parametrize("role", PAGES)
def test_each_main_page_in_chinese_has_no_english_of_our_own(role, world, client, sign_in, request):
    assert len(FRAGMENTS) > 200  # the catalogue was read
    if role != "anonymous":
        sign_in(request.getfixturevalue(role))
    found, one_language = {}, set()
    for path in _pages_for(role, world):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers["Content-Language"] == "zh-hans"
        text = _visible_text(response.content)
        english = _english_in(text)
        if english:
            found[path] = english
        one_language.update(
            name for name in re.findall(r"[A-Z][a-z]+(?: [A-Za-z-]+){1,6}", text) if name
        )
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "one-language-data.txt", "a") as report:
        report.write(f"{role}: " + "; ".join(sorted(one_language)) + "\n")
    assert not found, f"English strings of the catalogue on Chinese pages: {found}"


def test_the_check_finds_english_when_a_page_is_in_english(world, client, sign_in, resident):
    sign_in(resident)
    response = client.get("/my-data/", HTTP_ACCEPT_LANGUAGE="en")
    assert _english_in(_visible_text(response.content))
