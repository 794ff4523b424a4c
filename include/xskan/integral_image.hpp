/**
 * @file integral_image.hpp
 * @brief Summed-area tables (integral images) in any number of dimensions.
 */
#ifndef XSKAN_INTEGRAL_IMAGE_HPP
#define XSKAN_INTEGRAL_IMAGE_HPP

#include <cstddef>
#include <stdexcept>
#include <string>

#include <xtensor/xarray.hpp>

#include "detail/common.hpp"

namespace xskan
{
    /**
     * @brief In-place inclusive prefix sum along every axis of a contiguous
     *        row-major array: `S = cumsum(cumsum(x, axis 0), axis 1) ...`.
     *
     * Axis 0 first, each sum sequential along its axis, exactly as numpy's
     * `cumsum`, so results are bitwise equal to scikit-image's.
     * @param data  pointer to the first element (row-major, contiguous)
     * @param shape extents
     * Complexity: O(size · ndim), one pass per axis, inner loop contiguous.
     */
    template <class Acc, class S>
    void integral_image_inplace(Acc* data, const S& shape)
    {
        const std::size_t ndim = shape.size();
        std::size_t total = 1;
        for (auto s : shape)
        {
            total *= static_cast<std::size_t>(s);
        }
        if (total == 0)
        {
            return;
        }
        for (std::size_t axis = 0; axis < ndim; ++axis)
        {
            std::size_t inner = 1;
            for (std::size_t a = axis + 1; a < ndim; ++a)
            {
                inner *= static_cast<std::size_t>(shape[a]);
            }
            const std::size_t n = static_cast<std::size_t>(shape[axis]);
            const std::size_t outer = total / (n * inner);
            for (std::size_t o = 0; o < outer; ++o)
            {
                Acc* base = data + o * n * inner;
                for (std::size_t i = 1; i < n; ++i)
                {
                    const Acc* prev = base + (i - 1) * inner;
                    Acc* cur = base + i * inner;
                    for (std::size_t j = 0; j < inner; ++j)
                    {
                        cur[j] = static_cast<Acc>(cur[j] + prev[j]);
                    }
                }
            }
        }
    }

    /**
     * @brief Integral image (summed-area table) of an n-D image.
     *
     * `S[i] = Σ_{j <= i (every axis)} image[j]`, computed as successive
     * cumulative sums along axes 0, 1, ... in the accumulator type.
     * @tparam Acc accumulator and result type (double by default, so uint8/uint16
     *             images never overflow and float32 input is summed in double).
     * @param image any xtensor expression, any ndim >= 1, non-empty.
     * @return xt::xarray<Acc> with the image's shape.
     * Complexity: O(size · ndim).
     * Matches: `skimage.transform.integral_image(image)` (0.19.3); scikit-image's
     * default accumulator for integer input is the integer cumsum type, equal to
     * ours while sums stay below 2^53.
     * Reference: Crow 1984; Viola & Jones 2001.
     */
    template <class Acc = double, class E>
    xt::xarray<Acc> integral_image(const xt::xexpression<E>& image)
    {
        const auto& img = image.derived_cast();
        detail::check_nonempty(img.shape(), "integral_image");
        xt::xarray<Acc> out = xt::cast<Acc>(img);
        integral_image_inplace(out.data(), out.shape());
        return out;
    }
}  // namespace xskan

#endif
