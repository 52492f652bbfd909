"""The face engine: photo bytes in, one embedding out; DeepFace behind an adapter.

Everything outside this module sees only :class:`FaceEngine` (``embed`` and ``distance``, a
``model_id`` stored beside each template and a ``threshold``). :class:`DeepFaceEngine` is the
one real implementation. It imports DeepFace lazily, in :meth:`DeepFaceEngine.load`, so the web
process never pays for it, and it refuses to start when weights are missing rather than let
DeepFace download them (these machines reach no model hub).

The default detector, ``dlib-hog``, is ours rather than one of DeepFace's: dlib's HOG face
detector runs on a small copy of the photo (640 px), dlib's 5-point landmarks are then found on
the 1024 px copy, and the face is aligned and cropped there the way dlib's recognition model was
trained (``get_face_chip``). The aligned crop goes to ``DeepFace.represent`` with
``detector_backend="skip"``. DeepFace's own ``dlib`` backend runs the same detector on the photo
padded to twice its size and then upsampled (16 times the pixels): as accurate, six times
slower. See ``docs/face-engine.md`` for the measurements behind the defaults.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from django.utils.translation import gettext_lazy as _

from recognition.doors.operating import ImpostorFit
from recognition.engine import imaging
from recognition.engine.imaging import ImageRejected
from recognition.engine.weights import (
    DLIB_LANDMARKS_FILE,
    missing_weights,
    prepare_sface_weights,
    prepare_weights,
    weights_dir,
)

DEFAULT_MODEL = "Dlib"
DEFAULT_DETECTOR = "dlib-hog"
# Cosine distance at or below which two Dlib embeddings are the same person; chosen from the
# benchmark in docs/face-engine.md. Other models need their own threshold (see THRESHOLDS).
DEFAULT_THRESHOLD = 0.056
DEFAULT_MAX_SIDE = 1024
DEFAULT_DETECT_SIDE = 640
DEFAULT_MIN_FACE_PX = 64
DEFAULT_MIRROR = True
# dlib HOG score from which a second detection counts as another person in the photo. Real
# faces scored 0.74 to 2.9 in the test photos (group photos included); the false detections
# seen (a gloved hand) scored about 0.
OTHER_FACE_MIN_SCORE = 0.3
ENGINE_VERSION = "v1"

# The second offline model: SFace aligned on dlib's landmarks (SFACE_TEMPLATE), mirror on.
# Its threshold lies between the largest same-person distance of ../shared/faces (0.282) and
# the smallest different-people distance of both labelled sets (0.589), nearer the latter;
# the calibration crops reach 0.617 for the same person (docs/face-engine.md).
SFACE_THRESHOLD = 0.5

# DeepFace's published cosine thresholds, for models other than the default one.
THRESHOLDS: dict[str, float] = {
    "Dlib": DEFAULT_THRESHOLD,
    "VGG-Face": 0.68,
    "Facenet": 0.40,
    "Facenet512": 0.30,
    "ArcFace": 0.68,
    "SFace": SFACE_THRESHOLD,
    "OpenFace": 0.10,
    "DeepFace": 0.23,
    "DeepID": 0.015,
    "GhostFaceNet": 0.65,
    "Buffalo_L": 0.55,
}

# Distances between different people of the default pipeline (Dlib, dlib-hog, mirror), on
# every labelled photo available: 721 impostor pairs of ../shared/faces and its calibration
# set (docs/face-engine.md). Door identification tightens its threshold per gallery size on
# this fit (recognition.doors.operating); another pipeline has none until measured.
DEFAULT_IMPOSTOR_FIT = ImpostorFit(mean=0.158, sd=0.031, pairs=721)

# The second offline model's different-people distances (same 721 pairs).
SFACE_IMPOSTOR_FIT = ImpostorFit(mean=0.951, sd=0.095, pairs=721)
# Where dlib's eye centres and the point under the nose go in SFace's 112 px input: the eyes
# of OpenCV Zoo's template; the nose point's height chosen on both labelled sets.
SFACE_TEMPLATE = ((38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 80.0))

# Stable codes of FaceRejected; ImageRejected codes (imaging) pass through embed() unchanged.
NO_FACE = "no_face"
SEVERAL_FACES = "several_faces"
FACE_TOO_SMALL = "face_too_small"

MESSAGES = {
    NO_FACE: _("No face was found in the photo. Face the camera in good light."),
    SEVERAL_FACES: _("More than one face is in the photo. Only the person concerned may be in it."),
    FACE_TOO_SMALL: _("The face is too small in the photo. Please come closer to the camera."),
}


class FaceRejected(ImageRejected):
    """The photo decodes but holds no usable single face."""

    def __init__(self, code: str, message: object | None = None) -> None:
        super().__init__(code, message if message is not None else MESSAGES.get(code, code))


class WeightsMissing(RuntimeError):
    """Model weight files are not in DEEPFACE_HOME; DeepFace would try to download them."""

    def __init__(self, files: list[Path], folder: Path) -> None:
        self.files = files
        self.folder = folder
        names = ", ".join(path.name for path in files)
        super().__init__(
            f"Face model weights missing: {names} not found in {folder}. "
            "DeepFace would try to download them, which this machine must not do; copy them "
            "there first (the Dlib files come with the face-recognition-models package: "
            "`manage.py prepare_face_model`, or recognition.engine.weights.prepare_weights)."
        )


@runtime_checkable
class FaceEngine(Protocol):
    """What the rest of the portal knows about face recognition."""

    model_id: str
    threshold: float

    def embed(self, image_bytes: bytes | ScannedPhoto) -> np.ndarray:
        """One float32 embedding of the only face in the photo (or in the photo as this engine
        already decoded and scanned it, a ScannedPhoto of its own ``scan``).

        Raises ImageRejected (bad upload) or FaceRejected (no face, several, too small).
        """
        ...

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Distance between two embeddings; at or below ``threshold`` means the same person."""
        ...


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cosine similarity, in [0, 2]; 1.0 when either vector is all zeros."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError("Embeddings of different sizes cannot be compared.")
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0.0:
        return 1.0
    return float(1.0 - float(np.dot(a, b)) / norms)


