/**
 * @file detail/mean_std_band.hpp
 * @brief The band-streaming engine behind mean_std / Sauvola / Niblack:
 *        local window sums of x and x² over an odd box, bitwise equal to
 *        scikit-image 0.19's integral-image computation, but without ever
 *        materialising a full-size integral image.
 *
 * scikit-image pads the image (numpy 'reflect' = xskan::mode::mirror) by
 * (w//2 + 1, w//2) per axis, takes S = cumsum over axis 0, then axis 1, ...
 * in float64, and combines the 2^ndim corners of a (w+1)-box. A slice of S
 * at padded row p along axis 0 equals the integral image, over the remaining
 * axes, of C[p] = P[0] + P[1] + ... + P[p] (sequential, as numpy's cumsum).
 * The engine therefore keeps two running column sums C (the "trail" row i
 * and the "lead" row i + w0 of output row i), recomputes the slice integral
 * of each, and combines corners in scikit-image's order. Every floating-point
 * operation is the same as scikit-image's, in the same order, so the window
 * sums are bitwise identical; memory is O(padded slice) per thread.
 *
 * A band of output rows [r0, r1) can be processed independently: it first
 * rebuilds C at row r0 by summing the padded rows 0..r0 (cheap, vectorised
 * adds). When every partial sum is an exactly representable integer
 * (integer images with max|x|² · padded size ≤ 2^53) the sums are exact in
 * any order and a band starts directly at its own rows.
 */
#ifndef XSKAN_DETAIL_MEAN_STD_BAND_HPP
#define XSKAN_DETAIL_MEAN_STD_BAND_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "../integral_image.hpp"
#include "../mode.hpp"
#include "common.hpp"
#include "parallel.hpp"
#include "threshold_fp.hpp"

namespace xskan
{
    namespace detail
    {
        /// Everything the band engine needs to know about the image and the window.
        struct box_geometry
        {
            struct corner
            {
                bool lead;         ///< axis-0 component is w0 (lead row) rather than 0 (trail row)
                std::size_t off;   ///< offset inside the padded slice
                bool plus;         ///< sign +1 (true) or -1
            };

            std::size_t ndim = 0;
            std::vector<std::size_t> shape;
            std::vector<std::size_t> window;
            std::size_t rows = 0;       ///< output rows (extent of axis 0)
            std::size_t row_size = 1;   ///< elements per row (product of extents 1..ndim-1)
            std::size_t w0 = 1;
            std::vector<std::ptrdiff_t> pad0;              ///< source row of every padded row
            std::vector<std::size_t> pshape;               ///< padded extents of axes 1..ndim-1
            std::vector<std::size_t> pstride;              ///< strides of the padded slice
            std::vector<std::size_t> istride;              ///< strides of an input row (axes 1..)
            std::vector<std::vector<std::ptrdiff_t>> pad;  ///< per slice axis: source index of each padded position
            std::size_t slice_size = 1;                    ///< product of pshape
            std::vector<corner> corners;                   ///< scikit-image's order (itertools.product)
            double window_count = 1.0;                     ///< prod(window) as a double
        };

