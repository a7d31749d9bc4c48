"""fastcredit: credit-assignment rules (backprop and its biologically plausible
alternatives) as fast scikit-learn estimators."""

from ._backprop import BackpropClassifier, BackpropRegressor
from ._core import __version__
from ._direct_feedback_alignment import DirectFeedbackAlignmentClassifier, DirectFeedbackAlignmentRegressor
from ._feedback_alignment import FeedbackAlignmentClassifier, FeedbackAlignmentRegressor
from ._kickback import KickbackRegressor
from ._kolen_pollack import KolenPollackClassifier, KolenPollackRegressor
from ._sign_symmetry import SignSymmetryClassifier, SignSymmetryRegressor
from .exceptions import DivergenceError

__all__ = [
    "BackpropClassifier",
    "BackpropRegressor",
    "DirectFeedbackAlignmentClassifier",
    "DirectFeedbackAlignmentRegressor",
    "DivergenceError",
    "FeedbackAlignmentClassifier",
    "FeedbackAlignmentRegressor",
    "KickbackRegressor",
    "KolenPollackClassifier",
    "KolenPollackRegressor",
    "SignSymmetryClassifier",
    "SignSymmetryRegressor",
    "__version__",
]
