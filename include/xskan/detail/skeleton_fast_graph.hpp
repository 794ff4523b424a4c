/**
 * @file detail/skeleton_fast_graph.hpp
 * @brief 2-D / 3-D specialised pixel-graph construction: one pass over the
 *        image into padded bit rows (with pixel counts and per-word first
 *        ids), one sweep over the pixels (neighbour bit masks from the bit
 *        rows, neighbour ids by rank), 32-bit internal indices, junction MST
 *        class by class, skeleton ids by an in-sweep union-find.
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
#include "skeletonize_bits.hpp"

#if defined(__AVX2__) || defined(__BMI2__)
#include <immintrin.h>
#endif

namespace xskan
{
    namespace detail
    {
#if defined(__GNUC__) || defined(__clang__)
        inline int fast_popcount(std::uint32_t x) noexcept { return __builtin_popcount(x); }
        inline int fast_ctz(std::uint32_t x) noexcept { return __builtin_ctz(x); }  // x != 0
        inline int fast_ctz64(std::uint64_t x) noexcept { return __builtin_ctzll(x); }  // x != 0
        inline int fast_popcount64(std::uint64_t x) noexcept { return __builtin_popcountll(x); }
#else
        inline int fast_popcount64(std::uint64_t x) noexcept
        {
            int n = 0;
            for (; x; x &= x - 1) ++n;
            return n;
        }
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
            /// two raw neighbours (raw_mask has two bits; the MST keeps both): XOR of their ids
            /// (a walk's next node is link ^ previous node, no load from `raw`); otherwise 0
            std::int32_t link;
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

        /// Words of a padded bit row: bit c + 1 = pixel column c (bits 0 and W + 1 stay zero).
        /// ceil(W / 64) + 1 words also keep the 8-byte read of bits3 (bytes c / 8 .. c / 8 + 7,
        /// c < W) inside the row.
        inline std::size_t bit_row_words(std::size_t W) noexcept { return (W + 63) / 64 + 1; }

        /**
         * Occupancy of a 2-D / 3-D image as padded bit planes, read from the
         * image in one pass: plane q (index 0 of the image) is bit plane q + 1
         * of `words` (bit planes 0 and P + 1 are zero); a 3-D bit plane has
         * H + 2 rows (rows 0 and H + 1 zero), a 2-D one is a single row.
         */
        struct skeleton_bits
        {
            std::size_t row_words = 0;                  ///< words per padded bit row
            std::size_t plane_words = 0;                ///< words per padded bit plane
            std::unique_ptr<std::uint64_t[]> words;     ///< (P + 2) bit planes
            std::unique_ptr<std::uint32_t[]> row_count; ///< non-zero pixels of every image row (P * H rows)
            /// parallel to `words` (image rows with pixels only): C-order index of the first
            /// pixel at or after the word = node id of the word's first set bit
            std::unique_ptr<std::uint32_t[]> word_start;
            std::vector<std::int64_t> plane_start;      ///< prefix sum of the non-zero pixels per plane (P + 1)
            /// byte images: every non-zero pixel holds the byte `value` (then node values need no second read)
            bool uniform = false;
            unsigned char value = 0;
            const std::uint64_t* plane(std::size_t q) const noexcept { return words.get() + (q + 1) * plane_words; }
        };

        /// Bits of n <= 64 samples (bit i = src[i] != 0); an all-zero 64-byte chunk is found by one OR.
        template <class T>
        std::uint64_t nonzero_chunk_bits(const T* src, std::size_t n) noexcept
        {
            if constexpr (sizeof(T) == 1 && std::is_integral<T>::value)
            {
                if (n == 64)
                {
#if defined(__SSE2__)
#if defined(__AVX2__)
                    const auto* v = reinterpret_cast<const __m256i*>(src);
                    const __m256i o = _mm256_or_si256(_mm256_loadu_si256(v), _mm256_loadu_si256(v + 1));
                    if (_mm256_testz_si256(o, o))
                    {
                        return 0;
                    }
#else
                    const auto* v = reinterpret_cast<const __m128i*>(src);
                    const __m128i o = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(v), _mm_loadu_si128(v + 1)),
                                                   _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3)));
                    if (_mm_movemask_epi8(_mm_cmpeq_epi8(o, _mm_setzero_si128())) == 0xffff)
                    {
                        return 0;
                    }
