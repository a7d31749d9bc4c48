"""The diagnostics against NumPy: `alignment_["update_angle"]` is, per layer, the angle
between the rule's update direction and backprop's gradient on the probe batch (RULES.md,
"Diagnostics"), for every rule whose direction is deterministic. The rule's direction is
the engine's (its equations are checked against NumPy by each rule's reference tests);
backprop's gradient and the angle are computed here."""

import warnings

import numpy as np
import pytest
from sklearn.preprocessing import LabelBinarizer

import fastcredit
from _reference import backprop



def angle_degrees(a, b):
    """The angle between two arrays, accurate near 0 and 180 degrees too (arccos of the
    cosine loses half the digits there): 2 atan2(|u - v|, |u + v|) of the unit vectors."""
    u, v = np.ravel(a) / np.linalg.norm(a), np.ravel(b) / np.linalg.norm(b)
    return np.degrees(2 * np.arctan2(np.linalg.norm(u - v), np.linalg.norm(u + v)))


# Perturbation rules draw noise for every direction: their angle is a random variable.
DETERMINISTIC = {
    "BackpropClassifier": {},
    "FeedbackAlignmentClassifier": {},
    "DirectFeedbackAlignmentClassifier": {},
    "SignSymmetryClassifier": {},
    "KolenPollackClassifier": {},
    "DifferenceTargetPropagationClassifier": {},
    "SimplifiedDTPClassifier": {},
    "AuxiliaryOutputSDTPClassifier": {"auxiliary_output_size": 4},
    "DynamicInversionClassifier": {"inversion": "direct", "leak": 0.1},
    "KickbackRegressor": {"activation": "relu"},
}


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_update_angle_is_the_angle_to_backprops_gradient_on_the_probe(name):
    # Classifiers, and Kickback's regressor (it has no classifier).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 6))  # fewer rows than the probe's 256: the probe is X
    regressor = name.endswith("Regressor")
    y = rng.standard_normal(60) if regressor else np.arange(60) % 3
    params = dict(dict(activation="tanh"), **DETERMINISTIC[name])
    est = getattr(fastcredit, name)(hidden_layer_sizes=(9, 7), max_iter=3, diagnostics_every=1, random_state=0,
                                    dtype="float64", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence: three epochs
        est.fit(X, y)
    measured = est.alignment_["update_angle"][-1]  # after the last epoch: the final weights
    direction, _ = est._rule_direction(X, y)
    Y = y[:, None] if regressor else LabelBinarizer().fit(est.classes_).transform(y).astype(float)
    gradient, _ = backprop(X, Y, est.coefs_, est.intercepts_, est.activation, est.out_activation_)
    expected = [angle_degrees(d, g) for d, g in zip(direction, gradient)]
    np.testing.assert_allclose(measured, expected, rtol=1e-7, atol=1e-7)
    if name != "BackpropClassifier":  # not trivially zero: the rule's own direction
        assert max(expected[:-1]) > 1.0, expected


@pytest.mark.parametrize("inversion", ["dynamic", "single_loop"])
def test_dynamic_inversion_feedback_angle_is_between_b_and_the_negative_forward_map(inversion):
    # RULES.md, "Dynamic inversion": B stands for -P^T, P the loop's forward map (linearised
    # at f' = 1 through the layers between a single loop's ends); the angle is reported at
    # the index of the top layer's weights, NaN elsewhere.
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((80, 6)), np.arange(80) % 3
    est = fastcredit.DynamicInversionClassifier(hidden_layer_sizes=(9, 8, 7), inversion=inversion, max_iter=2,
                                                diagnostics_every=1, feedback_init="random", leak=0.2,
                                                random_state=0, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    coefs, feedback = est.coefs_, est.feedback_weights_
    expected = np.full(len(coefs), np.nan)
    if inversion == "single_loop":
        expected[-1] = angle_degrees(feedback[0], -np.linalg.multi_dot(coefs[1:]))
    else:
        for k, B in enumerate(feedback, start=1):  # B_k inverts coefs[k]
            expected[k] = angle_degrees(B, -coefs[k])
    measured = est.alignment_["feedback_angle"][-1]
    np.testing.assert_allclose(measured, expected, rtol=1e-9, atol=1e-9)
    # Random feedback (single-loop's repaired towards -P^T, not onto it): not 0 by construction.
    assert np.nanmin(expected) > 0.1
