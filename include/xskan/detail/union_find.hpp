/**
 * @file detail/union_find.hpp
 * @brief Union-find over provisional labels (parent array, label 0 = background) as used
 *        by the raster-order labelling passes: path halving, and every root is the
 *        smallest label of its set (so increasing roots = scipy.ndimage.label's order).
 */
#ifndef XSKAN_DETAIL_UNION_FIND_HPP
#define XSKAN_DETAIL_UNION_FIND_HPP

#include <cstddef>
#include <vector>

namespace xskan
{
    namespace detail
    {
        /// Root of label `x` (path halving). O(α) amortized.
        template <class P>
        P label_find(std::vector<P>& parent, P x) noexcept
        {
            while (parent[static_cast<std::size_t>(x)] != x)
            {
                auto& px = parent[static_cast<std::size_t>(x)];
                px = parent[static_cast<std::size_t>(px)];  // path halving
                x = px;
            }
            return x;
        }

        /**
         * @brief Unites the set whose root is `root` with the set of label `l` (both non-zero):
         *        the larger root is linked below the smaller one.
         * @return the root of the united set (the smaller of the two roots).
         */
        template <class P>
        P label_union(std::vector<P>& parent, P root, P l) noexcept
        {
            const P r = label_find(parent, l);
            if (r == root)
            {
                return r;
            }
            if (r < root)
            {
                parent[static_cast<std::size_t>(root)] = r;
                return r;
            }
            parent[static_cast<std::size_t>(r)] = root;
            return root;
        }
    }  // namespace detail
}  // namespace xskan

#endif
