"""After a model change, templates of the old pipeline match nothing and break nothing: face
sign-in compares a probe only with templates of the engine's own model_id (identification
and door verification already did), so each person enrols again."""

import numpy as np
import pytest

from recognition.engine import DeepFaceEngine
from recognition.engine.weights import prepare_weights
from recognition.lifecycle import services
from recognition.models import Attempt
from tests.factories import grant

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> DeepFaceEngine:
    home = tmp_path_factory.mktemp("deepface")
    prepare_weights(home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEEPFACE_HOME", str(home))
        face_engine = DeepFaceEngine(deepface_home=home)
        face_engine.load()
        yield face_engine


def test_templates_of_another_model_are_not_compared(engine, staff, sign_in_purpose, photos):
    grant(staff, sign_in_purpose)
    own = engine.embed(photos["a1"])
    # The same face under an older pipeline's id, and a 512-number embedding of another model.
    services.store_template(staff, sign_in_purpose, own, "Dlib+dlib-hog@v0")
    services.store_template(
        staff, sign_in_purpose, np.ones(512, dtype=np.float32), "Facenet512+opencv@v1"
    )
    answer = services.verify_face(staff.pk, photos["a2"], engine)
    assert answer["ok"] is False
    attempt = Attempt.objects.latest("id")
    assert attempt.result == Attempt.NO_MATCH and attempt.distance is None
    # Enrolled again with this engine: signs in.
    services.store_template(staff, sign_in_purpose, own, engine.model_id)
    assert services.verify_face(staff.pk, photos["a2"], engine)["ok"] is True
