/* Runtime services shared by the kernels: errors, argument checks, the
 * threading shim, ISA dispatch, per-thread scratch and verbose timing.
 * Nothing here is exported from the shared library. */
#ifndef GSQ_INTERNAL_H
#define GSQ_INTERNAL_H

#include "graphseq.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GSQ_HIDDEN __attribute__((visibility("hidden")))
#define GSQ_ISA_COUNT 3

/* ---- errors ------------------------------------------------------------- */

/* Records a printf-style message as the thread's last error; returns status. */
GSQ_HIDDEN gsq_status_t gsq__fail(gsq_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Argument checks for entry points. Each returns GSQ_SUCCESS or records an
 * error naming `fn` and the argument. */
GSQ_HIDDEN gsq_status_t gsq__check_ptr(const char *fn, const char *name,
                                       const void *p);
GSQ_HIDDEN gsq_status_t gsq__check_size(const char *fn, const char *name,
                                        int64_t v);
/* A row-major rows x cols matrix with leading dimension ld: ld >= cols (and
 * ld >= 1), rows * ld fits in memory, p non-NULL unless rows*cols == 0. */
GSQ_HIDDEN gsq_status_t gsq__check_matrix(const char *fn, const char *name,
                                          const void *p, int64_t rows,
                                          int64_t cols, int64_t ld);
/* true when a * b overflows int64 or exceeds what size_t can address. */
GSQ_HIDDEN bool gsq__mul_overflows(int64_t a, int64_t b);

/* Records an error naming `fn` if the two row-major matrices share memory. */
GSQ_HIDDEN gsq_status_t gsq__check_disjoint(const char *fn, const char *name_a,
                                            const float *a, int64_t rows_a,
                                            int64_t cols_a, int64_t ld_a,
                                            const char *name_b, const float *b,
                                            int64_t rows_b, int64_t cols_b,
                                            int64_t ld_b);

#define GSQ_TRY(expr)                                                          \
    do {                                                                       \
        gsq_status_t gsq__s = (expr);                                          \
        if (gsq__s != GSQ_SUCCESS) return gsq__s;                              \
    } while (0)

/* ---- threads ------------------------------------------------------------ */

/* Runs fn(ctx, tid, nth) on a team of up to `nthreads` OpenMP threads; nth is
 * the team size actually granted (may be smaller). One call = one parallel
 * region; use gsq__barrier() inside to separate dependent phases. */
typedef void (*gsq__task_fn)(void *ctx, int tid, int nth);
GSQ_HIDDEN void gsq__parallel(gsq__task_fn fn, void *ctx, int nthreads);
/* Barrier for all threads of the current gsq__parallel team. */
GSQ_HIDDEN void gsq__barrier(void);
/* The thread count kernels should request (gsq_set_num_threads). */
GSQ_HIDDEN int gsq__num_threads(void);
/* The threads worth waking for `work` units (about one multiply-add, or one
 * float moved, each): at most gsq__num_threads(), at least 1, one per
 * gsq_get_min_work_per_thread() units. Results never depend on it. */
GSQ_HIDDEN int gsq__threads_for(double work);
/* Splits [0, n) into nth contiguous static parts; part tid is [*lo, *hi). */
GSQ_HIDDEN void gsq__split(int64_t n, int tid, int nth, int64_t *lo,
                           int64_t *hi);

/* ---- ISA ---------------------------------------------------------------- */

/* The ISA to dispatch to now (cap applied). Kernel families keep a table of
 * implementations indexed by gsq_isa_t and pick impl[gsq__isa()]. */
GSQ_HIDDEN gsq_isa_t gsq__isa(void);

/* ---- scratch ------------------------------------------------------------ */

/* A 64-byte aligned buffer of at least `bytes`, owned by the calling thread,
 * reused across calls (grow-only, freed at thread exit). Callers get it on the
 * thread that starts the parallel region and hand slices to workers, so
 * kernels do not allocate per call. NULL (with an error recorded) on failure.
 * The previous contents are not preserved. */
GSQ_HIDDEN void *gsq__scratch(size_t bytes);

/* 64-byte aligned malloc/free for long-lived library allocations. */
GSQ_HIDDEN void *gsq__alloc(size_t bytes);
GSQ_HIDDEN void gsq__free(void *p);

/* ---- verbose ------------------------------------------------------------ */

GSQ_HIDDEN double gsq__now_ms(void);
/* When verbose, prints "graphseq: <kernel> isa=<isa> threads=<n> <ms> ms
 * <shape>" to stderr; `t0` is gsq__now_ms() taken before the work. */
GSQ_HIDDEN void gsq__log_kernel(const char *kernel, gsq_isa_t isa, int threads,
                                double t0, const char *shape_fmt, ...)
    __attribute__((format(printf, 5, 6)));
GSQ_HIDDEN int gsq__verbose(void);

/* Work on rows [r0, r1) of a product's C once they are final, run by the
 * thread that computed them while they are in its cache (the cell phases
 * fused with their gate products). It must touch only those rows. */
typedef struct gsq__rows_then {
    void (*run)(const void *ctx, int64_t r0, int64_t r1);
    const void *ctx;
} gsq__rows_then;
/* C := [A parts] * B for a packed B that must be n wide, then `then` on
 * every block of finished rows; checked as gsq_sgemm_packed_parts, logged
 * as fn. */
GSQ_HIDDEN gsq_status_t gsq__sgemm_packed_parts_then(const char *fn, int64_t m, int64_t nparts,
                                                     const gsq_matrix_part_t *a,
                                                     gsq_packed_b_t b, int64_t n, float *c,
                                                     int64_t ldc, const gsq__rows_then *then);

#endif
