"""Challenge bursts built from real photos, for the tests and bench/liveness.py.

A head turn is imitated on a frontal photo by a horizontal warp of the face: the nose is moved
toward one side of the face while the face's edges stay put (one cheek squeezed, the other
stretched), which is what dlib's landmarks see of a turn. Each frame gets a small shift and
sensor-like noise, as a camera's frames do (one of a few such shakes, each checked to keep the
turn readable). This is a 2D imitation: no ear appears, no cheek hides, no light changes; see
docs/face-engine.md for what it cannot show.

The packaged photos of machines without ../shared (grace_hopper, skimage's astronaut) need
more care than the shared ones: the astronaut's face is small in a wide photo, so it is framed
closer; grace_hopper's face loses its face or landmarks under a strong warp or shake, so a
weaker turn is used and the shakes stay small.
"""

from __future__ import annotations

import random
from functools import cache

import cv2
import numpy as np

from recognition.engine import liveness

FRAME_SIZE = (480, 360)  # what the page sends
TURN_SHIFT = 0.6  # how far the nose moves toward the face's edge (share of the way)
# A turn the worker reads clearly; a warp too strong for a face loses it to the detector, so
# weaker ones are tried after the usual ones (grace_hopper turned to her right, for one).
CLEAR_TURN = 0.45
SHIFTS = (TURN_SHIFT, 0.7, 0.8, 0.9, 0.55, 0.5, 0.48, 0.45, 0.4)
# A burst's frames are shaken in one of SHAKES ways (a small shift and sensor noise); in each,
# and in the copy a browser sends from Chromium's fake camera, the worker must still read a
# turn this clear.
SHAKES = 8
SHAKEN_TURN = 0.38
CAMERA_SIZE = (640, 480)  # the fake camera's frame (tests/browser)
# How far a shaken frame moves (pixels) and its sensor noise (standard deviation).
# Small enough that a warped face keeps its landmarks (grace_hopper's lost them at 4 and 3).
JITTER_PX = 2
NOISE = 2.0
# Faces smaller than MIN_FACE_SHARE of the frame's height are framed to fill FACE_SHARE.
MIN_FACE_SHARE = 0.25
FACE_SHARE = 0.4
BORDER = 90  # the grey around a photo that does not fill the frame


@cache
def _models():
    import dlib
    import face_recognition_models as packaged

    return (
        dlib,
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(packaged.pose_predictor_model_location()),
    )


