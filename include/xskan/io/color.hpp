/**
 * @file io/color.hpp
 * @brief What the readers do with colour images, and scikit-image's rgb2gray.
 */
#ifndef XSKAN_IO_COLOR_HPP
#define XSKAN_IO_COLOR_HPP

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace xskan
{
    namespace io
    {
        /// How a reader treats an RGB image.
        enum class color_handling
        {
            to_gray,  ///< convert with scikit-image 0.19's rgb2gray (float result)
            keep,     ///< return an (..., H, W, C) array with the raw channels
            error     ///< throw std::runtime_error
        };

        namespace detail
        {
            /// img_as_float scale of an integer sample: x * (1/max) as scikit-image (a multiplication by the rounded reciprocal).
            template <class T>
            constexpr double img_as_float_factor() noexcept
            {
                if constexpr (std::is_floating_point_v<T>) return 1.0;
                else return 1.0 / static_cast<double>(std::numeric_limits<T>::max());
            }
        }  // namespace detail

        /**
         * @brief scikit-image 0.19's `rgb2gray` on interleaved RGB samples.
         *
         * `Y = 0.2125 R + 0.7154 G + 0.0721 B` on img_as_float values
         * (unsigned integers multiplied by `1/max`, float32 stays float32),
         * accumulated as `(R*c0 + G*c1) + B*c2` exactly as numpy's
         * `rgb @ coeffs`. Bit-identical to scikit-image for uint8 input.
         * @param rgb   n_pixels * 3 interleaved samples
         * @param out   n_pixels outputs (double, or float for float input)
         * @param n_pixels number of pixels
         * Matches: skimage.color.rgb2gray (0.19.3). Only 3-channel input: like
         * scikit-image 0.19, RGBA is refused by the callers.
         */
        template <class T, class O>
        void rgb2gray(const T* rgb, O* out, std::size_t n_pixels) noexcept
        {
            using W = std::conditional_t<std::is_same_v<T, float>, float, double>;
            const W f = static_cast<W>(detail::img_as_float_factor<T>());
            const W c0 = static_cast<W>(0.2125), c1 = static_cast<W>(0.7154), c2 = static_cast<W>(0.0721);
            for (std::size_t i = 0; i < n_pixels; ++i)
            {
                W r = static_cast<W>(rgb[3 * i]), g = static_cast<W>(rgb[3 * i + 1]), b = static_cast<W>(rgb[3 * i + 2]);
                if constexpr (!std::is_floating_point_v<T>)
                {
                    r *= f;
                    g *= f;
                    b *= f;
                }
                out[i] = static_cast<O>((r * c0 + g * c1) + b * c2);
            }
        }
    }  // namespace io
}  // namespace xskan

#endif
