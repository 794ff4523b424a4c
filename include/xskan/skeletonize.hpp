/**
 * @file skeletonize.hpp
 * @brief Skeletonization of binary images: scikit-image's 2D thinning (Zhang &
 *        Suen style, with its look-up table) and Lee, Kashyap & Chu's 2D/3D
 *        thinning, bit-for-bit identical to scikit-image 0.19.3.
 */
#ifndef XSKAN_SKELETONIZE_HPP
#define XSKAN_SKELETONIZE_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>
#include <xtensor/xoperation.hpp>

#include "detail/common.hpp"
#include "detail/parallel.hpp"
#include "detail/skeletonize_bits.hpp"
#include "detail/skeletonize_lee.hpp"
#include "detail/skeletonize_zhang.hpp"

namespace xskan
{
    /// Thinning algorithm.
    enum class skeleton_method
    {
        zhang,  ///< scikit-image's 2D two-subiteration thinning (`skeletonize`, method None/'zhang'); 2D only
        lee     ///< Lee, Kashyap & Chu 1994 (`skeletonize_3d`, `skeletonize(method='lee')`); 2D or 3D
    };

    /// "zhang" / "lee".
    inline std::string to_string(skeleton_method m) { return m == skeleton_method::zhang ? "zhang" : "lee"; }

    /// Options of skeletonize().
    struct skeletonize_options
    {
        /// Algorithm (default: Zhang, as scikit-image for 2D input).
        skeleton_method method = skeleton_method::zhang;
        /// Threads (0 = all hardware threads); the result is identical for any count. Zhang:
        /// both phases of every subiteration are row-parallel. Lee: the candidate
        /// collection of every border direction is parallel, its re-check stays sequential.
        std::size_t threads = 1;

        skeletonize_options& with_method(skeleton_method m)
        {
            method = m;
            return *this;
        }
        skeletonize_options& with_threads(std::size_t n)
        {
            threads = n;
            return *this;
        }
    };

    /// Internal buffers of skeletonize(), reusable between calls of similar size
    /// to avoid first-touch page faults on large images.
    struct skeletonize_workspace
    {
        detail::zhang_buffers zhang;
        detail::lee_buffers lee;
        xt::xarray<std::uint8_t> input;  ///< evaluated input for non-contiguous expressions
    };

    namespace detail
    {
        /// Pointer to contiguous row-major data of `e` or nullptr.
        template <class E>
        const typename E::value_type* skel_contiguous_data(const E& e)
        {
            if constexpr (has_raw_data<E>::value)
            {
                const auto& shape = e.shape();
                const auto& strides = e.strides();
                std::ptrdiff_t expected = 1;
                for (std::size_t k = shape.size(); k-- > 0;)
                {
                    if (shape[k] != 1 && static_cast<std::ptrdiff_t>(strides[k]) != expected)
                    {
                        return nullptr;
                    }
                    expected *= static_cast<std::ptrdiff_t>(shape[k]);
                }
                return e.data() + e.data_offset();
            }
            else
            {
                return nullptr;
            }
        }

        /// Calls `fn(const T* data)` on contiguous row-major samples of the mask
        /// (the expression's own storage when possible, else an evaluated copy).
        template <class E, class F>
        void skel_with_data(const E& e, skeletonize_workspace& ws, F&& fn)
        {
            using value_type = typename E::value_type;
            const value_type* p = skel_contiguous_data(e);
            if (p)
            {
                fn(p);
                return;
            }
            if constexpr (std::is_same<value_type, std::uint8_t>::value || std::is_same<value_type, bool>::value)
            {
                ws.input = xt::cast<std::uint8_t>(xt::not_equal(e, value_type(0)));
                fn(ws.input.data());
            }
            else
            {
                xt::xarray<value_type, xt::layout_type::row_major> copy = e;
                fn(copy.data());
            }
        }

        template <class S>
        void skel_check_dims(const S& shape, skeleton_method m, const char* func)
        {
            const std::size_t nd = shape.size();
            if (m == skeleton_method::zhang && nd != 2)
            {
                throw std::invalid_argument(std::string("xskan::") + func + ": method zhang needs a 2D image, got " +
                                            std::to_string(nd) + "-D shape " + shape_to_string(shape) +
                                            " (use skeleton_method::lee for 3D)");
            }
            if (m == skeleton_method::lee && nd != 2 && nd != 3)
            {
                throw std::invalid_argument(std::string("xskan::") + func +
                                            ": method lee needs a 2D or 3D image, got " + std::to_string(nd) +
                                            "-D shape " + shape_to_string(shape));
            }
            if (m != skeleton_method::zhang && m != skeleton_method::lee)
            {
                throw std::invalid_argument(std::string("xskan::") + func + ": unknown skeleton_method");
            }
            // Padded sizes (+2 per axis, + slack) must fit in size_t.
            std::vector<std::size_t> padded;
            for (auto s : shape)
            {
                const auto u = static_cast<std::size_t>(s);
                if (u > (std::size_t(1) << 40))
                {
                    throw std::overflow_error(std::string("xskan::") + func + ": image shape " +
                                              shape_to_string(shape) + " is too large");
                }
                padded.push_back(u + 2);
            }
            padded.push_back(16);
            (void) checked_size(padded, func);
        }

