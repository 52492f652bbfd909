"""Safe decoding of untrusted photo uploads.

Uploaded bytes come from browsers and door devices and may be anything: not an image, cut
short, or a few kilobytes whose header promises billions of pixels. :func:`decode_image` reads
the header first, refuses what is too large before any pixel is decoded, decodes JPEGs directly
at a reduced scale (``draft``), applies the EXIF orientation, and returns a small BGR array
ready for OpenCV and DeepFace. Nothing is ever written to disk (design invariant 4).
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterable

import numpy as np
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_SIDE = 1024
DEFAULT_MAX_PIXELS = 40_000_000
# What browsers, phones and door cameras send. (Pillow opens the multi-picture JPEGs of some
# phone cameras, format "MPO", through its JPEG plugin.)
DEFAULT_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP")

# Stable codes, shown to API clients and used by views to pick a message.
EMPTY = "empty"
NOT_AN_IMAGE = "not_an_image"
TRUNCATED = "truncated"
TOO_MANY_PIXELS = "too_many_pixels"

MESSAGES = {
    EMPTY: _("The photo is empty."),
    NOT_AN_IMAGE: _("This file is not a photo in a supported format (JPEG, PNG or WebP)."),
    TRUNCATED: _("The photo is incomplete or damaged. Please take it again."),
    TOO_MANY_PIXELS: _("The photo is too large. Please send a smaller one."),
}


class ImageRejected(ValueError):
    """The upload cannot be used as a photo; ``code`` is stable, ``message`` is translatable."""

    def __init__(self, code: str, message: object | None = None) -> None:
        self.code = code
        self.message = message if message is not None else MESSAGES.get(code, code)
        # The code, not the (lazy, translatable) message, so that logging never needs settings.
        super().__init__(code)

    def __str__(self) -> str:
        return self.code


def decode_image(
    data: bytes,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Iterable[str] = DEFAULT_FORMATS,
) -> np.ndarray:
    """Decode untrusted image bytes into a BGR ``uint8`` array whose long side is <= max_side.

    Raises :class:`ImageRejected` with code ``empty``, ``not_an_image``, ``truncated`` or
    ``too_many_pixels``. The pixel count is checked from the header, before decoding.
    """
    opened = open_image(data, max_pixels=max_pixels, formats=formats)
    try:
        return to_bgr_array(_decode_reduced(opened, max_side))
    finally:
        opened.close()


def open_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, formats: Iterable[str] = DEFAULT_FORMATS
) -> Image.Image:
    """Read only the header; refuse empty data, non-images and too many pixels."""
    if not data:
        raise ImageRejected(EMPTY)
    try:
        with warnings.catch_warnings():
            # Our own bound below is stricter than Pillow's warning threshold.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(formats))
    except Image.DecompressionBombError as exc:
        raise ImageRejected(TOO_MANY_PIXELS) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError, KeyError) as exc:
        raise ImageRejected(NOT_AN_IMAGE) from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise ImageRejected(EMPTY)
    if width * height > max_pixels:
        image.close()
        raise ImageRejected(TOO_MANY_PIXELS)
    return image


def _decode_reduced(image: Image.Image, max_side: int) -> Image.Image:
    """Decode the first frame, reduced as early as the format allows; apply EXIF rotation."""
    width, height = image.size
    scale = min(1.0, max_side / max(width, height))
    if image.format in ("JPEG", "MPO") and scale < 1.0:
        # The JPEG decoder can scale by 1/2, 1/4 or 1/8 while decoding, at a fraction of the
        # cost; draft() picks the strongest reduction whose integer factor fits the requested
        # size (hence floor: 2048 -> 1024 must allow 1/2). The long side stays the long side
        # whatever the EXIF orientation, so the box holds.
        image.draft("RGB", (max(1, math.floor(width * scale)), max(1, math.floor(height * scale))))
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise ImageRejected(TOO_MANY_PIXELS) from exc
    except (OSError, SyntaxError, ValueError, TypeError, EOFError) as exc:
        raise ImageRejected(TRUNCATED) from exc

    # Convert and shrink before rotating: rotating the small copy is cheaper, and both keep the
    # EXIF block that says how to rotate.
    image = _to_rgb(image)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    try:
        rotated = ImageOps.exif_transpose(image)
    except Exception:  # a malformed EXIF block only costs the rotation
        rotated = image
    return rotated if rotated is not None else image


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB without alpha: transparent areas become white, not whatever colour they hid."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits before the usual conversion.
        array = np.asarray(image, dtype=np.float64)
        peak = float(array.max()) or 1.0
        image = Image.fromarray(np.clip(array * (255.0 / peak), 0, 255).astype(np.uint8), "L")
    return image.convert("RGB")


def to_bgr_array(image: Image.Image) -> np.ndarray:
    """A contiguous BGR ``uint8`` array, the layout OpenCV and DeepFace expect."""
    rgb = np.asarray(image.convert("RGB") if image.mode != "RGB" else image, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])
