"""Reading a challenge burst in the worker: every frame's face, head pose and identity.

The rules (what answers a challenge) are in :mod:`recognition.liveness`; this module only
measures. Each frame is decoded small, its faces found by the engine's detector, and dlib's
68 landmarks read on the one face for the head pose. One frame per pose run is then described
by dlib's recognition network (a single forward pass, no mirror) to check that the same person
is in every part of the burst; the engine embeds only the probe frame, for the match itself.

dlib's 68-point model and recognition network come with the ``face-recognition-models``
package; both are loaded once per worker process, after the fork, like the engine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recognition import imaging, liveness
from recognition.engine import OTHER_FACE_MIN_SCORE

# Frames are decoded to at most this many pixels a side: the camera sends 480 x 360.
FRAME_MAX_SIDE = 480
# Euclidean distance of dlib descriptors above which two frames show different people.
# dlib's own tolerance is 0.6 for frontal faces; turned faces of one person measured up to
# 0.5 in ../shared/faces, two different people at least 0.62 (docs/face-engine.md).
SAME_PERSON_MAX = 0.6
# A burst in which more than this share of frames has no face is not looked at further.
MAX_FACELESS_SHARE = 0.5


@dataclass
class FrameReading:
    pose: str | None
    yaw: float | None
    faces: int


@dataclass
class BurstReading:
    code: str = ""  # "" when the burst answers the challenge
    probe: int | None = None  # index of the frame to match against the template
    frames: list[FrameReading] = field(default_factory=list)
    identity_distances: list[float] = field(default_factory=list)
    embedded: int = 0  # recognition forward passes spent on the identity check


class _Models:
    def __init__(self) -> None:
        import dlib  # worker processes only
        import face_recognition_models as packaged

        self.dlib = dlib
        self.landmarks = dlib.shape_predictor(packaged.pose_predictor_model_location())
        self.describer = dlib.face_recognition_model_v1(packaged.face_recognition_model_location())


_models: _Models | None = None
_lock = threading.Lock()


def models() -> _Models:
    global _models
    if _models is None:
        with _lock:
            if _models is None:
                _models = _Models()
    return _models


def read_burst(challenge: liveness.Challenge, frames: list[bytes], engine: Any) -> BurstReading:
    """Measures every frame and applies the challenge rules; never raises for bad frames."""
    reading = BurstReading()
    images, shapes = [], []
    m = models()
    for data in frames:
        if not data or len(data) > liveness.MAX_FRAME_BYTES:
            reading.code = liveness.FRAMES
            return reading
        try:
            image = imaging.decode_image(data, max_side=FRAME_MAX_SIDE)
        except imaging.ImageRejected:
            reading.code = liveness.FRAMES
            return reading
        faces = sorted(engine.detect(image), key=lambda face: face.score, reverse=True)
        others = [face for face in faces[1:] if face.score >= OTHER_FACE_MIN_SCORE]
        if others:
            reading.frames.append(FrameReading(None, None, 1 + len(others)))
            reading.code = liveness.TWO_PEOPLE
            return reading
        if not faces:
            reading.frames.append(FrameReading(None, None, 0))
            images.append(None)
            shapes.append(None)
            continue
        face = faces[0]
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        box = m.dlib.rectangle(face.left, face.top, face.left + face.width, face.top + face.height)
        shape = m.landmarks(rgb, box)
        points = [(shape.part(i).x, shape.part(i).y) for i in range(68)]
        yaw = liveness.yaw_from_landmarks(points)
        reading.frames.append(FrameReading(liveness.pose_of(yaw), yaw, 1))
        images.append(rgb)
        shapes.append(shape)
    faceless = sum(1 for frame in reading.frames if frame.faces == 0)
    if faceless > MAX_FACELESS_SHARE * len(frames):
        reading.code = liveness.NO_FACE
        return reading
    poses = [frame.pose for frame in reading.frames]
    reading.code = liveness.check_moves(challenge, poses)
    if reading.code:
        return reading
    probe, turns = liveness.frames_to_embed(poses)
    reference = _describe(m, images[probe], shapes[probe])
    reading.embedded = 1 + len(turns)
    for index in turns:
        distance = float(np.linalg.norm(reference - _describe(m, images[index], shapes[index])))
        reading.identity_distances.append(distance)
    if any(distance > SAME_PERSON_MAX for distance in reading.identity_distances):
        reading.code = liveness.TWO_PEOPLE
        return reading
    reading.probe = probe
    return reading


def _describe(m: _Models, rgb: np.ndarray, shape: Any) -> np.ndarray:
    return np.asarray(m.describer.compute_face_descriptor(rgb, shape), dtype=np.float64)
