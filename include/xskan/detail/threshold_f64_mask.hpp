/**
 * @file detail/threshold_f64_mask.hpp
 * @brief Sauvola mask of a 2-D float64 image without scikit-image's
 *        sequential row prefix sums (except for the rare undecided pixels).
 *
 * scikit-image's window sums S = ((I_t[j] - I_t[j+w]) - I_l[j]) + I_l[j+w]
 * come from sequential prefix sums I of the column cumsums C_t (trail row)
 * and C_l (lead row). The column cumsums are kept exactly (same additions as
 * numpy, see mean_std_band.hpp); only the latency-bound sequential row prefix
 * is replaced by an estimate: D = C_l - C_t, a blocked SIMD prefix E of D and
 * Se = E[j+w] - E[j]. Both S and Se approximate the same real number
 * Σ_{q=j+1}^{j+w} (C_l[q] - C_t[q]). Error analysis: I[j+w] − I[j] shares
 * the first j additions of both prefix sums, so only the w additions inside
 * the window round (each by ≤ u·|I| ≤ u·RC), plus three roundings of the
 * corner combination; the same holds for the blocked prefix (≤ w/4 + 1 carry
 * additions inside a window, in-block trees of depth 2, scalar tails at most
 * w additions). Per output row, with R = RC_t + RC_l,
 *
 *     |S - Se| ≤ (2.1·w + 24)·u·R,   RC = Σ_q |C[q]| ≤ 1.01·RA,
 *
 * with w the window width along the row, u = 2⁻⁵³ and RA the running sum of
 * |x| (x²) over all padded rows so far. The pixel decision `x > t` is then
 * taken without a square root, from intervals that contain scikit-image's m
 * and v (half-widths from the bound above and the roundings of m, v, t, using
 * X = max|x| over the padded rows so far): with a = x − (1 − k)·m̂,
 * b = (k/r)·m̂ > δb and d = a² − b²·max(v̂, 0), `x > t` is certain when
 * d > Dd and a > M, and `x ≤ t` when d < −Dd or a < −M, where M bounds the
 * error of a (and of t's own rounding) and Dd that of d. Every other pixel
 * (ties, m ≈ 0, NaN, ...) is recomputed from the exact sequential prefix sums,
 * which are extended lazily along the row only as far as needed. The mask is
 * therefore identical to scikit-image's `image > threshold_sauvola(image)`.
 *
 * Applies to Sauvola with finite k > 0, r > 0 of moderate size; images with
 * huge sums (Σx² > 1e200 over the padded rows so far), inf or NaN fall back
 * row by row to the exact path automatically (their error bound is not finite).
 */
#ifndef XSKAN_DETAIL_THRESHOLD_F64_MASK_HPP
#define XSKAN_DETAIL_THRESHOLD_F64_MASK_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "mean_std_band.hpp"
#include "parallel.hpp"
#include "threshold_fp.hpp"
#include "threshold_rows.hpp"

namespace xskan
{
    namespace detail
    {
        /// True when the estimated-sum float64 Sauvola mask path can be used.
        inline bool f64_mask_applies(const box_geometry& g, const local_params<double>& p)
        {
#if defined(__AVX2__)
            if (g.ndim != 2 || p.formula != local_formula::sauvola)
            {
                return false;
            }
            const double k = p.k;
            const double r = p.r;
            const double c = k / r;
            return std::isfinite(k) && std::isfinite(r) && k > 0 && r > 0 && k < 1e20 && c >= 1e-50 && c <= 1e50 &&
                   std::isfinite(c);
#else
            (void) g;
            (void) p;
            return false;
#endif
        }

#if defined(__AVX2__)
        /// Σ|x|, Σx² and max|x| of a row, 4 lanes (used only in error bounds, so the order is free).
        struct row_bound_lanes
        {
            __m256d s1 = _mm256_setzero_pd();
            __m256d s2 = _mm256_setzero_pd();
            __m256d mx = _mm256_setzero_pd();

            void add(__m256d x, __m256d sq) noexcept
            {
                const __m256d ax = _mm256_andnot_pd(_mm256_set1_pd(-0.0), x);
                s1 = _mm256_add_pd(s1, ax);
                s2 = _mm256_add_pd(s2, sq);
                mx = _mm256_max_pd(mx, ax);
            }

