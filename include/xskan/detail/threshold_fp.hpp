/**
 * @file detail/threshold_fp.hpp
 * @brief Floating-point helpers for the threshold and filter modules:
 *        a barrier against FMA contraction (so results are bitwise equal to
 *        numpy/scipy with or without -march=native) and numpy's pairwise sum.
 */
#ifndef XSKAN_DETAIL_THRESHOLD_FP_HPP
#define XSKAN_DETAIL_THRESHOLD_FP_HPP

#include <cstddef>

namespace xskan
{
    namespace detail
    {
        /**
         * @brief Return `x` unchanged, but opaque to the optimiser, so a
         *        product is rounded before it is added (no contraction of
         *        `a * b + c` into an FMA, which GCC does by default with
         *        -ffp-contract=fast whenever the target has FMA). numpy and
         *        scipy round every product, and so must we to match them bit
         *        for bit.
         */
        template <class T>
        inline T no_fma(T x) noexcept
        {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
#if defined(__AVX512F__)
            __asm__("" : "+v"(x));
#else
            __asm__("" : "+x"(x));
#endif
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
            __asm__("" : "+w"(x));
#elif defined(__GNUC__) || defined(__clang__)
            __asm__("" : "+m"(x));
#endif
            return x;
        }

        /**
         * @brief Compiler barrier on the memory at `p`: values computed into
         *        `p[]` before the fence are stored (rounded) and re-read after
         *        it, so a product loop followed by an addition loop can never
         *        be contracted into FMAs, while both loops still vectorise.
         */
        template <class T>
        inline void fp_fence(T* p) noexcept
        {
#if defined(__GNUC__) || defined(__clang__)
            __asm__ __volatile__("" : : "r"(p) : "memory");
#else
            (void) p;
#endif
        }

        /**
         * @brief numpy's pairwise summation (`np.add.reduce` of a contiguous
         *        float array, numpy 1.24 `pairwise_sum`): below 8 elements a
         *        plain loop; up to 128 eight running partial sums combined as
         *        ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) plus a sequential tail;
         *        above that a recursive split at n/2 rounded down to a multiple of 8.
         */
        inline double pairwise_sum_like_numpy(const double* a, std::size_t n) noexcept
        {
            if (n < 8)
            {
                double res = 0.;
                for (std::size_t i = 0; i < n; ++i)
                {
                    res += a[i];
                }
                return res;
            }
            if (n <= 128)
            {
                double r[8];
                for (std::size_t k = 0; k < 8; ++k)
                {
                    r[k] = a[k];
                }
                std::size_t i = 8;
                for (; i < n - (n % 8); i += 8)
                {
                    for (std::size_t k = 0; k < 8; ++k)
                    {
                        r[k] += a[i + k];
                    }
                }
                double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
                for (; i < n; ++i)
                {
                    res += a[i];
                }
                return res;
            }
            std::size_t n2 = n / 2;
            n2 -= n2 % 8;
            return pairwise_sum_like_numpy(a, n2) + pairwise_sum_like_numpy(a + n2, n - n2);
        }
    }  // namespace detail
}  // namespace xskan

#endif
