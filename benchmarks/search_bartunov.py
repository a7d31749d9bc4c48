"""The hyper-parameter search behind benchmarks/reproduce_bartunov.py.

    FASTCREDIT_DATA=../shared/data python benchmarks/search_bartunov.py --rule dtp
    FASTCREDIT_DATA=../shared/data python benchmarks/search_bartunov.py --rule sdtp
    python benchmarks/search_bartunov.py --architecture lc --rule fa --vary learning_rate_init \\
        --configs 4 --epochs 3 --finalists 0 --train-size 20000 --n-jobs 1 --save search_lc_fa.json

Bartunov et al. (2018) chose their hyper-parameters by a search on a validation set; they
are not in RULES.md, so we search the same way: configurations (log-uniform at random, or
with --vary naming one parameter, a log-spaced grid over its range; the others as in
reproduce_bartunov.py) trained on the first --train-size of training images 0-49999 for
--epochs epochs and scored on images 50000-59999, then the --finalists best trained
--final-epochs epochs on the same split. The test set is never looked at. The
configurations run concurrently on the engine's threads (``fastcredit.sweep``); the rows
are printed best first and, with --save, written to a JSON file as each round ends.
"""

import argparse
import json
import os
import sys

for _name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # a benchmark process: full-speed kernels
    os.environ.pop(_name, None)

import numpy as np  # noqa: E402

import fastcredit  # noqa: E402
from fastcredit.datasets import load_mnist  # noqa: E402

from reproduce_bartunov import _NET, ARCHITECTURES, configs_for  # noqa: E402

# Log-uniform ranges. target_step is DTP's gradient step or SDTP's step of the output's
# target towards the label; the searches picked 0.028 (DTP) and 0.049 (SDTP).
RANGES = {
    "learning_rate_init": (1e-4, 3e-3),
    "inverse_learning_rate": (1e-4, 1e-2),
    "inverse_noise_std": (1e-2, 0.5),
}
TARGET_STEP = {"dtp": (1e-2, 1.0), "sdtp": (1e-3, 1.0), "aosdtp": (1e-3, 1.0)}
TARGET_PROPAGATION = ("dtp", "sdtp", "aosdtp")


def _ranges(rule):
    base = rule.removesuffix("-parallel")
    if base not in TARGET_PROPAGATION and base != "sdtp-label":
        return {"learning_rate_init": RANGES["learning_rate_init"]}
    step = TARGET_STEP.get(base)  # none for sdtp-label: the label itself
    return dict(RANGES, target_step=step) if step else dict(RANGES)


def _sample(rule, rng):
    return {n: float(np.exp(rng.uniform(*np.log(r)))) for n, r in _ranges(rule).items()}


def _grid(rule, name, count, bounds=None):
    low, high = bounds or _ranges(rule)[name]
    return [{name: float(v)} for v in np.geomspace(low, high, count)]


def _run(rule, architecture, configs, X, y, validation, epochs, n_jobs):
    cls, fixed = configs_for(architecture)[rule]
    net = dict(_NET, **ARCHITECTURES[("mnist", architecture)], max_iter=epochs, diagnostics_every=0)
    estimators = [cls(**net, **dict(fixed, **c)) for c in configs]
    rows = fastcredit.sweep(estimators, X, y, validation=validation, n_jobs=n_jobs, progress=True)
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    rows = [{"config": config, "validation_score": float(row["validation_score"]),
             "train_score": float(row["train_score"]), "status": str(row["status"])}
            for row, config in zip(rows, configs)]
    return sorted(rows, key=lambda r: -np.nan_to_num(r["validation_score"], nan=-1.0))


def _print(rows, title):
    print(f"\n{title}")
    for row in rows:
        params = "  ".join(f"{k} {v:.3g}" for k, v in row["config"].items())
        print(f"  validation error {100 * (1 - row['validation_score']):6.2f} %  "
              f"train error {100 * (1 - row['train_score']):6.2f} %  {row['status']:<8} {params}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rule", default="dtp", choices=list(configs_for("fc")))
    parser.add_argument("--architecture", choices=("fc", "lc"), default="fc")
    parser.add_argument("--vary", help="search this one parameter on a log-spaced grid, the others fixed")
    parser.add_argument("--range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        help="with --vary: the grid's ends instead of the default range")
    parser.add_argument("--configs", type=int, default=32, help="configurations in the first round")
    parser.add_argument("--epochs", type=int, default=12, help="epochs per configuration in the first round")
    parser.add_argument("--train-size", type=int, default=50000, help="fit on the first N of images 0-49999")
    parser.add_argument("--finalists", type=int, default=4)
    parser.add_argument("--final-epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random search (fits use random_state 0)")
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--save", help="write the rounds' rows to this JSON file")
    args = parser.parse_args(argv)
    if args.vary is not None and args.vary not in _ranges(args.rule):
        parser.error(f"--vary: {args.rule} searches {', '.join(_ranges(args.rule))}, not {args.vary!r}")
    if args.range is not None and (args.vary is None or not 0 < args.range[0] <= args.range[1]):
        parser.error("--range needs --vary and 0 < LOW <= HIGH")
    if not 0 < args.train_size <= 50000:
        parser.error("--train-size must be in (0, 50000]")

    X, y, _, _ = load_mnist(download=False, return_X_y=True)
    X_fit, y_fit, validation = X[: args.train_size], y[: args.train_size], (X[50000:], y[50000:])
    rng = np.random.default_rng(args.seed)
    configs = (_grid(args.rule, args.vary, args.configs, args.range) if args.vary
               else [_sample(args.rule, rng) for _ in range(args.configs)])
    saved = {"rule": args.rule, "architecture": args.architecture, "train_size": args.train_size, "rounds": []}
    rounds = [(configs, args.epochs)]
    for number in range(2):
        configs, epochs = rounds[number]
        rows = _run(args.rule, args.architecture, configs, X_fit, y_fit, validation, epochs, args.n_jobs)
        _print(rows, f"{args.rule} ({args.architecture}): {len(configs)} configurations, {epochs} epochs")
        saved["rounds"].append({"epochs": epochs, "rows": rows})
        if args.save:
            with open(args.save, "w") as f:
                json.dump(saved, f, indent=1)
        if number == 1 or args.finalists == 0:
            break
        rounds.append(([r["config"] for r in rows[: args.finalists]], args.final_epochs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
