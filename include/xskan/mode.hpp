/**
 * @file mode.hpp
 * @brief Boundary modes shared by the filters (scipy.ndimage names) and the
 *        exact emulation of numpy.pad's index pattern for each of them.
 */
#ifndef XSKAN_MODE_HPP
#define XSKAN_MODE_HPP

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace xskan
{
    /**
     * @brief How samples beyond the image border are obtained.
     *
     * Names and meanings are scipy.ndimage's (as used by scikit-image):
     * - `valid`: no padding, the output shrinks (only where a function allows it);
     * - `reflect`: `c b a | a b c | c b a` (edge sample repeated; numpy "symmetric");
     * - `constant`: a constant value (0 unless a function takes a `cval`);
     * - `nearest`: `a a a | a b c | c c c` (numpy "edge");
     * - `mirror`: `c b | a b c | b a` (edge not repeated; numpy "reflect");
     * - `wrap`: `a b c | a b c | a b c` (periodic; numpy "wrap").
     */
    enum class mode
    {
        valid,
        reflect,
        constant,
        nearest,
        mirror,
        wrap
    };

    /// The scipy.ndimage name of a mode ("valid", "reflect", ...).
    inline const char* to_string(mode m) noexcept
    {
        switch (m)
        {
            case mode::valid: return "valid";
            case mode::reflect: return "reflect";
            case mode::constant: return "constant";
            case mode::nearest: return "nearest";
            case mode::mirror: return "mirror";
            case mode::wrap: return "wrap";
        }
        return "?";
    }

    /// Parse a scipy.ndimage mode name; throws std::invalid_argument for anything else.
    inline mode mode_from_string(const std::string& s)
    {
        for (mode m : {mode::valid, mode::reflect, mode::constant, mode::nearest, mode::mirror, mode::wrap})
        {
            if (s == to_string(m))
            {
                return m;
            }
        }
        throw std::invalid_argument("xskan: unknown boundary mode '" + s +
                                    "' (allowed: valid, reflect, constant, nearest, mirror, wrap)");
    }

    namespace detail
    {
        /**
         * @brief Source index of every sample of a padded axis, exactly as
         *        numpy.pad (1.24) fills it.
         *
         * Returns a vector of length `before + n + after`; entry `j` is the
         * index in `[0, n)` of the input sample that numpy.pad puts at padded
         * position `j`, or -1 where the value is the constant. numpy fills
         * large reflect/wrap pads iteratively, which is *not* periodic when a
         * pad is longer than the axis (e.g. wrap of 3 samples with pads (1, 5)
         * gives `2 0 1 2 0 1 2 2 0`); this function replays that iteration so
         * results match scikit-image bit for bit in every case.
         *
         * Complexity: O(before + n + after).
         */
        inline std::vector<std::ptrdiff_t> pad_indices(std::size_t n, std::size_t before, std::size_t after, mode m)
        {
            if (n == 0)
            {
                throw std::invalid_argument("xskan: cannot pad an empty axis");
            }
            const std::size_t total = before + n + after;
            std::vector<std::ptrdiff_t> p(total, -1);
            for (std::size_t i = 0; i < n; ++i)
            {
                p[before + i] = static_cast<std::ptrdiff_t>(i);
            }
            switch (m)
            {
                case mode::valid:
                case mode::constant:
                    break;
                case mode::nearest:
                    std::fill(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(before), 0);
                    std::fill(p.begin() + static_cast<std::ptrdiff_t>(before + n), p.end(),
                              static_cast<std::ptrdiff_t>(n - 1));
                    break;
                case mode::reflect:   // numpy 'symmetric'
                case mode::mirror:    // numpy 'reflect'
                {
                    if (n == 1)
                    {
                        std::fill(p.begin(), p.end(), 0);
                        break;
                    }
                    const bool include_edge = (m == mode::reflect);
                    std::ptrdiff_t left = static_cast<std::ptrdiff_t>(before);
                    std::ptrdiff_t right = static_cast<std::ptrdiff_t>(after);
                    const std::ptrdiff_t size = static_cast<std::ptrdiff_t>(total);
                    while (left > 0 || right > 0)
                    {
                        // numpy.lib.arraypad._set_reflect_both, one round
                        std::ptrdiff_t old_length = size - right - left;
                        const std::ptrdiff_t edge_offset = include_edge ? 1 : 0;
                        if (!include_edge)
                        {
                            old_length -= 1;
                        }
                        if (left > 0)
                        {
                            const std::ptrdiff_t chunk = std::min(old_length, left);
                            const std::ptrdiff_t stop = left - edge_offset;
                            const std::ptrdiff_t start = stop + chunk;
                            // source: padded[start], padded[start-1], ..., padded[stop+1]
                            for (std::ptrdiff_t k = 0; k < chunk; ++k)
                            {
                                p[static_cast<std::size_t>(left - chunk + k)] = p[static_cast<std::size_t>(start - k)];
                            }
                            left -= chunk;
                        }
                        if (right > 0)
                        {
                            const std::ptrdiff_t chunk = std::min(old_length, right);
                            // python: start = -right + edge_offset - 2 (negative index)
                            const std::ptrdiff_t start = size - right + edge_offset - 2;
                            const std::ptrdiff_t dst = size - right;
                            for (std::ptrdiff_t k = 0; k < chunk; ++k)
                            {
                                p[static_cast<std::size_t>(dst + k)] = p[static_cast<std::size_t>(start - k)];
                            }
                            right -= chunk;
                        }
                    }
                    break;
                }
                case mode::wrap:
                {
                    std::ptrdiff_t left = static_cast<std::ptrdiff_t>(before);
                    std::ptrdiff_t right = static_cast<std::ptrdiff_t>(after);
                    const std::ptrdiff_t size = static_cast<std::ptrdiff_t>(total);
                    while (left > 0 || right > 0)
                    {
                        // numpy.lib.arraypad._set_wrap_both, one round
                        const std::ptrdiff_t period = size - right - left;
                        std::ptrdiff_t new_left = 0;
                        std::ptrdiff_t new_right = 0;
                        if (left > 0)
                        {
                            const std::ptrdiff_t chunk = std::min(period, left);
                            const std::ptrdiff_t src = size - right - chunk;
                            const std::ptrdiff_t dst = (left > period) ? left - period : 0;
                            if (left > period)
                            {
                                new_left = left - period;
                            }
                            // numpy assigns a chunk of length `chunk` into an area of length
                            // min(period, left): equal by construction
                            std::vector<std::ptrdiff_t> tmp(p.begin() + src, p.begin() + src + chunk);
                            std::copy(tmp.begin(), tmp.end(), p.begin() + dst);
                        }
                        if (right > 0)
                        {
                            const std::ptrdiff_t chunk = std::min(period, right);
                            const std::ptrdiff_t src = left;
                            const std::ptrdiff_t dst = size - right;
                            if (right > period)
                            {
                                new_right = right - period;
                            }
                            std::vector<std::ptrdiff_t> tmp(p.begin() + src, p.begin() + src + chunk);
                            std::copy(tmp.begin(), tmp.end(), p.begin() + dst);
                        }
                        left = new_left;
                        right = new_right;
                    }
                    break;
                }
            }
            return p;
        }
    }  // namespace detail
}  // namespace xskan

#endif
