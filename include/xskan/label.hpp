/**
 * @file label.hpp
 * @brief Connected-component labelling of n-D binary images
 *        (scipy.ndimage.label semantics).
 */
#ifndef XSKAN_LABEL_HPP
#define XSKAN_LABEL_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>
#include <xtensor/xoperation.hpp>

#include "detail/common.hpp"
#include "detail/union_find.hpp"

namespace xskan
{
    /**
     * @brief Which neighbours are connected.
     *
     * - `face`: pixels sharing a face (2·ndim neighbours: 4 in 2D, 6 in 3D);
     *   scipy.ndimage.label's default structure `generate_binary_structure(ndim, 1)`.
     * - `full`: every pixel of the 3^ndim block (8 in 2D, 26 in 3D);
     *   structure `np.ones((3,) * ndim)`, skan's skeleton connectivity.
     */
    enum class connectivity
    {
        face,
        full
    };

    /// "face" / "full".
    inline const char* to_string(connectivity c) noexcept
    {
        return c == connectivity::face ? "face" : "full";
    }

    /// Labels and their count, as returned by `scipy.ndimage.label`.
    template <class L = std::int32_t>
    struct label_result
    {
        xt::xarray<L> labels;      ///< 0 = background, 1..n_labels components
        std::size_t n_labels = 0;  ///< number of connected components
    };

    namespace detail
    {
        /// A neighbour that precedes the current pixel in raster order.
        struct label_neighbour
        {
            std::ptrdiff_t flat = 0;           ///< flat offset (negative)
            std::vector<std::size_t> axes;     ///< axes with a non-zero step
            std::vector<int> steps;            ///< the step (-1 or +1) on each of `axes`
        };

        /// Neighbour offsets preceding in raster (C) order: the first non-zero component is -1.
        inline std::vector<label_neighbour> label_backward_neighbours(const std::vector<std::size_t>& shape,
                                                                      connectivity conn)
        {
            const std::size_t ndim = shape.size();
            std::vector<std::ptrdiff_t> strides(ndim, 1);
            for (std::size_t a = ndim; a-- > 1;)
            {
                strides[a - 1] = strides[a] * static_cast<std::ptrdiff_t>(shape[a]);
            }
            std::vector<label_neighbour> out;
            std::size_t n_offsets = 1;
            for (std::size_t a = 0; a < ndim; ++a)
            {
                n_offsets *= 3;
            }
            std::vector<int> o(ndim);
            for (std::size_t k = 0; k < n_offsets; ++k)
            {
                std::size_t r = k;
                for (std::size_t a = ndim; a-- > 0;)
                {
                    o[a] = static_cast<int>(r % 3) - 1;
                    r /= 3;
                }
                std::size_t first_nonzero = ndim;
                std::size_t n_nonzero = 0;
                for (std::size_t a = 0; a < ndim; ++a)
                {
                    if (o[a] != 0)
                    {
                        if (first_nonzero == ndim)
                        {
                            first_nonzero = a;
                        }
                        ++n_nonzero;
                    }
                }
                if (first_nonzero == ndim || o[first_nonzero] != -1)
                {
                    continue;  // the centre or a forward neighbour
                }
                if (conn == connectivity::face && n_nonzero != 1)
                {
                    continue;
                }
                label_neighbour nb;
                for (std::size_t a = 0; a < ndim; ++a)
                {
                    if (o[a] != 0)
                    {
                        nb.flat += o[a] * strides[a];
                        nb.axes.push_back(a);
                        nb.steps.push_back(o[a]);
                    }
                }
                out.push_back(std::move(nb));
            }
            return out;
        }

