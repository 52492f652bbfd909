"""Reading a burst in the worker, with the real models and no worker process: the cheap path
(the whole frame scanned once, then only around the face; poses on half-size frames; one SFace
pair) reads what scanning every whole frame reads, refuses what it must, and spends the
bounded work it promises."""

import numpy as np
import pytest

from recognition.engine import livecheck, liveness
from tests import liveness_frames as lf

STEPS = (liveness.LEFT, liveness.RIGHT, liveness.LEFT)


def _challenge(steps=STEPS):
    return liveness.Challenge("n" * 22, tuple(steps), 0.0, "sign_in")


def _poses_detecting_every_frame(frames):
    """The reference reading: the detector on every frame, landmarks on its box."""
    m = livecheck.models()
    reading = livecheck.BurstReading()
    poses = []
    for data in frames:
        small = m.cv2.cvtColor(livecheck._decode(data, livecheck.POSE_SIDE), m.cv2.COLOR_BGR2GRAY)
        box = livecheck._detect(m, data, small.shape[1], reading)
        if box is None:
            poses.append(None)
            continue
        poses.append(liveness.pose_of(livecheck._yaw(livecheck._landmarks(m, small, box))))
    return poses, reading.detections


@pytest.mark.parametrize("steps", [STEPS, (liveness.RIGHT, liveness.RIGHT, liveness.LEFT)])
def test_the_cheap_path_reads_the_poses_that_scanning_every_frame_reads(photos, steps):
    frames = lf.burst([photos["a2"]], steps, front=3, turn=3)
    reading = livecheck.read_burst(_challenge(steps), frames)
    expected, detections = _poses_detecting_every_frame(frames)
    assert reading.code == "", reading
    assert [frame.pose for frame in reading.frames] == expected
    # Cheaper than the reference: the whole frame scanned once (twice at most: its upsampled
    # second chance, or one frame whose face was lost near the last box, as happens on the
    # warped packaged photos), every other frame only around the face.
    assert detections == len(frames)
    assert reading.detections <= 2 < len(frames)
    assert reading.near_detections == len(frames) - 1
    assert reading.embedded == 2  # the probe frame and one turn, by SFace
    assert reading.identity_similarities[0] >= livecheck.SAME_PERSON_MIN
    assert liveness.pose_of(reading.frames[reading.probe].yaw) == liveness.FRONT


def test_turns_made_by_someone_else_are_refused_whichever_turn_is_checked(photos):
    # The front frames show one person (a picture held up), every turn is another's.
    frames = lf.burst([photos["b1"], photos["a2"]], STEPS, front=3, turn=3)
    for _ in range(3):
        reading = livecheck.read_burst(_challenge(), frames)
        assert reading.code == liveness.TWO_PEOPLE
        assert reading.probe is None


def test_a_still_and_a_static_loop_show_no_movement(photos):
    for frames in (lf.still(photos["a2"], 16, noise=False), lf.still(photos["a2"], 16, noise=True)):
        reading = livecheck.read_burst(_challenge(), frames)
        assert reading.code == liveness.NO_MOVEMENT
        assert reading.embedded == 0 and reading.detections == 1


def test_turns_in_the_wrong_order_are_refused(photos):
    frames = lf.burst([photos["a2"]], (liveness.RIGHT, liveness.LEFT, liveness.LEFT), front=3)
    assert livecheck.read_burst(_challenge(), frames).code == liveness.WRONG_ORDER


def test_a_second_face_where_the_face_is_found_refuses_the_burst(photos):
    frames = lf.burst([photos["a2"]], STEPS, front=3, turn=3)
    frames[0] = lf.jpeg(lf.fit_frame(photos["two"]))
    assert livecheck.read_burst(_challenge(), frames).code == liveness.TWO_PEOPLE


def test_frames_without_a_face_are_counted_and_too_many_refuse(photos):
    blank = lf.jpeg(np.full((360, 480, 3), 90, np.uint8))
    frames = lf.burst([photos["a2"]], STEPS, front=3, turn=3)
    assert livecheck.read_burst(_challenge(), [blank] * 4 + frames).code == ""
    reading = livecheck.read_burst(_challenge(), [blank] * len(frames) + frames[:4])
    assert reading.code == liveness.NO_FACE


def test_bad_frames_are_refused_without_raising(photos):
    frames = lf.burst([photos["a2"]], STEPS)
    for bad in (b"", b"not a jpeg", b"\xff" * (liveness.MAX_FRAME_BYTES + 1)):
        assert livecheck.read_burst(_challenge(), [*frames[:-1], bad]).code == liveness.FRAMES


def _small_face_frame(photo: bytes, share: float) -> bytes:
    """The page's 480 x 360 frame with the person far from the camera: the usual framing
    shrunk to ``share`` of its size, on grey."""
    import cv2

    frame = lf.fit_frame(photo)
    height, width = frame.shape[:2]
    small = cv2.resize(frame, (round(width * share), round(height * share)))
    canvas = np.full_like(frame, 128)
    top, left = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return lf.jpeg(canvas)


def test_a_face_lost_by_the_first_scan_is_found_by_a_second_upsampled_one(photos):
    m = livecheck.models()
    data = _small_face_frame(photos["a2"], 0.3)
    reading = livecheck.BurstReading()
    box = livecheck._detect(m, data, livecheck.POSE_SIDE, reading)
    assert box is not None
    assert reading.detections == 2  # the usual scan missed it; the upsampled one found it
    # A frame with no face at all costs both scans and still has none.
    empty = livecheck.BurstReading()
    assert livecheck._detect(m, lf.jpeg(np.full((360, 480, 3), 128, np.uint8)), 240, empty) is None
    assert empty.detections == 2


