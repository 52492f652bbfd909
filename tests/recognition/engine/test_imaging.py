"""Untrusted upload bytes: refused early when they are not a usable photo, shrunk when big."""

import builtins
import io
import struct
import time
import zlib

import numpy as np
import pytest
from django.utils.functional import Promise
from PIL import Image, ImageFile, JpegImagePlugin

from recognition.engine.imaging import ImageRejected, decode_image


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def gradient(width: int, height: int) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def noise(width: int, height: int, seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bomb(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims width x height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header is rewritten to claim width x height."""
    data = bytearray(encode(gradient(64, 48)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif, quality=95)


@pytest.fixture
def no_pixel_decoding(monkeypatch):
    """Fails the test if any image data is decoded (headers may be read)."""
    calls = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: calls.append(self))
    yield
    assert calls == [], "pixels were decoded"


def rejection(data: bytes, **options) -> str:
    with pytest.raises(ImageRejected) as caught:
        decode_image(data, **options)
    return caught.value.code


def test_empty_upload_is_refused():
    assert rejection(b"") == "empty"


@pytest.mark.parametrize(
    "data",
    [
        b"hello, I am not a photo",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        bytes(range(256)) * 8,
    ],
    ids=["text", "pdf", "svg", "random"],
)
def test_non_image_bytes_are_refused(data):
    assert rejection(data) == "not_an_image"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_images_in_formats_no_camera_sends_are_refused(fmt):
    assert rejection(encode(gradient(32, 32), fmt)) == "not_an_image"


def test_truncated_jpeg_is_refused():
    whole = encode(noise(640, 480), quality=90)

    assert rejection(whole[: len(whole) // 2]) == "truncated"


def test_truncated_png_is_refused():
    whole = encode(noise(320, 240), "PNG")

    assert rejection(whole[: len(whole) * 2 // 3]) == "truncated"


@pytest.mark.parametrize(
    ("width", "height"),
    [(100_000, 100_000), (8_000, 6_000), (65_535, 1_000)],
    ids=["beyond-pillow-limit", "48-megapixels", "long-strip"],
)
def test_decompression_bomb_png_is_refused_before_decoding(no_pixel_decoding, width, height):
    bomb = png_bomb(width, height)
    assert len(bomb) < 200

    started = time.perf_counter()
    assert rejection(bomb) == "too_many_pixels"
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(("width", "height"), [(30_000, 30_000), (7_000, 7_000)])
def test_jpeg_claiming_too_many_pixels_is_refused_before_decoding(no_pixel_decoding, width, height):
    assert rejection(jpeg_claiming(width, height)) == "too_many_pixels"


def test_pixel_bound_is_configurable():
    photo = encode(gradient(100, 100), "PNG")

    assert rejection(photo, max_pixels=5_000) == "too_many_pixels"
    assert decode_image(photo, max_pixels=10_000).shape == (100, 100, 3)


def test_result_is_a_contiguous_bgr_uint8_array():
    red = Image.new("RGB", (40, 30), (255, 0, 0))

    array = decode_image(encode(red, "PNG"))

    assert array.shape == (30, 40, 3)
    assert array.dtype == np.uint8
    assert array.flags.c_contiguous
    assert array[0, 0].tolist() == [0, 0, 255]


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    return image


def is_red(bgr) -> bool:
    return bgr[2] > 200 and bgr[0] < 60


def is_blue(bgr) -> bool:
    return bgr[0] > 200 and bgr[2] < 60


@pytest.mark.parametrize(
    "orientation, top_is",
    [
        # stored landscape, shown a quarter turn clockwise: the stored left is on top
        (6, is_red),
        # ... and counter-clockwise: the stored right is on top
        (8, is_blue),
    ],
)
def test_exif_orientation_is_turned_upright(orientation, top_is):
    array = decode_image(with_orientation(halves(200, 100), orientation))

    bottom_is = is_blue if top_is is is_red else is_red
    assert array.shape == (200, 100, 3)
    assert top_is(array[20, 50])
    assert bottom_is(array[180, 50])


def test_exif_rotation_also_applies_to_big_photos_shrunk_on_decoding():
    array = decode_image(with_orientation(halves(3000, 2000), 6))

    assert array.shape == (1024, 683, 3)
    assert is_red(array[100, 340])
    assert is_blue(array[900, 340])


def test_malformed_exif_costs_only_the_rotation():
    data = bytearray(with_orientation(halves(200, 100), 6))
    start = data.index(b"Exif\x00\x00") + 6
    data[start : start + 8] = b"\xff" * 8  # garbage TIFF header

    assert decode_image(bytes(data)).shape in ((100, 200, 3), (200, 100, 3))


def test_big_jpeg_is_shrunk_while_decoding(monkeypatch):
    sizes_after_draft = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        sizes_after_draft.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)

    array = decode_image(encode(gradient(3000, 2000)))

    # decoded at half scale, never at full size (thumbnail() asks again, to no effect)
    assert set(sizes_after_draft) == {(1500, 1000)}
    assert array.shape == (683, 1024, 3)


def test_2048_px_jpeg_is_decoded_at_exactly_half_scale(monkeypatch):
    sizes_after_draft = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        sizes_after_draft.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)

    assert decode_image(encode(gradient(1507, 2048))).shape == (1024, 754, 3)
    assert set(sizes_after_draft) == {(754, 1024)}


def test_big_png_is_shrunk_to_the_long_side():
    assert decode_image(encode(gradient(2000, 500), "PNG")).shape == (256, 1024, 3)
    assert decode_image(encode(gradient(2000, 500), "PNG"), max_side=512).shape == (128, 512, 3)


def test_small_photo_keeps_its_size():
    assert decode_image(encode(gradient(300, 200))).shape == (200, 300, 3)


def test_transparent_areas_become_white():
    clear = Image.new("RGBA", (10, 10), (0, 0, 0, 0))

    assert decode_image(encode(clear, "PNG")).min() == 255


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "CMYK"])
def test_other_colour_modes_become_three_channels(mode):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    image = gradient(48, 32).convert("L" if mode == "I;16" else mode)
    if mode == "I;16":
        image = Image.fromarray((np.asarray(image, dtype="<u2") * 257).astype("<u2"))
        assert image.mode.startswith("I")

    array = decode_image(encode(image, fmt))

    assert array.shape == (32, 48, 3)
    assert array.dtype == np.uint8
    assert array.max() > 100


def test_webp_is_accepted():
    assert decode_image(encode(gradient(64, 48), "WEBP")).shape == (48, 64, 3)


def test_rejection_carries_a_stable_code_and_a_translatable_message():
    with pytest.raises(ImageRejected) as caught:
        decode_image(b"nope")

    assert caught.value.code == "not_an_image"
    assert str(caught.value) == "not_an_image"
    assert isinstance(caught.value.message, Promise)
    assert isinstance(caught.value, ValueError)


def test_decoding_never_opens_a_file_for_writing(monkeypatch):
    real_open = builtins.open

    def guarded_open(file, mode="r", *args, **kwargs):
        assert not set(mode) & set("wax+"), f"opened {file} for writing"
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)

    decode_image(encode(gradient(3000, 2000)))
    decode_image(encode(gradient(800, 600), "PNG"))
