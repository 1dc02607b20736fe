#include "thread_pool.h"

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "futex.h"

namespace cnnfast {

namespace {

using Clock = std::chrono::steady_clock;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() or `us` microseconds pass; returns done().
template <class P>
bool spin_until(P&& done, int us) {
  if (us <= 0) return done();
  const auto deadline = Clock::now() + std::chrono::microseconds(us);
  for (unsigned i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if ((i & 63) == 0 && Clock::now() >= deadline) return done();
  }
}

// A fixed spin from CNNFAST_SPIN_US (microseconds), or kAdaptiveSpin.
int spin_setting() {
  if (const char* env = std::getenv("CNNFAST_SPIN_US")) {
    const int us = std::atoi(env);
    if (us >= 0) return std::min(us, 1000000);
  }
  return kAdaptiveSpin;
}

thread_local bool t_in_job = false;

std::atomic<int>& spin_setting_now() {
  static std::atomic<int> us{spin_setting()};
  return us;
}

// How long a waiting thread spins before it sleeps. Adaptive: long while the cores
// look like ours (back-to-back jobs of a training step then find the workers awake),
// short while they look contended (another process, or more threads than cores,
// wants them: spinning would take its time slice and leave our own late thread less
// the next time it has work). The signal is how often the kernel preempts this
// process's threads (involuntary context switches, getrusage): measured on 2 cores,
// ~20-40 per second on a quiet machine, ~290 beside one busy process. One thread
// re-reads it at most every kContendedWindowMs; the rest read the flag.
class Contention {
 public:
  bool contended() {
#if defined(RUSAGE_SELF)
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
    std::int64_t start = window_start_.load(std::memory_order_relaxed);
    if (now - start >= kContendedWindowMs * 1000 &&
        window_start_.compare_exchange_strong(start, now, std::memory_order_relaxed)) {
      rusage ru;
      if (getrusage(RUSAGE_SELF, &ru) == 0) {
        const long before = preemptions_.exchange(ru.ru_nivcsw, std::memory_order_relaxed);
        const double seconds = static_cast<double>(now - start) * 1e-6;
        contended_.store(
            before >= 0 && static_cast<double>(ru.ru_nivcsw - before) > kContendedPerSecond * seconds,
            std::memory_order_relaxed);
      }
    }
#endif
    return contended_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> window_start_{0};
  std::atomic<long> preemptions_{-1};
  std::atomic<bool> contended_{false};
};

Contention& contention() {
  static Contention* c = new Contention;
  return *c;
}

int spin_us() {
  const int fixed = spin_setting_now().load(std::memory_order_relaxed);
  if (fixed != kAdaptiveSpin) return fixed;
  return contention().contended() ? kShortSpinMicroseconds : kLongSpinMicroseconds;
}

constexpr std::uint64_t kPiecesMask = 0xffffffffu;

// The i-th boundary of [0, n) split into `parts` near-equal runs.
index_t boundary(index_t n, index_t parts, index_t i) { return i * (n / parts) + std::min(i, n % parts); }

// One lane per thread of a job: the run of its pieces the thread claims first (so
// it keeps to the data it touched in the last job, as a fixed share would), which
// the others take from when theirs is empty. The word is (generation << 32) |
// pieces not yet claimed; claims go from the lane's end to its start.
struct alignas(64) Lane {
  std::atomic<std::uint64_t> word{0};
};
constexpr int kMaxLanes = 1024;

// One pool per process, never destroyed (workers may still be asleep in it when the
// interpreter exits; the process ends them).
class Pool {
 public:
  bool run(int threads, index_t pieces, bool team, PieceFn fn, void* ctx) {
    if (threads <= 1 || pieces <= 0 || pieces > static_cast<index_t>(kPiecesMask)) return false;
    if (busy_.exchange(true, std::memory_order_acquire)) return false;  // another caller's job
    if (const OpenMpRuntime* omp = openmp_.load(std::memory_order_acquire)) {
      const bool ran = run_on_openmp(*omp, threads, pieces, team, fn, ctx);
      busy_.store(false, std::memory_order_release);
      return ran;
    }
    int helpers = threads - 1;
    try {
      ensure(helpers);
    } catch (const std::exception&) {
      helpers = std::min(helpers, workers_.load(std::memory_order_acquire));  // run on what there is
    }
    if (helpers == 0 || (team && helpers < threads - 1)) {
      busy_.store(false, std::memory_order_release);
      return false;
    }
    fn_.store(fn, std::memory_order_relaxed);
    ctx_.store(ctx, std::memory_order_relaxed);
    pieces_.store(pieces, std::memory_order_relaxed);
    helpers_.store(helpers, std::memory_order_relaxed);
    team_.store(team, std::memory_order_relaxed);
    finished_.store(0, std::memory_order_relaxed);
    const std::uint32_t gen = epoch_.load(std::memory_order_relaxed) + 1;
    const int lanes = std::min(helpers + 1, kMaxLanes);
    lanes_count_.store(lanes, std::memory_order_relaxed);
    for (int l = 0; l < lanes; ++l) {
      const index_t size = boundary(pieces, lanes, l + 1) - boundary(pieces, lanes, l);
      lanes_[l].word.store((std::uint64_t{gen} << 32) | static_cast<std::uint64_t>(size),
                           std::memory_order_release);
    }
    epoch_.store(gen, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) wake_all(epoch_);

    const bool was_in_job = t_in_job;
    t_in_job = true;
    run_pieces(gen, 0, team);
    t_in_job = was_in_job;
    wait_finished(pieces);
    busy_.store(false, std::memory_order_release);
    return true;
  }

