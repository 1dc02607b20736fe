// cnnfast's own thread pool: the workers behind parallel.h.
//
// Why not OpenMP: three things it could not do (issue 13).
// - Shared cores. An OpenMP region ends at a barrier every thread of the team must
//   reach, so a thread that another process has descheduled holds the whole team
//   for its time slice (milliseconds), and GNU OpenMP's waiting threads spin ~3 ms
//   at every barrier, stealing the cores from everyone else. Here a job is a set of
//   pieces that any thread claims; it is done when its pieces are, so a worker that
//   is late (descheduled, or still waking up) simply claims fewer or none, and the
//   caller, which always takes part, is never stuck behind it. Waiting workers spin,
//   briefly when their core is contended (spin_microseconds()), then sleep on a futex.
// - fork(). GNU OpenMP's threads do not survive it and a child's first region waited
//   for them forever. This pool forgets its workers in the child and starts new ones
//   when they are next needed: children keep their threads.
// - Thread creation failure. GNU OpenMP treats it as fatal; here ensure_workers()
//   reports it, and a job runs on the threads that exist.
//
// Team jobs (run_team in parallel.h) are the exception: their threads meet at
// barriers, so each piece gets a thread of its own and the job waits for all.
#pragma once

#include <cstdint>

#include "common.h"

namespace cnnfast {

// Runs piece(ctx, i) for every i in [0, pieces) on up to `threads` threads, the
// calling thread one of them, and returns when all have run. With `team`, each
// participating thread takes exactly one piece (pieces == threads) and they run
// at the same time. Returns false, having run nothing, when the pool is busy with
// another thread's job (the caller then runs the pieces itself) or, for a team,
// when it cannot field `threads` threads. Pieces must not throw.
using PieceFn = void (*)(void* ctx, index_t piece);
bool pool_run(int threads, index_t pieces, bool team, PieceFn piece, void* ctx);

// Starts workers until there are at least `count`; throws std::runtime_error,
// naming how many could start and why, when the system refuses one.
void pool_ensure_workers(int count);

// Whether the calling thread is running a piece of a pool job (a nested
// parallel_for then runs serially on it).
bool pool_in_job();

// How long an idle worker (and a caller waiting for the last pieces) spins before
// it sleeps. By default adaptive: kLongSpinMicroseconds, or kShortSpinMicroseconds
// while this process's threads are preempted more than kContendedPerSecond times a
// second (measured over kContendedWindowMs; the figures behind the choice are in
// benchmarks/RESULTS.md, "Shared cores"). CNNFAST_SPIN_US fixes it;
// spin_microseconds() is that fixed value or kAdaptiveSpin.
constexpr int kAdaptiveSpin = -1;
constexpr int kLongSpinMicroseconds = 1000;
constexpr int kShortSpinMicroseconds = 30;
constexpr int kContendedWindowMs = 100;
constexpr double kContendedPerSecond = 100;
int spin_microseconds();
void set_spin_microseconds(int us);  // kAdaptiveSpin or 0..1e6 (benchmarks compare settings)

// Another library's OpenMP runtime, to run jobs on its threads (issue 16). In a
// process that also runs PyTorch, whose OpenMP workers spin for milliseconds after
// each of its ops, a kernel called between two of them shared the cores with those
// spinning threads (keras-mnist-2conv's training step under cnnfast.torch ran ~20%
// slower than with PyTorch's threads asleep). Given that runtime's entry points (GNU
// libgomp's ABI, which LLVM's and Intel's runtimes export too), a job runs as one
// parallel region of it: the runtime's workers, awake from its last op, claim the
// pieces as the pool's would, and no second set of threads competes for the cores.
// A team job whose region gets fewer threads than asked runs nothing there and
// reports false (run_team then runs alone). A fork()ed child goes back to the pool.
struct OpenMpRuntime {
  void (*parallel)(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);  // GOMP_parallel
  int (*thread_num)();   // omp_get_thread_num
  int (*num_threads)();  // omp_get_num_threads
};
void pool_use_openmp(const OpenMpRuntime* runtime);  // nullptr: back to the pool
bool pool_uses_openmp();

}  // namespace cnnfast
