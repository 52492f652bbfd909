"""Reading a challenge burst in the worker: every frame's face, head pose and identity.

The rules (what answers a challenge) are in :mod:`recognition.liveness`; this module only
measures. Each frame is decoded small, its faces found by dlib's HOG detector, and dlib's 68
landmarks read on the one face for the head pose. One frame per pose run is then described
by dlib's recognition network (a single forward pass, no mirror) to check that the same person
is in every part of the burst; the engine embeds only the probe frame, for the match itself.

dlib's 68-point model and recognition network come with the ``face-recognition-models``
package; both are loaded once per worker process, after the fork, like the engine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from recognition import imaging, liveness
from recognition.engine import OTHER_FACE_MIN_SCORE

# Frames are decoded to at most this many pixels a side (the camera sends 480 x 360), and faces
# are looked for on a copy of at most DETECT_SIDE (faces of 100 px and more at 480 are found).
FRAME_MAX_SIDE = 480
DETECT_SIDE = 400
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
        import cv2  # worker processes only
        import dlib  # idem
        import face_recognition_models as packaged

        self.cv2 = cv2
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
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


def read_burst(challenge: liveness.Challenge, frames: list[bytes]) -> BurstReading:
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
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        # dlib's HOG detector (its five filters cover faces turned to either side) once, on a
        # small copy: camera frames are small and the face fills a good part of them.
        scale = min(1.0, DETECT_SIDE / max(rgb.shape[:2]))
        small = rgb
        if scale < 1.0:
            size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
            small = m.cv2.resize(rgb, size, interpolation=m.cv2.INTER_AREA)
        rects, scores, _kinds = m.detector.run(small, 0, 0.0)
        found = sorted(zip(scores, rects, strict=True), key=lambda hit: hit[0], reverse=True)
        others = [hit for hit in found[1:] if hit[0] >= OTHER_FACE_MIN_SCORE]
        if others:
            reading.frames.append(FrameReading(None, None, 1 + len(others)))
            reading.code = liveness.TWO_PEOPLE
            return reading
        if not found:
            reading.frames.append(FrameReading(None, None, 0))
            images.append(None)
            shapes.append(None)
            if sum(1 for f in reading.frames if f.faces == 0) > MAX_FACELESS_SHARE * len(frames):
                reading.code = liveness.NO_FACE
                return reading
            continue
        best = found[0][1]
        box = m.dlib.rectangle(
            round(best.left() / scale),
            round(best.top() / scale),
            round(best.right() / scale),
            round(best.bottom() / scale),
        )
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


def _describe(m: _Models, rgb: np.ndarray, shape) -> np.ndarray:
    return np.asarray(m.describer.compute_face_descriptor(rgb, shape), dtype=np.float64)
