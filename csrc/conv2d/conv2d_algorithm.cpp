#include "conv2d/conv2d_algorithm.h"

#include <atomic>
#include <stdexcept>
#include <string>

#include "conv2d/conv2d_direct.h"
#include "conv2d/conv2d_taps.h"
#include "conv2d/conv2d_transforms.h"
#include "conv2d/conv2d_winograd.h"

namespace cnnfast {

namespace {

std::atomic<int> g_algorithm{static_cast<int>(ConvAlgorithm::automatic)};

bool any_padding_over(const Conv2dParams& p, index_t n) {
  return p.pad_t > n || p.pad_b > n || p.pad_l > n || p.pad_r > n;
}

bool winograd_pays_forward(const Conv2dShape& s) {
  // Measured on the zoo's layers (cnnfast bench ops, and _C.set_conv_algorithm
  // forcing each way): with 8 or more channels in and out it beat im2col + GEMM
  // by 1.3-2.2x, 7x7 and 3x3 maps included; first layers (1 or 3 channels) ran
  // 2-3x slower. Padding 2 (a valid convolution's backward pass) adds a ring of
  // border tiles; with 32 channels on a side it lost there by up to 20%, with 64
  // and more it still won (x(128,64,30,30) w64 backward-input: 56.8 -> 40.9 ms).
  return s.C >= 8 && s.K >= 8 && (!any_padding_over(s.p, 1) || (s.C >= 64 && s.K >= 64));
}

// Outputs computed per output wanted when m x m tiles cover P x Q.
double tile_overhang(const Conv2dShape& s, index_t m) {
  return static_cast<double>(ceil_div(s.P, m) * m * ceil_div(s.Q, m) * m) / static_cast<double>(s.P * s.Q);
}

// The m x m output tiles of the whole batch.
index_t winograd_tiles(const Conv2dShape& s, index_t m) { return s.N * ceil_div(s.P, m) * ceil_div(s.Q, m); }

// F(2x2, 3x3) transforms and packs its 16 x K x C filters on every call: with few
// tiles to share that cost (a small batch: inference on one image) direct or im2col
// + GEMM wins. Measured forward (bench sweep: batch 1-16, forced each way, 2
// threads), Winograd against the best other: x(N,32,13,13) w64 1.82x slower at 36
// tiles, 1.20x at 144, even at 288; x(N,64,7,7) w128 'same' 2.47x at 16, 1.16x at 128,
// even at 256; x(N,128,7,7) w256 3.1x at 16, 1.23x at 128, even at 256;
// x(N,64,30,30) w64 1.13x at 196, faster at 392; x(N,128,14,14) w128 and
// x(N,64,14,14) w128 faster from 196. At the zoo's training batches (128) every
// layer has thousands.
constexpr index_t kWinogradMinTiles = 192;

bool winograd4_pays(const Conv2dShape& s) {
  // F(4x4, 3x3) multiplies 2.25 times per output against F(2x2, 3x3)'s 4, but its
  // 4x4 tiles overhang small maps more, its filters (36 x K x C) cost more to
  // transform and pack, and its float32 error is ~20x larger (still ~1e-5 of the
  // output range). Measured against F(2x2, 3x3) (cnnfast bench ops shapes, forced
  // each way): 20-35% faster wherever the two tilings cover the output alike and
  // there are >= 256 tiles to amortise the filters: x(128,64,30,30) w64 forward
  // 36.1 -> 25.1 ms, backward-input 40.5 -> 30.3 ms; x(128,128,14,14) w128 27.3 ->
  // 21.4 ms; x(16,192,19,19) w192 15.0 -> 12.1 ms; a valid 3x3's backward-input
  // (padding 2) from 32 channels, where F(2x2, 3x3) did not pay (x(128,32,13,13) w64:
  // im2col 5.3 -> 4.6 ms). Slower where its tiles overhang much more (6x6 outputs:
  // 2.8 -> 3.6 ms), with few tiles (x(8,256,13,13) w384: 128 tiles, 11.7 -> 16.4 ms),
  // and on first layers (1-3 input channels: 2-4x slower than im2col).
  return s.C >= 16 && s.K >= 16 && winograd_tiles(s, 4) >= 256 &&
         tile_overhang(s, 4) <= 1.35 * tile_overhang(s, 2);
}

bool winograd_pays_backward_weight(const Conv2dShape& s) {
  // Its 16 GEMMs produce K x C and reduce over tiles, and every tile counts in full.
  // Against the direct weight gradient (below) it wins from 128 channels in and out
  // on outputs the 2x2 tiles cover within 20%: x(128,128,14,14) w128 43.8 -> 37.0 ms,
  // x(16,192,19,19) w192 23.6 -> 18.6 ms, x(8,256,13,13) w384 18.5 -> 14.5 ms; with
  // 64 channels it ties or loses (x(128,64,30,30) w64 43.6 vs 45.7 ms; x(128,64,6,6)
  // w128 4.5 vs 5.5 ms), and on 7x7 outputs (31% overhang) it loses by 1.2-1.5x.
  return s.C >= 128 && s.K >= 128 && tile_overhang(s, 2) <= 1.2;
}

bool direct_pays_backward_weight(const Conv2dShape& s) {
  // No column matrix, and only real pixels summed: faster than im2col + GEMM by
  // 1.1-3.6x on the zoo's stride-1 layers (x(128,6,14,14) w16x6x5x5 1.53 -> 0.43 ms,
  // x(128,32,13,13) w64 6.3 -> 3.5 ms, x(128,64,30,30) w64 66.6 -> 43.6 ms,
  // x(16,48,19,19) w192x48x5x5 19.5 -> 15.6 ms), except where a chunk's planes
  // outgrow L2 (many channels on tiny maps, which also pay for the padding ring:
  // x(128,256,3,3) w512 25.8 -> 33.1 ms at 6400 floats per plane x 29 images), and
  // 1x1 and whole-input kernels, which im2col handles without unrolling.
  if (s.R * s.S == 1 || (s.P == 1 && s.Q == 1)) return false;
  return direct_weight_chunk_floats(s) <= 100000;
}

bool direct_pays(const Conv2dShape& s, index_t im2col_columns) {
  // The direct kernel multiplies across the plane's full width (Wp instead of Q
  // columns) and, for a backward-input problem, the padding ring around dy; im2col
  // + GEMM computes P x Q columns but writes and re-reads a column matrix R*S times
  // the input, and its 6-row GEMM tiles suit few output channels badly. Measured on
  // the zoo (cnnfast bench ops; _C.set_conv_algorithm forcing each way):
  // - few output channels per group (6-20), direct wins by 1.2-2.6x at up to twice
  //   im2col's multiplies: lenet5 C1 0.73 -> 0.28 ms, C3 1.26 -> 0.60 ms and its
  //   backward-input, x(32,12,58,78) w16x12x5x5 15.3 -> 8.3 ms (backward 13.5 -> 8.7);
  // - from 32 output channels only when it multiplies at most ~10% more
  //   (x(8,96,27,27) w256x48x5x5 g2 forward 24.8 -> 23.7 ms, its backward-input, with
  //   15% more, 22.7 -> 24.1 ms);
  // - under 6 output channels a 6-row tile is mostly empty (a first layer's
  //   backward-input: 0.86 -> 2.6 ms), and with fewer (c,r,s) rows than output
  //   channels the pass that copies results out dominates (x(128,1,28,28) w32x1x3x3:
  //   0.70 -> 0.83 ms).
  const index_t Kg = s.Kg(), CRS = s.Cg() * s.R * s.S;
  if (Kg < 6 || CRS < Kg || s.R * s.S == 1) return false;  // 1x1: im2col needs no unrolling
  const double ratio = static_cast<double>(direct_columns(s)) / static_cast<double>(im2col_columns);
  return ratio <= (Kg < 32 ? 2.0 : 1.1);
}

bool taps_pay(const Conv2dShape& s, ConvPass pass) {
  // One GEMM per tap and output row never multiplies padding, which on tiny maps is
  // a large share of everyone else's work (3x3 'same' on a 3x3 map: 49 of 81
  // products are real; Winograd's 2x2 tiles also cover it as 4x4). Its GEMMs need
  // many channels to run at speed, and its layout transposes and per-tap
  // accumulation cost more than the padding saves on larger maps (14x14 and up:
  // 1.7-2.6x slower than Winograd or direct). Measured (cnnfast bench ops shapes):
  // x(128,256,3,3) w512 'same': forward 16.8 -> 11.6 ms (Winograd), backward-input
  // 18.2 -> 13.2 ms, weight gradient 23.1 -> 11.3 ms (im2col); x(128,128,3,3) w256:
  // 4.5 -> 3.1, 4.9 -> 3.4, 5.7 -> 3.2 ms; x(128,64,5,5) w64 valid backward-input
  // 1.61 -> 0.86 ms; x(128,256,7,7) w256 weight gradient 62.8 -> 48.9 ms (im2col:
  // direct's chunks would outgrow L2); x(128,64,6,6) w128 forward 2.8 vs 4.1 ms.
  // Its per-tap weight layouts are made on every call: the forward pass needs 128
  // outputs over the batch to repay them (x(N,128,3,3) w256 'same': 1.9x slower than
  // im2col at N=1, faster from N=8; x(N,256,3,3) w512: 2.9x slower at N=1, even at
  // N=16, 1.45x faster at the batch of 128 above).
  const bool wide = s.Cg() >= 128 && s.Kg() >= 128;
  switch (pass) {
    case ConvPass::forward:
      return wide && s.P * s.Q <= 9 && s.N * s.P * s.Q >= 128;
    case ConvPass::backward_input:
      return s.Cg() >= 64 && s.Kg() >= 64 && s.H * s.W <= 25;
    case ConvPass::backward_weight:
      return wide && (s.P * s.Q <= 9 || !(direct_possible(s) && direct_pays_backward_weight(s)));
  }
  return false;
}

// expand4, expand, or im2col when rewriting the layer for Winograd does not pay.
ConvAlgorithm expand_pays(const Conv2dShape& s) {
  // The expanded problem (conv2d_winograd_expand.cpp) has C' = Cg * stride^2 *
  // (3x3 blocks) channels; Winograd multiplies 2.25 (F(4x4)) or 4 (F(2x2)) times per
  // output and C' channel, im2col R*S times per Cg channel. Measured (cnnfast bench
  // ops shapes, forced each way; PyTorch in brackets): AlexNet conv1 11x11 stride 4
  // 18.4 -> 7.6 ms (10.7), conv2 5x5 g2 28.7 -> 20.2 ms (20.2), conv4/conv5 3x3 g2 with
  // F(2x2) 15.1 -> 11.8 and 11.4 -> 8.5 ms (11.7, 8.2), alphago's 5x5 on 48 channels
  // 21.8 -> 14.3 ms (15.1). It loses where the expanded problem has few output
  // channels (a 5x5 layer's backward-input on 48 channels: 18.6 -> 21.5 ms) or few
  // input channels (first layers: 2-4x slower), and to direct on small-K layers
  // (tried first).
  if (s.R * s.S == 1) return ConvAlgorithm::im2col;
  const Conv2dShape t = winograd_expanded_problem(s);
  if (t.C < 32 || t.K < 64) return ConvAlgorithm::im2col;
  const double im2col_mults = static_cast<double>(s.Cg() * s.R * s.S);
  if (winograd4_pays(t) && 2.25 * static_cast<double>(t.C) < 0.5 * im2col_mults)
    return ConvAlgorithm::expand4;
  if (winograd_pays_forward(t) && 4.0 * static_cast<double>(t.C) < 0.5 * im2col_mults)
    return ConvAlgorithm::expand;
  return ConvAlgorithm::im2col;
}

// The algorithm for a forward problem: the forward pass itself, or a stride-1
// backward-input pass recast as one, for which im2col + GEMM would compute
// `im2col_columns` columns per channel and image (the forward pass's P * Q).
ConvAlgorithm forward_algorithm(const Conv2dShape& s, index_t im2col_columns) {
  const ConvAlgorithm forced = conv_algorithm();
  if ((forced == ConvAlgorithm::winograd || forced == ConvAlgorithm::winograd4) && winograd_possible(s))
    return forced;
  if ((forced == ConvAlgorithm::expand || forced == ConvAlgorithm::expand4) && winograd_expand_possible(s))
    return forced;
  if (forced == ConvAlgorithm::direct && direct_possible(s)) return ConvAlgorithm::direct;
  if (forced != ConvAlgorithm::automatic) return ConvAlgorithm::im2col;
  if (winograd_possible(s) && winograd4_pays(s)) return ConvAlgorithm::winograd4;
  if (winograd_possible(s) && winograd_pays_forward(s)) {
    if (winograd_tiles(s, 2) >= kWinogradMinTiles) return ConvAlgorithm::winograd;
    // Too few tiles (a small batch): direct, which beat im2col + GEMM there by
    // 1.1-1.7x up to 128 channels in and out (x(N,32,13,13) w64 at N = 1-4,
    // x(N,64,7,7) w128 'same' at N = 1-8, x(N,128,14,14) w128 at N = 1-2); with more,
    // im2col's GEMM did better at one image (x(1,128,7,7) w256 0.45 vs 0.53 ms,
    // x(1,256,3,3) w512 0.70 vs 0.99 ms).
    if (direct_possible(s) && s.Cg() <= 128 && s.Kg() <= 128) return ConvAlgorithm::direct;
    return ConvAlgorithm::im2col;
  }
  if (direct_possible(s) && direct_pays(s, im2col_columns)) return ConvAlgorithm::direct;
  if (winograd_expand_possible(s)) return expand_pays(s);
  return ConvAlgorithm::im2col;
}

}  // namespace

const char* conv_algorithm_name(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::im2col:
      return "im2col";
    case ConvAlgorithm::winograd:
      return "winograd";
    case ConvAlgorithm::winograd4:
      return "winograd4";
    case ConvAlgorithm::expand:
      return "expand";
    case ConvAlgorithm::expand4:
      return "expand4";
    case ConvAlgorithm::direct:
      return "direct";
    case ConvAlgorithm::taps:
      return "taps";
    default:
      return "auto";
  }
}

