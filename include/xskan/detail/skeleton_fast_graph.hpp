/**
 * @file detail/skeleton_fast_graph.hpp
 * @brief 2-D / 3-D specialised pixel-graph construction: one sweep over the
 *        image planes with a 3-plane ring of padded occupancy and id planes,
 *        neighbour bit masks, 32-bit internal indices, junction MST by
 *        weight buckets (linear), skeleton ids by an in-sweep union-find.
 *
 * Produces exactly what build_raw_pixel_graph + mst_junctions (+
 * connected_component_labels) produce; the general n-D code stays the
 * reference (tests cross-check both).
 */
#ifndef XSKAN_DETAIL_SKELETON_FAST_GRAPH_HPP
#define XSKAN_DETAIL_SKELETON_FAST_GRAPH_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <type_traits>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "skeleton_graph.hpp"

namespace xskan
{
    namespace detail
    {
#if defined(__GNUC__) || defined(__clang__)
        inline int fast_popcount(std::uint32_t x) noexcept { return __builtin_popcount(x); }
        inline int fast_ctz(std::uint32_t x) noexcept { return __builtin_ctz(x); }  // x != 0
        inline int fast_ctz64(std::uint64_t x) noexcept { return __builtin_ctzll(x); }  // x != 0
#else
        inline int fast_popcount(std::uint32_t x) noexcept
        {
            int n = 0;
            for (; x; x &= x - 1) ++n;
            return n;
        }
        inline int fast_ctz(std::uint32_t x) noexcept
        {
            int n = 0;
            for (; !(x & 1u); x >>= 1) ++n;
            return n;
        }
        inline int fast_ctz64(std::uint64_t x) noexcept
        {
            int n = 0;
            for (; !(x & 1u); x >>= 1) ++n;
            return n;
        }
#endif

        /// Per-node record of the fast builder (16 bytes, one cache access per node).
        struct fast_node
        {
            std::uint32_t raw_mask;  ///< neighbour offsets present before the junction MST (bit k = offset k)
            std::uint32_t mask;      ///< neighbour offsets kept after the junction MST
            std::int32_t ptr;        ///< start of the node's entries in compact_graph::raw (one per raw_mask bit)
            std::int32_t pad;
        };

        /// Neighbour id of a node record along offset k (k set in raw_mask).
        inline std::int32_t compact_neighbour(const std::int32_t* rw, const fast_node& nd, int k) noexcept
        {
            return rw[static_cast<std::size_t>(nd.ptr) + static_cast<std::size_t>(fast_popcount(nd.raw_mask & ((1u << k) - 1u)))];
        }

        /**
         * The pixel graph in the fast builder's compact form (2-D / 3-D, int32
         * ids): neighbour bit masks per node and the raw neighbour lists;
         * the CSR form (int64 / float64) is derived from it on demand
         * (compact_to_csr), paths are traced from it directly.
         */
        struct compact_graph
        {
            int ndim = 0;                        ///< 2 or 3 (K = 8 or 26 offsets)
            std::size_t n = 0;                   ///< number of nodes
            std::unique_ptr<fast_node[]> nodes;  ///< n + 1 records (nodes[n].ptr = number of raw entries)
            std::unique_ptr<std::int32_t[]> raw; ///< neighbour ids, in offset order per node
            std::size_t n_entries = 0;           ///< directed entries kept after the MST (CSR size)
            double dist[26] = {};                ///< length of every offset (spacing applied)
            bool value_is_height = false;
            value_kind kind = value_kind::boolean;

        };

        /// Outputs of the fast pixel-graph builder.
        struct fast_graph_out
        {
            csr_graph* graph = nullptr;  ///< CSR output (unless `compact` is set)
            /// if set: the compact form is returned here and no CSR is built
            std::shared_ptr<compact_graph>* compact = nullptr;
            xt::xtensor<std::int64_t, 2>* coordinates = nullptr;
            std::vector<double>* values = nullptr;
            std::vector<std::int32_t>* degrees = nullptr;
            std::vector<std::int64_t>* labels = nullptr;  ///< optional: connected-component labels
        };

