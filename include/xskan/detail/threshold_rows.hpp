/**
 * @file detail/threshold_rows.hpp
 * @brief Row-wise finishing of the band engine's window sums into local
 *        mean / standard deviation / Sauvola / Niblack thresholds / masks,
 *        with scikit-image's exact operation order and rounding.
 */
#ifndef XSKAN_DETAIL_THRESHOLD_ROWS_HPP
#define XSKAN_DETAIL_THRESHOLD_ROWS_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "threshold_fp.hpp"

namespace xskan
{
    namespace detail
    {
        enum class local_formula
        {
            mean_std,
            sauvola,
            niblack
        };

        /// Parameters of the per-pixel formula, in the working type F.
        template <class F>
        struct local_params
        {
            local_formula formula = local_formula::sauvola;
            F window_count = 1;   ///< prod(window) rounded to F (numpy divides F by the int)
            F k = 0;
            F r = 1;
        };

        /// sqrt over a row (vectorised; the argument is never negative except NaN).
        template <class F>
        inline void sqrt_row(const F* in, F* out, std::size_t n)
        {
            using batch = xsimd::batch<F>;
            constexpr std::size_t W = batch::size;
            std::size_t j = 0;
            for (; j + W <= n; j += W)
            {
                xsimd::sqrt(batch::load_unaligned(in + j)).store_unaligned(out + j);
            }
            for (; j < n; ++j)
            {
                out[j] = std::sqrt(in[j]);
            }
        }

        /**
         * @brief Scratch rows for one band (one thread).
         */
        template <class F>
        struct local_rows
        {
            std::vector<F> m, s, tmp, t;
            explicit local_rows(std::size_t n) : m(n), s(n), tmp(n), t(n) {}

            /**
             * m = F(S1)/W, g2 = F(S2)/W, s = sqrt(clip(g2 - m*m, 0, inf)) exactly as
             * scikit-image's _mean_std. Each product sits in its own loop so no
             * compiler can contract it with the following addition into an FMA.
             */
            void mean_std(const double* s1, const double* s2, std::size_t n, F wc)
            {
                F* mp = m.data();
                F* sp = s.data();
                F* tp = tmp.data();
                for (std::size_t j = 0; j < n; ++j)
                {
                    mp[j] = static_cast<F>(s1[j]) / wc;
                }
                for (std::size_t j = 0; j < n; ++j)
                {
                    tp[j] = static_cast<F>(s2[j]) / wc;
                }
                for (std::size_t j = 0; j < n; ++j)
                {
                    sp[j] = mp[j] * mp[j];
                }
                fp_fence(sp);
                for (std::size_t j = 0; j < n; ++j)
                {
                    const F v = tp[j] - sp[j];
                    tp[j] = (v < F(0)) ? F(0) : v;   // NaN stays NaN, like np.clip
                }
                sqrt_row(tp, sp, n);
            }

            /// t = m * (1 + k * ((s / r) - 1)) (Sauvola) or t = m - k * s (Niblack), in F.
            void threshold(const local_params<F>& p, std::size_t n)
            {
                F* mp = m.data();
                F* sp = s.data();
                F* tp = tmp.data();
                F* out = t.data();
                if (p.formula == local_formula::sauvola)
                {
                    const F k = p.k;
                    const F r = p.r;
                    for (std::size_t j = 0; j < n; ++j)
                    {
                        tp[j] = k * ((sp[j] / r) - F(1));
                    }
                    fp_fence(tp);
                    for (std::size_t j = 0; j < n; ++j)
                    {
                        out[j] = mp[j] * (F(1) + tp[j]);
                    }
                }
                else
                {
                    const F k = p.k;
                    for (std::size_t j = 0; j < n; ++j)
                    {
                        tp[j] = k * sp[j];
                    }
                    fp_fence(tp);
                    for (std::size_t j = 0; j < n; ++j)
                    {
                        out[j] = mp[j] - tp[j];
                    }
                }
            }
        };

