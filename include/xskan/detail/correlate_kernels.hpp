/**
 * @file detail/correlate_kernels.hpp
 * @brief The loops behind xskan::correlate_sparse: valid-mode sparse
 *        correlation on raw strided rows, one function per strategy.
 *
 * Every strategy computes, for each output sample,
 * `acc = v0 * x0; acc = acc + v_k * x_k (k = 1..K-1)` with each product and
 * each addition rounded in the working type F (float or double), which is
 * scikit-image's order; only the loop order differs. The exception is the
 * `fma` SIMD flavour, which fuses `acc + v_k * x_k` for terms whose value is
 * not ±1 (one rounding instead of two).
 */
#ifndef XSKAN_DETAIL_CORRELATE_KERNELS_HPP
#define XSKAN_DETAIL_CORRELATE_KERNELS_HPP

#include <cmath>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "common.hpp"
#include "../mode.hpp"
#include "../sparse_kernel.hpp"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#endif

// Compilers may contract `acc + v * x` into one fused multiply-add when the
// target has FMA (GCC does by default in GNU mode, Clang within an expression).
// That changes the rounding, so products go through an empty asm statement the
// optimiser cannot see through. It emits no instruction. Without hardware FMA
// no contraction can happen and the barrier is a no-op (loops stay vectorisable).
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
#define XSKAN_DETAIL_FP_BARRIER_ASM(x) __asm__("" : "+v"(x))
#elif defined(__GNUC__) && defined(__aarch64__)
#define XSKAN_DETAIL_FP_BARRIER_ASM(x) __asm__("" : "+w"(x))
#elif defined(__GNUC__)
#define XSKAN_DETAIL_FP_BARRIER_ASM(x) __asm__("" : "+m"(x))
#else
#define XSKAN_DETAIL_FP_BARRIER_ASM(x) ((void)(x))
#endif

#if defined(__FMA__) || defined(__FMA4__) || defined(__FP_FAST_FMA) || defined(__FP_FAST_FMAF) || \
    defined(__aarch64__) || defined(__ARM_FEATURE_FMA) || defined(__powerpc__) || defined(__s390x__)
#define XSKAN_DETAIL_FP_CONTRACT_POSSIBLE 1
#else
#define XSKAN_DETAIL_FP_CONTRACT_POSSIBLE 0
#endif

namespace xskan
{
    namespace detail
    {
        /// Keep a scalar product from being fused with a later addition.
        template <class F>
        inline void fp_barrier(F& x) noexcept
        {
#if XSKAN_DETAIL_FP_CONTRACT_POSSIBLE
            XSKAN_DETAIL_FP_BARRIER_ASM(x);
#else
            (void)x;
#endif
        }

        /// Same for a SIMD batch (always: xsimd's operators are plain vector arithmetic).
        template <class F, class A>
        inline void fp_barrier(xsimd::batch<F, A>& b) noexcept
        {
            XSKAN_DETAIL_FP_BARRIER_ASM(b.data);
        }

        /// How a term combines with the accumulator (exact shortcuts for ±1).
        enum class term_kind
        {
            plus_one,   // acc + x   (== acc + 1*x bitwise)
            minus_one,  // acc - x   (== acc + (-1)*x bitwise)
            general     // acc + v*x
        };

        /// One non-zero kernel entry, resolved against the input strides.
        template <class F>
        struct correlate_term
        {
            std::ptrdiff_t offset;  // in input elements
            F value;
            term_kind kind;
        };

        /**
         * @brief Everything a strategy needs: output extents, strides (elements,
         *        last axis contiguous), the terms (term 0 is the all-zero corner,
         *        value 0 when the kernel has no entry there, as in scikit-image),
         *        and per outer axis the step of the cache-friendly row order.
         */
        template <class F>
        struct correlate_plan
        {
            std::vector<std::size_t> out_shape;
            std::vector<std::ptrdiff_t> in_strides;
            std::vector<std::ptrdiff_t> out_strides;
            std::vector<correlate_term<F>> terms;
            std::vector<std::size_t> row_step;  // per axis 0..ndim-2
            std::vector<std::ptrdiff_t> row_offsets;  // distinct input-row offsets of the terms, sorted
            std::size_t row_span = 1;                 // input samples a row of outputs reads: len + kernel width - 1
            std::size_t n_outputs = 0;
        };

