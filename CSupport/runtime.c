/* Runtime: version, status and error messages, argument checks, threads (the
 * OpenMP runtime's GNU entry points, reached without -fopenmp), ISA detection
 * and cap, per-thread scratch, verbose timing. */
#include "internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* libomp (Debian libomp-dev) implements these; omp.h is not on the default
 * include path, so they are declared here and nowhere else. */
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthreads,
                          unsigned flags);
extern void GOMP_barrier(void);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);

/* ---- version and status ------------------------------------------------- */

int gsq_version(void) { return GSQ_VERSION; }

const char *gsq_version_string(void) {
#define GSQ_STR2(x) #x
#define GSQ_STR(x) GSQ_STR2(x)
    return GSQ_STR(GSQ_VERSION_MAJOR) "." GSQ_STR(GSQ_VERSION_MINOR) "." GSQ_STR(
        GSQ_VERSION_PATCH);
}

const char *gsq_status_string(gsq_status_t status) {
    switch (status) {
    case GSQ_SUCCESS: return "success";
    case GSQ_ERR_INVALID_ARGUMENT: return "invalid argument";
    case GSQ_ERR_OUT_OF_MEMORY: return "out of memory";
    case GSQ_ERR_INVALID_GRAPH: return "invalid graph";
    case GSQ_ERR_UNSUPPORTED: return "unsupported";
    case GSQ_ERR_NOT_CONVERGED: return "not converged";
    case GSQ_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

static _Thread_local char last_error[512];

const char *gsq_last_error(void) { return last_error; }

gsq_status_t gsq__fail(gsq_status_t status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

/* The Swift half of the C ABI (Sources/GraphSeq/CABI) reports its errors
 * here; it declares this function itself, so no header exports it. */
GSQ_HIDDEN void gsq__set_last_error(const char *message);
void gsq__set_last_error(const char *message) {
    snprintf(last_error, sizeof last_error, "%s", message ? message : "");
}

/* ---- argument checks ---------------------------------------------------- */

bool gsq__mul_overflows(int64_t a, int64_t b) {
    if (a < 0 || b < 0) return true;
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return true;
    return (uint64_t)r > (uint64_t)(SIZE_MAX / 8);
}

gsq_status_t gsq__check_ptr(const char *fn, const char *name, const void *p) {
    if (p) return GSQ_SUCCESS;
    return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
}

gsq_status_t gsq__check_size(const char *fn, const char *name, int64_t v) {
    if (v >= 0 && v <= (INT64_C(1) << 40)) return GSQ_SUCCESS;
    return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                     "%s: %s = %lld is negative or too large", fn, name,
                     (long long)v);
}

gsq_status_t gsq__check_matrix(const char *fn, const char *name, const void *p,
                               int64_t rows, int64_t cols, int64_t ld) {
    GSQ_TRY(gsq__check_size(fn, "rows", rows));
    GSQ_TRY(gsq__check_size(fn, "columns", cols));
    if (ld < 1 || ld < cols)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "%s: leading dimension of %s is %lld, needs >= %lld", fn,
                         name, (long long)ld, (long long)(cols > 1 ? cols : 1));
    if (gsq__mul_overflows(rows, ld))
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "%s: %s is too large (%lld rows, ld %lld)", fn, name,
                         (long long)rows, (long long)ld);
    if (rows > 0 && cols > 0 && !p)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
    return GSQ_SUCCESS;
}

/* ---- threads ------------------------------------------------------------ */

static atomic_int requested_threads; /* 0: not set, use the default */
static int default_threads = 1;

static int env_int(const char *name, int fallback) {
    const char *s = getenv(name);
    if (!s || !*s) return fallback;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 4096) {
        fprintf(stderr, "graphseq: ignoring %s=%s (expected a count)\n", name, s);
        return fallback;
    }
    return (int)v;
}

static void init_runtime(void);
static pthread_once_t runtime_once = PTHREAD_ONCE_INIT;
#define ENSURE_INIT() pthread_once(&runtime_once, init_runtime)

gsq_status_t gsq_set_num_threads(int n) {
    if (n < 0 || n > 4096)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "gsq_set_num_threads: %d is not in 0...4096", n);
    ENSURE_INIT();
    atomic_store(&requested_threads, n);
    return GSQ_SUCCESS;
}

int gsq_get_num_threads(void) {
    ENSURE_INIT();
    int n = atomic_load(&requested_threads);
    return n > 0 ? n : default_threads;
}

int gsq__num_threads(void) { return gsq_get_num_threads(); }

/* Starting and joining a team costs microseconds, far more when a virtual
 * CPU is descheduled: below this much work per thread the caller runs alone. */
static _Atomic int64_t min_work = 1 << 18;

gsq_status_t gsq_set_min_work_per_thread(int64_t work) {
    if (work < 0)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "gsq_set_min_work_per_thread: %lld is negative", (long long)work);
    atomic_store(&min_work, work);
    return GSQ_SUCCESS;
}

int64_t gsq_get_min_work_per_thread(void) { return atomic_load(&min_work); }

int gsq__threads_for(double work) {
    const int nth = gsq__num_threads();
    const int64_t per = atomic_load(&min_work);
    if (per <= 0) return nth;
    const double most = work / (double)per;
    return most < 2 ? 1 : most < nth ? (int)most : nth;
}

void gsq__split(int64_t n, int tid, int nth, int64_t *lo, int64_t *hi) {
    int64_t q = n / nth, r = n % nth;
    *lo = tid * q + (tid < r ? tid : r);
    *hi = *lo + q + (tid < r ? 1 : 0);
}

struct task {
    gsq__task_fn fn;
    void *ctx;
};

