// Trains a small network on a synthetic two-class problem with the engine alone (no
// Python), to show the engine links and learns on its own. Exit code 0 on success.
#include <cstdio>
#include <vector>

#include "fastcredit/rules/backprop.hpp"
#include "fastcredit/trainer.hpp"

using namespace fastcredit;

int main() {
  const Index n = 512, d = 4, hidden = 16, classes = 2;
  Rng rng(7);
  Matrix<double> X(n, d), Y = Matrix<double>::Zero(n, classes);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < d; ++j) X(i, j) = rng.normal();
    Y(i, X(i, 0) * X(i, 1) > 0 ? 1 : 0) = 1.0;  // XOR of two signs: needs the hidden layer
  }
  Matrix<double> W1(d, hidden), W2(hidden, classes);
  Vector<double> b1(hidden), b2(classes);
  TrainBuffers<double> buf;
  buf.net.coefs = {MatrixMap<double>(W1.data(), d, hidden), MatrixMap<double>(W2.data(), hidden, classes)};
  buf.net.layers = dense_layers(buf.net.coefs);
  buf.net.intercepts = {VectorMap<double>(b1.data(), hidden), VectorMap<double>(b2.data(), classes)};
  buf.net.hidden_activation = Activation::tanh;
  initialize(buf.net, Init::glorot_uniform, rng);
  std::vector<Vector<double>> moments;
  for (auto size : {d * hidden, hidden * classes, hidden, classes, d * hidden, hidden * classes, hidden, classes})
    moments.push_back(Vector<double>::Zero(size));
  for (auto& m : moments) buf.optimizer_state.emplace_back(m.data(), m.size());

  Options options;
  options.strings["solver"] = "adam";
  options.numbers["learning_rate_init"] = 0.01;
  options.numbers["batch_size"] = 32;
  options.numbers["max_iter"] = 200;
  Progress progress;
  const ConstMatrixMap<double> x(X.data(), n, d), y(Y.data(), n, classes), none(nullptr, 0, d);
  const TrainResult result = train<Backprop, double>(buf, x, y, none, none, options, progress, Hooks{});
  Workspace<double> ws(buf.net, 128);
  const double acc = accuracy(buf.net, ws, 128, x, y);
  std::printf("epochs %ld, final loss %.4f, training accuracy %.3f\n", progress.epochs, result.losses.back(), acc);
  return acc > 0.9 ? 0 : 1;
}