        /**
         * First pass: provisional labels (1, 2, ... in raster order of creation) into `prov`,
         * union-find forest in `parent` with every root the smallest label of its tree.
         * Returns the number of provisional labels.
         */
        template <class P>
        std::size_t label_first_pass(const std::uint8_t* mask, const std::vector<std::size_t>& shape,
                                     connectivity conn, P* prov, std::vector<P>& parent)
        {
            const std::size_t ndim = shape.size();
            std::size_t total = 1;
            for (auto s : shape)
            {
                total *= s;
            }
            parent.assign(1, P(0));
            P next = 0;
            const std::size_t max_label = static_cast<std::size_t>(std::numeric_limits<P>::max());
            if (ndim == 2)
            {
                // 2-D fast path: explicit neighbours, no per-neighbour bounds bookkeeping.
                const std::size_t rows = shape[0];
                const std::size_t cols = shape[1];
                const bool full = conn == connectivity::full;
                auto merge = [&](P best, P l) -> P {
                    if (l == 0)
                    {
                        return best;
                    }
                    return best == 0 ? label_find(parent, l) : label_union(parent, best, l);
                };
                for (std::size_t r = 0; r < rows; ++r)
                {
                    const std::uint8_t* m = mask + r * cols;
                    P* out = prov + r * cols;
                    const P* up = r > 0 ? out - cols : nullptr;
                    P prev = 0;  // root label of pixel c - 1 (0: background); no merge happened since
                    for (std::size_t c = 0; c < cols; ++c)
                    {
                        if (!m[c])
                        {
                            out[c] = 0;
                            prev = 0;
                            continue;
                        }
                        P best = prev;
                        if (up)
                        {
                            // when pixel c - 1 is foreground, up[c - 1] is already in its set
                            if (prev == 0 || up[c] != up[c - 1])
                            {
                                best = merge(best, up[c]);
                            }
                            if (full)
                            {
                                if (c > 0 && prev == 0)
                                {
                                    best = merge(best, up[c - 1]);
                                }
                                if (c + 1 < cols)
                                {
                                    best = merge(best, up[c + 1]);
                                }
                            }
                        }
                        if (best == 0)
                        {
                            if (static_cast<std::size_t>(next) >= max_label)
                            {
                                throw std::overflow_error(
                                    "xskan::label: too many provisional labels for the label type");
                            }
                            ++next;
                            parent.push_back(next);
                            best = next;
                        }
                        out[c] = best;
                        prev = best;
                    }
                }
                return static_cast<std::size_t>(next);
            }
            const auto nbs = label_backward_neighbours(shape, conn);
            std::vector<std::size_t> c(ndim, 0);
            for (std::size_t p = 0; p < total; ++p)
            {
                if (mask[p])
                {
                    P best = 0;
                    for (const auto& nb : nbs)
                    {
                        bool inside = true;
                        for (std::size_t j = 0; j < nb.axes.size(); ++j)
                        {
                            const std::size_t a = nb.axes[j];
                            if (nb.steps[j] < 0 ? c[a] == 0 : c[a] + 1 >= shape[a])
                            {
                                inside = false;
                                break;
                            }
                        }
                        if (!inside)
                        {
                            continue;
                        }
                        const P l = prov[static_cast<std::ptrdiff_t>(p) + nb.flat];
                        if (l == 0)
                        {
                            continue;
                        }
                        best = best == 0 ? label_find(parent, l) : label_union(parent, best, l);
                    }
                    if (best == 0)
                    {
                        if (static_cast<std::size_t>(next) >= max_label)
                        {
                            throw std::overflow_error("xskan::label: too many provisional labels for the label type");
                        }
                        ++next;
                        parent.push_back(next);
                        best = next;
                    }
                    prov[p] = best;
                }
                else
                {
                    prov[p] = 0;
                }
                // advance the multi-index
                for (std::size_t a = ndim; a-- > 0;)
                {
                    if (++c[a] < shape[a])
                    {
                        break;
                    }
                    c[a] = 0;
                }
            }
            return static_cast<std::size_t>(next);
        }

