"""Sign symmetry: feedback with the signs of the forward weights."""

from ._base import CreditAssignmentClassifier, CreditAssignmentRegressor
from ._compat import StrOptions
from ._feedback import FEEDBACK_CONSTRAINTS, FEEDBACK_DEFAULTS, FEEDBACK_PARAMETERS, feedback_docstring

_DEFAULTS = {**FEEDBACK_DEFAULTS, "feedback_magnitude": "uniform"}
_CONSTRAINTS = {**FEEDBACK_CONSTRAINTS, "feedback_magnitude": [StrOptions({"uniform", "random"})]}

_PARAMETERS = (
    """    feedback_magnitude : {'uniform', 'random'}, default='uniform'
        'uniform': every feedback weight has the mean magnitude of the feedback
        distribution below; 'random': fixed magnitudes drawn once from it
        (``feedback_magnitudes_``).
"""
    + FEEDBACK_PARAMETERS
)

_FEEDBACK = """``feedback_weights_[k]`` is :math:`B_{k+2} = \\mathrm{sign}(W_{k+2})^T M_{k+2}`
        for the current ``coefs_[k + 1]``, of its shape. With
        ``feedback_magnitude='random'``, ``feedback_magnitudes_`` holds the fixed
        magnitudes :math:`M`."""

_NOTES = r"""
    Notes
    -----
    Feedback alignment whose feedback matrices share the signs of the forward weights
    they stand in for, with uniform or fixed random magnitudes :math:`M` (RULES.md,
    "Sign symmetry"),

    .. math::

        B_{l+1} = \mathrm{sign}(W_{l+1})^T \odot M_{l+1}, \qquad
        \delta_l = (B_{l+1} \delta_{l+1}) \odot f'(a_l), \qquad
        \nabla W_l = \delta_l h_{l-1}^T.

    References
    ----------
    Liao, Leibo and Poggio (2016). How important is weight symmetry in
    backpropagation? :arxiv:`1510.05067`

    Xiao, Chen, Liao and Poggio (2018). Biologically-plausible learning algorithms can
    scale to large datasets. :arxiv:`1811.03567`
"""


class SignSymmetryClassifier(CreditAssignmentClassifier):
    __doc__ = feedback_docstring(
        "sign-symmetric feedback.", "classifier", _PARAMETERS, _FEEDBACK, _NOTES,
        "SignSymmetryRegressor : The same rule for regression.",
    )
    _rule = "sign_symmetry"
    _rule_defaults = _DEFAULTS
    _parameter_constraints = _CONSTRAINTS


class SignSymmetryRegressor(CreditAssignmentRegressor):
    __doc__ = feedback_docstring(
        "sign-symmetric feedback.", "regressor", _PARAMETERS, _FEEDBACK, _NOTES,
        "SignSymmetryClassifier : The same rule for classification.",
    )
    _rule = "sign_symmetry"
    _rule_defaults = _DEFAULTS
    _parameter_constraints = _CONSTRAINTS