        /// Non-zero pixel counts of every plane (index 0 of a 2-D / 3-D image) as a prefix sum.
        template <class T>
        std::vector<std::int64_t> plane_prefix_counts(const T* data, std::size_t n_planes, std::size_t plane_size)
        {
            std::vector<std::int64_t> start(n_planes + 1, 0);
            const T* p = data;
            for (std::size_t q = 0; q < n_planes; ++q, p += plane_size)
            {
                std::int64_t c = 0;
                if constexpr (sizeof(T) == 1 && std::is_integral<T>::value)
                {
                    // blocks of up to 255 x 32 bytes with byte counters (vectorises to compares + adds)
                    const auto* b = reinterpret_cast<const unsigned char*>(p);
                    std::size_t k = 0;
                    while (k + 32 <= plane_size)
                    {
                        const std::size_t m = std::min<std::size_t>(255, (plane_size - k) / 32);
                        unsigned char acc[32] = {};
                        for (std::size_t r = 0; r < m; ++r)
                        {
                            for (std::size_t l = 0; l < 32; ++l)
                            {
                                acc[l] = static_cast<unsigned char>(acc[l] + (b[k + r * 32 + l] != 0 ? 1 : 0));
                            }
                        }
                        for (std::size_t l = 0; l < 32; ++l)
                        {
                            c += acc[l];
                        }
                        k += m * 32;
                    }
                    for (; k < plane_size; ++k)
                    {
                        c += b[k] != 0 ? 1 : 0;
                    }
                }
                else
                {
                    for (std::size_t k = 0; k < plane_size; ++k)
                    {
                        c += p[k] != T(0) ? 1 : 0;
                    }
                }
                start[q + 1] = start[q] + c;
            }
            return start;
        }

        /**
         * Whether the fast builder can handle this image: ndim 2 or 3, node ids
         * and raw neighbour entries fit in int32, and the 3-plane ring is not
         * much larger than the image itself.
         */
        inline bool fast_graph_applicable(const std::vector<std::size_t>& shape, std::size_t n_nodes) noexcept
        {
            const std::size_t ndim = shape.size();
            if (ndim != 2 && ndim != 3)
            {
                return false;
            }
            const std::size_t K = ndim == 2 ? 8 : 26;
            const auto lim = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max() - 64);
            if (n_nodes > lim / K)
            {
                return false;
            }
            std::size_t image = 1;
            for (auto s : shape)
            {
                image *= s;
            }
            const std::size_t w = shape[ndim - 1] + 2;
            const std::size_t plane = ndim == 3 ? (shape[1] + 2) * w : w;
            if (plane > lim)
            {
                return false;
            }
            return plane * 16 <= 2 * image + (std::size_t(64) << 20);
        }

        /**
         * CSR form (int64 ids, float64 weights: dist(offset) or hypot(height
         * difference, dist)) of a compact graph; `values` = node values.
         */
        inline void compact_to_csr(const compact_graph& cg, const double* values, csr_graph& g)
        {
            const std::size_t N = cg.n;
            g.indptr.resize(N + 1);
            g.indices.resize(cg.n_entries);
            g.data.resize(cg.n_entries);
            std::int64_t* indptr = g.indptr.data();
            std::int64_t* gi = g.indices.data();
            double* gd = g.data.data();
            const fast_node* nds = cg.nodes.get();
            const std::int32_t* rw = cg.raw.get();
            std::size_t w = 0;
            for (std::size_t i = 0; i < N; ++i)
            {
                indptr[i] = static_cast<std::int64_t>(w);
                const fast_node& nd = nds[i];
                std::uint32_t m = nd.raw_mask;
                std::size_t ent = static_cast<std::size_t>(nd.ptr);
                for (; m; m &= m - 1, ++ent)
                {
                    const int k = fast_ctz(m);
                    if (!(nd.mask & (1u << k)))
                    {
                        continue;
                    }
                    const std::int32_t j = rw[ent];
                    gi[w] = j;
                    gd[w] = cg.value_is_height
                                ? std::hypot(height_difference(values[i], values[static_cast<std::size_t>(j)], cg.kind),
                                             cg.dist[k])
                                : cg.dist[k];
                    ++w;
                }
            }
            indptr[N] = static_cast<std::int64_t>(w);
        }

