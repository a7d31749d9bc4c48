"""The hyper-parameter search behind benchmarks/reproduce_bartunov.py.

    FASTCREDIT_DATA=../shared/data python benchmarks/search_bartunov.py --rule dtp
    FASTCREDIT_DATA=../shared/data python benchmarks/search_bartunov.py --rule sdtp

Bartunov et al. (2018) chose their hyper-parameters by a search on a validation set; they
are not in RULES.md, so we search the same way: random configurations (log-uniform) trained
on the first 50000 training images for --epochs epochs and scored on the other 10000,
then the --finalists best trained --final-epochs epochs on the same split. The test set is
never looked at. The configurations run concurrently on the engine's threads
(``fastcredit.sweep``); the rows are printed best first.
"""

import argparse
import os
import sys

for _name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # a benchmark process: full-speed kernels
    os.environ.pop(_name, None)

import numpy as np  # noqa: E402

import fastcredit  # noqa: E402
from fastcredit.datasets import load_mnist  # noqa: E402

from reproduce_bartunov import _NET, ARCHITECTURES, CONFIGS  # noqa: E402

# Log-uniform ranges. target_step is DTP's gradient step or SDTP's step of the output's
# target towards the label; the searches picked 0.028 (DTP) and 0.049 (SDTP).
RANGES = {
    "learning_rate_init": (1e-4, 3e-3),
    "inverse_learning_rate": (1e-4, 1e-2),
    "inverse_noise_std": (1e-2, 0.5),
}
TARGET_STEP = {"dtp": (1e-2, 1.0), "sdtp": (1e-3, 1.0), "aosdtp": (1e-3, 1.0)}


def _sample(rule, rng):
    step = TARGET_STEP.get(rule.removesuffix("-parallel"))  # none for sdtp-label: the label itself
    ranges = dict(RANGES, target_step=step) if step else RANGES
    return {n: float(np.exp(rng.uniform(*np.log(r)))) for n, r in ranges.items()}


def _run(rule, configs, X, y, validation, epochs, n_jobs):
    cls, fixed = CONFIGS[rule]
    net = dict(_NET, **ARCHITECTURES[("mnist", "fc")], max_iter=epochs, diagnostics_every=0)
    estimators = [cls(**net, **dict(fixed, **c)) for c in configs]
    rows = fastcredit.sweep(estimators, X, y, validation=validation, n_jobs=n_jobs, progress=True)
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    for row, config in zip(rows, configs):
        row["config"] = config
    return sorted(rows, key=lambda r: -np.nan_to_num(r["validation_score"], nan=-1.0))


def _print(rows, title):
    print(f"\n{title}")
    for row in rows:
        params = "  ".join(f"{k} {v:.3g}" for k, v in row["config"].items())
        print(f"  validation error {100 * (1 - row['validation_score']):6.2f} %  "
              f"train error {100 * (1 - row['train_score']):6.2f} %  {row['status']:<8} {params}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rule", default="dtp", choices=[r for r in CONFIGS if r != "bp"])
    parser.add_argument("--configs", type=int, default=32, help="random configurations in the first round")
    parser.add_argument("--epochs", type=int, default=12, help="epochs per configuration in the first round")
    parser.add_argument("--finalists", type=int, default=4)
    parser.add_argument("--final-epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random search (fits use random_state 0)")
    parser.add_argument("--n-jobs", type=int, default=-1)
    args = parser.parse_args(argv)

    X, y, _, _ = load_mnist(download=False, return_X_y=True)
    X_fit, y_fit, validation = X[:50000], y[:50000], (X[50000:], y[50000:])
    rng = np.random.default_rng(args.seed)
    configs = [_sample(args.rule, rng) for _ in range(args.configs)]
    rows = _run(args.rule, configs, X_fit, y_fit, validation, args.epochs, args.n_jobs)
    _print(rows, f"{args.rule}: {args.configs} configurations, {args.epochs} epochs")
    finalists = [r["config"] for r in rows[: args.finalists]]
    rows = _run(args.rule, finalists, X_fit, y_fit, validation, args.final_epochs, args.n_jobs)
    _print(rows, f"{args.rule}: the {args.finalists} best, {args.final_epochs} epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
