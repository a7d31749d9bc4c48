"""fastcredit: credit-assignment rules (backprop and its biologically plausible
alternatives) as fast scikit-learn estimators."""

from ._backprop import BackpropClassifier, BackpropRegressor
from ._core import __version__
from ._sweep import sweep
from .exceptions import DivergenceError

__all__ = [
    "BackpropClassifier",
    "BackpropRegressor",
    "DivergenceError",
    "__version__",
    "sweep",
]
