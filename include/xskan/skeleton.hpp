/**
 * @file skeleton.hpp
 * @brief skan's `Skeleton`: a pixel skeleton as a graph, traced into paths
 *        (branches) between junctions and endpoints.
 */
#ifndef XSKAN_SKELETON_HPP
#define XSKAN_SKELETON_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>
#include <xtensor/xtensor.hpp>

#include "detail/common.hpp"
#include "detail/skeleton_compact_paths.hpp"
#include "detail/skeleton_graph.hpp"
#include "pixel_graph.hpp"
#include "skeletonize.hpp"

namespace xskan
{
    /**
     * @brief A skeleton image analysed as a graph of pixels and a set of paths.
     *
     * Construction (skan's `Skeleton.__init__`):
     * 1. skeleton_to_csgraph (full connectivity, spacing, value_is_height,
     *    junction MST with the stable tie rule);
     * 2. degrees of the resulting graph;
     * 3. path tracing exactly as skan's `_build_paths`: first every path
     *    starting at a node of degree 1 or >= 3 (nodes in id order,
     *    neighbours in CSR order), then the isolated cycles (whose start node
     *    appears first and last);
     * 4. path lengths (sequential sum of the edge weights along each path) and
     *    connected-component labels (scipy's order).
     *
     * Isolated pixels are nodes of degree 0: they belong to no path but have
     * their own skeleton id (skan raises on a skeleton made of one isolated
     * pixel; xskan returns a skeleton with no paths). An image without
     * skeleton pixels (or with zero size) gives an empty skeleton.
     *
     * Complexity: O(image size + N 3^ndim) time, O(N) memory beyond the input
     * (no full-size temporary unless the input is a non-contiguous expression).
     * Matches: `skan.csr.Skeleton` (v0.13.1).
     */
    class skeleton
    {
    public:
        /**
         * @brief Build the skeleton of a skeleton image.
         * @param image any ndim >= 1, any arithmetic dtype; non-zero = skeleton.
         *        Node values: bool -> 1.0, integers -> their value, float32 widened.
         * @param opts spacing (none, one, or one per axis; finite, > 0) and value_is_height.
         * @throws std::invalid_argument on a bad spacing or a 0-D image.
         */
        template <class E>
        explicit skeleton(const xt::xexpression<E>& image, skeleton_options opts = {})
        {
            using T = std::decay_t<typename E::value_type>;
            using S = std::conditional_t<std::is_same<T, long double>::value, double, T>;
            m_kind = detail::value_kind_of<S>();
            std::vector<std::int64_t> labels;
            std::shared_ptr<detail::compact_graph> cg;
            pixel_graph pg = detail::skeleton_to_csgraph_impl(image, opts, junction_handling::mst, "skeleton", &labels,
                                                              true, &cg);
            m_compact = std::move(cg);
            const auto& sh = image.derived_cast().shape();
            m_shape.assign(sh.begin(), sh.end());
            m_spacing = detail::normalize_spacing(opts.spacing, m_shape.size(), "skeleton");
            m_value_is_height = opts.value_is_height;
            finish(std::move(pg), std::move(labels));
        }

        /// Number of image dimensions.
        std::size_t ndim() const noexcept { return m_shape.size(); }
        /// Shape of the skeleton image.
        const std::vector<std::size_t>& shape() const noexcept { return m_shape; }
        /// Spacing, one value per axis.
        const std::vector<double>& spacing() const noexcept { return m_spacing; }
        /// Whether pixel values are heights.
        bool value_is_height() const noexcept { return m_value_is_height; }
        /// Number of skeleton pixels (graph nodes).
        std::size_t n_nodes() const noexcept { return m_values.size(); }
        /// N x ndim pixel indices of the nodes (node id = row).
        const xt::xtensor<std::int64_t, 2>& coordinates() const noexcept { return m_coordinates; }
        /// Node values as float64 (1.0 for bool images).
        const std::vector<double>& node_values() const noexcept { return m_values; }
        /// Degrees after the junction MST (skan's `Skeleton.degrees`).
        const std::vector<std::int32_t>& degrees() const noexcept { return m_degrees; }
        /**
         * @brief The pixel graph after the junction MST (skan's `Skeleton.graph`).
         *
         * For 2-D / 3-D images the CSR form (int64 ids, float64 weights) is
         * built on the first call (thread-safe) from the compact graph the
         * paths were traced on; later calls return the same object.
         */
        const csr_graph& graph() const
        {
            if (!m_compact)
            {
                return m_graph;
            }
            std::call_once(m_lazy->once, [this] { detail::compact_to_csr(*m_compact, m_values.data(), m_lazy->graph); });
            return m_lazy->graph;
        }

