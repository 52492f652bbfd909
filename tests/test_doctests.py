"""The examples written in the rules modules' docstrings are run, so they cannot drift."""

import doctest

import pytest

from consent import rules as consent_rules
from portal import rules as portal_rules
from portal.audit import checkpoints
from recognition import policy
from recognition.doors import operating
from recognition.reporting import evidence, filing
from recognition.rights import rules as rights_rules

MODULES = [
    consent_rules,
    portal_rules,
    policy,
    operating,
    filing,
    rights_rules,
    checkpoints,
    evidence,
]


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_the_examples_in_the_docstrings_hold(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0
