"""Target propagation: DTP, SDTP and AO-SDTP (Lee et al. 2015; Bartunov et al. 2018)."""

from numbers import Integral, Real

from ._backprop import _ATTRIBUTES, _PARAMETERS
from ._base import CreditAssignmentClassifier, CreditAssignmentRegressor
from ._compat import Interval, StrOptions

# Bartunov et al.'s networks are tanh; the inverses g_l use the hidden activation too.
_SHARED_PARAMETERS = _PARAMETERS.replace(
    "activation : {'identity', 'relu', 'leaky_relu', 'tanh', 'logistic', 'softplus'}, default='relu'",
    "activation : {'identity', 'relu', 'leaky_relu', 'tanh', 'logistic', 'softplus'}, default='tanh'",
)

_INVERSE_PARAMETERS = """
    inverse_learning_rate : float, default=1e-3
        Learning rate of the inverse weights (they use the same ``solver`` as the
        forward weights, with their own optimizer state, no L2 and no schedule).
    inverse_noise_std : float, default=0.1
        Standard deviation ``s`` of the Gaussian noise that corrupts the activations the
        inverses learn from.
    schedule : {'parallel', 'alternating'}, default='alternating'
        'parallel': forward and inverse weights step from the same snapshot of all
        weights on each batch. 'alternating': they take turns on each batch, the forward
        weights first, then each inverse learns to invert its updated forward layer (on
        the batch's activations). Bartunov et al. found alternating better.
"""

_TARGET_STEP = """
    target_step : float, default=0.1
        ``beta``: the penultimate layer's target is ``h_{L-1} - beta dLoss/dh_{L-1}``.
"""

_OUTPUT_STEP = """
    target_step : float in (0, 1], default=1.0
        ``beta``: the output's target moves this fraction of the way to the label,
        ``hat h_L = h_L + beta (y - h_L)``. 1 is the rule as published (the label itself);
        a small beta keeps the penultimate target near ``h_{L-1}``, where the inverses
        below are close to linear (Notes).
"""

_AUXILIARY = """
    auxiliary_output_size : int, default=512
        Number of auxiliary outputs ``z = R h_{L-1}`` (``R`` fixed and random) that the
        top inverse reads next to the network's output.
"""

_INVERSE_ATTRIBUTES = """
    inverse_coefs_ : list of ndarray
        ``inverse_coefs_[i]`` maps layer i + 2 back to layer i + 1, of shape
        (n_units_{i+2} [+ auxiliary_output_size], n_units_{i+1}) (the transpose of
        :math:`V_{i+2}`). Absent when the network has no inverse.
    inverse_intercepts_ : list of ndarray
        ``inverse_intercepts_[i]`` is the bias of that inverse, of shape (1, n_units_{i+1}).
    inverse_optimizer_state_ : list of ndarray
        The inverses' optimizer moments (first moments / velocities, then second moments).
    inverse_optimizer_steps_ : list of ndarray
        The inverses' optimizer step count (one 1 x 1 array).
    alignment_ : dict of ndarray
        Diagnostics on a probe batch every ``diagnostics_every`` epochs: 'epoch',
        'update_angle' (degrees between each layer's update and the true gradient) and
        'inverse_reconstruction_error' (``||g_l(h_l) - h_{l-1}|| / ||h_{l-1}||`` for layer
        l, NaN where a layer has no inverse), one row per recorded epoch and one column
        per weight layer.
"""

_NOTES_COMMON = r"""
    Every hidden layer learns towards its target :math:`\hat h_l` with the local loss
    :math:`\tfrac12 \|h_l - \hat h_l\|^2` (gradient through its own layer only), the output
    layer with the task loss. Targets travel down through learned inverses
    :math:`g_l(h_l) = f(V_l h_l + c_l)` with the difference correction

    .. math::

        \hat h_{l-1} = h_{l-1} + g_l(\hat h_l) - g_l(h_l)

    (RULES.md, "Target propagation").
"""

