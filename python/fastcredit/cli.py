"""Command line: ``fastcredit compare`` trains the learning rules on a data set, shows a
progress bar per rule, prints a table (accuracies, fit time, update-vs-gradient angle per
layer) and writes it with the learning and alignment curves to an output directory."""

import argparse
import contextlib
import logging
import os
import sys
from functools import partial

import numpy as np
from sklearn.neural_network import MLPClassifier

from . import (
    BackpropClassifier,
    DirectFeedbackAlignmentClassifier,
    FeedbackAlignmentClassifier,
    KolenPollackClassifier,
    NodePerturbationClassifier,
    SignSymmetryClassifier,
    WeightPerturbationClassifier,
    DifferenceTargetPropagationClassifier,
    SimplifiedDTPClassifier,
    AuxiliaryOutputSDTPClassifier,
    DynamicInversionClassifier,
)
from ._compare import DATASETS, DatasetUnavailable, format_table, load_dataset, run, write_results

# Rule name -> estimator class; each new rule adds one entry.
RULES = {
    "bp": BackpropClassifier,
    "fa": FeedbackAlignmentClassifier,
    "dfa": DirectFeedbackAlignmentClassifier,
    "ss": SignSymmetryClassifier,
    "kp": KolenPollackClassifier,
    "wp": WeightPerturbationClassifier,
    "np": NodePerturbationClassifier,
    "dtp": DifferenceTargetPropagationClassifier,
    "sdtp": SimplifiedDTPClassifier,
    "aosdtp": AuxiliaryOutputSDTPClassifier,
    "di": DynamicInversionClassifier,
    "ndi": partial(DynamicInversionClassifier, inversion="direct"),
    "nldi": partial(DynamicInversionClassifier, inversion="nonlinear"),
    "sldi": partial(DynamicInversionClassifier, inversion="single_loop"),
}

# Rule name -> hyper-parameters that make it learn in `compare` where the estimator's
# defaults would not (e.g. a different learning rate); rules not listed use the defaults.
RULE_DEFAULTS = {
    # One noisy draw per batch of 200 leaves WP near chance after 20 epochs on a 256-256 net
    # (0.16 on digits); smaller batches and two antithetic draws per step reach ~0.82.
    "wp": {"batch_size": 32, "learning_rate_init": 3e-3, "n_samples": 2, "antithetic": True},
}

# Named comparisons: every key is a `compare` option, overridable on the command line.
PRESETS = {
    # The lecture's assignment (RULES.md): an MLP on MNIST with weight perturbation,
    # backprop, feedback alignment and Kolen-Pollack.
    "lecture": {"dataset": "mnist", "rules": ["wp", "bp", "fa", "kp"], "hidden": (100,), "epochs": 20},
}

DEFAULTS = {"dataset": "digits", "rules": None, "hidden": (256, 256), "epochs": 20}  # rules None: all

SKLEARN_LABEL = "sklearn-mlp"


def _positive_int(text, what="a positive integer"):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def _parse_sizes(text):
    try:
        return tuple(_positive_int(s) for s in text.split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"hidden sizes must be comma-separated positive integers, got {text!r}"
        ) from None


def _parse_rules(text):
    rules = list(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules:
        raise argparse.ArgumentTypeError(f"unknown rule(s) {', '.join(unknown) or repr(text)}; choose from {', '.join(RULES)}")
    return rules


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"seed must be an integer in [0, 2**32), got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr and exit code 2 (not the usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser():
    parser = _Parser(prog="fastcredit", description="Credit-assignment learning rules as scikit-learn estimators.")
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser(
        "compare", help="train the rules on a data set and compare them",
        description="Train each learning rule on a data set and compare accuracy, speed and alignment.",
    )
    # None = not given: the preset's value, else DEFAULTS.
    compare.add_argument("--preset", choices=sorted(PRESETS), help="a named comparison, e.g. 'lecture' (WP, BP, FA, KP on MNIST)")
    compare.add_argument("--dataset", choices=DATASETS, help=f"data set (default: {DEFAULTS['dataset']})")
    compare.add_argument("--rules", type=_parse_rules, metavar="R1,R2,...", help=f"rules to train (default: all: {','.join(RULES)})")
    compare.add_argument("--hidden", type=_parse_sizes, metavar="N1,N2,...", help=f"hidden layer sizes (default: {','.join(map(str, DEFAULTS['hidden']))})")
    compare.add_argument("--epochs", type=_positive_int, help=f"epochs per rule (default: {DEFAULTS['epochs']})")
    compare.add_argument("--seed", type=_seed, default=0, help="random seed of the split, the weights and the rules (default: 0)")
    compare.add_argument("--n-train", type=_positive_int, metavar="N", help="train on a random subset of N samples")
    compare.add_argument("--n-test", type=_positive_int, metavar="N", help="test on a random subset of N samples")
    compare.add_argument("--out", default="fastcredit-results", metavar="DIR",
                         help="directory for results.csv, results.json and the figures (default: ./fastcredit-results)")
    compare.add_argument("--data-home", metavar="DIR", help="where MNIST/Fashion-MNIST/CIFAR-10 live (default: $FASTCREDIT_DATA, else ~/.cache/fastcredit)")
    compare.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing data set")
    compare.add_argument("--no-sklearn", action="store_true", help="leave out the scikit-learn MLPClassifier reference row")
    compare.add_argument("--no-plots", action="store_true", help="do not write the PNG figures")
    compare.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    parser.compare_parser = compare  # for errors found after parsing (resolve)
    return parser


def resolve(args, parser):
    """Fill the options not given from the preset, then the defaults; check the preset's rules."""
    preset = PRESETS.get(args.preset, {})
    for key, default in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, preset.get(key, default))
    if args.rules is None:
        args.rules = list(RULES)
    missing = [r for r in args.rules if r not in RULES]
    if missing:
        parser.error(
            f"preset {args.preset!r} needs rule(s) not available in this version: {', '.join(missing)} "
            f"(available: {', '.join(RULES)})"
        )
    return args


