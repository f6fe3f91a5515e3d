/* SGEMM microkernels and the per-ISA tile table (see gemm.c for the blocking
 * scheme). Included by gemm.c and by the files that define the kernels. */
#ifndef GSQ_ARCH_GEMM_KERNELS_H
#define GSQ_ARCH_GEMM_KERNELS_H
#include "../internal.h"

/* A microkernel computes one MR x NR tile of C from packed micro-panels:
 *     c[i][j] := alpha * sum_{p < kc} a[p*MR + i] * b[p*NR + j] + beta * c[i][j]
 * (row stride ldc). The sum runs p = 0, 1, ..., kc-1 in one accumulator per
 * element and is applied as t = alpha * sum; c = t + beta * c, the way gemm.c
 * merges partial edge tiles. beta == 0: c is not read. kc >= 1; b is 64-byte
 * aligned when NR >= 16. The half variant computes only the columns
 * j < NR/2 of the same packed panels, for edge tiles that narrow.
 * prefetch[0 .. n_prefetch) are cache lines the caller will read soon (the
 * source of the next A block): a kernel that takes them (tiles.prefetch_a)
 * fetches them into L2 spread over its k loop, at most one per
 * GSQ_SGEMM_PREFETCH_STEP k steps; the others ignore them. */
typedef void (*gsq__sgemm_kernel_fn)(int64_t kc, float alpha, const float *a,
                                     const float *b, float beta, float *c,
                                     int64_t ldc, const char *const *prefetch,
                                     int n_prefetch);

/* An edge kernel computes the columns j < cols (1 <= cols < NR) of a full
 * MR-row tile, as the kernel computes them, and stores them to C in place. */
typedef void (*gsq__sgemm_edge_fn)(int64_t kc, float alpha, const float *a,
                                   const float *b, float beta, float *c,
                                   int64_t ldc, int cols,
                                   const char *const *prefetch, int n_prefetch);

/* A row-edge kernel computes rows i < rows (1 <= rows < MR) and columns
 * j < cols (1 <= cols <= NR) of a tile from full-height packed panels, as
 * the kernel computes them, and stores them to C in place. */
typedef void (*gsq__sgemm_rows_fn)(int64_t kc, float alpha, const float *a,
                                   const float *b, float beta, float *c,
                                   int64_t ldc, int rows, int cols,
                                   const char *const *prefetch, int n_prefetch);

/* kc consecutive k steps of a tile's rows of A: element (i, p) at
 * a[i * lda + p] (in place) or in a packed micro-panel (lda = 1). */
typedef struct gsq__sgemm_segment {
    const float *a;
    int64_t lda, kc;
} gsq__sgemm_segment;

/* A direct kernel computes rows i < rows (1 <= rows <= MR) and columns
 * j < cols (1 <= cols <= NR) of a tile as the kernel computes them, reading
 * A in place, untransposed and unpacked: the k block is `nseg` segments in
 * order (one per part of A it takes columns from), B's packed panel their
 * kc's summed. For products a single B panel wide, where packing A would
 * cost about as much as its FMAs. */
typedef void (*gsq__sgemm_direct_fn)(int nseg, const gsq__sgemm_segment *seg, float alpha,
                                     const float *b, float beta, float *c, int64_t ldc,
                                     int rows, int cols);

/* k steps per prefetched line: sparse enough that the line fill buffers stay
 * free for the kernel's own loads. */
#define GSQ_SGEMM_PREFETCH_STEP 4

/* The transposing packer: `rows` (<= width) rows of kc floats, ld apart,
 * become the columns of a micro-panel width wide, dst[p*width + i], with zero
 * columns past `rows`. It packs untransposed A (width MR) and transposed B
 * (width NR). */
typedef void (*gsq__sgemm_pack_fn)(int64_t kc, const float *src, int64_t ld,
                                   int rows, int width, float *dst);

/* The packer for an operand already in panel order (op(A) given k x m, op(B)
 * given k x n): kc rows of `cols` floats, ld apart, cut into panels `width`
 * columns wide, panel x at dst + x * panel_floats, row p of a panel at
 * p * width; columns past `cols` are zero. Each source row is read once, in
 * order. */
typedef void (*gsq__sgemm_copy_fn)(int64_t kc, const float *src, int64_t ld,
                                   int64_t cols, int width, int64_t panel_floats,
                                   float *dst);

GSQ_HIDDEN void gsq__sgemm_generic_4x8(int64_t kc, float alpha, const float *a,
                                       const float *b, float beta, float *c,
                                       int64_t ldc, const char *const *prefetch,
                                       int n_prefetch);
GSQ_HIDDEN void gsq__sgemm_generic_4x4(int64_t kc, float alpha, const float *a,
                                       const float *b, float beta, float *c,
                                       int64_t ldc, const char *const *prefetch,
                                       int n_prefetch);
GSQ_HIDDEN void gsq__sgemm_avx2_6x16(int64_t kc, float alpha, const float *a,
                                     const float *b, float beta, float *c,
                                     int64_t ldc, const char *const *prefetch,
                                     int n_prefetch);
GSQ_HIDDEN void gsq__sgemm_avx2_6x8(int64_t kc, float alpha, const float *a,
                                    const float *b, float beta, float *c,
                                    int64_t ldc, const char *const *prefetch,
                                    int n_prefetch);
