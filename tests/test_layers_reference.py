"""The NumPy layer operators of _layers_reference proven right on their own (direct loops,
scipy's correlation, adjointness, finite differences, LC = conv when shared), and the rule
references written through them (_reference, _feedback_reference, _perturbation_reference,
_dynamic_inversion_reference, _target_propagation_reference) checked on conv / LC nets
against exact properties of the rules. Nothing here uses fastcredit's engine."""

import numpy as np
import pytest

from _dynamic_inversion_reference import (
    block_abscissa,
    damped_pseudo_inverse,
    di_dynamics,
    ndi_steady_state,
    reference_direction,
)
from _feedback_reference import (
    auto_magnitudes,
    direct_feedback_alignment,
    direct_target,
    feedback_alignment,
    feedback_angles,
    glorot_mean_magnitude,
    kolen_pollack_step,
    sign_symmetric_feedback,
)
from _layers_reference import (
    Conv2dRef,
    DenseRef,
    LocallyConnected2dRef,
    build_layers,
    dense_layers,
    random_parameters,
)
from _perturbation_reference import node_perturbation, weight_perturbation
from _reference import ACTIVATIONS, backprop, backprop_deltas, forward, loss, output, relative_error
from _target_propagation_reference import forward_direction, inverse, inverse_gradients, sgd_step

# (in_shape (C, H, W), channels, kernel, stride, padding, expected (OH, OW))
GEOMETRIES = [
    ((1, 8, 8), 3, 3, 1, 0, (6, 6)),
    ((1, 8, 8), 2, 3, 2, 0, (3, 3)),  # the last row and column are never read
    ((1, 8, 8), 2, (5, 5), 3, 2, (3, 3)),
    ((2, 6, 5), 4, (3, 2), (2, 1), (1, 0), (3, 4)),
    ((2, 6, 5), 2, (2, 3), (1, 2), (0, 1), (5, 3)),
    ((3, 5, 7), 2, 1, 1, 0, (5, 7)),  # 1 x 1
    ((2, 4, 3), 3, (4, 3), 1, 0, (1, 1)),  # the window is the whole input
    ((2, 5, 6), 3, (1, 3), (3, 1), (2, 1), (3, 6)),  # padding rows of zeros only, in some windows
]
IDS = [f"{g[0]}-k{g[2]}-s{g[3]}-p{g[4]}" for g in GEOMETRIES]
PATCH_KINDS = [Conv2dRef, LocallyConnected2dRef]


def _pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def _layer(cls, geometry):
    in_shape, channels, kernel, stride, padding, _ = geometry
    return cls(in_shape, channels, kernel, stride, padding)


def _random(op, rng, n=3):
    """Random input rows, kernel, bias and delta rows for an operator."""
    return (rng.standard_normal((n, op.in_units)), rng.standard_normal(op.kernel_shape),
            rng.standard_normal(op.bias_shape), rng.standard_normal((n, op.out_units)))


def _direct_forward(cls, geometry, h, K, b):
    """a[n, o, y, x] by scalar loops over every index, reading the unpadded input with a
    bounds test (no np.pad, no window slicing)."""
    (C, H, W), O, kernel, stride, padding, (OH, OW) = geometry
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    x4 = h.reshape(len(h), C, H, W)
    local = cls is LocallyConnected2dRef
    a = np.zeros((len(h), O, OH, OW))
    for n in range(len(h)):
        for o in range(O):
            for y in range(OH):
                for x in range(OW):
                    total = b[o, y, x] if local else b[o]
                    for c in range(C):
                        for i in range(kh):
                            for j in range(kw):
                                row, col = y * sh + i - ph, x * sw + j - pw
                                if 0 <= row < H and 0 <= col < W:
                                    weight = K[o, y, x, c, i, j] if local else K[o, c, i, j]
                                    total += weight * x4[n, c, row, col]
                    a[n, o, y, x] = total
    return a.reshape(len(h), -1)


def _finite_difference_gradient(J, params, eps=1e-3):
    """Central differences of the scalar J(*params) in every entry of every array."""
    grads = []
    for k, p in enumerate(params):
        g = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            shifted = [q.copy() for q in params]
            shifted[k][index] += eps
            plus = J(*shifted)
            shifted[k][index] -= 2 * eps
            g[index] = (plus - J(*shifted)) / (2 * eps)
        grads.append(g)
    return grads


# ----------------------------------------------------------------------------- geometry
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("cls", PATCH_KINDS)
def test_shapes_and_fans(cls, geometry):
    (C, H, W), O, kernel, _, _, (OH, OW) = geometry
    kh, kw = _pair(kernel)
    op = _layer(cls, geometry)
    assert op.in_shape == (C, H, W) and op.in_units == C * H * W
    assert op.out_shape == (O, OH, OW) and op.out_units == O * OH * OW
    if cls is Conv2dRef:
        assert op.kernel_shape == (O, C, kh, kw) and op.bias_shape == (O,)
    else:
        assert op.kernel_shape == (O, OH, OW, C, kh, kw) and op.bias_shape == (O, OH, OW)
    assert (op.fan_in, op.fan_out) == (C * kh * kw, O * kh * kw)
    assert op.inverse_shape == op.kernel_shape


