/**
 * @file correlate.hpp
 * @brief Cross-correlation with a sparse kernel (few non-zero entries), any
 *        number of dimensions, every boundary mode; four loop strategies.
 */
#ifndef XSKAN_CORRELATE_HPP
#define XSKAN_CORRELATE_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xcontainer.hpp>
#include <xtensor/xexpression.hpp>

#include "detail/common.hpp"
#include "detail/correlate_kernels.hpp"
#include "mode.hpp"
#include "sparse_kernel.hpp"

namespace xskan
{
    /**
     * @brief Loop strategies of correlate_sparse (tags for its first template
     *        argument). All give the same valid-region result; `simd` (the
     *        default, fastest) and the three scalar ones are bitwise equal to
     *        scikit-image; `simd_fma` fuses multiply-adds (see below).
     *
     * For K non-zero entries and P outputs:
     * - `pixel_outer`: for each output (found through an index array of its
     *   input position), sum the K terms — the talk's first loop;
     * - `offset_outer`: for each term, sweep all outputs through the index
     *   array — K passes over the output;
     * - `no_indirection`: for each term, sweep the output row by row over
     *   contiguous input runs (no index array) — K streaming passes;
     * - `simd`: for a block of 4 SIMD batches of one output row, all K terms
     *   are accumulated in registers, then stored once: the output is written
     *   once and never re-read. Output rows are visited in chains
     *   `i, i + g, i + 2g, ...` where g is the gcd of the kernel's offsets
     *   along that axis (g = w for a box-corner kernel), so the input row that
     *   output row i reads as its "far" row is still in L2 when row i + g
     *   reads it as "near": every input row comes from memory once. The rows
     *   the next output row needs and this one does not are prefetched while
     *   this one is computed. (Non-temporal stores were measured too: no
     *   consistent gain on this machine, so plain stores are used.)
     *   Terms equal to ±1 are added/subtracted without a product (bitwise
     *   identical). xsimd: AVX2 where available (256-bit unaligned loads
     *   split cache lines less often than 512-bit ones), else the best
     *   architecture xsimd finds; scalar tails.
     * - `simd_fma`: as `simd`, but `acc + v*x` for v ≠ ±1 is one fused
     *   multiply-add (one rounding instead of two): at least as accurate, not
     *   bitwise equal to scikit-image for general kernel values (equal for ±1
     *   kernels such as the box-corner kernel).
     *
     * The three scalar strategies keep numpy's rounding: when the target has
     * FMA, each product passes through an empty asm statement so the compiler
     * cannot fuse it with the following addition (GCC does so by default in
     * GNU mode); this also keeps them from being auto-vectorised, like numba's
     * versions of the talk's loops.
     *
     * Which loop order wins (4000×6000, box-corner kernel w = 301, see
     * benchmarks/README.d/correlate.md): `simd`, i.e. pixel-outer over a
     * register block with no indirection, at 1.1–1.4× the time of one
     * streaming copy of input + output; offset-outer (`no_indirection`) pays K passes
     * over the output (K reads and writes of a 169 MB array); an index array
     * (`pixel_outer`, `offset_outer`) adds a load per sample and defeats
     * vectorisation. A plain box-sum loop in natural row order is slower than
     * `simd` because it reads every input row twice from memory (rows i and
     * i + w are 14 MB apart: the first read has left the cache).
     */
    namespace strategy
    {
        /// Per output, all terms, through an index array (the talk's first loop).
        struct pixel_outer
        {
        };
        /// Per term, all outputs, through an index array.
        struct offset_outer
        {
        };
        /// Per term, all output rows over contiguous input runs (no index array).
        struct no_indirection
        {
        };
        /// All terms of a register block of outputs, xsimd, cache-aware row order (default; bitwise exact).
        struct simd
        {
        };
        /// As simd, with fused multiply-adds for terms other than ±1 (not bitwise equal to scikit-image).
        struct simd_fma
        {
        };
    }  // namespace strategy

    /// The working (and result) type of correlate_sparse for input type T: float → float, anything else → double.
    template <class T>
    using correlate_value_t = detail::float_working_t<T>;

