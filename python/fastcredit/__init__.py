"""fastcredit: credit-assignment rules (backprop and its biologically plausible
alternatives) as fast scikit-learn estimators."""

from ._backprop import BackpropClassifier, BackpropRegressor
from ._core import __version__
from ._target_propagation import (
    AuxiliaryOutputSDTPClassifier,
    DifferenceTargetPropagationClassifier,
    DifferenceTargetPropagationRegressor,
    SimplifiedDTPClassifier,
)
from .exceptions import DivergenceError

__all__ = [
    "BackpropClassifier",
    "BackpropRegressor",
    "DifferenceTargetPropagationClassifier",
    "DifferenceTargetPropagationRegressor",
    "SimplifiedDTPClassifier",
    "AuxiliaryOutputSDTPClassifier",
    "DivergenceError",
    "__version__",
]