        inline box_geometry make_box_geometry(const std::vector<std::size_t>& shape,
                                              const std::vector<std::size_t>& window)
        {
            box_geometry g;
            g.ndim = shape.size();
            g.shape = shape;
            g.window = window;
            g.rows = shape[0];
            g.w0 = window[0];
            for (std::size_t a = 1; a < g.ndim; ++a)
            {
                g.row_size *= shape[a];
            }
            g.pad0 = pad_indices(shape[0], window[0] / 2 + 1, window[0] / 2, mode::mirror);
            const std::size_t k = g.ndim - 1;
            g.pshape.resize(k);
            g.pstride.resize(k);
            g.istride.resize(k);
            g.pad.resize(k);
            for (std::size_t a = 0; a < k; ++a)
            {
                const std::size_t n = shape[a + 1];
                const std::size_t w = window[a + 1];
                g.pshape[a] = n + w;
                g.pad[a] = pad_indices(n, w / 2 + 1, w / 2, mode::mirror);
            }
            std::size_t ps = 1;
            std::size_t is = 1;
            for (std::size_t a = k; a-- > 0;)
            {
                g.pstride[a] = ps;
                g.istride[a] = is;
                ps *= g.pshape[a];
                is *= shape[a + 1];
            }
            g.slice_size = ps;
            for (auto w : window)
            {
                g.window_count *= static_cast<double>(w);
            }
            // corners in itertools.product order, first axis slowest
            const std::size_t nc = std::size_t(1) << g.ndim;
            for (std::size_t ci = 0; ci < nc; ++ci)
            {
                box_geometry::corner c{};
                std::size_t count_w = 0;
                for (std::size_t a = 0; a < g.ndim; ++a)
                {
                    const bool bit = ((ci >> (g.ndim - 1 - a)) & 1u) != 0;
                    if (!bit)
                    {
                        continue;
                    }
                    ++count_w;
                    if (a == 0)
                    {
                        c.lead = true;
                    }
                    else
                    {
                        c.off += window[a] * g.pstride[a - 1];
                    }
                }
                c.plus = (count_w % 2) == (g.ndim % 2);
                g.corners.push_back(c);
            }
            return g;
        }

        /// True when every partial sum of x and x² over the padded image is an exactly representable integer.
        template <class T>
        bool box_sums_exact(const T* data, std::size_t n, const box_geometry& g)
        {
            if (!std::is_integral<T>::value)
            {
                return false;
            }
            double padded_size = static_cast<double>(g.rows + g.w0) * static_cast<double>(g.slice_size);
            double maxabs = 0;
            if (sizeof(T) <= 2)
            {
                maxabs = std::max(std::abs(static_cast<double>(std::numeric_limits<T>::max())),
                                  std::abs(static_cast<double>(std::numeric_limits<T>::min())));
            }
            else
            {
                for (std::size_t i = 0; i < n; ++i)
                {
                    maxabs = std::max(maxabs, std::abs(static_cast<double>(data[i])));
                }
            }
            return maxabs * maxabs * padded_size <= 9007199254740992.0;   // 2^53
        }

        /**
         * @brief Streams the window sums of x and x² row by row (axis 0).
         * @tparam F working type of scikit-image (float for float32, else double)
         */
        template <class F, class T>
        class box_sum_engine
        {
        public:
            box_sum_engine(const T* data, const box_geometry& g, bool exact_integer)
                : m_data(data), m_g(g), m_exact(exact_integer)
            {
            }

            /// Call `sink(i, S1, S2)` for every output row i in [r0, r1), in order.
            template <class Sink>
            void run(std::size_t r0, std::size_t r1, Sink&& sink) const
            {
                if (r0 >= r1)
                {
                    return;
                }
                if constexpr (std::is_integral<T>::value)
                {
                    if (m_exact)
                    {
                        run_exact_integer(r0, r1, sink);
                        return;
                    }
                }
                const std::size_t q = m_g.slice_size;
                std::vector<double> c1t(q, 0.), c2t(q, 0.), c1l(q), c2l(q);
                std::vector<double> p(q), s(q);
                std::vector<double> i1t(q), i2t(q), i1l(q), i2l(q);
                std::vector<double> sum1(m_g.row_size), sum2(m_g.row_size);

                const std::size_t start = m_exact ? r0 : 0;
                for (std::size_t r = start; r <= r0; ++r)
                {
                    add_row(r, c1t.data(), c2t.data(), p.data(), s.data());
                }
                std::copy(c1t.begin(), c1t.end(), c1l.begin());
                std::copy(c2t.begin(), c2t.end(), c2l.begin());
                for (std::size_t r = r0 + 1; r <= r0 + m_g.w0; ++r)
                {
                    add_row(r, c1l.data(), c2l.data(), p.data(), s.data());
                }
                for (std::size_t i = r0; i < r1; ++i)
                {
                    if (i > r0)
                    {
                        add_row(i, c1t.data(), c2t.data(), p.data(), s.data());
                        add_row(i + m_g.w0, c1l.data(), c2l.data(), p.data(), s.data());
                    }
                    slice_integrals(c1t.data(), c2t.data(), c1l.data(), c2l.data(), i1t.data(), i2t.data(),
                                    i1l.data(), i2l.data());
                    combine(i1t.data(), i1l.data(), sum1.data());
                    combine(i2t.data(), i2l.data(), sum2.data());
                    sink(i, static_cast<const double*>(sum1.data()), static_cast<const double*>(sum2.data()));
                }
            }

