"""Weight and node perturbation: gradient estimates from the loss change under noise."""

from numbers import Integral, Real

from ._backprop import _ATTRIBUTES, _PARAMETERS
from ._base import CreditAssignmentClassifier, CreditAssignmentRegressor
from ._compat import Interval

_OWN_PARAMETERS = """
    perturbation_std : float, default=1e-3
        Standard deviation :math:`\\sigma` of the noise.
    n_samples : int, default=1
        Noise draws averaged per step; each costs a forward pass (two if antithetic).
    antithetic : bool, default=False
        Also evaluate every draw at :math:`-\\sigma\\xi` and use the central difference,
        in which the even-order (curvature) terms of the loss change cancel."""

_WP_NOTES = r"""
    Notes
    -----
    Every step draws :math:`\xi \sim N(0, I)` over all weights and intercepts and measures
    the change of the batch-mean loss (without the L2 term),

    .. math::

        \Delta L = L(W + \sigma\xi) - L(W), \qquad \widehat{\nabla W} = \frac{\Delta L}{\sigma}\,\xi,

    averaged over ``n_samples`` draws (RULES.md, "Weight perturbation"). The estimate is
    unbiased as :math:`\sigma \to 0`, but its variance grows with the number of
    parameters: expect slow learning on anything but small networks. The noise comes
    from the fit's seeded stream (``random_state``).
"""

_NP_NOTES = r"""
    Notes
    -----
    Every step adds :math:`\sigma\xi_l` to every pre-activation :math:`a_l` in a second
    forward pass and measures each sample's loss change :math:`\Delta L`; then

    .. math::

        \delta_l = \frac{\Delta L}{\sigma}\,\xi_l, \qquad \widehat{\nabla W_l} = \delta_l h_{l-1}^T,

    with the unperturbed :math:`h_{l-1}`, averaged over the batch and ``n_samples``
    draws (RULES.md, "Node perturbation"). A sample's noise changes only its own loss,
    so the difference is taken per sample. The variance grows with the number of units,
    not of weights, so it learns far faster than weight perturbation.

    References
    ----------
    Williams, R. J. (1992). Simple statistical gradient-following algorithms for
    connectionist reinforcement learning. Machine Learning 8, 229-256.

    Fiete, I. R. and Seung, H. S. (2006). Gradient learning in spiking neural networks
    by dynamic perturbation of conductances. Physical Review Letters 97, 048104.
"""


def _doc(rule_name, task, summary, notes):
    other = "regression" if task == "classifier" else "classification"
    other_class = rule_name + ("Regressor" if task == "classifier" else "Classifier")
    classes = "\n    classes_ : ndarray of shape (n_classes,)\n        The class labels." if task == "classifier" else ""
    return (
        f"Multi-layer perceptron {task} trained by {summary}"
        + _PARAMETERS.rstrip("\n") + _OWN_PARAMETERS + "\n" + _ATTRIBUTES.rstrip("\n") + classes
        + f"""

    See Also
    --------
    {other_class} : The same rule for {other}.
""" + notes
    )


_WP_SUMMARY = """weight perturbation.

    A zeroth-order rule: the gradient is estimated from forward passes with randomly
    perturbed weights, without any backward pass.
"""
_NP_SUMMARY = """node perturbation.

    Noise on the units' pre-activations and the resulting loss change give every layer
    its error signal, without transporting errors backwards through the weights.
"""


class _PoorScore:
    """scikit-learn's ``poor_score`` tag. Weight perturbation's estimate has a variance that
    grows with the number of parameters: with the default settings (one draw per step,
    one step per epoch on 200 samples) the estimator checks' toy problems end below their
    accuracy bar (0.77 on the binary blobs, against 0.83). Its learning is tested on
    digits instead (tests/test_perturbation.py)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        for task_tags in (tags.classifier_tags, tags.regressor_tags):
            if task_tags is not None:
                task_tags.poor_score = True
        return tags


class _Perturbation:
    """The hyper-parameters both rules share (the base's constraints are the same for
    classifiers and regressors)."""

    _rule_defaults = {"perturbation_std": 1e-3, "n_samples": 1, "antithetic": False}
    _parameter_constraints = {
        **CreditAssignmentClassifier._parameter_constraints,
        "perturbation_std": [Interval(Real, 0, None, closed="neither")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "antithetic": ["boolean"],
    }


class _WeightPerturbation(_PoorScore, _Perturbation):
    _rule = "weight_perturbation"


class _NodePerturbation(_Perturbation):
    _rule = "node_perturbation"


class WeightPerturbationClassifier(_WeightPerturbation, CreditAssignmentClassifier):
    __doc__ = _doc("WeightPerturbation", "classifier", _WP_SUMMARY, _WP_NOTES)


class WeightPerturbationRegressor(_WeightPerturbation, CreditAssignmentRegressor):
    __doc__ = _doc("WeightPerturbation", "regressor", _WP_SUMMARY, _WP_NOTES)


class NodePerturbationClassifier(_NodePerturbation, CreditAssignmentClassifier):
    __doc__ = _doc("NodePerturbation", "classifier", _NP_SUMMARY, _NP_NOTES)


class NodePerturbationRegressor(_NodePerturbation, CreditAssignmentRegressor):
    __doc__ = _doc("NodePerturbation", "regressor", _NP_SUMMARY, _NP_NOTES)