def test_dense_shapes_and_fans():
    op = DenseRef((2, 3, 4), 5)
    assert (op.in_units, op.out_units, op.out_shape) == (24, 5, (5, 1, 1))
    assert (op.kernel_shape, op.bias_shape, op.inverse_shape) == ((24, 5), (5,), (5, 24))
    assert (op.fan_in, op.fan_out) == (24, 5)
    assert DenseRef(7, 3).in_shape == (7, 1, 1)


def test_no_output_and_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="no output"):
        Conv2dRef((1, 4, 4), 2, 5)
    op = Conv2dRef((2, 5, 5), 3, 3)
    rng = np.random.default_rng(0)
    h, K, b, d = _random(op, rng)
    with pytest.raises(ValueError, match="kernel"):
        op.forward(h, K[:, :1], b)
    with pytest.raises(ValueError, match="bias"):
        op.forward(h, K, np.zeros(4))
    with pytest.raises(ValueError, match="input"):
        op.linear(h[:, :-1], K)
    with pytest.raises(ValueError, match="delta"):
        op.transport(K, d[:, :-1])


def test_build_layers_chains_the_shapes():
    ops = build_layers((2, 6, 5), [
        ("conv2d", dict(channels=2, kernel_size=3, padding=1)),
        ("locally_connected2d", dict(channels=3, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))),
        (DenseRef, dict(n_out=4)),
        ("conv2d", dict(channels=2, kernel_size=1)),
    ])
    assert [op.out_shape for op in ops] == [(2, 6, 5), (3, 3, 4), (4, 1, 1), (2, 1, 1)]
    assert [op.in_shape for op in ops[1:]] == [op.out_shape for op in ops[:-1]]
    assert isinstance(ops[1], LocallyConnected2dRef) and isinstance(ops[2], DenseRef)


class _Spec:
    """Duck-typed like fastcredit.layers' specs (which the references do not import)."""

    def __init__(self, kind, **fields):
        self.kind = kind
        self.__dict__.update(fields)


def test_build_layers_reads_spec_like_objects_and_ints():
    specs = [_Spec("locally_connected2d", channels=2, kernel_size=(3, 3), stride=(2, 2), padding=(0, 0)),
             _Spec("conv2d", channels=3, kernel_size=(2, 2), stride=(1, 1), padding=(1, 0)),
             _Spec("dense", units=5), 3]
    ops = build_layers((1, 8, 8), specs)
    expected = build_layers((1, 8, 8), NETS["lc-conv-dense-dense"][1])
    assert [(type(a), a.in_shape, a.out_shape, a.kernel_shape) for a in ops] == \
        [(type(b), b.in_shape, b.out_shape, b.kernel_shape) for b in expected]
    with pytest.raises(TypeError, match="not a layer spec"):
        build_layers(4, ["dense"])