def fit_frame(photo: bytes) -> np.ndarray:
    """The photo fitted into the camera's 480 x 360 frame (letterboxed), BGR. A face that
    would fill less than MIN_FACE_SHARE of the frame's height is framed closer (FACE_SHARE),
    as a camera sees a person who steps up to it: the worker looks for faces on a smaller
    copy, where a face of a wide photo (skimage's astronaut) is too small to be found."""
    image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    width, height = FRAME_SIZE
    scale = min(width / image.shape[1], height / image.shape[0])
    face = _face_box(photo)
    if face is not None and face[3] * scale < MIN_FACE_SHARE * height:
        centre_x, centre_y = face[0] + face[2] / 2, face[1] + face[3] / 2
        scale = FACE_SHARE * height / face[3]
        matrix = np.float32(
            [[scale, 0, width / 2 - centre_x * scale], [0, scale, height / 2 - centre_y * scale]]
        )
        return cv2.warpAffine(
            image, matrix, (width, height), borderMode=cv2.BORDER_CONSTANT, borderValue=BORDER
        )
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    canvas = np.full((height, width, 3), BORDER, np.uint8)
    top = (height - resized.shape[0]) // 2
    left = (width - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


@cache
def _face_box(photo: bytes) -> tuple[float, float, float, float] | None:
    """(left, top, width, height) of the largest face in the photo, in its own pixels."""
    image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    scale = min(1.0, 1024 / max(image.shape[:2]))
    small = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    _dlib, detector, _predictor = _models()
    rects = detector(np.ascontiguousarray(small[:, :, ::-1]), 1)
    if not rects:
        return None
    rect = max(rects, key=lambda found: found.width())
    return (
        rect.left() / scale,
        rect.top() / scale,
        rect.width() / scale,
        rect.height() / scale,
    )


@cache
def _landmarks(photo: bytes) -> tuple[np.ndarray, tuple[float, float, float]]:
    frame = fit_frame(photo)
    dlib, detector, predictor = _models()
    rgb = np.ascontiguousarray(frame[:, :, ::-1])
    rects = detector(rgb, 1)
    if not rects:
        raise ValueError("no face in the photo")
    rect = max(rects, key=lambda found: found.width())
    shape = predictor(rgb, rect)
    points = [(shape.part(i).x, shape.part(i).y) for i in range(68)]
    left, right = points[0][0], points[16][0]
    margin = 0.15 * (right - left)
    return frame, (left - margin, points[30][0], right + margin)


@cache
def _turned(photo: bytes, pose: str) -> np.ndarray:
    """A turn far enough to read clearly (|yaw| >= CLEAR_TURN), as a person asked to turn
    makes, that the worker still reads as clearly in every shaken frame of a burst (``jpeg``)
    and in the frame a browser sends from the fake camera, every way the worker finds a face
    (_clear_shakes); else the turn that most shakes leave clear (some faces lose their
    landmarks or their face under a strong warp: grace_hopper's)."""
    if pose == liveness.FRONT:
        return warp(photo, pose)
    clear_counts = []
    for shift in SHIFTS:
        frame = warp(photo, pose, shift)
        clear = len(_clear_shakes(photo, frame, pose))
        copies = [_shaken(frame, shake) for shake in range(SHAKES)] + [_filmed(frame)]
        worst = min(abs(_yaw(copy)) for copy in copies)
        if clear == SHAKES and worst >= SHAKEN_TURN and abs(_yaw(frame)) >= CLEAR_TURN:
            return frame
        clear_counts.append(clear)
    # No turn reads clearly in every copy: the one that most shakes read clearly (bursts use
    # only those, see _readable_shakes).
    return warp(photo, pose, SHIFTS[clear_counts.index(max(clear_counts))])


def _filmed(frame: np.ndarray) -> np.ndarray:
    """The frame as a browser sends it from the fake camera: scaled to the camera's size and
    back, JPEG-encoded."""
    camera = cv2.resize(frame, CAMERA_SIZE, interpolation=cv2.INTER_LINEAR)
    back = cv2.resize(camera, FRAME_SIZE, interpolation=cv2.INTER_AREA)
    return cv2.imdecode(np.frombuffer(jpeg(back), np.uint8), cv2.IMREAD_COLOR)


def _shaken(frame: np.ndarray, shake: int) -> np.ndarray:
    """The frame as the worker gets it in a burst, shaken (``jpeg``) the ``shake``-th way."""
    data = jpeg(frame, random.Random(shake))
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def turned(photo: bytes, pose: str) -> np.ndarray:
    """The photo's face turned to the person's own left or right (or left as it is)."""
    if pose == liveness.FRONT:
        return fit_frame(photo)
    return _turned(photo, pose).copy()


def _yaw(frame: np.ndarray) -> float:
    """The yaw the worker will read, or 0 where its detector (no upsampling) finds no face."""
    from recognition.engine.livecheck import DETECT_SIDE

    dlib, detector, predictor = _models()
    rgb = np.ascontiguousarray(frame[:, :, ::-1])
    scale = DETECT_SIDE / max(rgb.shape[:2])
    small = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)))
    rects = detector(small, 0)
    if not rects:
        return 0.0
    rect = max(rects, key=lambda found: found.width())
    box = dlib.rectangle(
        round(rect.left() / scale),
        round(rect.top() / scale),
        round(rect.right() / scale),
        round(rect.bottom() / scale),
    )
    shape = predictor(rgb, box)
    return liveness.yaw_from_landmarks([(shape.part(i).x, shape.part(i).y) for i in range(68)])


