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
# Peak bytes that decoding one photo and converting it to 8-bit RGB may take (decode_bytes):
# 64 MB holds a 21-megapixel 8-bit RGB PNG; a JPEG counts at the scale it is decoded at.
DEFAULT_MAX_DECODE_BYTES = 64 * 1024 * 1024
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
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
    formats: Iterable[str] = DEFAULT_FORMATS,
) -> np.ndarray:
    """Decode untrusted image bytes into a BGR ``uint8`` array whose long side is <= max_side.

    Raises :class:`ImageRejected` with code ``empty``, ``not_an_image``, ``truncated`` or
    ``too_many_pixels``. The pixel count, and the memory that decoding and converting the
    pixels would take (:func:`decode_bytes`), are checked from the header, before decoding.
    """
    opened = open_image(data, max_pixels=max_pixels, formats=formats)
    try:
        return to_bgr_array(_decode_reduced(opened, max_side, max_decode_bytes))
    finally:
        opened.close()


# Bytes per pixel of Pillow's raster in each mode; a mode not listed counts as the widest.
_MODE_BYTES = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "PA": 2,
    "La": 2,
    "I;16": 2,
    "I;16L": 2,
    "I;16B": 2,
    "I;16N": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
}
_WIDEST = 4


def decode_bytes(mode: str, width: int, height: int, *, transparency: bool = False) -> int:
    """Peak bytes to decode an image of this mode and size and convert it to 8-bit RGB.

    The raster in its own mode, plus the RGB copy the conversion makes; an image with alpha
    (or a palette with a transparent colour) also takes an RGBA copy to flatten onto white,
    and 16- or 32-bit greyscale an 8-bit copy first. A 70 KB 16-bit PNG of 6000 x 6000 is
    72 MB raw and 216 MB converted.

    >>> decode_bytes("RGB", 1000, 1000)
    3000000
    >>> decode_bytes("I;16", 6000, 6000)
    216000000
    >>> decode_bytes("P", 100, 100, transparency=True)
    80000
    """
    pixels = width * height
    raster = _MODE_BYTES.get(mode, _WIDEST)
    if mode == "RGB":
        return pixels * raster
    flatten = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and transparency)
    grey = mode.startswith("I")
    return pixels * (raster + 3 + (4 if flatten else 0) + (1 if grey else 0))


def _within_budget(image: Image.Image, max_decode_bytes: int) -> None:
    width, height = image.size
    needed = decode_bytes(image.mode, width, height, transparency="transparency" in image.info)
    if needed > max_decode_bytes:
        raise ImageRejected(TOO_MANY_PIXELS)


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


def _decode_reduced(
    image: Image.Image, max_side: int, max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES
) -> Image.Image:
    """Decode the first frame, reduced as early as the format allows; apply EXIF rotation.

    Refused before any pixel is decoded when the decoded raster and its conversion to RGB
    would take more than ``max_decode_bytes`` (a JPEG counts at its reduced decoding scale).
    """
    width, height = image.size
    scale = min(1.0, max_side / max(width, height))
    if image.format in ("JPEG", "MPO") and scale < 1.0:
        # The JPEG decoder can scale by 1/2, 1/4 or 1/8 while decoding, at a fraction of the
        # cost; draft() picks the strongest reduction whose integer factor fits the requested
        # size (hence floor: 2048 -> 1024 must allow 1/2). The long side stays the long side
        # whatever the EXIF orientation, so the box holds.
        image.draft("RGB", (max(1, math.floor(width * scale)), max(1, math.floor(height * scale))))
    _within_budget(image, max_decode_bytes)
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
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits before the usual conversion, row band by row band
        # so that the conversion needs no more than the 8-bit copy it makes.
        image = _grey_to_8_bits(image)
    return image.convert("RGB")


def _grey_to_8_bits(image: Image.Image) -> Image.Image:
    """A 16- or 32-bit greyscale image stretched to 8 bits (its brightest pixel -> 255)."""
    width, height = image.size
    peak = max(1, int(image.getextrema()[1]))
    scale = np.float32(255.0 / peak)
    out = np.empty((height, width), dtype=np.uint8)
    band = max(1, 262_144 // max(1, width))
    for top in range(0, height, band):
        rows = np.asarray(image.crop((0, top, width, min(height, top + band))))
        np.multiply(rows, scale, out=out[top : top + band], casting="unsafe")
    return Image.fromarray(out, "L")


def to_bgr_array(image: Image.Image) -> np.ndarray:
    """A contiguous BGR ``uint8`` array, the layout OpenCV and DeepFace expect."""
    rgb = np.asarray(image.convert("RGB") if image.mode != "RGB" else image, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])