        /**
         * @brief Label the non-zero entries of a contiguous row-major mask into `out`
         *        (same number of elements). Returns the number of components.
         */
        template <class L>
        std::size_t label_mask(const std::uint8_t* mask, const std::vector<std::size_t>& shape, connectivity conn,
                               L* out)
        {
            static_assert(std::is_integral<L>::value, "xskan::label: the label type must be an integer type");
            std::size_t total = 1;
            for (auto s : shape)
            {
                total *= s;
            }
            if (total == 0)
            {
                return 0;
            }
            auto finish = [&](auto* prov, auto& parent, std::size_t n_prov) {
                using P = typename std::decay_t<decltype(parent)>::value_type;
                // parent[l] < l for every non-root, so one increasing sweep resolves the final ids
                // (roots numbered in order of their first pixel, like scipy).
                std::vector<P> final_id(n_prov + 1, P(0));
                std::size_t count = 0;
                for (std::size_t l = 1; l <= n_prov; ++l)
                {
                    const P par = parent[l];
                    if (static_cast<std::size_t>(par) == l)
                    {
                        final_id[l] = static_cast<P>(++count);
                    }
                    else
                    {
                        final_id[l] = final_id[static_cast<std::size_t>(par)];
                    }
                }
                if (count > static_cast<std::size_t>(std::numeric_limits<L>::max()))
                {
                    throw std::overflow_error("xskan::label: " + std::to_string(count) +
                                              " components do not fit in the label type; use a wider type");
                }
                for (std::size_t p = 0; p < total; ++p)
                {
                    out[p] = static_cast<L>(final_id[static_cast<std::size_t>(prov[p])]);
                }
                return count;
            };
            if (total <= static_cast<std::size_t>(std::numeric_limits<L>::max()))
            {
                std::vector<L> parent;
                const std::size_t n_prov = label_first_pass<L>(mask, shape, conn, out, parent);
                return finish(out, parent, n_prov);
            }
            std::vector<std::int64_t> prov(total);
            std::vector<std::int64_t> parent;
            const std::size_t n_prov = label_first_pass<std::int64_t>(mask, shape, conn, prov.data(), parent);
            return finish(prov.data(), parent, n_prov);
        }

        /// `image != 0` (NaN counts as non-zero) as a contiguous row-major uint8 mask.
        template <class E>
        xt::xarray<std::uint8_t> nonzero_mask(const xt::xexpression<E>& image)
        {
            const auto& d = image.derived_cast();
            using value_type = typename std::decay_t<decltype(d)>::value_type;
            xt::xarray<std::uint8_t> mask = xt::cast<std::uint8_t>(xt::not_equal(d, value_type(0)));
            return mask;
        }
    }  // namespace detail

    /**
     * @brief Label the connected components of the non-zero pixels of an n-D image.
     *
     * Two-pass union-find labelling. Components are numbered 1..n in raster (C)
     * order of their first pixel; background is 0. Pixels beyond the border do
     * not exist (no wrap).
     *
     * @param image any xtensor expression of at least one dimension; an element is
     *              foreground when `!= 0` (NaN is foreground, like numpy).
     * @param conn  `connectivity::face` (scipy default) or `connectivity::full`.
     * @param out   the label image; reallocated only when its shape differs (reuse it
     *              across calls to avoid touching fresh memory).
     * @return the number of components.
     * @throws std::invalid_argument for a 0-dimensional input;
     *         std::overflow_error when the labels do not fit in `L`.
     *
     * Complexity: O(size · k) time with k = ndim (face) or (3^ndim - 1)/2 (full)
     * neighbour checks per foreground pixel, O(size) memory.
     *
     * Matches: `scipy.ndimage.label(image, structure)` with
     * `generate_binary_structure(ndim, 1)` (face) or `np.ones((3,)*ndim)` (full),
     * same label numbering. Empty arrays give 0 components (as scipy).
     */
    template <class L, class E>
    std::size_t label(const xt::xexpression<E>& image, xt::xarray<L>& out, connectivity conn = connectivity::face)
    {
        const auto& d = image.derived_cast();
        if (d.dimension() == 0)
        {
            throw std::invalid_argument("xskan::label: the image must have at least one dimension (got a 0-D array)");
        }
        const auto mask = detail::nonzero_mask(image);
        std::vector<std::size_t> shape(mask.shape().begin(), mask.shape().end());
        const bool same_shape = out.dimension() == shape.size() &&
                                std::equal(shape.begin(), shape.end(), out.shape().begin());
        if (!same_shape)
        {
            out.resize(shape);
        }
        return detail::label_mask<L>(mask.data(), shape, conn, out.data());
    }

    /**
     * @brief Label the connected components of the non-zero pixels (see the overload
     *        with an output argument for details).
     * @tparam L integer label type (default int32, like scipy's output).
     * @return the label image and the number of components.
     *
     * Matches: `scipy.ndimage.label` (face: default structure; full: all-ones 3^ndim).
     */
    template <class L = std::int32_t, class E>
    label_result<L> label(const xt::xexpression<E>& image, connectivity conn = connectivity::face)
    {
        label_result<L> r;
        r.n_labels = label<L>(image, r.labels, conn);
        return r;
    }
}  // namespace xskan

#endif