# ----------------------------------------------------------------------------- forward
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("cls", PATCH_KINDS)
def test_forward_equals_direct_loops(cls, geometry):
    rng = np.random.default_rng(1)
    op = _layer(cls, geometry)
    h, K, b, _ = _random(op, rng, n=2)
    expected = _direct_forward(cls, geometry, h, K, b)
    np.testing.assert_allclose(op.forward(h, K, b), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.linear(h, K), expected - op.bias_units(b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_conv_forward_equals_scipy_correlate(geometry):
    signal = pytest.importorskip("scipy.signal")
    (C, H, W), O, _, stride, padding, _ = geometry
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    rng = np.random.default_rng(2)
    op = _layer(Conv2dRef, geometry)
    h, K, b, _ = _random(op, rng)
    hp = np.pad(h.reshape(-1, C, H, W), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    # the valid correlation at every offset, summed over channels, kept at the strided ones
    expected = np.array([[signal.correlate(x, K[o], mode="valid", method="direct")[0, ::sh, ::sw] + b[o] for o in range(O)]
                         for x in hp])
    np.testing.assert_allclose(op.forward(h, K, b), expected.reshape(len(h), -1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("geometry", [g for g in GEOMETRIES if _pair(g[3]) == (1, 1)],
                         ids=[i for g, i in zip(GEOMETRIES, IDS) if _pair(g[3]) == (1, 1)])
def test_conv_transport_equals_scipy_full_convolution(geometry):
    """With stride 1 the transposed convolution is the full convolution of the deltas with
    the kernel, summed over output channels, cropped by the padding."""
    signal = pytest.importorskip("scipy.signal")
    (C, H, W), O, _, _, padding, (OH, OW) = geometry
    ph, pw = _pair(padding)
    rng = np.random.default_rng(3)
    op = _layer(Conv2dRef, geometry)
    _, K, _, d = _random(op, rng)
    d4 = d.reshape(-1, O, OH, OW)
    full = np.array([[sum(signal.convolve(dn[o], K[o, c], mode="full", method="direct") for o in range(O)) for c in range(C)]
                     for dn in d4])
    expected = full[:, :, ph : ph + H, pw : pw + W].reshape(len(d), -1)
    np.testing.assert_allclose(op.transport(K, d), expected, rtol=1e-12, atol=1e-12)


def test_conv_with_the_whole_input_as_window_is_dense():
    """A kernel as large as the unpadded input has one output position: a dense layer whose
    kernel is the conv kernel flattened in C order per output channel."""
    rng = np.random.default_rng(4)
    conv, dense = Conv2dRef((2, 4, 3), 5, (4, 3)), DenseRef((2, 4, 3), 5)
    h, K, b, d = _random(conv, rng)
    Kd = K.reshape(5, -1).T
    np.testing.assert_allclose(conv.forward(h, K, b), dense.forward(h, Kd, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv.transport(K, d), dense.transport(Kd, d), rtol=1e-12, atol=1e-12)
    gK, gb = conv.weight_gradient(h, d)
    gKd, gbd = dense.weight_gradient(h, d)
    np.testing.assert_allclose(gK.reshape(5, -1).T, gKd, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, gbd, rtol=1e-12, atol=1e-12)


def test_dense_operator_is_scikit_learn_layout():
    rng = np.random.default_rng(5)
    op = DenseRef(6, 4)
    h, K, b, d = _random(op, rng)
    V, u = rng.standard_normal((4, 6)), rng.standard_normal((3, 4))
    np.testing.assert_array_equal(op.forward(h, K, b), h @ K + b)
    np.testing.assert_array_equal(op.transport(K, d), d @ K.T)
    gK, gb = op.weight_gradient(h, d)
    np.testing.assert_array_equal(gK, h.T @ d / 3)
    np.testing.assert_array_equal(gb, d.mean(axis=0))
    np.testing.assert_array_equal(op.inverse(V, u), u @ V)
    np.testing.assert_array_equal(op.inverse_gradient(u, h), u.T @ h / 3)
    np.testing.assert_array_equal(op.matrix(K), K)


# ----------------------------------------------------------------------------- adjoints
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("cls", PATCH_KINDS + [DenseRef])
def test_transport_and_inverse_are_adjoints_of_linear(cls, geometry):
    """<M(K) h, d> = <h, M(K)^T d> for every row; the inverse M(V)^T u likewise."""
    rng = np.random.default_rng(6)
    op = DenseRef(geometry[0], 5) if cls is DenseRef else _layer(cls, geometry)
    h, K, _, d = _random(op, rng)
    left = np.sum(op.linear(h, K) * d, axis=1)
    right = np.sum(h * op.transport(K, d), axis=1)
    np.testing.assert_allclose(left, right, rtol=1e-12, atol=1e-12)
    V = rng.standard_normal(op.inverse_shape)
    u, x = rng.standard_normal((3, op.out_units)), rng.standard_normal((3, op.in_units))
    back = op.inverse(V, u)
    assert back.shape == (3, op.in_units)
    # the dense inverse u @ V is M(V^T)^T u; conv / LC's M(V)^T u
    forward_of_x = x @ V.T if cls is DenseRef else op.linear(x, V)
    np.testing.assert_allclose(np.sum(back * x, axis=1), np.sum(u * forward_of_x, axis=1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("cls", PATCH_KINDS)
def test_matrix_represents_the_linear_map(cls, geometry):
    rng = np.random.default_rng(7)
    op = _layer(cls, geometry)
    h, K, _, d = _random(op, rng)
    M = op.matrix(K)
    assert M.shape == (op.in_units, op.out_units)
    np.testing.assert_allclose(op.linear(h, K), h @ M, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.transport(K, d), d @ M.T, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("cls", PATCH_KINDS + [DenseRef])
def test_weight_gradient_equals_finite_differences(cls, geometry):
    """gK, gb = d/dK, d/db of the batch mean of d . (M(K) h + b), entry by entry."""
    rng = np.random.default_rng(8)
    op = DenseRef(geometry[0], 4) if cls is DenseRef else _layer(cls, geometry)
    h, K, b, d = _random(op, rng)
    gK, gb = op.weight_gradient(h, d)
    assert gK.shape == op.kernel_shape and gb.shape == op.bias_shape
    expected = _finite_difference_gradient(lambda K, b: np.sum(d * op.forward(h, K, b)) / len(h), [K, b])
    assert relative_error([gK, gb], expected) < 1e-9


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("cls", PATCH_KINDS + [DenseRef])
def test_inverse_gradient_equals_finite_differences(cls, geometry):
    """gV = d/dV of the batch mean of d . inverse(V, u), entry by entry."""
    rng = np.random.default_rng(9)
    op = DenseRef(geometry[0], 4) if cls is DenseRef else _layer(cls, geometry)
    V = rng.standard_normal(op.inverse_shape)
    u, d = rng.standard_normal((3, op.out_units)), rng.standard_normal((3, op.in_units))
    gV = op.inverse_gradient(u, d)
    assert gV.shape == op.inverse_shape
    (expected,) = _finite_difference_gradient(lambda V: np.sum(d * op.inverse(V, u)) / len(u), [V])
    assert relative_error([gV], [expected]) < 1e-9


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_locally_connected_with_one_shared_kernel_is_the_conv(geometry):
    """Every position's kernel (and bias) equal to the conv's: the same forward, transport
    and inverse; the LC gradients summed over positions are the conv's."""
    rng = np.random.default_rng(10)
    conv, lc = _layer(Conv2dRef, geometry), _layer(LocallyConnected2dRef, geometry)
    h, K, b, d = _random(conv, rng)
    _, OH, OW = conv.out_shape
    K_lc = np.broadcast_to(K[:, None, None], lc.kernel_shape).copy()
    b_lc = np.broadcast_to(b[:, None, None], lc.bias_shape).copy()
    np.testing.assert_allclose(lc.forward(h, K_lc, b_lc), conv.forward(h, K, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lc.transport(K_lc, d), conv.transport(K, d), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lc.inverse(K_lc, d), conv.inverse(K, d), rtol=1e-12, atol=1e-12)
    gK, gb = conv.weight_gradient(h, d)
    gK_lc, gb_lc = lc.weight_gradient(h, d)
    np.testing.assert_allclose(gK_lc.sum(axis=(1, 2)), gK, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb_lc.sum(axis=(1, 2)), gb, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lc.inverse_gradient(d, h).sum(axis=(1, 2)), conv.inverse_gradient(d, h),
                               rtol=1e-12, atol=1e-12)


# ============================================================================= the rules on conv / LC nets
NETS = {
    # conv -> LC (non-square kernel and stride, one padding side) -> dense
    "conv-lc-dense": ((2, 6, 5), [
        ("conv2d", dict(channels=2, kernel_size=3, padding=1)),
        ("locally_connected2d", dict(channels=3, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))),
        ("dense", dict(n_out=3)),
    ]),
    # strided LC -> conv -> dense -> dense
    "lc-conv-dense-dense": ((1, 8, 8), [
        ("locally_connected2d", dict(channels=2, kernel_size=3, stride=2)),
        ("conv2d", dict(channels=3, kernel_size=(2, 2), padding=(1, 0))),
        ("dense", dict(n_out=5)),
        ("dense", dict(n_out=3)),
    ]),
}


def _net(name, rng, n=6, out="softmax", scale=0.5):
    """Operators, random parameters and a batch (X, Y) for one of NETS."""
    in_shape, specs = NETS[name]
    ops = build_layers(in_shape, specs)
    coefs, intercepts = random_parameters(ops, rng, scale)
    X = rng.standard_normal((n, ops[0].in_units))
    k = ops[-1].out_units
    Y = np.eye(k)[np.arange(n) % k] if out == "softmax" else rng.standard_normal((n, k))
    return ops, coefs, intercepts, X, Y


def _directional(J, params, direction, eps=1e-6):
    shifted = lambda s: [p + s * eps * v for p, v in zip(params, direction)]  # noqa: E731
    return (J(shifted(1)) - J(shifted(-1))) / (2 * eps)


def test_layers_none_is_the_dense_equations():
    """layers=None and explicit dense operators give the same numbers, and those are the
    dense equations (backprop against the loss's finite differences)."""
    rng = np.random.default_rng(11)
    sizes = [5, 7, 6, 3]
    coefs = [0.5 * rng.standard_normal((a, b)) for a, b in zip(sizes, sizes[1:])]
    intercepts = [0.5 * rng.standard_normal(b) for b in sizes[1:]]
    X, Y = rng.standard_normal((8, 5)), np.eye(3)[np.arange(8) % 3]
    ops = build_layers(5, [("dense", dict(n_out=s)) for s in sizes[1:]])
    assert [op.kernel_shape for op in ops] == [op.kernel_shape for op in dense_layers(coefs)]
    B = [rng.standard_normal(W.shape) for W in coefs[1:]]
    D = [rng.standard_normal((s, 3)) for s in sizes[1:-1]]
    for fn, args in [(backprop, ()), (feedback_alignment, (B,)), (direct_feedback_alignment, (D,))]:
        plain = fn(X, Y, coefs, intercepts, *args, "tanh", "softmax")
        through = fn(X, Y, coefs, intercepts, *args, "tanh", "softmax", layers=ops)
        assert relative_error(plain[0] + plain[1], through[0] + through[1]) == 0
    for k in (1, 2):
        np.testing.assert_allclose(direct_target(coefs, k, ops), np.linalg.multi_dot([np.eye(sizes[k])] + coefs[k:]),
                                   rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(feedback_angles(coefs, D, True, ops), feedback_angles(coefs, D, True), rtol=1e-9)


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("out, activation", [("softmax", "tanh"), ("identity", "logistic"), ("softmax", "softplus")])
def test_backprop_is_the_gradient_of_the_loss(net, out, activation):
    """Through conv / LC operators backprop's direction is the loss's gradient: central
    differences along random directions, each parameter array on its own."""
    rng = np.random.default_rng(12)
    ops, coefs, intercepts, X, Y = _net(net, rng, out=out)
    gW, gb = backprop(X, Y, coefs, intercepts, activation, out, layers=ops)
    params, grads, L = coefs + intercepts, gW + gb, len(coefs)
    assert [g.shape for g in grads] == [p.shape for p in params]
    J = lambda ps: loss(X, Y, ps[:L], ps[L:], activation, out, layers=ops)  # noqa: E731
    for k in range(len(params)):
        for _ in range(2):
            direction = [np.zeros_like(p) for p in params]
            direction[k] = rng.standard_normal(params[k].shape)
            expected = _directional(J, params, direction)
            assert np.sum(grads[k] * direction[k]) == pytest.approx(expected, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("net", list(NETS))
def test_feedback_alignment_with_the_weights_is_backprop(net):
    """FA's M(B)^T d with B = W is backprop; sign symmetry's auto magnitudes use the fans;
    Kolen-Pollack's kernel-shaped B moves like W."""
    rng = np.random.default_rng(13)
    ops, coefs, intercepts, X, Y = _net(net, rng)
    exact = backprop(X, Y, coefs, intercepts, "tanh", "softmax", layers=ops)
    fa = feedback_alignment(X, Y, coefs, intercepts, coefs[1:], "tanh", "softmax", layers=ops)
    assert relative_error(fa[0] + fa[1], exact[0] + exact[1]) < 1e-14
    np.testing.assert_allclose(feedback_angles(coefs, coefs[1:], layers=ops)[1:], 0, atol=1e-5)  # arccos near 1

    fans = [(op.fan_in, op.fan_out) for op in ops[1:]]
    for op, (fan_in, fan_out) in zip(ops[1:], fans):
        if not isinstance(op, DenseRef):
            C, kh, kw = op.in_shape[0], *op.kernel_size
            assert (fan_in, fan_out) == (C * kh * kw, op.channels * kh * kw)
    for init, scale in [("uniform", lambda s: 0.5 * np.sqrt(6 / s)), ("normal", lambda s: np.sqrt(2 / s) * np.sqrt(2 / np.pi))]:
        magnitudes = auto_magnitudes(coefs, ops, init)
        assert magnitudes == [pytest.approx(scale(a + b)) for a, b in fans]
        assert magnitudes == [glorot_mean_magnitude(a, b, init) for a, b in fans]
        ss = sign_symmetric_feedback(coefs, layers=ops, init=init)
        for B, W, m in zip(ss, coefs[1:], magnitudes):
            np.testing.assert_array_equal(B, np.sign(W) * m)

    grads = exact[0]
    new_coefs, new_B = kolen_pollack_step(coefs, coefs[1:], grads, 0.1, 0.01, layers=ops)
    assert all(np.array_equal(W, B) for W, B in zip(new_coefs[1:], new_B))


@pytest.mark.parametrize("net", list(NETS))
def test_dfa_with_the_transported_identity_is_linear_backprop(net):
    """With identity units backprop's delta at layer k is the output error sent down by the
    linear map of the layers above: DFA with B_k = that map's matrix is backprop, and its
    feedback angles are 0."""
    rng = np.random.default_rng(14)
    ops, coefs, intercepts, X, Y = _net(net, rng)
    targets = [direct_target(coefs, k, ops) for k in range(1, len(coefs))]
    assert [T.shape for T in targets] == [(op.out_units, ops[-1].out_units) for op in ops[:-1]]
    # the matrix of the chain of kernels above k, column by column
    for k, T in enumerate(targets, start=1):
        chain = np.linalg.multi_dot([np.eye(ops[k].in_units)] + [op.matrix(W) for op, W in zip(ops[k:], coefs[k:])])
        np.testing.assert_allclose(T, chain, rtol=1e-12, atol=1e-12)
    exact = backprop(X, Y, coefs, intercepts, "identity", "softmax", layers=ops)
    dfa = direct_feedback_alignment(X, Y, coefs, intercepts, targets, "identity", "softmax", layers=ops)
    assert relative_error(dfa[0] + dfa[1], exact[0] + exact[1]) < 1e-12
    np.testing.assert_allclose(feedback_angles(coefs, targets, direct=True, layers=ops)[1:], 0, atol=1e-5)


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("out", ["softmax", "identity"])
def test_weight_perturbation_is_the_directional_derivative(net, out):
    """Antithetic WP with a tiny sigma is (g . xi) xi, the noise laid out coefs[0],
    intercepts[0], coefs[1], ... each flattened in C order."""
    rng = np.random.default_rng(15)
    ops, coefs, intercepts, X, Y = _net(net, rng, out=out)
    g = backprop(X, Y, coefs, intercepts, "tanh", out, layers=ops)
    params = [p for pair in zip(coefs, intercepts) for p in pair]
    grads = [q for pair in zip(*g) for q in pair]
    xi = [rng.standard_normal(p.shape) for p in params]
    stream = np.concatenate([x.ravel() for x in xi] + [rng.standard_normal(5)])
    gW, gb = weight_perturbation(X, Y, coefs, intercepts, "tanh", out, 1e-5, 1, True, stream, layers=ops)
    projection = sum(np.sum(q * x) for q, x in zip(grads, xi))
    assert relative_error(gW + gb, [projection * x for x in xi[0::2] + xi[1::2]]) < 1e-6


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("out", ["softmax", "identity"])
def test_node_perturbation_is_the_directional_derivative(net, out):
    """Antithetic NP with a tiny sigma: each sample's d_l is (sum_k delta_k . xi_k) xi_l
    with backprop's per-sample deltas, the noise xi_1 (n x n_1), ..., xi_L on the units."""
    rng = np.random.default_rng(16)
    ops, coefs, intercepts, X, Y = _net(net, rng, out=out)
    _, hs, deltas = backprop_deltas(X, Y, coefs, intercepts, "tanh", out, layers=ops)
    xi = [rng.standard_normal((len(X), op.out_units)) for op in ops]
    stream = np.concatenate([x.ravel() for x in xi])
    gW, gb = node_perturbation(X, Y, coefs, intercepts, "tanh", out, 1e-5, 1, True, stream, layers=ops)
    projection = sum(np.sum(d * x, axis=1) for d, x in zip(deltas, xi))
    expected = [op.weight_gradient(h, projection[:, None] * x) for op, h, x in zip(ops, hs[:-1], xi)]
    assert relative_error(gW + gb, [e[0] for e in expected] + [e[1] for e in expected]) < 1e-6


# ----------------------------------------------------------------------------- dynamic inversion
def _normalised(op, K):
    return K / np.linalg.norm(op.matrix(K), 2)


# (in_shape, channels, kernel, stride, padding): expanding 16 -> 48, contracting 40 -> 18, 24 -> 3
DI_GEOMETRIES = [((1, 4, 4), 3, 3, 1, 1), ((2, 5, 4), 2, (3, 2), (2, 1), (1, 0)), ((2, 4, 3), 3, (4, 3), 1, 0)]


@pytest.mark.parametrize("geometry", DI_GEOMETRIES, ids=["expanding", "contracting", "one-position"])
@pytest.mark.parametrize("cls", PATCH_KINDS)
def test_dynamic_inversion_of_a_kernel_converges_to_the_direct_solve(cls, geometry):
    """u' = -leak u + M(W) r - e, r' = -r + M(B)^T u with B = -W (B = -W^T): stable, and its
    fixed point is the direct solve and the damped pseudo-inverse M^T (M M^T + leak)^{-1} e."""
    rng = np.random.default_rng(17)
    op = cls(*geometry)
    W = _normalised(op, rng.standard_normal(op.kernel_shape))
    B, leak = -W, 0.5
    E = rng.standard_normal((3, op.out_units))
    assert block_abscissa([W], B, leak, [op]) < 0
    dynamic = di_dynamics(E, [W], B, 0.5, 200, leak, layers=[op])[0]
    direct = ndi_steady_state(E, W, B, leak, op)
    M = op.matrix(W).T  # (out, in): the map as a matrix on column vectors
    np.testing.assert_allclose(direct, E @ np.linalg.inv(M @ M.T + leak * np.eye(len(M))).T @ M, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(damped_pseudo_inverse(E, W, leak, op), direct, rtol=1e-10, atol=1e-12)
    assert relative_error([dynamic], [direct]) < 1e-8
    # with B's feedback perturbed the fixed point is still the direct solve of the loop
    B = B + 0.1 * _normalised(op, rng.standard_normal(op.kernel_shape))
    assert block_abscissa([W], B, leak, [op]) < 0
    dynamic = di_dynamics(E, [W], B, 0.5, 200, leak, layers=[op])[0]
    assert relative_error([dynamic], [ndi_steady_state(E, W, B, leak, op)]) < 1e-6


def test_block_abscissa_is_the_dense_one_for_the_operators_matrices():
    rng = np.random.default_rng(18)
    ops, coefs, _, _, _ = _net("conv-lc-dense", rng)
    op, W = ops[1], coefs[1]
    B = rng.standard_normal(op.kernel_shape)
    assert block_abscissa([W], B, 0.2, [op]) == pytest.approx(block_abscissa([op.matrix(W)], op.matrix(B), 0.2))
    chain = [op.matrix(K) for op, K in zip(ops, coefs)]
    D = rng.standard_normal((ops[1].in_units, ops[-1].out_units))
    assert block_abscissa(coefs[1:], D, 0.2, ops[1:]) == pytest.approx(block_abscissa(chain[1:], D, 0.2))


def test_single_loop_through_a_conv_chain_converges_to_the_chains_direct_solve():
    """One dense B (n_0, n_top) from the top error to the lowest layer, the conv / LC layers
    following their forward dynamics: the fixed point r_0 = B (C^T B - leak I)^{-1} e with C
    the chain's matrix."""
    rng = np.random.default_rng(19)
    ops = build_layers((1, 6, 6), [("conv2d", dict(channels=2, kernel_size=3, padding=1)),
                                   ("locally_connected2d", dict(channels=2, kernel_size=3, stride=2))])
    kernels = [_normalised(op, rng.standard_normal(op.kernel_shape)) for op in ops]
    chain = ops[0].matrix(kernels[0]) @ ops[1].matrix(kernels[1])
    B, leak = -0.5 * chain, 0.5
    assert block_abscissa(kernels, B, leak, ops) < 0
    E = rng.standard_normal((3, ops[-1].out_units))
    r = di_dynamics(E, kernels, B, 0.5, 300, leak, layers=ops)
    expected = ndi_steady_state(E, chain, B, leak)
    assert relative_error([r[0]], [expected]) < 1e-8
    assert relative_error([r[1]], [ops[0].linear(expected, kernels[0])]) < 1e-8


@pytest.mark.parametrize("net", list(NETS))
def test_dynamic_inversion_directions_on_conv_nets(net):
    """The sequential dynamics run long enough give the direct solve's direction; every
    inversion gives finite directions shaped like the parameters."""
    rng = np.random.default_rng(20)
    ops, coefs, intercepts, X, Y = _net(net, rng)
    coefs = [_normalised(op, W) for op, W in zip(ops, coefs)]
    feedback = [-W for W in coefs[1:]]
    common = (X, Y, coefs, intercepts, feedback, "tanh", "softmax")
    direct = reference_direction(*common, "direct", 0.5, 1, 0.5, layers=ops)
    dynamic = reference_direction(*common, "dynamic", 0.5, 200, 0.5, layers=ops)
    assert relative_error(dynamic[0] + dynamic[1], direct[0] + direct[1]) < 1e-6
    nonlinear = reference_direction(*common, "nonlinear", 0.3, 50, 0.3, layers=ops)
    chain = np.linalg.multi_dot([np.eye(ops[1].in_units)] + [op.matrix(W) for op, W in zip(ops[1:], coefs[1:])])
    single = reference_direction(X, Y, coefs, intercepts, [-0.5 * chain], "tanh", "softmax", "single_loop", 0.3, 50,
                                 0.3, layers=ops)
    for direction in (nonlinear, single):
        assert [g.shape for g in direction[0] + direction[1]] == [p.shape for p in coefs + intercepts]
        assert all(np.all(np.isfinite(g)) for g in direction[0] + direction[1])


# ----------------------------------------------------------------------------- target propagation
class _Replay:
    """The same standard normal draws every time it is restarted."""

    def __init__(self, seed):
        self.seed = seed
        self.restart()

    def restart(self):
        self.rng = np.random.default_rng(self.seed)
        return self

    def standard_normal(self, shape):
        return self.rng.standard_normal(shape)


def _tp_state(ops, coefs, rng, variant, n_z=0):
    """Random inverse kernels: V_l shaped like layer l's kernel (conv / LC) or (n_l [+ n_z],
    n_{l-1}) (dense); intercepts (1, n_{l-1})."""
    L = len(coefs)
    top = L - 1 if variant == "dtp" else L
    inv_coefs, inv_intercepts = [], []
    for l in range(2, top + 1):
        op = ops[l - 1]
        shape = op.inverse_shape if l < top or not n_z else (op.out_units + n_z, op.in_units)
        inv_coefs.append(0.5 * rng.standard_normal(shape))
        inv_intercepts.append(0.5 * rng.standard_normal((1, op.in_units)))
    return inv_coefs, inv_intercepts


@pytest.mark.parametrize("net", list(NETS))
def test_dtp_penultimate_target_is_beta_times_the_gradient(net):
    """DTP's hat h_{L-1} = h_{L-1} - beta dLoss/dh_{L-1}: layer L-1 learns beta times
    backprop's gradient and the top layer backprop's, through conv / LC operators."""
    rng = np.random.default_rng(21)
    ops, coefs, intercepts, X, Y = _net(net, rng)
    inv_coefs, inv_intercepts = _tp_state(ops, coefs, rng, "dtp")
    gW, gb = forward_direction(X, Y, coefs, intercepts, inv_coefs, inv_intercepts, None, "tanh", "softmax", "dtp",
                               0.3, layers=ops)
    bW, bb = backprop(X, Y, coefs, intercepts, "tanh", "softmax", layers=ops)
    assert relative_error([gW[-1], gb[-1]], [bW[-1], bb[-1]]) < 1e-12
    assert relative_error([gW[-2], gb[-2]], [0.3 * bW[-2], 0.3 * bb[-2]]) < 1e-12
    assert [g.shape for g in gW + gb] == [p.shape for p in coefs + intercepts]


@pytest.mark.parametrize("kind", ["conv2d", "locally_connected2d"])
def test_difference_correction_through_a_linear_inverse(kind):
    """With identity units the inverse g(u) = M(V)^T u + c is linear, so the difference
    correction moves h_1 by M(V_2)^T (hat h_2 - h_2), and layer 1 learns from
    h_1 - hat h_1 = -M(V_2)^T (hat h_2 - h_2), hat h_2 - h_2 = -beta dLoss/dh_2."""
    rng = np.random.default_rng(22)
    ops = build_layers((1, 6, 5), [("conv2d", dict(channels=2, kernel_size=3, stride=(1, 2))),
                                   (kind, dict(channels=3, kernel_size=(2, 1), padding=(1, 0))),
                                   ("dense", dict(n_out=3))])
    coefs, intercepts = random_parameters(ops, rng)
    X, Y = rng.standard_normal((4, ops[0].in_units)), np.eye(3)[np.arange(4) % 3]
    inv_coefs, inv_intercepts = _tp_state(ops, coefs, rng, "dtp")
    assert inv_coefs[0].shape == ops[1].kernel_shape and inv_intercepts[0].shape == (1, ops[1].in_units)
    gW, gb = forward_direction(X, Y, coefs, intercepts, inv_coefs, inv_intercepts, None, "identity", "softmax", "dtp",
                               0.1, layers=ops)
    hs = forward(X, coefs, intercepts, "identity", "softmax", ops)[1]
    step2 = -0.1 * ops[2].transport(coefs[2], hs[3] - Y)  # hat h_2 - h_2
    step1 = ops[1].transport(inv_coefs[0], step2)  # hat h_1 - h_1
    expected = ops[0].weight_gradient(hs[0], -step1)
    assert relative_error([gW[0], gb[0]], list(expected)) < 1e-12


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("variant", ["dtp", "sdtp"])
def test_inverse_gradients_are_the_inverse_loss_gradients(net, variant):
    """inverse_gradients through conv / LC inverses M(V)^T u: central differences of the
    batch-mean 0.5 |g_l(f_l(h_{l-1} + eps)) - target|^2 with the same noise eps."""
    rng = np.random.default_rng(23)
    ops, coefs, intercepts, X, Y = _net(net, rng)
    inv_coefs, inv_intercepts = _tp_state(ops, coefs, rng, variant)
    hs = forward(X, coefs, intercepts, "tanh", "softmax", ops)[1]
    noise = _Replay(3)
    gV, gc = inverse_gradients(hs, coefs, intercepts, inv_coefs, inv_intercepts, None, "tanh", "softmax", variant,
                               0.3, noise.restart(), layers=ops)
    f, L, m = ACTIVATIONS["tanh"][0], len(coefs), len(inv_coefs)

    def inverse_loss(params):
        rng_ = noise.restart()
        total = 0.0
        for i, l in enumerate(range(2, 2 + m)):
            x = hs[l - 1] + 0.3 * rng_.standard_normal(hs[l - 1].shape)
            a = ops[l - 1].forward(x, coefs[l - 1], intercepts[l - 1])
            y = output(a, "softmax") if l == L else f(a)
            r = inverse("tanh", params[i], params[m + i], y, layer=ops[l - 1])
            target = x if variant == "dtp" else hs[l - 1]
            total += 0.5 * np.sum((r - target) ** 2) / len(x)
        return total

    params, grads = inv_coefs + inv_intercepts, gV + gc
    assert [g.shape for g in grads] == [p.shape for p in params]
    for k in range(len(params)):
        direction = [np.zeros_like(p) for p in params]
        direction[k] = rng.standard_normal(params[k].shape)
        expected = _directional(inverse_loss, params, direction)
        assert np.sum(grads[k] * direction[k]) == pytest.approx(expected, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("variant, schedule", [("dtp", "parallel"), ("sdtp", "alternating"), ("aosdtp", "parallel")])
def test_target_propagation_step_keeps_the_shapes(variant, schedule):
    rng = np.random.default_rng(24)
    ops, coefs, intercepts, X, Y = _net("lc-conv-dense-dense", rng)
    n_z = 4 if variant == "aosdtp" else 0
    inv_coefs, inv_intercepts = _tp_state(ops, coefs, rng, variant.replace("ao", ""), n_z)
    projection = rng.standard_normal((ops[-1].in_units, n_z)) if n_z else None
    params = dict(coefs=coefs, intercepts=intercepts, inverse_coefs=inv_coefs, inverse_intercepts=inv_intercepts,
                  projection=projection)
    new = sgd_step(X, Y, params, "tanh", "softmax", variant, schedule, None if variant != "dtp" else 0.2, 0.3, 0.1,
                   0.05, np.random.default_rng(0), layers=ops)
    for key in ("coefs", "intercepts", "inverse_coefs", "inverse_intercepts"):
        assert [a.shape for a in new[key]] == [a.shape for a in params[key]], key
        assert all(np.all(np.isfinite(a)) for a in new[key])
        assert relative_error(new[key], params[key]) > 1e-6, key