  void ensure(int count) {
    if (workers_.load(std::memory_order_acquire) >= count) return;
    std::lock_guard<std::mutex> lock(grow_);
    while (workers_.load(std::memory_order_relaxed) < count) {
      const int index = workers_.load(std::memory_order_relaxed);
      try {
        std::thread(&Pool::work, this, index, epoch_.load(std::memory_order_acquire)).detach();
      } catch (const std::system_error& e) {
        throw std::runtime_error("could start only " + std::to_string(index + 1) + " threads (" + e.what() +
                                 ")");
      }
      workers_.store(index + 1, std::memory_order_release);
    }
  }

  // fork(): the child has none of the workers; it starts new ones when next needed.
  void lock_for_fork() { grow_.lock(); }
  void unlock_after_fork() { grow_.unlock(); }
  void use_openmp(const OpenMpRuntime* runtime) { openmp_.store(runtime, std::memory_order_release); }
  bool uses_openmp() const { return openmp_.load(std::memory_order_acquire) != nullptr; }

  void reset_in_child() {
    openmp_.store(nullptr);  // (the runtime's threads are not in the child)
    workers_.store(0);
    sleepers_.store(0);
    busy_.store(false);
    caller_sleeping_.store(false);
    grow_.unlock();
  }

 private:
  // One job as a parallel region of another OpenMP runtime: each of the region's
  // threads claims pieces from one counter (a team member runs the piece of its
  // thread number). The region ends when every thread has, so the job is done.
  struct OpenMpJob {
    const OpenMpRuntime* omp;
    PieceFn fn;
    void* ctx;
    index_t pieces;
    int threads;
    bool team;
    std::atomic<index_t> next{0};
    std::atomic<bool> short_team{false};
  };

  static void openmp_region(void* data) {
    OpenMpJob& job = *static_cast<OpenMpJob*>(data);
    const bool was_in_job = t_in_job;
    t_in_job = true;
    if (job.team) {
      // (every thread of the region sees the same count, so all or none run)
      if (job.omp->num_threads() == job.threads)
        job.fn(job.ctx, job.omp->thread_num());
      else
        job.short_team.store(true, std::memory_order_relaxed);
    } else {
      for (index_t i; (i = job.next.fetch_add(1, std::memory_order_relaxed)) < job.pieces;)
        job.fn(job.ctx, i);
    }
    t_in_job = was_in_job;
  }

  static bool run_on_openmp(const OpenMpRuntime& omp, int threads, index_t pieces, bool team, PieceFn fn,
                            void* ctx) {
    OpenMpJob job{&omp, fn, ctx, pieces, threads, team};
    omp.parallel(&Pool::openmp_region, &job, static_cast<unsigned>(threads), 0);
    return !job.short_team.load(std::memory_order_relaxed);
  }

