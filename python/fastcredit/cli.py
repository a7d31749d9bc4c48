"""Command line: ``fastcredit compare`` trains every rule on a data set and prints a table."""

import argparse
import sys
import time
from functools import partial
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from . import BackpropClassifier
from ._dynamic_inversion import DynamicInversionClassifier

# Rule name -> estimator class; each new rule adds one entry.
RULES = {
    "bp": BackpropClassifier,
    "di": DynamicInversionClassifier,
    "ndi": partial(DynamicInversionClassifier, inversion="direct"),
    "nldi": partial(DynamicInversionClassifier, inversion="nonlinear"),
    "sldi": partial(DynamicInversionClassifier, inversion="single_loop"),
}


def _parse_sizes(text):
    try:
        sizes = tuple(int(s) for s in text.split(",") if s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive integers, got {text!r}")
    return sizes


def _parse_rules(text):
    rules = [r.strip() for r in text.split(",") if r.strip()]
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules:
        raise argparse.ArgumentTypeError(f"unknown rule(s) {unknown}; choose from {', '.join(RULES)}")
    return rules


def build_parser():
    parser = argparse.ArgumentParser(prog="fastcredit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser("compare", help="train the rules on a data set and compare them")
    compare.add_argument("--dataset", choices=["digits"], default="digits")
    compare.add_argument("--rules", type=_parse_rules, default=list(RULES))
    compare.add_argument("--hidden", type=_parse_sizes, default=(256, 256))
    compare.add_argument("--epochs", type=int, default=30)
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--no-sklearn", action="store_true", help="leave out scikit-learn's MLPClassifier")
    return parser


def compare(args, out=sys.stdout):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=args.seed, stratify=y)
    params = dict(hidden_layer_sizes=args.hidden, max_iter=args.epochs, random_state=args.seed, tol=0)
    entries = [(name, RULES[name](**params)) for name in args.rules]
    if not args.no_sklearn:
        entries.append(("sklearn MLPClassifier (bp)", MLPClassifier(**params)))
    rows = []
    for name, estimator in entries:
        start = time.perf_counter()
        with warnings.catch_warnings():  # short runs end at max_iter on purpose
            warnings.simplefilter("ignore")
            estimator.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        rows.append((name, estimator.score(X_test, y_test), estimator.score(X_train, y_train), seconds))
    print(f"dataset: {args.dataset}, hidden {args.hidden}, {args.epochs} epochs, seed {args.seed}", file=out)
    print(f"{'rule':<28}{'test acc':>10}{'train acc':>11}{'fit s':>9}", file=out)
    for name, test, train, seconds in rows:
        print(f"{name:<28}{test:>10.4f}{train:>11.4f}{seconds:>9.2f}", file=out)
    return rows


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "compare":
        compare(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
