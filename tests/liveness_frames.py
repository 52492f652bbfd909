"""Challenge bursts built from real photos, for the tests and bench/liveness.py.

A head turn is imitated on a frontal photo by a horizontal warp of the face: the nose is moved
toward one side of the face while the face's edges stay put (one cheek squeezed, the other
stretched), which is what dlib's landmarks see of a turn. Each frame gets its own small shift
and sensor-like noise, as a camera's frames do. This is a 2D imitation: no ear appears, no
cheek hides, no light changes; see docs/face-engine.md for what it cannot show.
"""

from __future__ import annotations

import random
from functools import cache

import cv2
import numpy as np

from recognition import liveness

FRAME_SIZE = (480, 360)  # what the page sends
TURN_SHIFT = 0.6  # how far the nose moves toward the face's edge (share of the way)


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
    """The photo fitted into the camera's 480 x 360 frame (letterboxed), BGR."""
    image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    width, height = FRAME_SIZE
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    canvas = np.full((height, width, 3), 90, np.uint8)
    top = (height - resized.shape[0]) // 2
    left = (width - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


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
    """A turn far enough to read clearly (|yaw| >= 0.45), as a person asked to turn makes."""
    for shift in (TURN_SHIFT, 0.7, 0.8, 0.9):
        frame = warp(photo, pose, shift)
        if pose == liveness.FRONT or abs(_yaw(frame)) >= 0.45:
            return frame
    return frame


def turned(photo: bytes, pose: str) -> np.ndarray:
    """The photo's face turned to the person's own left or right (or left as it is)."""
    if pose == liveness.FRONT:
        return fit_frame(photo)
    return _turned(photo, pose).copy()


def _yaw(frame: np.ndarray) -> float:
    """The yaw the worker will read, or 0 where its detector (no upsampling) finds no face."""
    from recognition.livecheck import DETECT_SIDE

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
        dx, dy = rng.randint(-4, 4), rng.randint(-4, 4)
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        frame = cv2.warpAffine(frame, matrix, (frame.shape[1], frame.shape[0]))
        noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 3, frame.shape)
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
    the script says. With photos of two people, the turns are the second person's."""
    rng = random.Random(seed)
    frames = []
    for index, pose in enumerate(pose_script(steps, front=front, turn=turn)):
        photo = photos[index % len(photos)] if pose == liveness.FRONT else photos[-1]
        if pose == liveness.FRONT:
            photo = photos[0]
        frames.append(jpeg(turned(photo, pose), rng))
    return frames


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
    frames = make(steps) if make is not None else burst(photos, steps)
    return client.post(
        form_url, {**fields, "nonce": issued["nonce"], "frame": data_urls(frames)}, **extra
    )


def warm_turns(photo: bytes) -> None:
    """Builds (and caches) the photo's turned faces now, so that a timed request that follows
    spends its time on the server, not on making frames."""
    for pose in liveness.TURNS:
        turned(photo, pose)
