"""The challenge's pure rules: every challenge, every way of answering it, every refusal."""

import itertools
import random

import pytest

from recognition.engine import liveness as L

ALL_CHALLENGES = [tuple(steps) for steps in itertools.product(L.TURNS, repeat=L.DEFAULT_STEPS)]


def _challenge(steps=(L.LEFT, L.RIGHT, L.LEFT), issued_at=1000.0, scope="sign_in"):
    return L.Challenge("n" * 22, tuple(steps), issued_at, scope)


def _script(steps, front=2, turn=2):
    poses = [L.FRONT] * front
    for step in steps:
        poses += [step] * turn + [L.FRONT] * front
    return poses


def _face(yaw):
    """68 points of a schematic face whose nose sits where a head turned by ``yaw`` puts it."""
    points = [(100.0, 100.0)] * 68
    points[0], points[16] = (0.0, 100.0), (200.0, 100.0)
    points[36], points[45] = (40.0, 80.0), (160.0, 80.0)
    points[30] = (100.0 + yaw * 100.0 * 0.9, 120.0)
    return points


def test_new_challenges_are_random_single_nonce_and_of_turns_only():
    challenges = [L.new_challenge(0.0, "sign_in") for _ in range(400)]
    assert len({c.nonce for c in challenges}) == 400
    assert all(len(c.nonce) >= 22 for c in challenges)
    assert {c.steps for c in challenges} == set(ALL_CHALLENGES)
    assert all(set(c.steps) <= set(L.TURNS) for c in challenges)


def test_a_challenge_survives_the_session_and_rejects_tampered_data():
    challenge = L.new_challenge(5.0, "enrolment")
    assert L.Challenge.from_dict(challenge.as_dict()) == challenge
    for broken in (
        {},
        {"nonce": "x", "steps": ["up"], "issued_at": 1, "scope": "sign_in"},
        {"nonce": "x", "steps": [], "issued_at": 1, "scope": "sign_in"},
        {"nonce": "x", "steps": ["left"], "issued_at": "soon", "scope": "sign_in"},
        {"nonce": "x", "steps": None, "issued_at": 1, "scope": "sign_in"},
    ):
        assert L.Challenge.from_dict(broken) is None


YAWS = [-0.9, -0.5, -0.31, -0.2, 0.0, 0.2, 0.31, 0.5, 0.9]


def test_yaw_follows_the_nose_in_order_and_mirrors_exactly():
    measured = [L.yaw_from_landmarks(_face(yaw)) for yaw in YAWS]
    assert measured == sorted(measured) and len(set(measured)) == len(measured)
    assert all((m > 0) == (y > 0) for m, y in zip(measured, YAWS, strict=True) if y)
    assert L.yaw_from_landmarks(_face(0.0)) == pytest.approx(0.0)
    for yaw, value in zip(YAWS, measured, strict=True):
        assert L.yaw_from_landmarks(_mirror(yaw)) == pytest.approx(-value, abs=1e-9)
        assert -1.0 <= value <= 1.0


def _mirror(yaw):
    points = [(200.0 - x, y) for x, y in _face(yaw)]
    # a mirror swaps the face's sides: the landmark numbering follows the image, not the face
    points[0], points[16] = points[16], points[0]
    points[36], points[45] = points[45], points[36]
    return points


def test_yaw_needs_68_points_and_reads_a_collapsed_face_as_no_turn():
    with pytest.raises(ValueError):
        L.yaw_from_landmarks([(0.0, 0.0)] * 5)
    assert L.yaw_from_landmarks([(0.0, 0.0)] * 68) == 0.0


def test_poses_from_yaw_with_a_gap_between_front_and_turn():
    assert L.pose_of(0.0) == L.FRONT
    assert L.pose_of(L.FRONT_MAX - 0.01) == L.FRONT
    assert L.pose_of(-(L.FRONT_MAX - 0.01)) == L.FRONT
    assert L.pose_of(L.FRONT_MAX + 0.01) is None
    assert L.pose_of(L.TURN_MIN) == L.LEFT
    assert L.pose_of(-L.TURN_MIN) == L.RIGHT
    assert L.pose_of(1.0) == L.LEFT and L.pose_of(-1.0) == L.RIGHT


