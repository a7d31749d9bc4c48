"""fastcredit: credit-assignment rules (backprop and its biologically plausible
alternatives) as fast scikit-learn estimators."""

from ._backprop import BackpropClassifier, BackpropRegressor
from ._core import __version__
from ._kickback import KickbackRegressor
from ._perturbation import (
    NodePerturbationClassifier,
    NodePerturbationRegressor,
    WeightPerturbationClassifier,
    WeightPerturbationRegressor,
)
from .exceptions import DivergenceError

__all__ = [
    "BackpropClassifier",
    "BackpropRegressor",
    "DivergenceError",
    "KickbackRegressor",
    "NodePerturbationClassifier",
    "NodePerturbationRegressor",
    "WeightPerturbationClassifier",
    "WeightPerturbationRegressor",
    "__version__",
]
