"""The DeepFace engine on real photos: one face in, one embedding out, right decisions.

Photos come from ``../shared/faces`` beside the checkout (three people, several photos each,
plus group photos). Where that folder is absent, the real faces shipped inside registry
packages are used instead: matplotlib's ``grace_hopper.jpg`` and scikit-image's astronaut
(the files are read from the installed packages; neither package is imported).
"""

import importlib.util
import io
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from recognition import engine as engine_module
from recognition.engine import (
    DeepFaceEngine,
    FaceEngine,
    FaceRejected,
    WeightsMissing,
    cosine_distance,
    engine_from_settings,
)
from recognition.engine.facebench import best_threshold, pairs_from_names, run_benchmark
from recognition.engine.imaging import ImageRejected
from recognition.engine.weights import prepare_weights

REPO = Path(__file__).resolve().parents[3]
SHARED_FACES = Path(__file__).resolve().parents[4] / "shared" / "faces"


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, fmt, **options)
    return out.getvalue()


def registry_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def retaken(photo: bytes) -> bytes:
    """The same face photographed again, roughly: turned, lit and compressed differently."""
    image = Image.open(io.BytesIO(photo)).convert("RGB")
    image = image.rotate(6, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    image = ImageEnhance.Contrast(ImageEnhance.Brightness(image).enhance(1.25)).enhance(0.85)
    return encode(image, quality=70)


def side_by_side(*photos: bytes) -> bytes:
    """One group photo of the people in the photos, all shown 600 px tall."""
    images = [Image.open(io.BytesIO(photo)).convert("RGB") for photo in photos]
    images = [i.resize((round(i.width * 600 / i.height), 600)) for i in images]
    canvas = Image.new("RGB", (sum(i.width for i in images), max(i.height for i in images)))
    left = 0
    for image in images:
        canvas.paste(image, (left, 0))
        left += image.width
    return encode(canvas, quality=92)


@dataclass
class Photos:
    """Photo files named ``<who>_<n>.jpg`` (the name says who is in it), and a group photo."""

    directory: Path
    names: list[str] = field(default_factory=list)
    two_faces: bytes = b""

    @property
    def pairs(self) -> list[tuple[str, str, bool]]:
        return pairs_from_names(self.names)

    def one_face(self) -> bytes:
        return (self.directory / self.names[0]).read_bytes()


def load_photos(scratch: Path) -> Photos:
    if SHARED_FACES.is_dir():
        return Photos(
            directory=SHARED_FACES,
            names=sorted(path.name for path in SHARED_FACES.glob("person_*.jpg")),
            two_faces=(SHARED_FACES / "two_faces.jpg").read_bytes(),
        )
    hopper = registry_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg")
    astronaut = registry_file("skimage", "data", "astronaut.png")
    if hopper is None or astronaut is None:
        pytest.skip("no face photos: neither ../shared/faces nor matplotlib + scikit-image")
    hopper_bytes = hopper.read_bytes()
    astronaut_image = Image.open(astronaut)
    astronaut_bytes = encode(astronaut_image, quality=95)
    # her face fills less of her photo: a closer crop, so both faces are of a similar size
    astronaut_closeup = encode(astronaut_image.crop((110, 0, 370, 300)), quality=95)
    generated = {
        "hopper_1.jpg": hopper_bytes,
        "hopper_2.jpg": retaken(hopper_bytes),
        "astronaut_1.jpg": astronaut_bytes,
        "astronaut_2.jpg": retaken(astronaut_bytes),
    }
    for name, data in generated.items():
        (scratch / name).write_bytes(data)
    return Photos(
        directory=scratch,
        names=sorted(generated),
        two_faces=side_by_side(hopper_bytes, astronaut_closeup),
    )


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Photos:
    return load_photos(tmp_path_factory.mktemp("sample-faces"))


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> DeepFaceEngine:
    """The default engine, loaded once for the module, on weights copied into a temp home."""
    home = tmp_path_factory.mktemp("deepface")
    prepare_weights(home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEEPFACE_HOME", str(home))  # load() sets it; undo after the module
        face_engine = DeepFaceEngine(deepface_home=home)
        face_engine.load()
        yield face_engine


@pytest.fixture(scope="module")
def benchmark(engine, photos) -> dict:
    """Every pair of photos, each photo embedded once."""
    return run_benchmark(photos.pairs, photos.directory, engine)


def test_default_engine_is_offline_dlib_with_its_measured_threshold(engine):
    assert isinstance(engine, FaceEngine)
    assert engine.model_id == "Dlib+dlib-hog+mirror@v1"
    assert engine.threshold == pytest.approx(0.056)


def test_embedding_is_one_float32_vector_and_repeatable(engine, photos):
    photo = photos.one_face()

    first = engine.embed(photo)
    again = engine.embed(photo)

    assert first.dtype == np.float32
    assert first.shape == (128,)
    assert engine.distance(first, again) == pytest.approx(0.0, abs=1e-6)


def test_same_person_is_accepted(benchmark):
    assert benchmark["genuine_pairs"] > 0
    assert benchmark["true_accept_rate"] == 1.0, benchmark["errors"]


def test_different_people_are_rejected(benchmark):
    assert benchmark["impostor_pairs"] > 0
    assert benchmark["false_accept_rate"] == 0.0, benchmark["errors"]


def test_every_photo_pair_is_decided_right_at_the_threshold(benchmark, photos):
    assert benchmark["embedded"] == len(photos.names)
    assert benchmark["skipped_pairs"] == 0
    assert benchmark["accuracy"] >= 0.99
    assert benchmark["separated"]


def test_photo_without_a_face_is_refused(engine):
    x = np.linspace(0, 255, 640, dtype=np.float32)
    y = np.linspace(0, 255, 480, dtype=np.float32)[:, None]
    rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)

    with pytest.raises(FaceRejected) as caught:
        engine.embed(encode(Image.fromarray(rgb)))

    assert caught.value.code == "no_face"


def test_photo_with_two_faces_is_refused(engine, photos):
    with pytest.raises(FaceRejected) as caught:
        engine.embed(photos.two_faces)

    assert caught.value.code == "several_faces"


def test_face_below_the_minimum_size_is_refused(engine, photos, monkeypatch):
    monkeypatch.setattr(engine, "min_face_px", 2_000)

    with pytest.raises(FaceRejected) as caught:
        engine.embed(photos.one_face())

    assert caught.value.code == "face_too_small"


def test_bad_upload_is_refused_with_the_imaging_code(engine):
    with pytest.raises(ImageRejected) as caught:
        engine.embed(b"GIF89a not really")

    assert caught.value.code == "not_an_image"
    assert not isinstance(caught.value, FaceRejected)


def test_sideways_photo_with_exif_orientation_gives_the_same_face(engine, photos):
    photo = photos.one_face()
    upright = engine.embed(photo)
    stored_sideways = (
        Image.open(io.BytesIO(photo)).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    )
    exif = Image.Exif()
    exif[0x0112] = 6  # show it turned a quarter clockwise, i.e. upright again

    turned = engine.embed(encode(stored_sideways, exif=exif, quality=95))

    assert engine.distance(upright, turned) < engine.threshold / 2


def test_large_photo_is_shrunk_before_detection(engine, photos):
    photo = Image.open(io.BytesIO(photos.one_face())).convert("RGB")
    scale = 4000 / max(photo.size)
    big = photo.resize((round(photo.width * scale), round(photo.height * scale)))

    embedding = engine.embed(encode(big, quality=90))

    assert engine.distance(embedding, engine.embed(photos.one_face())) < engine.threshold


def test_opencv_detector_of_deepface_also_works_offline(photos, engine):
    other = DeepFaceEngine(detector="opencv", deepface_home=engine.deepface_home, mirror=False)

    assert other.missing_weights() == []
    other.load()
    assert other.model_id == "Dlib+opencv@v1"
    assert other.embed(photos.one_face()).shape == (128,)
    with pytest.raises(FaceRejected) as caught:
        other.embed(encode(Image.new("RGB", (320, 240), "grey")))
    assert caught.value.code == "no_face"


def test_missing_weights_stop_the_engine_before_any_download(tmp_path, monkeypatch):
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    empty_home = tmp_path / "empty-home"

    with pytest.raises(WeightsMissing) as caught:
        DeepFaceEngine(deepface_home=empty_home).load()

    message = str(caught.value)
    assert "dlib_face_recognition_resnet_model_v1.dat" in message
    assert "shape_predictor_5_face_landmarks.dat" in message
    assert str(empty_home / ".deepface" / "weights") in message
    assert caught.value.folder == empty_home / ".deepface" / "weights"
    assert attempts == []
    assert not (empty_home / ".deepface" / "weights").exists()


def test_engine_modules_do_not_import_deepface():
    code = (
        "import sys\n"
        "import recognition.engine, recognition.engine.imaging, recognition.engine.weights\n"
        "import recognition.engine.facebench\n"
        "loaded = {'deepface', 'cv2', 'dlib', 'onnxruntime', 'tensorflow'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_cosine_distance():
    a = np.array([1.0, 0.0], dtype=np.float32)

    assert cosine_distance(a, a * 3) == pytest.approx(0.0)
    assert cosine_distance(a, np.array([0.0, 2.0])) == pytest.approx(1.0)
    assert cosine_distance(a, -a) == pytest.approx(2.0)
    assert cosine_distance(a, np.zeros(2)) == 1.0
    with pytest.raises(ValueError):
        cosine_distance(a, np.ones(3))


def test_engine_from_settings_reads_the_face_settings(settings, tmp_path):
    settings.FACE_MODEL = "Dlib"
    settings.FACE_DETECTOR = "opencv"
    settings.FACE_THRESHOLD = 0.05
    settings.FACE_MAX_SIDE = 800
    settings.FACE_MIN_FACE_PX = 90
    settings.DEEPFACE_HOME = tmp_path

    configured = engine_from_settings()

    assert not configured.loaded
    assert (configured.detector, configured.threshold) == ("opencv", 0.05)
    assert (configured.max_side, configured.min_face_px) == (800, 90)
    assert configured.deepface_home == tmp_path


def test_get_engine_loads_once_per_process(settings, engine, monkeypatch):
    settings.DEEPFACE_HOME = engine.deepface_home
    settings.FACE_DETECTOR = "dlib-hog"
    settings.FACE_THRESHOLD = 0.056
    monkeypatch.setenv("DEEPFACE_HOME", str(engine.deepface_home))
    engine_module.reset_engine()
    try:
        first = engine_module.get_engine()
        assert first.loaded
        assert engine_module.get_engine() is first
    finally:
        engine_module.reset_engine()


class TableEngine:
    """A deterministic stand-in: each photo's bytes name its embedding."""

    model_id = "table@test"
    threshold = 0.5

    def embed(self, image_bytes: bytes) -> np.ndarray:
        if image_bytes == b"none":
            raise FaceRejected("no_face")
        if image_bytes == b"two":
            raise FaceRejected("several_faces")
        return np.array([float(v) for v in image_bytes.decode().split(",")], dtype=np.float32)

    def distance(self, a, b) -> float:
        return cosine_distance(a, b)


def test_benchmark_counts_accuracy_refusals_and_a_better_threshold(tmp_path):
    files = {
        "ann_1.jpg": b"1,0",
        "ann_2.jpg": b"1,0.2",
        "bob_1.jpg": b"0,1",
        "bob_2.jpg": b"0.7,1",  # closer to ann than the threshold allows
        "cat_1.jpg": b"none",
        "dan_1.jpg": b"two",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    pairs = pairs_from_names(files)

    report = run_benchmark(pairs, tmp_path, TableEngine())

    assert report["images"] == 6 and report["embedded"] == 4
    assert report["no_face"] == ["cat_1.jpg"] and report["several_faces"] == ["dan_1.jpg"]
    assert report["pairs"] == 6 and report["skipped_pairs"] == 9
    assert report["genuine_pairs"] == 2 and report["impostor_pairs"] == 4
    assert report["true_accept_rate"] == 1.0
    assert report["false_accept_rate"] == 0.5  # bob_2 is within 0.5 of both ann photos
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert {(e["a"], e["b"]) for e in report["errors"]} == {
        ("ann_1.jpg", "bob_2.jpg"),
        ("ann_2.jpg", "bob_2.jpg"),
    }
    assert report["best_accuracy"] == 1.0
    low, high = report["best_threshold_range"]
    assert report["genuine_max_distance"] == pytest.approx(low)
    assert low < report["best_threshold"] < high
    assert report["embed_p50"] is not None and report["embed_p95"] >= report["embed_p50"]


def test_best_threshold_sweep():
    assert best_threshold([0.1, 0.2], [0.4, 0.5]) == {
        "threshold": pytest.approx(0.3),
        "accuracy": 1.0,
        "range": (0.2, 0.4),
    }
    assert best_threshold([0.1, 0.45], [0.4, 0.5])["accuracy"] == 0.75
    assert best_threshold([], [0.4])["threshold"] is None
