/**
 * @file detail/skeleton_graph.hpp
 * @brief Internals of the skeleton-graph module: pixel-graph construction
 *        over a contiguous n-D image, skan's junction MST, path tracing,
 *        connected components.
 *
 * Everything here works on raw contiguous row-major memory with 64-bit
 * indices; the public wrappers are in pixel_graph.hpp, skeleton.hpp and
 * summarize.hpp.
 */
#ifndef XSKAN_DETAIL_SKELETON_GRAPH_HPP
#define XSKAN_DETAIL_SKELETON_GRAPH_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xutils.hpp>

#include "common.hpp"
#include "numpy_sum.hpp"

namespace xskan
{
    /**
     * @brief Compressed sparse row graph (symmetric for undirected graphs;
     *        column indices sorted within every row).
     */
    struct csr_graph
    {
        std::vector<std::int64_t> indptr;   ///< size n_nodes + 1
        std::vector<std::int64_t> indices;  ///< neighbour node ids
        std::vector<double> data;           ///< edge weights
        /// Number of nodes (rows).
        std::size_t n_nodes() const noexcept { return indptr.empty() ? 0 : indptr.size() - 1; }
        /// Number of stored (directed) entries; an undirected edge is stored twice.
        std::size_t n_edges() const noexcept { return indices.size(); }
    };

    /**
     * @brief Options shared by skeleton_to_csgraph and the skeleton class.
     */
    struct skeleton_options
    {
        /// Pixel spacing: empty = 1 on every axis; one value = same on every
        /// axis; else one per axis. Every value must be finite and > 0.
        std::vector<double> spacing = {};
        /// Treat the pixel value as a height: edge weight = hypot(value difference, distance).
        bool value_is_height = false;
    };

    namespace detail
    {
        /// How node values are derived from the image's value type.
        enum class value_kind : std::uint8_t
        {
            boolean,  ///< bool image: every node value is 1.0
            integer,  ///< integer image: value converted to double
            float32,  ///< float image: exact widening; height differences in float
            float64   ///< double (or wider) image
        };

        template <class T>
        constexpr value_kind value_kind_of() noexcept
        {
            if (std::is_same<T, bool>::value)
            {
                return value_kind::boolean;
            }
            if (std::is_integral<T>::value)
            {
                return value_kind::integer;
            }
            if (std::is_same<T, float>::value)
            {
                return value_kind::float32;
            }
            return value_kind::float64;
        }

        /// Spacing normalised to one positive finite value per axis; throws std::invalid_argument.
        inline std::vector<double> normalize_spacing(const std::vector<double>& spacing, std::size_t ndim,
                                                     const char* func)
        {
            std::vector<double> out;
            if (spacing.empty())
            {
                out.assign(ndim, 1.0);
            }
            else if (spacing.size() == 1)
            {
                out.assign(ndim, spacing[0]);
            }
            else if (spacing.size() == ndim)
            {
                out = spacing;
            }
            else
            {
                throw std::invalid_argument(std::string("xskan::") + func + ": spacing has " +
                                            std::to_string(spacing.size()) + " values for a " + std::to_string(ndim) +
                                            "-D image (give none, one, or one per axis)");
            }
            for (std::size_t a = 0; a < out.size(); ++a)
            {
                if (!(out[a] > 0.0) || !std::isfinite(out[a]))
                {
                    throw std::invalid_argument(std::string("xskan::") + func + ": spacing[" + std::to_string(a) +
                                                "] = " + std::to_string(out[a]) +
                                                " is not allowed (every spacing must be finite and > 0)");
                }
            }
            return out;
        }

        /**
         * a * b rounded to double, never fused into a neighbouring addition
         * (compilers contract `x + a*b` to an FMA under -march=native with
         * -ffp-contract=fast, which would change results in the last bit;
         * numpy never fuses).
         */
        inline double rounded_product(double a, double b) noexcept
        {
            double p = a * b;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
            __asm__("" : "+x"(p));
#elif defined(__GNUC__) && defined(__aarch64__)
            __asm__("" : "+w"(p));
#elif defined(__GNUC__)
            __asm__("" : "+m"(p));
#else
            volatile double v = p;
            p = v;
#endif
            return p;
        }

