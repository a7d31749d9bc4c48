"""Dynamic inversion (Podlaski & Machens 2020): errors sent down by inverting each layer
with fast feedback dynamics through fixed feedback weights."""

from functools import reduce
from numbers import Integral, Real

import numpy as np

from ._backprop import _ATTRIBUTES, _PARAMETERS
from ._base import CreditAssignmentClassifier, CreditAssignmentRegressor
from ._compat import Interval, StrOptions
from ._feedback_stability import optimize_feedback

_DEFAULTS = {
    "inversion": "dynamic",
    "leak": 0.0,
    "dt": 0.2,
    "n_steps": 50,
    "inversion_tol": 1e-6,
    "feedback_init": "negative_transpose",
    "on_unstable": "repair",
    "stability_check_every": 50,
}

_CONSTRAINTS = {
    "inversion": [StrOptions({"dynamic", "direct", "nonlinear", "single_loop"})],
    "leak": [Interval(Real, 0, None, closed="left")],
    "dt": [Interval(Real, 0, None, closed="neither")],
    "n_steps": [Interval(Integral, 1, None, closed="left")],
    "inversion_tol": [Interval(Real, 0, None, closed="left")],
    "feedback_init": [StrOptions({"negative_transpose", "random", "optimized"})],
    "on_unstable": [StrOptions({"repair", "raise"})],
    "stability_check_every": [Interval(Integral, 0, None, closed="left")],
}

_RULE_PARAMETERS = """
    inversion : {'dynamic', 'direct', 'nonlinear', 'single_loop'}, default='dynamic'
        How the error is inverted through each layer: 'dynamic' runs the feedback dynamics
        (DI), 'direct' solves their steady state (NDI, one factorisation per layer and
        batch), 'nonlinear' runs them through the nonlinearity, 'single_loop' runs one
        loop from the output error to the first hidden layer (SLDI). The last two invert
        the error through f itself: r is the change of a layer's pre-activation that
        removes the error above, and the layer learns towards the target
        ``f(a - r)`` (see Notes).
    leak : float, default=0.0
        Leak ``alpha`` of the controller; the steady state is
        ``B (W B - leak I)^{-1} e``. Expanding layers need ``leak > 0``.
    dt : float, default=0.2
        Euler step of the dynamics.
    n_steps : int, default=50
        Maximum number of Euler steps per batch and layer.
    inversion_tol : float, default=1e-6
        The dynamics stop early once their velocity, relative to the error, is below this.
    feedback_init : {'negative_transpose', 'random', 'optimized'}, default='negative_transpose'
        ``B = -W^T`` at initialisation, uniform random (Glorot scale), or random then
        optimised for stability (smoothed spectral abscissa; needs scipy).
    on_unstable : {'repair', 'raise'}, default='repair'
        What to do when a loop is unstable (checked at initialisation, every
        ``stability_check_every`` batches and when the dynamics diverge): 'repair' moves
        B towards ``-W^T`` (then shrinks it) until the loop is stable and halves the
        Euler step of dynamics that diverge; 'raise' stops the fit with a ValueError.
    stability_check_every : int, default=50
        Batches between stability checks (0: only at initialisation and on divergence).
"""

_RULE_ATTRIBUTES = """
    feedback_weights_ : list of ndarray
        The feedback matrices B, each of the shape of the ``coefs_`` entry it inverts
        (``B = -coefs_[k]`` is ``-W^T``); single-loop DI has one, (n_1, n_outputs).
    alignment_ : dict of ndarray
        Per recorded epoch and layer: 'update_angle' to backprop's gradient, and for the
        inverted layers 'spectral_abscissa', 'inversion_residual', 'feedback_angle'
        (between B and -W^T), 'stability_repairs' and 'inversion_step'.
"""

