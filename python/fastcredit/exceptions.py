"""Exceptions raised by fastcredit."""


class DivergenceError(FloatingPointError):
    """The training loss became NaN or infinite.

    Raised by ``fit``/``partial_fit`` as soon as a batch's loss is non-finite; the
    message names the epoch and batch. The estimator is left unfitted. A lower
    ``learning_rate_init`` (or a smaller initialisation) usually helps.
    """
