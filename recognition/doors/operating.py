"""Operating points of door identification (1:N): pure rules, no ORM, no face engine.

A 1:1 check compares a face with one template; a door's 1:N search compares every stranger
with every template of the gallery, so the chance that a stranger comes within the threshold
of somebody grows with the gallery: for a 1:1 false-accept rate ``f`` it is about
``1 - (1 - f) ** N`` among N templates. The 1:1 threshold is therefore tightened per gallery
size until that chance stays at ``max_false_open``, and a door opens only when no other
person comes within a margin of the best one.

The 1:1 false-accept rate below a threshold is read off a normal fit of the model's impostor
distances (pairs of different people, measured on every labelled photo available, see
docs/face-engine.md). A fit extrapolates into a tail that no few hundred pairs can show, so
the figures are an estimate; an operator checks them on their own photos with
``manage.py face_benchmark`` before turning 1:N on for a large building.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class ImpostorFit:
    """Mean and standard deviation of a model's distances between different people."""

    mean: float
    sd: float
    pairs: int  # how many impostor pairs the fit stands on

    def false_accept_rate(self, threshold: float) -> float:
        """Estimated 1:1 chance that a stranger's face comes within the threshold."""
        return NormalDist(self.mean, self.sd).cdf(threshold)


def false_open_rate(threshold: float, gallery_size: int, fit: ImpostorFit) -> float:
    """Estimated chance that one stranger comes within the threshold of any template.

    >>> fit = ImpostorFit(0.158, 0.031, 721)
    >>> round(false_open_rate(0.056, 1, fit), 6)
    0.0005
    >>> false_open_rate(0.056, 10_000, fit) > 0.99
    True
    """
    per_template = fit.false_accept_rate(threshold)
    return 1.0 - (1.0 - per_template) ** max(1, gallery_size)


def identification_threshold(
    threshold: float, gallery_size: int, fit: ImpostorFit | None, max_false_open: float
) -> float:
    """The 1:N threshold of a gallery: the 1:1 threshold, or stricter so that a stranger's
    estimated chance of opening the door in one attempt stays at ``max_false_open``.

    Unchanged when the model has no impostor fit (an operator's own model) or the gallery is
    small enough; never below 0 (a gallery too large for the model then opens for no one).

    >>> fit = ImpostorFit(0.158, 0.031, 721)
    >>> identification_threshold(0.056, 3, fit, 0.01)
    0.056
    >>> round(identification_threshold(0.056, 10_000, fit, 0.01), 4)
    0.0107
    >>> identification_threshold(0.056, 10_000, None, 0.01)
    0.056
    """
    if fit is None or gallery_size <= 0:
        return threshold
    per_template = 1.0 - (1.0 - max_false_open) ** (1.0 / gallery_size)
    bound = NormalDist(fit.mean, fit.sd).inv_cdf(min(max(per_template, 1e-300), 0.5))
    return max(0.0, min(threshold, bound))