@dataclass(frozen=True)
class DetectedFace:
    """A face found in the working (max_side) image, in its pixel coordinates."""

    left: int
    top: int
    width: int
    height: int
    score: float
    landmarks: Any = None  # dlib.full_object_detection (dlib-hog detector)
    crop: np.ndarray | None = None  # aligned BGR face (DeepFace's own detectors)


@dataclass(frozen=True)
class ScannedPhoto:
    """A photo the engine has already decoded (``DeepFaceEngine.decode``) and scanned for faces
    (``faces``: everything ``DeepFaceEngine.detect`` found in ``image``). ``embed`` takes it in
    place of the photo's bytes and neither decodes nor scans it again: the same checks (no face,
    several faces, too small) and the same embedding as from the bytes. The liveness check makes
    one for the probe frame of a burst (recognition.engine.livecheck)."""

    image: np.ndarray
    faces: list[DetectedFace]
    # The engine's embedding of the photo's one face, when already made (the liveness check
    # embeds the probe frame while it compares identities on another core); ``embed`` returns
    # it as is. None when not made, or when the engine refused the photo (``embed`` says why).
    embedding: np.ndarray | None = None


class DeepFaceEngine:
    """DeepFace behind the FaceEngine interface. Build once per process, then ``load()``.

    ``detector`` is ``dlib-hog`` (the default, see the module docstring) or the name of one of
    DeepFace's detector backends (``opencv``, ``dlib``, ``ssd``, ...), in which case DeepFace
    detects and aligns on the ``max_side`` copy. ``mirror`` averages the embeddings of the
    aligned face and of its mirror image: one more forward pass for a wider margin between
    same-person and different-person distances (measured in docs/face-engine.md).

    Not for sharing between threads (DeepFace and OpenCV crashed under a thread pool): one
    engine per process, built after the fork.
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        detector: str = DEFAULT_DETECTOR,
        threshold: float | None = None,
        deepface_home: Path | None = None,
        max_side: int = DEFAULT_MAX_SIDE,
        min_face_px: int = DEFAULT_MIN_FACE_PX,
        detect_side: int = DEFAULT_DETECT_SIDE,
        max_pixels: int = imaging.DEFAULT_MAX_PIXELS,
        max_decode_bytes: int = imaging.DEFAULT_MAX_DECODE_BYTES,
        mirror: bool = DEFAULT_MIRROR,
    ) -> None:
        if threshold is None:
            if model_name not in THRESHOLDS:
                raise ValueError(f"No default threshold for model {model_name}; set one.")
            threshold = THRESHOLDS[model_name]
        self.model_name = model_name
        self.detector = detector
        self.threshold = float(threshold)
        home = deepface_home if deepface_home is not None else os.environ.get("DEEPFACE_HOME")
        self.deepface_home = Path(home if home else "~").expanduser()
        self.max_side = max_side
        self.min_face_px = min_face_px
        self.detect_side = detect_side
        self.max_pixels = max_pixels
        self.max_decode_bytes = max_decode_bytes
        self.mirror = mirror
        pipeline = f"{model_name}+{detector}" + ("+mirror" if mirror else "")
        self.model_id = f"{pipeline}@{ENGINE_VERSION}"
        default_pipeline = (model_name, detector, mirror) == (
            DEFAULT_MODEL,
            DEFAULT_DETECTOR,
            DEFAULT_MIRROR,
        )
        self.impostor_fit: ImpostorFit | None = DEFAULT_IMPOSTOR_FIT if default_pipeline else None
        if (model_name, detector, mirror) == ("SFace", DEFAULT_DETECTOR, True):
            self.impostor_fit = SFACE_IMPOSTOR_FIT
        self._deepface: Any = None
        self._input_size: tuple[int, int] = (150, 150)
        self._hog: Any = None
        self._landmarks: Any = None
        self._dlib: Any = None
        self._cv2: Any = None

    def __repr__(self) -> str:
        return f"<DeepFaceEngine {self.model_id} threshold={self.threshold}>"

    @property
    def loaded(self) -> bool:
        return self._deepface is not None

    def missing_weights(self) -> list[Path]:
        return missing_weights(self.model_name, self.deepface_home, detector=self.detector)

    def load(self) -> None:
        """Import DeepFace, build the model and detector once, and warm them up.

        Raises WeightsMissing, before importing DeepFace, when a weight file is not in place.
        """
        if self.loaded:
            return
        missing = self.missing_weights()
        if missing:
            raise WeightsMissing(missing, weights_dir(self.deepface_home))
        # DeepFace reads DEEPFACE_HOME when it is imported and every time it looks for weights.
        os.environ["DEEPFACE_HOME"] = str(self.deepface_home)
        saved_filters = list(warnings.filters)
        try:
            import cv2  # worker processes only, never the web process
            from deepface import DeepFace  # idem
        finally:
            # DeepFace silences every warning in the process when imported; undo that.
            warnings.filters[:] = saved_filters
        model = DeepFace.build_model(model_name=self.model_name, task="facial_recognition")
        self._input_size = (int(model.input_shape[0]), int(model.input_shape[1]))
        self._cv2 = cv2
        if self.detector == DEFAULT_DETECTOR:
            import dlib  # installed with the Dlib model; same reason

            self._dlib = dlib
            self._hog = dlib.get_frontal_face_detector()
            landmarks_file = weights_dir(self.deepface_home) / DLIB_LANDMARKS_FILE
            self._landmarks = dlib.shape_predictor(str(landmarks_file))
        else:
            DeepFace.build_model(model_name=self.detector, task="face_detector")
        self._deepface = DeepFace
        self._warm_up()

    def _warm_up(self) -> None:
        """Run the network and detector once so that the first request does not pay set-up."""
        self._represent(np.full((*self._input_size, 3), 128, dtype=np.uint8))
        if self._hog is not None:
            self._hog(np.zeros((self.detect_side // 4, self.detect_side // 4), dtype=np.uint8))

    def embed(self, image_bytes: bytes | ScannedPhoto) -> np.ndarray:
        if isinstance(image_bytes, ScannedPhoto):
            if image_bytes.embedding is not None:
                return image_bytes.embedding
            return self.embed_array(image_bytes.image, image_bytes.faces)
        return self.embed_array(self.decode(image_bytes))

    def decode(self, image_bytes: bytes) -> np.ndarray:
        """The photo as ``embed`` decodes it: bounded, reduced to ``max_side``, upright, BGR.

        Raises ImageRejected."""
        return imaging.decode_image(
            image_bytes,
            max_side=self.max_side,
            max_pixels=self.max_pixels,
            max_decode_bytes=self.max_decode_bytes,
        )

    def scan(self, image_bytes: bytes) -> ScannedPhoto:
        """The photo decoded and scanned once, for ``embed`` and for whoever else needs its
        faces (the liveness check). Raises ImageRejected."""
        image = self.decode(image_bytes)
        return ScannedPhoto(image, self.detect(image))

    def embed_array(self, image: np.ndarray, faces: list[DetectedFace] | None = None) -> np.ndarray:
        """Embedding of the only face in a decoded BGR ``uint8`` image; ``faces``, when given,
        is what ``detect`` found in that image (not scanned again)."""
        face = self._only_face(self.detect(image) if faces is None else faces)
        if face.crop is not None:
            return self._represent(face.crop)
        return self._represent(self._face_chip(image, face))

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return cosine_distance(a, b)

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Every face in a decoded BGR image, in its pixel coordinates."""
        if not self.loaded:
            self.load()
        if self.detector == DEFAULT_DETECTOR:
            return self._detect_dlib_hog(image)
        return self._detect_deepface(image)

    def _detect_dlib_hog(self, image: np.ndarray) -> list[DetectedFace]:
        """HOG detection on a small greyscale copy, landmarks on the working image."""
        cv2 = self._cv2
        height, width = image.shape[:2]
        scale = min(1.0, self.detect_side / max(height, width))
        small = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
        rects, scores, _ = self._hog.run(small, 0, 0.0)
        border = 0
        if not len(rects):
            # Second chance, paid only when nothing was found: smaller faces (upsampled once)
            # and faces cut by the frame (a border lets the detection window fit).
            border = max(small.shape[:2]) // 8
            padded = cv2.copyMakeBorder(small, *(border,) * 4, cv2.BORDER_CONSTANT, value=0)
            rects, scores, _ = self._hog.run(padded, 1, 0.0)
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            box = self._dlib.rectangle(
                round((rect.left() - border) / scale),
                round((rect.top() - border) / scale),
                round((rect.right() - border) / scale),
                round((rect.bottom() - border) / scale),
            )
            faces.append(
                DetectedFace(
                    left=box.left(),
                    top=box.top(),
                    width=box.width(),
                    height=box.height(),
                    score=float(score),
                    landmarks=self._landmarks(rgb, box),
                )
            )
        return faces

    def _detect_deepface(self, image: np.ndarray) -> list[DetectedFace]:
        """One of DeepFace's detectors, with DeepFace's alignment; detection stays enforced."""
        try:
            found = self._deepface.extract_faces(
                img_path=image,
                detector_backend=self.detector,
                enforce_detection=True,
                align=True,
                color_face="bgr",
                normalize_face=False,
            )
        except ValueError as exc:
            if _is_face_not_detected(exc):
                return []
            raise
        return [
            DetectedFace(
                left=int(item["facial_area"]["x"]),
                top=int(item["facial_area"]["y"]),
                width=int(item["facial_area"]["w"]),
                height=int(item["facial_area"]["h"]),
                score=float(item.get("confidence") or 0.0),
                crop=np.ascontiguousarray(np.clip(item["face"], 0, 255).astype(np.uint8)),
            )
            for item in found
        ]

    def _only_face(self, faces: list[DetectedFace]) -> DetectedFace:
        if not faces:
            raise FaceRejected(NO_FACE)
        faces = sorted(faces, key=lambda found: found.score, reverse=True)
        face, others = faces[0], faces[1:]
        if self.detector == DEFAULT_DETECTOR:
            # The HOG detector's weakest hits (score near 0) are often not faces: a hand, a
            # pattern. Another person counts when the detector is reasonably sure of them.
            others = [other for other in others if other.score >= OTHER_FACE_MIN_SCORE]
        if others:
            raise FaceRejected(SEVERAL_FACES)
        if min(face.width, face.height) < self.min_face_px:
            raise FaceRejected(FACE_TOO_SMALL)
        return face

    def _face_chip(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """The face rotated upright and cropped as dlib's recognition model was trained."""
        if self.model_name == "SFace":
            return self._sface_chip(image, face)
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        height, width = self._input_size
        chip = self._dlib.get_face_chip(rgb, face.landmarks, size=max(height, width), padding=0.25)
        bgr = np.ascontiguousarray(chip[:, :, ::-1])
        if height != width:
            bgr = self._cv2.resize(bgr, (width, height), interpolation=self._cv2.INTER_AREA)
        return bgr

    def _sface_chip(self, image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """The face as SFace expects it: dlib's eye centres and nose point on SFace's template.

        dlib's 5 points are the two corners of each eye and the point under the nose (no mouth
        corners), so the similarity transform is fitted on three points.
        """
        points = np.array([[p.x, p.y] for p in face.landmarks.parts()], dtype=np.float64)
        first, second = points[0:2].mean(axis=0), points[2:4].mean(axis=0)
        left, right = (first, second) if first[0] < second[0] else (second, first)
        matrix = similarity_transform(np.array([left, right, points[4]]), SFACE_TEMPLATE)
        height, width = self._input_size
        return self._cv2.warpAffine(image, matrix, (width, height))

    def _represent(self, face_bgr: np.ndarray) -> np.ndarray:
        embedding = self._represent_one(face_bgr)
        if self.mirror:
            embedding = (embedding + self._represent_one(face_bgr[:, ::-1])) / 2
        return embedding.astype(np.float32)

    def _represent_one(self, face_bgr: np.ndarray) -> np.ndarray:
        # detector_backend="skip": the face is already found and aligned; DeepFace only
        # resizes it to the model's input and runs the network.
        result = self._deepface.represent(
            img_path=np.ascontiguousarray(face_bgr),
            model_name=self.model_name,
            detector_backend="skip",
            enforce_detection=False,
            align=False,
        )
        return np.asarray(result[0]["embedding"], dtype=np.float64).ravel()


def similarity_transform(source, target) -> np.ndarray:
    """The 2 x 3 rotation, uniform scale and translation that maps the source points closest
    to the target points (least squares, Umeyama's method); deterministic, unlike OpenCV's
    robust estimators, so the same photo always gives the same embedding.

    >>> matrix = similarity_transform([(0, 0), (2, 0), (1, 1)], [(1, 1), (1, 5), (-1, 3)])
    >>> np.round(matrix, 6).tolist()
    [[0.0, -2.0, 1.0], [2.0, 0.0, 1.0]]
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(singular) @ sign)) / float((src_c**2).sum() / len(src))
    shift = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, shift[:, None]])


def _is_face_not_detected(exc: ValueError) -> bool:
    return type(exc).__name__ == "FaceNotDetected" or "Face could not be detected" in str(exc)


def engine_from_settings() -> DeepFaceEngine:
    """A (not yet loaded) engine configured from Django settings."""
    from django.conf import settings  # importable without Django settings

    model_name = getattr(settings, "FACE_MODEL", DEFAULT_MODEL)
    threshold = getattr(settings, "FACE_THRESHOLD", None)
    home = getattr(settings, "DEEPFACE_HOME", None)
    return DeepFaceEngine(
        model_name=model_name,
        detector=getattr(settings, "FACE_DETECTOR", DEFAULT_DETECTOR),
        threshold=threshold,
        deepface_home=Path(home) if home is not None else None,
        max_side=getattr(settings, "FACE_MAX_SIDE", DEFAULT_MAX_SIDE),
        min_face_px=getattr(settings, "FACE_MIN_FACE_PX", DEFAULT_MIN_FACE_PX),
        detect_side=getattr(settings, "FACE_DETECT_SIDE", DEFAULT_DETECT_SIDE),
        max_pixels=getattr(settings, "FACE_MAX_PIXELS", imaging.DEFAULT_MAX_PIXELS),
        max_decode_bytes=getattr(
            settings, "FACE_MAX_DECODE_BYTES", imaging.DEFAULT_MAX_DECODE_BYTES
        ),
        mirror=getattr(settings, "FACE_MIRROR", DEFAULT_MIRROR),
    )


_engine: DeepFaceEngine | None = None
_engine_lock = threading.Lock()


def get_engine() -> DeepFaceEngine:
    """The loaded engine of this process, built on first use (call it in each worker child).

    Copies the packaged Dlib weights into DEEPFACE_HOME first when they are not there yet.
    """
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                engine = engine_from_settings()
                try:
                    prepare_weights(engine.deepface_home)
                    if engine.model_name == "SFace":
                        prepare_sface_weights(engine.deepface_home)
                except FileNotFoundError:
                    pass  # load() names exactly what is missing
                engine.load()
                _engine = engine
    return _engine


def reset_engine() -> None:
    """Forget the process engine (tests, or after settings change)."""
    global _engine
    with _engine_lock:
        _engine = None
