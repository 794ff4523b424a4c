/**
 * @file detail/skeleton_compact_paths.hpp
 * @brief skan's path tracing (`_build_paths`) straight from the fast
 *        builder's compact graph (neighbour bit masks + int32 neighbour
 *        lists), without the CSR form.
 *
 * Same result as trace_paths on compact_to_csr(cg) (tests cross-check):
 * phase 1 walks from every node of degree 1 or >= 3 (id order) along each
 * unvisited edge (increasing offset = increasing neighbour id = CSR order)
 * through degree-2 nodes; phase 2 walks the remaining isolated cycles from
 * their smallest node along its first edge. A walk's direction is an offset
 * index k, so the edge back to the previous node is offset K-1-k and the
 * "visited" state of an end node is a bit mask of its offsets (no search).
 */
#ifndef XSKAN_DETAIL_SKELETON_COMPACT_PATHS_HPP
#define XSKAN_DETAIL_SKELETON_COMPACT_PATHS_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "skeleton_fast_graph.hpp"
#include "skeleton_graph.hpp"

namespace xskan
{
    namespace detail
    {
        /// Weight of the edge a -> b along offset k, as compact_to_csr stores it.
        template <bool HEIGHT>
        double compact_weight(const compact_graph& cg, const double* values, std::size_t a, std::size_t b, int k) noexcept
        {
            if constexpr (HEIGHT)
            {
                return std::hypot(height_difference(values[a], values[b], cg.kind), cg.dist[k]);
            }
            else
            {
                (void)values;
                (void)a;
                (void)b;
                return cg.dist[k];
            }
        }

        /**
         * Size the outputs of a tracing for its worst case: every path has two
         * end entries (`ends` = sum of the degrees != 2), except isolated cycles
         * (>= 3 nodes of degree 2 each, `n2` in all); node entries = edges +
         * paths. Returns the capacity of the node list.
         */
        inline std::size_t size_traced_paths(traced_paths& out, std::size_t ends, std::size_t n2, std::size_t n_entries)
        {
            const std::size_t cap_paths = ends / 2 + n2 / 3 + 1;
            const std::size_t cap_idx = n_entries / 2 + cap_paths + 1;
            out.indptr.resize(cap_paths + 1);
            out.indices.resize(cap_idx);
            out.lengths.resize(cap_paths);
            return cap_idx;
        }

