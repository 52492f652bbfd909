"""Real face photos for the tests: the shared ones beside the checkout, or photos that installed
packages ship, so the tests run on a fresh machine too."""

import io

from PIL import Image

from tests.paths import SHARED_FACES


def _packaged_photos() -> dict[str, bytes]:
    """Two different real people shipped by installed packages, for machines without ../shared.

    skimage's astronaut is person a: her face reads as a clear turn under the bursts' warp
    and shakes, both ways it is found (tests/liveness_frames.py), where grace_hopper's falls
    short of a turn in some frames. A second photo of a person is the first mirrored and
    slightly cropped; no installed package ships two photos of one person."""
    import matplotlib.cbook
    import skimage.data

    hopper = Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    astronaut = Image.fromarray(skimage.data.astronaut())
    return {
        "a1": _jpeg(astronaut),
        "a2": _jpeg(_mirrored(astronaut)),
        "b1": _jpeg(hopper),
        "b2": _jpeg(_mirrored(hopper)),
        "two": _jpeg(_pair(hopper, astronaut)),
    }


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _mirrored(image: Image.Image) -> Image.Image:
    """The photo mirrored, a twentieth cropped from each side."""
    image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    width, height = image.size
    return image.crop((width // 20, height // 20, width - width // 20, height - height // 20))


def _pair(hopper: Image.Image, astronaut: Image.Image) -> Image.Image:
    """A group photo of both, heads and shoulders side by side, faces of a similar size and
    large enough to be found where the worker looks for them (a 480 x 360 frame)."""
    people = [hopper.crop((110, 60, 440, 420)), astronaut.crop((130, 20, 310, 216))]
    people = [p.convert("RGB").resize((round(p.width * 360 / p.height), 360)) for p in people]
    pair = Image.new("RGB", (sum(p.width for p in people), 360), (255, 255, 255))
    pair.paste(people[0], (0, 0))
    pair.paste(people[1], (people[0].width, 0))
    return pair


def load_photos() -> dict[str, bytes]:
    """a1, a2: the same person; b1, b2: someone else; two: two people; none: no face."""
    blank = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 160, 200)).save(blank, format="JPEG")
    if SHARED_FACES.is_dir():
        found = {
            "a1": (SHARED_FACES / "person_a_1.jpg").read_bytes(),
            "a2": (SHARED_FACES / "person_a_2.jpg").read_bytes(),
            "b1": (SHARED_FACES / "person_b_1.jpg").read_bytes(),
            "b2": (SHARED_FACES / "person_b_2.jpg").read_bytes(),
            "two": (SHARED_FACES / "two_faces.jpg").read_bytes(),
        }
    else:
        found = _packaged_photos()
    found["none"] = blank.getvalue()
    return found
