"""Feedback alignment: backprop with fixed random feedback matrices."""

from ._base import CreditAssignmentClassifier, CreditAssignmentRegressor
from ._feedback import FEEDBACK_CONSTRAINTS, FEEDBACK_DEFAULTS, FEEDBACK_PARAMETERS, feedback_docstring

_FEEDBACK = """``feedback_weights_[k]`` is the fixed random matrix :math:`B_{k+2}` that replaces
        ``coefs_[k + 1]`` in the backward pass, of the same shape; drawn once per fresh fit."""

_NOTES = r"""
    Notes
    -----
    Backprop's transport of the error through :math:`W_{l+1}^T` is replaced by a fixed
    random matrix :math:`B_{l+1}` of the same shape (RULES.md, "Feedback alignment"),

    .. math::

        \delta_L = e, \qquad
        \delta_l = (B_{l+1} \delta_{l+1}) \odot f'(a_l), \qquad
        \nabla W_l = \delta_l h_{l-1}^T.

    The forward weights come to align with :math:`B^T`, so that the update points within
    90 degrees of the gradient (``alignment_['update_angle']``).

    References
    ----------
    Lillicrap, Cownden, Tweed and Akerman (2016). Random synaptic feedback weights
    support error backpropagation for deep learning. Nature Communications 7, 13276.
"""

_EXAMPLE = """    >>> from sklearn.datasets import load_digits
    >>> from fastcredit import FeedbackAlignmentClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = FeedbackAlignmentClassifier(hidden_layer_sizes=(64,), max_iter=100, random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.95
    True
"""


class FeedbackAlignmentClassifier(CreditAssignmentClassifier):
    __doc__ = feedback_docstring(
        "feedback alignment.", "classifier", FEEDBACK_PARAMETERS, _FEEDBACK, _NOTES,
        "FeedbackAlignmentRegressor : The same rule for regression.", _EXAMPLE,
    )
    _rule = "feedback_alignment"
    _rule_defaults = FEEDBACK_DEFAULTS
    _parameter_constraints = FEEDBACK_CONSTRAINTS


class FeedbackAlignmentRegressor(CreditAssignmentRegressor):
    __doc__ = feedback_docstring(
        "feedback alignment.", "regressor", FEEDBACK_PARAMETERS, _FEEDBACK, _NOTES,
        "FeedbackAlignmentClassifier : The same rule for classification.",
    )
    _rule = "feedback_alignment"
    _rule_defaults = FEEDBACK_DEFAULTS
    _parameter_constraints = FEEDBACK_CONSTRAINTS
