"""Synthetic faces for the door gallery tests: random embeddings, another photo of the same
face, an enrolment through the service and an identification at the door."""

import numpy as np

from recognition.doors import identify
from recognition.lifecycle import services
from tests.factories import grant

MODEL = "test-model@v1"
THRESHOLD = 0.07


class Faces:
    """Faces drawn from a seeded generator of the test module's own."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def face(self) -> np.ndarray:
        return self.rng.normal(size=128).astype(np.float32)

    def near(self, vector: np.ndarray) -> np.ndarray:
        """Another photo of the same face: a little noise, a different scale."""
        return (vector + self.rng.normal(scale=0.02, size=vector.shape)).astype(np.float32) * 3

    def enrol(self, person, purpose, vector=None) -> np.ndarray:
        grant(person, purpose)
        vector = self.face() if vector is None else vector
        services.store_template(person, purpose, vector, MODEL)
        return vector


def identify_at(purpose, probe):
    return identify.identify(
        purpose.building_id, purpose.pk, probe, model_id=MODEL, threshold=THRESHOLD
    )