            void flush(double& a1, double& a2, double& m) const noexcept
            {
                alignas(32) double t1[4], t2[4], t3[4];
                _mm256_store_pd(t1, s1);
                _mm256_store_pd(t2, s2);
                _mm256_store_pd(t3, mx);
                a1 += (t1[0] + t1[1]) + (t1[2] + t1[3]);
                a2 += (t2[0] + t2[1]) + (t2[2] + t2[3]);
                m = std::max(m, std::max(std::max(t3[0], t3[1]), std::max(t3[2], t3[3])));
            }
        };

        /// One band (one thread) of the estimated-sum float64 Sauvola mask.
        class f64_sauvola_band
        {
        public:
            f64_sauvola_band(const double* data, const box_geometry& g, const local_params<double>& p)
                : m_data(data), m_g(g), m_p(p), m_q(g.pshape[0]), m_n(g.shape[1]), m_w(g.window[1]),
                  c1t(m_q, 0.), c2t(m_q, 0.), c1l(m_q), c2l(m_q), e1(m_q), e2(m_q), i1t(m_q), i2t(m_q), i1l(m_q),
                  i2l(m_q), ra1(g.rows + g.w0 + 1, 0.), ra2(g.rows + g.w0 + 1, 0.), xmax(g.rows + g.w0 + 1, 0.), ends_t(g.window[1] + 2), ends_l(g.window[1] + 2), m_exact(1)
            {
            }

            /// Number of pixels decided by the exact fallback (for tests and tuning).
            std::size_t fallback_count() const noexcept { return m_fallback; }

            void run(std::size_t r0, std::size_t r1, std::uint8_t* out)
            {
                if (r0 >= r1)
                {
                    return;
                }
                const std::size_t w0 = m_g.w0;
                for (std::size_t r = 0; r <= r0; ++r)
                {
                    add_row(r, c1t.data(), c2t.data());
                }
                std::copy(c1t.begin(), c1t.end(), c1l.begin());
                std::copy(c2t.begin(), c2t.end(), c2l.begin());
                for (std::size_t r = r0 + 1; r <= r0 + w0; ++r)
                {
                    add_row(r, c1l.data(), c2l.data());
                }
                for (std::size_t i = r0; i < r1; ++i)
                {
                    if (i > r0)
                    {
                        advance(i, i + w0);
                    }
                    else
                    {
                        estimate_prefix();
                    }
                    decide_row(i, out + i * m_n);
                }
            }

        private:
            // padded row p of the image, reflected ends element by element
            const double* src_row(std::size_t p) const noexcept
            {
                return m_data + static_cast<std::size_t>(m_g.pad0[p]) * m_n;
            }

            // record Σ|x| and Σx² of padded row p (cumulative over padded rows)
            void record(std::size_t p, double a1, double a2, double mx) noexcept
            {
                ra1[p + 1] = ra1[p] + a1;
                ra2[p + 1] = ra2[p] + a2;
                xmax[p + 1] = std::max(xmax[p], mx);
            }

            // c1 += x, c2 += x·x (product rounded alone) for padded row p, as numpy's cumsum.
            void add_row(std::size_t p, double* c1, double* c2)
            {
                const double* src = src_row(p);
                const auto& pad = m_g.pad[0];
                const std::size_t b = std::min(m_w / 2 + 1, m_q);
                const std::size_t mid_end = std::min(b + m_n, m_q);
                double a1 = 0, a2 = 0, mx = 0;
                auto one = [&](std::size_t j, double x) {
                    const double sq = no_fma(x * x);
                    c1[j] += x;
                    c2[j] += sq;
                    a1 += std::abs(x);
                    a2 += sq;
                    mx = std::max(mx, std::abs(x));
                };
                for (std::size_t j = 0; j < b; ++j)
                {
                    one(j, src[pad[j]]);
                }
                // the interior, 4 lanes (the bounds a1, a2, mx do not depend on the summation order
                // beyond the slack of the file comment; the column sums c1, c2 keep numpy's order)
                const double* s = src - b;
                std::size_t j = b;
                {
                    row_bound_lanes bl;
                    for (; j + 4 <= mid_end; j += 4)
                    {
                        const __m256d x = _mm256_loadu_pd(s + j);
                        const __m256d sq = no_fma(_mm256_mul_pd(x, x));
                        _mm256_storeu_pd(c1 + j, _mm256_add_pd(_mm256_loadu_pd(c1 + j), x));
                        _mm256_storeu_pd(c2 + j, _mm256_add_pd(_mm256_loadu_pd(c2 + j), sq));
                        bl.add(x, sq);
                    }
                    bl.flush(a1, a2, mx);
                }
                for (; j < mid_end; ++j)
                {
                    one(j, s[j]);
                }
                for (std::size_t j = mid_end; j < m_q; ++j)
                {
                    one(j, src[pad[j]]);
                }
                record(p, a1, a2, mx);
            }

