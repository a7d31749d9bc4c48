// The shapes of one weight layer — dense, convolutional or locally connected (RULES.md,
// "Layers") — computed once from its input shape when the network is built. Everything
// else (state specs, feedback shapes, initialisation scales, memory estimates, the
// Python side's `coefs_` shapes) asks the layer.
//
// Units are channels-first (C, H, W), flattened in C order. A dense layer's output is
// (n, 1, 1). Kernel layouts: dense (n_in, n_out) (scikit-learn's coefs_); conv
// (O, C, kh, kw) (PyTorch's); locally connected (O, OH, OW, C, kh, kw). The engine sees
// every kernel as the row-major 2-D matrix (first dimension) x (the rest).
#pragma once

#include <numeric>
#include <string>
#include <vector>

#include "fastcredit/types.hpp"

namespace fastcredit {

enum class LayerKind { dense, conv2d, locally_connected2d };

struct Shape3 {
  Index channels = 0, height = 1, width = 1;
  Index size() const { return channels * height * width; }
  std::string str() const {
    return "(" + std::to_string(channels) + ", " + std::to_string(height) + ", " + std::to_string(width) + ")";
  }
};

/// A layer as the caller asks for it: dense `size` units, or `size` output channels of a
/// kh x kw kernel with stride and zero padding.
struct LayerSpec {
  LayerKind kind = LayerKind::dense;
  Index size = 0;
  Index kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

struct LayerGeometry {
  LayerKind kind = LayerKind::dense;
  Shape3 in, out;
  Index kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;

  Index in_units() const { return in.size(); }
  Index out_units() const { return out.size(); }
  bool is_dense() const { return kind == LayerKind::dense; }
  /// Input values one output unit reads (conv/LC), C kh kw.
  Index patch() const { return in.channels * kernel_h * kernel_w; }
  Index positions() const { return out.height * out.width; }

  std::vector<Index> kernel_shape() const {
    switch (kind) {
      case LayerKind::dense: return {in_units(), out_units()};
      case LayerKind::conv2d: return {out.channels, in.channels, kernel_h, kernel_w};
      case LayerKind::locally_connected2d:
        return {out.channels, out.height, out.width, in.channels, kernel_h, kernel_w};
    }
    return {};
  }
  std::vector<Index> bias_shape() const {
    switch (kind) {
      case LayerKind::dense: return {out_units()};
      case LayerKind::conv2d: return {out.channels};
      case LayerKind::locally_connected2d: return {out.channels, out.height, out.width};
    }
    return {};
  }
  /// The shape of target propagation's inverse kernel (the transposed kind of layer,
  /// RULES.md "Layers"): dense (n_out, n_in), conv/LC shaped like the kernel.
  std::vector<Index> inverse_kernel_shape() const {
    return is_dense() ? std::vector<Index>{out_units(), in_units()} : kernel_shape();
  }
  Index kernel_size() const { return product(kernel_shape()); }
  Index bias_size() const { return product(bias_shape()); }

  /// Fans for Glorot/He scales: dense n_in, n_out; conv/LC C kh kw and O kh kw.
  double fan_in() const { return static_cast<double>(is_dense() ? in_units() : patch()); }
  double fan_out() const {
    return static_cast<double>(is_dense() ? out_units() : out.channels * kernel_h * kernel_w);
  }
  /// Multiply-adds of one sample's forward pass.
  double macs() const {
    return is_dense() ? double(in_units()) * double(out_units()) : double(out_units()) * double(patch());
  }

  static Index product(const std::vector<Index>& shape) {
    return std::accumulate(shape.begin(), shape.end(), Index(1), std::multiplies<Index>());
  }
};

inline const char* kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::dense: return "Dense";
    case LayerKind::conv2d: return "Conv2d";
    case LayerKind::locally_connected2d: return "LocallyConnected2d";
  }
  return "?";
}

inline LayerKind parse_layer_kind(const std::string& name) {
  if (name == "dense") return LayerKind::dense;
  if (name == "conv2d") return LayerKind::conv2d;
  if (name == "locally_connected2d") return LayerKind::locally_connected2d;
  throw InvalidArgument("unknown layer kind '" + name + "'");
}

/// The geometry of `spec` on input `in`; `where` names the layer in errors.
inline LayerGeometry resolve_layer(const LayerSpec& spec, const Shape3& in, const std::string& where) {
  LayerGeometry g;
  g.kind = spec.kind;
  g.in = in;
  const std::string name = where + " (" + kind_name(spec.kind) + ")";
  if (spec.size < 1) throw InvalidArgument(name + " needs at least one unit or channel, got " + std::to_string(spec.size));
  if (in.size() < 1) throw InvalidArgument(name + " has an empty input " + in.str());
  if (spec.kind == LayerKind::dense) {
    g.out = {spec.size, 1, 1};
    return g;
  }
  g.kernel_h = spec.kernel_h, g.kernel_w = spec.kernel_w, g.stride_h = spec.stride_h, g.stride_w = spec.stride_w;
  g.pad_h = spec.pad_h, g.pad_w = spec.pad_w;
  if (g.kernel_h < 1 || g.kernel_w < 1 || g.stride_h < 1 || g.stride_w < 1 || g.pad_h < 0 || g.pad_w < 0)
    throw InvalidArgument(name + " needs kernel_size >= 1, stride >= 1 and padding >= 0");
  const Index padded_h = in.height + 2 * g.pad_h, padded_w = in.width + 2 * g.pad_w;
  if (g.kernel_h > padded_h || g.kernel_w > padded_w)
    throw InvalidArgument(name + ": kernel " + std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) +
                          " is larger than its padded input " + std::to_string(padded_h) + "x" +
                          std::to_string(padded_w) + " (input shape " + in.str() + ")");
  g.out = {spec.size, (padded_h - g.kernel_h) / g.stride_h + 1, (padded_w - g.kernel_w) / g.stride_w + 1};
  return g;
}

/// Geometries of the layers `specs` applied in turn to `input`.
inline std::vector<LayerGeometry> resolve_layers(const Shape3& input, const std::vector<LayerSpec>& specs) {
  std::vector<LayerGeometry> layers;
  Shape3 in = input;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::string where = i + 1 == specs.size() ? "the output layer" : "layer " + std::to_string(i);
    layers.push_back(resolve_layer(specs[i], in, where));
    in = layers.back().out;
  }
  return layers;
}

/// Unit counts n_0 (inputs) .. n_L of a stack of layers.
inline std::vector<Index> layer_units(const std::vector<LayerGeometry>& layers) {
  std::vector<Index> units;
  if (layers.empty()) return units;
  units.push_back(layers.front().in_units());
  for (const auto& g : layers) units.push_back(g.out_units());
  return units;
}

}  // namespace fastcredit