#endif
#else
                    std::uint64_t o = 0;
                    for (std::size_t k = 0; k < 8; ++k)
                    {
                        std::uint64_t w;
                        std::memcpy(&w, reinterpret_cast<const unsigned char*>(src) + 8 * k, 8);
                        o |= w;
                    }
                    if (o == 0)
                    {
                        return 0;
                    }
#endif
                    return pack_nonzero_64(src, 64);
                }
                unsigned char buf[64] = {};  // short tail: through the 64-byte path
                std::memcpy(buf, src, n);
                return nonzero_chunk_bits(buf, 64);
            }
            else
            {
                return pack_nonzero_64(src, n);
            }
        }

        /// Whether the 64 bytes at src equal v exactly where `bits` (their non-zero bits) are set.
        inline bool chunk_equals_where(const unsigned char* src, std::uint64_t bits, unsigned char v) noexcept
        {
#if defined(__SSE2__)
            const __m128i vv = _mm_set1_epi8(static_cast<char>(v));
            std::uint64_t eq = 0;
            for (std::size_t k = 0; k < 4; ++k)
            {
                const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * k));
                eq |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, vv))))
                      << (16 * k);
            }
            return eq == bits;
#else
            for (; bits; bits &= bits - 1)
            {
                if (src[fast_ctz64(bits)] != v)
                {
                    return false;
                }
            }
            return true;
