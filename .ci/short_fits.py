"""A short fit of every exported estimator through every engine entry point: fit with
early stopping and diagnostics, predict, partial_fit, warm start, the rule's direction,
pickling, float32 and float64. Run under valgrind by .ci/valgrind."""

import pickle
import warnings

import numpy as np

import fastcredit

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 7))
labels = np.arange(60) % 3
for name in fastcredit.__all__:
    if not name.endswith(("Classifier", "Regressor")):
        continue
    cls = getattr(fastcredit, name)
    y = labels if hasattr(cls, "predict_proba") else labels / 3.0
    for dtype in ("float32", "float64"):
        est = cls(hidden_layer_sizes=(6, 5), max_iter=3, batch_size=16, early_stopping=True, random_state=0,
                  dtype=dtype, warm_start=True)
        est.fit(X, y)
        est.fit(X, y)
        est.predict(X)
        est._rule_direction(X[:9], y[:9])
        clone = pickle.loads(pickle.dumps(est))
        if hasattr(cls, "predict_proba"):
            clone.partial_fit(X, y)
            clone.predict_proba(X)
        else:
            clone.partial_fit(X, y)
        assert np.all(np.isfinite(clone.predict(X)))
    print(name, "ok", flush=True)