        inline term_kind classify_term(double v) noexcept
        {
            if (v == 1.0)
            {
                return term_kind::plus_one;
            }
            if (v == -1.0)
            {
                return term_kind::minus_one;
            }
            return term_kind::general;
        }

        /// Resolve a kernel against strided input/output (valid mode). Shapes must already be checked.
        template <class F, class KT>
        correlate_plan<F> make_plan(const sparse_kernel<KT>& kernel, const std::vector<std::size_t>& out_shape,
                                    const std::vector<std::ptrdiff_t>& in_strides,
                                    const std::vector<std::ptrdiff_t>& out_strides)
        {
            correlate_plan<F> plan;
            const std::size_t nd = kernel.dimension();
            plan.out_shape = out_shape;
            plan.in_strides = in_strides;
            plan.out_strides = out_strides;
            plan.n_outputs = checked_size(out_shape, "correlate_sparse");
            auto offset_of = [&](std::size_t k) {
                std::ptrdiff_t off = 0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    off += static_cast<std::ptrdiff_t>(kernel.index(k, a)) * in_strides[a];
                }
                return off;
            };
            std::size_t first = 0;
            bool has_corner = kernel.nnz() > 0;
            for (std::size_t a = 0; a < nd && has_corner; ++a)
            {
                has_corner = kernel.index(0, a) == 0;
            }
            if (has_corner)
            {
                const F v = static_cast<F>(kernel.values()[0]);
                plan.terms.push_back({0, v, classify_term(static_cast<double>(v))});
                first = 1;
            }
            else
            {
                plan.terms.push_back({0, F(0), term_kind::general});
            }
            for (std::size_t k = first; k < kernel.nnz(); ++k)
            {
                const F v = static_cast<F>(kernel.values()[k]);
                plan.terms.push_back({offset_of(k), v, classify_term(static_cast<double>(v))});
            }
            for (std::size_t k = 0; k < kernel.nnz(); ++k)
            {
                plan.row_offsets.push_back(offset_of(k) -
                                           static_cast<std::ptrdiff_t>(kernel.index(k, nd - 1)) * in_strides[nd - 1]);
            }
            plan.row_offsets.push_back(0);
            std::sort(plan.row_offsets.begin(), plan.row_offsets.end());
            plan.row_offsets.erase(std::unique(plan.row_offsets.begin(), plan.row_offsets.end()), plan.row_offsets.end());
            plan.row_span = out_shape[nd - 1] + kernel.shape()[nd - 1] - 1;
            // Row order: outputs whose rows differ by the gcd of the kernel's
            // row offsets along an axis share input rows; visiting them one
            // after the other reads each input row once from memory.
            plan.row_step.assign(nd > 0 ? nd - 1 : 0, 1);
            for (std::size_t a = 0; a + 1 < nd; ++a)
            {
                std::size_t g = 0;
                for (std::size_t k = 0; k < kernel.nnz(); ++k)
                {
                    g = std::gcd(g, kernel.index(k, a));
                }
                plan.row_step[a] = (g == 0 || g > out_shape[a]) ? 1 : g;
            }
            return plan;
        }

        /// Call fn(input_offset, output_offset) for every output row, C order.
        template <class F, class Fn>
        void for_each_row(const correlate_plan<F>& plan, Fn&& fn)
        {
            const std::size_t nd = plan.out_shape.size();
            if (plan.n_outputs == 0)
            {
                return;
            }
            std::vector<std::size_t> i(nd > 0 ? nd - 1 : 0, 0);
            std::ptrdiff_t ib = 0;
            std::ptrdiff_t ob = 0;
            while (true)
            {
                fn(ib, ob);
                std::size_t a = nd - 1;
                while (a-- > 0)
                {
                    if (++i[a] < plan.out_shape[a])
                    {
                        ib += plan.in_strides[a];
                        ob += plan.out_strides[a];
                        break;
                    }
                    ib -= static_cast<std::ptrdiff_t>(i[a] - 1) * plan.in_strides[a];
                    ob -= static_cast<std::ptrdiff_t>(i[a] - 1) * plan.out_strides[a];
                    i[a] = 0;
                }
                if (a == static_cast<std::size_t>(-1))
                {
                    return;
                }
            }
        }

