"""fastcredit: credit-assignment rules (backprop and its biologically plausible
alternatives) as fast scikit-learn estimators."""

from ._backprop import BackpropClassifier, BackpropRegressor
from ._core import __version__
from ._kickback import KickbackRegressor
from ._direct_feedback_alignment import DirectFeedbackAlignmentClassifier, DirectFeedbackAlignmentRegressor
from ._feedback_alignment import FeedbackAlignmentClassifier, FeedbackAlignmentRegressor
from ._kolen_pollack import KolenPollackClassifier, KolenPollackRegressor
from ._sign_symmetry import SignSymmetryClassifier, SignSymmetryRegressor
from ._perturbation import (
    NodePerturbationClassifier,
    NodePerturbationRegressor,
    WeightPerturbationClassifier,
    WeightPerturbationRegressor,
from ._target_propagation import (
    AuxiliaryOutputSDTPClassifier,
    DifferenceTargetPropagationClassifier,
    DifferenceTargetPropagationRegressor,
    SimplifiedDTPClassifier,
)
from ._dynamic_inversion import DynamicInversionClassifier, DynamicInversionRegressor
from .exceptions import DivergenceError

__all__ = [
    "BackpropClassifier",
    "BackpropRegressor",
    "DirectFeedbackAlignmentClassifier",
    "DirectFeedbackAlignmentRegressor",
    "DifferenceTargetPropagationClassifier",
    "DifferenceTargetPropagationRegressor",
    "SimplifiedDTPClassifier",
    "AuxiliaryOutputSDTPClassifier",
    "DivergenceError",
    "KickbackRegressor",
    "FeedbackAlignmentClassifier",
    "FeedbackAlignmentRegressor",
    "KolenPollackClassifier",
    "KolenPollackRegressor",
    "SignSymmetryClassifier",
    "SignSymmetryRegressor",
    "NodePerturbationClassifier",
    "NodePerturbationRegressor",
    "WeightPerturbationClassifier",
    "WeightPerturbationRegressor",
    "DynamicInversionClassifier",
    "DynamicInversionRegressor",
    "__version__",
]
