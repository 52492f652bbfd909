import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_choice, env_float, env_int, env_list


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("1", True), ("YES", True), ("off", False), ("0", False), ("", None)],
)
def test_env_bool_reads_the_usual_spellings(raw, expected):
    assert env_bool("X", None, {"X": raw}) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "enabled"])
def test_env_bool_rejects_anything_else(raw):
    with pytest.raises(ImproperlyConfigured, match="X must be true or false"):
        env_bool("X", False, {"X": raw})


def test_env_int_rejects_words_and_out_of_range():
    assert env_int("N", 5, environ={}) == 5
    assert env_int("N", 5, minimum=1, environ={"N": "7"}) == 7
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("N", 5, environ={"N": "ten"})
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 5, minimum=1, environ={"N": "0"})
    with pytest.raises(ImproperlyConfigured, match="at most 9"):
        env_int("N", 5, maximum=9, environ={"N": "10"})


def test_env_float_rejects_nan_and_words():
    assert env_float("F", 0.5, environ={"F": "0.25"}) == 0.25
    for raw in ["nan", "abc"]:
        with pytest.raises(ImproperlyConfigured, match="must be a number"):
            env_float("F", 0.5, environ={"F": raw})


def test_env_list_rejects_empty_items():
    assert env_list("L", ["a"], {}) == ["a"]
    assert env_list("L", [], {"L": "a, b"}) == ["a", "b"]
    with pytest.raises(ImproperlyConfigured, match="empty item"):
        env_list("L", [], {"L": "a,,b"})


def test_env_choice_names_the_allowed_values():
    assert env_choice("C", "x", {"x", "y"}, {"C": "y"}) == "y"
    with pytest.raises(ImproperlyConfigured, match="one of x, y"):
        env_choice("C", "x", {"x", "y"}, {"C": "z"})