        /**
         * Call fn(input_offset, output_offset) for every output row, visiting
         * rows in chains `s, s + step, s + 2 step, ...` per outer axis (residues
         * s slowest), so an input row used by one output row as its "far" row
         * is still in cache when the next row of the chain uses it as "near".
         */
        template <class F, class Fn>
        void for_each_row_chained(const correlate_plan<F>& plan, Fn&& fn)
        {
            const std::size_t nd = plan.out_shape.size();
            const std::size_t no = nd - 1;  // outer axes
            if (plan.n_outputs == 0)
            {
                return;
            }
            bool trivial = true;
            for (auto s : plan.row_step)
            {
                trivial = trivial && s == 1;
            }
            if (trivial)
            {
                for_each_row(plan, fn);
                return;
            }
            std::vector<std::size_t> res(no, 0);
            std::vector<std::size_t> cnt(no, 0);
            std::vector<std::size_t> m(no, 0);
            while (true)
            {
                bool nonempty = true;
                std::ptrdiff_t ib0 = 0;
                std::ptrdiff_t ob0 = 0;
                for (std::size_t a = 0; a < no; ++a)
                {
                    cnt[a] = res[a] < plan.out_shape[a]
                                 ? (plan.out_shape[a] - res[a] + plan.row_step[a] - 1) / plan.row_step[a]
                                 : 0;
                    nonempty = nonempty && cnt[a] > 0;
                    ib0 += static_cast<std::ptrdiff_t>(res[a]) * plan.in_strides[a];
                    ob0 += static_cast<std::ptrdiff_t>(res[a]) * plan.out_strides[a];
                }
                if (nonempty)
                {
                    std::fill(m.begin(), m.end(), 0);
                    std::ptrdiff_t ib = ib0;
                    std::ptrdiff_t ob = ob0;
                    while (true)
                    {
                        fn(ib, ob);
                        std::size_t a = no;
                        while (a-- > 0)
                        {
                            const auto is = static_cast<std::ptrdiff_t>(plan.row_step[a]) * plan.in_strides[a];
                            const auto os = static_cast<std::ptrdiff_t>(plan.row_step[a]) * plan.out_strides[a];
                            if (++m[a] < cnt[a])
                            {
                                ib += is;
                                ob += os;
                                break;
                            }
                            ib -= static_cast<std::ptrdiff_t>(m[a] - 1) * is;
                            ob -= static_cast<std::ptrdiff_t>(m[a] - 1) * os;
                            m[a] = 0;
                        }
                        if (a == static_cast<std::size_t>(-1))
                        {
                            break;
                        }
                    }
                }
                std::size_t a = no;
                while (a-- > 0)
                {
                    if (++res[a] < plan.row_step[a])
                    {
                        break;
                    }
                    res[a] = 0;
                }
                if (a == static_cast<std::size_t>(-1))
                {
                    return;
                }
            }
        }

        /// Scalar term arithmetic, exactly as numpy evaluates `out += v * view`.
        template <class F>
        inline F scalar_first(F v, F x) noexcept
        {
            F p = v * x;
            fp_barrier(p);
            return p;
        }

        template <class F>
        inline F scalar_next(F acc, F v, F x) noexcept
        {
            F p = v * x;
            fp_barrier(p);
            return acc + p;
        }

        // ---- strategy 1: pixel-outer, index array ---------------------------------

        /// The input offset of every output sample, in C order (the talk's index array).
        template <class F>
        std::vector<std::ptrdiff_t> output_index_array(const correlate_plan<F>& plan)
        {
            std::vector<std::ptrdiff_t> idx(plan.n_outputs);
            const std::size_t len = plan.out_shape.back();
            std::size_t p = 0;
            for_each_row(plan, [&](std::ptrdiff_t ib, std::ptrdiff_t) {
                for (std::size_t j = 0; j < len; ++j)
                {
                    idx[p++] = ib + static_cast<std::ptrdiff_t>(j);
                }
            });
            return idx;
        }

