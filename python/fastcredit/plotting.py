"""Figures of fitted estimators or of ``fastcredit compare`` results (needs matplotlib).

Both functions take fitted estimators or the result records of ``fastcredit compare``
(the ``"results"`` list of its ``results.json``), and return a
:class:`matplotlib.figure.Figure` without touching pyplot's global state: save it with
``fig.savefig("file.png")``, or let Jupyter display it.
"""

from collections.abc import Mapping

import numpy as np

try:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
    raise ImportError(
        "fastcredit.plotting needs matplotlib; install it with: pip install matplotlib"
    ) from exc

__all__ = ["plot_alignment", "plot_learning_curves"]


def _is_record(item):
    return isinstance(item, Mapping) and "rule" in item


def _labelled(items):
    """``[(label, estimator or record), ...]`` from a mapping, a sequence, or a single item."""
    if _is_record(items) or hasattr(items, "get_params"):
        items = [items]
    if isinstance(items, Mapping):
        return list(items.items())
    return [(item["rule"] if _is_record(item) else type(item).__name__, item) for item in items]


def _style(index):
    """Line style of the index-th rule: ten colours, then the same colours dashed, ..., so
    that a rule looks the same in every figure and no two rules alike."""
    return {"color": f"C{index % 10}", "linestyle": ("-", "--", "-.", ":")[index // 10 % 4]}


def _legend_outside(ax):
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)


def _loss_curve(item):
    return item["loss_curve"] if _is_record(item) else getattr(item, "loss_curve_", [])


def _alignment(item):
    """``{"epoch": (n,), name: (n, n_layers)}`` as arrays (None entries become NaN)."""
    raw = item.get("alignment", {}) if _is_record(item) else getattr(item, "alignment_", {})
    return {name: np.array(values, dtype=float) for name, values in raw.items()}


def plot_learning_curves(estimators_or_results, *, log_scale=True):
    """Training loss per epoch of every estimator, in one axes.

    Parameters
    ----------
    estimators_or_results : estimator, result record, or a sequence or mapping of them
        Fitted estimators (labelled by class name, or by key if a mapping) or
        ``fastcredit compare`` result records (labelled by their ``"rule"``).
    log_scale : bool, default=True
        Logarithmic loss axis: rules differ by orders of magnitude.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One line per estimator (those without a loss curve are left out).
    """
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for index, (label, item) in enumerate(_labelled(estimators_or_results)):
        curve = np.asarray(_loss_curve(item), dtype=float)
        if curve.size:
            ax.plot(np.arange(1, curve.size + 1), curve, label=label, **_style(index))
    if log_scale and ax.lines:
        ax.set_yscale("log")
    _epoch_axis(ax)
    ax.set_ylabel("training loss")
    ax.set_title("Learning curves")
    if ax.lines:
        _legend_outside(ax)
    return fig


def _epoch_axis(ax):
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _angle_axes(ax, title):
    ax.axhline(90, color="0.6", linestyle=":", linewidth=1)  # orthogonal to the gradient
    ax.set_ylim(0, 180)
    _epoch_axis(ax)
    ax.set_title(title)


def plot_alignment(estimator_or_results):
    """Angle between each layer's update and the true gradient, over the epochs.

    Parameters
    ----------
    estimator_or_results : estimator, result record, or a sequence or mapping of them
        One fitted fastcredit estimator (or result record): one axes, a solid line per
        layer for ``update_angle``, dashed lines for the angles the rule reports of
        itself (e.g. ``feedback_angle``). Several: one axes per layer, a line per rule.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    single = _is_record(estimator_or_results) or hasattr(estimator_or_results, "get_params")
    entries = [(index, label, _alignment(item)) for index, (label, item) in enumerate(_labelled(estimator_or_results))]
    entries = [(index, label, a) for index, label, a in entries if "update_angle" in a and len(a["epoch"])]
    if not entries:
        raise ValueError("nothing to plot: no alignment recorded (fit a fastcredit estimator with diagnostics_every >= 1)")
    return _plot_one(*entries[0][1:]) if single else _plot_many(entries)


def _plot_one(label, alignment):
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    epochs = alignment["epoch"]
    for name, values in alignment.items():
        if name == "epoch":
            continue
        style = "-" if name == "update_angle" else "--"  # a layer keeps its colour
        for layer in range(values.shape[1]):
            if not np.all(np.isnan(values[:, layer])):
                ax.plot(epochs, values[:, layer], style, color=f"C{layer % 10}", label=f"{name} layer {layer + 1}")
    _angle_axes(ax, f"Alignment: {label}")
    ax.set_ylabel("angle (degrees)")
    _legend_outside(ax)
    return fig


def _plot_many(entries):
    n_layers = max(a["update_angle"].shape[1] for _, _, a in entries)
    fig = Figure(figsize=(3.2 * n_layers + 2, 4), layout="constrained")
    axes = fig.subplots(1, n_layers, sharey=True, squeeze=False)[0]
    for layer, ax in enumerate(axes):
        for index, label, alignment in entries:
            angles = alignment["update_angle"]
            if layer < angles.shape[1]:
                ax.plot(alignment["epoch"], angles[:, layer], label=label, **_style(index))
        _angle_axes(ax, f"layer {layer + 1}")
    axes[0].set_ylabel("update vs. gradient angle (degrees)")
    _legend_outside(axes[-1])
    return fig