        template <class T>
        void skel_zhang(const T* src, std::size_t h, std::size_t w, std::uint8_t* out, std::size_t threads,
                        zhang_buffers& buf)
        {
            buf.reset(h, w);
            const std::size_t wpr = buf.wpr;
            for (std::size_t r = 0; r < h; ++r)
            {
                std::uint64_t* row = buf.s() + (r + 1) * wpr;
                const T* in = src + r * w;
                for (std::size_t c = 0, k = 0; c < w; c += 64, ++k)
                {
                    const std::size_t n = std::min<std::size_t>(64, w - c);
                    const std::uint64_t bits = pack_nonzero_64(in + c, n);
                    row[k] |= bits << 1;  // padded column = image column + 1
                    row[k + 1] |= bits >> 63;
                }
            }
            zhang_thin(buf, resolve_threads(threads, 64));
            for (std::size_t r = 0; r < h; ++r)
            {
                const std::uint64_t* row = buf.s() + (r + 1) * wpr;
                std::uint8_t* o = out + r * w;
                for (std::size_t c = 0, k = 0; c < w; c += 64, ++k)
                {
                    const std::size_t n = std::min<std::size_t>(64, w - c);
                    const std::uint64_t bits = (row[k] >> 1) | (row[k + 1] << 63);
                    unpack_bits_64(bits, o + c, n);
                }
            }
        }

        template <class T>
        void skel_lee(const T* src, std::size_t p, std::size_t h, std::size_t w, std::uint8_t* out,
                      std::size_t threads, lee_buffers& buf)
        {
            const std::size_t np = p + 2, nr = h + 2, nc = w + 2;
            const std::size_t wpr = lee_buffers::words_per_row(nc);
            buf.reset(np, nr, nc);
            std::uint64_t* fg = buf.fg.data();
            for (std::size_t k = 0; k < p; ++k)
            {
                for (std::size_t r = 0; r < h; ++r)
                {
                    const T* in = src + (k * h + r) * w;
                    std::uint64_t* row = fg + ((k + 1) * nr + r + 1) * wpr;
                    for (std::size_t c = 0, q = 0; c < w; c += 64, ++q)
                    {
                        const std::size_t n = std::min<std::size_t>(64, w - c);
                        const std::uint64_t bits = pack_nonzero_64(in + c, n);
                        row[q] |= bits << 1;  // padded column = image column + 1 < nc <= 64 * wpr
                        if (q + 1 < wpr)
                        {
                            row[q + 1] |= bits >> 63;
                        }
                    }
                }
            }
            lee_thin(buf, np, nr, nc, resolve_threads(threads, 64));
            for (std::size_t k = 0; k < p; ++k)
            {
                for (std::size_t r = 0; r < h; ++r)
                {
                    const std::uint64_t* row = fg + ((k + 1) * nr + r + 1) * wpr;
                    std::uint8_t* o = out + (k * h + r) * w;
                    for (std::size_t c = 0, q = 0; c < w; c += 64, ++q)
                    {
                        const std::size_t n = std::min<std::size_t>(64, w - c);
                        const std::uint64_t bits = (row[q] >> 1) | (q + 1 < wpr ? row[q + 1] << 63 : 0);
                        unpack_bits_64(bits, o + c, n);
                    }
                }
            }
        }
    }  // namespace detail

    /**
     * @brief Skeleton of a 2D (Zhang or Lee) or 3D (Lee) binary image, written into `out`.
     *
     * Out-parameter form of skeletonize(): `out` is resized to the mask's shape
     * only when its shape differs (its memory is reused otherwise), and the
     * internal buffers live in `ws`, so repeated calls touch no fresh memory.
     * @param mask any 2D/3D xtensor expression, any value type; non-zero (and NaN) = foreground.
     * @param out  receives 0/1 with the mask's shape.
     * @param options method and threads.
     * @param ws   reusable buffers.
     * @throws std::invalid_argument for a wrong number of dimensions (zhang: 2; lee: 2 or 3).
     */
    template <class E>
    void skeletonize(const xt::xexpression<E>& mask, xt::xarray<std::uint8_t>& out,
                     const skeletonize_options& options, skeletonize_workspace& ws)
    {
        const auto& e = mask.derived_cast();
        const auto& shape = e.shape();
        detail::skel_check_dims(shape, options.method, "skeletonize");
        if (out.dimension() != shape.size() || !std::equal(shape.begin(), shape.end(), out.shape().begin()))
        {
            out.resize(std::vector<std::size_t>(shape.begin(), shape.end()));
        }
        const std::size_t total = detail::checked_size(shape, "skeletonize");
        if (total == 0)
        {
            return;  // empty image: empty skeleton, as scikit-image
        }
        detail::skel_with_data(e, ws, [&](const auto* data) {
            if (options.method == skeleton_method::zhang)
            {
                detail::skel_zhang(data, static_cast<std::size_t>(shape[0]), static_cast<std::size_t>(shape[1]),
                                   out.data(), options.threads, ws.zhang);
            }
            else if (shape.size() == 2)
            {
                detail::skel_lee(data, 1, static_cast<std::size_t>(shape[0]), static_cast<std::size_t>(shape[1]),
                                 out.data(), options.threads, ws.lee);
            }
            else
            {
                detail::skel_lee(data, static_cast<std::size_t>(shape[0]), static_cast<std::size_t>(shape[1]),
                                 static_cast<std::size_t>(shape[2]), out.data(), options.threads, ws.lee);
            }
        });
    }