        template <int K, bool HEIGHT>
        void trace_paths_compact_k(const compact_graph& cg, const double* values, traced_paths& out,
                                   std::size_t ends, std::size_t n2)
        {
            const std::size_t n = cg.n;
            const fast_node* nds = cg.nodes.get();
            const std::int32_t* rw = cg.raw.get();
            size_traced_paths(out, ends, n2, cg.n_entries);
            std::int64_t* optr = out.indptr.data();
            std::int64_t* oidx = out.indices.data();
            double* olen = out.lengths.data();
            std::size_t np = 0, ni = 0;
            optr[0] = 0;
            // end nodes: offsets already walked; degree-2 nodes: 1 once on a path
            std::unique_ptr<std::uint32_t[]> visited(new std::uint32_t[n + 1]());
            std::uint32_t* vis = visited.get();
            auto nb_of = [rw](const fast_node& nd, int k) { return static_cast<std::size_t>(compact_neighbour(rw, nd, k)); };
            auto weight = [&](std::size_t a, std::size_t b, int k) { return compact_weight<HEIGHT>(cg, values, a, b, k); };
            // Walk from `start` along offset k through degree-2 nodes to a node of
            // degree != 2 or back to `start` (isolated cycle); that end's offset back
            // is marked as walked, the degree-2 nodes passed are marked 1.
            auto walk = [&](std::size_t start, int k) {
                std::size_t node = start;
                std::size_t nb = nb_of(nds[start], k);
                oidx[ni++] = static_cast<std::int64_t>(start);
                double d = 0.0;
                for (;;)
                {
                    oidx[ni++] = static_cast<std::int64_t>(nb);
                    d += weight(node, nb, k);
                    const fast_node& r = nds[nb];
                    const std::uint32_t back = 1u << (K - 1 - k);
                    if (fast_popcount(r.mask) != 2 || nb == start)
                    {
                        vis[nb] |= back;
                        break;
                    }
                    vis[nb] = 1;
                    // degree 2: the next node is the kept neighbour other than `node` (from the
                    // record's link unless the MST made a junction pixel a degree-2 node)
                    const auto next = static_cast<std::size_t>(static_cast<std::uint32_t>(r.link) ^
                                                               static_cast<std::uint32_t>(node));
                    k = fast_ctz(r.mask & ~back);
                    node = nb;
                    nb = r.raw_mask == r.mask ? next : nb_of(r, k);
                }
                olen[np] = d;
                optr[++np] = static_cast<std::int64_t>(ni);
            };
            // Phase 1: paths from the nodes of degree != 2.
            for (std::size_t i = 0; i < n; ++i)
            {
                const fast_node& nd = nds[i];
                const int di = fast_popcount(nd.mask);
                if (di == 2 || di == 0)
                {
                    continue;
                }
                for (std::uint32_t m = nd.mask; m; m &= m - 1)
                {
                    int k = fast_ctz(m);
                    if (vis[i] & (1u << k))
                    {
                        continue;  // the far end of an earlier walk
                    }
                    vis[i] |= 1u << k;
                    walk(i, k);
                }
            }
            // Phase 2: isolated cycles (every node of degree 2), from their smallest
            // node along its first edge, start node repeated at the end.
            for (std::size_t i = 0; i < n; ++i)
            {
                const fast_node& nd = nds[i];
                if (vis[i] || fast_popcount(nd.mask) != 2)
                {
                    continue;
                }
                vis[i] = 1;
                walk(i, fast_ctz(nd.mask));
            }
            out.indptr.resize(np + 1);
            out.indices.resize(ni);
            out.lengths.resize(np);
        }