static void task_trampoline(void *p) {
    struct task *t = p;
    t->fn(t->ctx, omp_get_thread_num(), omp_get_num_threads());
}

void gsq__parallel(gsq__task_fn fn, void *ctx, int nthreads) {
    if (nthreads <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    struct task t = {fn, ctx};
    GOMP_parallel(task_trampoline, &t, (unsigned)nthreads, 0);
}

void gsq__barrier(void) {
    if (omp_get_num_threads() > 1) GOMP_barrier();
}

/* ---- ISA ---------------------------------------------------------------- */

static gsq_isa_t cpu_isa = GSQ_ISA_GENERIC;
static atomic_int isa_cap = GSQ_ISA_AVX512;

static gsq_isa_t detect_cpu_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("fma"))
        return GSQ_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return GSQ_ISA_AVX2;
#endif
    return GSQ_ISA_GENERIC;
}

static bool parse_isa(const char *s, gsq_isa_t *out) {
    for (int i = 0; i < GSQ_ISA_COUNT; i++)
        if (strcasecmp(s, gsq_isa_name((gsq_isa_t)i)) == 0) {
            *out = (gsq_isa_t)i;
            return true;
        }
    return false;
}

const char *gsq_isa_name(gsq_isa_t isa) {
    switch (isa) {
    case GSQ_ISA_GENERIC: return "generic";
    case GSQ_ISA_AVX2: return "avx2";
    case GSQ_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

gsq_status_t gsq_set_max_isa(gsq_isa_t isa) {
    if ((int)isa < 0 || (int)isa >= GSQ_ISA_COUNT)
        return gsq__fail(GSQ_ERR_INVALID_ARGUMENT,
                         "gsq_set_max_isa: %d is not a gsq_isa_t", (int)isa);
    ENSURE_INIT();
    atomic_store(&isa_cap, (int)isa);
    return GSQ_SUCCESS;
}

gsq_isa_t gsq_get_max_isa(void) {
    ENSURE_INIT();
    return (gsq_isa_t)atomic_load(&isa_cap);
}

gsq_isa_t gsq_get_cpu_isa(void) {
    ENSURE_INIT();
    return cpu_isa;
}

gsq_isa_t gsq_get_isa(void) {
    ENSURE_INIT();
    int cap = atomic_load(&isa_cap);
    return cap < (int)cpu_isa ? (gsq_isa_t)cap : cpu_isa;
}

gsq_isa_t gsq__isa(void) { return gsq_get_isa(); }

/* ---- verbose ------------------------------------------------------------ */

static atomic_int verbose_level;

void gsq_set_verbose(int level) {
    ENSURE_INIT();
    atomic_store(&verbose_level, level);
}

int gsq_get_verbose(void) {
    ENSURE_INIT();
    return atomic_load(&verbose_level);
}

int gsq__verbose(void) { return gsq_get_verbose(); }

double gsq__now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

void gsq__log_kernel(const char *kernel, gsq_isa_t isa, int threads, double t0,
                     const char *shape_fmt, ...) {
    if (!gsq__verbose()) return;
    double ms = gsq__now_ms() - t0;
    char shape[256];
    va_list ap;
    va_start(ap, shape_fmt);
    vsnprintf(shape, sizeof shape, shape_fmt, ap);
    va_end(ap);
    fprintf(stderr, "graphseq: %s isa=%s threads=%d %.3f ms %s\n", kernel,
            gsq_isa_name(isa), threads, ms, shape);
}

/* ---- init --------------------------------------------------------------- */

static void init_runtime(void) {
    cpu_isa = detect_cpu_isa();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    default_threads = env_int("GRAPHSEQ_NUM_THREADS", ncpu > 0 ? (int)ncpu : 1);
    if (default_threads < 1) default_threads = ncpu > 0 ? (int)ncpu : 1;
    atomic_store(&verbose_level, env_int("GRAPHSEQ_VERBOSE", 0));
    const char *cap = getenv("GRAPHSEQ_MAX_ISA");
    if (cap && *cap) {
        gsq_isa_t isa;
        if (parse_isa(cap, &isa))
            atomic_store(&isa_cap, (int)isa);
        else
            fprintf(stderr,
                    "graphseq: ignoring GRAPHSEQ_MAX_ISA=%s (expected generic, "
                    "avx2 or avx512)\n",
                    cap);
    }
}

/* ---- memory ------------------------------------------------------------- */

/* Large blocks are 2 MiB aligned and ask for transparent huge pages: the
 * gathers of SpMM and the Chebyshev recursion miss the TLB far less. */
void *gsq__alloc(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    size_t align = bytes >= huge ? huge : 64;
    size_t rounded = (bytes + align - 1) & ~(align - 1);
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (p && align == huge) madvise(p, rounded, MADV_HUGEPAGE);
    return p;
}

void gsq__free(void *p) { free(p); }

struct scratch {
    void *p;
    size_t cap;
};
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *p) {
    struct scratch *s = p;
    gsq__free(s->p);
    free(s);
}

static void scratch_key_init(void) {
    pthread_key_create(&scratch_key, scratch_destroy);
}

void *gsq__scratch(size_t bytes) {
    pthread_once(&scratch_once, scratch_key_init);
    struct scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            gsq__fail(GSQ_ERR_OUT_OF_MEMORY, "scratch: cannot allocate");
            return NULL;
        }
    }
    if (s->cap < bytes) {
        void *p = gsq__alloc(bytes);
        if (!p) {
            gsq__fail(GSQ_ERR_OUT_OF_MEMORY,
                      "scratch: cannot allocate %zu bytes", bytes);
            return NULL;
        }
        gsq__free(s->p);
        s->p = p;
        s->cap = bytes;
    }
    return s->p;
}
