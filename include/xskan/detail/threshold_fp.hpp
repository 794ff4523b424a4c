/**
 * @file detail/threshold_fp.hpp
 * @brief Floating-point helpers for the threshold and filter modules:
 *        a barrier against FMA contraction (so results are bitwise equal to
 *        numpy/scipy with or without -march=native).
 */
#ifndef XSKAN_DETAIL_THRESHOLD_FP_HPP
#define XSKAN_DETAIL_THRESHOLD_FP_HPP

#include <cstddef>

#include "numpy_sum.hpp"

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
    }  // namespace detail
}  // namespace xskan

#endif
