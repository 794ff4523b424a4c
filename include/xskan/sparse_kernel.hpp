/**
 * @file sparse_kernel.hpp
 * @brief A correlation kernel stored as its non-zero entries (index, value),
 *        in C (row-major) order, as `skimage.filters.correlate_sparse` uses it.
 */
#ifndef XSKAN_SPARSE_KERNEL_HPP
#define XSKAN_SPARSE_KERNEL_HPP

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>

#include "detail/common.hpp"

namespace xskan
{
    /**
     * @brief An n-D kernel given by its shape and its non-zero entries.
     *
     * Invariants (established by every constructor): `dimension() >= 1`, every
     * extent >= 1, entries are unique, non-zero (NaN counts as non-zero, as in
     * `np.nonzero`), inside the shape and sorted in C (row-major) order of
     * their indices — the order in which scikit-image sums them.
     *
     * @tparam T value type of the entries (the correlation casts them to its
     *           working type, float or double, exactly as scikit-image does).
     *
     * Matches: the `(indices, values)` pair built by
     * `skimage.filters.correlate_sparse` from `np.nonzero(kernel)`.
     */
    template <class T = double>
    class sparse_kernel
    {
        static_assert(std::is_arithmetic<T>::value, "xskan::sparse_kernel: T must be an arithmetic type");

    public:
        using value_type = T;
        using index_type = std::vector<std::size_t>;

        /**
         * @brief Build from explicit (index, value) lists.
         * @param shape   kernel extents (ndim >= 1, every extent >= 1)
         * @param indices one index (ndim entries) per value, any order
         * @param values  the entry values; zeros are dropped (as `np.nonzero` would)
         * @throws std::invalid_argument on a length mismatch, an index of the wrong
         *         length or outside the shape, or a repeated index.
         * Complexity: O(nnz log nnz · ndim).
         */
        sparse_kernel(std::vector<std::size_t> shape, const std::vector<index_type>& indices, const std::vector<T>& values)
            : m_shape(std::move(shape))
        {
            check_shape();
            if (indices.size() != values.size())
            {
                throw std::invalid_argument("xskan::sparse_kernel: got " + std::to_string(indices.size()) +
                                            " indices but " + std::to_string(values.size()) +
                                            " values (one value per index is required)");
            }
            const std::size_t nd = m_shape.size();
            std::vector<std::pair<std::size_t, T>> entries;  // (C-order flat index, value)
            entries.reserve(values.size());
            for (std::size_t k = 0; k < indices.size(); ++k)
            {
                const auto& idx = indices[k];
                if (idx.size() != nd)
                {
                    throw std::invalid_argument("xskan::sparse_kernel: index #" + std::to_string(k) + " has " +
                                                std::to_string(idx.size()) + " components, the kernel shape " +
                                                detail::shape_to_string(m_shape) + " needs " + std::to_string(nd));
                }
                std::size_t flat = 0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    if (idx[a] >= m_shape[a])
                    {
                        throw std::invalid_argument("xskan::sparse_kernel: index #" + std::to_string(k) + " " +
                                                    detail::shape_to_string(idx) + " is outside the kernel shape " +
                                                    detail::shape_to_string(m_shape));
                    }
                    flat = flat * m_shape[a] + idx[a];
                }
                if (values[k] != T(0) || values[k] != values[k])
                {
                    entries.emplace_back(flat, values[k]);
                }
            }
            std::stable_sort(entries.begin(), entries.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
            for (std::size_t k = 1; k < entries.size(); ++k)
            {
                if (entries[k].first == entries[k - 1].first)
                {
                    throw std::invalid_argument("xskan::sparse_kernel: index " +
                                                detail::shape_to_string(unravel(entries[k].first)) +
                                                " is given more than once (each entry must appear once)");
                }
            }
            m_indices.reserve(entries.size() * nd);
            m_values.reserve(entries.size());
            for (const auto& e : entries)
            {
                const auto idx = unravel(e.first);
                m_indices.insert(m_indices.end(), idx.begin(), idx.end());
                m_values.push_back(e.second);
            }
        }

        /**
         * @brief The non-zero entries of a dense kernel (any xtensor expression,
         *        views and transposes included), in C order.
         * @throws std::invalid_argument for a 0-D or empty kernel.
         * Complexity: O(kernel size).
         */
        template <class E>
        static sparse_kernel from_dense(const xt::xexpression<E>& dense)
        {
            const auto d = detail::to_contiguous<T>(dense);
            sparse_kernel k;
            k.m_shape.assign(d.shape().begin(), d.shape().end());
            k.check_shape();
            const std::size_t nd = k.m_shape.size();
            std::vector<std::size_t> idx(nd, 0);
            const T* p = d.data();
            for (std::size_t flat = 0; flat < d.size(); ++flat)
            {
                const T v = p[flat];
                if (v != T(0) || v != v)
                {
                    k.m_indices.insert(k.m_indices.end(), idx.begin(), idx.end());
                    k.m_values.push_back(v);
                }
                for (std::size_t a = nd; a-- > 0;)
                {
                    if (++idx[a] < k.m_shape[a])
                    {
                        break;
                    }
                    idx[a] = 0;
                }
            }
            return k;
        }