def warp(photo: bytes, pose: str, shift: float = TURN_SHIFT) -> np.ndarray:
    """The face's nose moved ``shift`` of the way toward the side the person turns to."""
    frame, (left, nose, right) = _landmarks(photo)
    frame = frame.copy()
    if pose == liveness.FRONT:
        return frame
    # The person's own left is the image's right (unmirrored camera frame).
    target = (
        nose + shift * (right - nose) if pose == liveness.LEFT else nose - shift * (nose - left)
    )
    xs = np.arange(frame.shape[1], dtype=np.float32)
    source = xs.copy()
    inner = (xs >= left) & (xs <= target)
    source[inner] = left + (xs[inner] - left) * (nose - left) / (target - left)
    outer = (xs > target) & (xs <= right)
    source[outer] = nose + (xs[outer] - target) * (right - nose) / (right - target)
    map_x = np.tile(source, (frame.shape[0], 1))
    map_y = np.tile(np.arange(frame.shape[0], dtype=np.float32)[:, None], (1, frame.shape[1]))
    return cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def jpeg(frame: np.ndarray, rng: random.Random | None = None) -> bytes:
    """One camera frame: a small shift and sensor noise, JPEG-encoded as the page does."""
    if rng is not None:
        dx, dy = rng.randint(-JITTER_PX, JITTER_PX), rng.randint(-JITTER_PX, JITTER_PX)
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        frame = cv2.warpAffine(frame, matrix, (frame.shape[1], frame.shape[0]))
        noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, NOISE, frame.shape)
        frame = np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return encoded.tobytes()


def pose_script(steps, *, front: int = 2, turn: int = 2) -> list[str]:
    """Poses frame by frame for a sequence of turns: front, then each turn and back."""
    script = [liveness.FRONT] * front
    for step in steps:
        script += [step] * turn + [liveness.FRONT] * front
    return script


def burst(photos, steps, *, seed: int = 0, front: int = 2, turn: int = 2) -> list[bytes]:
    """A bona-fide-looking burst answering ``steps``: photos of one person (cycled), turned as
    the script says, each frame shaken in one of SHAKES ways drawn at random. With photos of
    two people, the turns are the second person's."""
    rng = random.Random(seed)
    frames = []
    for index, pose in enumerate(pose_script(steps, front=front, turn=turn)):
        photo = photos[index % len(photos)] if pose == liveness.FRONT else photos[-1]
        if pose == liveness.FRONT:
            photo = photos[0]
        shake = rng.choice(_readable_shakes(photo, pose))
        frames.append(jpeg(turned(photo, pose), random.Random(shake)))
    return frames


def answering_burst(photos, steps, *, tries: int = 8) -> list[bytes]:
    """A burst of one person (``burst``) whose frames the worker reads as making exactly
    ``steps``: of the bursts drawn with seeds 0, 1, ..., the first that does, as a person asked
    to turn turns until the page's prompt is met. Each frame is checked where ``burst`` builds it,
    but the worker follows the face from frame to frame, and a warped packaged photo
    (grace_hopper) can still lose a turn there; a test that is about what comes after the
    challenge (the face comparison) needs the challenge met. The last burst drawn when none is."""
    from recognition.engine import get_engine, livecheck

    challenge = liveness.Challenge("answering", tuple(steps), 0.0, "sign_in")
    for seed in range(tries):
        frames = burst(photos, steps, seed=seed)
        # Read as the worker reads it: the engine scans the first frame.
        reading = livecheck.read_burst(challenge, frames, get_engine())
        poses = [frame.pose for frame in reading.frames]
        if len(poses) == len(frames) and not liveness.check_moves(challenge, poses):
            return frames
    return frames


@cache
def _readable_shakes(photo: bytes, pose: str) -> tuple[int, ...]:
    """The shakes after which the worker still reads the turned face's ``pose`` clearly (all
    of them when none does, so that the test shows it)."""
    if pose == liveness.FRONT:
        return tuple(range(SHAKES))
    return _clear_shakes(photo, turned(photo, pose), pose) or tuple(range(SHAKES))