    /**
     * @brief Skeleton of a binary image by thinning.
     *
     * - `skeleton_method::zhang` (2D only): scikit-image's two-subiteration
     *   thinning with its 256-entry look-up table; pixels outside the image are
     *   background. Iterates to convergence.
     * - `skeleton_method::lee` (2D or 3D): Lee, Kashyap & Chu's 3D medial-axis
     *   thinning (a 2D image is thinned as one slice, with the four in-plane
     *   border directions only); the image is zero-padded by one voxel.
     *
     * Complexity: Zhang O(rows + Σ 64-pixel words holding pixels whose neighbourhood
     * changed) per subiteration on a bit-packed image, the look-up table evaluated as a
     * Boolean circuit on whole words (one SIMD register of words at a time; rows shared
     * among `options.threads`);
     * Lee O(size/64 of the rows still holding foreground) per border direction on a
     * bit-packed volume plus a table-driven neighbourhood test per border voxel whose
     * neighbourhood changed (candidate collection shared among `options.threads`).
     * @param mask any 2D/3D xtensor expression (views, transposes and lazy
     *             expressions included); any value type, non-zero (and NaN) = foreground.
     * @param options method (default zhang) and threads (default 1).
     * @return `xt::xarray<std::uint8_t>` of 0/1 with the mask's shape (empty for an empty mask).
     * @throws std::invalid_argument for a wrong number of dimensions.
     *
     * Matches: `skimage.morphology.skeletonize(image, method=None|'zhang'|'lee')`
     * and `skeletonize_3d` of scikit-image 0.19.3 bit-for-bit on the foreground.
     * Deliberate differences: scikit-image's Zhang returns bool and rejects values
     * other than 0/1 (its input is `astype(uint8)` first, so 0.5 -> 0), its Lee
     * returns the input's maximum after `img_as_ubyte` (255 for bool input, so
     * compare with `!= 0`) and maps floats through `img_as_ubyte` (values below
     * 1/510 become background); xskan always returns 0/1 and takes every non-zero
     * sample as foreground.
     * References: T. Y. Zhang and C. Y. Suen, "A fast parallel algorithm for
     * thinning digital patterns", Comm. ACM 27(3), 1984; T.-C. Lee, R. L. Kashyap
     * and C.-N. Chu, "Building skeleton models via 3-D medial surface/axis
     * thinning algorithms", CVGIP: Graphical Models and Image Processing 56(6), 1994.
     */
    template <class E>
    xt::xarray<std::uint8_t> skeletonize(const xt::xexpression<E>& mask, const skeletonize_options& options)
    {
        xt::xarray<std::uint8_t> out;
        skeletonize_workspace ws;
        skeletonize(mask, out, options, ws);
        return out;
    }

    /**
     * @brief skeletonize() with a method and default options (one thread).
     * @param mask 2D (zhang, lee) or 3D (lee) binary image; non-zero = foreground.
     * @param m    skeleton_method::zhang (default, 2D only) or skeleton_method::lee.
     * @return 0/1 `xt::xarray<std::uint8_t>` with the mask's shape.
     * Matches: `skimage.morphology.skeletonize(image, method=...)` (0.19.3).
     */
    template <class E>
    xt::xarray<std::uint8_t> skeletonize(const xt::xexpression<E>& mask,
                                         skeleton_method m = skeleton_method::zhang)
    {
        skeletonize_options options;
        options.method = m;
        return skeletonize(mask, options);
    }

    /**
     * @brief Lee, Kashyap & Chu thinning of a 2D or 3D binary image.
     * @param mask 2D or 3D binary image; non-zero = foreground.
     * @return 0/1 `xt::xarray<std::uint8_t>` with the mask's shape (scikit-image returns 0/255 for bool input).
     * Matches: `skimage.morphology.skeletonize_3d(image) != 0` (0.19.3).
     * Reference: Lee, Kashyap & Chu, CVGIP 56(6), 1994.
     */
    template <class E>
    xt::xarray<std::uint8_t> skeletonize_3d(const xt::xexpression<E>& mask)
    {
        return skeletonize(mask, skeleton_method::lee);
    }
}  // namespace xskan

#endif