GSQ_HIDDEN void gsq__sgemm_avx512_14x32(int64_t kc, float alpha, const float *a,
                                        const float *b, float beta, float *c,
                                        int64_t ldc, const char *const *prefetch,
                                        int n_prefetch);
GSQ_HIDDEN void gsq__sgemm_avx512_14x16(int64_t kc, float alpha, const float *a,
                                        const float *b, float beta, float *c,
                                        int64_t ldc, const char *const *prefetch,
                                        int n_prefetch);
GSQ_HIDDEN void gsq__sgemm_avx512_14xn(int64_t kc, float alpha, const float *a,
                                       const float *b, float beta, float *c,
                                       int64_t ldc, int cols,
                                       const char *const *prefetch, int n_prefetch);
GSQ_HIDDEN void gsq__sgemm_avx512_rows(int64_t kc, float alpha, const float *a,
                                       const float *b, float beta, float *c,
                                       int64_t ldc, int rows, int cols,
                                       const char *const *prefetch, int n_prefetch);
GSQ_HIDDEN void gsq__sgemm_avx512_direct(int nseg, const gsq__sgemm_segment *seg, float alpha,
                                         const float *b, float beta, float *c, int64_t ldc,
                                         int rows, int cols);
GSQ_HIDDEN void gsq__sgemm_copy_generic(int64_t kc, const float *src, int64_t ld,
                                         int64_t cols, int width, int64_t panel_floats,
                                         float *dst);
GSQ_HIDDEN void gsq__sgemm_pack_generic(int64_t kc, const float *src, int64_t ld,
                                        int rows, int width, float *dst);
GSQ_HIDDEN void gsq__sgemm_copy_avx2(int64_t kc, const float *src, int64_t ld,
                                      int64_t cols, int width, int64_t panel_floats,
                                      float *dst);
GSQ_HIDDEN void gsq__sgemm_pack_avx2(int64_t kc, const float *src, int64_t ld,
                                     int rows, int width, float *dst);
GSQ_HIDDEN void gsq__sgemm_copy_avx512(int64_t kc, const float *src, int64_t ld,
                                        int64_t cols, int width, int64_t panel_floats,
                                        float *dst);
GSQ_HIDDEN void gsq__sgemm_pack_avx512(int64_t kc, const float *src, int64_t ld,
                                       int rows, int width, float *dst);

/* Blocking of one ISA. mr x nr: the kernel's register tile. kc: the depth
 * of a block, so that an mr x kc packed A micro-panel stays in L1 while B
 * micro-panels stream past it. mc: the rows of A a thread packs at once (a
 * multiple of mr; small, so the block stays in L2 next to the B block).
 * nc: the width of the shared kc x nc packed B block, sized to stay in L2 (a
 * multiple of nr). Chosen by measurement on an AVX-512 Xeon (48 KiB L1d,
 * 1.25 MiB L2); the A and B blocks also fit a 1 MiB L2. */
typedef struct gsq__sgemm_tiles {
    const char *kernel_name;
    gsq__sgemm_kernel_fn kernel, half_kernel;
    gsq__sgemm_edge_fn edge_kernel; /* NULL: edges go through a stack buffer */
    gsq__sgemm_rows_fn rows_kernel; /* NULL: short tiles go through a stack buffer */
    gsq__sgemm_direct_fn direct_kernel; /* NULL: A is always packed */
    gsq__sgemm_pack_fn pack;
    gsq__sgemm_copy_fn copy;
    int mr, nr, kc, mc, nc;
    bool prefetch_a; /* the kernel takes prefetch lists */
} gsq__sgemm_tiles;

/* The largest mr * nr in the table (edge tiles without an edge kernel, and
 * those short of mr rows, go through a stack buffer). */
#define GSQ_SGEMM_MAX_TILE (14 * 32)

/* The tile table, indexed by gsq_isa_t: name, kernel, half kernel, edge
 * kernel, row-edge kernel, direct kernel, transposing and copying packers,
 * then mr, nr, kc, mc, nc, prefetch_a. */
__attribute__((unused)) static const gsq__sgemm_tiles
    gsq__sgemm_tile_table[GSQ_ISA_COUNT] = {
        [GSQ_ISA_GENERIC] = {"sgemm_generic_4x8", gsq__sgemm_generic_4x8,
                             gsq__sgemm_generic_4x4, NULL, NULL, NULL, gsq__sgemm_pack_generic,
                             gsq__sgemm_copy_generic,
                             /* mr nr  kc  mc   nc */ 4, 8, 256, 224, 768, false},
        [GSQ_ISA_AVX2] = {"sgemm_avx2_6x16", gsq__sgemm_avx2_6x16,
                          gsq__sgemm_avx2_6x8, NULL, NULL, NULL, gsq__sgemm_pack_avx2,
                          gsq__sgemm_copy_avx2,
                          /* mr nr  kc  mc   nc */ 6, 16, 256, 216, 768, false},
        [GSQ_ISA_AVX512] = {"sgemm_avx512_14x32", gsq__sgemm_avx512_14x32,
                            gsq__sgemm_avx512_14x16, gsq__sgemm_avx512_14xn,
                            gsq__sgemm_avx512_rows, gsq__sgemm_avx512_direct,
                            gsq__sgemm_pack_avx512,
                            gsq__sgemm_copy_avx512,
                            /* mr nr  kc  mc   nc */ 14, 32, 256, 224, 768, true},
};

#endif
