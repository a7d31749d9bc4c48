"""Kickback: a global signed error times each unit's influence on the next layer."""

from numbers import Real

import numpy as np

from ._backprop import _ATTRIBUTES, _PARAMETERS
from .layers import Dense, hidden_layer_specs
from ._base import CreditAssignmentRegressor
from ._compat import StrOptions

_UNIT_SIGNS = {"alternating", "random"}

_PARAMETERS_KICKBACK = (
    _PARAMETERS.replace(
        "activation : {'identity', 'relu', 'leaky_relu', 'tanh', 'logistic', 'softplus'}, default='relu'\n"
        "        The hidden units' activation function.",
        "activation : {'relu'}, default='relu'\n"
        "        The hidden units' activation function: Kickback is defined for rectifier units\n"
        "        only (its error needs the on/off state of the next layer), so any other value\n"
        "        is an error.",
    )
    + """    unit_signs : {'alternating', 'random'} or array-like, default='alternating'
        The fixed sign (+1 or -1) of every hidden unit (the output unit is +1).
        'alternating' gives + - + - ... in each hidden layer; 'random' makes half of each
        layer's units positive (one more if odd), drawn with ``random_state``. An
        explicit value is one array of +-1 per hidden layer, or one flat array over all
        hidden units in order.
    coherent : bool, default=True
        Keep the network coherent, ``sign(w_jk) = s_j s_k`` for every weight leaving a
        hidden unit, by projection after every step (weights that cross zero are set to
        zero). The initial weights are always made coherent (signs flipped, magnitudes
        kept); with False, training may leave coherence, and
        ``alignment_["coherence_violation"]`` records the fraction of weights that do.
"""
)


class KickbackRegressor(CreditAssignmentRegressor):
    __doc__ = (
        """Multi-layer perceptron regressor trained with Kickback.

    Kickback (Balduzzi, Vanchinathan & Buhmann 2015) replaces backpropagated errors by a
    global signed error and each hidden unit's *kickback*, its signed influence on the
    next layer's active units: no error travels further than one layer. It is defined
    for rectifier hidden units and a scalar output; multi-output targets raise a
    ValueError.
    """
        + _PARAMETERS_KICKBACK
        + _ATTRIBUTES
        + """    unit_signs_ : list of ndarray
        The sign of every hidden unit, one array of shape (1, n_units) per hidden layer.
    alignment_ : dict of ndarray
        Diagnostics per recorded epoch (every ``diagnostics_every`` epochs) on a fixed
        probe batch: ``"update_angle"`` (degrees between Kickback's update and the true
        gradient, per layer) and ``"coherence_violation"`` (fraction of a layer's
        weights with ``sign(w_jk) != s_j s_k``; NaN for the first layer, whose inputs
        carry no sign).

    See Also
    --------
    BackpropRegressor : The same network trained with the exact gradient.

    Notes
    -----
    With :math:`\\beta = \\hat y - y` the output error and :math:`s_k` the unit signs
    (:math:`s = 1` and always active at the output), hidden unit :math:`j` receives

    .. math::

        \\kappa_j = \\sum_k w_{jk} s_k [a_k > 0], \\qquad
        \\delta_j = \\beta \\kappa_j [a_j > 0], \\qquad
        \\nabla w_{ij} = \\delta_j h_i,

    averaged over the batch (RULES.md, "Kickback"). The top two weight layers get
    exactly backprop's gradient; with one hidden layer Kickback *is* backprop.

    Guarantee (the paper's sufficient condition): if the network is coherent, then for
    a single example every coordinate of the Kickback update has the sign of the
    negative gradient or one of the two is zero, because every path from unit
    :math:`j` to the output and every term of :math:`\\kappa_j` has sign :math:`s_j`.
    Hence their inner product is positive whenever :math:`\\beta \\ne 0` (the output
    layer's update is exact), and a small enough step lowers that example's error.
    Over a batch the per-example updates are summed and the guarantee no longer holds
    in general (examples with errors of opposite signs mix); the probe-batch angles in
    ``alignment_`` show how it fares in practice.

    References
    ----------
    D. Balduzzi, H. Vanchinathan and J. Buhmann, "Kickback cuts Backprop's red-tape:
    biologically plausible credit assignment in neural networks", AAAI 2015,
    :arxiv:`1411.6191`.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from fastcredit import KickbackRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    >>> reg = KickbackRegressor(hidden_layer_sizes=(32, 32), max_iter=100, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.5
    True
    """
    )
    _rule = "kickback"
    _rule_defaults = {"unit_signs": "alternating", "coherent": True}
    _parameter_constraints = {
        **CreditAssignmentRegressor._parameter_constraints,
        "activation": [StrOptions({"relu"})],
        "unit_signs": [StrOptions(_UNIT_SIGNS), "array-like"],
        "coherent": ["boolean"],
    }

    def _rule_options(self):
        return {**super()._rule_options(), "unit_signs": self._encoded_unit_signs()}

    def _encoded_unit_signs(self):
        """unit_signs as the engine takes it: a keyword, or one '+'/'-' per hidden unit."""
        if isinstance(self.unit_signs, str):
            return self.unit_signs
        specs = hidden_layer_specs(self.layers, self.hidden_layer_sizes)
        if not all(isinstance(layer, Dense) for layer in specs):
            raise ValueError("KickbackRegressor is implemented for dense layers only (its unit signs and sign "
                             "coherence are defined per pair of connected units).")
        hidden = [layer.units for layer in specs]
        layers = list(self.unit_signs)
        if all(np.ndim(layer) == 0 for layer in layers):
            sizes, flat = [sum(hidden)], [layers]
        else:
            sizes, flat = hidden, layers
        if len(flat) != len(sizes) or any(np.size(layer) != n for layer, n in zip(flat, sizes)):
            raise ValueError(
                f"unit_signs must give one sign per hidden unit (hidden_layer_sizes={self.hidden_layer_sizes!r}), "
                f"as one array per hidden layer or one flat array; got {self.unit_signs!r}."
            )
        signs = np.concatenate([np.ravel(layer) for layer in flat]) if flat else np.zeros(0)
        if not all(isinstance(s, (Real, np.number)) and s in (-1, 1) for s in signs.tolist()):
            raise ValueError(f"unit_signs must contain only +1 and -1, got {self.unit_signs!r}.")
        return "".join("+" if s > 0 else "-" for s in signs.tolist())

    def _validate_input(self, X, y, incremental, reset):
        X, y = super()._validate_input(X, y, incremental, reset)
        if y.ndim != 1:
            raise ValueError(
                f"KickbackRegressor needs a scalar target (y of shape (n_samples,)), got y of shape {y.shape}: "
                "Kickback's global error is one signed number per example. Fit one estimator per output."
            )
        self._encoded_unit_signs()
        return X, y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        tags.target_tags.single_output = True
        return tags