ConvAlgorithm parse_conv_algorithm(const std::string& name) {
  for (ConvAlgorithm a :
       {ConvAlgorithm::automatic, ConvAlgorithm::im2col, ConvAlgorithm::winograd, ConvAlgorithm::winograd4,
        ConvAlgorithm::expand, ConvAlgorithm::expand4, ConvAlgorithm::direct, ConvAlgorithm::taps})
    if (name == conv_algorithm_name(a)) return a;
  throw std::invalid_argument(
      "expected auto, im2col, winograd, winograd4, expand, expand4, direct or taps, got '" + name + "'");
}

ConvAlgorithm conv_algorithm() { return static_cast<ConvAlgorithm>(g_algorithm.load()); }
void set_conv_algorithm(ConvAlgorithm a) { g_algorithm.store(static_cast<int>(a)); }

namespace {
std::atomic<bool> g_nonfinite_scans{true};
}
bool nonfinite_scans() { return g_nonfinite_scans.load(std::memory_order_relaxed); }
void set_nonfinite_scans(bool on) { g_nonfinite_scans.store(on, std::memory_order_relaxed); }

ConvAlgorithm conv2d_algorithm(const Conv2dShape& s, ConvPass pass) {
  const ConvAlgorithm forced = conv_algorithm();
  if (forced == ConvAlgorithm::taps) return taps_possible(s) ? ConvAlgorithm::taps : ConvAlgorithm::im2col;
  if (!taps_possible(s))  // stride > 1: the forward pass can be expanded, the rest is im2col's
    return pass == ConvPass::forward ? forward_algorithm(s, s.P * s.Q) : ConvAlgorithm::im2col;
  const bool automatic = forced == ConvAlgorithm::automatic;
  switch (pass) {
    case ConvPass::forward:
      if (automatic && taps_pay(s, pass)) return ConvAlgorithm::taps;
      return forward_algorithm(s, s.P * s.Q);
    case ConvPass::backward_input:
      if (automatic && taps_pay(s, pass)) return ConvAlgorithm::taps;
      return forward_algorithm(conv2d_backward_problem(s), s.P * s.Q);
    case ConvPass::backward_weight: {
      if (forced == ConvAlgorithm::winograd && winograd_possible(s)) return ConvAlgorithm::winograd;
      if (forced == ConvAlgorithm::direct && direct_possible(s)) return ConvAlgorithm::direct;
      if (!automatic) return ConvAlgorithm::im2col;
      if (winograd_possible(s) && winograd_pays_backward_weight(s) && winograd_pays_forward(s))
        return ConvAlgorithm::winograd;
      if (taps_pay(s, pass)) return ConvAlgorithm::taps;
      if (direct_possible(s) && direct_pays_backward_weight(s)) return ConvAlgorithm::direct;
      return ConvAlgorithm::im2col;
    }
  }
  return ConvAlgorithm::im2col;
}

}  // namespace cnnfast