        /// A contiguous row-major view of an expression's data (copying only when needed).
        template <class T>
        struct contiguous_image
        {
            xt::xarray<T, xt::layout_type::row_major> storage;
            const T* ptr = nullptr;
            std::vector<std::size_t> shape;
            std::size_t size = 0;
        };

        template <class D>
        bool is_row_major_contiguous(const D& d)
        {
            const auto& shape = d.shape();
            const auto& strides = d.strides();
            std::ptrdiff_t expected = 1;
            for (std::size_t a = shape.size(); a-- > 0;)
            {
                if (shape[a] != 1 && static_cast<std::ptrdiff_t>(strides[a]) != expected)
                {
                    return false;
                }
                expected *= static_cast<std::ptrdiff_t>(shape[a]);
            }
            return true;
        }

        template <class T, class E>
        void make_contiguous(const xt::xexpression<E>& expr, contiguous_image<T>& out)
        {
            const auto& d = expr.derived_cast();
            out.shape.assign(d.shape().begin(), d.shape().end());
            out.size = checked_size(out.shape, "skeleton");
            if constexpr (xt::has_data_interface<E>::value &&
                          std::is_same<std::decay_t<typename E::value_type>, T>::value)
            {
                if (is_row_major_contiguous(d))
                {
                    out.ptr = d.data() + d.data_offset();
                    return;
                }
            }
            out.storage = xt::cast<T>(d);
            out.ptr = out.storage.data();
        }

        /// Number of non-zero bytes in p[0..n) (SWAR, 8 bytes per step).
        inline std::int64_t count_nonzero_bytes(const unsigned char* p, std::size_t n) noexcept
        {
            constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
            constexpr std::uint64_t ones = 0x0101010101010101ULL;
            constexpr std::uint64_t lanes16 = 0x00ff00ff00ff00ffULL;
            std::int64_t total = 0;
            std::size_t c = 0;
            while (c + 8 <= n)
            {
                std::uint64_t acc = 0;  // eight byte counters, at most 255 steps
                for (int k = 0; k < 255 && c + 8 <= n; ++k, c += 8)
                {
                    std::uint64_t w;
                    std::memcpy(&w, p + c, 8);
                    acc += ((((w & low7) + low7) | w) >> 7) & ones;
                }
                const std::uint64_t s16 = (acc & lanes16) + ((acc >> 8) & lanes16);
                total += static_cast<std::int64_t>((s16 * 0x0001000100010001ULL) >> 48);
            }
            for (; c < n; ++c)
            {
                total += p[c] != 0 ? 1 : 0;
            }
            return total;
        }

        /// Pixel graph of the non-zero pixels (before the junction MST).
        struct raw_pixel_graph
        {
            csr_graph graph;
            xt::xtensor<std::int64_t, 2> coordinates;
            std::vector<double> values;
        };

        /// Height difference v_i - v_j as skan computes it (in float for float32 images).
        inline double height_difference(double vi, double vj, value_kind kind) noexcept
        {
            if (kind == value_kind::float32)
            {
                return static_cast<double>(static_cast<float>(vi) - static_cast<float>(vj));
            }
            return vi - vj;
        }

