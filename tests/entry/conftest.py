"""Fixtures of the ways in at the door: the face fixtures of tests/recognition, shared."""

from tests.recognition.conftest import door_purpose, front_door, photos  # noqa: F401 (fixtures)
