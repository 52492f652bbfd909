"""Offline model weights: copied from the installed package, named exactly as DeepFace wants."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from recognition.engine import weights

REPO = Path(__file__).resolve().parents[3]


def deepface_models_source() -> str:
    """The text of DeepFace's model modules, read from disk without importing DeepFace."""
    spec = importlib.util.find_spec("deepface")
    assert spec is not None and spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    return "\n".join(path.read_text() for path in sorted((package / "models").rglob("*.py")))


def test_prepare_weights_copies_the_dlib_files_from_the_package(tmp_path):
    copied = weights.prepare_weights(tmp_path)

    folder = tmp_path / ".deepface" / "weights"
    assert sorted(copied) == sorted(folder / name for name in weights.DLIB_FILES)
    for name in weights.DLIB_FILES:
        source = weights.dlib_source_dir() / name
        assert (folder / name).read_bytes()[:4096] == source.read_bytes()[:4096]
        assert (folder / name).stat().st_size == source.stat().st_size
    assert not list(folder.glob(".*partial"))


def test_prepare_weights_is_a_no_op_when_the_files_are_there(tmp_path):
    weights.prepare_weights(tmp_path)

    assert weights.prepare_weights(tmp_path) == []


def test_prepare_weights_replaces_a_file_of_the_wrong_size(tmp_path):
    folder = tmp_path / ".deepface" / "weights"
    folder.mkdir(parents=True)
    broken = folder / weights.DLIB_RECOGNITION_FILE
    broken.write_bytes(b"half a download")

    copied = weights.prepare_weights(tmp_path)

    assert broken in copied
    source = weights.dlib_source_dir() / weights.DLIB_RECOGNITION_FILE
    assert broken.stat().st_size == source.stat().st_size


def test_missing_weights_names_full_paths_until_prepared(tmp_path):
    folder = tmp_path / ".deepface" / "weights"

    assert weights.missing_weights("Dlib", tmp_path, detector="dlib-hog") == [
        folder / weights.DLIB_RECOGNITION_FILE,
        folder / weights.DLIB_LANDMARKS_FILE,
    ]
    weights.prepare_weights(tmp_path)
    assert weights.missing_weights("Dlib", tmp_path, detector="dlib-hog") == []
    assert weights.missing_weights("Dlib", tmp_path, detector="dlib") == []


def test_an_empty_file_counts_as_missing(tmp_path):
    folder = tmp_path / ".deepface" / "weights"
    folder.mkdir(parents=True)
    (folder / weights.DLIB_RECOGNITION_FILE).touch()

    assert folder / weights.DLIB_RECOGNITION_FILE in weights.missing_weights("Dlib", tmp_path)


@pytest.mark.parametrize(
    ("model", "backend", "file_name"),
    [
        ("Facenet512", "onnx", "facenet512_weights.onnx"),
        ("Facenet512", "tensorflow", "facenet512_weights.h5"),
        ("Facenet512", "pytorch", "facenet512_weights.pth"),
        ("ArcFace", "onnx", "arcface_weights.onnx"),
        ("ArcFace", "tensorflow", "arcface_weights.h5"),
        ("VGG-Face", "onnx", "vgg_face_weights.onnx"),
        ("VGG-Face", "tensorflow", "vgg_face_weights.h5"),
        ("DeepID", "tensorflow", "deepid_keras_weights.h5"),
        ("GhostFaceNet", "tensorflow", "ghostfacenet_v1.h5"),
        ("SFace", "tensorflow", "face_recognition_sface_2021dec.onnx"),
        ("SFace", "onnx", "face_recognition_sface_2021dec.onnx"),
        ("Dlib", "tensorflow", "dlib_face_recognition_resnet_model_v1.dat"),
    ],
)
def test_missing_weights_follow_the_backend_deepface_will_use(
    tmp_path, monkeypatch, model, backend, file_name
):
    monkeypatch.setenv("DEEPFACE_BACKEND_ENGINE", backend)

    assert weights.missing_weights(model, tmp_path) == [tmp_path / ".deepface/weights" / file_name]


def test_without_tensorflow_or_torch_deepface_runs_on_onnx(monkeypatch):
    monkeypatch.delenv("DEEPFACE_BACKEND_ENGINE", raising=False)
    if weights._is_installed("tensorflow") or weights._is_installed("torch"):
        pytest.skip("a TensorFlow or PyTorch backend is installed here")

    assert weights.backend_engine() == "onnx"


def test_detectors_add_their_own_files(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPFACE_BACKEND_ENGINE", "onnx")
    weights.prepare_weights(tmp_path)
    folder = tmp_path / ".deepface" / "weights"

    assert weights.missing_weights("Dlib", tmp_path, detector="ssd") == [
        folder / "deploy.prototxt",
        folder / "res10_300x300_ssd_iter_140000.caffemodel",
    ]
    assert weights.missing_weights("Dlib", tmp_path, detector="yunet") == [
        folder / "face_detection_yunet_2023mar.onnx"
    ]
    # mediapipe and mtcnn ship their models inside their packages
    assert weights.missing_weights("Dlib", tmp_path, detector="mediapipe") == []


def test_opencv_detector_uses_the_cascades_shipped_with_opencv_4(tmp_path):
    weights.prepare_weights(tmp_path)

    assert weights.missing_weights("Dlib", tmp_path, detector="opencv") == []


def test_unknown_model_is_refused(tmp_path):
    with pytest.raises(weights.UnknownModel):
        weights.missing_weights("NoSuchNet", tmp_path)


def test_every_file_name_is_one_deepface_really_loads():
    source = deepface_models_source()
    names = set(weights.DLIB_FILES)
    for by_backend in weights._RECOGNITION_FILES.values():
        for files in by_backend.values():
            names.update(files)
    for files in weights._RECOGNITION_FILES_ANY.values():
        names.update(Path(name).name for name in files)
    for files in weights._DETECTOR_FILES.values():
        names.update(files)
    # retina-face keeps its weight name in its own package, not in deepface
    names.discard("retinaface.h5")

    assert sorted(name for name in names if name not in source) == []


def test_weights_module_imports_no_model_library():
    code = (
        "import sys, recognition.engine.weights\n"
        "loaded = {'deepface', 'cv2', 'dlib', 'onnxruntime', 'tensorflow'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