        /**
         * Build the full-connectivity pixel graph of the non-zero pixels of a
         * contiguous row-major image. Node id = rank in C order. Works line by
         * line (a line = all pixels sharing the leading ndim-1 coordinates):
         * neighbours of a pixel are found by merging the sorted column lists
         * of the 3^(ndim-1) neighbouring lines, so no full-size label image
         * is needed. O(image size) scan + O(N · 3^ndim) graph work.
         */
        template <class T>
        void build_raw_pixel_graph(const T* data, const std::vector<std::size_t>& shape,
                                   const std::vector<double>& spacing, bool value_is_height, value_kind kind,
                                   raw_pixel_graph& out)
        {
            const std::size_t ndim = shape.size();
            const std::size_t width = shape[ndim - 1];
            std::size_t n_lines = 1;
            for (std::size_t a = 0; a + 1 < ndim; ++a)
            {
                n_lines *= shape[a];
            }
            // Pass 1: count the non-zero pixels of every line.
            std::vector<std::int64_t> line_start(n_lines + 1, 0);
            {
                const T* p = data;
                std::int64_t total = 0;
                for (std::size_t l = 0; l < n_lines; ++l)
                {
                    line_start[l] = total;
                    std::int64_t cnt = 0;
                    std::size_t c = 0;
                    if constexpr (sizeof(T) == 1 && std::is_integral<T>::value)
                    {
                        cnt = count_nonzero_bytes(reinterpret_cast<const unsigned char*>(p), width);
                        c = width;
                    }
                    for (; c < width; ++c)
                    {
                        cnt += (p[c] != T(0)) ? 1 : 0;
                    }
                    total += cnt;
                    p += width;
                }
                line_start[n_lines] = total;
            }
            const std::size_t n = static_cast<std::size_t>(line_start[n_lines]);

            // Pass 2: coordinates and values of every node.
            out.coordinates = xt::xtensor<std::int64_t, 2>::from_shape({n, ndim});
            out.values.assign(n, 1.0);
            {
                std::int64_t* coords = out.coordinates.data();
                std::vector<std::int64_t> lead(ndim > 1 ? ndim - 1 : 1, 0);
                const T* p = data;
                std::size_t node = 0;
                for (std::size_t l = 0; l < n_lines; ++l)
                {
                    if (line_start[l + 1] != line_start[l])
                    {
                        auto visit = [&](std::size_t c) {
                            std::int64_t* row = coords + node * ndim;
                            for (std::size_t a = 0; a + 1 < ndim; ++a)
                            {
                                row[a] = lead[a];
                            }
                            row[ndim - 1] = static_cast<std::int64_t>(c);
                            if (kind != value_kind::boolean)
                            {
                                out.values[node] = static_cast<double>(p[c]);
                            }
                            ++node;
                        };
                        std::size_t c = 0;
                        if constexpr (sizeof(T) == 1 && std::is_integral<T>::value)
                        {
                            // skip 8 zero bytes at a time (skeletons are sparse)
                            for (; c + 8 <= width; c += 8)
                            {
                                std::uint64_t word;
                                std::memcpy(&word, p + c, 8);
                                if (word != 0)
                                {
                                    for (std::size_t k = 0; k < 8; ++k)
                                    {
                                        if (p[c + k] != T(0))
                                        {
                                            visit(c + k);
                                        }
                                    }
                                }
                            }
                        }
                        for (; c < width; ++c)
                        {
                            if (p[c] != T(0))
                            {
                                visit(c);
                            }
                        }
                    }
                    p += width;
                    for (std::size_t a = ndim - 1; a-- > 0;)
                    {
                        if (++lead[a] < static_cast<std::int64_t>(shape[a]))
                        {
                            break;
                        }
                        lead[a] = 0;
                    }
                }
            }

            // Neighbour line offsets in lexicographic order (so neighbour ids come out sorted).
            const std::size_t nlead = ndim - 1;
            std::size_t n_off = 1;
            for (std::size_t a = 0; a < nlead; ++a)
            {
                n_off *= 3;
            }
            std::vector<std::int64_t> line_stride(nlead, 1);
            for (std::size_t a = nlead; a-- > 0;)
            {
                line_stride[a] = (a + 1 < nlead) ? line_stride[a + 1] * static_cast<std::int64_t>(shape[a + 1]) : 1;
            }
            std::vector<int> offsets(n_off * (nlead > 0 ? nlead : 1), 0);
            std::vector<std::int64_t> line_delta(n_off, 0);
            std::vector<double> dist(n_off * 3, 0.0);
            for (std::size_t k = 0; k < n_off; ++k)
            {
                std::size_t rem = k;
                std::int64_t delta = 0;
                for (std::size_t a = nlead; a-- > 0;)
                {
                    const int o = static_cast<int>(rem % 3) - 1;
                    rem /= 3;
                    offsets[k * nlead + a] = o;
                    delta += o * line_stride[a];
                }
                line_delta[k] = delta;
                for (int dc = -1; dc <= 1; ++dc)
                {
                    // numpy: sqrt(sum((offset * spacing)**2, axis=1)), axis 0 first.
                    std::vector<double> sq(ndim);
                    for (std::size_t a = 0; a < nlead; ++a)
                    {
                        const double w = offsets[k * nlead + a] * spacing[a];
                        sq[a] = rounded_product(w, w);
                    }
                    const double w = dc * spacing[ndim - 1];
                    sq[ndim - 1] = rounded_product(w, w);
                    dist[k * 3 + static_cast<std::size_t>(dc + 1)] = std::sqrt(numpy_pairwise_sum(sq.data(), ndim));
                }
            }

            // Two sweeps over the lines: the first counts the neighbours of every
            // node (exact CSR allocation, no regrowth), the second writes them.
            csr_graph& g = out.graph;
            g.indptr.assign(n + 1, 0);
            const std::int64_t* coords = out.coordinates.data();
            std::vector<std::int64_t> cursor(n_off), cursor_end(n_off);
            std::vector<std::size_t> valid(n_off);
            std::vector<std::int64_t> lead(nlead > 0 ? nlead : 1, 0);
            auto sweep_nd = [&](auto stride_tag, auto&& emit) {
                // compile-time row stride of `coordinates` for 1-3 D (0 = ndim at run time)
                constexpr std::size_t ct_stride = decltype(stride_tag)::value;
                const std::size_t stride = ct_stride != 0 ? ct_stride : ndim;
                const std::int64_t* cols = coords + (stride - 1);
                auto col_of = [cols, stride](std::int64_t id) { return cols[static_cast<std::size_t>(id) * stride]; };
                std::fill(lead.begin(), lead.end(), 0);
                for (std::size_t l = 0; l < n_lines; ++l)
                {
                    const std::int64_t begin = line_start[l];
                    const std::int64_t end = line_start[l + 1];
                    if (begin != end)
                    {
                        std::size_t n_valid = 0;
                        for (std::size_t k = 0; k < n_off; ++k)
                        {
                            bool ok = true;
                            for (std::size_t a = 0; a < nlead; ++a)
                            {
                                const std::int64_t c = lead[a] + offsets[k * nlead + a];
                                if (c < 0 || c >= static_cast<std::int64_t>(shape[a]))
                                {
                                    ok = false;
                                    break;
                                }
                            }
                            if (ok)
                            {
                                const auto lk = static_cast<std::size_t>(static_cast<std::int64_t>(l) + line_delta[k]);
                                if (line_start[lk] != line_start[lk + 1])
                                {
                                    valid[n_valid] = k;
                                    cursor[n_valid] = line_start[lk];
                                    cursor_end[n_valid] = line_start[lk + 1];
                                    ++n_valid;
                                }
                            }
                        }
                        for (std::int64_t i = begin; i < end; ++i)
                        {
                            const std::int64_t c = col_of(i);
                            for (std::size_t v = 0; v < n_valid; ++v)
                            {
                                std::int64_t p = cursor[v];
                                const std::int64_t pe = cursor_end[v];
                                while (p < pe && col_of(p) < c - 1)
                                {
                                    ++p;
                                }
                                cursor[v] = p;
                                for (; p < pe; ++p)
                                {
                                    const std::int64_t cp = col_of(p);
                                    if (cp > c + 1)
                                    {
                                        break;
                                    }
                                    if (p != i)
                                    {
                                        emit(i, p, valid[v] * 3 + static_cast<std::size_t>(cp - c + 1));
                                    }
                                }
                            }
                        }
                    }
                    for (std::size_t a = nlead; a-- > 0;)
                    {
                        if (++lead[a] < static_cast<std::int64_t>(shape[a]))
                        {
                            break;
                        }
                        lead[a] = 0;
                    }
                }
            };
            // One sweep, appending to buffers reserved for up to 6 neighbours per
            // node (reserved, not touched: untouched pages cost nothing); denser
            // graphs just grow.
            auto sweep = [&](auto&& emit) {
                switch (ndim)
                {
                    case 1: sweep_nd(std::integral_constant<std::size_t, 1>{}, emit); break;
                    case 2: sweep_nd(std::integral_constant<std::size_t, 2>{}, emit); break;
                    case 3: sweep_nd(std::integral_constant<std::size_t, 3>{}, emit); break;
                    default: sweep_nd(std::integral_constant<std::size_t, 0>{}, emit); break;
                }
            };
            std::int64_t* indptr = g.indptr.data();
            const std::size_t guess = n * std::min<std::size_t>(n_off * 3 - 1, 6) + 16;
            g.indices.clear();
            g.data.clear();
            g.indices.reserve(guess);
            g.data.reserve(guess);
            const double* values = out.values.data();
            std::int64_t last = -1;
            auto close_rows = [&](std::int64_t upto) {
                // rows last+1 .. upto start at the current size
                const auto sz = static_cast<std::int64_t>(g.indices.size());
                for (std::int64_t r = last + 1; r <= upto; ++r)
                {
                    indptr[r] = sz;
                }
                last = upto;
            };
            if (value_is_height)
            {
                sweep([&](std::int64_t i, std::int64_t p, std::size_t off) {
                    if (i != last)
                    {
                        close_rows(i);
                    }
                    g.indices.push_back(p);
                    g.data.push_back(std::hypot(
                        height_difference(values[static_cast<std::size_t>(i)], values[static_cast<std::size_t>(p)], kind),
                        dist[off]));
                });
            }
            else
            {
                sweep([&](std::int64_t i, std::int64_t p, std::size_t off) {
                    if (i != last)
                    {
                        close_rows(i);
                    }
                    g.indices.push_back(p);
                    g.data.push_back(dist[off]);
                });
            }
            close_rows(static_cast<std::int64_t>(n));
        }

