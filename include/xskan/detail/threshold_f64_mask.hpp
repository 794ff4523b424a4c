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
 * Two refinements keep the work per pixel low. (1) The decision runs first in
 * 8 float32 lanes: the same formulas from the same double window sums, with the
 * thresholds M, Dd, δb widened by a rigorous bound on the float32 − double
 * deviation (f32_stage_bounds), so it only decides what the double decision
 * would; groups with an undecided pixel go to the double decision, then to the
 * exact path (off per row when values could overflow float32). (2) Output rows
 * are advanced in pairs: one pass reads the column sums of row i − 1 once and
 * writes those of row i + 1 to a second buffer (same additions, same order);
 * row i's exact column sums are rebuilt for the fallback from row i − 1's plus
 * its own trail / lead values. Both lead rows' bound sums are recorded under the
 * first one (an over-estimate, which the bounds allow).
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

        /// Pixel counts of the float64 Sauvola mask's decision stages (for tests and tuning).
        struct f64_mask_stats
        {
            std::size_t f32_undecided = 0;   ///< pixels the float32 stage left to the double stage
            std::size_t f32_exact = 0;       ///< of those, pixels the double stage left to the exact sums
            std::size_t exact = 0;           ///< pixels decided by scikit-image's exact sums
        };

        /**
         * @brief Per-row bounds of the float32 decision stage: |a₃₂ − a₆₄|, |b₃₂ − b₆₄| and
         *        |d₃₂ − d₆₄| between the float32 and the double evaluation of the same
         *        formulas (m = S1·(1/W), g = S2·(1/W), v = max(g − m·m, 0), a = x − (1 − k)·m,
         *        b = (k/r)·m, d = a·a − (b·b)·v) from the same double window sums S1, S2.
         *
         * Both are bounded against the exact real evaluation from S1, S2, x: every
         * operation (conversions to float included) rounds by at most eps·|result| + eta
         * (eta: underflow), any FMA contraction only removes roundings. mb bounds |m|,
         * gb bounds |g| (premises of the double stage, see the file comment).
         */
        struct f32_stage_bounds
        {
            double da = 0, db = 0, dd = 0;   // deviations from the exact real evaluation
            double ab = 0, bb = 0, vb = 0;   // bounds on |a|, |b|, |v|

            f32_stage_bounds(double eps, double eta, double xm, double mb, double gb, double alpha, double c) noexcept
            {
                const double aa = std::abs(alpha);
                // m = fl(fl(S1)·fl(1/W)) (three roundings), g likewise
                const double dm = 3.03 * eps * mb + 3 * eta;
                const double m2 = mb + dm;
                const double dsq = 2 * m2 * dm + eps * m2 * m2 + eta;
                const double dg = 3.03 * eps * gb + 3 * eta;
                const double dv = dg + dsq + 1.01 * eps * (gb + dg + m2 * m2) + eta;   // max(., 0) is 1-Lipschitz
                vb = gb + dv;
                // a = fl(fl(x) − fl(fl(1 − k)·m)), b = fl(fl(k/r)·m)
                da = 3.1 * eps * (xm + aa * m2) + aa * dm + 3 * eta;
                ab = xm + aa * m2 + da;
                db = 2.1 * eps * c * m2 + c * dm + 2 * eta;
                bb = c * m2 + db;
                // d = fl(fl(a·a) − fl(fl(b·b)·v))
                const double da2 = 2 * ab * da + eps * ab * ab + eta;
                const double db2 = 2 * bb * db + eps * bb * bb + eta;
                const double b2 = bb * bb + db2;
                const double dp = db2 * vb + bb * bb * dv + eps * b2 * vb + eta;
                dd = da2 + dp + 1.01 * eps * (ab * ab + da2 + b2 * vb + dp) + eta;
                da *= 1.05;
                db *= 1.05;
                dd *= 1.05;
            }
        };

        /// Smallest float ≥ v (+inf when v exceeds the float range; v ≥ 0 finite or +inf).
        inline float float_at_least(double v) noexcept
        {
            if (!(v <= static_cast<double>(std::numeric_limits<float>::max())))
            {
                return std::numeric_limits<float>::infinity();
            }
            float f = static_cast<float>(v);
            if (static_cast<double>(f) < v)
            {
                f = std::nextafter(f, std::numeric_limits<float>::infinity());
            }
            return f;
        }

        /// One band (one thread) of the estimated-sum float64 Sauvola mask.
        class f64_sauvola_band
        {
        public:
            f64_sauvola_band(const double* data, const box_geometry& g, const local_params<double>& p)
                : m_data(data), m_g(g), m_p(p), m_q(g.pshape[0]), m_n(g.shape[1]), m_w(g.window[1]),
                  c1t(m_q, 0.), c2t(m_q, 0.), c1l(m_q), c2l(m_q), p1t(m_q), p2t(m_q), p1l(m_q), p2l(m_q), e1(m_q), e2(m_q),
                  e1b(m_q), e2b(m_q), i1t(m_q), i2t(m_q), i1l(m_q),
                  i2l(m_q), ra1(g.rows + g.w0 + 1, 0.), ra2(g.rows + g.w0 + 1, 0.), xmax(g.rows + g.w0 + 1, 0.), ends_t(g.window[1] + 2), ends_l(g.window[1] + 2),
                  ends_t1(g.window[1] + 2), ends_l1(g.window[1] + 2), m_exact(1)
            {
                set_exact_base(c1t, c2t, c1l, c2l, nullptr, nullptr);
            }

            /// Number of pixels decided by the exact fallback (for tests and tuning).
            std::size_t fallback_count() const noexcept { return m_fallback; }

            /// Pixels the float32 stage left undecided (for tests and tuning).
            std::size_t f32_undecided_count() const noexcept { return m_f32_undecided; }

            /// Pixels the float32 and then the double stage left undecided (for tests and tuning).
            std::size_t f32_exact_count() const noexcept { return m_f32_exact; }

            void run(std::size_t r0, std::size_t r1, std::uint8_t* out)
            {
                if (r0 >= r1)
                {
                    return;
                }
                const std::size_t w0 = m_g.w0;
                add_rows(0, r0 + 1, c1t.data(), c2t.data());
                std::copy(c1t.begin(), c1t.end(), c1l.begin());
                std::copy(c2t.begin(), c2t.end(), c2l.begin());
                add_rows(r0 + 1, r0 + w0 + 1, c1l.data(), c2l.data());
                estimate_prefix();
                decide_row(r0, out + r0 * m_n, e1.data(), e2.data());
                std::size_t i = r0 + 1;
                for (; i < r1; i += 2)
                {
                    // rows i and i + 1 in one pass over the column sums (half their memory traffic);
                    // a last odd row of the band is advanced with a stand-in second row, whose
                    // state is never used
                    advance_pair(i, i + w0, i + 1 < r1);
                    set_exact_base(p1t, p2t, p1l, p2l, src_row(i), src_row(i + w0));
                    decide_row(i, out + i * m_n, e1.data(), e2.data());
                    if (i + 1 < r1)
                    {
                        set_exact_base(c1t, c2t, c1l, c2l, nullptr, nullptr);
                        decide_row(i + 1, out + (i + 1) * m_n, e1b.data(), e2b.data());
                    }
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

            // c1 += x, c2 += x·x (product rounded alone) for padded rows [p0, p1) in order, as numpy's
            // cumsum: up to four rows per pass over c1, c2 (each column still adds row after row, so
            // the sums are the same; the pass touches c1, c2 once per four rows)
            void add_rows(std::size_t p0, std::size_t p1, double* c1, double* c2)
            {
                std::size_t p = p0;
                for (; p + 4 <= p1; p += 4)
                {
                    add_row_group<4>(p, c1, c2);
                }
                for (; p < p1; ++p)
                {
                    add_row_group<1>(p, c1, c2);
                }
            }

            // rows p .. p + NR - 1 of add_rows(); their bound sums are recorded under row p (an
            // over-estimate of the cumulative sums at p .. p + NR - 2, which the bounds allow)
            template <std::size_t NR>
            void add_row_group(std::size_t p, double* c1, double* c2)
            {
                const double* src[NR];
                for (std::size_t k = 0; k < NR; ++k)
                {
                    src[k] = src_row(p + k);
                }
                const auto& pad = m_g.pad[0];
                const std::size_t b = std::min(m_w / 2 + 1, m_q);
                const std::size_t mid_end = std::min(b + m_n, m_q);
                double a1 = 0, a2 = 0, mx = 0;
                auto one = [&](std::size_t j, std::size_t off) {
                    double v1 = c1[j];
                    double v2 = c2[j];
                    for (std::size_t k = 0; k < NR; ++k)
                    {
                        const double x = src[k][off];
                        const double sq = no_fma(x * x);
                        v1 += x;
                        v2 += sq;
                        a1 += std::abs(x);
                        a2 += sq;
                        mx = std::max(mx, std::abs(x));
                    }
                    c1[j] = v1;
                    c2[j] = v2;
                };
                for (std::size_t j = 0; j < b; ++j)
                {
                    one(j, static_cast<std::size_t>(pad[j]));
                }
                // the interior, 4 lanes (the bounds a1, a2, mx do not depend on the summation order
                // beyond the slack of the file comment; the column sums c1, c2 keep numpy's order)
                std::size_t j = b;
                {
                    row_bound_lanes bl;
                    for (; j + 4 <= mid_end; j += 4)
                    {
                        __m256d v1 = _mm256_loadu_pd(c1 + j);
                        __m256d v2 = _mm256_loadu_pd(c2 + j);
                        for (std::size_t k = 0; k < NR; ++k)
                        {
                            const __m256d x = _mm256_loadu_pd(src[k] + (j - b));
                            const __m256d sq = no_fma(_mm256_mul_pd(x, x));
                            v1 = _mm256_add_pd(v1, x);
                            v2 = _mm256_add_pd(v2, sq);
                            bl.add(x, sq);
                        }
                        _mm256_storeu_pd(c1 + j, v1);
                        _mm256_storeu_pd(c2 + j, v2);
                    }
                    bl.flush(a1, a2, mx);
                }
                for (; j < mid_end; ++j)
                {
                    one(j, j - b);
                }
                for (std::size_t j = mid_end; j < m_q; ++j)
                {
                    one(j, static_cast<std::size_t>(pad[j]));
                }
                record(p, a1, a2, mx);
                for (std::size_t k = 1; k < NR; ++k)
                {
                    record(p + k, 0, 0, 0);
                }
            }

            // The reflected ends of a padded row (source row src) gathered into e: padded columns
            // [0, b) at e[0, b), [b + n, q) at e[b, ...) (at most w + 1 elements); returns e.
            double* gather_ends(const double* src, double* e) const noexcept
            {
                const auto& pad = m_g.pad[0];
                const std::size_t b = std::min(m_w / 2 + 1, m_q);
                const std::size_t mid_end = std::min(b + m_n, m_q);
                for (std::size_t j = 0; j < b; ++j)
                {
                    e[j] = src[pad[j]];
                }
                for (std::size_t j = mid_end; j < m_q; ++j)
                {
                    e[b + j - mid_end] = src[pad[j]];
                }
                return e;
            }

            struct advance_state
            {
                double a1 = 0, a2 = 0, mx = 0;   // Σ|x_lead|, Σx_lead², max|x_lead|
                double k1 = 0, k2 = 0;           // estimate prefix carried along the row
            };

            // Output rows i and i + 1 in one pass: trail rows pt, pt + 1 and lead rows pl, pl + 1
            // are added to the current column sums (c*, state of row i - 1, read once; exact, as
            // numpy's cumsum) and the state of row i + 1 is written to p*, then the two swap, so
            // that p* holds the state of row i - 1 (row i's exact sums are p* + its rows, see
            // set_exact_base); the estimate prefixes of (c_l - c_t) go to (e1, e2) for row i and
            // (e1b, e2b) for row i + 1. Without `second`, row i + 1 is a stand-in (its state and
            // estimates are garbage, nothing is recorded for it).
            void advance_pair(std::size_t pt, std::size_t pl, bool second)
            {
                const std::size_t last = m_g.pad0.size() - 1;
                const double* st0 = src_row(pt);
                const double* st1 = src_row(std::min(pt + 1, last));
                const double* sl0 = src_row(pl);
                const double* sl1 = src_row(second ? pl + 1 : pl);
                const std::size_t b = std::min(m_w / 2 + 1, m_q);
                const std::size_t mid_end = std::min(b + m_n, m_q);
                double* et0 = gather_ends(st0, ends_t.data());
                double* el0 = gather_ends(sl0, ends_l.data());
                double* et1 = gather_ends(st1, ends_t1.data());
                double* el1 = gather_ends(sl1, ends_l1.data());
                pair_state acc;
                const std::ptrdiff_t e = static_cast<std::ptrdiff_t>(b) - static_cast<std::ptrdiff_t>(mid_end);
                advance_pair_segment({et0, et1, el0, el1}, 0, b, acc);
                advance_pair_segment({st0 - b, st1 - b, sl0 - b, sl1 - b}, b, mid_end, acc);
                advance_pair_segment({et0 + e, et1 + e, el0 + e, el1 + e}, mid_end, m_q, acc);
                // both lead rows' sums are recorded under row pl: an over-estimate of pl's (the
                // bounds only need upper bounds), exact again from pl + 1 on
                record(pl, acc.r[0].a1, acc.r[0].a2, acc.r[0].mx);
                if (second)
                {
                    record(pl + 1, 0, 0, 0);
                }
                std::swap(c1t, p1t);
                std::swap(c2t, p2t);
                std::swap(c1l, p1l);
                std::swap(c2l, p2l);
            }

            struct pair_state
            {
                advance_state r[2];   // per row of the pair
            };

            struct pair_rows
            {
                const double* t0;
                const double* t1;
                const double* l0;
                const double* l1;
            };

            // columns [j0, j1) of advance_pair(); x.t0[j] ... x.l1[j] are the padded values.
            void advance_pair_segment(pair_rows x, std::size_t j0, std::size_t j1, pair_state& st)
            {
                const double* C1t = c1t.data();
                const double* C2t = c2t.data();
                const double* C1l = c1l.data();
                const double* C2l = c2l.data();
                double* N1t = p1t.data();
                double* N2t = p2t.data();
                double* N1l = p1l.data();
                double* N2l = p2l.data();
                double* E1a = e1.data();
                double* E2a = e2.data();
                double* E1b = e1b.data();
                double* E2b = e2b.data();
                row_bound_lanes bl;
                __m256d ka = _mm256_setr_pd(st.r[0].k1, st.r[0].k2, st.r[0].k1, st.r[0].k2);
                __m256d kb = _mm256_setr_pd(st.r[1].k1, st.r[1].k2, st.r[1].k1, st.r[1].k2);
                // 4 columns from j
                auto step = [&](std::size_t j) {
                    const __m256d xt0 = _mm256_loadu_pd(x.t0 + j);
                    const __m256d xt1 = _mm256_loadu_pd(x.t1 + j);
                    const __m256d xl0 = _mm256_loadu_pd(x.l0 + j);
                    const __m256d xl1 = _mm256_loadu_pd(x.l1 + j);
                    const __m256d qt0 = no_fma(_mm256_mul_pd(xt0, xt0));
                    const __m256d qt1 = no_fma(_mm256_mul_pd(xt1, xt1));
                    const __m256d ql0 = no_fma(_mm256_mul_pd(xl0, xl0));
                    const __m256d ql1 = no_fma(_mm256_mul_pd(xl1, xl1));
                    const __m256d a1t = _mm256_add_pd(_mm256_loadu_pd(C1t + j), xt0);
                    const __m256d a2t = _mm256_add_pd(_mm256_loadu_pd(C2t + j), qt0);
                    const __m256d a1l = _mm256_add_pd(_mm256_loadu_pd(C1l + j), xl0);
                    const __m256d a2l = _mm256_add_pd(_mm256_loadu_pd(C2l + j), ql0);
                    const __m256d b1t = _mm256_add_pd(a1t, xt1);
                    const __m256d b2t = _mm256_add_pd(a2t, qt1);
                    const __m256d b1l = _mm256_add_pd(a1l, xl1);
                    const __m256d b2l = _mm256_add_pd(a2l, ql1);
                    _mm256_storeu_pd(N1t + j, b1t);
                    _mm256_storeu_pd(N2t + j, b2t);
                    _mm256_storeu_pd(N1l + j, b1l);
                    _mm256_storeu_pd(N2l + j, b2l);
                    bl.add(xl0, ql0);
                    bl.add(xl1, ql1);
                    __m256d e1v, e2v;
                    scan2x4(_mm256_sub_pd(a1l, a1t), _mm256_sub_pd(a2l, a2t), ka, e1v, e2v);
                    _mm256_storeu_pd(E1a + j, e1v);
                    _mm256_storeu_pd(E2a + j, e2v);
                    scan2x4(_mm256_sub_pd(b1l, b1t), _mm256_sub_pd(b2l, b2t), kb, e1v, e2v);
                    _mm256_storeu_pd(E1b + j, e1v);
                    _mm256_storeu_pd(E2b + j, e2v);
                };
                // 8 columns (one 64-byte line of each row) per prefetch
                std::size_t j = j0;
                for (; j + 8 <= j1; j += 8)
                {
                    _mm_prefetch(reinterpret_cast<const char*>(x.t0 + j + 64), _MM_HINT_T0);
                    _mm_prefetch(reinterpret_cast<const char*>(x.t1 + j + 64), _MM_HINT_T0);
                    _mm_prefetch(reinterpret_cast<const char*>(x.l0 + j + 64), _MM_HINT_T0);
                    _mm_prefetch(reinterpret_cast<const char*>(x.l1 + j + 64), _MM_HINT_T0);
                    step(j);
                    step(j + 4);
                }
                for (; j + 4 <= j1; j += 4)
                {
                    step(j);
                }
                {
                    alignas(32) double t[8];
                    _mm256_store_pd(t, ka);
                    _mm256_store_pd(t + 4, kb);
                    st.r[0].k1 = t[0];
                    st.r[0].k2 = t[1];
                    st.r[1].k1 = t[4];
                    st.r[1].k2 = t[5];
                }
                bl.flush(st.r[0].a1, st.r[0].a2, st.r[0].mx);
                for (; j < j1; ++j)
                {
                    const double xt0 = x.t0[j];
                    const double xt1 = x.t1[j];
                    const double xl0 = x.l0[j];
                    const double xl1 = x.l1[j];
                    const double qt0 = no_fma(xt0 * xt0);
                    const double qt1 = no_fma(xt1 * xt1);
                    const double ql0 = no_fma(xl0 * xl0);
                    const double ql1 = no_fma(xl1 * xl1);
                    const double a1t = C1t[j] + xt0;
                    const double a2t = C2t[j] + qt0;
                    const double a1l = C1l[j] + xl0;
                    const double a2l = C2l[j] + ql0;
                    const double b1t = a1t + xt1;
                    const double b2t = a2t + qt1;
                    const double b1l = a1l + xl1;
                    const double b2l = a2l + ql1;
                    N1t[j] = b1t;
                    N2t[j] = b2t;
                    N1l[j] = b1l;
                    N2l[j] = b2l;
                    st.r[0].a1 += std::abs(xl0) + std::abs(xl1);
                    st.r[0].a2 += ql0 + ql1;
                    st.r[0].mx = std::max(st.r[0].mx, std::max(std::abs(xl0), std::abs(xl1)));
                    st.r[0].k1 += a1l - a1t;
                    st.r[0].k2 += a2l - a2t;
                    st.r[1].k1 += b1l - b1t;
                    st.r[1].k2 += b2l - b2t;
                    E1a[j] = st.r[0].k1;
                    E2a[j] = st.r[0].k2;
                    E1b[j] = st.r[1].k1;
                    E2b[j] = st.r[1].k2;
                }
            }

            // Both channels' blocked prefix at once: d1 = [a0..a3], d2 = [b0..b3], k = [ka, kb, ka, kb]
            // (carries) -> e1 = ka + [a0, a0+a1, (a0+a1)+a2, (a0+a1)+(a2+a3)], e2 likewise; k advances
            // by the block sums (in-block trees of depth 2 and one carry addition, as scan4)
            static void scan2x4(__m256d d1, __m256d d2, __m256d& k, __m256d& e1, __m256d& e2) noexcept
            {
                const __m256d lo = _mm256_unpacklo_pd(d1, d2);                   // a0 b0 a2 b2
                const __m256d hi = _mm256_unpackhi_pd(d1, d2);                   // a1 b1 a3 b3
                const __m256d s = _mm256_add_pd(lo, hi);                         // a01 b01 a23 b23
                const __m256d sh = _mm256_permute2f128_pd(s, s, 0x08);           // 0 0 a01 b01
                const __m256d odd = _mm256_add_pd(_mm256_add_pd(s, sh), k);      // prefixes at 1, 3
                const __m256d even = _mm256_add_pd(_mm256_add_pd(lo, sh), k);    // prefixes at 0, 2
                e1 = _mm256_unpacklo_pd(even, odd);
                e2 = _mm256_unpackhi_pd(even, odd);
                k = _mm256_permute4x64_pd(odd, 0xEE);                            // ka' kb' ka' kb'
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

            // the exact column sums of the row being decided are base[q], or base[q] + its padded
            // trail / lead value (q-th element x, product x·x rounded alone) during row pairs
            void set_exact_base(const std::vector<double>& b1t, const std::vector<double>& b2t,
                                const std::vector<double>& b1l, const std::vector<double>& b2l, const double* add_t,
                                const double* add_l) noexcept
            {
                m_base[0] = b1t.data();
                m_base[1] = b2t.data();
                m_base[2] = b1l.data();
                m_base[3] = b2l.data();
                m_add_t = add_t;
                m_add_l = add_l;
            }

            // exact sequential prefix sums (scikit-image's) of the four rows up to index `upto` inclusive
            void extend_exact(std::size_t upto)
            {
                const auto& pad = m_g.pad[0];
                for (std::size_t q = m_done; q <= upto; ++q)
                {
                    double v1t = m_base[0][q];
                    double v2t = m_base[1][q];
                    double v1l = m_base[2][q];
                    double v2l = m_base[3][q];
                    if (m_add_t != nullptr)
                    {
                        const double xt = m_add_t[pad[q]];
                        const double xl = m_add_l[pad[q]];
                        v1t += xt;
                        v2t += no_fma(xt * xt);
                        v1l += xl;
                        v2l += no_fma(xl * xl);
                    }
                    if (q == 0)
                    {
                        i1t[0] = v1t;
                        i2t[0] = v2t;
                        i1l[0] = v1l;
                        i2l[0] = v2l;
                    }
                    else
                    {
                        i1t[q] = i1t[q - 1] + v1t;
                        i2t[q] = i2t[q - 1] + v2t;
                        i1l[q] = i1l[q - 1] + v1l;
                        i2l[q] = i2l[q - 1] + v2l;
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

            void decide_row(std::size_t i, std::uint8_t* out, const double* E1, const double* E2)
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
                    // 8 pixels from jj in double, written and fixed
                    auto step8 = [&](std::size_t jj) {
                        int ok0, pos0, ok1, pos1;
                        group(jj, ok0, pos0);
                        group(jj + 4, ok1, pos1);
                        const std::uint64_t bytes = bits8_to_bytes(static_cast<unsigned>(pos0 | (pos1 << 4)));
                        std::memcpy(out + jj, &bytes, 8);
                        const int ok = ok0 | (ok1 << 4);
                        if (ok != 255)
                        {
                            fix(jj, ok, 8);
                        }
                    };
                    // float32 stage: the same formulas in 8 float lanes from the same double sums;
                    // it decides only when the double stage would (its thresholds are widened by
                    // the float/double deviation bounds), everything else goes to step8
                    const double gb = 1.02 * (xm * xm + e2w) + 1e-300;
                    const double mb1 = 1.01 * mb;
                    const f32_stage_bounds bf(std::ldexp(1.0, -24), 1e-44, xm, mb1, gb, alpha, c);
                    const f32_stage_bounds bd(u, 1e-300, xm, mb1, gb, alpha, c);
                    const double big = 1e36;
                    const double smax = wc * std::max(mb1, gb) * 1.01;
                    // no float32 overflow anywhere; the constants 1/W, k/r, 1 − k convert to normal floats
                    // (or 1 − k to 0), so their conversion errors are relative (eps), as the bounds assume
                    const double fmin = 1e-37;
                    const bool use32 = bf.ab * bf.ab <= big && bf.bb * bf.bb * bf.vb <= big && bf.bb * bf.bb <= big &&
                                       bf.vb <= big && mb1 * mb1 <= big && smax <= big && std::isfinite(dd) &&
                                       std::isfinite(margin) && std::isfinite(bf.dd) && inv_w >= fmin && c >= fmin &&
                                       (alpha == 0 || std::abs(alpha) >= fmin);
                    if (use32)
                    {
                        const __m256 fiw = _mm256_set1_ps(static_cast<float>(inv_w));
                        const __m256 fa = _mm256_set1_ps(static_cast<float>(alpha));
                        const __m256 fc = _mm256_set1_ps(static_cast<float>(c));
                        const float fm = float_at_least(margin + bf.da + bd.da);
                        const float fdd = float_at_least(dd + bf.dd + bd.dd);
                        const __m256 vfm = _mm256_set1_ps(fm);
                        const __m256 vfnm = _mm256_set1_ps(-fm);
                        const __m256 vfdd = _mm256_set1_ps(fdd);
                        const __m256 vfndd = _mm256_set1_ps(-fdd);
                        const __m256 fbthr = _mm256_set1_ps(float_at_least(db + 1e-100 + bf.db + bd.db));
                        const __m256 fzero = _mm256_setzero_ps();
                        auto cvt8 = [](__m256d lo, __m256d hi) {
                            return _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo));
                        };
                        for (; j + 8 <= m_n; j += 8)
                        {
                            const __m256 s1 = cvt8(_mm256_sub_pd(_mm256_loadu_pd(E1 + j + w), _mm256_loadu_pd(E1 + j)),
                                                   _mm256_sub_pd(_mm256_loadu_pd(E1 + j + w + 4), _mm256_loadu_pd(E1 + j + 4)));
                            const __m256 s2 = cvt8(_mm256_sub_pd(_mm256_loadu_pd(E2 + j + w), _mm256_loadu_pd(E2 + j)),
                                                   _mm256_sub_pd(_mm256_loadu_pd(E2 + j + w + 4), _mm256_loadu_pd(E2 + j + 4)));
                            const __m256 xf = cvt8(_mm256_loadu_pd(x + j), _mm256_loadu_pd(x + j + 4));
                            const __m256 m = _mm256_mul_ps(s1, fiw);
                            const __m256 g = _mm256_mul_ps(s2, fiw);
                            const __m256 v = _mm256_max_ps(_mm256_sub_ps(g, _mm256_mul_ps(m, m)), fzero);
                            const __m256 a = _mm256_sub_ps(xf, _mm256_mul_ps(fa, m));
                            const __m256 b = _mm256_mul_ps(fc, m);
                            const __m256 d = _mm256_sub_ps(_mm256_mul_ps(a, a), _mm256_mul_ps(_mm256_mul_ps(b, b), v));
                            const __m256 p = _mm256_and_ps(_mm256_cmp_ps(d, vfdd, _CMP_GT_OQ), _mm256_cmp_ps(a, vfm, _CMP_GT_OQ));
                            const __m256 n = _mm256_or_ps(_mm256_cmp_ps(d, vfndd, _CMP_LT_OQ), _mm256_cmp_ps(a, vfnm, _CMP_LT_OQ));
                            const int ok = _mm256_movemask_ps(_mm256_and_ps(_mm256_or_ps(p, n), _mm256_cmp_ps(b, fbthr, _CMP_GT_OQ)));
                            if (ok == 255)
                            {
                                const std::uint64_t bytes = bits8_to_bytes(static_cast<unsigned>(_mm256_movemask_ps(p)));
                                std::memcpy(out + j, &bytes, 8);
                            }
                            else
                            {
                                m_f32_undecided += 8 - static_cast<std::size_t>(__builtin_popcount(static_cast<unsigned>(ok)));
                                const std::size_t before = m_fallback;
                                step8(j);
                                m_f32_exact += m_fallback - before;
                            }
                        }
                    }
                    for (; j + 8 <= m_n; j += 8)
                    {
                        step8(j);
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
            // current column sums (c*), the previous state during row pairs (p*), estimate prefixes
            // (e1, e2; e1b, e2b for the second row of a pair), exact prefixes (i*), bound sums
            std::vector<double> c1t, c2t, c1l, c2l, p1t, p2t, p1l, p2l, e1, e2, e1b, e2b, i1t, i2t, i1l, i2l, ra1, ra2,
                xmax, ends_t, ends_l, ends_t1, ends_l1;
            // exact column sums of the row being decided: base[q] (+ the padded trail / lead row value)
            const double* m_base[4] = {nullptr, nullptr, nullptr, nullptr};
            const double* m_add_t = nullptr;
            const double* m_add_l = nullptr;
            local_rows<double> m_exact;
            std::size_t m_done = 0;
            std::size_t m_fallback = 0;
            std::size_t m_f32_undecided = 0;
            std::size_t m_f32_exact = 0;
        };

        /**
         * @brief Row bands of the float64 Sauvola mask for `bands` threads: every band after
         *        the first rebuilds numpy's column sums of the rows above it (four rows per
         *        pass, 2.4-2.6 us per 6000-column row, i.e. 0.15-0.25 of an output row: less at
         *        large windows, whose rows re-read the input from L3), so earlier bands get more
         *        rows; 0.25 measured best at w=15 and as good as 0.2 at w=301 (4000x6000, 2 threads).
         */
        inline std::vector<std::size_t> f64_mask_band_bounds(std::size_t rows, std::size_t bands)
        {
            return band_bounds(rows, bands, 0.25);
        }

        /**
         * @brief Sauvola mask of a 2-D float64 image (f64_mask_applies() must hold),
         *        identical to `image > threshold_sauvola(image)`; returns the number
         *        of pixels decided by the exact fallback (`stats`, if given, also receives
         *        the float32 stage's undecided counts).
         */
        inline std::size_t f64_sauvola_mask_into(const double* data, const box_geometry& g,
                                                 const local_params<double>& p, std::size_t threads,
                                                 std::uint8_t* out, f64_mask_stats* stats = nullptr)
        {
            const std::size_t max_bands = std::max<std::size_t>(1, g.rows / 2);
            const std::size_t nt = resolve_threads(threads, max_bands);
            const auto bounds = f64_mask_band_bounds(g.rows, nt);
            std::vector<f64_mask_stats> st(nt);
            parallel_for(nt, nt, [&](std::size_t t) {
                f64_sauvola_band band(data, g, p);
                band.run(bounds[t], bounds[t + 1], out);
                st[t].exact = band.fallback_count();
                st[t].f32_undecided = band.f32_undecided_count();
                st[t].f32_exact = band.f32_exact_count();
            });
            f64_mask_stats total;
            for (const auto& s : st)
            {
                total.exact += s.exact;
                total.f32_undecided += s.f32_undecided;
                total.f32_exact += s.f32_exact;
            }
            if (stats != nullptr)
            {
                *stats = total;
            }
            return total.exact;
        }
#endif
    }  // namespace detail
}  // namespace xskan

#endif
