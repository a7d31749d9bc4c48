"""Direct feedback alignment: the output error sent straight to every hidden layer."""

from ._base import CreditAssignmentClassifier, CreditAssignmentRegressor
from ._feedback import FEEDBACK_CONSTRAINTS, FEEDBACK_DEFAULTS, FEEDBACK_PARAMETERS, feedback_docstring

_FEEDBACK = """``feedback_weights_[k]`` is the fixed random matrix :math:`B_{k+1}` that sends the
        output error to hidden layer k + 1, of shape (n_units_k+1, n_outputs); its
        ``'feedback_angle'`` is measured against the product of the transposed forward
        weights above that layer."""

_NOTES = r"""
    Notes
    -----
    Every hidden layer receives the output error :math:`e` directly through its own
    fixed random matrix :math:`B_l` (RULES.md, "Direct feedback alignment"),

    .. math::

        \delta_L = e, \qquad
        \delta_l = (B_l e) \odot f'(a_l), \qquad
        \nabla W_l = \delta_l h_{l-1}^T.

    References
    ----------
    Nokland (2016). Direct feedback alignment provides learning in deep neural
    networks. :arxiv:`1609.01596`
"""


class DirectFeedbackAlignmentClassifier(CreditAssignmentClassifier):
    __doc__ = feedback_docstring(
        "direct feedback alignment.", "classifier", FEEDBACK_PARAMETERS, _FEEDBACK, _NOTES,
        "DirectFeedbackAlignmentRegressor : The same rule for regression.",
    )
    _rule = "direct_feedback_alignment"
    _rule_defaults = FEEDBACK_DEFAULTS
    _parameter_constraints = FEEDBACK_CONSTRAINTS


class DirectFeedbackAlignmentRegressor(CreditAssignmentRegressor):
    __doc__ = feedback_docstring(
        "direct feedback alignment.", "regressor", FEEDBACK_PARAMETERS, _FEEDBACK, _NOTES,
        "DirectFeedbackAlignmentClassifier : The same rule for classification.",
    )
    _rule = "direct_feedback_alignment"
    _rule_defaults = FEEDBACK_DEFAULTS
    _parameter_constraints = FEEDBACK_CONSTRAINTS