        /// Row lengths of a CSR graph.
        inline std::vector<std::int32_t> csr_degrees(const csr_graph& g)
        {
            const std::size_t n = g.n_nodes();
            std::vector<std::int32_t> deg(n);
            for (std::size_t i = 0; i < n; ++i)
            {
                deg[i] = static_cast<std::int32_t>(g.indptr[i + 1] - g.indptr[i]);
            }
            return deg;
        }

        /// Position of `col` in row `row` of g (or -1).
        inline std::int64_t csr_find(const csr_graph& g, std::int64_t row, std::int64_t col) noexcept
        {
            const auto r = static_cast<std::size_t>(row);
            const std::int64_t* b = g.indices.data() + g.indptr[r];
            const std::int64_t* e = g.indices.data() + g.indptr[r + 1];
            for (const std::int64_t* p = b; p != e; ++p)
            {
                if (*p == col)
                {
                    return p - g.indices.data();
                }
            }
            return -1;
        }

        /// Find with path halving.
        inline std::int64_t uf_find(std::vector<std::int64_t>& parent, std::int64_t x) noexcept
        {
            while (parent[static_cast<std::size_t>(x)] != x)
            {
                auto& px = parent[static_cast<std::size_t>(x)];
                px = parent[static_cast<std::size_t>(px)];
                x = px;
            }
            return x;
        }

