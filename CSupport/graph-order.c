/* A locality order for sparse products: reverse Cuthill-McKee, and the graph
 * relabelled in it.
 *
 * Why: a product row gathers the rows of its neighbours. On a graph whose
 * numbering is unrelated to its structure (points in random order, a kNN
 * graph) those rows lie anywhere, so the gathers stream from L3 or memory
 * once the signal outgrows L2. Numbered breadth first, neighbours lie a
 * level or two apart, a window that stays in L2: the batched Chebyshev basis
 * of an 8-NN graph of 10000 random points runs 25-35% faster.
 *
 * The relabelled copy keeps each row's entries in their original order, so a
 * product row sums the same terms in the same order: results are bitwise
 * those of the original numbering. */
#include "graph-internal.h"

#include <string.h>

struct bfs {
    const struct gsq_graph *g;
    int32_t *level;  /* per node: -1 unvisited, else its BFS level */
    int64_t *queue;  /* nodes in visiting order */
    bool *placed;    /* nodes already in the final order */
};

static int64_t degree(const struct gsq_graph *g, int64_t v) {
    return g->row_ptr[v + 1] - g->row_ptr[v];
}

/* Cuthill-McKee's preference: fewer neighbours first, then the lower index. */
static bool before(const struct gsq_graph *g, int64_t u, int64_t v) {
    const int64_t du = degree(g, u), dv = degree(g, v);
    return du < dv || (du == dv && u < v);
}

/* Breadth-first search from s over nodes not yet placed, filling queue
 * [0, count) and their levels; returns count. With `sorted`, each node's
 * new neighbours are queued in Cuthill-McKee's preference, else in storage
 * order (enough to find levels). */
static int64_t search(struct bfs *b, int64_t s, bool sorted) {
    const struct gsq_graph *g = b->g;
    int64_t head = 0, tail = 0;
    b->queue[tail++] = s;
    b->level[s] = 0;
    while (head < tail) {
        const int64_t v = b->queue[head++], first = tail;
        for (int64_t k = g->row_ptr[v]; k < g->row_ptr[v + 1]; k++) {
            const int64_t u = g->col_idx[k];
            if (b->placed[u] || b->level[u] >= 0) continue;
            b->level[u] = b->level[v] + 1;
            b->queue[tail++] = u;
        }
        if (sorted) /* insertion sort: a node has few new neighbours */
            for (int64_t i = first + 1; i < tail; i++) {
                const int64_t u = b->queue[i];
                int64_t j = i;
                for (; j > first && before(g, u, b->queue[j - 1]); j--) b->queue[j] = b->queue[j - 1];
                b->queue[j] = u;
            }
    }
    return tail;
}

static void reset_levels(struct bfs *b, int64_t count) {
    for (int64_t i = 0; i < count; i++) b->level[b->queue[i]] = -1;
}

/* A node of nearly maximal eccentricity in s's component (George and Liu):
 * from s, move to the preferred node of the last level while that deepens
 * the search. */
static int64_t peripheral(struct bfs *b, int64_t s) {
    int64_t count = search(b, s, false), depth = b->level[b->queue[count - 1]];
    for (int round = 0; round < 8; round++) {
        int64_t next = b->queue[count - 1];
        for (int64_t i = count - 1; i >= 0 && b->level[b->queue[i]] == depth; i--)
            if (before(b->g, b->queue[i], next)) next = b->queue[i];
        reset_levels(b, count);
        count = search(b, next, false);
        const int64_t d = b->level[b->queue[count - 1]];
        if (d <= depth) break;
        s = next, depth = d;
    }
    reset_levels(b, count);
    return s;
}

/* order[i] = the old index of new node i: reverse Cuthill-McKee, component
 * by component, each found from its lowest-numbered node. false on OOM. */
static bool rcm_order(const struct gsq_graph *g, int64_t *order) {
    const int64_t n = g->nrows;
    struct bfs b = {.g = g, .level = gsq__alloc((size_t)(n + 1) * sizeof(int32_t)),
                    .queue = gsq__alloc((size_t)(n + 1) * sizeof(int64_t)),
                    .placed = gsq__alloc((size_t)(n + 1) * sizeof(bool))};
    const bool ok = b.level && b.queue && b.placed;
    if (ok) {
        memset(b.placed, 0, (size_t)n * sizeof(bool));
        for (int64_t i = 0; i < n; i++) b.level[i] = -1;
        for (int64_t s = 0, filled = 0; s < n; s++) {
            if (b.placed[s]) continue;
            const int64_t count = search(&b, peripheral(&b, s), true);
            for (int64_t i = 0; i < count; i++) {
                b.placed[b.queue[i]] = true;
                order[n - 1 - filled - i] = b.queue[i];
            }
            reset_levels(&b, count);
            filled += count;
        }
    }
    gsq__free(b.level), gsq__free(b.queue), gsq__free(b.placed);
    return ok;
}

/* g with row and column i renamed to the position of i in an RCM order. */
static struct gsq_graph *build_relabelled(const struct gsq_graph *g, const char *fn) {
    const int64_t n = g->nrows;
    struct gsq_graph *r = gsq__graph_alloc(fn, n, n, g->nnz);
    if (!r) return NULL;
    int64_t *order = gsq__alloc((size_t)(n + 1) * sizeof(int64_t));
    int32_t *new_index = gsq__alloc((size_t)(n + 1) * sizeof(int32_t));
    if (!order || !new_index || !rcm_order(g, order)) {
        gsq_graph_destroy(r);
        gsq__free(order), gsq__free(new_index);
        gsq__fail(GSQ_ERR_OUT_OF_MEMORY, "%s: cannot allocate a node order", fn);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) new_index[order[i]] = (int32_t)i;
    for (int64_t i = 0, k = 0; i < n; i++) {
        const int64_t old = order[i];
        for (int64_t j = g->row_ptr[old]; j < g->row_ptr[old + 1]; j++, k++) {
            r->col_idx[k] = new_index[g->col_idx[j]];
            r->values[k] = g->values[j];
        }
        r->row_ptr[i + 1] = k;
    }
    gsq__free(new_index);
    r->order = order;
    r->symmetric = g->symmetric;
    return r;
}

const struct gsq_graph *gsq__graph_relabelled(const struct gsq_graph *g, const char *fn) {
    struct gsq_graph *cache = (struct gsq_graph *)g;
    return gsq__graph_cached(cache, &cache->relabelled, build_relabelled, fn);
}
