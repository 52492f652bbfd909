"""Passkeys in Chinese: django-otp-webauthn ships no Chinese, so its status lines (its scripts'
catalogue) and its error answers (its views) come from our catalogue in
`locale/django_otp_webauthn/`. The strings are read from the installed library itself (its
scripts' `gettext("...")` calls, its Python `gettext_lazy` strings), so an upgrade that adds
one fails here until it is translated."""

import json
import re
from pathlib import Path

import django_otp_webauthn
import polib
import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import PASSWORD, add_totp, current_code
from tests.paths import REPO

pytestmark = pytest.mark.django_db

LIBRARY = Path(django_otp_webauthn.__file__).parent
OURS = REPO / "locale" / "django_otp_webauthn" / "zh_Hans" / "LC_MESSAGES"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
JS_CALL = re.compile(r'gettext\("((?:[^"\\]|\\.)*)"\)')
STRING = r'"(?:[^"\\]|\\.)*"'
PY_CALL = re.compile(rf"\b_\(\s*((?:{STRING}\s*)+)\)")


def _script_strings() -> set[str]:
    found = set()
    for script in (LIBRARY / "static" / "django_otp_webauthn").glob("*.js"):
        found |= {json.loads(f'"{raw}"') for raw in JS_CALL.findall(script.read_text())}
    return found


def _python_strings() -> set[str]:
    found = set()
    for module in LIBRARY.rglob("*.py"):
        if "migrations" in module.parts:
            continue
        for literal in PY_CALL.findall(module.read_text()):
            found.add("".join(json.loads(part) for part in re.findall(STRING, literal)))
    return found


def _served_catalogue(client) -> dict:
    """The catalogue the library's own page tag loads for its scripts, as the browser gets it."""
    script = client.get(
        reverse("otp_webauthn:js-i18n-catalog"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    found = re.search(r"const newcatalog = (\{.*?\});", script, re.S)
    assert found, "the library's catalogue holds no strings"
    return json.loads(found.group(1))


def test_the_library_still_shows_the_strings_we_read():
    """A guard on the readers above: a change in how the library marks strings shows here."""
    assert "Registration successful!" in _script_strings()
    assert "Verify with Passkey" in _script_strings()
    assert "Authentication required." in _python_strings()
    assert len(_script_strings()) >= 20 and len(_python_strings()) >= 35


def test_every_status_line_of_the_passkey_scripts_is_served_in_chinese(client):
    catalogue = _served_catalogue(client)
    missing = sorted(
        text for text in _script_strings() if not CHINESE.search(catalogue.get(text, ""))
    )
    assert not missing, f"passkey script strings without Chinese: {missing}"
    assert catalogue["Registration successful!"] == "添加成功！"


def test_the_passkey_scripts_stay_english_in_english(client):
    script = client.get(reverse("otp_webauthn:js-i18n-catalog"), HTTP_ACCEPT_LANGUAGE="en")
    assert not CHINESE.search(script.content.decode())


def test_every_string_of_the_library_has_chinese():
    ours = {entry.msgid: entry.msgstr for entry in polib.pofile(str(OURS / "django.po"))}
    with translation.override("zh-hans"):
        untranslated = sorted(
            text
            for text in _python_strings()
            if not ours.get(text) or translation.gettext(text) != ours[text]
        )
    assert not untranslated, f"passkey library strings without Chinese: {untranslated}"
    scripts = {entry.msgid: entry.msgstr for entry in polib.pofile(str(OURS / "djangojs.po"))}
    assert all(scripts.get(text) for text in _script_strings())


def test_the_librarys_error_answer_is_chinese(client):
    """Its scripts show the server's `detail` as the status line."""
    response = client.post(
        reverse("otp_webauthn:credential-registration-begin"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "需要先登录。"


def test_the_pages_load_the_catalogue_and_say_passkey_in_chinese(client, resident):
    """The sign-in page and the two-factor page load the library's catalogue before its
    script, in the reader's language."""
    catalogue_url = reverse("otp_webauthn:js-i18n-catalog")
    login = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert catalogue_url in login and "使用通行密钥登录" in login
    device = add_totp(resident)
    client.post("/accounts/login/", {"username": "resident", "password": PASSWORD})
    client.post("/accounts/login/code/", {"code": current_code(device)})
    page = client.get("/accounts/two-factor/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert catalogue_url in page and "通行密钥" in page
