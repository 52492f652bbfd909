"""Operator benchmark of a face engine on labelled photo pairs.

Pure helper (no Django, no DeepFace import): give it pairs of file names with "same person?",
the folder holding the photos and an engine; it embeds each distinct photo once, timing it,
and reports accuracy at the engine's threshold, the best threshold a sweep finds, the
true-accept rate at zero false accepts with the range of thresholds that give it, the
equal-error rate, and the embedding time. Photos are read into memory only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from recognition.engine.imaging import ImageRejected

Pair = tuple[str, str, bool]

_IDENTITY = re.compile(r"^(?P<who>.+?)[_-]\d+$")


def identity_of(file_name: str) -> str | None:
    """``person_a_3.jpg`` -> ``person_a``; None when the name carries no number."""
    match = _IDENTITY.match(Path(file_name).stem)
    return match.group("who") if match else None


def pairs_from_names(names: Iterable[str]) -> list[Pair]:
    """Every pair of photos named ``<who>_<n>.<ext>``, labelled same person or not."""
    labelled = sorted((name, who) for name in names if (who := identity_of(name)) is not None)
    return [(a, b, who_a == who_b) for (a, who_a), (b, who_b) in combinations(labelled, 2)]


def run_benchmark(pairs: list[Pair], images_dir: Path, engine: Any) -> dict[str, Any]:
    """Embed each photo once, compare the pairs, and summarise.

    ``engine`` is a FaceEngine (``embed``, ``distance``, ``threshold``, ``model_id``).
    Photos the engine refuses (no face, several faces, ...) are listed by code and the pairs
    that use them are counted as skipped, not as errors.
    """
    images_dir = Path(images_dir)
    names = sorted({name for a, b, _ in pairs for name in (a, b)})
    embeddings: dict[str, np.ndarray] = {}
    refused: dict[str, list[str]] = {}
    seconds: list[float] = []
    per_image: dict[str, float] = {}
    for name in names:
        data = (images_dir / name).read_bytes()
        started = time.perf_counter()
        try:
            embeddings[name] = engine.embed(data)
        except ImageRejected as exc:  # FaceRejected is one too
            refused.setdefault(exc.code, []).append(name)
        elapsed = time.perf_counter() - started
        per_image[name] = elapsed
        if name in embeddings:
            seconds.append(elapsed)

    threshold = float(engine.threshold)
    scored: list[tuple[str, str, bool, float]] = []
    skipped = 0
    for a, b, same in pairs:
        if a in embeddings and b in embeddings:
            scored.append((a, b, same, float(engine.distance(embeddings[a], embeddings[b]))))
        else:
            skipped += 1

    genuine = [d for _, _, same, d in scored if same]
    impostor = [d for _, _, same, d in scored if not same]
    summary = _at_threshold(scored, threshold)
    best = best_threshold(genuine, impostor)
    return {
        "model_id": getattr(engine, "model_id", type(engine).__name__),
        "images": len(names),
        "embedded": len(embeddings),
        "refused": {code: sorted(files) for code, files in sorted(refused.items())},
        "no_face": sorted(refused.get("no_face", [])),
        "several_faces": sorted(refused.get("several_faces", [])),
        "pairs": len(scored),
        "skipped_pairs": skipped,
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "threshold": threshold,
        **summary,
        "best_threshold": best["threshold"],
        "best_accuracy": best["accuracy"],
        "best_threshold_range": best["range"],
        **zero_false_accepts(genuine, impostor),
        "equal_error_rate": equal_error_rate(genuine, impostor),
        "genuine_max_distance": max(genuine) if genuine else None,
        "impostor_min_distance": min(impostor) if impostor else None,
        "separated": bool(genuine and impostor and max(genuine) < min(impostor)),
        "embed_p50": _percentile(seconds, 50),
        "embed_p95": _percentile(seconds, 95),
        "embed_max": max(seconds) if seconds else None,
        "embed_seconds": per_image,
        "distances": {"genuine": genuine, "impostor": impostor},
    }


def _at_threshold(scored: list[tuple[str, str, bool, float]], threshold: float) -> dict[str, Any]:
    true_accepts = sum(1 for _, _, same, d in scored if same and d <= threshold)
    false_accepts = sum(1 for _, _, same, d in scored if not same and d <= threshold)
    genuine = sum(1 for _, _, same, _ in scored if same)
    impostor = len(scored) - genuine
    correct = true_accepts + (impostor - false_accepts)
    errors = [
        {"a": a, "b": b, "same": same, "distance": d}
        for a, b, same, d in scored
        if (d <= threshold) != same
    ]
    return {
        "accuracy": correct / len(scored) if scored else None,
        "true_accept_rate": true_accepts / genuine if genuine else None,
        "false_accept_rate": false_accepts / impostor if impostor else None,
        "errors": errors,
    }


def best_threshold(genuine: list[float], impostor: list[float]) -> dict[str, Any]:
    """The threshold with the best accuracy, and the range of thresholds that reach it.

    Thresholds are swept over the midpoints between consecutive observed distances; the one
    returned is the middle of the first best range, so it keeps the widest margin there.
    """
    total = len(genuine) + len(impostor)
    if not genuine or not impostor:
        return {"threshold": None, "accuracy": None, "range": None}
    values = sorted(set(genuine) | set(impostor))
    candidates = [values[0] - 1e-9]
    candidates += [(low + high) / 2 for low, high in zip(values, values[1:], strict=False)]
    candidates.append(values[-1] + 1e-9)
    genuine_sorted = np.sort(np.asarray(genuine))
    impostor_sorted = np.sort(np.asarray(impostor))

    def accuracy(t: float) -> float:
        accepted_genuine = int(np.searchsorted(genuine_sorted, t, side="right"))
        accepted_impostor = int(np.searchsorted(impostor_sorted, t, side="right"))
        return (accepted_genuine + len(impostor) - accepted_impostor) / total

    scores = [accuracy(t) for t in candidates]
    top = max(scores)
    first = scores.index(top)
    last = first
    while last + 1 < len(scores) and scores[last + 1] == top:
        last += 1
    # the best range runs between the observed distances around those candidates
    low = values[first - 1] if first > 0 else candidates[first]
    high = values[last] if last < len(values) else candidates[last]
    return {"threshold": (low + high) / 2, "accuracy": top, "range": (low, high)}


def zero_false_accepts(genuine: list[float], impostor: list[float]) -> dict[str, Any]:
    """The true-accept rate when no impostor pair may be accepted, and the thresholds giving it.

    Any threshold from the largest genuine distance still below the closest impostor up to
    (not including) that impostor accepts the same genuine pairs and no impostor: the range
    is [low, high). With no impostor pairs every genuine pair counts and high is None.

    >>> zero_false_accepts([0.02, 0.04, 0.09], [0.06, 0.2])["tar_at_zero_far"]
    0.6666666666666666
    >>> zero_false_accepts([0.02, 0.04, 0.09], [0.06, 0.2])["zero_far_range"]
    (0.04, 0.06)
    """
    if not genuine:
        return {"tar_at_zero_far": None, "zero_far_range": None}
    closest = min(impostor) if impostor else None
    below = [d for d in genuine if closest is None or d < closest]
    return {
        "tar_at_zero_far": len(below) / len(genuine),
        "zero_far_range": (max(below) if below else None, closest),
    }


def equal_error_rate(genuine: list[float], impostor: list[float]) -> float | None:
    """The rate at which false rejects and false accepts are equal (their mean where the two
    curves cross between observed distances).

    >>> equal_error_rate([0.01, 0.02], [0.05, 0.06])
    0.0
    >>> equal_error_rate([0.01, 0.07], [0.05, 0.06])
    0.5
    """
    if not genuine or not impostor:
        return None
    genuine_sorted = np.sort(np.asarray(genuine))
    impostor_sorted = np.sort(np.asarray(impostor))
    best = None
    for t in np.concatenate([[-np.inf], genuine_sorted, impostor_sorted]):
        false_reject = 1 - np.searchsorted(genuine_sorted, t, side="right") / len(genuine)
        false_accept = np.searchsorted(impostor_sorted, t, side="right") / len(impostor)
        gap = abs(false_reject - false_accept)
        if best is None or gap < best[0]:
            best = (gap, (false_reject + false_accept) / 2)
    return float(best[1])


def cross_check(chosen_on: dict[str, Any], checked_on: dict[str, Any]) -> dict[str, Any]:
    """A threshold chosen on one set (the middle of its zero-false-accept range), applied to
    another: the true-accept rate and the false accepts there, as on people it never saw.

    >>> a = {"zero_far_range": (0.04, 0.06)}
    >>> b = {"distances": {"genuine": [0.03, 0.049, 0.07], "impostor": [0.051, 0.2]}}
    >>> cross_check(a, b) == {
    ...     "threshold": 0.05, "true_accept_rate": 2 / 3, "false_accepts": 0, "impostor_pairs": 2
    ... }
    True
    """
    bounds = chosen_on.get("zero_far_range")
    if not bounds or bounds[0] is None or bounds[1] is None:
        return {"threshold": None, "true_accept_rate": None, "false_accepts": None}
    threshold = (bounds[0] + bounds[1]) / 2
    genuine = checked_on["distances"]["genuine"]
    impostor = checked_on["distances"]["impostor"]
    return {
        "threshold": threshold,
        "true_accept_rate": (
            sum(1 for d in genuine if d <= threshold) / len(genuine) if genuine else None
        ),
        "false_accepts": sum(1 for d in impostor if d <= threshold),
        "impostor_pairs": len(impostor),
    }


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None