            // In one pass: trail row pt into (c1t, c2t), lead row pl into (c1l, c2l) (exact,
            // as numpy's cumsum), and the estimate prefix e of (c_l - c_t); records pl.
            void advance(std::size_t pt, std::size_t pl)
            {
                const double* st = src_row(pt);
                const double* sl = src_row(pl);
                const auto& pad = m_g.pad[0];
                const std::size_t b = std::min(m_w / 2 + 1, m_q);
                const std::size_t mid_end = std::min(b + m_n, m_q);
                // the reflected ends, gathered (at most w + 1 elements per row)
                double* et = ends_t.data();
                double* el = ends_l.data();
                for (std::size_t j = 0; j < b; ++j)
                {
                    et[j] = st[pad[j]];
                    el[j] = sl[pad[j]];
                }
                for (std::size_t j = mid_end; j < m_q; ++j)
                {
                    et[b + j - mid_end] = st[pad[j]];
                    el[b + j - mid_end] = sl[pad[j]];
                }
                advance_state acc;
                advance_segment(et, el, 0, b, acc);
                advance_segment(st - b, sl - b, b, mid_end, acc);
                advance_segment(et + b - mid_end, el + b - mid_end, mid_end, m_q, acc);
                record(pl, acc.a1, acc.a2, acc.mx);
            }

            struct advance_state
            {
                double a1 = 0, a2 = 0, mx = 0;   // Σ|x_lead|, Σx_lead², max|x_lead|
                double k1 = 0, k2 = 0;           // estimate prefix carried along the row
            };

            // columns [j0, j1) of advance(); xt[j], xl[j] are the padded trail / lead values.
            void advance_segment(const double* xt_, const double* xl_, std::size_t j0, std::size_t j1,
                                 advance_state& st)
            {
                double* C1t = c1t.data();
                double* C2t = c2t.data();
                double* C1l = c1l.data();
                double* C2l = c2l.data();
                double* E1 = e1.data();
                double* E2 = e2.data();
                row_bound_lanes bl;
                __m256d carry1 = _mm256_set1_pd(st.k1);
                __m256d carry2 = _mm256_set1_pd(st.k2);
                std::size_t j = j0;
                for (; j + 4 <= j1; j += 4)
                {
                    _mm_prefetch(reinterpret_cast<const char*>(xt_ + j + 64), _MM_HINT_T0);
                    _mm_prefetch(reinterpret_cast<const char*>(xl_ + j + 64), _MM_HINT_T0);
                    const __m256d xt = _mm256_loadu_pd(xt_ + j);
                    const __m256d xl = _mm256_loadu_pd(xl_ + j);
                    const __m256d sqt = no_fma(_mm256_mul_pd(xt, xt));
                    const __m256d sql = no_fma(_mm256_mul_pd(xl, xl));
                    const __m256d n1t = _mm256_add_pd(_mm256_loadu_pd(C1t + j), xt);
                    const __m256d n2t = _mm256_add_pd(_mm256_loadu_pd(C2t + j), sqt);
                    const __m256d n1l = _mm256_add_pd(_mm256_loadu_pd(C1l + j), xl);
                    const __m256d n2l = _mm256_add_pd(_mm256_loadu_pd(C2l + j), sql);
                    _mm256_storeu_pd(C1t + j, n1t);
                    _mm256_storeu_pd(C2t + j, n2t);
                    _mm256_storeu_pd(C1l + j, n1l);
                    _mm256_storeu_pd(C2l + j, n2l);
                    bl.add(xl, sql);
                    const __m256d p1 = scan4(_mm256_sub_pd(n1l, n1t));
                    const __m256d p2 = scan4(_mm256_sub_pd(n2l, n2t));
                    _mm256_storeu_pd(E1 + j, _mm256_add_pd(p1, carry1));
                    _mm256_storeu_pd(E2 + j, _mm256_add_pd(p2, carry2));
                    carry1 = _mm256_add_pd(carry1, _mm256_permute4x64_pd(p1, 0xFF));
                    carry2 = _mm256_add_pd(carry2, _mm256_permute4x64_pd(p2, 0xFF));
                }
                st.k1 = _mm256_cvtsd_f64(carry1);
                st.k2 = _mm256_cvtsd_f64(carry2);
                bl.flush(st.a1, st.a2, st.mx);
                for (; j < j1; ++j)
                {
                    const double xt = xt_[j];
                    const double xl = xl_[j];
                    const double sqt = no_fma(xt * xt);
                    const double sql = no_fma(xl * xl);
                    C1t[j] += xt;
                    C2t[j] += sqt;
                    C1l[j] += xl;
                    C2l[j] += sql;
                    st.a1 += std::abs(xl);
                    st.a2 += sql;
                    st.mx = std::max(st.mx, std::abs(xl));
                    st.k1 += C1l[j] - C1t[j];
                    st.k2 += C2l[j] - C2t[j];
                    E1[j] = st.k1;
                    E2[j] = st.k2;
                }
            }