        /// Number of paths (branches).
        std::size_t n_paths() const noexcept { return m_lengths.size(); }
        /// CSR row pointer of the paths: path i = paths_indices()[indptr[i] .. indptr[i+1]).
        const std::vector<std::int64_t>& paths_indptr() const noexcept { return m_paths_indptr; }
        /// Node ids along all paths, concatenated.
        const std::vector<std::int64_t>& paths_indices() const noexcept { return m_paths_indices; }

        /**
         * @brief Node ids of path i in traversal order, endpoints included
         *        (a cycle's start node appears first and last).
         * @throws std::out_of_range if i >= n_paths().
         */
        std::vector<std::int64_t> path(std::size_t i) const
        {
            check_path_index(i, "path");
            return std::vector<std::int64_t>(m_paths_indices.begin() + m_paths_indptr[i],
                                             m_paths_indices.begin() + m_paths_indptr[i + 1]);
        }

        /// Pixel coordinates (unscaled, like skan) of path i, k x ndim. @throws std::out_of_range.
        xt::xtensor<double, 2> path_coordinates(std::size_t i) const
        {
            check_path_index(i, "path_coordinates");
            const auto b = static_cast<std::size_t>(m_paths_indptr[i]);
            const auto e = static_cast<std::size_t>(m_paths_indptr[i + 1]);
            const std::size_t nd = ndim();
            xt::xtensor<double, 2> out = xt::xtensor<double, 2>::from_shape({e - b, nd});
            for (std::size_t k = b; k < e; ++k)
            {
                const auto node = static_cast<std::size_t>(m_paths_indices[k]);
                for (std::size_t a = 0; a < nd; ++a)
                {
                    out(k - b, a) = static_cast<double>(m_coordinates(node, a));
                }
            }
            return out;
        }

        /// Coordinates and value of every pixel of path i, k x (ndim + 1). @throws std::out_of_range.
        xt::xtensor<double, 2> path_with_data(std::size_t i) const
        {
            check_path_index(i, "path_with_data");
            const auto b = static_cast<std::size_t>(m_paths_indptr[i]);
            const auto e = static_cast<std::size_t>(m_paths_indptr[i + 1]);
            const std::size_t nd = ndim();
            xt::xtensor<double, 2> out = xt::xtensor<double, 2>::from_shape({e - b, nd + 1});
            for (std::size_t k = b; k < e; ++k)
            {
                const auto node = static_cast<std::size_t>(m_paths_indices[k]);
                for (std::size_t a = 0; a < nd; ++a)
                {
                    out(k - b, a) = static_cast<double>(m_coordinates(node, a));
                }
                out(k - b, nd) = m_values[node];
            }
            return out;
        }

        /// Every path as a list of node ids.
        std::vector<std::vector<std::int64_t>> paths_list() const
        {
            std::vector<std::vector<std::int64_t>> out;
            out.reserve(n_paths());
            for (std::size_t i = 0; i < n_paths(); ++i)
            {
                out.push_back(path(i));
            }
            return out;
        }

        /// Length of every path (skan's `branch_distance`): sequential sum of edge weights in path order.
        const std::vector<double>& path_lengths() const noexcept { return m_lengths; }

        /**
         * @brief Mean node value per path (entries include both ends; a cycle's
         *        start node counts twice), summed as numpy's `add.reduceat`.
         * Matches: `Skeleton.path_means` bit for bit.
         */
        std::vector<double> path_means() const
        {
            if (m_const_value)
            {
                return std::vector<double>(n_paths(), m_values[0]);
            }
            std::vector<double> means(n_paths());
            std::vector<double> buf;
            for (std::size_t i = 0; i < n_paths(); ++i)
            {
                const std::size_t len = fill_values(i, buf);
                means[i] = detail::numpy_reduceat_sum(buf.data(), len) / static_cast<double>(len);
            }
            return means;
        }

        /**
         * @brief Population standard deviation of node values per path,
         *        `sqrt(max(0, Σv²/n - mean²))` with numpy's summation order.
         * Matches: `Skeleton.path_stdev` bit for bit.
         */
        std::vector<double> path_stdev() const
        {
            if (m_const_value)
            {
                return std::vector<double>(n_paths(), 0.0);
            }
            std::vector<double> out(n_paths());
            std::vector<double> buf;
            for (std::size_t i = 0; i < n_paths(); ++i)
            {
                const std::size_t len = fill_values(i, buf);
                const double n = static_cast<double>(len);
                const double mean = detail::numpy_reduceat_sum(buf.data(), len) / n;
                for (std::size_t k = 0; k < len; ++k)
                {
                    buf[k] = detail::rounded_product(buf[k], buf[k]);
                }
                const double v = detail::numpy_reduceat_sum(buf.data(), len) / n - detail::rounded_product(mean, mean);
                out[i] = std::sqrt(v > 0.0 ? v : (v == v ? 0.0 : v));
            }
            return out;
        }