        /**
         * skan's `_mst_junctions` with the stable tie rule: among the edges
         * whose two ends have degree >= 3, keep a minimum spanning forest found
         * by Kruskal over the edges sorted by (weight, smaller id, larger id)
         * (NaN weights last), delete the other junction-junction edges (both
         * directions). Modifies g in place.
         */
        inline void mst_junctions(csr_graph& g)
        {
            const std::size_t n = g.n_nodes();
            if (n == 0)
            {
                return;
            }
            const std::vector<std::int32_t> deg = csr_degrees(g);
            std::vector<std::int64_t> junctions;
            for (std::size_t i = 0; i < n; ++i)
            {
                if (deg[i] >= 3)
                {
                    junctions.push_back(static_cast<std::int64_t>(i));
                }
            }
            if (junctions.size() < 2)
            {
                return;
            }
            // Junction-junction entries (i < j) in CSR order, i.e. in (i, j) order.
            struct jentry
            {
                double w;
                std::int64_t pos;  // CSR position of (i, j)
                std::int64_t i;
            };
            std::vector<jentry> edges;
            for (const std::int64_t i : junctions)
            {
                for (std::int64_t p = g.indptr[static_cast<std::size_t>(i)];
                     p < g.indptr[static_cast<std::size_t>(i) + 1]; ++p)
                {
                    const std::int64_t j = g.indices[static_cast<std::size_t>(p)];
                    if (j > i && deg[static_cast<std::size_t>(j)] >= 3)
                    {
                        edges.push_back({g.data[static_cast<std::size_t>(p)], p, i});
                    }
                }
            }
            if (edges.empty())
            {
                return;
            }
            // Union-find over node ids; only junction slots are ever touched.
            std::unique_ptr<std::int64_t[]> parent(new std::int64_t[n]);
            for (const std::int64_t j : junctions)
            {
                parent[static_cast<std::size_t>(j)] = j;
            }
            auto find = [&](std::int64_t x) {
                while (parent[static_cast<std::size_t>(x)] != x)
                {
                    auto& px = parent[static_cast<std::size_t>(x)];
                    px = parent[static_cast<std::size_t>(px)];
                    x = px;
                }
                return x;
            };
            std::vector<std::uint8_t> drop(g.n_edges(), 0);
            bool any_drop = false;
            auto kruskal_step = [&](const jentry& e) {
                const std::int64_t j = g.indices[static_cast<std::size_t>(e.pos)];
                const std::int64_t ri = find(e.i);
                const std::int64_t rj = find(j);
                if (ri != rj)
                {
                    parent[static_cast<std::size_t>(ri)] = rj;
                }
                else
                {
                    drop[static_cast<std::size_t>(e.pos)] = 1;
                    drop[static_cast<std::size_t>(csr_find(g, j, e.i))] = 1;
                    any_drop = true;
                }
            };
            // Kruskal order = (weight, i, j) with NaN last = a stable sort by weight of
            // the CSR-ordered entries. Without heights there are only a few distinct
            // weights (1, sqrt 2, ...): process them bucket by bucket (linear).
            std::vector<double> distinct;
            bool few = true;
            for (const jentry& e : edges)
            {
                if (std::isnan(e.w) || std::find(distinct.begin(), distinct.end(), e.w) != distinct.end())
                {
                    continue;
                }
                distinct.push_back(e.w);
                if (distinct.size() > 16)
                {
                    few = false;
                    break;
                }
            }
            if (few)
            {
                std::sort(distinct.begin(), distinct.end());
                for (const double v : distinct)
                {
                    for (const jentry& e : edges)
                    {
                        if (e.w == v)
                        {
                            kruskal_step(e);
                        }
                    }
                }
                for (const jentry& e : edges)
                {
                    if (std::isnan(e.w))
                    {
                        kruskal_step(e);
                    }
                }
            }
            else
            {
                std::stable_sort(edges.begin(), edges.end(), [](const jentry& x, const jentry& y) {
                    const bool xn = std::isnan(x.w), yn = std::isnan(y.w);
                    if (xn != yn)
                    {
                        return yn;  // non-NaN first
                    }
                    return !xn && x.w < y.w;
                });
                for (const jentry& e : edges)
                {
                    kruskal_step(e);
                }
            }
            if (!any_drop)
            {
                return;
            }
            std::size_t w = 0;
            std::int64_t row_begin = 0;
            for (std::size_t i = 0; i < n; ++i)
            {
                const std::int64_t row_end = g.indptr[i + 1];
                for (std::int64_t p = row_begin; p < row_end; ++p)
                {
                    if (!drop[static_cast<std::size_t>(p)])
                    {
                        g.indices[w] = g.indices[static_cast<std::size_t>(p)];
                        g.data[w] = g.data[static_cast<std::size_t>(p)];
                        ++w;
                    }
                }
                row_begin = row_end;
                g.indptr[i + 1] = static_cast<std::int64_t>(w);
            }
            g.indices.resize(w);
            g.data.resize(w);
        }

