"""Podlaski & Machens (2020), MNIST classification, in fastcredit.

The paper's setting (RULES.md, "Dynamic inversion"; the authors' mnist_classification.py):
784-1000-10 tanh, softmax, inputs z-scored with the training set's global mean and
standard deviation, batch 1, 15 epochs, plain SGD with learning rate 1e-3 and weight decay
1e-6 per step (here L2 ``alpha = 1e-6 / lr`` so that the per-step decay is the same),
feedback ``B = -W^T`` at initialisation. Models: backprop, NDI without leak and with leak
0.01 (the paper's NDI and NDI-2), DI (the dynamics, 50 Euler steps of 0.2, which the
authors could not afford on MNIST) and nonlinear DI (the same dynamics through tanh; with
one hidden layer single-loop DI is the same loop). Differences from the authors' script: Glorot
initialisation instead of uniform(-0.01, 0.01); the loss is the mean cross-entropy.

Run (MNIST from FASTCREDIT_DATA or downloaded):
    FASTCREDIT_DATA=/work/shared/data python benchmarks/reproduce_podlaski.py --epochs 15
Prints the test error after every epoch and the time per epoch, per model.
"""

import argparse
import sys
import time
import warnings

import numpy as np

import fastcredit
from fastcredit.datasets import load_mnist

MODELS = {
    "BP": (fastcredit.BackpropClassifier, {}),
    "NDI": (fastcredit.DynamicInversionClassifier, dict(inversion="direct", leak=0.0)),
    "NDI-2": (fastcredit.DynamicInversionClassifier, dict(inversion="direct", leak=0.01)),
    "DI": (fastcredit.DynamicInversionClassifier, dict(inversion="dynamic", leak=0.0, n_steps=50, dt=0.2)),
    "NLDI": (fastcredit.DynamicInversionClassifier, dict(inversion="nonlinear", leak=0.0, n_steps=50, dt=0.2)),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X_train, y_train, X_test, y_test = load_mnist(return_X_y=True, normalize=False)
    mean, std = X_train.mean(), X_train.std()
    X_train = ((X_train - mean) / std).astype(np.float32)
    X_test = ((X_test - mean) / std).astype(np.float32)
    classes = np.unique(y_train)
    print(f"MNIST {X_train.shape[0]} train / {X_test.shape[0]} test; 784-1000-10 tanh, batch {args.batch_size}, "
          f"SGD lr {args.learning_rate}, {args.epochs} epochs, seed {args.seed}", flush=True)

    for name in args.models.split(","):
        cls, params = MODELS[name]
        est = cls(hidden_layer_sizes=(1000,), activation="tanh", solver="sgd", momentum=0.0,
                  learning_rate_init=args.learning_rate, alpha=1e-6 / args.learning_rate,
                  batch_size=args.batch_size, random_state=args.seed, diagnostics_every=1, **params)
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.partial_fit(X_train, y_train, classes=classes)
            seconds = time.perf_counter() - start
            error = 100.0 * (1.0 - est.score(X_test, y_test))
            extra = ""
            if "spectral_abscissa" in est.alignment_:
                a = est.alignment_
                extra = (f"  abscissa {a['spectral_abscissa'][-1, 1]:.4f}  residual {a['inversion_residual'][-1, 1]:.2e}"
                         f"  repairs {a['stability_repairs'][-1, 1]:.0f}  angle(B,-W^T) {a['feedback_angle'][-1, 1]:.1f}")
            print(f"{name:<6} epoch {epoch:>2}  test error {error:5.2f} %  {seconds:7.1f} s"
                  f"  update angle to BP (layer 1) {est.alignment_['update_angle'][-1, 0]:5.1f}{extra}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