        private:
            template <class U>
            static U convert(T v) noexcept
            {
                if constexpr (std::is_floating_point<U>::value)
                {
                    return static_cast<U>(static_cast<F>(v));
                }
                else
                {
                    return static_cast<U>(v);
                }
            }

            /**
             * Integer images whose sums are exact (see box_sums_exact): the window
             * sums do not depend on the order of the additions, so keep vertical
             * window sums V = Σ_{rows of the window} P in int64 and integrate them
             * over the slice with 1-cycle integer adds. Same S1, S2 as the
             * float64 corner formula, bit for bit.
             */
            template <class Sink>
            void run_exact_integer(std::size_t r0, std::size_t r1, Sink&& sink) const
            {
                using I = std::int64_t;
                const std::size_t q = m_g.slice_size;
                std::vector<I> v1(q, 0), v2(q, 0), a(q), b(q), i1(q), i2(q), acc;
                std::vector<double> sum1(m_g.row_size), sum2(m_g.row_size);
                // window rows of output row i are the padded rows i+1 .. i+w0
                for (std::size_t r = r0 + 1; r <= r0 + m_g.w0; ++r)
                {
                    gather_padded(m_data + static_cast<std::size_t>(m_g.pad0[r]) * m_g.row_size, a.data());
                    for (std::size_t k = 0; k < q; ++k)
                    {
                        v1[k] += a[k];
                        v2[k] += a[k] * a[k];
                    }
                }
                for (std::size_t i = r0; i < r1; ++i)
                {
                    if (i > r0)
                    {
                        gather_padded(m_data + static_cast<std::size_t>(m_g.pad0[i + m_g.w0]) * m_g.row_size, a.data());
                        gather_padded(m_data + static_cast<std::size_t>(m_g.pad0[i]) * m_g.row_size, b.data());
                        for (std::size_t k = 0; k < q; ++k)
                        {
                            v1[k] += a[k] - b[k];
                            v2[k] += a[k] * a[k] - b[k] * b[k];
                        }
                    }
                    if (m_g.ndim == 2)
                    {
                        I c1 = 0;
                        I c2 = 0;
                        for (std::size_t k = 0; k < q; ++k)
                        {
                            c1 += v1[k];
                            c2 += v2[k];
                            i1[k] = c1;
                            i2[k] = c2;
                        }
                    }
                    else
                    {
                        std::copy(v1.begin(), v1.end(), i1.begin());
                        std::copy(v2.begin(), v2.end(), i2.begin());
                        if (m_g.ndim > 2)
                        {
                            integral_image_inplace(i1.data(), m_g.pshape);
                            integral_image_inplace(i2.data(), m_g.pshape);
                        }
                    }
                    combine_lead(i1.data(), sum1.data(), acc);
                    combine_lead(i2.data(), sum2.data(), acc);
                    sink(i, static_cast<const double*>(sum1.data()), static_cast<const double*>(sum2.data()));
                }
            }