def test_moves_collapse_held_poses_and_skip_undecided_frames():
    poses = [L.FRONT, None, L.LEFT, L.LEFT, None, L.LEFT, L.FRONT, L.FRONT, L.LEFT, L.FRONT]
    assert L.moves(poses) == [L.LEFT, L.LEFT]
    assert L.moves([L.FRONT] * 9) == []
    assert L.moves([None] * 9) == []


@pytest.mark.parametrize("steps", ALL_CHALLENGES)
def test_every_challenge_is_answered_only_by_its_own_sequence(steps):
    challenge = _challenge(steps)
    for other in ALL_CHALLENGES:
        code = L.check_moves(challenge, _script(other))
        assert code == ("" if other == steps else L.WRONG_ORDER)
    # reversed, shortened, lengthened
    assert L.check_moves(challenge, _script(steps[:-1])) == L.WRONG_ORDER
    assert L.check_moves(challenge, _script((*steps, L.LEFT))) == L.WRONG_ORDER
    if steps != steps[::-1]:
        assert L.check_moves(challenge, _script(steps[::-1])) == L.WRONG_ORDER


def test_a_still_picture_and_a_static_loop_show_no_movement():
    challenge = _challenge()
    assert L.check_moves(challenge, [L.FRONT] * 20) == L.NO_MOVEMENT
    assert L.check_moves(challenge, [L.FRONT, None] * 10) == L.NO_MOVEMENT


def test_a_burst_must_start_and_end_facing_the_camera():
    challenge = _challenge()
    assert L.check_moves(challenge, _script(challenge.steps)[2:]) == L.WRONG_ORDER
    assert L.check_moves(challenge, _script(challenge.steps)[:-2]) == L.WRONG_ORDER


def test_a_looping_left_right_video_answers_few_challenges():
    rng = random.Random(3)
    loop = [L.FRONT, L.LEFT, L.FRONT, L.RIGHT] * 4
    answered = 0
    for _ in range(2000):
        challenge = _challenge(tuple(rng.choice(L.TURNS) for _ in range(3)))
        start = rng.randrange(4)
        window = [L.FRONT] + loop[start : start + 6] + [L.FRONT]
        answered += L.check_moves(challenge, window) == ""
    assert answered / 2000 < 0.3


def test_the_answer_must_carry_this_sessions_nonce_in_time_and_scope():
    challenge = _challenge()
    ok = {"nonce": challenge.nonce, "scope": "sign_in", "received_at": 1010.0, "frame_count": 20}
    assert L.check_answer(challenge, **ok) == ""
    assert L.check_answer(None, **ok) == L.NO_CHALLENGE
    assert L.check_answer(challenge, **{**ok, "nonce": "m" * 22}) == L.NO_CHALLENGE
    assert L.check_answer(challenge, **{**ok, "nonce": ""}) == L.NO_CHALLENGE
    assert L.check_answer(challenge, **{**ok, "scope": "enrolment"}) == L.NO_CHALLENGE
    late = 1000.0 + L.DEFAULT_TTL_SECONDS + 0.001
    assert L.check_answer(challenge, **{**ok, "received_at": late}) == L.EXPIRED
    assert L.check_answer(challenge, **{**ok, "received_at": 999.0}) == L.EXPIRED
    assert L.check_answer(challenge, **{**ok, "frame_count": L.MIN_FRAMES - 1}) == L.FRAMES
    assert L.check_answer(challenge, **{**ok, "frame_count": L.MAX_FRAMES + 1}) == L.FRAMES


def test_frames_to_embed_are_a_front_probe_and_one_frame_per_turn():
    poses = _script((L.LEFT, L.RIGHT, L.LEFT), front=3, turn=3)
    probe, turns = L.frames_to_embed(poses)
    assert poses[probe] == L.FRONT and probe == 1
    assert [poses[index] for index in turns] == [L.LEFT, L.RIGHT, L.LEFT]


def test_every_refusal_has_a_message_that_offers_the_code_route():
    for code in (L.NO_CHALLENGE, L.EXPIRED, L.FRAMES, L.NO_MOVEMENT, L.WRONG_ORDER, L.TWO_PEOPLE):
        assert "password and code" in str(L.message(code))