        template <class F>
        void correlate_pixel_outer(const F* in, F* out, const correlate_plan<F>& plan)
        {
            const auto idx = output_index_array(plan);
            const std::size_t len = plan.out_shape.back();
            const std::size_t nt = plan.terms.size();
            const correlate_term<F>* t = plan.terms.data();
            std::size_t p = 0;
            for_each_row(plan, [&](std::ptrdiff_t, std::ptrdiff_t ob) {
                F* o = out + ob;
                for (std::size_t j = 0; j < len; ++j, ++p)
                {
                    const F* base = in + idx[p];
                    F acc = scalar_first(t[0].value, base[t[0].offset]);
                    for (std::size_t k = 1; k < nt; ++k)
                    {
                        acc = scalar_next(acc, t[k].value, base[t[k].offset]);
                    }
                    o[j] = acc;
                }
            });
        }

        // ---- strategy 2: offset-outer, index array --------------------------------

        template <class F>
        void correlate_offset_outer(const F* in, F* out, const correlate_plan<F>& plan)
        {
            const auto idx = output_index_array(plan);
            const std::size_t len = plan.out_shape.back();
            for (std::size_t k = 0; k < plan.terms.size(); ++k)
            {
                const F v = plan.terms[k].value;
                const F* src = in + plan.terms[k].offset;
                std::size_t p = 0;
                for_each_row(plan, [&](std::ptrdiff_t, std::ptrdiff_t ob) {
                    F* o = out + ob;
                    if (k == 0)
                    {
                        for (std::size_t j = 0; j < len; ++j, ++p)
                        {
                            o[j] = scalar_first(v, src[idx[p]]);
                        }
                    }
                    else
                    {
                        for (std::size_t j = 0; j < len; ++j, ++p)
                        {
                            o[j] = scalar_next(o[j], v, src[idx[p]]);
                        }
                    }
                });
            }
        }

        // ---- strategy 3: offset-outer over contiguous rows, no index array --------

        template <class F>
        void correlate_no_indirection(const F* in, F* out, const correlate_plan<F>& plan)
        {
            const std::size_t len = plan.out_shape.back();
            for (std::size_t k = 0; k < plan.terms.size(); ++k)
            {
                const F v = plan.terms[k].value;
                const std::ptrdiff_t off = plan.terms[k].offset;
                for_each_row(plan, [&](std::ptrdiff_t ib, std::ptrdiff_t ob) {
                    const F* s = in + ib + off;
                    F* o = out + ob;
                    if (k == 0)
                    {
                        for (std::size_t j = 0; j < len; ++j)
                        {
                            o[j] = scalar_first(v, s[j]);
                        }
                    }
                    else
                    {
                        for (std::size_t j = 0; j < len; ++j)
                        {
                            o[j] = scalar_next(o[j], v, s[j]);
                        }
                    }
                });
            }
        }

        // ---- strategy 4: SIMD, all terms of a block of outputs in registers -------

        template <bool Fma, class B, class F>
        inline B simd_first(const correlate_term<F>& t, const F* s) noexcept
        {
            const B x = B::load_unaligned(s);
            switch (t.kind)
            {
                case term_kind::plus_one: return x;
                case term_kind::minus_one: return -x;
                default:
                {
                    B p = B(t.value) * x;
                    fp_barrier(p);
                    return p;
                }
            }
        }

        template <bool Fma, class B, class F>
        inline B simd_next(const correlate_term<F>& t, const B& acc, const F* s) noexcept
        {
            const B x = B::load_unaligned(s);
            switch (t.kind)
            {
                case term_kind::plus_one: return acc + x;
                case term_kind::minus_one: return acc - x;
                default:
                {
                    if (Fma)
                    {
                        return xsimd::fma(B(t.value), x, acc);
                    }
                    B p = B(t.value) * x;
                    fp_barrier(p);
                    return acc + p;
                }
            }
        }

