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
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

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