def _clear_shakes(photo: bytes, frame: np.ndarray, pose: str) -> tuple[int, ...]:
    """The shakes after which the worker reads the turned ``frame``'s ``pose`` clearly
    (|yaw| >= SHAKEN_TURN, away from the threshold) every way it finds a face: scanning the
    whole frame (a burst's first face), near the face where the front frame had it (a turn's
    first frame) and near where any shaken copy of the turn has it, found either way (the
    turn's next frames). A person asked to
    turn is seen turning in every frame sent; some warped faces of the packaged photos lose
    their face or fall short of a turn under one shake or another, and their bursts use the
    other shakes."""
    from recognition.engine import livecheck

    m = livecheck.models()

    def read(data: bytes, near_box):
        small = cv2.cvtColor(livecheck._decode(data, livecheck.POSE_SIDE), cv2.COLOR_BGR2GRAY)
        reading = livecheck.BurstReading()
        if near_box is None:
            box = livecheck._detect(m, data, small.shape[1], reading)
        else:
            box = livecheck._detect_near(m, small, near_box, reading)
        if box is None:
            return None, None
        yaw = livecheck._yaw(livecheck._landmarks(m, small, box))
        return box, liveness.pose_of(yaw, turn_min=SHAKEN_TURN)

    front_box, _front = read(jpeg(fit_frame(photo)), None)
    if front_box is None:
        return ()
    shaken = [jpeg(frame, random.Random(shake)) for shake in range(SHAKES)]
    found = [read(data, None) for data in shaken]
    found += [read(data, front_box) for data in shaken]
    boxes = [front_box] + [box for box, seen in found if seen == pose]
    return tuple(
        shake
        for shake, data in enumerate(shaken)
        if found[shake][1] == pose and all(read(data, box)[1] == pose for box in boxes)
    )


def still(photo: bytes, count: int, *, noise: bool) -> list[bytes]:
    """A still photo sent as every frame (noise=False), or a camera filming a picture that does
    not move (noise=True: each frame differs a little, the pose never changes)."""
    rng = random.Random(7)
    frame = turned(photo, liveness.FRONT)
    if noise:
        return [jpeg(frame, rng) for _ in range(count)]
    return [jpeg(frame)] * count


def y4m(frames_bgr: list[np.ndarray], path, *, fps: int = 10, repeat: int = 1) -> None:
    """A limited-range 4:2:0 y4m for Chromium's fake camera, each frame shown ``repeat`` times."""
    height, width = frames_bgr[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames_bgr:
            yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
            # OpenCV writes full-range Y; the fake camera expects limited range (16-235).
            planes = yuv.astype(np.float32)
            y_size = width * height
            planes.flat[:y_size] = 16 + planes.flat[:y_size] * 219 / 255
            planes.flat[y_size:] = 128 + (planes.flat[y_size:] - 128) * 224 / 255
            data = np.clip(planes, 0, 255).astype(np.uint8).tobytes()
            for _ in range(repeat):
                out.write(b"FRAME\n" + data)


SIGN_IN = ("/accounts/login/face/challenge/", "/accounts/login/face/")
ENROL = ("/face/enrol/challenge/", "/face/enrol/")


def data_urls(frames: list[bytes]) -> list[str]:
    import base64

    return ["data:image/jpeg;base64," + base64.b64encode(frame).decode() for frame in frames]


def live_post(client, routes, fields: dict, photos, *, make=None, **extra):
    """Asks the server for a challenge, answers it with a burst built from ``photos`` (or with
    ``make(steps)``) and posts it with ``fields``, as the page does. Returns the response."""
    challenge_url, form_url = routes
    issued = client.post(challenge_url, **extra).json()
    steps = [step["pose"] for step in issued["steps"]]
    frames = make(steps) if make is not None else answering_burst(photos, steps)
    return client.post(
        form_url, {**fields, "nonce": issued["nonce"], "frame": data_urls(frames)}, **extra
    )


def warm_turns(photo: bytes) -> None:
    """Builds (and caches) the photo's turned faces and the shakes that keep them readable now,
    so that a timed request that follows (or threads making bursts at once) spend their time on
    the server, not on making frames."""
    for pose in liveness.TURNS:
        turned(photo, pose)
        _readable_shakes(photo, pose)  # the shakes a burst draws from, read by the worker