    /**
     * @brief A non-owning strided n-D array: `data[Σ i_a * strides[a]]`.
     *
     * Strides are in elements and may be negative for the outer axes; the last
     * axis must be contiguous (stride 1). Used by correlate_sparse_into to work
     * on a sub-block of a bigger array (a "pitch") without copying.
     */
    template <class T>
    struct array_ref
    {
        T* data = nullptr;
        std::vector<std::size_t> shape;
        std::vector<std::ptrdiff_t> strides;
    };

    namespace detail
    {
        template <class Strategy, class F>
        void run_correlate(const F* in, F* out, const correlate_plan<F>& plan)
        {
            if constexpr (std::is_same<Strategy, strategy::pixel_outer>::value)
            {
                correlate_pixel_outer(in, out, plan);
            }
            else if constexpr (std::is_same<Strategy, strategy::offset_outer>::value)
            {
                correlate_offset_outer(in, out, plan);
            }
            else if constexpr (std::is_same<Strategy, strategy::no_indirection>::value)
            {
                correlate_no_indirection(in, out, plan);
            }
            else if constexpr (std::is_same<Strategy, strategy::simd>::value)
            {
                correlate_simd<false>(in, out, plan);
            }
            else if constexpr (std::is_same<Strategy, strategy::simd_fma>::value)
            {
                correlate_simd<true>(in, out, plan);
            }
            else
            {
                static_assert(std::is_same<Strategy, strategy::simd>::value,
                              "xskan::correlate_sparse: Strategy must be one of xskan::strategy::pixel_outer, "
                              "offset_outer, no_indirection, simd, simd_fma");
            }
        }

        /// Valid output shape; throws when the kernel does not fit.
        template <class KT>
        std::vector<std::size_t> valid_shape(const std::vector<std::size_t>& in_shape, const sparse_kernel<KT>& k,
                                             const char* func)
        {
            if (k.dimension() != in_shape.size())
            {
                throw std::invalid_argument(std::string("xskan::") + func + ": the kernel has " +
                                            std::to_string(k.dimension()) + " dimensions " +
                                            shape_to_string(k.shape()) + " but the image has " +
                                            std::to_string(in_shape.size()) + " " + shape_to_string(in_shape) +
                                            " (they must be equal)");
            }
            std::vector<std::size_t> out(in_shape.size());
            for (std::size_t a = 0; a < in_shape.size(); ++a)
            {
                if (k.shape()[a] > in_shape[a])
                {
                    throw std::invalid_argument(std::string("xskan::") + func + ": in mode 'valid' the kernel " +
                                                shape_to_string(k.shape()) + " must fit inside the image " +
                                                shape_to_string(in_shape) + " (kernel extent <= image extent on every axis)");
                }
                out[a] = in_shape[a] - k.shape()[a] + 1;
            }
            return out;
        }

        template <class KT>
        void check_odd_kernel(const sparse_kernel<KT>& k, mode m, const char* func)
        {
            for (auto s : k.shape())
            {
                if (s % 2 == 0)
                {
                    throw std::invalid_argument(std::string("xskan::") + func + ": kernel shape " +
                                                shape_to_string(k.shape()) + " has an even extent, which mode '" +
                                                to_string(m) + "' does not allow (use odd extents, or mode 'valid')");
                }
            }
        }

        inline std::vector<std::ptrdiff_t> contiguous_strides(const std::vector<std::size_t>& shape)
        {
            std::vector<std::ptrdiff_t> s(shape.size(), 1);
            for (std::size_t a = shape.size(); a-- > 1;)
            {
                s[a - 1] = s[a] * static_cast<std::ptrdiff_t>(shape[a]);
            }
            return s;
        }

        /// Valid correlation of contiguous row-major `in` (shape in_shape) into contiguous `out`.
        template <class Strategy, class F, class KT>
        void correlate_contiguous(const F* in, const std::vector<std::size_t>& in_shape, const sparse_kernel<KT>& k,
                                  F* out, const std::vector<std::size_t>& out_shape)
        {
            const auto plan = make_plan<F>(k, out_shape, contiguous_strides(in_shape), contiguous_strides(out_shape));
            run_correlate<Strategy>(in, out, plan);
        }