            // S = Σ over the lead corners of ±IV[corner] (exact integers), converted to double.
            void combine_lead(const std::int64_t* iv, double* out, std::vector<std::int64_t>& acc) const
            {
                const std::size_t k = m_g.ndim - 1;
                const std::size_t n_last = (k == 0) ? 1 : m_g.shape[k];
                const std::size_t lines = m_g.row_size / n_last;
                std::vector<std::size_t> idx(k == 0 ? 0 : k - 1, 0);
                acc.resize(n_last);
                for (std::size_t line = 0; line < lines; ++line)
                {
                    std::size_t base = 0;
                    for (std::size_t a = 0; a + 1 < k; ++a)
                    {
                        base += idx[a] * m_g.pstride[a];
                    }
                    bool first = true;
                    for (const auto& c : m_g.corners)
                    {
                        if (!c.lead)
                        {
                            continue;
                        }
                        const std::int64_t* src = iv + base + c.off;
                        const std::int64_t sign = c.plus ? 1 : -1;
                        if (first)
                        {
                            for (std::size_t j = 0; j < n_last; ++j)
                            {
                                acc[j] = sign * src[j];
                            }
                            first = false;
                        }
                        else if (c.plus)
                        {
                            for (std::size_t j = 0; j < n_last; ++j)
                            {
                                acc[j] += src[j];
                            }
                        }
                        else
                        {
                            for (std::size_t j = 0; j < n_last; ++j)
                            {
                                acc[j] -= src[j];
                            }
                        }
                    }
                    double* o = out + line * n_last;
                    for (std::size_t j = 0; j < n_last; ++j)
                    {
                        o[j] = static_cast<double>(acc[j]);
                    }
                    for (std::size_t a = idx.size(); a-- > 0;)
                    {
                        if (++idx[a] < m_g.shape[a + 1])
                        {
                            break;
                        }
                        idx[a] = 0;
                    }
                }
            }

            // p[q] = F(x) as double, s[q] = F(F(x)²) as double, then c1 += p, c2 += s
            // (two loops: a product is never fused with the following add).
            void add_row(std::size_t padded_row, double* c1, double* c2, double* p, double* s) const
            {
                const T* src = m_data + static_cast<std::size_t>(m_g.pad0[padded_row]) * m_g.row_size;
#if defined(__AVX2__)
                if constexpr (std::is_same<T, double>::value)
                {
                    if (m_g.ndim == 2)
                    {
                        add_row_2d(src, c1, c2);
                        return;
                    }
                }
#endif
                gather_padded(src, p);
                const std::size_t q = m_g.slice_size;
                if (std::is_same<F, float>::value)
                {
                    for (std::size_t k = 0; k < q; ++k)
                    {
                        const float f = static_cast<float>(p[k]);
                        s[k] = static_cast<double>(static_cast<float>(f * f));
                    }
                }
                else
                {
                    for (std::size_t k = 0; k < q; ++k)
                    {
                        s[k] = p[k] * p[k];
                    }
                }
                fp_fence(s);
                for (std::size_t k = 0; k < q; ++k)
                {
                    c1[k] += p[k];
                }
                for (std::size_t k = 0; k < q; ++k)
                {
                    c2[k] += s[k];
                }
            }

#if defined(__AVX2__)
            // add_row for a 2-D float64 image in one pass: c1 += x, c2 += x·x with the
            // product rounded on its own (no_fma), the reflected ends element by element.
            void add_row_2d(const double* src, double* c1, double* c2) const
            {
                const std::size_t len = m_g.pshape[0];
                const std::size_t n = m_g.shape[1];
                const auto& pad = m_g.pad[0];
                const std::size_t b = std::min(m_g.window[1] / 2 + 1, len);
                const std::size_t mid_end = std::min(b + n, len);
                auto one = [&](std::size_t j, double x) {
                    const double sq = no_fma(x * x);
                    c1[j] += x;
                    c2[j] += sq;
                };
                for (std::size_t j = 0; j < b; ++j)
                {
                    one(j, src[pad[j]]);
                }
                std::size_t j = b;
                const double* s = src - b;
                for (; j + 4 <= mid_end; j += 4)
                {
                    const __m256d x = _mm256_loadu_pd(s + j);
                    const __m256d sq = no_fma(_mm256_mul_pd(x, x));
                    _mm256_storeu_pd(c1 + j, _mm256_add_pd(_mm256_loadu_pd(c1 + j), x));
                    _mm256_storeu_pd(c2 + j, _mm256_add_pd(_mm256_loadu_pd(c2 + j), sq));
                }
                for (; j < mid_end; ++j)
                {
                    one(j, s[j]);
                }
                for (j = mid_end; j < len; ++j)
                {
                    one(j, src[pad[j]]);
                }
            }
#endif