  // Worker `index` (0-based) takes part in jobs with more than `index` helpers.
  void work(int index, std::uint32_t seen) {
    t_in_job = true;
    for (;;) {
      if (!spin_until([&] { return epoch_.load(std::memory_order_acquire) != seen; }, spin_us())) {
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        if (epoch_.load(std::memory_order_seq_cst) == seen) wait_while_equal(epoch_, seen);
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      seen = epoch_.load(std::memory_order_acquire);
      // (helpers_ and team_ may already describe a newer job: then the claims below
      // fail on the generation and nothing of this one is touched.)
      if (index < helpers_.load(std::memory_order_acquire))
        run_pieces(seen, index + 1, team_.load(std::memory_order_acquire));
    }
  }

  // Claims a piece of job `gen` from `lane`: false when the lane is empty or the job
  // is no longer current.
  bool claim(std::uint32_t gen, int lane, index_t& piece) {
    std::atomic<std::uint64_t>& word = lanes_[lane].word;
    std::uint64_t c = word.load(std::memory_order_acquire);
    for (;;) {
      if (static_cast<std::uint32_t>(c >> 32) != gen || (c & kPiecesMask) == 0) return false;
      if (word.compare_exchange_weak(c, c - 1, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    // Claimed: job `gen` is unfinished until this piece is counted, so its
    // parameters cannot change under us.
    const index_t pieces = pieces_.load(std::memory_order_acquire);
    const index_t lanes = lanes_count_.load(std::memory_order_acquire);
    const index_t end = boundary(pieces, lanes, lane + 1);
    piece = end - static_cast<index_t>(c & kPiecesMask);
    return true;
  }

  // The pieces of job `gen` this thread runs: its own lane's, then (not in a team
  // job) the others'. A claimed piece keeps the job unfinished, so its function and
  // context (on the caller's stack) stay valid until finished_ counts it.
  void run_pieces(std::uint32_t gen, int own, bool team) {
    const int lanes = lanes_count_.load(std::memory_order_acquire);
    if (own >= lanes) return;
    index_t piece;
    for (int i = 0; i < lanes; ++i) {
      const int lane = (own + i) % lanes;
      while (claim(gen, lane, piece)) {
        const PieceFn fn = fn_.load(std::memory_order_acquire);
        void* ctx = ctx_.load(std::memory_order_acquire);
        const index_t total = pieces_.load(std::memory_order_acquire);
        fn(ctx, piece);
        if (finished_.fetch_add(1, std::memory_order_seq_cst) + 1 == total) {
          done_.fetch_add(1, std::memory_order_release);
          if (caller_sleeping_.load(std::memory_order_seq_cst)) wake_all(done_);
        }
        if (team) return;
      }
      if (team) return;  // (a team member's lane holds its one piece)
    }
  }

  void wait_finished(index_t total) {
    const auto finished = [&] { return finished_.load(std::memory_order_acquire) == total; };
    if (spin_until(finished, spin_us())) return;
    for (;;) {
      const std::uint32_t d = done_.load(std::memory_order_acquire);
      caller_sleeping_.store(true, std::memory_order_seq_cst);
      if (finished_.load(std::memory_order_seq_cst) == total) break;
      wait_while_equal(done_, d);
    }
    caller_sleeping_.store(false, std::memory_order_relaxed);
  }

  // Written by the caller of a job, read by workers; each hot word on its own line.
  Lane lanes_[kMaxLanes];
  std::atomic<int> lanes_count_{0};
  alignas(64) std::atomic<std::uint32_t> epoch_{0};  // the newest job's generation; idle workers sleep on it
  std::atomic<int> sleepers_{0};
  alignas(64) std::atomic<index_t> finished_{0};  // pieces of the current job that have run
  std::atomic<std::uint32_t> done_{0};  // bumped as a job's last piece ends; the caller sleeps on it
  std::atomic<bool> caller_sleeping_{false};
  alignas(64) std::atomic<PieceFn> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<index_t> pieces_{0};
  std::atomic<int> helpers_{0};
  std::atomic<bool> team_{false};
  std::atomic<bool> busy_{false};
  std::atomic<int> workers_{0};
  std::atomic<const OpenMpRuntime*> openmp_{nullptr};
  std::mutex grow_;
};

Pool& pool() {
  static Pool* p = [] {
    pthread_atfork([] { pool().lock_for_fork(); }, [] { pool().unlock_after_fork(); },
                   [] { pool().reset_in_child(); });
    return new Pool;
  }();
  return *p;
}

// Built while the library loads, never on first use (csrc/README.md, "Built at
// load"): this initialiser registers fork handlers, and pthread_atfork waits for a
// fork in progress, so a thread building the pool lazily while another forked left
// the child waiting forever on the guard of `static Pool* p`.
[[maybe_unused]] const bool kPoolBuiltAtLoad = (pool(), contention(), spin_setting_now(), true);

}  // namespace

bool pool_run(int threads, index_t pieces, bool team, PieceFn piece, void* ctx) {
  return pool().run(threads, pieces, team, piece, ctx);
}

void pool_ensure_workers(int count) { pool().ensure(count); }

bool pool_in_job() { return t_in_job; }

void pool_use_openmp(const OpenMpRuntime* runtime) { pool().use_openmp(runtime); }

bool pool_uses_openmp() { return pool().uses_openmp(); }

int spin_microseconds() { return spin_setting_now().load(std::memory_order_relaxed); }

void set_spin_microseconds(int us) {
  if (us != kAdaptiveSpin && (us < 0 || us > 1000000))
    throw std::invalid_argument("spin microseconds must be -1 (adaptive) or in [0, 1000000], got " +
                                std::to_string(us));
  spin_setting_now().store(us, std::memory_order_relaxed);
}

}  // namespace cnnfast
