/**
 * @file pixel_graph.hpp
 * @brief skan's `skeleton_to_csgraph`: the graph of neighbouring skeleton
 *        pixels, with skan's junction-cluster minimum spanning tree.
 */
#ifndef XSKAN_PIXEL_GRAPH_HPP
#define XSKAN_PIXEL_GRAPH_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xexpression.hpp>
#include <xtensor/xtensor.hpp>

#include "detail/common.hpp"
#include "detail/skeleton_fast_graph.hpp"
#include "detail/skeleton_graph.hpp"

namespace xskan
{
    /// How junction clusters (adjacent pixels of degree >= 3) are treated by skeleton_to_csgraph.
    enum class junction_handling
    {
        mst,  ///< skan: keep only a minimum spanning forest of the junction–junction edges (default)
        none  ///< keep the full pixel graph (every neighbour pair is an edge)
    };

    /**
     * @brief Pixel graph of a skeleton: CSR graph, node coordinates, node values, degrees.
     */
    struct pixel_graph
    {
        csr_graph graph;                           ///< symmetric, sorted columns
        xt::xtensor<std::int64_t, 2> coordinates;  ///< N x ndim pixel indices, node id = rank in C order
        std::vector<double> values;                ///< node values (1.0 for bool input)
        std::vector<std::int32_t> degrees;         ///< degree of every node in `graph`
    };

    namespace detail
    {
        /**
         * skeleton_to_csgraph: the 2-D / 3-D fast builder when applicable
         * (and allow_fast), else the general n-D builder + mst_junctions.
         * `labels` (optional) receives the connected-component labels when
         * the fast builder ran (left empty otherwise). With `compact` set,
         * the fast builder returns its compact graph there and leaves
         * out.graph empty (the caller derives the CSR form when needed).
         */
        template <class E>
        pixel_graph skeleton_to_csgraph_impl(const xt::xexpression<E>& skeleton_image, const skeleton_options& opts,
                                             junction_handling junctions, const char* func,
                                             std::vector<std::int64_t>* labels = nullptr, bool allow_fast = true,
                                             std::shared_ptr<compact_graph>* compact = nullptr)
        {
            using T = std::decay_t<typename E::value_type>;
            static_assert(std::is_arithmetic<T>::value, "xskan: skeleton images must have an arithmetic value type");
            using S = std::conditional_t<std::is_same<T, long double>::value, double, T>;
            contiguous_image<S> img;
            make_contiguous<S>(skeleton_image, img);
            if (img.shape.empty())
            {
                throw std::invalid_argument(std::string("xskan::") + func +
                                            ": a 0-D (scalar) image is not a skeleton (need ndim >= 1)");
            }
            const std::vector<double> spacing = normalize_spacing(opts.spacing, img.shape.size(), func);
            pixel_graph out;
            if (img.size == 0)
            {
                out.graph.indptr.assign(1, 0);
                out.coordinates = xt::xtensor<std::int64_t, 2>::from_shape({std::size_t(0), img.shape.size()});
                return out;
            }
            if (allow_fast)
            {
                fast_graph_out fo;
                fo.graph = &out.graph;
                fo.coordinates = &out.coordinates;
                fo.values = &out.values;
                fo.degrees = &out.degrees;
                fo.labels = labels;
                fo.compact = compact;
                if (try_fast_pixel_graph<S>(img.ptr, img.shape, spacing, opts.value_is_height, value_kind_of<S>(),
                                            junctions == junction_handling::mst, fo))
                {
                    return out;
                }
            }
            raw_pixel_graph raw;
            build_raw_pixel_graph<S>(img.ptr, img.shape, spacing, opts.value_is_height, value_kind_of<S>(), raw);
            if (junctions == junction_handling::mst)
            {
                mst_junctions(raw.graph);
            }
            out.degrees = csr_degrees(raw.graph);
            out.graph = std::move(raw.graph);
            out.coordinates = std::move(raw.coordinates);
            out.values = std::move(raw.values);
            return out;
        }
    }  // namespace detail

    /**
     * @brief Graph of the skeleton pixels (non-zero pixels) and their neighbours.
     *
     * Nodes are the non-zero pixels (NaN counts as non-zero) in C (row-major)
     * order; node id = 0-based rank. Edges join pixels of the full
     * neighbourhood (3^ndim - 1 neighbours; nothing beyond the border) with
     * weight = Euclidean length of the offset scaled by the spacing
     * (`sqrt(Σ (o_a s_a)^2)`), or with `value_is_height`
     * `hypot(v_i - v_j, distance)`. With junction_handling::mst (default, as
     * skan) the edges between junction pixels (degree >= 3) are reduced to
     * a minimum spanning forest; ties are broken by the stable rule
     * (weight, smaller id, larger id), SciPy >= 1.11's order.
     *
     * @param skeleton_image any ndim >= 1, any arithmetic dtype; views and
     *        non-contiguous expressions are evaluated once.
     * @param opts spacing (none, one, or one per axis; finite, > 0) and value_is_height.
     * @param junctions junction_handling::mst (skan) or ::none (raw pixel graph).
     * @return pixel_graph; an empty image or one without skeleton pixels gives 0 nodes.
     * @throws std::invalid_argument for a bad spacing or a 0-D image.
     * Complexity: O(image size) scan + O(N 3^ndim) for N skeleton pixels; no
     * full-size temporary (neighbours are found per image line).
     * Matches: `skan.csr.skeleton_to_csgraph` (v0.13.1) with the stable MST tie
     * rule; deliberate differences: integer images with value_is_height use the
     * exact (signed) value difference where numpy wraps unsigned differences.
     */
    template <class E>
    pixel_graph skeleton_to_csgraph(const xt::xexpression<E>& skeleton_image, const skeleton_options& opts = {},
                                    junction_handling junctions = junction_handling::mst)
    {
        return detail::skeleton_to_csgraph_impl(skeleton_image, opts, junctions, "skeleton_to_csgraph");
    }
}  // namespace xskan

#endif
