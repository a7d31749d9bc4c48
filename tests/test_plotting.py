"""fastcredit.plotting: the figures' content (lines, data, labels), from estimators and
from ``fastcredit compare`` result records."""

import warnings

import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib  # noqa: E402

matplotlib.use("Agg")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

from fastcredit import BackpropClassifier  # noqa: E402
from fastcredit.plotting import plot_alignment, plot_learning_curves  # noqa: E402

PARAMS = dict(hidden_layer_sizes=(16, 8), max_iter=5, random_state=0)


@pytest.fixture(scope="module")
def fitted():
    X, y = load_digits(return_X_y=True)
    X = X[:400] / 16.0
    with warnings.catch_warnings():  # 5 epochs do not converge, on purpose
        warnings.simplefilter("ignore", ConvergenceWarning)
        bp = BackpropClassifier(**PARAMS, tol=0.0).fit(X, y[:400])
        mlp = MLPClassifier(**PARAMS, tol=0.0).fit(X, y[:400])
    return bp, mlp


def record(rule, loss_curve, alignment=None):
    """A result record as ``fastcredit compare`` writes it to results.json."""
    return {"rule": rule, "loss_curve": loss_curve, "alignment": alignment or {"epoch": []},
            "update_angle": alignment["update_angle"][-1] if alignment else None}


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_learning_curves_of_estimators(fitted):
    bp, mlp = fitted
    fig = plot_learning_curves([bp, mlp])
    [ax] = fig.axes
    assert [line.get_label() for line in ax.lines] == ["BackpropClassifier", "MLPClassifier"]
    for line, est in zip(ax.lines, (bp, mlp)):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 6))
        np.testing.assert_allclose(line.get_ydata(), est.loss_curve_)
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "training loss"
    assert ax.get_yscale() == "log"
    assert legend_texts(ax) == ["BackpropClassifier", "MLPClassifier"]


def test_learning_curves_labels_from_mapping_and_records(fitted):
    bp, _ = fitted
    [ax] = plot_learning_curves({"backprop": bp}, log_scale=False).axes
    assert [line.get_label() for line in ax.lines] == ["backprop"] and ax.get_yscale() == "linear"
    records = [record("fa", [2.0, 1.0, 0.5]), record("diverged", [])]
    [ax] = plot_learning_curves(records).axes
    assert [line.get_label() for line in ax.lines] == ["fa"]  # nothing to draw for an empty curve
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [2.0, 1.0, 0.5])


def test_alignment_of_one_estimator(fitted):
    bp, _ = fitted
    fig = plot_alignment(bp)
    [ax] = fig.axes
    data_lines = [line for line in ax.lines if line.get_label().startswith("update_angle")]
    assert [line.get_label() for line in data_lines] == [f"update_angle layer {k}" for k in (1, 2, 3)]
    for k, line in enumerate(data_lines):
        np.testing.assert_array_equal(line.get_xdata(), bp.alignment_["epoch"])
        np.testing.assert_array_equal(line.get_ydata(), bp.alignment_["update_angle"][:, k])
    assert ax.get_ylim() == (0, 180) and ax.get_xlabel() == "epoch"
    assert ax.get_title() == "Alignment: BackpropClassifier"


def test_alignment_draws_the_rules_own_angles_dashed():
    alignment = {"epoch": [1, 2], "update_angle": [[40.0, 10.0], [30.0, 5.0]],
                 "feedback_angle": [[None, 60.0], [None, 45.0]]}  # NaN (null) where not applicable
    [ax] = plot_alignment(record("fa", [1.0, 0.5], alignment)).axes
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [line.get_label() for line in dashed] == ["feedback_angle layer 2"]
    np.testing.assert_array_equal(dashed[0].get_ydata(), [60.0, 45.0])
    assert "feedback_angle layer 2" in legend_texts(ax)


def test_alignment_of_several_rules_has_one_axes_per_layer():
    fa = record("fa", [1.0], {"epoch": [1, 2], "update_angle": [[40.0, 10.0], [30.0, 5.0]]})
    bp = record("bp", [1.0], {"epoch": [1, 2], "update_angle": [[0.0, 0.0], [0.0, 0.0]]})
    reference = record("sklearn-mlp", [1.0])  # no alignment: left out
    fig = plot_alignment([fa, bp, reference])
    assert [ax.get_title() for ax in fig.axes] == ["layer 1", "layer 2"]
    for layer, ax in enumerate(fig.axes):
        lines = [line for line in ax.lines if line.get_label() in ("fa", "bp")]
        assert [line.get_label() for line in lines] == ["fa", "bp"]
        np.testing.assert_array_equal(lines[0].get_ydata(), np.array(fa["alignment"]["update_angle"])[:, layer])
    assert legend_texts(fig.axes[-1]) == ["fa", "bp"]


def test_alignment_needs_recorded_diagnostics(fitted):
    _, mlp = fitted
    with pytest.raises(ValueError, match="no alignment recorded"):
        plot_alignment(mlp)


def test_figures_render_to_png(fitted, tmp_path):
    bp, mlp = fitted
    for name, fig in (("curves.png", plot_learning_curves([bp, mlp])), ("angles.png", plot_alignment(bp))):
        fig.savefig(tmp_path / name)
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