#endif
        }

        /**
         * Scan a contiguous 2-D / 3-D image once into skeleton_bits: padded
         * bit rows, per-row and per-plane counts. `out.words` must hold
         * (P + 2) * plane_words words (set by the caller).
         */
        template <class T>
        void scan_skeleton_bits(const T* data, const std::vector<std::size_t>& shape, skeleton_bits& out)
        {
            const std::size_t ndim = shape.size();
            const std::size_t P = shape[0];
            const std::size_t H = ndim == 3 ? shape[1] : 1;
            const std::size_t W = shape[ndim - 1];
            const std::size_t RW = out.row_words;
            const std::size_t n_chunks = (W + 63) / 64;
            std::uint64_t* wd = out.words.get();
            std::uint32_t* rc = out.row_count.get();
            std::uint32_t* ws = out.word_start.get();
            std::uint32_t running = 0;  // pixels before the current row (mod 2^32: N is checked later)
            out.plane_start.assign(P + 1, 0);
            constexpr bool bytes = sizeof(T) == 1 && std::is_integral<T>::value;
            bool uniform = bytes;
            bool have_value = false;
            unsigned char value = 0;
            std::fill(wd, wd + out.plane_words, std::uint64_t(0));  // bit plane "-1"
            std::fill(wd + (P + 1) * out.plane_words, wd + (P + 2) * out.plane_words, std::uint64_t(0));
            for (std::size_t q = 0; q < P; ++q)
            {
                std::uint64_t* pl = wd + (q + 1) * out.plane_words;
                if (ndim == 3)
                {
                    std::fill(pl, pl + RW, std::uint64_t(0));
                    std::fill(pl + (H + 1) * RW, pl + (H + 2) * RW, std::uint64_t(0));
                }
                std::int64_t plane_count = 0;
                for (std::size_t y = 0; y < H; ++y)
                {
                    const T* src = data + (q * H + y) * W;
                    std::uint64_t* dst = pl + (ndim == 3 ? (y + 1) * RW : 0);
                    std::uint64_t carry = 0;  // bit 63 of the previous chunk -> bit 0 of this word
                    std::uint32_t cnt = 0;
                    std::size_t j = 0;
                    // byte images: are all non-zero pixels the same value (the first one seen)?
                    auto check_uniform = [&](const T* chunk, std::uint64_t b, std::size_t n) {
                        if constexpr (bytes)
                        {
                            const auto* cb = reinterpret_cast<const unsigned char*>(chunk);
                            if (!have_value)
                            {
                                value = cb[fast_ctz64(b)];
                                have_value = true;
                            }
                            if (n == 64)
                            {
                                uniform = chunk_equals_where(cb, b, value);
                            }
                            else
                            {
                                unsigned char buf[64] = {};
                                std::memcpy(buf, cb, n);
                                uniform = chunk_equals_where(buf, b, value);
                            }
                        }
                    };
                    for (; j + 1 < n_chunks; ++j)
                    {
                        const std::uint64_t b = nonzero_chunk_bits(src + 64 * j, 64);
                        dst[j] = (b << 1) | carry;
                        carry = b >> 63;
                        if (b)
                        {
                            cnt += static_cast<std::uint32_t>(fast_popcount64(b));
                            if (uniform)
                            {
                                check_uniform(src + 64 * j, b, 64);
                            }
                        }
                    }
                    if (j < n_chunks)  // last (possibly partial) chunk
                    {
                        const std::uint64_t b = nonzero_chunk_bits(src + 64 * j, W - 64 * j);
                        dst[j] = (b << 1) | carry;
                        carry = b >> 63;
                        if (b)
                        {
                            cnt += static_cast<std::uint32_t>(fast_popcount64(b));
                            if (uniform)
                            {
                                check_uniform(src + 64 * j, b, W - 64 * j);
                            }
                        }
                    }
                    dst[n_chunks] = carry;  // RW = n_chunks + 1
                    rc[q * H + y] = cnt;
                    if (cnt)
                    {
                        std::uint32_t* wsr = ws + (dst - wd);
                        for (std::size_t k = 0; k < RW; ++k)
                        {
                            wsr[k] = running;
                            running += static_cast<std::uint32_t>(fast_popcount64(dst[k]));
                        }
                    }
                    plane_count += cnt;
                }
                out.plane_start[q + 1] = out.plane_start[q] + plane_count;
            }
            out.uniform = uniform && have_value;
            out.value = value;
        }

        /// Bits of columns c - 1, c, c + 1 of a padded bit row (padded bits c .. c + 2).
        inline std::uint32_t bits3(const std::uint64_t* row, std::size_t c) noexcept
        {
#if XSKAN_SKELETONIZE_LITTLE_ENDIAN
            std::uint64_t w;
            std::memcpy(&w, reinterpret_cast<const unsigned char*>(row) + (c >> 3), 8);
            return static_cast<std::uint32_t>(w >> (c & 7)) & 7u;
#else
            const std::size_t s = c & 63;
            const std::uint64_t w = (row[c >> 6] >> s) | ((row[(c >> 6) + 1] << 1) << (63 - s));
            return static_cast<std::uint32_t>(w) & 7u;
#endif
        }

        /**
         * Whether the fast builder can handle this image: ndim 2 or 3, node ids
         * and raw neighbour entries fit in int32 (n_nodes = 0: shape check
         * only), and the bit planes + 3-plane id ring are not much larger than
         * the image itself.
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
            const std::size_t W = shape[ndim - 1];
            if (W > lim)
            {
                return false;
            }
            const std::size_t w = W + 2;
            const std::size_t H = ndim == 3 ? shape[1] : 1;
            if (ndim == 3 && H > lim / w)
            {
                return false;
            }
            const std::size_t plane = ndim == 3 ? (H + 2) * w : w;
            if (plane > lim)
            {
                return false;
            }
            const std::size_t bit_plane = (ndim == 3 ? H + 2 : 1) * bit_row_words(W);
            const std::size_t budget = 2 * image + (std::size_t(64) << 20);
            if (shape[0] > budget / 8 / bit_plane)
            {
                return false;
            }
            return plane * 12 + (shape[0] + 2) * bit_plane * 8 + shape[0] * H * 4 <= budget;
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
            // junction pixels (degree >= 3 before the MST; deg[] is still the raw degree) as bits:
            // the neighbour test reads this small array instead of the neighbours' records
            const std::size_t n_jw = (N + 63) / 64;
            std::unique_ptr<std::uint64_t[]> jbits(new std::uint64_t[n_jw + 1]);
            std::uint64_t* jb = jbits.get();
            for (std::size_t w = 0; w < n_jw; ++w)
            {
                const std::size_t e = std::min(N, 64 * w + 64);
                std::uint64_t bw = 0;
                std::size_t i = 64 * w;
#if defined(__AVX2__)
                const __m256i two = _mm256_set1_epi32(2);
                for (; i + 8 <= e; i += 8)
                {
                    const __m256i dv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(deg + i));
                    const auto m8 = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(dv, two))));
                    bw |= static_cast<std::uint64_t>(m8) << (i & 63);
                }
#endif
                for (; i < e; ++i)
                {
                    bw |= static_cast<std::uint64_t>(deg[i] >= 3) << (i & 63);
                }
                jb[w] = bw;
            }
            auto is_junction = [jb](std::int32_t j) {
                return (jb[static_cast<std::size_t>(j) >> 6] >> (static_cast<std::size_t>(j) & 63)) & 1u;
            };
            for (std::size_t w = 0; w < n_jw; ++w)  // junctions in id order
            {
                for (std::uint64_t bw = jb[w]; bw; bw &= bw - 1)
                {
                    const std::size_t i = 64 * w + static_cast<std::size_t>(fast_ctz64(bw));
                    const fast_node& nd = nds[i];
                    std::uint32_t m = (diag_shortcut || right_shortcut) ? nd.raw_mask : nd.raw_mask & ~low_half;
                    std::size_t ent = static_cast<std::size_t>(nd.ptr) +
                                      static_cast<std::size_t>(fast_popcount(nd.raw_mask & ~m));
                    std::uint32_t jm = 0;  // offsets of the junction neighbours
                    for (; m; m &= m - 1, ++ent)
                    {
                        if (is_junction(rw[ent]))
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
         * Pixel graph of a contiguous 2-D / 3-D image (NDIM = ndim), given its
         * bit rows and counts (scan_skeleton_bits). Same result as build_raw_pixel_graph (+
         * mst_junctions when `mst`): node ids in C order, neighbours in
         * increasing id order, weights dist(offset) or hypot(height difference,
         * dist); junction MST with the stable rule (weight, smaller id, larger
         * id), processed bucket by bucket of equal weight in CSR order (or a
         * stable sort with value_is_height). Optional labels = scipy's
         * connected-component labels (the MST does not change connectivity).
         */
        template <class T, int NDIM>
        void fast_pixel_graph(const T* data, const std::vector<std::size_t>& shape,
                              const skeleton_bits& bits, const std::vector<double>& spacing,
                              bool value_is_height, value_kind kind, bool mst, const fast_graph_out& out)
        {
            static_assert(NDIM == 2 || NDIM == 3, "fast_pixel_graph: 2-D or 3-D");
            constexpr int K = NDIM == 2 ? 8 : 26;
            constexpr int KH = K / 2;
            constexpr std::uint32_t low_half = (1u << KH) - 1u;
            const std::size_t P = shape[0];
            const std::size_t H = NDIM == 3 ? shape[1] : 1;
            const std::size_t W = shape[NDIM - 1];
            const std::vector<std::int64_t>& plane_start = bits.plane_start;
            const std::uint32_t* row_count = bits.row_count.get();
            const std::size_t RW = bits.row_words;
            const auto N = static_cast<std::size_t>(plane_start[P]);

            // Neighbour offsets in lexicographic order (increasing ids), centre excluded.
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
            // node values: 1 for bool images; one value everywhere when the scan found a single
            // non-zero byte value; else read per node
            bool read_values = kind != value_kind::boolean;
            double fill = 1.0;
            if constexpr (sizeof(T) == 1 && std::is_integral<T>::value)
            {
                if (read_values && bits.uniform)
                {
                    T v;
                    std::memcpy(&v, &bits.value, 1);
                    fill = static_cast<double>(v);
                    read_values = false;
                }
            }
            values.assign(N, fill);
            double* vptr = values.data();
            std::unique_ptr<fast_node[]> nodes(new fast_node[N + 1]);
            // degrees before the MST, filled by the sweep (reserved, not zeroed first)
            auto& degrees = *out.degrees;
            degrees.clear();
            degrees.reserve(N);
            std::unique_ptr<std::int32_t[]> lab_parent(out.labels ? new std::int32_t[N + 1] : nullptr);
            std::size_t raw_cap = N * (NDIM == 2 ? 4 : 6) + 64;
            std::unique_ptr<std::int32_t[]> raw(new std::int32_t[raw_cap]);
            std::size_t raw_n = 0;

            auto lfind = [&](std::int32_t x) {
                std::int32_t* lp = lab_parent.get();
                while (lp[x] != x)
                {
                    lp[x] = lp[lp[x]];
                    x = lp[x];
                }
                return x;
            };

            const std::uint64_t* words0 = bits.words.get();
            const std::uint32_t* ws = bits.word_start.get();
            for (std::size_t p = 0; p < P; ++p)
            {
                const auto b = static_cast<std::size_t>(plane_start[p]);
                const auto e = static_cast<std::size_t>(plane_start[p + 1]);
                if (b == e)
                {
                    continue;
                }
                // bit planes p - 1, p, p + 1 (the planes before the first and after the last are zero)
                const std::uint64_t* bp[3] = {bits.plane(p) - bits.plane_words, bits.plane(p),
                                              bits.plane(p) + bits.plane_words};
                if (raw_n + (e - b) * K + 2 > raw_cap)  // + 2: a window's ids are written as three
                {
                    const std::size_t cap = std::max(raw_cap * 2, raw_n + (e - b) * K + 2);
                    std::unique_ptr<std::int32_t[]> bigger(new std::int32_t[cap]);
                    std::memcpy(bigger.get(), raw.get(), raw_n * sizeof(std::int32_t));
                    raw = std::move(bigger);
                    raw_cap = cap;
                }
                std::int32_t* rw = raw.get();
                std::size_t i = b;
                constexpr int R = NDIM == 2 ? 3 : 9;  // neighbouring rows; row R / 2 is the pixel's own
                for (std::size_t y = 0; y < H; ++y)
                {
                    std::uint32_t left = row_count[p * H + y];
                    if (!left)
                    {
                        continue;
                    }
                    // the neighbouring bit rows and their per-word first ids, once per row
                    // (word index of each row in `words` = in `word_start`)
                    std::size_t ro[R];
                    for (int d = 0; d < R / 3; ++d)
                    {
                        const std::size_t first = static_cast<std::size_t>(bp[d] - words0) + (NDIM == 2 ? 0 : y * RW);
                        const std::size_t step = NDIM == 2 ? bits.plane_words : RW;
                        ro[3 * d] = first;
                        ro[3 * d + 1] = first + step;
                        ro[3 * d + 2] = first + 2 * step;
                    }
                    const std::uint64_t* br = words0 + ro[R / 2];
                    for (std::size_t j = 0; left; ++j)
                    {
                        for (std::uint64_t wb = br[j]; wb; wb &= wb - 1)
                        {
                            --left;
                            const std::size_t c = 64 * j + static_cast<std::size_t>(fast_ctz64(wb)) - 1;
                            std::int64_t* cr = cptr + i * NDIM;
                            cr[0] = static_cast<std::int64_t>(p);
                            if (NDIM == 3)
                            {
                                cr[1] = static_cast<std::int64_t>(y);
                            }
                            cr[NDIM - 1] = static_cast<std::int64_t>(c);
                            if (read_values)
                            {
                                vptr[i] = static_cast<double>(data[(p * H + y) * W + c]);
                            }
                            // 3x3(x3) block around the pixel -> bit mask in offset order: three bits
                            // (columns c - 1, c, c + 1) of each neighbouring bit row
                            std::uint32_t full = 0;  // 9 / 27 bits, centre included
                            std::uint32_t nz = 0;    // rows with a neighbour (bit r)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 9
#endif
                            for (int r = 0; r < R; ++r)
                            {
                                const std::uint32_t t = bits3(words0 + ro[r], c);
                                full |= t << (3 * r);
#if !defined(__BMI2__)
                                if (NDIM == 3)
                                {
                                    nz |= static_cast<std::uint32_t>(t != 0) << r;
                                }
#endif
                            }
#if defined(__BMI2__)
                            if (NDIM == 3)
                            {
                                nz = _pext_u32(full | (full >> 1) | (full >> 2), 0x1249249u);
                            }
#endif
                            constexpr int C = K / 2;  // centre bit
                            const std::uint32_t mask = (full & ((1u << C) - 1u)) | ((full >> (C + 1)) << C);
                            fast_node& nd = nodes[i];
                            nd.raw_mask = mask;
                            nd.mask = mask;
                            nd.ptr = static_cast<std::int32_t>(raw_n);
                            degrees.push_back(fast_popcount(mask));
                            // neighbour ids in offset order = row by row, left to right: the first set
                            // pixel of a row window is the word's first id + the set bits before column
                            // c - 1; the ids of a window are consecutive (written as three, kept as many
                            // as set: raw has K entries of room per node)
                            const std::size_t cw = c >> 6;
                            const std::uint64_t below = (std::uint64_t(1) << (c & 63)) - 1u;
                            // (only rows with a neighbour: word starts are only set for rows with pixels)
                            auto emit_row = [&](int r) {
                                const std::size_t wi = ro[r] + cw;
                                const auto id = static_cast<std::int32_t>(ws[wi] + static_cast<std::uint32_t>(fast_popcount64(words0[wi] & below)));
                                rw[raw_n] = id;
                                rw[raw_n + 1] = id + 1;
                                rw[raw_n + 2] = id + 2;
                                raw_n += static_cast<std::size_t>(fast_popcount((full >> (3 * r)) & 7u));
                            };
                            auto emit_centre = [&] {
                                const std::uint32_t t = (full >> (3 * (R / 2))) & 7u;
                                rw[raw_n] = static_cast<std::int32_t>(i) - 1;
                                raw_n += t & 1u;
                                rw[raw_n] = static_cast<std::int32_t>(i) + 1;
                                raw_n += t >> 2;
                            };
                            if (NDIM == 2)  // 2 of 3 rows: unrolled
                            {
                                if (full & 7u)
                                {
                                    emit_row(0);
                                }
                                emit_centre();
                                if (full & (7u << 6))
                                {
                                    emit_row(2);
                                }
                            }
                            else  // 3-D: few of the 9 rows hold neighbours
                            {
                                for (std::uint32_t m = nz & ((1u << (R / 2)) - 1u); m; m &= m - 1)
                                {
                                    emit_row(fast_ctz(m));
                                }
                                emit_centre();
                                for (std::uint32_t m = nz >> (R / 2 + 1); m; m &= m - 1)
                                {
                                    emit_row(fast_ctz(m) + R / 2 + 1);
                                }
                            }
                            nd.link = raw_n - static_cast<std::size_t>(nd.ptr) == 2
                                          ? rw[static_cast<std::size_t>(nd.ptr)] ^ rw[static_cast<std::size_t>(nd.ptr) + 1]
                                          : 0;
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
                                // id of the neighbour at the lowest offset set in m
                                auto neighbour_at = [&](std::uint32_t m) {
                                    const int k = fast_ctz(m);
                                    return rw[static_cast<std::size_t>(nd.ptr) +
                                              static_cast<std::size_t>(fast_popcount(mask & ((1u << k) - 1u)))];
                                };
                                if (back && !(back & (back - 1)))
                                {
                                    // one backward neighbour j: join its tree through j's parent (same
                                    // component, id <= j < i; no find: the forest stays valid and
                                    // later finds compress)
                                    lp[i] = lp[neighbour_at(back)];
                                    back = 0;
                                }
                                for (; back; back &= back - 1)
                                {
                                    const std::int32_t rn = lfind(neighbour_at(back));
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
                            ++i;
                        }
                    }
                }
            }
            nodes[N] = fast_node{0u, 0u, static_cast<std::int32_t>(raw_n), 0};
            std::int32_t* rw = raw.get();
            fast_node* nds = nodes.get();

            std::int32_t* deg = degrees.data();

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
                lab.clear();
                lab.reserve(N);
                std::int64_t next = 0;
                for (std::size_t i = 0; i < N; ++i)
                {
                    const std::int32_t r = lfind(static_cast<std::int32_t>(i));
                    lab.push_back((static_cast<std::size_t>(r) == i) ? next++ : lab[static_cast<std::size_t>(r)]);
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
            if (!fast_graph_applicable(shape, 0))
            {
                return false;
            }
            skeleton_bits bits;
            bits.row_words = bit_row_words(shape[ndim - 1]);
            bits.plane_words = (ndim == 3 ? shape[1] + 2 : 1) * bits.row_words;
            bits.words.reset(new std::uint64_t[(P + 2) * bits.plane_words]);
            bits.row_count.reset(new std::uint32_t[P * (ndim == 3 ? shape[1] : 1)]);
            bits.word_start.reset(new std::uint32_t[(P + 2) * bits.plane_words]);
            scan_skeleton_bits(data, shape, bits);
            if (!fast_graph_applicable(shape, static_cast<std::size_t>(bits.plane_start[P])))
            {
                return false;
            }
            if (ndim == 2)
            {
                fast_pixel_graph<T, 2>(data, shape, bits, spacing, value_is_height, kind, mst, out);
            }
            else
            {
                fast_pixel_graph<T, 3>(data, shape, bits, spacing, value_is_height, kind, mst, out);
            }
            return true;
        }
    }  // namespace detail
}  // namespace xskan

#endif
