"""Layer specifications for an estimator's ``layers`` parameter.

>>> from fastcredit.layers import Conv2d, Dense, LocallyConnected2d
>>> layers = [LocallyConnected2d(channels=32, kernel_size=3, stride=2, padding=1),
...           Conv2d(64, kernel_size=(3, 3), stride=2, padding=1), Dense(1024)]

A spec only describes a hidden layer: its shapes follow from the layer below when the
network is built (RULES.md, "Layers"). Units are channels-first ``(C, H, W)``, flattened in
C order; a :class:`Dense` layer after a conv/LC layer sees the flattened units, and a
conv/LC layer after a dense one sees ``(n, 1, 1)``. Zero padding; the output size is
``(H + 2 * padding - kernel_size) // stride + 1``. Kernel layouts (``coefs_``):

- ``Dense``: ``(n_in, n_out)``, intercepts ``(n_out,)`` (scikit-learn's);
- ``Conv2d``: ``(out_channels, in_channels, kh, kw)``, intercepts ``(out_channels,)`` (PyTorch's);
- ``LocallyConnected2d``: ``(out_channels, out_h, out_w, in_channels, kh, kw)``,
  intercepts ``(out_channels, out_h, out_w)``: a convolution without weight sharing.

Specs are plain values: picklable, ``repr``-able, equal when their fields are, so that
``get_params``, ``clone`` and ``GridSearchCV`` treat them as any other parameter.
"""

from numbers import Integral

__all__ = ["Conv2d", "Dense", "LocallyConnected2d"]


def _positive(value, name, owner, minimum=1):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value!r}.")
    return int(value)


def _ints(value, length, name, owner, minimum, what):
    """`value` as a tuple of `length` ints >= minimum; `what` describes the expected form."""
    try:
        values = tuple(value)
    except TypeError:
        raise TypeError(f"{owner}: {name} must be {what}, got {value!r}.") from None
    if len(values) != length:
        raise ValueError(f"{owner}: {name} must be {what}, got {value!r}.")
    return tuple(_positive(v, name, owner, minimum) for v in values)


def _pair(value, name, owner, minimum):
    """An int or a pair of ints, as the pair (height, width)."""
    values = (value, value) if isinstance(value, Integral) and not isinstance(value, bool) else value
    return _ints(values, 2, name, owner, minimum, "an int or a pair of ints")


class _LayerSpec:
    """Shared value semantics: fields in ``_fields``, compared and shown by value."""

    _fields = ()
    kind = None  # the engine's name of the layer kind

    def _values(self):
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other):
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self):
        return hash((type(self).__name__, self._values()))

    def __repr__(self):
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"


class Dense(_LayerSpec):
    """A fully connected hidden layer of ``units`` units.

    Parameters
    ----------
    units : int
        Number of units (>= 1).
    """

    _fields = ("units",)
    kind = "dense"

    def __init__(self, units):
        self.units = _positive(units, "units", "Dense")

    def _engine_spec(self):
        return {"kind": self.kind, "size": self.units}


class _Spatial(_LayerSpec):
    _fields = ("channels", "kernel_size", "stride", "padding")

    def __init__(self, channels, kernel_size, stride=1, padding=0):
        owner = type(self).__name__
        self.channels = _positive(channels, "channels", owner)
        self.kernel_size = _pair(kernel_size, "kernel_size", owner, 1)
        self.stride = _pair(stride, "stride", owner, 1)
        self.padding = _pair(padding, "padding", owner, 0)

    def _engine_spec(self):
        return {"kind": self.kind, "size": self.channels, "kernel_size": self.kernel_size, "stride": self.stride,
                "padding": self.padding}


_SPATIAL_PARAMETERS = """
    Parameters
    ----------
    channels : int
        Number of output channels (>= 1).
    kernel_size : int or (int, int)
        Kernel height and width.
    stride : int or (int, int), default=1
        Step between output positions.
    padding : int or (int, int), default=0
        Zeros added on each side of the input.
    """


class Conv2d(_Spatial):
    __doc__ = """A 2-D convolutional hidden layer: ``channels`` output channels, one shared kernel.
""" + _SPATIAL_PARAMETERS
    kind = "conv2d"


class LocallyConnected2d(_Spatial):
    __doc__ = """A 2-D locally-connected hidden layer: a convolution without weight sharing, one
    kernel per output position (Bartunov et al. 2018).
""" + _SPATIAL_PARAMETERS
    kind = "locally_connected2d"


def hidden_layer_specs(layers, hidden_layer_sizes):
    """The hidden layers as specs: ``layers`` (ints meaning :class:`Dense`), else
    ``hidden_layer_sizes``."""
    if layers is None:
        sizes = [hidden_layer_sizes] if isinstance(hidden_layer_sizes, Integral) else list(hidden_layer_sizes)
        if any(isinstance(s, bool) or not isinstance(s, Integral) or s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {hidden_layer_sizes!r}.")
        return [Dense(int(s)) for s in sizes]
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a list of layer specs (Dense, Conv2d, LocallyConnected2d) or ints, "
                        f"got {layers!r}.")
    specs = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Integral) and not isinstance(layer, bool):
            layer = Dense(layer)
        if not isinstance(layer, _LayerSpec):
            raise TypeError(f"layers[{i}] must be Dense, Conv2d, LocallyConnected2d or an int, got {layer!r}.")
        specs.append(layer)
    return specs


def engine_architecture(hidden, input_shape, n_features, n_outputs):
    """The engine's architecture dict for these hidden specs, the input and the outputs.

    ``input_shape`` (C, H, W) must hold ``n_features`` values; None means ``(n_features,
    1, 1)``, which only dense layers accept (a conv/LC layer then asks for it).
    """
    if input_shape is None:
        if any(not isinstance(layer, Dense) for layer in hidden):
            raise ValueError("conv and locally-connected layers need input_shape=(channels, height, width).")
        shape = (n_features, 1, 1)
    else:
        shape = _input_shape(input_shape)
        if shape[0] * shape[1] * shape[2] != n_features:
            raise ValueError(f"input_shape={tuple(input_shape)!r} holds {shape[0] * shape[1] * shape[2]} values "
                             f"but X has {n_features} features; X must be (n_samples, C*H*W), channels-first.")
    layers = [layer._engine_spec() for layer in hidden] + [{"kind": "dense", "size": int(n_outputs)}]
    return {"input_shape": shape, "layers": layers}


def _input_shape(input_shape):
    return _ints(input_shape, 3, "input_shape", "the estimator", 1, "(channels, height, width)")