        /// Traced paths in CSR form plus their lengths.
        struct traced_paths
        {
            std::vector<std::int64_t> indptr{0};
            std::vector<std::int64_t> indices;
            std::vector<double> lengths;
        };

        /**
         * skan's `_build_paths`: phase 1 walks from every node of degree 1 or
         * >= 3 (id order) along each unvisited edge (CSR order) through
         * degree-2 nodes; phase 2 walks the remaining isolated cycles (start
         * node repeated at the end). Lengths are sequential sums of the CSR
         * weights in path order.
         */
        inline void trace_paths(const csr_graph& g, const std::vector<std::int32_t>& deg, traced_paths& out)
        {
            const std::size_t n = g.n_nodes();
            out.indptr.assign(1, 0);
            out.indices.clear();
            out.lengths.clear();
            {
                // exact except for isolated cycles (one repeated node each)
                std::size_t entries = 0, ends = 0;
                for (std::size_t i = 0; i < n; ++i)
                {
                    const auto d = static_cast<std::size_t>(deg[i]);
                    entries += d >= 3 ? d : (d > 0 ? 1 : 0);
                    ends += (d == 1 || d >= 3) ? d : 0;
                }
                out.indices.reserve(entries + entries / 64 + 16);
                out.lengths.reserve(ends / 2 + ends / 64 + 16);
                out.indptr.reserve(ends / 2 + ends / 64 + 17);
            }
            std::vector<std::uint8_t> visited(g.n_edges(), 0);
            const std::int64_t* indptr = g.indptr.data();
            const std::int64_t* indices = g.indices.data();
            const double* data = g.data.data();

            auto mark_reverse = [&](std::int64_t from, std::int64_t to) {
                for (std::int64_t q = indptr[from]; q < indptr[from + 1]; ++q)
                {
                    if (indices[q] == to)
                    {
                        visited[static_cast<std::size_t>(q)] = 1;
                        return;
                    }
                }
            };
            // Walk starting with CSR entry p = (node -> neighbour).
            auto walk = [&](std::int64_t node, std::int64_t p) {
                const std::int64_t start = node;
                out.indices.push_back(node);
                double d = 0.0;
                while (!visited[static_cast<std::size_t>(p)])
                {
                    const std::int64_t nb = indices[p];
                    visited[static_cast<std::size_t>(p)] = 1;
                    mark_reverse(nb, node);
                    out.indices.push_back(nb);
                    d += data[p];
                    if (deg[static_cast<std::size_t>(nb)] != 2 || nb == start)
                    {
                        break;
                    }
                    // next = the other neighbour of nb
                    const std::int64_t q0 = indptr[nb];
                    const std::int64_t q = (indices[q0] != node) ? q0 : q0 + 1;
                    node = nb;
                    p = q;
                }
                out.lengths.push_back(d);
                out.indptr.push_back(static_cast<std::int64_t>(out.indices.size()));
            };
            for (std::size_t i = 0; i < n; ++i)
            {
                const std::int32_t d = deg[i];
                if (d > 2 || d == 1)
                {
                    for (std::int64_t p = indptr[i]; p < indptr[i + 1]; ++p)
                    {
                        if (!visited[static_cast<std::size_t>(p)])
                        {
                            walk(static_cast<std::int64_t>(i), p);
                        }
                    }
                }
            }
            for (std::size_t i = 0; i < n; ++i)
            {
                if (deg[i] > 0)
                {
                    const std::int64_t p = indptr[i];
                    if (!visited[static_cast<std::size_t>(p)])
                    {
                        walk(static_cast<std::int64_t>(i), p);
                    }
                }
            }
        }