            // 8 bits -> 8 bytes of 0/1 (little endian: bit l -> byte l)
            static std::uint64_t bits8_to_bytes(unsigned bits) noexcept
            {
#if defined(__BMI2__)
                return _pdep_u64(bits, 0x0101010101010101ull);
#else
                return static_cast<std::uint64_t>(fast_mask_rows<double>::bits_to_bytes(static_cast<int>(bits & 15))) |
                       (static_cast<std::uint64_t>(fast_mask_rows<double>::bits_to_bytes(static_cast<int>(bits >> 4))) << 32);
#endif
            }

            // [a, b, c, d] -> [a, a+b, a+b+c, a+b+c+d]
            static __m256d scan4(__m256d v) noexcept
            {
                const __m256d s1 = _mm256_blend_pd(_mm256_permute4x64_pd(v, 0x90), _mm256_setzero_pd(), 1);
                const __m256d t = _mm256_add_pd(v, s1);
                return _mm256_add_pd(t, _mm256_permute2f128_pd(t, t, 0x08));
            }

            // e = blocked SIMD prefix of (c_l - c_t) for both channels (any order: only an estimate).
            void estimate_prefix()
            {
                const double* C1t = c1t.data();
                const double* C2t = c2t.data();
                const double* C1l = c1l.data();
                const double* C2l = c2l.data();
                double* E1 = e1.data();
                double* E2 = e2.data();
                const __m256d zero = _mm256_setzero_pd();
                __m256d carry1 = zero;
                __m256d carry2 = zero;
                std::size_t j = 0;
                for (; j + 4 <= m_q; j += 4)
                {
                    const __m256d d1 = _mm256_sub_pd(_mm256_loadu_pd(C1l + j), _mm256_loadu_pd(C1t + j));
                    const __m256d d2 = _mm256_sub_pd(_mm256_loadu_pd(C2l + j), _mm256_loadu_pd(C2t + j));
                    const __m256d p1 = scan4(d1);
                    const __m256d p2 = scan4(d2);
                    _mm256_storeu_pd(E1 + j, _mm256_add_pd(p1, carry1));
                    _mm256_storeu_pd(E2 + j, _mm256_add_pd(p2, carry2));
                    carry1 = _mm256_add_pd(carry1, _mm256_permute4x64_pd(p1, 0xFF));
                    carry2 = _mm256_add_pd(carry2, _mm256_permute4x64_pd(p2, 0xFF));
                }
                double k1 = _mm256_cvtsd_f64(carry1);
                double k2 = _mm256_cvtsd_f64(carry2);
                for (; j < m_q; ++j)
                {
                    k1 += C1l[j] - C1t[j];
                    k2 += C2l[j] - C2t[j];
                    E1[j] = k1;
                    E2[j] = k2;
                }
            }

            // exact sequential prefix sums (scikit-image's) of the four rows up to index `upto` inclusive
            void extend_exact(std::size_t upto)
            {
                for (std::size_t q = m_done; q <= upto; ++q)
                {
                    if (q == 0)
                    {
                        i1t[0] = c1t[0];
                        i2t[0] = c2t[0];
                        i1l[0] = c1l[0];
                        i2l[0] = c2l[0];
                    }
                    else
                    {
                        i1t[q] = i1t[q - 1] + c1t[q];
                        i2t[q] = i2t[q - 1] + c2t[q];
                        i1l[q] = i1l[q - 1] + c1l[q];
                        i2l[q] = i2l[q - 1] + c2l[q];
                    }
                }
                m_done = std::max(m_done, upto + 1);
            }