        /**
         * Same result as trace_paths_compact_k, for long average paths: the
         * degree-2 nodes get a link record (both neighbours and their
         * offsets; one load per step) and up to 16 walks advance in lockstep
         * (memory-level parallelism). Entries are numbered node * 32 + offset
         * (= CSR order); a start entry is dispatched unless already marked as
         * the far end of a finished walk; a walk from entry p ending at entry
         * q marks q and is kept iff q > p (otherwise the walk from q, started
         * earlier, is the kept one: the sequential rule). Kept walks are
         * staged in completion order, then gathered in start order.
         */
        template <int K, bool HEIGHT>
        void trace_paths_compact_interleaved(const compact_graph& cg, const double* values, traced_paths& out)
        {
            const std::size_t n = cg.n;
            const fast_node* nds = cg.nodes.get();
            const std::int32_t* rw = cg.raw.get();
            struct link
            {
                std::int32_t a, b;       // both neighbours of a degree-2 node; a = -1 otherwise
                std::uint8_t ka, kb;     // their offsets
                std::uint8_t passed, d;  // on a path already; degree (end nodes)
            };
            auto nb_of = [rw](const fast_node& nd, int k) { return compact_neighbour(rw, nd, k); };
            auto weight = [&](std::size_t a, std::size_t b, int k) { return compact_weight<HEIGHT>(cg, values, a, b, k); };
            std::unique_ptr<link[]> links(new link[n + 1]);
            std::size_t ends = 0, n2 = 0;
            for (std::size_t i = 0; i < n; ++i)
            {
                const fast_node& nd = nds[i];
                link& l = links[i];
                const int d = fast_popcount(nd.mask);
                l.passed = 0;
                l.d = static_cast<std::uint8_t>(d);
                if (d == 2)
                {
                    ++n2;
                    const int k1 = fast_ctz(nd.mask);
                    const int k2 = fast_ctz(nd.mask & (nd.mask - 1));
                    l.a = nb_of(nd, k1);
                    l.b = nb_of(nd, k2);
                    l.ka = static_cast<std::uint8_t>(k1);
                    l.kb = static_cast<std::uint8_t>(k2);
                }
                else
                {
                    ends += static_cast<std::size_t>(d);
                    l.a = -1;
                    l.b = -1;
                    l.ka = 0;
                    l.kb = 0;
                }
            }
            const std::size_t cap_idx = size_traced_paths(out, ends, n2, cg.n_entries);
            std::int64_t* optr = out.indptr.data();
            std::int64_t* oidx = out.indices.data();
            double* olen = out.lengths.data();
            std::size_t np = 0, ni = 0;
            optr[0] = 0;
            std::unique_ptr<std::uint32_t[]> visited(new std::uint32_t[n + 1]());  // end nodes: offsets walked
            std::uint32_t* vis = visited.get();
            link* lk = links.get();
            struct rec
            {
                std::int64_t p, q, cnt;
                double d;
                std::size_t off;  // position of the node list in `staging`
            };
            std::vector<rec> recs;
            recs.reserve(ends);
            std::vector<std::int64_t> staging;
            staging.reserve(cap_idx);
            {
                constexpr int B = 16;
                struct cursor
                {
                    std::int64_t p, node, nb, cnt;
                    int k;
                    double d;
                    std::size_t r;
                    bool active;
                    std::vector<std::int64_t> buf;
                };
                cursor cur[B];
                std::size_t di = 0;     // dispatch: current node
                std::uint32_t dm = 0;   // dispatch: offsets of node di not yet considered
                bool started = false;
                auto next_start = [&](std::size_t& node, int& k) {
                    for (;;)
                    {
                        while (dm)
                        {
                            const int kk = fast_ctz(dm);
                            dm &= dm - 1;
                            if (!(vis[di] & (1u << kk)))
                            {
                                vis[di] |= 1u << kk;
                                node = di;
                                k = kk;
                                return true;
                            }
                        }
                        if (started)
                        {
                            ++di;
                        }
                        started = true;
                        while (di < n && (lk[di].d == 2 || lk[di].d == 0))
                        {
                            ++di;
                        }
                        if (di >= n)
                        {
                            return false;
                        }
                        dm = nds[di].mask;
                    }
                };
                auto dispatch = [&](cursor& c) {
                    std::size_t node = 0;
                    int k = 0;
                    if (!next_start(node, k))
                    {
                        c.active = false;
                        return;
                    }
                    const auto nb = static_cast<std::size_t>(nb_of(nds[node], k));
                    c.active = true;
                    c.p = static_cast<std::int64_t>(node) * 32 + k;
                    c.node = static_cast<std::int64_t>(node);
                    c.nb = static_cast<std::int64_t>(nb);
                    c.k = k;
                    c.cnt = 2;
                    c.d = weight(node, nb, k);
                    c.r = recs.size();
                    c.buf.clear();
                    c.buf.push_back(c.node);
                    c.buf.push_back(c.nb);
                    recs.push_back({c.p, -1, 0, 0.0, 0});
                };
                int n_active = 0;
                for (auto& c : cur)
                {
                    dispatch(c);
                    n_active += c.active ? 1 : 0;
                }
                while (n_active > 0)
                {
                    for (auto& c : cur)
                    {
                        if (!c.active)
                        {
                            continue;
                        }
                        const auto nb = static_cast<std::size_t>(c.nb);
                        link& l = lk[nb];
                        if (l.a >= 0)
                        {
                            l.passed = 1;
                            const bool first = l.a != c.node;
                            const std::int32_t next = first ? l.a : l.b;
                            const int kn = first ? l.ka : l.kb;
                            c.d += weight(nb, static_cast<std::size_t>(next), kn);
                            c.node = c.nb;
                            c.nb = next;
                            c.k = kn;
                            c.buf.push_back(next);
                            ++c.cnt;
                            continue;
                        }
                        // end node (degree != 2): the offset back to the previous node
                        const int kb = K - 1 - c.k;
                        vis[nb] |= 1u << kb;
                        rec& r = recs[c.r];
                        r.q = static_cast<std::int64_t>(nb) * 32 + kb;
                        r.cnt = c.cnt;
                        r.d = c.d;
                        if (r.q > r.p)
                        {
                            r.off = staging.size();
                            staging.insert(staging.end(), c.buf.begin(), c.buf.end());
                        }
                        dispatch(c);
                        if (!c.active)
                        {
                            --n_active;
                        }
                    }
                }
            }
            for (const rec& r : recs)
            {
                if (r.q > r.p)
                {
                    olen[np] = r.d;
                    optr[np] = static_cast<std::int64_t>(ni);
                    std::memcpy(oidx + ni, staging.data() + r.off, static_cast<std::size_t>(r.cnt) * sizeof(std::int64_t));
                    ni += static_cast<std::size_t>(r.cnt);
                    ++np;
                }
            }
            optr[np] = static_cast<std::int64_t>(ni);
            // Phase 2: isolated cycles, from their smallest node along its first edge.
            for (std::size_t i = 0; i < n; ++i)
            {
                link& li = lk[i];
                if (li.a < 0 || li.passed)
                {
                    continue;
                }
                li.passed = 1;
                std::size_t node = i;
                auto nb = static_cast<std::size_t>(li.a);
                oidx[ni++] = static_cast<std::int64_t>(i);
                double d = weight(i, nb, li.ka);
                for (;;)
                {
                    oidx[ni++] = static_cast<std::int64_t>(nb);
                    if (nb == i)
                    {
                        break;
                    }
                    link& l = lk[nb];
                    l.passed = 1;
                    const bool first = static_cast<std::size_t>(l.a) != node;
                    const std::int32_t next = first ? l.a : l.b;
                    d += weight(nb, static_cast<std::size_t>(next), first ? l.ka : l.kb);
                    node = nb;
                    nb = static_cast<std::size_t>(next);
                }
                olen[np] = d;
                optr[++np] = static_cast<std::int64_t>(ni);
            }
            out.indptr.resize(np + 1);
            out.indices.resize(ni);
            out.lengths.resize(np);
        }

