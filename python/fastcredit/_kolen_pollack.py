"""Kolen-Pollack: feedback matrices learned with the transpose of the forward update."""

from numbers import Real

from ._base import CreditAssignmentClassifier, CreditAssignmentRegressor
from ._compat import Interval
from ._feedback import FEEDBACK_CONSTRAINTS, FEEDBACK_DEFAULTS, FEEDBACK_PARAMETERS, feedback_docstring

_DEFAULTS = {**FEEDBACK_DEFAULTS, "decay": 1e-3}
_CONSTRAINTS = {**FEEDBACK_CONSTRAINTS, "decay": [Interval(Real, 0, 1, closed="left")]}

_PARAMETERS = (
    """    decay : float, default=1e-3
        The shared decay :math:`\\lambda`: every step, each forward weight matrix and
        each feedback matrix loses ``decay`` times its pre-step value, so that their
        difference shrinks by ``1 - decay``.
"""
    + FEEDBACK_PARAMETERS.replace("random feedback weights", "initial feedback weights")
)

_FEEDBACK = """``feedback_weights_[k]`` is the learned matrix :math:`B_{k+2}` that replaces
        ``coefs_[k + 1]`` in the backward pass, of the same shape; random at the start
        of a fresh fit, it converges to ``coefs_[k + 1]``."""

_NOTES = r"""
    Notes
    -----
    Feedback alignment's deltas, with the feedback matrices learned by the transpose of
    the forward weights' own update plus the same decay (RULES.md, "Kolen-Pollack"),

    .. math::

        \Delta W_{l+1} = -\eta\, \delta_{l+1} h_l^T - \lambda W_{l+1}, \qquad
        \Delta B_{l+1} = -\eta\, h_l \delta_{l+1}^T - \lambda B_{l+1},

    so :math:`W_{l+1}^T - B_{l+1}` shrinks by :math:`1 - \lambda` every step. Whatever
    the solver, :math:`B` receives exactly the change the optimizer made to
    :math:`W^T` (momentum, Adam's scaling and the L2 term ``alpha`` included); with plain
    SGD and ``alpha=0`` this is the equation above.

    References
    ----------
    Kolen and Pollack (1994). Backpropagation without weight transport. IEEE ICNN.

    Akrout, Wilson, Humphreys, Lillicrap and Tweed (2019). Deep learning without weight
    transport. :arxiv:`1904.05391`
"""


class KolenPollackClassifier(CreditAssignmentClassifier):
    __doc__ = feedback_docstring(
        "Kolen-Pollack learned feedback.", "classifier", _PARAMETERS, _FEEDBACK, _NOTES,
        "KolenPollackRegressor : The same rule for regression.",
    )
    _rule = "kolen_pollack"
    _rule_defaults = _DEFAULTS
    _parameter_constraints = _CONSTRAINTS


class KolenPollackRegressor(CreditAssignmentRegressor):
    __doc__ = feedback_docstring(
        "Kolen-Pollack learned feedback.", "regressor", _PARAMETERS, _FEEDBACK, _NOTES,
        "KolenPollackClassifier : The same rule for classification.",
    )
    _rule = "kolen_pollack"
    _rule_defaults = _DEFAULTS
    _parameter_constraints = _CONSTRAINTS
