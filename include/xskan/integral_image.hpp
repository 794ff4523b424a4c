/**
 * @file integral_image.hpp
 * @brief Summed-area tables (integral images) in any number of dimensions.
 */
#ifndef XSKAN_INTEGRAL_IMAGE_HPP
#define XSKAN_INTEGRAL_IMAGE_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xcontainer.hpp>
#include <xtensor/xnoalias.hpp>

#include "detail/common.hpp"

namespace xskan
{
    namespace detail
    {
        /// Inclusive scan of `nb` (<= RB) rows of length len at once: independent
        /// dependency chains, so the scan runs at add throughput, not latency.
        template <std::size_t RB, class Acc>
        inline void scan_rows(Acc* const* rows, std::size_t nb, std::size_t len)
        {
            if (nb == RB)
            {
                Acc acc[RB];
                for (std::size_t r = 0; r < RB; ++r)
                {
                    acc[r] = rows[r][0];
                }
                for (std::size_t j = 1; j < len; ++j)
                {
                    for (std::size_t r = 0; r < RB; ++r)
                    {
                        acc[r] = static_cast<Acc>(acc[r] + rows[r][j]);
                        rows[r][j] = acc[r];
                    }
                }
                return;
            }
            for (std::size_t r = 0; r < nb; ++r)
            {
                Acc* row = rows[r];
                Acc acc = row[0];
                for (std::size_t j = 1; j < len; ++j)
                {
                    acc = static_cast<Acc>(acc + row[j]);
                    row[j] = acc;
                }
            }
        }
    }  // namespace detail

    /**
     * @brief In-place inclusive prefix sum along every axis of a contiguous
     *        row-major array: `S = cumsum(cumsum(x, axis 0), axis 1) ...`.
     *
     * Every value is computed with numpy's formula and operands
     * (`S_a[i] = S_a[i - e_a] + S_{a-1}[i]`, axis 0 first), so results are
     * bitwise equal to scikit-image's; only the schedule differs: axes
     * 0..ndim-3 are streaming passes, the last two axes are fused per block of
     * 8 rows (one pass over memory, 8 scans interleaved).
     * @param data  pointer to the first element (row-major, contiguous)
     * @param shape extents (any ndim; nothing happens when an extent is 0)
     * Complexity: O(size · ndim) operations, about ndim - 1 passes over memory.
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
        if (total == 0 || ndim == 0)
        {
            return;
        }
        const std::size_t len = static_cast<std::size_t>(shape[ndim - 1]);
        if (ndim == 1)
        {
            Acc* row = data;
            detail::scan_rows<1>(&row, 1, len);
            return;
        }
        // streaming passes for axes 0 .. ndim-3
        for (std::size_t axis = 0; axis + 2 < ndim; ++axis)
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
                        cur[j] = static_cast<Acc>(prev[j] + cur[j]);
                    }
                }
            }
        }
        // fused axes ndim-2 and ndim-1, per plane
        constexpr std::size_t RB = 8;
        const std::size_t rows = static_cast<std::size_t>(shape[ndim - 2]);
        const std::size_t planes = total / (rows * len);
        std::vector<Acc> prev(len);  // axis ndim-2 sums of the row before the block (not yet scanned)
        for (std::size_t p = 0; p < planes; ++p)
        {
            Acc* base = data + p * rows * len;
            for (std::size_t r0 = 0; r0 < rows; r0 += RB)
            {
                const std::size_t nb = std::min(RB, rows - r0);
                Acc* block[RB];
                for (std::size_t r = 0; r < nb; ++r)
                {
                    Acc* row = base + (r0 + r) * len;
                    block[r] = row;
                    if (r0 + r == 0)
                    {
                        continue;
                    }
                    const Acc* src = r == 0 ? prev.data() : row - len;
                    for (std::size_t j = 0; j < len; ++j)
                    {
                        row[j] = static_cast<Acc>(src[j] + row[j]);
                    }
                }
                std::copy(block[nb - 1], block[nb - 1] + len, prev.begin());
                detail::scan_rows<RB>(block, nb, len);
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
     * @throws std::invalid_argument for an empty or 0-D image.
     * Complexity: O(size · ndim).
     * Matches: `skimage.transform.integral_image(image)` (0.19.3), bitwise;
     * scikit-image's default accumulator for integer input is the integer cumsum
     * type, equal to ours while sums stay below 2^53.
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

    /**
     * @brief Out-parameter form: the integral image written into `out`
     *        (resized only when its shape differs), accumulating in `out`'s
     *        value type. Reusing `out` avoids the first-touch cost of fresh memory.
     * @param image any xtensor expression, ndim >= 1, non-empty (may be `out`
     *              itself or a view of it: non-container inputs go through a temporary)
     * @param out   a row-major xtensor container (xarray, xtensor)
     * @throws std::invalid_argument for an empty image or a non-row-major `out`.
     */
    template <class E, class O>
    void integral_image_into(const xt::xexpression<E>& image, O& out)
    {
        static_assert(std::is_base_of<xt::xcontainer<O>, O>::value,
                      "xskan::integral_image_into: out must be an xtensor container (xarray, xtensor)");
        using Acc = typename O::value_type;
        const auto& img = image.derived_cast();
        detail::check_nonempty(img.shape(), "integral_image_into");
        if (out.layout() != xt::layout_type::row_major)
        {
            throw std::invalid_argument("xskan::integral_image_into: out must have row-major layout");
        }
        bool direct = false;  // safe to write `out` while reading `img` element by element?
        if constexpr (std::is_base_of<xt::xcontainer<E>, E>::value)
        {
            const auto ilo = reinterpret_cast<std::uintptr_t>(img.data());
            const auto ihi = ilo + img.size() * sizeof(typename E::value_type);
            const auto olo = reinterpret_cast<std::uintptr_t>(out.data());
            const auto ohi = olo + out.size() * sizeof(Acc);
            const bool disjoint = out.size() == 0 || ihi <= olo || ohi <= ilo;
            const bool same = static_cast<const void*>(&img) == static_cast<const void*>(&out);
            direct = disjoint || same;
        }
        if (direct)
        {
            xt::noalias(out) = xt::cast<Acc>(img);
        }
        else
        {
            out = xt::cast<Acc>(img);  // views (possibly of `out` itself): evaluated through a temporary
        }
        integral_image_inplace(out.data(), out.shape());
    }
}  // namespace xskan

#endif
