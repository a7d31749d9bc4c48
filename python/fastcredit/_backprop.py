"""Backpropagation: the exact gradient, the reference for every other rule."""

from ._base import CreditAssignmentClassifier, CreditAssignmentRegressor

_NOTES = r"""
    Notes
    -----
    The output error :math:`e = h_L - y` is sent down through the transposed forward
    weights,

    .. math::

        \delta_L = e, \qquad
        \delta_l = (W_{l+1}^T \delta_{l+1}) \odot f'(a_l), \qquad
        \nabla W_l = \delta_l h_{l-1}^T,

    averaged over the batch (RULES.md, "Backprop"). The direction is handed to the
    optimizer (``solver``) with the L2 penalty ``alpha``.
"""

_PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The number of units in each hidden layer.
    activation : {'identity', 'relu', 'leaky_relu', 'tanh', 'logistic', 'softplus'}, default='relu'
        The hidden units' activation function.
    solver : {'sgd', 'adam'}, default='adam'
        The optimizer applied to the rule's update direction.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights.
    batch_size : int or 'auto', default='auto'
        Minibatch size; 'auto' is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule of the 'sgd' solver, as in scikit-learn's MLP.
    learning_rate_init : float, default=1e-3
        Initial learning rate.
    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Whether to shuffle the samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling, the validation split and the rule's noise.
    tol : float, default=1e-4
        Tolerance of the stopping criterion.
    verbose : bool or callable, default=False
        Print one progress line per epoch. A callable is called instead at the end of
        every epoch as ``verbose(epoch, loss, validation_score, learning_rate)``
        (``validation_score`` is NaN without early stopping), e.g. to draw a progress bar.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution.
    momentum : float, default=0.9
        Momentum of the 'sgd' solver.
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with 'sgd'.
    early_stopping : bool, default=False
        Stop when the score on a held-out validation split stops improving.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    beta_1 : float, default=0.9
        Decay rate of Adam's first moment.
    beta_2 : float, default=0.999
        Decay rate of Adam's second moment.
    epsilon : float, default=1e-8
        Adam's numerical-stability constant.
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.
    init : {'glorot_uniform', 'glorot_normal', 'he_uniform', 'he_normal'}, default='glorot_uniform'
        Weight initialisation; 'glorot_uniform' is scikit-learn's MLP scheme.
    dtype : {'float32', 'float64'}, numpy float type or None, default=None
        Scalar type of the computation; None uses float32 for float32 input, else float64.
    layers : list of Dense, Conv2d, LocallyConnected2d or int, default=None
        The hidden layers (``fastcredit.layers``; an int means ``Dense(int)``), in place of
        ``hidden_layer_sizes``; the output layer stays implicit.
    input_shape : (int, int, int), default=None
        ``(channels, height, width)`` of each sample, whose ``C*H*W`` values are the rows of
        X, channels-first in C order; needed by conv and locally-connected layers.
    n_jobs : int, default=None
        Threads of this one fit (None: 1, -1: every core): the large products, the
        locally-connected layers' positions and the patches are split over them. The same
        ``n_jobs`` gives the same weights; ``sweep`` always runs one thread per fit.
"""

_ATTRIBUTES = """
    Attributes
    ----------
    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix from layer i to layer i + 1, of shape
        (n_units_i, n_units_i+1) (the transpose of :math:`W_{i+1}`).
    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer i + 1.
    loss_curve_ : list of float
        The training loss at the end of each epoch.
    validation_scores_ : list of float or None
        Validation scores per epoch when ``early_stopping=True``, else None.
    best_validation_score_ : float or None
        Best validation score when ``early_stopping=True``, else None.
    best_loss_ : float or None
        Lowest training loss reached, None with early stopping.
    n_iter_ : int
        Number of epochs run.
    t_ : int
        Number of training samples seen.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        Output activation: 'softmax', 'logistic' or 'identity'.
    n_features_in_ : int
        Number of features seen during fit.
"""


class BackpropClassifier(CreditAssignmentClassifier):
    __doc__ = (
        """Multi-layer perceptron classifier trained with backpropagation.

    A drop-in for scikit-learn's ``MLPClassifier`` (same parameters, same fitted
    attributes) running in fastcredit's engine.
    """
        + _PARAMETERS
        + _ATTRIBUTES
        + """
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    See Also
    --------
    BackpropRegressor : The same rule for regression.
"""
        + _NOTES
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastcredit import BackpropClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(64,), max_iter=30, random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.95
    True
    """
    )
    _rule = "backprop"


class BackpropRegressor(CreditAssignmentRegressor):
    __doc__ = (
        """Multi-layer perceptron regressor trained with backpropagation.

    A drop-in for scikit-learn's ``MLPRegressor`` running in fastcredit's engine.
    """
        + _PARAMETERS
        + _ATTRIBUTES
        + """
    See Also
    --------
    BackpropClassifier : The same rule for classification.
"""
        + _NOTES
    )
    _rule = "backprop"