_NOTES = r"""
    Notes
    -----
    For the error :math:`e_l` of layer :math:`l`, the feedback dynamics (from zero)

    .. math::

        \dot u = -\alpha u + W_l r - e_l, \qquad \dot r = -r + B_l u

    settle at :math:`r = B_l (W_l B_l - \alpha I)^{-1} e_l`; with :math:`B_l = -W_l^T`
    this is the damped pseudo-inverse :math:`W_l^T (W_l W_l^T + \alpha I)^{-1} e_l`.
    Then :math:`\delta_{l-1} = r \odot f'(a_{l-1})` and the weights learn as in backprop
    (RULES.md, "Dynamic inversion"). The dynamics converge iff every eigenvalue of
    :math:`[[-I, B], [W, -\alpha I]]` has a negative real part; the check uses the
    eigenvalues of the small product :math:`W B` only.

    The nonlinear and single-loop variants run the inversion through :math:`f` at the
    forward pass's operating point (:math:`W_l (f(a_{l-1}) - f(a_{l-1} - r))` in place of
    :math:`W_l r`), so :math:`r` is the pre-activation change of layer :math:`l-1` that
    removes :math:`e_l` and :math:`\hat h_{l-1} = f(a_{l-1} - r)` is that layer's target.
    The layer learns with the local loss :math:`\tfrac12 \|h_{l-1} - \hat h_{l-1}\|^2`,
    :math:`\delta_{l-1} = (h_{l-1} - \hat h_{l-1}) \odot f'(a_{l-1})`, as in target
    propagation (for small :math:`r` it is :math:`r \odot f'(a_{l-1})^2`). Unlike
    :math:`r` itself it stays bounded when an error asks a saturating unit for more than
    its range, where the dynamics have no steady state and :math:`r` keeps growing with
    ``n_steps``; taking :math:`r` as the delta learnt digits to only about 82 %.

    References
    ----------
    Podlaski, W. F. and Machens, C. K. (2020). Biological credit assignment through
    dynamic inversion of feedforward networks. NeurIPS. :arxiv:`2007.05112`
"""


class _FeedbackInitialization:
    """Computes ``feedback_init='optimized'`` feedback when a fit starts from scratch."""

    def _initialize(self, architecture, dtype):
        if self.feedback_init == "optimized" and any(layer["kind"] != "dense" for layer in architecture["layers"]):
            raise ValueError("feedback_init='optimized' needs dense layers; use 'negative_transpose' or 'random' "
                             "with conv and locally-connected layers.")
        super()._initialize(architecture, dtype)
        if self.feedback_init != "optimized" or not self._rule_state:
            return
        loops = (
            [(1, len(self.coefs_))] if self.inversion == "single_loop"
            else [(k, k + 1) for k in range(1, len(self.coefs_))]
        )
        for B, (bottom, top) in zip(self._rule_state, loops):
            PT = reduce(np.matmul, [c.astype(np.float64) for c in self.coefs_[bottom:top]])
            scale = np.sqrt(6.0 / sum(B.shape))
            start = self._random_state.uniform(-scale, scale, B.shape)
            B[...] = optimize_feedback(PT.T, start, m=top - bottom, leak=self.leak)


class DynamicInversionClassifier(_FeedbackInitialization, CreditAssignmentClassifier):
    __doc__ = (
        """Multi-layer perceptron classifier trained with dynamic inversion.

    Errors are sent down by inverting every layer with fast feedback dynamics through
    fixed feedback weights B (Podlaski & Machens 2020), run on the whole minibatch.
    """
        + _PARAMETERS
        + _RULE_PARAMETERS
        + _ATTRIBUTES
        + """
    classes_ : ndarray of shape (n_classes,)
        The class labels."""
        + _RULE_ATTRIBUTES
        + """
    See Also
    --------
    DynamicInversionRegressor : The same rule for regression (and autoencoders).
    BackpropClassifier : Exact gradients.
"""
        + _NOTES
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastcredit import DynamicInversionClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DynamicInversionClassifier(hidden_layer_sizes=(64,), activation="tanh",
    ...                                  max_iter=30, random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.95
    True
    """
    )
    _rule = "dynamic_inversion"
    _rule_defaults = _DEFAULTS
    _parameter_constraints = {**CreditAssignmentClassifier._parameter_constraints, **_CONSTRAINTS}


class DynamicInversionRegressor(_FeedbackInitialization, CreditAssignmentRegressor):
    __doc__ = (
        """Multi-layer perceptron regressor trained with dynamic inversion.

    Errors are sent down by inverting every layer with fast feedback dynamics through
    fixed feedback weights B (Podlaski & Machens 2020). Fit with ``y=X`` for an
    autoencoder, as in the paper's MNIST autoencoding (expanding layers need ``leak > 0``).
    """
        + _PARAMETERS
        + _RULE_PARAMETERS
        + _ATTRIBUTES
        + _RULE_ATTRIBUTES
        + """
    See Also
    --------
    DynamicInversionClassifier : The same rule for classification.
"""
        + _NOTES
    )
    _rule = "dynamic_inversion"
    _rule_defaults = _DEFAULTS
    _parameter_constraints = {**CreditAssignmentRegressor._parameter_constraints, **_CONSTRAINTS}