        template <int K>
        void trace_paths_compact_select(const compact_graph& cg, const double* values, traced_paths& out, bool inter,
                                        std::size_t ends, std::size_t n2)
        {
            if (inter)
            {
                cg.value_is_height ? trace_paths_compact_interleaved<K, true>(cg, values, out)
                                   : trace_paths_compact_interleaved<K, false>(cg, values, out);
            }
            else
            {
                cg.value_is_height ? trace_paths_compact_k<K, true>(cg, values, out, ends, n2)
                                   : trace_paths_compact_k<K, false>(cg, values, out, ends, n2);
            }
        }

        /**
         * Paths of a compact graph exactly as trace_paths(compact_to_csr(cg), degrees):
         * same order, same node lists, same sequential length sums.
         * @param values node values (used for the weights with value_is_height).
         * @param mode 0: automatic (interleaved walks over link records when
         *        paths are long: >= 8 entries per path end, e.g. thin skeletons;
         *        the sequential walk, which has better locality, for short
         *        ones); 1: always interleaved; 2: always sequential.
         */
        inline void trace_paths_compact(const compact_graph& cg, const double* values, traced_paths& out, int mode = 0)
        {
            // path ends (entries of nodes of degree != 2) and degree-2 nodes
            std::size_t ends = 0, n2 = 0;
            for (std::size_t i = 0; i < cg.n; ++i)
            {
                const int d = fast_popcount(cg.nodes[i].mask);
                ends += d != 2 ? static_cast<std::size_t>(d) : 0;
                n2 += d == 2 ? 1u : 0u;
            }
            const bool inter = mode == 1 || (mode == 0 && cg.n_entries >= 8 * ends);
            if (cg.ndim == 2)
            {
                trace_paths_compact_select<8>(cg, values, out, inter, ends, n2);
            }
            else
            {
                trace_paths_compact_select<26>(cg, values, out, inter, ends, n2);
            }
        }
    }  // namespace detail
}  // namespace xskan

#endif
