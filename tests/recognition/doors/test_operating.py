"""Door identification's own operating point: a threshold that tightens with the gallery and
a margin over the second-best person, so that a stranger's chance to open stays bounded."""

import numpy as np
import pytest

from recognition import policy
from recognition.doors import identify, operating
from recognition.engine import (
    DEFAULT_IMPOSTOR_FIT,
    DEFAULT_THRESHOLD,
    SFACE_IMPOSTOR_FIT,
    DeepFaceEngine,
)
from recognition.lifecycle import services
from tests.factories import grant

MODEL = "test-model@v1"
FIT = operating.ImpostorFit(mean=0.158, sd=0.031, pairs=721)


@pytest.mark.parametrize("size", [100, 1_000, 10_000])
def test_the_threshold_keeps_a_strangers_chance_at_the_target(size):
    limit = operating.identification_threshold(DEFAULT_THRESHOLD, size, FIT, 0.01)
    assert limit < DEFAULT_THRESHOLD
    assert operating.false_open_rate(limit, size, FIT) == pytest.approx(0.01, rel=1e-3)
    # The 1:1 threshold would let several times as many strangers in at that size.
    assert operating.false_open_rate(DEFAULT_THRESHOLD, size, FIT) > 0.04


def test_the_threshold_tightens_as_the_gallery_grows_and_small_galleries_keep_the_1_to_1():
    sizes = [1, 3, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
    limits = [operating.identification_threshold(0.056, n, FIT, 0.01) for n in sizes]
    assert limits[:2] == [0.056, 0.056]
    assert all(a >= b for a, b in zip(limits, limits[1:], strict=False))
    # Too large a gallery for this model's spread: no threshold above 0 holds the target.
    assert limits[-2:] == [0.0, 0.0]
    assert operating.identification_threshold(0.056, 100_000, None, 0.01) == 0.056


def test_the_default_pipeline_carries_its_measured_fit():
    assert DeepFaceEngine().impostor_fit == DEFAULT_IMPOSTOR_FIT
    assert DeepFaceEngine(mirror=False).impostor_fit is None
    assert DeepFaceEngine(model_name="SFace").impostor_fit == SFACE_IMPOSTOR_FIT
    assert DeepFaceEngine(model_name="Facenet").impostor_fit is None


def test_a_second_person_within_the_margin_opens_the_door_for_nobody():
    assert policy.door_match([(7, 0.030), (9, 0.065)], 0.056, margin=0.01) == 7
    assert policy.door_match([(7, 0.050), (9, 0.058)], 0.056, margin=0.01) is None
    assert policy.door_match([(7, 0.050), (7, 0.052)], 0.056, margin=0.01) == 7
    assert policy.door_match([(7, 0.060)], 0.056, margin=0.01) is None


def _unit(vector):
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _at_distance(base: np.ndarray, distance: float, rng) -> np.ndarray:
    """A vector whose cosine distance to the unit vector `base` is exactly `distance`."""
    other = rng.normal(size=base.shape)
    other -= other.dot(base) * base
    other /= np.linalg.norm(other)
    cos = 1.0 - distance
    return _unit(cos * base + np.sqrt(1 - cos * cos) * other)


@pytest.mark.django_db
def test_identify_applies_the_gallery_sizes_threshold_and_the_margin(
    door_purpose, resident, other_resident
):
    identify.forget_all()
    rng = np.random.default_rng(11)
    face = _unit(rng.normal(size=128))
    grant(resident, door_purpose)
    services.store_template(resident, door_purpose, face, MODEL)
    probe = _at_distance(face, 0.05, rng)

    def run(max_false_open, margin=0.0):
        return identify.identify(
            door_purpose.building_id,
            door_purpose.pk,
            probe,
            model_id=MODEL,
            threshold=0.056,
            impostor_fit=FIT,
            max_false_open=max_false_open,
            margin=margin,
        )

    # One template: the 1:1 threshold holds, the resident is identified.
    assert run(0.01).person_id == resident.pk
    # A target so strict that even one template needs a threshold below 0.05: nobody.
    strict = run(1e-9)
    assert strict.person_id is None and strict.distance == pytest.approx(0.05, abs=1e-4)
    # A neighbour at 0.058: outside the threshold, but within 0.01 of the resident's 0.05.
    grant(other_resident, door_purpose)
    services.store_template(other_resident, door_purpose, _at_distance(probe, 0.058, rng), MODEL)
    assert run(0.01, margin=0.0).person_id == resident.pk
    close = run(0.01, margin=0.01)
    assert close.person_id is None and close.ambiguous
    identify.forget_all()