_REFERENCES = """
    References
    ----------
    Lee, Zhang, Fischer and Bengio, "Difference Target Propagation", ECML-PKDD 2015,
    :arxiv:`1412.7525`.

    Bartunov, Santoro, Richards, Marris, Hinton and Lillicrap, "Assessing the Scalability
    of Biologically-Motivated Deep Learning Algorithms and Architectures", NeurIPS 2018,
    :arxiv:`1807.04587`.
"""

_DTP_NOTES = (
    """
    Notes
    -----"""
    + _NOTES_COMMON
    + r"""
    The penultimate target is a gradient step,
    :math:`\hat h_{L-1} = h_{L-1} - \beta\, \partial L / \partial h_{L-1}`, and the inverses
    :math:`g_2 .. g_{L-1}` learn with the noise-preserving loss
    :math:`\|g_l(f_l(h_{l-1} + \epsilon)) - (h_{l-1} + \epsilon)\|^2`,
    :math:`\epsilon \sim N(0, s^2)`.
"""
    + _REFERENCES
)

_SDTP_NOTES = (
    """
    Notes
    -----"""
    + _NOTES_COMMON
    + r"""
    No gradient is used anywhere: the output's target is the label,
    :math:`\hat h_L = y`, so :math:`\hat h_{L-1} = h_{L-1} - g_L(h_L) + g_L(y)`, and the
    inverses :math:`g_2 .. g_L` learn with the denoising loss
    :math:`\|h_{l-1} - g_l(f_l(h_{l-1} + \epsilon))\|^2`.

    ``target_step`` :math:`\beta < 1` (our addition; 1 is the published rule) moves the
    output's target only part of the way, :math:`\hat h_L = h_L + \beta (y - h_L)`. A
    learned :math:`g_L` maps each label to its class's typical :math:`h_{L-1}`, so with
    :math:`\beta = 1` the penultimate target moves as far as the activations themselves
    range and saturates the inverses below; a small :math:`\beta` keeps every target in
    their near-linear range, as DTP's :math:`\beta` does. On MNIST with Bartunov et
    al.'s network, after the same hyper-parameter search, the test error after 100 epochs
    is 3.9 % with :math:`\beta = 1` and 2.5-2.8 % (three seeds) with :math:`\beta \approx 0.05`
    (``benchmarks/reproduce_bartunov.py``).
"""
)

_LEARNED_PARAMETERS = {
    "inverse_learning_rate": [Interval(Real, 0, None, closed="neither")],
    "inverse_noise_std": [Interval(Real, 0, None, closed="left")],
    "schedule": [StrOptions({"parallel", "alternating"})],
}
_INVERSE_DEFAULTS = {"activation": "tanh", "inverse_learning_rate": 1e-3, "inverse_noise_std": 0.1,
                     "schedule": "alternating"}
_DTP_DEFAULTS = {**_INVERSE_DEFAULTS, "target_step": 0.1}
_DTP_CONSTRAINTS = {**_LEARNED_PARAMETERS, "target_step": [Interval(Real, 0, None, closed="neither")]}
_SDTP_DEFAULTS = {**_INVERSE_DEFAULTS, "target_step": 1.0}
_SDTP_CONSTRAINTS = {**_LEARNED_PARAMETERS, "target_step": [Interval(Real, 0, 1, closed="right")]}


_CLASSES = """
    classes_ : ndarray of shape (n_classes,)
        The class labels.
"""


def _docstring(summary, parameters, attributes, see_also, notes, examples=""):
    """One estimator's numpydoc text from its own sections and the shared ones."""
    return (summary + _SHARED_PARAMETERS + parameters + _ATTRIBUTES + _INVERSE_ATTRIBUTES + attributes
            + "\n    See Also\n    --------\n" + see_also + notes + examples)