        /**
         * Connected-component labels as scipy.sparse.csgraph.connected_components
         * (undirected): labels in order of each component's smallest node id,
         * isolated nodes get their own label.
         */
        inline std::vector<std::int64_t> connected_component_labels(const csr_graph& g)
        {
            const std::size_t n = g.n_nodes();
            std::vector<std::int64_t> label(n, -1);
            std::vector<std::int64_t> stack;
            std::int64_t next = 0;
            for (std::size_t s = 0; s < n; ++s)
            {
                if (label[s] >= 0)
                {
                    continue;
                }
                label[s] = next;
                stack.push_back(static_cast<std::int64_t>(s));
                while (!stack.empty())
                {
                    const std::int64_t u = stack.back();
                    stack.pop_back();
                    for (std::int64_t p = g.indptr[static_cast<std::size_t>(u)];
                         p < g.indptr[static_cast<std::size_t>(u) + 1]; ++p)
                    {
                        const auto v = static_cast<std::size_t>(g.indices[static_cast<std::size_t>(p)]);
                        if (label[v] < 0)
                        {
                            label[v] = next;
                            stack.push_back(static_cast<std::int64_t>(v));
                        }
                    }
                }
                ++next;
            }
            return label;
        }
    }  // namespace detail
}  // namespace xskan

#endif