        template <bool Fma, class F>
        inline F scalar_first_kind(const correlate_term<F>& t, F x) noexcept
        {
            switch (t.kind)
            {
                case term_kind::plus_one: return x;
                case term_kind::minus_one: return -x;
                default: return scalar_first(t.value, x);
            }
        }

        template <bool Fma, class F>
        inline F scalar_next_kind(const correlate_term<F>& t, F acc, F x) noexcept
        {
            switch (t.kind)
            {
                case term_kind::plus_one: return acc + x;
                case term_kind::minus_one: return acc - x;
                default:
                    if (Fma)
                    {
                        return std::fma(t.value, x, acc);
                    }
                    return scalar_next(acc, t.value, x);
            }
        }

        /// Non-temporal (cache-bypassing) store of a batch to an address aligned to the batch size.
        template <class F, class A>
        inline void stream_store(F* p, const xsimd::batch<F, A>& b) noexcept
        {
            constexpr std::size_t bytes = sizeof(typename xsimd::batch<F, A>::register_type);
#if defined(__AVX512F__)
            if constexpr (bytes == 64)
            {
                if constexpr (std::is_same<F, double>::value)
                {
                    _mm512_stream_pd(p, b);
                }
                else
                {
                    _mm512_stream_ps(p, b);
                }
                return;
            }
#endif
#if defined(__AVX__)
            if constexpr (bytes == 32)
            {
                if constexpr (std::is_same<F, double>::value)
                {
                    _mm256_stream_pd(p, b);
                }
                else
                {
                    _mm256_stream_ps(p, b);
                }
                return;
            }
#endif
#if defined(__SSE2__)
            if constexpr (bytes == 16)
            {
                if constexpr (std::is_same<F, double>::value)
                {
                    _mm_stream_pd(p, b);
                }
                else
                {
                    _mm_stream_ps(p, b);
                }
                return;
            }
#endif
            (void)bytes;
            b.store_aligned(p);
        }

        inline void stream_fence() noexcept
        {
#if defined(__SSE2__)
            _mm_sfence();
#endif
        }

        /// True when stream_store really bypasses the cache for batches of F on this target.
        template <class F>
        constexpr bool has_stream_store() noexcept
        {
#if defined(__SSE2__)
            return true;
#else
            return false;
#endif
        }

        /// SIMD width used by the SIMD strategy: 256-bit AVX2(+FMA) when available, else xsimd's best.
        /// (The terms' loads sit at arbitrary offsets, so 512-bit loads nearly always split two cache
        /// lines; on the AVX-512 machine measured, AVX2 was faster — see benchmarks/README.d/correlate.md.)
#if XSIMD_WITH_FMA3_AVX2
        using correlate_arch = xsimd::fma3<xsimd::avx2>;
#elif XSIMD_WITH_AVX2
        using correlate_arch = xsimd::avx2;
#else
        using correlate_arch = xsimd::default_arch;
#endif

        /// Hint that [p, p + bytes) will be read soon (no-op where unsupported).
        inline void prefetch_bytes(const void* p, std::size_t bytes) noexcept
        {
#if defined(__GNUC__)
            const char* c = static_cast<const char*>(p);
            for (std::size_t q = 0; q < bytes; q += 64)
            {
                __builtin_prefetch(c + q, 0, 2);
            }
#else
            (void)p;
            (void)bytes;
#endif
        }

        /// Tuning knobs of the SIMD strategy (internal; the benchmark compares them).
        struct simd_schedule
        {
            bool chained_rows = true;  ///< visit rows in chains that reuse cached input rows
            int streaming = 0;         ///< non-temporal output stores: 1 on, 0 off, -1 automatic (large outputs);
                                       ///< off by default: no consistent gain measured, and they evict the result
            bool prefetch = true;      ///< prefetch the input rows the next output row needs and this one does not
        };

        /// Outputs at least this large (bytes) are written with non-temporal stores in automatic mode.
        constexpr std::size_t stream_store_threshold = std::size_t(64) << 20;

