"""fastcredit: credit-assignment rules (backprop and its biologically plausible
alternatives) as fast scikit-learn estimators."""

from ._backprop import BackpropClassifier, BackpropRegressor
from ._core import __version__
from ._dynamic_inversion import DynamicInversionClassifier, DynamicInversionRegressor
from .exceptions import DivergenceError

__all__ = [
    "BackpropClassifier",
    "BackpropRegressor",
    "DivergenceError",
    "DynamicInversionClassifier",
    "DynamicInversionRegressor",
    "__version__",
]