        template <class S>
        struct is_std_array : std::false_type
        {
        };
        template <class T, std::size_t N>
        struct is_std_array<std::array<T, N>> : std::true_type
        {
        };

        /// True for an xtensor container (not a view) whose storage is row-major contiguous.
        template <class E>
        bool is_row_major_container(const E& e)
        {
            if constexpr (std::is_base_of<xt::xcontainer<E>, E>::value)
            {
                if (e.layout() != xt::layout_type::row_major)
                {
                    return false;
                }
                // Double-check the strides (axes of extent 1 may carry stride 0).
                std::ptrdiff_t expect = 1;
                for (std::size_t a = e.dimension(); a-- > 0;)
                {
                    if (e.shape()[a] != 1 && static_cast<std::ptrdiff_t>(e.strides()[a]) != expect)
                    {
                        return false;
                    }
                    expect *= static_cast<std::ptrdiff_t>(e.shape()[a]);
                }
                return true;
            }
            else
            {
                (void)e;
                return false;
            }
        }

        /// Run `fn(const F* data, shape)` on the image as contiguous row-major F, copying only when needed.
        template <class F, class E, class Fn>
        void with_contiguous(const xt::xexpression<E>& image, Fn&& fn, const void* avoid_lo = nullptr,
                             const void* avoid_hi = nullptr)
        {
            const auto& img = image.derived_cast();
            std::vector<std::size_t> shape(img.shape().begin(), img.shape().end());
            if constexpr (std::is_same<typename E::value_type, F>::value && std::is_base_of<xt::xcontainer<E>, E>::value)
            {
                // use the storage in place unless it overlaps [avoid_lo, avoid_hi) (the caller's output)
                const auto lo = reinterpret_cast<std::uintptr_t>(img.data());
                const auto hi = lo + img.size() * sizeof(F);
                const bool overlaps = avoid_lo != nullptr && img.size() > 0 &&
                                      lo < reinterpret_cast<std::uintptr_t>(avoid_hi) &&
                                      reinterpret_cast<std::uintptr_t>(avoid_lo) < hi;
                if (!overlaps && is_row_major_container(img))
                {
                    fn(img.data(), shape);
                    return;
                }
            }
            const auto tmp = to_contiguous<F>(image);
            fn(tmp.data(), shape);
        }

        template <class Strategy, class F, class KT, class Out>
        void correlate_any_mode(const F* data, const std::vector<std::size_t>& shape, const sparse_kernel<KT>& k,
                                mode m, Out&& get_out, const char* func)
        {
            check_nonempty(shape, func);
            if (m == mode::valid)
            {
                const auto out_shape = valid_shape(shape, k, func);
                F* out = get_out(out_shape);
                correlate_contiguous<Strategy>(data, shape, k, out, out_shape);
                return;
            }
            if (k.dimension() != shape.size())
            {
                valid_shape(shape, k, func);  // throws the ndim message
            }
            check_odd_kernel(k, m, func);
            std::vector<std::size_t> pad(shape.size());
            for (std::size_t a = 0; a < shape.size(); ++a)
            {
                pad[a] = k.shape()[a] / 2;
            }
            const auto padded = pad_image(data, shape, pad, pad, m);
            const std::vector<std::size_t> pshape(padded.shape().begin(), padded.shape().end());
            F* out = get_out(shape);
            correlate_contiguous<Strategy>(padded.data(), pshape, k, out, shape);
        }
    }  // namespace detail

