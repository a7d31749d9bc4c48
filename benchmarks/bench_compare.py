"""The default ``fastcredit compare`` run (digits, every registered rule, default sizes and
epochs) must finish in under a minute on 2 cores: its total time, and each rule's fit
time in that setting (which rule eats the budget). Run: pytest benchmarks/bench_compare.py
"""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning

from _ratios import record
from fastcredit import cli
from fastcredit._compare import load_dataset

GROUP = "compare default: one rule's fit on digits"


def _default_args(*extra):
    parser = cli.build_parser()
    return cli.resolve(parser.parse_args(["compare", *extra]), parser.compare_parser)


def test_default_compare_run(benchmark, tmp_path):
    args = _default_args("--quiet", "--out", str(tmp_path))
    benchmark.pedantic(cli.compare, args=(args,), rounds=1, iterations=1)
    record(benchmark, "compare default: the whole run (budget 60 s)", "fastcredit compare", reference=True)


@pytest.mark.parametrize("rule", sorted(cli.RULES, key=lambda name: name != "bp"))
def test_rule_fit_in_default_compare(benchmark, rule):
    args = _default_args("--rules", rule, "--no-sklearn")
    X_train, y_train, _, _ = load_dataset(args.dataset, seed=args.seed)
    [(_, estimator)] = cli.make_estimators(args)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X_train, y_train)

    benchmark.pedantic(fit, rounds=3, iterations=1)
    record(benchmark, GROUP, rule, reference=rule == "bp")