        /**
         * @brief The mask `F(x) > t` of a row without divisions: t is evaluated
         *        in double with multiplications by reciprocals, together with a
         *        rigorous bound on its distance to scikit-image's exactly
         *        rounded t (computed from the same window sums S1, S2); pixels
         *        closer to t than the bound (and NaN/inf) are recomputed with
         *        the exact formula. The result is therefore identical to
         *        `compare_row` after `mean_std` + `threshold`.
         *
         * Bounds (u = unit roundoff of F): |m_a − m| ≤ 4u|m|, |v_a − v| ≤
         * 16u(|g| + m²), |s_a − s| ≤ min(√δv, δv / s) + 4u·s with √δv ≤
         * 4.1√u(s + 2|m|), and |t_a − t| ≤ 16u·A + B·δs where, for Sauvola,
         * A = |m|(1 + |k|(s/r + 1)), B = |k m / r|; for Niblack A = |m| + |k| s,
         * B = |k|.
         */
        template <class F>
        struct fast_mask_rows
        {
            std::vector<double> m, v, s;
            std::vector<std::uint8_t> undecided;
            local_rows<F> exact;
            explicit fast_mask_rows(std::size_t n) : m(n), v(n), s(n), undecided(n), exact(1) {}

            template <bool Sauvola, class T>
            std::size_t decide(const double* s2, const T* x, std::uint8_t* out, std::size_t n, double u, double su,
                               double inv_w, double k, double inv_r)
            {
                const double* mp = m.data();
                const double* sp = s.data();
                std::uint8_t* und = undecided.data();
                const double c_t = 16 * u;
                const double c_s = 4.1 * su;
                const double ak = std::abs(k);
                const double air = std::abs(inv_r);
                std::size_t n_undecided = 0;
                for (std::size_t j = 0; j < n; ++j)
                {
                    const double mj = mp[j];
                    const double sj = sp[j];
                    const double am = std::abs(mj);
                    const double g = s2[j] * inv_w;
                    const double dv = 16 * u * (std::abs(g) + mj * mj);
                    double t, a, b;
                    if constexpr (Sauvola)
                    {
                        t = mj * (1.0 + k * (sj * inv_r - 1.0));
                        a = am * (1.0 + ak * (sj * air + 1.0));
                        b = am * ak * air * 1.01;
                    }
                    else
                    {
                        t = mj - k * sj;
                        a = am + ak * sj;
                        b = ak * 1.01;
                    }
                    const double xv = static_cast<double>(static_cast<F>(x[j]));
                    const double d = xv - t;
                    const double ad = std::abs(d);
                    const double base = c_t * a + b * 4 * u * sj + 1e-300;
                    const bool loose = ad > base + b * c_s * (sj + 2 * am);
                    const bool tight = (ad > base) & ((ad - base) * sj > b * dv * 1.01);
                    const bool ok = loose | tight;
                    out[j] = static_cast<std::uint8_t>(d > 0);
                    und[j] = static_cast<std::uint8_t>(!ok);
                    n_undecided += static_cast<std::size_t>(!ok);
                }
                return n_undecided;
            }

#if defined(__AVX2__)
            /**
             * The same estimate and decision as run() for float64 pixels, fused into one
             * pass over registers (4 pixels per step, no row buffers). Returns the number
             * of pixels done (a multiple of 4); undecided ones are marked in `undecided`.
             */
            template <bool Sauvola>
            std::size_t decide_fused(const double* s1, const double* s2, const double* x, std::uint8_t* out,
                                     std::size_t n, double u, double su, double inv_w, double k, double inv_r,
                                     std::size_t& n_undecided)
            {
                const __m256d iw = _mm256_set1_pd(inv_w);
                const __m256d zero = _mm256_setzero_pd();
                const __m256d one = _mm256_set1_pd(1.0);
                const __m256d sign = _mm256_set1_pd(-0.0);
                const __m256d kk = _mm256_set1_pd(k);
                const __m256d ir = _mm256_set1_pd(inv_r);
                const __m256d ak = _mm256_set1_pd(std::abs(k));
                const __m256d air = _mm256_set1_pd(std::abs(inv_r));
                const __m256d c_t = _mm256_set1_pd(16 * u);
                const __m256d c_dv = _mm256_set1_pd(16 * u);
                const __m256d c_s = _mm256_set1_pd(4.1 * su);
                const __m256d c_4u = _mm256_set1_pd(4 * u);
                const __m256d tiny = _mm256_set1_pd(1e-300);
                const __m256d two = _mm256_set1_pd(2.0);
                const __m256d f101 = _mm256_set1_pd(1.01);
                const __m256d b_niblack = _mm256_set1_pd(std::abs(k) * 1.01);
                const __m256d b_sauvola = _mm256_set1_pd(std::abs(k) * std::abs(inv_r) * 1.01);
                std::uint8_t* und = undecided.data();
                std::size_t j = 0;
                for (; j + 4 <= n; j += 4)
                {
                    const __m256d mj = _mm256_mul_pd(_mm256_loadu_pd(s1 + j), iw);
                    const __m256d g = _mm256_mul_pd(_mm256_loadu_pd(s2 + j), iw);
                    const __m256d mm = _mm256_mul_pd(mj, mj);
                    const __m256d dvv = _mm256_sub_pd(g, mm);
                    // d < 0 ? 0 : d (NaN stays NaN)
                    const __m256d vc = _mm256_blendv_pd(dvv, zero, _mm256_cmp_pd(dvv, zero, _CMP_LT_OQ));
                    const __m256d sj = _mm256_sqrt_pd(vc);
                    const __m256d am = _mm256_andnot_pd(sign, mj);
                    const __m256d dv = _mm256_mul_pd(c_dv, _mm256_add_pd(_mm256_andnot_pd(sign, g), mm));
                    __m256d t;
                    __m256d a;
                    __m256d b;
                    if constexpr (Sauvola)
                    {
                        t = _mm256_mul_pd(mj, _mm256_add_pd(one, _mm256_mul_pd(kk, _mm256_sub_pd(_mm256_mul_pd(sj, ir), one))));
                        a = _mm256_mul_pd(am, _mm256_add_pd(one, _mm256_mul_pd(ak, _mm256_add_pd(_mm256_mul_pd(sj, air), one))));
                        b = _mm256_mul_pd(am, b_sauvola);
                    }
                    else
                    {
                        t = _mm256_sub_pd(mj, _mm256_mul_pd(kk, sj));
                        a = _mm256_add_pd(am, _mm256_mul_pd(ak, sj));
                        b = b_niblack;
                    }
                    const __m256d d = _mm256_sub_pd(_mm256_loadu_pd(x + j), t);
                    const __m256d ad = _mm256_andnot_pd(sign, d);
                    const __m256d base =
                        _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(c_t, a), _mm256_mul_pd(_mm256_mul_pd(b, c_4u), sj)), tiny);
                    const __m256d loose_lim =
                        _mm256_add_pd(base, _mm256_mul_pd(_mm256_mul_pd(b, c_s), _mm256_add_pd(sj, _mm256_mul_pd(two, am))));
                    const __m256d loose = _mm256_cmp_pd(ad, loose_lim, _CMP_GT_OQ);
                    const __m256d tight =
                        _mm256_and_pd(_mm256_cmp_pd(ad, base, _CMP_GT_OQ),
                                      _mm256_cmp_pd(_mm256_mul_pd(_mm256_sub_pd(ad, base), sj),
                                                    _mm256_mul_pd(_mm256_mul_pd(b, dv), f101), _CMP_GT_OQ));
                    const int ok = _mm256_movemask_pd(_mm256_or_pd(loose, tight));
                    const int pos = _mm256_movemask_pd(_mm256_cmp_pd(d, zero, _CMP_GT_OQ));
                    const std::uint32_t pos_bytes = static_cast<std::uint32_t>(bits_to_bytes(pos));
                    std::memcpy(out + j, &pos_bytes, 4);
                    if (ok != 15)
                    {
                        const std::uint32_t und_bytes = static_cast<std::uint32_t>(bits_to_bytes(~ok & 15));
                        std::memcpy(und + j, &und_bytes, 4);
                        n_undecided += static_cast<std::size_t>(__builtin_popcount(static_cast<unsigned>(~ok & 15)));
                    }
                    else
                    {
                        std::memset(und + j, 0, 4);
                    }
                }
                return j;
            }