            std::uint8_t exact_pixel(std::size_t j, double x)
            {
                extend_exact(j + m_w);
                const std::size_t w = m_w;
                const double s1 = ((i1t[j] - i1t[j + w]) - i1l[j]) + i1l[j + w];
                const double s2 = ((i2t[j] - i2t[j + w]) - i2l[j]) + i2l[j + w];
                m_exact.mean_std(&s1, &s2, 1, m_p.window_count);
                m_exact.threshold(m_p, 1);
                ++m_fallback;
                return static_cast<std::uint8_t>(x > m_exact.t[0]);
            }

            void decide_row(std::size_t i, std::uint8_t* out)
            {
                constexpr double u = std::numeric_limits<double>::epsilon() / 2;
                m_done = 0;
                const double* x = m_data + i * m_n;
                const double wf = static_cast<double>(m_w);
                // |S - Se| per channel for this row (see the file comment); NaN/inf -> nothing decided
                const double rc1 = 1.01 * (ra1[i + 1] + ra1[i + m_g.w0 + 1]);
                const double rc2 = 1.01 * (ra2[i + 1] + ra2[i + m_g.w0 + 1]);
                const double err1 = (2.1 * wf + 24) * u * rc1;
                const double err2 = (2.1 * wf + 24) * u * rc2;
                const double wc = m_p.window_count;
                const double inv_w = 1.0 / wc;
                const double k = m_p.k;
                const double alpha = 1.0 - k;
                const double c = k / m_p.r;
                // |m|, |x| <= X (all window rows are among the padded rows 0 .. i + w0)
                const double xm = xmax[i + m_g.w0 + 1];
                const bool usable = std::isfinite(rc1) && std::isfinite(rc2) && rc1 <= 1e200 && rc2 <= 1e200 &&
                                    xm <= 1e100;
                std::size_t j = 0;
                if (usable)
                {
                    // interval half-widths for m, v and the margin on T (file comment), per row
                    const double e1w = 1.01 * err1 * inv_w + 1e-300;
                    const double e2w = 1.01 * err2 * inv_w + 1e-300;
                    const double dm = e1w + 4.1 * u * xm + 1e-300;
                    const double mb = xm + dm;
                    const double dv = e2w + 1.01 * dm * (2 * mb + dm) + 7.1 * u * (xm * xm + e2w + mb * mb) + 1e-300;
                    const double margin = std::abs(alpha) * dm + (6 + 10 * k) * u * (mb + dm) + 3 * u * xm + 1e-300;
                    // d = a² − b²·max(v, 0) with a = x − (1 − k)·m, b = (k/r)·m; Dd bounds its error
                    // (interval widths, roundings, and the 7u relative error of scikit-image's t)
                    const double amax = 1.01 * (xm + std::abs(alpha) * mb + margin);
                    const double bmax = 1.01 * c * mb;
                    const double vmax = 1.01 * (xm * xm + e2w + dv);
                    const double db = 1.01 * c * dm + 2.1 * u * c * mb;
                    const double dd = 1.1 * (margin * (2 * amax + margin) + db * (2 * bmax + db) * vmax +
                                             bmax * bmax * dv + 18 * u * (amax * amax + bmax * bmax * vmax)) +
                                      1e-280;
                    const __m256d iw = _mm256_set1_pd(inv_w);
                    const __m256d va = _mm256_set1_pd(alpha);
                    const __m256d vc = _mm256_set1_pd(c);
                    const __m256d vm = _mm256_set1_pd(margin);
                    const __m256d vnm = _mm256_set1_pd(-margin);
                    const __m256d vdd = _mm256_set1_pd(dd);
                    const __m256d vndd = _mm256_set1_pd(-dd);
                    const __m256d bthr = _mm256_set1_pd(db + 1e-100);
                    const __m256d zero = _mm256_setzero_pd();
                    const double* E1 = e1.data();
                    const double* E2 = e2.data();
                    const std::size_t w = m_w;
                    // 4 pixels from j: bit l of ok = decided, bit l of pos = x > t
                    auto group = [&](std::size_t jj, int& ok, int& pos) {
                        const __m256d s1 = _mm256_sub_pd(_mm256_loadu_pd(E1 + jj + w), _mm256_loadu_pd(E1 + jj));
                        const __m256d s2 = _mm256_sub_pd(_mm256_loadu_pd(E2 + jj + w), _mm256_loadu_pd(E2 + jj));
                        const __m256d m = _mm256_mul_pd(s1, iw);
                        const __m256d g = _mm256_mul_pd(s2, iw);
                        const __m256d v = _mm256_max_pd(_mm256_sub_pd(g, _mm256_mul_pd(m, m)), zero);
                        const __m256d a = _mm256_sub_pd(_mm256_loadu_pd(x + jj), _mm256_mul_pd(va, m));
                        const __m256d b = _mm256_mul_pd(vc, m);
                        const __m256d d = _mm256_sub_pd(_mm256_mul_pd(a, a), _mm256_mul_pd(_mm256_mul_pd(b, b), v));
                        const __m256d p = _mm256_and_pd(_mm256_cmp_pd(d, vdd, _CMP_GT_OQ), _mm256_cmp_pd(a, vm, _CMP_GT_OQ));
                        const __m256d n = _mm256_or_pd(_mm256_cmp_pd(d, vndd, _CMP_LT_OQ), _mm256_cmp_pd(a, vnm, _CMP_LT_OQ));
                        ok = _mm256_movemask_pd(_mm256_and_pd(_mm256_or_pd(p, n), _mm256_cmp_pd(b, bthr, _CMP_GT_OQ)));
                        pos = _mm256_movemask_pd(p);
                    };
                    auto fix = [&](std::size_t jj, int ok, int lanes) {
                        for (int l = 0; l < lanes; ++l)
                        {
                            if (!((ok >> l) & 1))
                            {
                                out[jj + l] = exact_pixel(jj + l, x[jj + l]);
                            }
                        }
                    };
                    for (; j + 8 <= m_n; j += 8)
                    {
                        int ok0, pos0, ok1, pos1;
                        group(j, ok0, pos0);
                        group(j + 4, ok1, pos1);
                        const std::uint64_t bytes = bits8_to_bytes(static_cast<unsigned>(pos0 | (pos1 << 4)));
                        std::memcpy(out + j, &bytes, 8);
                        const int ok = ok0 | (ok1 << 4);
                        if (ok != 255)
                        {
                            fix(j, ok, 8);
                        }
                    }
                    // 4 pixels from jj, written and fixed
                    auto step4 = [&](std::size_t jj) {
                        int ok, pos;
                        group(jj, ok, pos);
                        const std::uint32_t bytes = static_cast<std::uint32_t>(bits8_to_bytes(static_cast<unsigned>(pos)));
                        std::memcpy(out + jj, &bytes, 4);
                        if (ok != 15)
                        {
                            fix(jj, ok, 4);
                        }
                    };
                    for (; j + 4 <= m_n; j += 4)
                    {
                        step4(j);
                    }
                    if (j < m_n && m_n >= 4)
                    {
                        // the last 1-3 pixels: redo the last 4 (decided pixels get the same answer)
                        step4(m_n - 4);
                        j = m_n;
                    }
                }
                for (; j < m_n; ++j)
                {
                    out[j] = exact_pixel(j, x[j]);
                }
            }