@pytest.mark.parametrize("steps", [STEPS, (liveness.RIGHT, liveness.RIGHT, liveness.LEFT)])
def test_the_pages_ten_frames_answer_the_challenge(photos, steps):
    # As static/js/liveness.js takes them: one frame facing the camera, two per turn held.
    frames = lf.burst([photos["a2"]], steps, front=1, turn=2)
    assert len(frames) == 10
    reading = livecheck.read_burst(_challenge(steps), frames)
    assert reading.code == "", reading
    assert reading.probe == 0
    assert liveness.moves([frame.pose for frame in reading.frames]) == list(steps)


@pytest.fixture
def engine():
    from recognition.engine import get_engine

    return get_engine()


@pytest.mark.parametrize("front", [1, 3])
def test_the_probe_frame_is_embedded_from_the_checks_scan_as_from_its_bytes(photos, engine, front):
    # Given the engine, the check has the engine decode and scan the probe frame once (the
    # first frame with the page's one front frame; the middle of the first front run with
    # three): the engine embeds it from that scan, the same embedding as from the bytes.
    frames = lf.burst([photos["a2"]], STEPS, front=front, turn=3)
    reading = livecheck.read_burst(_challenge(), frames, engine)
    assert reading.code == "", reading
    assert reading.probe == front // 2
    assert reading.scanned is not None
    # Embedded by the check itself (while SFace compared the identities), as from the bytes.
    assert reading.scanned.embedding is not None
    assert np.array_equal(engine.embed(reading.scanned), engine.embed(frames[reading.probe]))
    assert reading.identity_similarities[0] >= livecheck.SAME_PERSON_MIN
    # ... and the poses read are those of the check on its own.
    alone = livecheck.read_burst(_challenge(), frames)
    assert [f.pose for f in reading.frames] == [f.pose for f in alone.frames]
    assert reading.detections <= 2 and reading.near_detections == len(frames) - 1


def test_with_the_engine_turns_by_someone_else_leave_no_embedding(photos, engine):
    # The engine embeds the probe frame while SFace compares the turn with it: when the turn
    # is somebody else's, that embedding goes with the refusal.
    frames = lf.burst([photos["b1"], photos["a2"]], STEPS, front=1, turn=2)
    reading = livecheck.read_burst(_challenge(), frames, engine)
    assert reading.code == liveness.TWO_PEOPLE
    assert reading.probe is None and reading.scanned is None


def _with_a_small_second_face(photos) -> bytes:
    """The page's frame of a2 facing the camera, someone else (b1's face and a margin around
    it, 140 px) small in its top right corner: a second face the whole-frame scan at the
    engine's size finds (73 px, scored well above OTHER_FACE_MIN_SCORE with the shared and the
    packaged photos alike), away from the first face, where a scan near it does not look."""
    import cv2

    frame = lf.turned(photos["a2"], liveness.FRONT)
    width = frame.shape[1]
    image = cv2.imdecode(np.frombuffer(photos["b1"], np.uint8), cv2.IMREAD_COLOR)
    left, top, face_width, face_height = lf._face_box(photos["b1"])
    margin = 0.6
    x0, y0 = int(max(0, left - margin * face_width)), int(max(0, top - margin * face_height))
    x1 = int(min(image.shape[1], left + face_width * (1 + margin)))
    y1 = int(min(image.shape[0], top + face_height * (1 + margin)))
    other = cv2.resize(image[y0:y1, x0:x1], (140, 140))
    frame[:140, width - 140 :] = other
    return lf.jpeg(frame)


def test_with_the_engine_a_second_face_in_the_probe_frame_still_refuses_the_burst(photos, engine):
    from recognition.engine import FaceRejected

    frames = lf.burst([photos["a2"]], STEPS, front=1, turn=2)
    frames[0] = _with_a_small_second_face(photos)
    with pytest.raises(FaceRejected):  # as the engine refused the probe frame before
        engine.embed(frames[0])
    reading = livecheck.read_burst(_challenge(), frames, engine)
    assert reading.code == liveness.TWO_PEOPLE  # the engine's own scan, made by the check
    assert reading.scanned is None
    frames[0] = lf.jpeg(lf.fit_frame(photos["two"]))
    assert livecheck.read_burst(_challenge(), frames, engine).code == liveness.TWO_PEOPLE


def test_a_second_face_beside_a_probe_frame_found_near_the_face_is_still_seen(photos, engine):
    # With three front frames the probe is the second, found near the first one's face only;
    # the engine's whole-frame scan of it (made by the check now, once) still sees the other
    # person, and the engine refuses it as it refused the bytes.
    from recognition.engine import SEVERAL_FACES, FaceRejected

    frames = lf.burst([photos["a2"]], STEPS, front=3, turn=3)
    frames[1] = _with_a_small_second_face(photos)
    reading = livecheck.read_burst(_challenge(), frames, engine)
    assert reading.code == "", reading
    assert reading.probe == 1 and reading.scanned is not None
    for probe in (reading.scanned, frames[1]):
        with pytest.raises(FaceRejected) as refused:
            engine.embed(probe)
        assert refused.value.code == SEVERAL_FACES