def make_estimators(args):
    """``[(label, unfitted estimator), ...]``: every rule, then the scikit-learn reference."""
    # A fixed number of epochs for every rule: no early stop on a loss plateau. These
    # settings are the comparison's own: a rule's RULE_DEFAULTS cannot change them.
    shared = dict(hidden_layer_sizes=args.hidden, max_iter=args.epochs, random_state=args.seed,
                  tol=0.0, n_iter_no_change=np.inf)
    entries = [(name, RULES[name](**{**RULE_DEFAULTS.get(name, {}), **shared})) for name in args.rules]
    if not args.no_sklearn:
        entries.append((SKLEARN_LABEL, MLPClassifier(**shared)))
    return entries


def _write_figures(results, directory, err):
    try:
        from .plotting import plot_alignment, plot_learning_curves
    except ImportError:
        print("fastcredit: figures skipped: matplotlib is missing; install it with: pip install matplotlib", file=err)
        return []
    paths = [os.path.join(directory, "learning_curves.png")]
    plot_learning_curves(results).savefig(paths[0], dpi=120)
    if any(r["update_angle"] for r in results):
        paths.append(os.path.join(directory, "alignment.png"))
        plot_alignment(results).savefig(paths[1], dpi=120)
    return paths


@contextlib.contextmanager
def _download_notes(err, quiet):
    """Show the data set loader's "Downloading <url>" lines on `err` (none with --quiet);
    its per-mirror failure warnings are summed up in the one-line error instead."""
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("fastcredit: %(message)s"))
    handler.addFilter(lambda record: not quiet and record.levelno == logging.INFO)
    logger = logging.getLogger("fastcredit.datasets")
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def compare(args, out=None, err=None):
    """Run the comparison `args` describe (stdout/stderr by default); returns the result records."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    os.makedirs(args.out, exist_ok=True)  # an unusable --out fails now, not after the training
    with _download_notes(err, args.quiet):
        data = load_dataset(args.dataset, seed=args.seed, n_train=args.n_train, n_test=args.n_test,
                            data_home=args.data_home, download=not args.no_download)
    X_train, _, X_test, _ = data
    print(f"fastcredit compare: {args.dataset} ({len(X_train)} train, {len(X_test)} test), hidden "
          f"{','.join(map(str, args.hidden))}, {args.epochs} epochs, seed {args.seed}", file=out, flush=True)
    results = run(make_estimators(args), data, args.epochs, None if args.quiet else err, err.isatty())
    print(format_table(results), file=out)
    config = {key: getattr(args, key) for key in ("preset", "dataset", "rules", "hidden", "epochs", "seed", "n_train", "n_test")}
    config.update(n_train_samples=len(X_train), n_test_samples=len(X_test))
    written = list(write_results(results, config, args.out))
    if not args.no_plots:
        written += _write_figures(results, args.out, err)
    print(f"written: {', '.join(written)}", file=out)
    return results


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "compare":
        resolve(args, parser.compare_parser)
        try:
            compare(args)
        except (DatasetUnavailable, OSError) as exc:  # e.g. no data offline, --out not writable
            print(f"fastcredit compare: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nfastcredit compare: interrupted", file=sys.stderr)
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