        /**
         * @brief The box-corner kernel: shape `window + 1` per axis, ±1 at its
         *        2^ndim corners, so that correlating an integral image with it
         *        (valid mode) gives the sum over every `window`-sized box.
         *
         * Sign of corner `c` (components 0 or w_a): +1 if the number of `w_a`
         * components has the parity of ndim, else -1 (2-D: (0,0)+, (0,w1)-,
         * (w0,0)-, (w0,w1)+), so the sums are computed in scikit-image's order
         * (`skimage.filters.thresholding._mean_std`).
         * @param window box extents, one per axis, each >= 1
         */
        static sparse_kernel box_corners(const std::vector<std::size_t>& window)
        {
            if (window.empty())
            {
                throw std::invalid_argument("xskan::sparse_kernel::box_corners: the window needs at least one axis");
            }
            std::vector<std::size_t> shape(window.size());
            for (std::size_t a = 0; a < window.size(); ++a)
            {
                if (window[a] == 0)
                {
                    throw std::invalid_argument("xskan::sparse_kernel::box_corners: window " +
                                                detail::shape_to_string(window) + " has a zero extent (each must be >= 1)");
                }
                shape[a] = window[a] + 1;
            }
            const std::size_t nd = window.size();
            std::vector<index_type> indices;
            std::vector<T> values;
            for (std::size_t c = 0; c < (std::size_t(1) << nd); ++c)
            {
                index_type idx(nd);
                std::size_t n_far = 0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    const bool far = ((c >> (nd - 1 - a)) & 1u) != 0;  // first axis slowest
                    idx[a] = far ? window[a] : 0;
                    n_far += far ? 1 : 0;
                }
                indices.push_back(idx);
                values.push_back((n_far % 2) == (nd % 2) ? T(1) : T(-1));
            }
            return sparse_kernel(std::move(shape), indices, values);
        }

        /// Kernel extents.
        const std::vector<std::size_t>& shape() const noexcept { return m_shape; }
        /// Number of axes.
        std::size_t dimension() const noexcept { return m_shape.size(); }
        /// Number of non-zero entries.
        std::size_t nnz() const noexcept { return m_values.size(); }
        /// Index of entry `k` (k < nnz()).
        index_type index(std::size_t k) const
        {
            const std::size_t nd = m_shape.size();
            return index_type(m_indices.begin() + static_cast<std::ptrdiff_t>(k * nd),
                              m_indices.begin() + static_cast<std::ptrdiff_t>((k + 1) * nd));
        }
        /// Component `axis` of the index of entry `k`.
        std::size_t index(std::size_t k, std::size_t axis) const noexcept { return m_indices[k * m_shape.size() + axis]; }
        /// Entry values, in C order of their indices.
        const std::vector<T>& values() const noexcept { return m_values; }

        /// The dense kernel (zeros elsewhere).
        xt::xarray<T> to_dense() const
        {
            xt::xarray<T> d = xt::zeros<T>(m_shape);
            for (std::size_t k = 0; k < nnz(); ++k)
            {
                std::size_t flat = 0;
                for (std::size_t a = 0; a < dimension(); ++a)
                {
                    flat = flat * m_shape[a] + index(k, a);
                }
                d.data()[flat] = m_values[k];
            }
            return d;
        }

    private:
        sparse_kernel() = default;

        void check_shape() const
        {
            if (m_shape.empty())
            {
                throw std::invalid_argument("xskan::sparse_kernel: a kernel needs at least one axis (got a 0-D kernel)");
            }
            for (auto s : m_shape)
            {
                if (s == 0)
                {
                    throw std::invalid_argument("xskan::sparse_kernel: empty kernel of shape " +
                                                detail::shape_to_string(m_shape) + " (every extent must be >= 1)");
                }
            }
            detail::checked_size(m_shape, "sparse_kernel");
        }

        index_type unravel(std::size_t flat) const
        {
            index_type idx(m_shape.size());
            for (std::size_t a = m_shape.size(); a-- > 0;)
            {
                idx[a] = flat % m_shape[a];
                flat /= m_shape[a];
            }
            return idx;
        }

        std::vector<std::size_t> m_shape;
        std::vector<std::size_t> m_indices;  // nnz × ndim, row-major
        std::vector<T> m_values;
    };
}  // namespace xskan

#endif