        /**
         * skan's junction MST on the fast builder's node records: Kruskal over
         * the edges joining two junction pixels (degree >= 3 before the MST)
         * in the stable order (weight, smaller id, larger id). Without
         * heights, edges of equal length are processed class by class
         * (increasing length; inside a class in CSR order = (i, j) order)
         * straight from the masks; with heights, a stable sort of the edge
         * list. A dropped edge clears its bits in `mask` of both nodes and
         * decrements both degrees; `n_drop` counts dropped edges.
         */
        template <int NDIM>
        void fast_junction_mst(fast_node* nds, const std::int32_t* rw, std::size_t N, std::int32_t* deg,
                               const double* dist, bool value_is_height, const double* vptr, value_kind kind,
                               std::size_t& n_drop)
        {
            constexpr int K = NDIM == 2 ? 8 : 26;
            constexpr int KH = K / 2;
            constexpr std::uint32_t low_half = (1u << KH) - 1u;
            auto nb_of = [&](std::size_t i, int k) { return compact_neighbour(rw, nds[i], k); };
            auto drop = [&](std::size_t i, std::size_t j, int k) {
                nds[i].mask &= ~(1u << k);
                nds[j].mask &= ~(1u << (K - 1 - k));
                --deg[i];
                --deg[j];
                ++n_drop;
            };
            // 2-D shortcuts (no union-find): a diagonal edge whose two endpoints share a
            // junction 4-neighbour closes a cycle with two shorter edges processed
            // before it; a right edge below a junction pair (up, up-right) closes a
            // 2x2 cycle of edges processed before it when down edges are not longer.
            const bool diag_shortcut = NDIM == 2 && !value_is_height && dist[5] == dist[7] &&
                                       dist[7] > std::max(dist[4], dist[6]);
            const bool right_shortcut = NDIM == 2 && !value_is_height && dist[6] <= dist[4];
            // junction nodes with at least one forward junction neighbour, and those offsets
            std::unique_ptr<std::int32_t[]> jl(new std::int32_t[N + 1]);
            std::unique_ptr<std::uint32_t[]> jfw(new std::uint32_t[N + 1]);
            std::size_t nj = 0;
            for (std::size_t i = 0; i < N; ++i)
            {
                const fast_node& nd = nds[i];
                if (fast_popcount(nd.raw_mask) < 3)  // junction = degree >= 3 before the MST
                {
                    continue;
                }
                std::uint32_t m = (diag_shortcut || right_shortcut) ? nd.raw_mask : nd.raw_mask & ~low_half;
                std::size_t ent = static_cast<std::size_t>(nd.ptr) +
                                  static_cast<std::size_t>(fast_popcount(nd.raw_mask & ~m));
                std::uint32_t jm = 0;  // offsets of the junction neighbours
                for (; m; m &= m - 1, ++ent)
                {
                    if (fast_popcount(nds[rw[ent]].raw_mask) >= 3)
                    {
                        jm |= m & (~m + 1u);
                    }
                }
                if (NDIM == 2 && (diag_shortcut || right_shortcut))
                {
                    std::uint32_t drop_now = 0;
                    // offsets (2-D): 1 up, 2 up-right, 3 left, 4 right, 5 down-left, 6 down, 7 down-right
                    if (diag_shortcut && (jm & (1u << 5)) && (jm & ((1u << 3) | (1u << 6))))
                    {
                        drop_now |= 1u << 5;
                    }
                    if (diag_shortcut && (jm & (1u << 7)) && (jm & ((1u << 4) | (1u << 6))))
                    {
                        drop_now |= 1u << 7;
                    }
                    if (right_shortcut && (jm & (1u << 4)) && (jm & (1u << 1)) && (jm & (1u << 2)))
                    {
                        drop_now |= 1u << 4;
                    }
                    for (std::uint32_t dm = drop_now; dm; dm &= dm - 1)
                    {
                        const int k = fast_ctz(dm);
                        drop(i, static_cast<std::size_t>(nb_of(i, k)), k);
                    }
                    jm &= ~drop_now;
                }
                jm &= ~low_half;
                if (jm)
                {
                    jl[nj] = static_cast<std::int32_t>(i);
                    jfw[nj] = jm;
                    ++nj;
                }
            }
            if (nj == 0)
            {
                return;
            }
            std::unique_ptr<std::int32_t[]> parent(new std::int32_t[N]);
            std::int32_t* par = parent.get();
            std::iota(par, par + N, 0);
            auto find = [par](std::int32_t x) {
                while (par[x] != x)
                {
                    par[x] = par[par[x]];
                    x = par[x];
                }
                return x;
            };
            // true iff i and j were not connected yet (then they are joined)
            auto unite = [&](std::int32_t i, std::int32_t j) {
                const std::int32_t ri = find(i);
                const std::int32_t rj = find(j);
                if (ri == rj)
                {
                    return false;
                }
                if (ri < rj)
                {
                    par[rj] = ri;
                }
                else
                {
                    par[ri] = rj;
                }
                return true;
            };
            if (value_is_height)
            {
                struct jedge
                {
                    std::int32_t i, j, k;
                };
                std::vector<jedge> all;
                for (std::size_t t = 0; t < nj; ++t)
                {
                    const auto i = static_cast<std::size_t>(jl[t]);
                    for (std::uint32_t fw = jfw[t]; fw; fw &= fw - 1)
                    {
                        const int k = fast_ctz(fw);
                        all.push_back({jl[t], nb_of(i, k), k});
                    }
                }
                std::vector<double> w(all.size());
                for (std::size_t t = 0; t < all.size(); ++t)
                {
                    w[t] = std::hypot(height_difference(vptr[all[t].i], vptr[all[t].j], kind), dist[all[t].k]);
                }
                std::vector<std::int32_t> order(all.size());
                std::iota(order.begin(), order.end(), 0);
                std::stable_sort(order.begin(), order.end(), [&](std::int32_t x, std::int32_t y) {
                    const bool xn = std::isnan(w[static_cast<std::size_t>(x)]);
                    const bool yn = std::isnan(w[static_cast<std::size_t>(y)]);
                    if (xn != yn)
                    {
                        return yn;
                    }
                    return !xn && w[static_cast<std::size_t>(x)] < w[static_cast<std::size_t>(y)];
                });
                for (const std::int32_t t : order)
                {
                    const jedge& ed = all[static_cast<std::size_t>(t)];
                    if (!unite(ed.i, ed.j))
                    {
                        drop(static_cast<std::size_t>(ed.i), static_cast<std::size_t>(ed.j), ed.k);
                    }
                }
                return;
            }
            // offset classes of equal length, in increasing length
            std::vector<double> distinct;
            for (int k = KH; k < K; ++k)
            {
                distinct.push_back(dist[k]);
            }
            std::sort(distinct.begin(), distinct.end());
            distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
            for (const double dc : distinct)
            {
                std::uint32_t cm = 0;
                for (int k = KH; k < K; ++k)
                {
                    if (dist[k] == dc)
                    {
                        cm |= 1u << k;
                    }
                }
                for (std::size_t t = 0; t < nj; ++t)
                {
                    std::uint32_t fw = jfw[t] & cm;
                    if (!fw)
                    {
                        continue;
                    }
                    const std::int32_t i = jl[t];
                    for (; fw; fw &= fw - 1)
                    {
                        const int k = fast_ctz(fw);
                        const std::int32_t j = nb_of(static_cast<std::size_t>(i), k);
                        if (!unite(i, j))
                        {
                            drop(static_cast<std::size_t>(i), static_cast<std::size_t>(j), k);
                        }
                    }
                }
            }
        }