            const double* m_data;
            const box_geometry& m_g;
            const local_params<double>& m_p;
            std::size_t m_q;
            std::size_t m_n;
            std::size_t m_w;
            std::vector<double> c1t, c2t, c1l, c2l, e1, e2, i1t, i2t, i1l, i2l, ra1, ra2, xmax, ends_t, ends_l;
            local_rows<double> m_exact;
            std::size_t m_done = 0;
            std::size_t m_fallback = 0;
        };

        /**
         * @brief Sauvola mask of a 2-D float64 image (f64_mask_applies() must hold),
         *        identical to `image > threshold_sauvola(image)`; returns the number
         *        of pixels decided by the exact fallback.
         */
        inline std::size_t f64_sauvola_mask_into(const double* data, const box_geometry& g,
                                                 const local_params<double>& p, std::size_t threads,
                                                 std::uint8_t* out)
        {
            const std::size_t max_bands = std::max<std::size_t>(1, g.rows / 2);
            const std::size_t nt = resolve_threads(threads, max_bands);
            const auto bounds = band_bounds(g.rows, nt, 0.25);
            std::vector<std::size_t> fallback(nt, 0);
            parallel_for(nt, nt, [&](std::size_t t) {
                f64_sauvola_band band(data, g, p);
                band.run(bounds[t], bounds[t + 1], out);
                fallback[t] = band.fallback_count();
            });
            std::size_t total = 0;
            for (auto f : fallback)
            {
                total += f;
            }
            return total;
        }
#endif
    }  // namespace detail
}  // namespace xskan

#endif