    /**
     * @brief Cross-correlate an image with a sparse kernel.
     *
     * `out[i] = Σ_k kernel[k] · P[i + k]` over the kernel's non-zero entries,
     * where P is the image padded by `kernel.shape // 2` on both sides of each
     * axis with mode `m` (no padding for mode::valid; output shape
     * `image.shape - kernel.shape + 1`). Summation order and rounding are
     * scikit-image's: the all-zero corner term first (0·x if the kernel is zero
     * there), then the other entries in C order, each product and addition
     * rounded in the working type (float for float input, double otherwise:
     * integer and bool images are converted without rescaling). NaN and inf
     * propagate as in numpy.
     *
     * @tparam Strategy a tag from xskan::strategy (default: simd, the fastest)
     * @param image  any xtensor expression, ndim >= 1, non-empty (views,
     *               transposes and non-contiguous data are copied first)
     * @param kernel the sparse kernel; `kernel.dimension()` must equal the image's
     * @param m      boundary mode (default mode::reflect, as scikit-image).
     *               Padded modes need odd kernel extents; mode::constant pads with 0.
     * @return xt::xarray<correlate_value_t<value_type>>
     * @throws std::invalid_argument for an empty image, a dimension mismatch, an
     *         even kernel extent in a padded mode, or (valid) a kernel larger than
     *         the image.
     * Complexity: O(outputs · nnz) operations; `simd` reads the input about once
     * and writes the output once. Padded modes first build the padded image.
     * Matches: `skimage.filters.correlate_sparse(image, kernel, mode)` (0.19.3),
     * bitwise (strategies other than simd_fma). Difference: valid mode with a
     * kernel larger than the image raises instead of returning an empty array.
     * Reference: J. Nunez-Iglesias, "Sparse correlation" (skimage PR #3785, and
     * the talk on fast n-D kernels with numba).
     */
    template <class Strategy = strategy::simd, class E, class KT>
    auto correlate_sparse(const xt::xexpression<E>& image, const sparse_kernel<KT>& kernel, mode m = mode::reflect)
    {
        using F = correlate_value_t<typename E::value_type>;
        xt::xarray<F> result;
        detail::with_contiguous<F>(image, [&](const F* data, const std::vector<std::size_t>& shape) {
            detail::correlate_any_mode<Strategy>(
                data, shape, kernel, m,
                [&](const std::vector<std::size_t>& out_shape) {
                    result = xt::xarray<F>::from_shape(out_shape);
                    return result.data();
                },
                "correlate_sparse");
        });
        return result;
    }

    /**
     * @brief Same, with a dense kernel (any xtensor expression): its non-zero
     *        entries are extracted first (sparse_kernel::from_dense).
     */
    template <class Strategy = strategy::simd, class E, class K>
    auto correlate_sparse(const xt::xexpression<E>& image, const xt::xexpression<K>& kernel, mode m = mode::reflect)
    {
        return correlate_sparse<Strategy>(image, sparse_kernel<double>::from_dense(kernel), m);
    }

    /**
     * @brief Out-parameter form: writes into a caller's container (reused
     *        memory avoids the first-touch cost of fresh pages).
     *
     * @param image  as for correlate_sparse; a row-major container whose value
     *               type is already the working type is used without a copy,
     *               unless it shares storage with `out` (then it is copied first,
     *               so `correlate_sparse_into(a, k, a)` is safe)
     * @param kernel sparse kernel
     * @param out    an xtensor container (xarray/xtensor, row-major) of value type
     *               `correlate_value_t<image value type>`; resized only if its shape differs
     * @param m      boundary mode, **mode::valid by default** here
     */
    template <class Strategy = strategy::simd, class E, class KT, class O>
    void correlate_sparse_into(const xt::xexpression<E>& image, const sparse_kernel<KT>& kernel, O& out,
                               mode m = mode::valid)
    {
        using F = correlate_value_t<typename E::value_type>;
        static_assert(std::is_same<typename O::value_type, F>::value,
                      "xskan::correlate_sparse_into: the output value type must be correlate_value_t<input value "
                      "type> (float for float input, double otherwise)");
        static_assert(std::is_base_of<xt::xcontainer<O>, O>::value,
                      "xskan::correlate_sparse_into: the output must be an xtensor container (xarray, xtensor); "
                      "for a sub-block of a bigger array use the array_ref overload");
        // an input sharing storage with `out` (e.g. the same array) is copied first
        const void* out_lo = out.size() > 0 ? static_cast<const void*>(out.data()) : nullptr;
        const void* out_hi = out.size() > 0 ? static_cast<const void*>(out.data() + out.size()) : nullptr;
        detail::with_contiguous<F>(image, [&](const F* data, const std::vector<std::size_t>& shape) {
            detail::correlate_any_mode<Strategy>(
                data, shape, kernel, m,
                [&](const std::vector<std::size_t>& out_shape) {
                    const bool same = out.dimension() == out_shape.size() &&
                                      std::equal(out_shape.begin(), out_shape.end(), out.shape().begin());
                    if (!same)
                    {
                        if (detail::is_std_array<typename O::shape_type>::value && out.dimension() != out_shape.size())
                        {
                            throw std::invalid_argument("xskan::correlate_sparse_into: the output has " +
                                                        std::to_string(out.dimension()) +
                                                        " dimensions (fixed), the result needs " +
                                                        std::to_string(out_shape.size()));
                        }
                        out.resize(out_shape);
                    }
                    if (!detail::is_row_major_container(out))
                    {
                        throw std::invalid_argument("xskan::correlate_sparse_into: the output container must have "
                                                    "row-major layout");
                    }
                    return out.data();
                },
                "correlate_sparse_into");
        }, out_lo, out_hi);
    }