        /**
         * Pixel graph of a contiguous 2-D / 3-D image (NDIM = ndim), given the
         * per-plane prefix counts. Same result as build_raw_pixel_graph (+
         * mst_junctions when `mst`): node ids in C order, neighbours in
         * increasing id order, weights dist(offset) or hypot(height difference,
         * dist); junction MST with the stable rule (weight, smaller id, larger
         * id), processed bucket by bucket of equal weight in CSR order (or a
         * stable sort with value_is_height). Optional labels = scipy's
         * connected-component labels (the MST does not change connectivity).
         */
        template <class T, int NDIM>
        void fast_pixel_graph(const T* data, const std::vector<std::size_t>& shape,
                              const std::vector<std::int64_t>& plane_start, const std::vector<double>& spacing,
                              bool value_is_height, value_kind kind, bool mst, const fast_graph_out& out)
        {
            static_assert(NDIM == 2 || NDIM == 3, "fast_pixel_graph: 2-D or 3-D");
            constexpr int K = NDIM == 2 ? 8 : 26;
            constexpr int KH = K / 2;
            constexpr std::uint32_t low_half = (1u << KH) - 1u;
            const std::size_t P = shape[0];
            const std::size_t H = NDIM == 3 ? shape[1] : 1;
            const std::size_t W = shape[NDIM - 1];
            const std::size_t PW = W + 2;
            const std::size_t PS = NDIM == 3 ? (H + 2) * PW : PW;
            const auto N = static_cast<std::size_t>(plane_start[P]);

            // Neighbour offsets in lexicographic order (increasing ids), centre excluded.
            int dzs[K];
            std::ptrdiff_t dl[K];
            double dist[K];
            {
                int k = 0;
                constexpr int total = NDIM == 2 ? 9 : 27;
                for (int idx = 0; idx < total; ++idx)
                {
                    if (idx == total / 2)
                    {
                        continue;
                    }
                    int o[3] = {0, 0, 0};
                    int rem = idx;
                    for (int a = NDIM; a-- > 0;)
                    {
                        o[a] = rem % 3 - 1;
                        rem /= 3;
                    }
                    dzs[k] = o[0];
                    dl[k] = NDIM == 3 ? static_cast<std::ptrdiff_t>(o[1]) * static_cast<std::ptrdiff_t>(PW) + o[2]
                                      : static_cast<std::ptrdiff_t>(o[1]);
                    double sq[3];
                    for (int a = 0; a < NDIM; ++a)
                    {
                        const double w = o[a] * spacing[static_cast<std::size_t>(a)];
                        sq[a] = rounded_product(w, w);
                    }
                    dist[k] = std::sqrt(numpy_pairwise_sum(sq, NDIM));
                    ++k;
                }
            }

            // Node arrays.
            auto& coords = *out.coordinates;
            coords = xt::xtensor<std::int64_t, 2>::from_shape({N, static_cast<std::size_t>(NDIM)});
            std::int64_t* cptr = coords.data();
            auto& values = *out.values;
            values.assign(N, 1.0);
            double* vptr = values.data();
            std::unique_ptr<std::int32_t[]> npos(new std::int32_t[N + 1]);
            std::unique_ptr<fast_node[]> nodes(new fast_node[N + 1]);
            std::unique_ptr<std::int32_t[]> lab_parent(out.labels ? new std::int32_t[N + 1] : nullptr);
            std::size_t raw_cap = N * (NDIM == 2 ? 4 : 6) + 64;
            std::unique_ptr<std::int32_t[]> raw(new std::int32_t[raw_cap]);
            std::size_t raw_n = 0;

            // Ring of three padded planes (+ one all-zero plane) of occupancy and ids.
            std::vector<std::uint8_t> mring(4 * PS + 8, 0);  // +8: 4-byte reads at the end
            std::unique_ptr<std::int32_t[]> iring(new std::int32_t[3 * PS]);
            const std::uint8_t* zero_plane = mring.data() + 3 * PS;
            std::vector<std::uint8_t> row_dirty(3 * H, 0);  // ring row holds non-zero bytes

            auto load = [&](std::size_t q) {
                const std::size_t slot = q % 3;
                std::uint8_t* m = mring.data() + slot * PS;
                std::int32_t* ids = iring.get() + slot * PS;
                const std::int64_t b = plane_start[q];
                const bool empty = b == plane_start[q + 1];
                auto id = static_cast<std::int32_t>(b);
                for (std::size_t y = 0; y < H; ++y)
                {
                    const T* src = data + (q * H + y) * W;
                    const std::size_t row_off = (NDIM == 3 ? (y + 1) * PW : 0) + 1;
                    std::uint8_t* row = m + row_off;
                    std::uint8_t& rd = row_dirty[slot * H + y];
                    bool any = !empty;
                    if constexpr (sizeof(T) == 1 && std::is_integral<T>::value)
                    {
                        if (any)
                        {
                            // skip empty rows (3-D skeletons are sparse): OR of the row's bytes
                            const auto* sb = reinterpret_cast<const unsigned char*>(src);
                            unsigned char acc = 0;
                            for (std::size_t c = 0; c < W; ++c)
                            {
                                acc = static_cast<unsigned char>(acc | sb[c]);
                            }
                            any = acc != 0;
                        }
                    }
                    if (!any)
                    {
                        if (rd)
                        {
                            std::memset(row, 0, W);
                            rd = 0;
                        }
                        continue;
                    }
                    rd = 1;
                    if constexpr (sizeof(T) == 1 && std::is_integral<T>::value)
                    {
                        std::memcpy(row, src, W);
                    }
                    else
                    {
                        for (std::size_t c = 0; c < W; ++c)
                        {
                            row[c] = src[c] != T(0) ? 1 : 0;
                        }
                    }
                    auto visit = [&](std::size_t c) {
                        const std::size_t pos = row_off + c;
                        ids[pos] = id;
                        npos[static_cast<std::size_t>(id)] = static_cast<std::int32_t>(pos);
                        std::int64_t* cr = cptr + static_cast<std::size_t>(id) * NDIM;
                        cr[0] = static_cast<std::int64_t>(q);
                        if (NDIM == 3)
                        {
                            cr[1] = static_cast<std::int64_t>(y);
                        }
                        cr[NDIM - 1] = static_cast<std::int64_t>(c);
                        if (kind != value_kind::boolean)
                        {
                            vptr[static_cast<std::size_t>(id)] = static_cast<double>(src[c]);
                        }
                        ++id;
                    };
                    constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
                    constexpr std::uint64_t high = 0x8080808080808080ULL;
                    std::size_t c = 0;
                    for (; c + 8 <= W; c += 8)
                    {
                        std::uint64_t w;
                        std::memcpy(&w, row + c, 8);
                        if (w != 0)
                        {
                            std::uint64_t t = (((w & low7) + low7) | w) & high;
                            while (t)
                            {
                                visit(c + static_cast<std::size_t>(fast_ctz64(t) >> 3));
                                t &= t - 1;
                            }
                        }
                    }
                    for (; c < W; ++c)
                    {
                        if (row[c] != 0)
                        {
                            visit(c);
                        }
                    }
                }
            };

            auto lfind = [&](std::int32_t x) {
                std::int32_t* lp = lab_parent.get();
                while (lp[x] != x)
                {
                    lp[x] = lp[lp[x]];
                    x = lp[x];
                }
                return x;
            };

            if (P > 0)
            {
                load(0);
            }
            for (std::size_t p = 0; p < P; ++p)
            {
                if (p + 1 < P)
                {
                    load(p + 1);
                }
                const auto b = static_cast<std::size_t>(plane_start[p]);
                const auto e = static_cast<std::size_t>(plane_start[p + 1]);
                if (b == e)
                {
                    continue;
                }
                const std::uint8_t* mp[3];
                const std::int32_t* ip[3];
                for (int d = -1; d <= 1; ++d)
                {
                    const std::ptrdiff_t q = static_cast<std::ptrdiff_t>(p) + d;
                    if (q < 0 || q >= static_cast<std::ptrdiff_t>(P))
                    {
                        mp[d + 1] = zero_plane;
                        ip[d + 1] = iring.get();
                    }
                    else
                    {
                        const std::size_t slot = static_cast<std::size_t>(q) % 3;
                        mp[d + 1] = mring.data() + slot * PS;
                        ip[d + 1] = iring.get() + slot * PS;
                    }
                }
                const std::int32_t* ik[K];
                for (int k = 0; k < K; ++k)
                {
                    ik[k] = ip[dzs[k] + 1] + dl[k];
                }
                if (raw_n + (e - b) * K > raw_cap)
                {
                    const std::size_t cap = std::max(raw_cap * 2, raw_n + (e - b) * K);
                    std::unique_ptr<std::int32_t[]> bigger(new std::int32_t[cap]);
                    std::memcpy(bigger.get(), raw.get(), raw_n * sizeof(std::int32_t));
                    raw = std::move(bigger);
                    raw_cap = cap;
                }
                std::int32_t* rw = raw.get();
                for (std::size_t i = b; i < e; ++i)
                {
                    const auto x = static_cast<std::size_t>(npos[i]);
                    // 3x3(x3) block of bytes around x -> bit mask in offset order: each row of 3
                    // bytes (x-1, x, x+1) -> 0/1 per byte (SWAR), then the multiply moves byte b
                    // to bit 14 + b without carries (the 4th byte only reaches bits >= 24)
                    auto three = [](const std::uint8_t* p3) {
                        std::uint32_t u;
                        std::memcpy(&u, p3, 4);
                        u = ((((u & 0x7f7f7f7fu) + 0x7f7f7f7fu) | u) >> 7) & 0x01010101u;
                        return ((u * 0x4081u) >> 14) & 7u;
                    };
                    std::uint32_t full = 0;  // 9 / 27 bits, centre included
                    for (int r = 0; r < (NDIM == 2 ? 3 : 9); ++r)
                    {
                        const std::uint8_t* rowp = NDIM == 2 ? mp[r] : mp[r / 3] + (r % 3 - 1) * static_cast<std::ptrdiff_t>(PW);
                        full |= three(rowp + x - 1) << (3 * r);
                    }
                    constexpr int C = K / 2;  // centre bit
                    const std::uint32_t mask = (full & ((1u << C) - 1u)) | ((full >> (C + 1)) << C);
                    fast_node& nd = nodes[i];
                    nd.raw_mask = mask;
                    nd.mask = mask;
                    nd.ptr = static_cast<std::int32_t>(raw_n);
                    nd.pad = 0;
                    std::uint32_t mm = mask;
                    while (mm)
                    {
                        const int k = fast_ctz(mm);
                        mm &= mm - 1;
                        rw[raw_n++] = ik[k][x];
                    }
                    if (out.labels)
                    {
                        std::int32_t* lp = lab_parent.get();
                        auto r = static_cast<std::int32_t>(i);
                        lp[i] = r;
                        std::uint32_t back = mask & low_half;
                        if (NDIM == 2)
                        {
                            // up (1) is adjacent to left (3), up-left (0) and up-right (2), which
                            // were joined to it earlier; left is adjacent to up-left
                            if (back & 2u)
                            {
                                back = 2u;
                            }
                            else if (back & 8u)
                            {
                                back &= ~1u;
                            }
                        }
                        for (; back; back &= back - 1)
                        {
                            const int k = fast_ctz(back);
                            const std::int32_t rn = lfind(rw[static_cast<std::size_t>(nd.ptr) +
                                                             static_cast<std::size_t>(fast_popcount(mask & ((1u << k) - 1u)))]);
                            if (rn < r)
                            {
                                lp[r] = rn;
                                r = rn;
                            }
                            else if (rn > r)
                            {
                                lp[rn] = r;
                            }
                        }
                    }
                }
            }
            nodes[N] = fast_node{0u, 0u, static_cast<std::int32_t>(raw_n), 0};
            std::int32_t* rw = raw.get();
            fast_node* nds = nodes.get();

            // Degrees before the MST.
            auto& degrees = *out.degrees;
            degrees.resize(N);
            std::int32_t* deg = degrees.data();
            for (std::size_t i = 0; i < N; ++i)
            {
                deg[i] = fast_popcount(nds[i].raw_mask);
            }

            // Junction MST: Kruskal over junction-junction edges in (weight, i, j) order.
            std::size_t n_drop = 0;
            if (mst)
            {
                fast_junction_mst<NDIM>(nds, rw, N, deg, dist, value_is_height, vptr, kind, n_drop);
            }

            auto cg = std::make_shared<compact_graph>();
            cg->ndim = NDIM;
            cg->n = N;
            cg->nodes = std::move(nodes);
            cg->raw = std::move(raw);
            cg->n_entries = raw_n - 2 * n_drop;
            std::copy(dist, dist + K, cg->dist);
            cg->value_is_height = value_is_height;
            cg->kind = kind;
            if (out.compact)
            {
                *out.compact = std::move(cg);
            }
            else
            {
                compact_to_csr(*cg, vptr, *out.graph);
            }

            if (out.labels)
            {
                auto& lab = *out.labels;
                lab.resize(N);
                std::int64_t next = 0;
                for (std::size_t i = 0; i < N; ++i)
                {
                    const std::int32_t r = lfind(static_cast<std::int32_t>(i));
                    lab[i] = (static_cast<std::size_t>(r) == i) ? next++ : lab[static_cast<std::size_t>(r)];
                }
            }
        }

        /**
         * Fast 2-D / 3-D pixel graph if applicable (see fast_graph_applicable);
         * returns false (outputs untouched) otherwise.
         */
        template <class T>
        bool try_fast_pixel_graph(const T* data, const std::vector<std::size_t>& shape,
                                  const std::vector<double>& spacing, bool value_is_height, value_kind kind, bool mst,
                                  const fast_graph_out& out)
        {
            const std::size_t ndim = shape.size();
            if (ndim != 2 && ndim != 3)
            {
                return false;
            }
            const std::size_t P = shape[0];
            std::size_t plane = 1;
            for (std::size_t a = 1; a < ndim; ++a)
            {
                plane *= shape[a];
            }
            const std::vector<std::int64_t> start = plane_prefix_counts(data, P, plane);
            if (!fast_graph_applicable(shape, static_cast<std::size_t>(start[P])))
            {
                return false;
            }
            if (ndim == 2)
            {
                fast_pixel_graph<T, 2>(data, shape, start, spacing, value_is_height, kind, mst, out);
            }
            else
            {
                fast_pixel_graph<T, 3>(data, shape, start, spacing, value_is_height, kind, mst, out);
            }
            return true;
        }
    }  // namespace detail
}  // namespace xskan

#endif
