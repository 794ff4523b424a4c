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

        /// Outputs of the fast pixel-graph builder.
        struct fast_graph_out
        {
            csr_graph* graph = nullptr;
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
            std::unique_ptr<std::uint32_t[]> nbmask(new std::uint32_t[N + 1]);
            std::unique_ptr<std::int32_t[]> rawptr(new std::int32_t[N + 1]);
            std::unique_ptr<std::int32_t[]> lab_parent(out.labels ? new std::int32_t[N + 1] : nullptr);
            std::size_t raw_cap = N * (NDIM == 2 ? 4 : 6) + 64;
            std::unique_ptr<std::int32_t[]> raw(new std::int32_t[raw_cap]);
            std::size_t raw_n = 0;

            // Ring of three padded planes (+ one all-zero plane) of occupancy and ids.
            std::vector<std::uint8_t> mring(4 * PS, 0);
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
                const std::uint8_t* mk[K];
                const std::int32_t* ik[K];
                for (int k = 0; k < K; ++k)
                {
                    mk[k] = mp[dzs[k] + 1] + dl[k];
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
                    std::uint32_t mask = 0;
                    for (int k = 0; k < K; ++k)
                    {
                        mask |= static_cast<std::uint32_t>(mk[k][x] != 0) << k;
                    }
                    nbmask[i] = mask;
                    rawptr[i] = static_cast<std::int32_t>(raw_n);
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
                        const std::size_t nb_back = static_cast<std::size_t>(fast_popcount(mask & low_half));
                        for (std::size_t t = 0; t < nb_back; ++t)
                        {
                            const std::int32_t rn = lfind(rw[static_cast<std::size_t>(rawptr[i]) + t]);
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
            rawptr[N] = static_cast<std::int32_t>(raw_n);
            std::int32_t* rw = raw.get();

            // Degrees before the MST.
            auto& degrees = *out.degrees;
            degrees.resize(N);
            std::int32_t* deg = degrees.data();
            for (std::size_t i = 0; i < N; ++i)
            {
                deg[i] = fast_popcount(nbmask[i]);
            }

            // Junction MST: Kruskal over junction-junction edges in (weight, i, j) order.
            std::size_t n_drop = 0;
            if (mst)
            {
                struct jedge
                {
                    std::int32_t i, j, k;
                };
                auto entry_of = [&](std::size_t node, int k) {
                    return static_cast<std::size_t>(rawptr[node]) +
                           static_cast<std::size_t>(fast_popcount(nbmask[node] & ((1u << k) - 1u)));
                };
                // class of every forward offset = rank of its distance among the distinct ones
                std::vector<double> distinct;
                for (int k = KH; k < K; ++k)
                {
                    distinct.push_back(dist[k]);
                }
                std::sort(distinct.begin(), distinct.end());
                distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
                int cls[K];
                for (int k = KH; k < K; ++k)
                {
                    cls[k] = static_cast<int>(std::lower_bound(distinct.begin(), distinct.end(), dist[k]) -
                                              distinct.begin());
                }
                std::vector<std::vector<jedge>> buckets(value_is_height ? 1 : distinct.size());
                std::unique_ptr<std::int32_t[]> parent;
                bool any = false;
                for (std::size_t i = 0; i < N; ++i)
                {
                    if (deg[i] < 3)
                    {
                        continue;
                    }
                    const std::uint32_t m = nbmask[i];
                    std::uint32_t fw = m & ~low_half;
                    std::size_t ent = static_cast<std::size_t>(rawptr[i]) + static_cast<std::size_t>(fast_popcount(m & low_half));
                    for (; fw; fw &= fw - 1, ++ent)
                    {
                        const int k = fast_ctz(fw);
                        const std::int32_t j = rw[ent];
                        if (deg[j] >= 3)
                        {
                            buckets[value_is_height ? 0 : static_cast<std::size_t>(cls[k])].push_back(
                                {static_cast<std::int32_t>(i), j, k});
                            any = true;
                        }
                    }
                }
                if (any)
                {
                    parent.reset(new std::int32_t[N]);
                    std::int32_t* par = parent.get();
                    for (auto& bk : buckets)
                    {
                        for (const jedge& ed : bk)
                        {
                            par[ed.i] = ed.i;
                            par[ed.j] = ed.j;
                        }
                    }
                    auto find = [par](std::int32_t x) {
                        while (par[x] != x)
                        {
                            par[x] = par[par[x]];
                            x = par[x];
                        }
                        return x;
                    };
                    auto step = [&](const jedge& ed) {
                        const std::int32_t ri = find(ed.i);
                        const std::int32_t rj = find(ed.j);
                        if (ri != rj)
                        {
                            par[ri] = rj;
                        }
                        else
                        {
                            rw[entry_of(static_cast<std::size_t>(ed.i), ed.k)] = -1;
                            rw[entry_of(static_cast<std::size_t>(ed.j), K - 1 - ed.k)] = -1;
                            --deg[ed.i];
                            --deg[ed.j];
                            ++n_drop;
                        }
                    };
                    if (value_is_height)
                    {
                        std::vector<jedge>& all = buckets[0];
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
                            step(all[static_cast<std::size_t>(t)]);
                        }
                    }
                    else
                    {
                        for (const auto& bk : buckets)
                        {
                            for (const jedge& ed : bk)
                            {
                                step(ed);
                            }
                        }
                    }
                }
            }

            // Final CSR (int64 indices, float64 weights).
            csr_graph& g = *out.graph;
            g.indptr.resize(N + 1);
            std::int64_t* indptr = g.indptr.data();
            const std::size_t total = raw_n - 2 * n_drop;
            g.indices.resize(total);
            g.data.resize(total);
            std::int64_t* gi = g.indices.data();
            double* gd = g.data.data();
            {
                std::size_t w = 0;
                for (std::size_t i = 0; i < N; ++i)
                {
                    indptr[i] = static_cast<std::int64_t>(w);
                    std::uint32_t m = nbmask[i];
                    std::size_t ent = static_cast<std::size_t>(rawptr[i]);
                    for (; m; m &= m - 1, ++ent)
                    {
                        const std::int32_t j = rw[ent];
                        if (j < 0)
                        {
                            continue;
                        }
                        const int k = fast_ctz(m);
                        gi[w] = j;
                        gd[w] = value_is_height
                                    ? std::hypot(height_difference(vptr[i], vptr[static_cast<std::size_t>(j)], kind), dist[k])
                                    : dist[k];
                        ++w;
                    }
                }
                indptr[N] = static_cast<std::int64_t>(w);
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
