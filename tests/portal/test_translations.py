"""Every user-facing string is translated, and the committed catalogues are compiled and current.

`make messages` is run here into a copy of the checkout, so a string added anywhere in the
code or templates without a Chinese translation fails this test, naming the string.
"""

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO

LOCALE = REPO / "locale" / "zh_Hans" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")
# What `make messages` leaves out, plus what is not source at all.
NOT_SOURCE = (".git", ".venv", "var", "tests", "bench", "test-artifacts", "*.egg-info", "*cache*")

pytestmark = pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgattrib") is None,
    reason="GNU gettext is not installed (.ci/ensure-browser installs it)",
)


def _fresh_catalogues(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE), symlinks=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "true",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": "",
        "REDIS_URL": "",
    }
    for domain in DOMAINS:
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-d", domain, "-l", "zh_Hans"]
            + ["--no-obsolete", "--no-location"],
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
        )
    return copy / "locale" / "zh_Hans" / "LC_MESSAGES"


def _entries(po: Path, *flags: str) -> str:
    result = subprocess.run(
        ["msgattrib", *flags, "--no-wrap", str(po)], check=True, capture_output=True, text=True
    )
    return "\n".join(
        line for line in result.stdout.splitlines() if line.startswith(("msgid", "msgctxt"))
    )


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_user_facing_string_has_a_chinese_translation(tmp_path, domain):
    po = _fresh_catalogues(tmp_path) / f"{domain}.po"
    untranslated = _entries(po, "--untranslated", "--no-fuzzy")
    fuzzy = _entries(po, "--only-fuzzy")
    untranslated = "\n".join(line for line in untranslated.splitlines() if line != 'msgid ""')
    assert not untranslated, f"Untranslated in {domain}.po (run `make messages`):\n{untranslated}"
    assert not fuzzy.replace('msgid ""', "").strip(), f"Fuzzy in {domain}.po:\n{fuzzy}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_compiled_catalogues_are_committed_and_current(tmp_path, domain):
    source, compiled = LOCALE / f"{domain}.po", LOCALE / f"{domain}.mo"
    assert source.exists() and compiled.exists(), f"missing {source} or {compiled}"
    fresh = tmp_path / f"{domain}.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(source)], check=True)
    with compiled.open("rb") as committed, fresh.open("rb") as rebuilt:
        assert gettext.GNUTranslations(committed)._catalog == (
            gettext.GNUTranslations(rebuilt)._catalog
        ), f"{compiled} is older than {source}: run `make messages`"
