"""NumPy layer operators for the rules' reference tests (RULES.md, "Layers"): Dense,
Conv2d and LocallyConnected2d, written out the slow obvious way.

Nothing here imports fastcredit. Conventions (the engine follows them):

- units are channels-first (C, H, W), flattened in C order; a batch is (n, C*H*W);
- Conv2d(channels=O, kernel_size=(kh, kw), stride=(sh, sw), padding=(ph, pw)) on an input
  (C, H, W): zero padding, OH = (H + 2 ph - kh) // sh + 1 (OW likewise), cross-correlation
  as in PyTorch, a[n, o, y, x] = sum_{c,i,j} K[o, c, i, j] hpad[n, c, y sh + i, x sw + j] + b[o];
  kernel (O, C, kh, kw), bias (O,);
- LocallyConnected2d: the same with an unshared kernel per output position,
  a[n, o, y, x] = sum_{c,i,j} K[o, y, x, c, i, j] hpad[n, c, y sh + i, x sw + j] + b[o, y, x];
  kernel (O, OH, OW, C, kh, kw), bias (O, OH, OW);
- Dense(n_out) on n_in units: kernel (n_in, n_out), bias (n_out,), a = h @ K + b
  (scikit-learn's layout: K is W^T).

Every operator has the same methods. Write M(K) for the layer's linear map, so that
forward(h, K, b) = M(K) h + b per row:

- ``linear(h, K)`` = M(K) h, ``forward(h, K, b)`` = M(K) h + b: (n, in_units) -> (n, out_units);
- ``transport(K, d)`` = M(K)^T d: (n, out_units) -> (n, in_units), for any K shaped like
  the kernel (BP's W, FA's B, sign symmetry's sign(W) ...);
- ``weight_gradient(h, d)`` = (gK, gb), the batch-mean gradient of sum_n d . (M(K) h + b)
  with respect to K and b;
- ``inverse(V, u)`` / ``inverse_gradient(u, d)``: target propagation's inverse "layer of
  the transposed kind" from the output space back to the input space, and the batch-mean
  gradient of sum_n d . inverse(V, u) with respect to V. Dense: V is (n_out, n_in) and
  inverse(V, u) = u @ V; conv / LC: V is shaped like the kernel and inverse(V, u) = M(V)^T u;
- ``matrix(K)``: M(K) as a dense (in_units, out_units) matrix in the coefs layout
  (linear(h, K) = h @ matrix(K), transport(K, d) = d @ matrix(K).T).

Conv and LC share one loop over output positions (`_PatchLayer`); they differ only in which
kernel serves a position (`_at`): conv the one shared kernel, LC its own slice.
"""

import numpy as np


def _pair(value):
    """An int or a pair -> a pair of ints."""
    if np.ndim(value) == 0:
        return int(value), int(value)
    first, second = value
    return int(first), int(second)


def _shape3(shape):
    """An input shape as (C, H, W): an int n is n units, (n, 1, 1)."""
    if np.ndim(shape) == 0:
        return int(shape), 1, 1
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        return shape[0], 1, 1
    if len(shape) != 3:
        raise ValueError(f"an input shape is (C, H, W) or a number of units, got {shape}")
    return shape


def _check(array, shape, what):
    if tuple(np.shape(array)) != tuple(shape):
        raise ValueError(f"{what} has shape {np.shape(array)}, expected {tuple(shape)}")


class _Layer:
    """What every operator shares: unit counts, shape checks and the dense matrix."""

    in_shape = out_shape = kernel_shape = bias_shape = None

    @property
    def in_units(self):
        return int(np.prod(self.in_shape))

    @property
    def out_units(self):
        return int(np.prod(self.out_shape))

    def _rows(self, h, units, what):
        h = np.asarray(h)
        if h.ndim != 2 or h.shape[1] != units:
            raise ValueError(f"{what} has shape {h.shape}, expected (n, {units})")
        return h

    def forward(self, h, K, b):
        """a = M(K) h + b per row: (n, in_units) -> (n, out_units)."""
        _check(b, self.bias_shape, "bias")
        return self.linear(h, K) + self.bias_units(b)

    def matrix(self, K):
        """M(K) as a dense (in_units, out_units) matrix: linear(h, K) = h @ matrix(K)."""
        return self.linear(np.eye(self.in_units), K)

    def __repr__(self):
        return f"{type(self).__name__}(in_shape={self.in_shape}, out_shape={self.out_shape})"


