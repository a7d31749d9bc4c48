"""fastcredit: credit-assignment rules (backprop and its biologically plausible
alternatives) as fast scikit-learn estimators."""

from ._backprop import BackpropClassifier, BackpropRegressor
from ._core import __version__
from ._direct_feedback_alignment import DirectFeedbackAlignmentClassifier, DirectFeedbackAlignmentRegressor
from ._dynamic_inversion import DynamicInversionClassifier, DynamicInversionRegressor
from ._feedback_alignment import FeedbackAlignmentClassifier, FeedbackAlignmentRegressor
from ._gemm_backend import _select_at_import, gemm_backend, set_gemm_backend
from ._kickback import KickbackRegressor
from ._kolen_pollack import KolenPollackClassifier, KolenPollackRegressor
from ._perturbation import (
    NodePerturbationClassifier,
    NodePerturbationRegressor,
    WeightPerturbationClassifier,
    WeightPerturbationRegressor,
)
from ._sign_symmetry import SignSymmetryClassifier, SignSymmetryRegressor
from ._sweep import sweep
from ._target_propagation import (
    AuxiliaryOutputSDTPClassifier,
    DifferenceTargetPropagationClassifier,
    DifferenceTargetPropagationRegressor,
    SimplifiedDTPClassifier,
)
from .exceptions import DivergenceError

__all__ = [
    "AuxiliaryOutputSDTPClassifier",
    "BackpropClassifier",
    "BackpropRegressor",
    "DifferenceTargetPropagationClassifier",
    "DifferenceTargetPropagationRegressor",
    "DirectFeedbackAlignmentClassifier",
    "DirectFeedbackAlignmentRegressor",
    "DivergenceError",
    "DynamicInversionClassifier",
    "DynamicInversionRegressor",
    "FeedbackAlignmentClassifier",
    "FeedbackAlignmentRegressor",
    "KickbackRegressor",
    "KolenPollackClassifier",
    "KolenPollackRegressor",
    "NodePerturbationClassifier",
    "NodePerturbationRegressor",
    "SignSymmetryClassifier",
    "SignSymmetryRegressor",
    "SimplifiedDTPClassifier",
    "WeightPerturbationClassifier",
    "WeightPerturbationRegressor",
    "__version__",
    "gemm_backend",
    "set_gemm_backend",
    "sweep",
]

_select_at_import()
