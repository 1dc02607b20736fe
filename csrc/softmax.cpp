// Row-wise softmax family; threads over rows.
#include "softmax.h"

#include <cmath>
#include <string>

#include "parallel.h"

namespace cnnfast {

namespace {

template <class F>
void for_rows(index_t rows, index_t cols, F&& f) {
  parallel_for(rows, std::max<index_t>(1, (index_t{1} << 14) / std::max<index_t>(cols, 1)),
               [&](index_t lo, index_t hi) {
                 for (index_t r = lo; r < hi; ++r) f(r);
               });
}

// Row maximum ignoring NaN (a NaN then propagates through exp(x - max)).
template <class T>
T row_max(const T* x, index_t cols) {
  T m = -INFINITY;
  for (index_t j = 0; j < cols; ++j)
    if (x[j] > m) m = x[j];
  return m;
}

// log(sum(exp(x - m))) + m, accumulated in double.
template <class T>
double row_logsumexp(const T* x, index_t cols) {
  const T m = row_max(x, cols);
  double sum = 0;
  for (index_t j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(x[j]) - m);
  return std::log(sum) + m;
}

void check_targets(index_t N, index_t C, const std::int64_t* target) {
  for (index_t i = 0; i < N; ++i)
    if (target[i] < 0 || target[i] >= C)
      fail("cross_entropy: target[" + std::to_string(i) + "] = " + std::to_string(target[i]) +
           " is outside [0, " + std::to_string(C) + ")");
}

}  // namespace

template <class T>
void softmax_forward(index_t rows, index_t cols, const T* x, T* y) {
  for_rows(rows, cols, [&](index_t r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    const T m = row_max(xr, cols);
    double sum = 0;
    for (index_t j = 0; j < cols; ++j) {
      yr[j] = std::exp(xr[j] - m);
      sum += yr[j];
    }
    const T inv = static_cast<T>(1.0 / sum);
    for (index_t j = 0; j < cols; ++j) yr[j] *= inv;
  });
}

template <class T>
void softmax_backward(index_t rows, index_t cols, const T* y, const T* dy, T* dx) {
  for_rows(rows, cols, [&](index_t r) {
    const T *yr = y + r * cols, *dyr = dy + r * cols;
    double dot = 0;
    for (index_t j = 0; j < cols; ++j) dot += static_cast<double>(dyr[j]) * yr[j];
    for (index_t j = 0; j < cols; ++j) dx[r * cols + j] = yr[j] * (dyr[j] - static_cast<T>(dot));
  });
}

template <class T>
void log_softmax_forward(index_t rows, index_t cols, const T* x, T* y) {
  for_rows(rows, cols, [&](index_t r) {
    const T* xr = x + r * cols;
    const T lse = static_cast<T>(row_logsumexp(xr, cols));
    for (index_t j = 0; j < cols; ++j) y[r * cols + j] = xr[j] - lse;
  });
}

template <class T>
void log_softmax_backward(index_t rows, index_t cols, const T* y, const T* dy, T* dx) {
  for_rows(rows, cols, [&](index_t r) {
    const T *yr = y + r * cols, *dyr = dy + r * cols;
    double sum = 0;
    for (index_t j = 0; j < cols; ++j) sum += dyr[j];
    for (index_t j = 0; j < cols; ++j) dx[r * cols + j] = dyr[j] - std::exp(yr[j]) * static_cast<T>(sum);
  });
}

template <class T>
void cross_entropy_forward(index_t N, index_t C, const T* logits, const std::int64_t* target, T* loss) {
  check_targets(N, C, target);
  for_rows(N, C, [&](index_t i) {
    const T* xr = logits + i * C;
    loss[i] = static_cast<T>(row_logsumexp(xr, C) - xr[target[i]]);
  });
}

template <class T>
void cross_entropy_backward(index_t N, index_t C, const T* logits, const std::int64_t* target, const T* dloss,
                            T* dx) {
  check_targets(N, C, target);
  softmax_forward(N, C, logits, dx);
  for_rows(N, C, [&](index_t i) {
    T* d = dx + i * C;
    d[target[i]] -= T(1);
    for (index_t j = 0; j < C; ++j) d[j] *= dloss[i];
  });
}

template <class T>
void cross_entropy_soft_forward(index_t N, index_t C, const T* logits, const T* target, T* loss) {
  for_rows(N, C, [&](index_t i) {
    const T *xr = logits + i * C, *tr = target + i * C;
    const double lse = row_logsumexp(xr, C);
    double acc = 0;
    for (index_t j = 0; j < C; ++j)
      if (tr[j] != T(0)) acc -= static_cast<double>(tr[j]) * (xr[j] - lse);
    loss[i] = static_cast<T>(acc);
  });
}

template <class T>
void cross_entropy_soft_backward(index_t N, index_t C, const T* logits, const T* target, const T* dloss,
                                 T* dx) {
  softmax_forward(N, C, logits, dx);
  for_rows(N, C, [&](index_t i) {
    const T* tr = target + i * C;
    T* d = dx + i * C;
    double tsum = 0;
    for (index_t j = 0; j < C; ++j) tsum += tr[j];
    for (index_t j = 0; j < C; ++j) d[j] = (d[j] * static_cast<T>(tsum) - tr[j]) * dloss[i];
  });
}

#define CNNFAST_INSTANTIATE(T)                                                                            \
  template void softmax_forward<T>(index_t, index_t, const T*, T*);                                       \
  template void softmax_backward<T>(index_t, index_t, const T*, const T*, T*);                            \
  template void log_softmax_forward<T>(index_t, index_t, const T*, T*);                                   \
  template void log_softmax_backward<T>(index_t, index_t, const T*, const T*, T*);                        \
  template void cross_entropy_forward<T>(index_t, index_t, const T*, const std::int64_t*, T*);            \
  template void cross_entropy_backward<T>(index_t, index_t, const T*, const std::int64_t*, const T*, T*); \
  template void cross_entropy_soft_forward<T>(index_t, index_t, const T*, const T*, T*);                  \
  template void cross_entropy_soft_backward<T>(index_t, index_t, const T*, const T*, const T*, T*);
CNNFAST_INSTANTIATE(float)
CNNFAST_INSTANTIATE(double)
#undef CNNFAST_INSTANTIATE

}  // namespace cnnfast
