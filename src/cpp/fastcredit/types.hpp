// Matrix types shared by the engine. Batches are row-major `batch x features`, so that
// NumPy's C-ordered arrays map onto them without a copy.
#pragma once

#include <Eigen/Core>
#include <stdexcept>
#include <string>

namespace fastcredit {

using Index = Eigen::Index;

template <typename Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
template <typename Scalar>
using MatrixMap = Eigen::Map<Matrix<Scalar>>;
template <typename Scalar>
using ConstMatrixMap = Eigen::Map<const Matrix<Scalar>>;
template <typename Scalar>
using VectorMap = Eigen::Map<Vector<Scalar>>;

/// Invalid configuration or data detected by the engine (maps to Python's ValueError).
struct InvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

}  // namespace fastcredit
