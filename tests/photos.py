"""Real face photos for the tests: the shared ones beside the checkout, or photos that installed
packages ship, so the tests run on a fresh machine too."""

import io
from pathlib import Path

from PIL import Image

from tests.paths import SHARED_FACES


def _packaged_photos() -> dict[str, bytes]:
    """Two different real people shipped by installed packages, for machines without ../shared."""
    import matplotlib.cbook
    import skimage.data

    hopper = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    hopper_bytes = hopper.read_bytes()
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, format="JPEG", quality=92)
    astronaut = buffer.getvalue()
    # A second photo of the same person: mirrored and slightly cropped.
    image = Image.open(io.BytesIO(hopper_bytes)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    width, height = image.size
    image = image.crop((width // 20, height // 20, width - width // 20, height - height // 20))
    second = io.BytesIO()
    image.save(second, format="JPEG", quality=92)
    return {"a1": hopper_bytes, "a2": second.getvalue(), "b1": astronaut}


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
        # A group photo: both faces of a similar size (her face fills less of her photo).
        import skimage.data

        people = [
            Image.open(io.BytesIO(found["a1"])).convert("RGB"),
            Image.fromarray(skimage.data.astronaut()).crop((110, 0, 370, 300)),
        ]
        people = [p.resize((round(p.width * 600 / p.height), 600)) for p in people]
        pair = Image.new("RGB", (sum(p.width for p in people), 600), (255, 255, 255))
        pair.paste(people[0], (0, 0))
        pair.paste(people[1], (people[0].width, 0))
        buffer = io.BytesIO()
        pair.save(buffer, format="JPEG", quality=92)
        found["two"] = buffer.getvalue()
    found.setdefault("b2", found["b1"])
    found["none"] = blank.getvalue()
    return found