class DenseRef(_Layer):
    """Dense(n_out) on in_shape (a number of units or (C, H, W), flattened in C order)."""

    def __init__(self, in_shape, n_out):
        self.in_shape = _shape3(in_shape)
        self.n_out = int(n_out)
        self.out_shape = (self.n_out, 1, 1)
        self.kernel_shape = (self.in_units, self.n_out)
        self.bias_shape = (self.n_out,)
        self.inverse_shape = (self.n_out, self.in_units)
        self.fan_in, self.fan_out = self.in_units, self.n_out

    def bias_units(self, b):
        """The bias as one value per output unit, (out_units,)."""
        return b

    def linear(self, h, K):
        _check(K, self.kernel_shape, "kernel")
        return self._rows(h, self.in_units, "input") @ K

    def transport(self, K, d):
        _check(K, self.kernel_shape, "kernel")
        return self._rows(d, self.out_units, "delta") @ K.T

    def weight_gradient(self, h, d):
        h = self._rows(h, self.in_units, "input")
        d = self._rows(d, self.out_units, "delta")
        return h.T @ d / len(h), d.mean(axis=0)

    def inverse(self, V, u):
        _check(V, self.inverse_shape, "inverse kernel")
        return self._rows(u, self.out_units, "input of the inverse") @ V

    def inverse_gradient(self, u, d):
        u = self._rows(u, self.out_units, "input of the inverse")
        d = self._rows(d, self.in_units, "delta of the inverse")
        return u.T @ d / len(u)


class _PatchLayer(_Layer):
    """A layer sliding a (C, kh, kw) window over the zero-padded input; subclasses say
    which kernel (O, C, kh, kw) serves output position (y, x)."""

    def __init__(self, in_shape, channels, kernel_size, stride=1, padding=0):
        self.in_shape = _shape3(in_shape)
        self.channels = int(channels)
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        C, H, W = self.in_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        OH, OW = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
        if min(self.channels, kh, kw, sh, sw) < 1 or min(ph, pw) < 0 or OH < 1 or OW < 1:
            raise ValueError(f"kernel {self.kernel_size}, stride {self.stride}, padding {self.padding} and "
                             f"{self.channels} channels give no output on input {self.in_shape}")
        self.out_shape = (self.channels, OH, OW)
        self.fan_in, self.fan_out = C * kh * kw, self.channels * kh * kw

    @property
    def inverse_shape(self):
        return self.kernel_shape

    # -- the loops
    def _positions(self):
        """(y, x) and the slices of the padded input that position reads."""
        _, OH, OW = self.out_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        for y in range(OH):
            for x in range(OW):
                yield y, x, slice(y * sh, y * sh + kh), slice(x * sw, x * sw + kw)

    def _padded(self, h):
        C, H, W = self.in_shape
        (ph, pw) = self.padding
        h = self._rows(h, self.in_units, "input").reshape(-1, C, H, W)
        return np.pad(h, ((0, 0), (0, 0), (ph, ph), (pw, pw)))

    def _unpad(self, g):
        C, H, W = self.in_shape
        (ph, pw) = self.padding
        return g[:, :, ph : ph + H, pw : pw + W].reshape(len(g), C * H * W)

    def _grid(self, d, what="delta"):
        return self._rows(d, self.out_units, what).reshape(-1, *self.out_shape)

    def linear(self, h, K):
        _check(K, self.kernel_shape, "kernel")
        hp = self._padded(h)
        a = np.zeros((len(hp),) + self.out_shape)
        for y, x, rows, cols in self._positions():
            a[:, :, y, x] = np.einsum("ncij,ocij->no", hp[:, :, rows, cols], self._at(K, y, x))
        return a.reshape(len(hp), -1)

    def transport(self, K, d):
        _check(K, self.kernel_shape, "kernel")
        d = self._grid(d)
        C, H, W = self.in_shape
        (ph, pw) = self.padding
        g = np.zeros((len(d), C, H + 2 * ph, W + 2 * pw))
        for y, x, rows, cols in self._positions():
            g[:, :, rows, cols] += np.einsum("no,ocij->ncij", d[:, :, y, x], self._at(K, y, x))
        return self._unpad(g)

    def _kernel_gradient(self, h, d):
        """Batch mean of d . M(K) h differentiated in K, for input rows h and delta rows d."""
        hp, d = self._padded(h), self._grid(d)
        if len(hp) != len(d):
            raise ValueError(f"{len(hp)} input rows but {len(d)} delta rows")
        gK = np.zeros(self.kernel_shape)
        for y, x, rows, cols in self._positions():
            self._at(gK, y, x)[...] += np.einsum("ncij,no->ocij", hp[:, :, rows, cols], d[:, :, y, x])
        return gK / len(hp)

    def inverse(self, V, u):
        """M(V)^T u: back from the output space to the input space."""
        return self.transport(V, self._rows(u, self.out_units, "input of the inverse"))

    def inverse_gradient(self, u, d):
        """Batch-mean gradient of sum_n d . M(V)^T u in V, = weight_gradient with input d
        (input space) and delta u (output space), since d . M(V)^T u = (M(V) d) . u."""
        return self._kernel_gradient(self._rows(d, self.in_units, "delta of the inverse"), u)


