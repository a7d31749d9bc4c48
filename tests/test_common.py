"""scikit-learn's own estimator checks, for every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastcredit

ESTIMATORS = [getattr(fastcredit, name) for name in fastcredit.__all__ if name.endswith(("Classifier", "Regressor"))]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([cls() for cls in ESTIMATORS])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