    /// Out-parameter form with a dense kernel expression.
    template <class Strategy = strategy::simd, class E, class K, class O>
    void correlate_sparse_into(const xt::xexpression<E>& image, const xt::xexpression<K>& kernel, O& out,
                               mode m = mode::valid)
    {
        correlate_sparse_into<Strategy>(image, sparse_kernel<double>::from_dense(kernel), out, m);
    }

    /**
     * @brief Valid-mode correlation between raw strided arrays (e.g. sub-blocks
     *        of bigger arrays), no allocation of the output, no copy of the input.
     *
     * @param input  F = float or double; any ndim >= 1, non-empty, last stride 1
     * @param kernel sparse kernel with input's ndim, fitting inside the input
     * @param output shape must be `input.shape - kernel.shape + 1`, last stride 1;
     *               must not overlap the input
     * @throws std::invalid_argument on a shape or stride mismatch (message says which)
     * Complexity: O(outputs · nnz).
     */
    template <class Strategy = strategy::simd, class F, class KT>
    void correlate_sparse_into(const array_ref<const F>& input, const sparse_kernel<KT>& kernel,
                               const array_ref<F>& output)
    {
        static_assert(std::is_same<F, float>::value || std::is_same<F, double>::value,
                      "xskan::correlate_sparse_into: raw arrays must be float or double");
        const char* func = "correlate_sparse_into";
        const std::size_t nd = input.shape.size();
        if (input.strides.size() != nd || output.shape.size() != nd || output.strides.size() != nd)
        {
            throw std::invalid_argument("xskan::correlate_sparse_into: input shape/strides and output shape/strides "
                                        "must all have the same length (the number of dimensions)");
        }
        if (input.data == nullptr || output.data == nullptr)
        {
            throw std::invalid_argument("xskan::correlate_sparse_into: null data pointer");
        }
        detail::check_nonempty(input.shape, func);
        const auto out_shape = detail::valid_shape(input.shape, kernel, func);
        if (out_shape != output.shape)
        {
            throw std::invalid_argument("xskan::correlate_sparse_into: output shape " +
                                        detail::shape_to_string(output.shape) + " must be input shape - kernel shape + 1 = " +
                                        detail::shape_to_string(out_shape));
        }
        if (input.strides[nd - 1] != 1 || output.strides[nd - 1] != 1)
        {
            throw std::invalid_argument("xskan::correlate_sparse_into: the last axis of input and output must be "
                                        "contiguous (stride 1)");
        }
        const auto plan = detail::make_plan<F>(kernel, out_shape, input.strides, output.strides);
        detail::run_correlate<Strategy>(input.data, output.data, plan);
    }
}  // namespace xskan

#endif