        /// U batches of outputs starting at column j of one row (aligned non-temporal stores if Stream).
        template <std::size_t U, bool Fma, bool Stream, class B, class F>
        inline void simd_block_store(const F* in_row, F* out_row, std::size_t j, const correlate_term<F>* t,
                                     std::size_t nt) noexcept
        {
            constexpr std::size_t N = B::size;
            B acc[U];
            for (std::size_t u = 0; u < U; ++u)
            {
                acc[u] = simd_first<Fma, B>(t[0], in_row + t[0].offset + j + u * N);
            }
            for (std::size_t k = 1; k < nt; ++k)
            {
                const F* s = in_row + t[k].offset + j;
                for (std::size_t u = 0; u < U; ++u)
                {
                    acc[u] = simd_next<Fma, B>(t[k], acc[u], s + u * N);
                }
            }
            for (std::size_t u = 0; u < U; ++u)
            {
                if constexpr (Stream)
                {
                    stream_store(out_row + j + u * N, acc[u]);
                }
                else
                {
                    acc[u].store_unaligned(out_row + j + u * N);
                }
            }
        }

        template <bool Fma, class F>
        inline void simd_scalar_range(const F* in_row, F* out_row, std::size_t j0, std::size_t j1,
                                      const correlate_term<F>* t, std::size_t nt) noexcept
        {
            for (std::size_t j = j0; j < j1; ++j)
            {
                F acc = scalar_first_kind<Fma>(t[0], in_row[t[0].offset + static_cast<std::ptrdiff_t>(j)]);
                for (std::size_t k = 1; k < nt; ++k)
                {
                    acc = scalar_next_kind<Fma>(t[k], acc, in_row[t[k].offset + static_cast<std::ptrdiff_t>(j)]);
                }
                out_row[j] = acc;
            }
        }

        template <bool Fma, bool Stream, class Arch, class F>
        void correlate_simd_rows(const F* in, F* out, const correlate_plan<F>& plan, bool chained, bool prefetch)
        {
            using B = xsimd::batch<F, Arch>;
            constexpr std::size_t N = B::size;
            constexpr std::size_t U = 4;
            const std::size_t len = plan.out_shape.back();
            const std::size_t nt = plan.terms.size();
            const correlate_term<F>* t = plan.terms.data();
            // input rows the next output row reads and this one does not (prefetched while computing this one)
            std::vector<const F*> fresh;
            fresh.reserve(plan.row_offsets.size());
            auto do_row = [&](std::ptrdiff_t ib, std::ptrdiff_t ob) {
                const F* in_row = in + ib;
                F* out_row = out + ob;
                const std::size_t nf = fresh.size();
                std::size_t j = 0;
                if constexpr (Stream)
                {
                    // scalar head up to the first batch-aligned output address
                    const auto addr = reinterpret_cast<std::uintptr_t>(out_row);
                    const std::size_t mis = (addr % sizeof(B)) / sizeof(F);
                    const std::size_t head = (addr % sizeof(F)) != 0 ? len : std::min(len, mis == 0 ? 0 : N - mis);
                    simd_scalar_range<Fma>(in_row, out_row, 0, head, t, nt);
                    j = head;
                }
                for (; j + U * N <= len; j += U * N)
                {
                    for (std::size_t f = 0; f < nf; ++f)
                    {
                        prefetch_bytes(fresh[f] + j, U * N * sizeof(F));
                    }
                    simd_block_store<U, Fma, Stream, B>(in_row, out_row, j, t, nt);
                }
                for (; j + N <= len; j += N)
                {
                    simd_block_store<1, Fma, Stream, B>(in_row, out_row, j, t, nt);
                }
                simd_scalar_range<Fma>(in_row, out_row, j, len, t, nt);
                const std::size_t done = len - len % (U * N);
                for (std::size_t f = 0; f < nf; ++f)
                {
                    prefetch_bytes(fresh[f] + done, (plan.row_span - done) * sizeof(F));
                }
            };
            bool have = false;
            std::ptrdiff_t cur_ib = 0;
            std::ptrdiff_t cur_ob = 0;
            auto visit = [&](std::ptrdiff_t ib, std::ptrdiff_t ob) {
                if (have)
                {
                    fresh.clear();
                    if (prefetch)
                    {
                        for (auto r : plan.row_offsets)
                        {
                            const std::ptrdiff_t rel = ib + r - cur_ib;
                            if (!std::binary_search(plan.row_offsets.begin(), plan.row_offsets.end(), rel))
                            {
                                fresh.push_back(in + ib + r);
                            }
                        }
                    }
                    do_row(cur_ib, cur_ob);
                }
                cur_ib = ib;
                cur_ob = ob;
                have = true;
            };
            if (chained)
            {
                for_each_row_chained(plan, visit);
            }
            else
            {
                for_each_row(plan, visit);
            }
            if (have)
            {
                fresh.clear();
                do_row(cur_ib, cur_ob);
            }
            if constexpr (Stream)
            {
                stream_fence();
            }
        }

