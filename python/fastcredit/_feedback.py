"""What the feedback-alignment family's estimators share: the feedback distribution's
hyper-parameters, their constraints and documentation, and the docstring layout."""

from numbers import Real

from ._backprop import _ATTRIBUTES, _PARAMETERS
from ._base import CreditAssignmentClassifier
from ._compat import Interval, StrOptions

FEEDBACK_DEFAULTS = {"feedback_init": "uniform", "feedback_scale": "auto"}

FEEDBACK_CONSTRAINTS = {
    **CreditAssignmentClassifier._parameter_constraints,
    "feedback_init": [StrOptions({"uniform", "normal"})],
    "feedback_scale": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
}

FEEDBACK_PARAMETERS = """    feedback_init : {'uniform', 'normal'}, default='uniform'
        Distribution of the random feedback weights: uniform on
        ``[-feedback_scale, feedback_scale]`` or normal with standard deviation
        ``feedback_scale``.
    feedback_scale : float or 'auto', default='auto'
        Scale of that distribution; 'auto' is the Glorot scale of each matrix,
        ``sqrt(6 / (fan_in + fan_out))`` (uniform) or ``sqrt(2 / (fan_in + fan_out))``
        (normal), the forward weights' own.
"""

_FEEDBACK_ATTRIBUTES = """    feedback_weights_ : list of ndarray
        {feedback}
    alignment_ : dict of ndarray
        Diagnostics on a fixed probe batch, one row per recorded epoch (``'epoch'``):
        ``'update_angle'`` (degrees between each layer's update and the backprop
        gradient) and ``'feedback_angle'`` (degrees between each layer's forward weights
        and the feedback standing in for them; NaN for the first layer).
"""


def feedback_docstring(summary, task, rule_parameters, feedback, notes, see_also, example=""):
    """A rule estimator's numpydoc docstring, in the layout of BackpropClassifier's."""
    doc = f"Multi-layer perceptron {task} trained with {summary}\n" + _PARAMETERS.rstrip("\n") + "\n"
    doc += rule_parameters + _ATTRIBUTES + _FEEDBACK_ATTRIBUTES.format(feedback=feedback)
    if task == "classifier":
        doc += "    classes_ : ndarray of shape (n_classes,)\n        The class labels.\n"
    doc += f"\n    See Also\n    --------\n    {see_also}\n" + notes
    if example:
        doc += "\n    Examples\n    --------\n" + example
    return doc