            // The padded slice of one input row, converted to F then to U (double, or int64 when exact).
            template <class U>
            void gather_padded(const T* src, U* out) const
            {
                const std::size_t k = m_g.ndim - 1;
                if (k == 0)
                {
                    out[0] = convert<U>(src[0]);
                    return;
                }
                const std::size_t lines = m_g.slice_size / m_g.pshape[k - 1];
                const auto& last = m_g.pad[k - 1];
                const std::size_t len = m_g.pshape[k - 1];
                const std::size_t n = m_g.shape[k];
                const std::size_t before = m_g.window[k] / 2 + 1;
                std::size_t idx_small[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                std::vector<std::size_t> idx_big(k > 8 ? k : 0, 0);
                std::size_t* idx = k > 8 ? idx_big.data() : idx_small;
                for (std::size_t line = 0; line < lines; ++line)
                {
                    std::size_t base = 0;
                    for (std::size_t a = 0; a + 1 < k; ++a)
                    {
                        base += static_cast<std::size_t>(m_g.pad[a][idx[a]]) * m_g.istride[a];
                    }
                    const T* s = src + base;
                    U* o = out + line * len;
                    const std::size_t b = std::min(before, len);
                    for (std::size_t j = 0; j < b; ++j)
                    {
                        o[j] = convert<U>(s[last[j]]);
                    }
                    const std::size_t mid_end = std::min(before + n, len);
                    for (std::size_t j = b; j < mid_end; ++j)
                    {
                        o[j] = convert<U>(s[j - before]);
                    }
                    for (std::size_t j = mid_end; j < len; ++j)
                    {
                        o[j] = convert<U>(s[last[j]]);
                    }
                    // odometer over the outer slice axes (0 .. k-2)
                    for (std::size_t a = k - 1; a-- > 0;)
                    {
                        if (++idx[a] < m_g.pshape[a])
                        {
                            break;
                        }
                        idx[a] = 0;
                    }
                }
            }

            void slice_integrals(const double* c1t, const double* c2t, const double* c1l, const double* c2l,
                                 double* i1t, double* i2t, double* i1l, double* i2l) const
            {
                const std::size_t q = m_g.slice_size;
                const std::size_t k = m_g.ndim - 1;
                if (k == 1)
                {
                    // four independent sequential prefix sums, interleaved
                    double a = 0, b = 0, c = 0, d = 0;
                    for (std::size_t j = 0; j < q; ++j)
                    {
                        a = (j == 0) ? c1t[0] : a + c1t[j];
                        b = (j == 0) ? c2t[0] : b + c2t[j];
                        c = (j == 0) ? c1l[0] : c + c1l[j];
                        d = (j == 0) ? c2l[0] : d + c2l[j];
                        i1t[j] = a;
                        i2t[j] = b;
                        i1l[j] = c;
                        i2l[j] = d;
                    }
                    return;
                }
                std::copy(c1t, c1t + q, i1t);
                std::copy(c2t, c2t + q, i2t);
                std::copy(c1l, c1l + q, i1l);
                std::copy(c2l, c2l + q, i2l);
                if (k >= 1)
                {
                    integral_image_inplace(i1t, m_g.pshape);
                    integral_image_inplace(i2t, m_g.pshape);
                    integral_image_inplace(i1l, m_g.pshape);
                    integral_image_inplace(i2l, m_g.pshape);
                }
            }

            // S = Σ ±I[corner] in scikit-image's order, for every output position of the row.
            void combine(const double* it, const double* il, double* out) const
            {
                const std::size_t k = m_g.ndim - 1;
                if (k == 1)
                {
                    // corners (0,0)+, (0,w)-, (w,0)-, (w,w)+ in one pass, same order of additions
                    const std::size_t n = m_g.shape[1];
                    const std::size_t w = m_g.window[1];
                    for (std::size_t j = 0; j < n; ++j)
                    {
                        out[j] = ((it[j] - it[j + w]) - il[j]) + il[j + w];
                    }
                    return;
                }
                const std::size_t n_last = (k == 0) ? 1 : m_g.shape[k];
                const std::size_t lines = m_g.row_size / n_last;
                std::vector<std::size_t> idx(k == 0 ? 0 : k - 1, 0);
                for (std::size_t line = 0; line < lines; ++line)
                {
                    std::size_t base = 0;
                    for (std::size_t a = 0; a + 1 < k; ++a)
                    {
                        base += idx[a] * m_g.pstride[a];
                    }
                    double* o = out + line * n_last;
                    bool first = true;
                    for (const auto& c : m_g.corners)
                    {
                        const double* src = (c.lead ? il : it) + base + c.off;
                        if (first)
                        {
                            if (c.plus)
                            {
                                for (std::size_t j = 0; j < n_last; ++j)
                                {
                                    o[j] = src[j];
                                }
                            }
                            else
                            {
                                for (std::size_t j = 0; j < n_last; ++j)
                                {
                                    o[j] = -src[j];
                                }
                            }
                            first = false;
                        }
                        else if (c.plus)
                        {
                            for (std::size_t j = 0; j < n_last; ++j)
                            {
                                o[j] += src[j];
                            }
                        }
                        else
                        {
                            for (std::size_t j = 0; j < n_last; ++j)
                            {
                                o[j] -= src[j];
                            }
                        }
                    }
                    for (std::size_t a = idx.size(); a-- > 0;)
                    {
                        if (++idx[a] < m_g.shape[a + 1])
                        {
                            break;
                        }
                        idx[a] = 0;
                    }
                }
            }

            const T* m_data;
            const box_geometry& m_g;
            bool m_exact;
        };