        template <bool Fma, class F, class Arch = correlate_arch>
        void correlate_simd(const F* in, F* out, const correlate_plan<F>& plan, simd_schedule sched = {})
        {
            const bool stream = has_stream_store<F>() &&
                                (sched.streaming == 1 ||
                                 (sched.streaming == -1 && plan.n_outputs * sizeof(F) >= stream_store_threshold));
            if (stream)
            {
                correlate_simd_rows<Fma, true, Arch>(in, out, plan, sched.chained_rows, sched.prefetch);
            }
            else
            {
                correlate_simd_rows<Fma, false, Arch>(in, out, plan, sched.chained_rows, sched.prefetch);
            }
        }

        // ---- padding --------------------------------------------------------------

        /**
         * @brief Pad a contiguous row-major image by `before[a]`/`after[a]` samples
         *        per axis exactly as numpy.pad does for the mode (constant: zeros).
         */
        template <class F>
        xt::xarray<F> pad_image(const F* src, const std::vector<std::size_t>& shape,
                                const std::vector<std::size_t>& before, const std::vector<std::size_t>& after, mode m)
        {
            const std::size_t nd = shape.size();
            std::vector<std::size_t> pshape(nd);
            std::vector<std::vector<std::ptrdiff_t>> maps(nd);
            std::vector<std::ptrdiff_t> sstrides(nd, 1);
            for (std::size_t a = 0; a < nd; ++a)
            {
                pshape[a] = before[a] + shape[a] + after[a];
                maps[a] = pad_indices(shape[a], before[a], after[a], m);
            }
            for (std::size_t a = nd - 1; a-- > 0;)
            {
                sstrides[a] = sstrides[a + 1] * static_cast<std::ptrdiff_t>(shape[a + 1]);
            }
            checked_size(pshape, "correlate_sparse (padded image)");
            xt::xarray<F> padded = xt::xarray<F>::from_shape(pshape);
            F* dst = padded.data();
            const std::size_t plen = pshape[nd - 1];
            const auto& lmap = maps[nd - 1];
            std::vector<std::size_t> i(nd - 1, 0);
            const std::size_t nrows = padded.size() / plen;
            for (std::size_t r = 0; r < nrows; ++r)
            {
                std::ptrdiff_t soff = 0;
                bool zero_row = false;
                for (std::size_t a = 0; a + 1 < nd; ++a)
                {
                    const std::ptrdiff_t s = maps[a][i[a]];
                    zero_row = zero_row || s < 0;
                    soff += s * sstrides[a];
                }
                F* d = dst + r * plen;
                if (zero_row)
                {
                    std::fill(d, d + plen, F(0));
                }
                else
                {
                    const F* srow = src + soff;
                    for (std::size_t j = 0; j < before[nd - 1]; ++j)
                    {
                        d[j] = lmap[j] < 0 ? F(0) : srow[lmap[j]];
                    }
                    std::memcpy(d + before[nd - 1], srow, shape[nd - 1] * sizeof(F));
                    for (std::size_t j = before[nd - 1] + shape[nd - 1]; j < plen; ++j)
                    {
                        d[j] = lmap[j] < 0 ? F(0) : srow[lmap[j]];
                    }
                }
                for (std::size_t a = nd - 1; a-- > 0;)
                {
                    if (++i[a] < pshape[a])
                    {
                        break;
                    }
                    i[a] = 0;
                }
            }
            return padded;
        }
    }  // namespace detail
}  // namespace xskan

#endif