            // 4 bits -> 4 bytes of 0/1
            static std::uint32_t bits_to_bytes(int bits) noexcept
            {
                static constexpr std::uint32_t lut[16] = {
                    0x00000000u, 0x00000001u, 0x00000100u, 0x00000101u, 0x00010000u, 0x00010001u,
                    0x00010100u, 0x00010101u, 0x01000000u, 0x01000001u, 0x01000100u, 0x01000101u,
                    0x01010000u, 0x01010001u, 0x01010100u, 0x01010101u};
                return lut[bits & 15];
            }
#endif

            template <class T>
            void run(const double* s1, const double* s2, const T* x, std::uint8_t* out, std::size_t n,
                     const local_params<F>& p)
            {
                const double u = std::numeric_limits<F>::epsilon() / 2;
                const double su = std::sqrt(u);
                const double inv_w = 1.0 / static_cast<double>(p.window_count);
                const double k = static_cast<double>(p.k);
                const double inv_r = 1.0 / static_cast<double>(p.r);
                const bool sauvola = p.formula == local_formula::sauvola;
#if defined(__AVX2__)
                if constexpr (std::is_same<T, double>::value && std::is_same<F, double>::value)
                {
                    std::size_t n_und = 0;
                    const std::size_t done = sauvola ? decide_fused<true>(s1, s2, x, out, n, u, su, inv_w, k, inv_r, n_und)
                                                     : decide_fused<false>(s1, s2, x, out, n, u, su, inv_w, k, inv_r, n_und);
                    if (done > 0)
                    {
                        if (n_und > 0)
                        {
                            const std::uint8_t* und = undecided.data();
                            for (std::size_t j = 0; j < done; ++j)
                            {
                                if (und[j])
                                {
                                    exact.mean_std(s1 + j, s2 + j, 1, p.window_count);
                                    exact.threshold(p, 1);
                                    out[j] = static_cast<std::uint8_t>(static_cast<F>(x[j]) > exact.t[0]);
                                }
                            }
                        }
                        if (done < n)
                        {
                            run(s1 + done, s2 + done, x + done, out + done, n - done, p);   // tail (< 4 pixels)
                        }
                        return;
                    }
                }
#endif
                double* mp = m.data();
                double* vp = v.data();
                double* sp = s.data();
                for (std::size_t j = 0; j < n; ++j)
                {
                    mp[j] = s1[j] * inv_w;
                }
                for (std::size_t j = 0; j < n; ++j)
                {
                    sp[j] = mp[j] * mp[j];
                }
                fp_fence(sp);
                for (std::size_t j = 0; j < n; ++j)
                {
                    const double g = s2[j] * inv_w;
                    const double d = g - sp[j];
                    vp[j] = d < 0 ? 0.0 : d;
                }
                sqrt_row(vp, sp, n);
                // decision (any rounding of this block only changes the bound a little: the
                // constants above have a factor >= 2 of slack)
                const std::size_t n_undecided =
                    sauvola ? decide<true>(s2, x, out, n, u, su, inv_w, k, inv_r) : decide<false>(s2, x, out, n, u, su, inv_w, k, inv_r);
                std::uint8_t* und = undecided.data();
                if (n_undecided == 0)
                {
                    return;
                }
                for (std::size_t j = 0; j < n; ++j)
                {
                    if (und[j])
                    {
                        exact.mean_std(s1 + j, s2 + j, 1, p.window_count);
                        exact.threshold(p, 1);
                        out[j] = static_cast<std::uint8_t>(static_cast<F>(x[j]) > exact.t[0]);
                    }
                }
            }
        };

        /// mask[j] = F(x[j]) > t[j] (numpy's `image > t` after type promotion).
        template <class F, class T>
        inline void compare_row(const T* x, const F* t, std::uint8_t* out, std::size_t n)
        {
            for (std::size_t j = 0; j < n; ++j)
            {
                out[j] = static_cast<std::uint8_t>(static_cast<F>(x[j]) > t[j]);
            }
        }
    }  // namespace detail
}  // namespace xskan

#endif