class Conv2dRef(_PatchLayer):
    """Conv2d(channels, kernel_size, stride, padding) on in_shape (C, H, W)."""

    def __init__(self, in_shape, channels, kernel_size, stride=1, padding=0):
        super().__init__(in_shape, channels, kernel_size, stride, padding)
        self.kernel_shape = (self.channels, self.in_shape[0]) + self.kernel_size
        self.bias_shape = (self.channels,)

    def _at(self, K, y, x):
        return K

    def bias_units(self, b):
        """One bias per output channel, shared by its positions."""
        return np.repeat(b, self.out_shape[1] * self.out_shape[2])

    def weight_gradient(self, h, d):
        """Kernel summed over positions; one bias per output channel."""
        return self._kernel_gradient(h, d), self._grid(d).sum(axis=(2, 3)).mean(axis=0)


class LocallyConnected2dRef(_PatchLayer):
    """LocallyConnected2d(channels, kernel_size, stride, padding) on in_shape (C, H, W)."""

    def __init__(self, in_shape, channels, kernel_size, stride=1, padding=0):
        super().__init__(in_shape, channels, kernel_size, stride, padding)
        self.kernel_shape = self.out_shape + (self.in_shape[0],) + self.kernel_size
        self.bias_shape = self.out_shape

    def _at(self, K, y, x):
        return K[:, y, x]

    def bias_units(self, b):
        """One bias per output unit."""
        return np.ravel(b)

    def weight_gradient(self, h, d):
        """A kernel per position; one bias per output unit."""
        return self._kernel_gradient(h, d), self._grid(d).mean(axis=0)


KINDS = {"dense": DenseRef, "conv2d": Conv2dRef, "locally_connected2d": LocallyConnected2dRef}


def _spec_arguments(spec):
    """(class, kwargs) of one layer spec: a pair (kind, kwargs), kind one of KINDS' names or
    a class; an int n (Dense(n)); or an object with the fields of fastcredit.layers' specs
    (read by name only, nothing imported: kind 'dense' with units, or 'conv2d' /
    'locally_connected2d' with channels, kernel_size, stride, padding)."""
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return DenseRef, {"n_out": int(spec)}
    if isinstance(spec, tuple) and len(spec) == 2:
        kind, kwargs = spec
        return (KINDS[kind] if isinstance(kind, str) else kind), dict(kwargs)
    kind = getattr(spec, "kind", None)
    if kind == "dense":
        return DenseRef, {"n_out": spec.units}
    if kind in KINDS:
        return KINDS[kind], {name: getattr(spec, name) for name in ("channels", "kernel_size", "stride", "padding")}
    raise TypeError(f"not a layer spec: {spec!r}")


def build_layers(in_shape, specs):
    """The operators of a chain of layers on inputs of in_shape (C, H, W) or a number of
    units. Each spec is (kind, kwargs), kind one of KINDS' names (or a class) and kwargs its
    geometry; or an int n, Dense(n); or a fastcredit.layers-like spec (see _spec_arguments):
    [("conv2d", dict(channels=3, kernel_size=3, padding=1)), ("dense", dict(n_out=4))],
    or an estimator's hidden specs plus its outputs, list(est.layers) + [n_outputs]."""
    layers, shape = [], _shape3(in_shape)
    for spec in specs:
        cls, kwargs = _spec_arguments(spec)
        layers.append(cls(shape, **kwargs))
        shape = layers[-1].out_shape
    return layers


def dense_layers(coefs):
    """Dense operators read off scikit-learn coefs (n_l, n_{l+1}): what layers=None means."""
    return [DenseRef(W.shape[0], W.shape[1]) for W in coefs]


def random_parameters(layers, rng, scale=0.5):
    """Random (coefs, intercepts) shaped for these operators."""
    coefs = [scale * rng.standard_normal(op.kernel_shape) for op in layers]
    intercepts = [scale * rng.standard_normal(op.bias_shape) for op in layers]
    return coefs, intercepts