class DifferenceTargetPropagationClassifier(CreditAssignmentClassifier):
    __doc__ = _docstring(
        """Multi-layer perceptron classifier trained with difference target propagation (DTP).

    Hidden layers learn towards targets sent down through learned inverse layers; the
    penultimate target is a gradient step (Lee et al. 2015, as in Bartunov et al. 2018).
    """,
        _TARGET_STEP + _INVERSE_PARAMETERS,
        _CLASSES,
        """    DifferenceTargetPropagationRegressor : The same rule for regression.
    SimplifiedDTPClassifier : Target propagation without any gradient.
""",
        _DTP_NOTES,
        """
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastcredit import DifferenceTargetPropagationClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DifferenceTargetPropagationClassifier(hidden_layer_sizes=(64, 64), max_iter=30,
    ...                                             random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    """,
    )
    _rule = "difference_target_propagation"
    _rule_defaults = _DTP_DEFAULTS
    _parameter_constraints = {**CreditAssignmentClassifier._parameter_constraints, **_DTP_CONSTRAINTS}


class DifferenceTargetPropagationRegressor(CreditAssignmentRegressor):
    __doc__ = _docstring(
        """Multi-layer perceptron regressor trained with difference target propagation (DTP).
    """,
        _TARGET_STEP + _INVERSE_PARAMETERS,
        "",
        """    DifferenceTargetPropagationClassifier : The same rule for classification.
""",
        _DTP_NOTES,
    )
    _rule = "difference_target_propagation"
    _rule_defaults = _DTP_DEFAULTS
    _parameter_constraints = {**CreditAssignmentRegressor._parameter_constraints, **_DTP_CONSTRAINTS}


class SimplifiedDTPClassifier(CreditAssignmentClassifier):
    __doc__ = _docstring(
        """Multi-layer perceptron classifier trained with simplified difference target
    propagation (SDTP): no gradient anywhere, the label is the output's target.
    """,
        _OUTPUT_STEP + _INVERSE_PARAMETERS,
        _CLASSES,
        """    AuxiliaryOutputSDTPClassifier : SDTP with auxiliary outputs (AO-SDTP).
    DifferenceTargetPropagationClassifier : DTP, whose penultimate target is a gradient step.
""",
        _SDTP_NOTES + _REFERENCES,
    )
    _rule = "simplified_target_propagation"
    _rule_defaults = _SDTP_DEFAULTS
    _parameter_constraints = {**CreditAssignmentClassifier._parameter_constraints, **_SDTP_CONSTRAINTS}


class AuxiliaryOutputSDTPClassifier(CreditAssignmentClassifier):
    __doc__ = _docstring(
        """Multi-layer perceptron classifier trained with auxiliary-output simplified
    difference target propagation (AO-SDTP).

    SDTP whose top inverse also reads ``z``, a fixed random projection of the penultimate
    layer, so that the penultimate target keeps information a low-entropy label lacks.
    """,
        _OUTPUT_STEP + _INVERSE_PARAMETERS + _AUXILIARY,
        """    auxiliary_projection_ : list of ndarray
        ``R`` as one array of shape (n_units_{L-1}, auxiliary_output_size): ``z = h_{L-1} R``."""
        + _CLASSES,
        """    SimplifiedDTPClassifier : SDTP without auxiliary outputs.
""",
        _SDTP_NOTES
        + r"""
    The output is augmented to :math:`[o, z]`, :math:`z = R h_{L-1}`, and
    :math:`\hat h_{L-1} = h_{L-1} - g_L(o, z) + g_L(y, z)`.
"""
        + _REFERENCES,
    )
    _rule = "simplified_target_propagation"
    _rule_defaults = {**_SDTP_DEFAULTS, "auxiliary_output_size": 512}
    _parameter_constraints = {
        **CreditAssignmentClassifier._parameter_constraints,
        **_SDTP_CONSTRAINTS,
        "auxiliary_output_size": [Interval(Integral, 1, None, closed="left")],
    }
