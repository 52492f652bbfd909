"""What the browser tests share besides fixtures: Chromium's settings, the fake camera's
files, and the helpers a test calls on a page (screenshots, keyboard moves, the face check,
a trusted browser). Test modules import these from here; conftest.py holds fixtures only."""

import io
import os
import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from tests.paths import ARTIFACTS

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = ARTIFACTS / "screenshots"
CAMERA_SIZE = (640, 480)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Browser locales and the portal language each one should pick (LocaleMiddleware).
LOCALES = {"en": "en-GB", "zh-hans": "zh-CN"}


def y4m_from_photo(photo: bytes, path: Path, size=CAMERA_SIZE) -> Path:
    """One 4:2:0 frame, limited-range BT.601, as Chromium's fake camera plays it (looped)."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(photo))).convert("RGB")
    image = ImageOps.pad(image, size, color=(128, 128, 128))
    rgb = np.asarray(image, dtype=np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    cb = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    cr = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255

    def half(plane):
        return plane.reshape(size[1] // 2, 2, size[0] // 2, 2).mean(axis=(1, 3))

    planes = [y, half(cb), half(cr)]
    body = b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)
    header = f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + body)
    return path.resolve()


# What the fake camera plays for a challenge: the seconds of each pose, at CAMERA_FPS. The page
# records 1.0 s facing the camera, then 1.4 s per turn and 1.0 s facing it again.
CAMERA_FPS = 5
FRONT_SECONDS, TURN_SECONDS, TAIL_SECONDS = 1.2, 1.4, 4.0


def camera_for(path: Path, faces: list[bytes], steps) -> Path:
    """Writes the y4m a person answering ``steps`` would show the camera: the face of the
    first photo front on, turned (2D warp, see tests/liveness_frames.py) for each step, the
    turns made by the last photo's face. Written before the camera is turned on."""
    import cv2

    from recognition.engine import liveness
    from tests import liveness_frames as lf

    frames = []

    def hold(photo, pose, seconds):
        frame = cv2.resize(lf.turned(photo, pose), CAMERA_SIZE, interpolation=cv2.INTER_LINEAR)
        frames.extend([frame] * round(seconds * CAMERA_FPS))

    hold(faces[0], liveness.FRONT, FRONT_SECONDS)
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        hold(faces[-1], step, TURN_SECONDS)
        hold(faces[0], liveness.FRONT, TAIL_SECONDS if last else FRONT_SECONDS)
    if not steps:
        hold(faces[0], liveness.FRONT, TAIL_SECONDS)
    lf.y4m(frames, path, fps=CAMERA_FPS)
    return path


def start_face_check(page, camera: Path, faces: list[bytes], *, steps=None, keyboard=False):
    """Starts the check, reads the challenge off the page, films the answer (``steps``, or the
    challenge's own) and turns the camera on. Returns the challenge's steps."""
    start = page.get_by_role("button", name=re.compile("Start the face check|开始人脸核验"))
    if keyboard:
        tab_to(page, start)
        page.keyboard.press("Enter")
    else:
        start.click()
    page.locator("[data-steps] li").first.wait_for()
    asked = page.eval_on_selector_all("[data-steps] li", "items => items.map(i => i.dataset.pose)")
    answer = asked if steps is None else steps(asked)
    camera_for(camera, faces, answer)
    ready = page.locator("[data-camera-start]")
    if keyboard:
        tab_to(page, ready)
        page.keyboard.press("Enter")
    else:
        ready.click()
    return asked


def shoot(page, name: str, full_page=True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def tab_to(page, locator, limit=80):
    """Moves the keyboard focus with Tab only until `locator` has it (a keyboard-only user)."""
    target = locator.element_handle()
    for _ in range(limit):
        if page.evaluate("(el) => document.activeElement === el", target):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


@contextmanager
def no_page_errors(page):
    yield
    assert not page.errors, page.errors


def trust_page(page, live_server, user) -> None:
    """The trusted-device cookie a password + code sign-in in this browser would have left:
    face sign-in is offered only in such a browser."""
    from portal import trusted

    page.context.add_cookies(
        [
            {
                "name": trusted.COOKIE,
                "value": trusted.cookie_for(user, "browser-test"),
                "url": live_server.url,
            }
        ]
    )