        /**
         * @brief Split `rows` output rows into `bands` bands so that every band
         *        costs about the same when a band starting at row b first pays
         *        `prefix_cost · b` to rebuild its running sums.
         */
        inline std::vector<std::size_t> band_bounds(std::size_t rows, std::size_t bands, double prefix_cost)
        {
            std::vector<std::size_t> b(bands + 1, 0);
            double geo = 0;
            double f = 1;
            for (std::size_t t = 0; t < bands; ++t)
            {
                geo += f;
                f *= (1.0 - prefix_cost);
            }
            const double c = static_cast<double>(rows) / geo;
            double pos = 0;
            for (std::size_t t = 1; t < bands; ++t)
            {
                pos = c + (1.0 - prefix_cost) * pos;
                b[t] = std::min<std::size_t>(rows, static_cast<std::size_t>(pos + 0.5));
                b[t] = std::max(b[t], b[t - 1]);
            }
            b[bands] = rows;
            return b;
        }

        /**
         * @brief Run the engine over all rows on `threads` threads; `make_sink()`
         *        is called once per band and must return a callable `(i, S1, S2)`.
         */
        template <class F, class T, class MakeSink>
        void for_each_box_row(const T* data, const box_geometry& g, std::size_t threads, MakeSink&& make_sink)
        {
            const std::size_t n = g.rows * g.row_size;
            const bool exact = box_sums_exact(data, n, g);
            box_sum_engine<F, T> engine(data, g, exact);
            // one band per thread, at least two rows per band
            const std::size_t max_bands = std::max<std::size_t>(1, g.rows / 2);
            const std::size_t nt = resolve_threads(threads, max_bands);
            const auto bounds = band_bounds(g.rows, nt, exact ? 0.0 : 0.08);
            parallel_for(nt, nt, [&](std::size_t t) {
                auto sink = make_sink();
                engine.run(bounds[t], bounds[t + 1], sink);
            });
        }
    }  // namespace detail
}  // namespace xskan

#endif