        /**
         * @brief Connected-component label of every node (post-MST graph),
         *        numbered in order of each component's smallest node id;
         *        isolated pixels consume labels (scipy's connected_components).
         */
        const std::vector<std::int64_t>& skeleton_ids() const noexcept { return m_skeleton_ids; }

        /// Skeleton id of every path (label of its first node).
        std::vector<std::int64_t> path_skeleton_ids() const
        {
            std::vector<std::int64_t> out(n_paths());
            for (std::size_t i = 0; i < n_paths(); ++i)
            {
                out[i] = m_skeleton_ids[static_cast<std::size_t>(m_paths_indices[static_cast<std::size_t>(m_paths_indptr[i])])];
            }
            return out;
        }

        /**
         * @brief Image of the skeleton's shape: 0 background (and isolated
         *        pixels), i + 1 on the pixels of path i; a pixel shared by
         *        several paths (junction) holds the largest index + 1.
         * Matches: `Skeleton.path_label_image`.
         */
        xt::xarray<std::int64_t> path_label_image() const
        {
            xt::xarray<std::int64_t> out = xt::zeros<std::int64_t>(m_shape);
            std::int64_t* data = out.data();
            for (std::size_t i = 0; i < n_paths(); ++i)
            {
                for (auto k = m_paths_indptr[i]; k < m_paths_indptr[i + 1]; ++k)
                {
                    data[flat_index(static_cast<std::size_t>(m_paths_indices[static_cast<std::size_t>(k)]))] =
                        static_cast<std::int64_t>(i) + 1;
                }
            }
            return out;
        }

        /**
         * @brief A new skeleton without the given paths.
         *
         * The pixels of every listed path are removed from the skeleton image
         * except those of degree > 2 (junctions); the remaining image is
         * thinned again as skan does (`skeletonize(image.astype(bool)) *
         * image`: Zhang in 2D, Lee in 3D; pixels keep their values) and
         * rebuilt into a skeleton with the same spacing and value_is_height.
         * @param indices path indices (any order, duplicates allowed).
         * @throws std::out_of_range if an index is >= n_paths() (nothing is modified).
         * Complexity: O(image size) (the image is rebuilt and thinned).
         * Matches: `Skeleton.prune_paths` (v0.13.1). Deliberate differences:
         * value_is_height is kept (skan silently drops it); in 3D skan's
         * `skeletonize_3d` returns 0/255, so skan multiplies the kept values
         * by 255 — xskan keeps the values; 1-D and >3-D skeletons (where
         * scikit-image's skeletonize raises) are not re-thinned.
         */
        skeleton prune_paths(const std::vector<std::size_t>& indices) const
        {
            for (std::size_t i : indices)
            {
                if (i >= n_paths())
                {
                    throw std::out_of_range("xskan::skeleton::prune_paths: the path index " + std::to_string(i) +
                                            " does not exist in this skeleton (it has " + std::to_string(n_paths()) +
                                            " paths, indices 0.." +
                                            (n_paths() ? std::to_string(n_paths() - 1) : std::string("none")) +
                                            "). If it came from a summary table, re-summarize the skeleton.");
                }
            }
            std::vector<std::uint8_t> keep(n_nodes(), 1);
            for (std::size_t i : indices)
            {
                for (auto k = m_paths_indptr[i]; k < m_paths_indptr[i + 1]; ++k)
                {
                    const auto node = static_cast<std::size_t>(m_paths_indices[static_cast<std::size_t>(k)]);
                    if (m_degrees[node] <= 2)
                    {
                        keep[node] = 0;
                    }
                }
            }
            // skan: `skeletonize(image_cp.astype(bool)) * image_cp` (Zhang in 2D, Lee in 3D)
            if (ndim() == 2 || ndim() == 3)
            {
                xt::xarray<std::uint8_t> mask = xt::zeros<std::uint8_t>(m_shape);
                for (std::size_t node = 0; node < n_nodes(); ++node)
                {
                    if (keep[node])
                    {
                        mask.data()[flat_index(node)] = 1;
                    }
                }
                const auto thin = skeletonize(mask, ndim() == 2 ? skeleton_method::zhang : skeleton_method::lee);
                for (std::size_t node = 0; node < n_nodes(); ++node)
                {
                    if (keep[node] && thin.data()[flat_index(node)] == 0)
                    {
                        keep[node] = 0;
                    }
                }
            }
            skeleton_options opts;
            opts.spacing = m_spacing;
            opts.value_is_height = m_value_is_height;
            if (m_kind == detail::value_kind::float32)
            {
                return skeleton(rebuild_image<float>(keep), opts, m_kind);
            }
            return skeleton(rebuild_image<double>(keep), opts, m_kind);
        }

    private:
        template <class E>
        skeleton(const xt::xexpression<E>& image, const skeleton_options& opts, detail::value_kind kind)
            : skeleton(image, opts)
        {
            m_kind = kind;
        }

        template <class T>
        xt::xarray<T> rebuild_image(const std::vector<std::uint8_t>& keep) const
        {
            xt::xarray<T> img = xt::zeros<T>(m_shape);
            for (std::size_t node = 0; node < n_nodes(); ++node)
            {
                if (keep[node])
                {
                    img.data()[flat_index(node)] = static_cast<T>(m_values[node]);
                }
            }
            return img;
        }

        void finish(pixel_graph&& pg, std::vector<std::int64_t>&& labels)
        {
            m_graph = std::move(pg.graph);
            m_coordinates = std::move(pg.coordinates);
            m_values = std::move(pg.values);
            m_degrees = std::move(pg.degrees);
            if (m_graph.indptr.empty())
            {
                m_graph.indptr.assign(1, 0);
            }
            detail::traced_paths tp;
            if (m_compact)
            {
                m_lazy = std::make_shared<lazy_graph>();
                detail::trace_paths_compact(*m_compact, m_values.data(), tp);
            }
            else
            {
                detail::trace_paths(m_graph, m_degrees, tp);  // n-D images
            }
            m_paths_indptr = std::move(tp.indptr);
            m_paths_indices = std::move(tp.indices);
            m_lengths = std::move(tp.lengths);
            if (labels.size() == m_values.size())
            {
                m_skeleton_ids = std::move(labels);
            }
            else
            {
                m_skeleton_ids = detail::connected_component_labels(graph());
            }
            // All node values equal to one integer v (bool images: 1): every path's mean
            // is v and stdev 0 exactly, whatever numpy's summation order, as long
            // as len * v^2 < 2^53 (all partial sums exact).
            m_const_value = false;
            if (!m_values.empty())
            {
                const double v = m_values[0];
                const double lim = 9007199254740992.0 / static_cast<double>(m_values.size() + 2);
                if (v == std::floor(v) && std::fabs(v) <= 67108864.0 && v * v < lim)
                {
                    m_const_value = true;
                    for (const double x : m_values)
                    {
                        if (x != v)
                        {
                            m_const_value = false;
                            break;
                        }
                    }
                }
            }
        }

        void check_path_index(std::size_t i, const char* func) const
        {
            if (i >= n_paths())
            {
                throw std::out_of_range(std::string("xskan::skeleton::") + func + ": path index " + std::to_string(i) +
                                        " out of range (the skeleton has " + std::to_string(n_paths()) + " paths)");
            }
        }

        std::size_t fill_values(std::size_t i, std::vector<double>& buf) const
        {
            const auto b = static_cast<std::size_t>(m_paths_indptr[i]);
            const auto e = static_cast<std::size_t>(m_paths_indptr[i + 1]);
            buf.resize(e - b);
            for (std::size_t k = b; k < e; ++k)
            {
                buf[k - b] = m_values[static_cast<std::size_t>(m_paths_indices[k])];
            }
            return e - b;
        }

        std::size_t flat_index(std::size_t node) const noexcept
        {
            std::size_t flat = 0;
            const std::size_t nd = ndim();
            const std::int64_t* row = m_coordinates.data() + node * nd;
            for (std::size_t a = 0; a < nd; ++a)
            {
                flat = flat * m_shape[a] + static_cast<std::size_t>(row[a]);
            }
            return flat;
        }

        std::vector<std::size_t> m_shape;
        std::vector<double> m_spacing;
        bool m_value_is_height = false;
        detail::value_kind m_kind = detail::value_kind::boolean;
        xt::xtensor<std::int64_t, 2> m_coordinates;
        std::vector<double> m_values;
        std::vector<std::int32_t> m_degrees;
        csr_graph m_graph;  ///< the graph when built by the n-D builder (m_compact empty)
        /// 2-D / 3-D: the graph in compact form (immutable, shared by copies)
        std::shared_ptr<const detail::compact_graph> m_compact;
        struct lazy_graph
        {
            std::once_flag once;
            csr_graph graph;
        };
        std::shared_ptr<lazy_graph> m_lazy;  ///< CSR form of m_compact, built on first use of graph()
        std::vector<std::int64_t> m_paths_indptr{0};
        std::vector<std::int64_t> m_paths_indices;
        std::vector<double> m_lengths;
        std::vector<std::int64_t> m_skeleton_ids;
        bool m_const_value = false;  ///< every node value is the same small integer
    };
}  // namespace xskan

#endif
