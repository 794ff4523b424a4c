/**
 * @file image_stats.hpp
 * @brief skan's `image_stats`: per-image skeleton statistics (junction
 *        density, mesh sizes, number of disjoint skeletons).
 */
#ifndef XSKAN_IMAGE_STATS_HPP
#define XSKAN_IMAGE_STATS_HPP

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>

#include "detail/common.hpp"
#include "detail/skeleton_graph.hpp"
#include "detail/union_find.hpp"
#include "label.hpp"
#include "skeleton.hpp"

namespace xskan
{
    /**
     * @brief One row of skan's `image_summary` table.
     *
     * Mesh statistics are NaN when the image has no mesh (numpy's mean/median/std
     * of an empty array).
     */
    struct image_summary_result
    {
        double scale = 1.0;                          ///< the spacing argument
        std::int64_t number_of_junctions = 0;        ///< skeleton pixels with post-MST degree > 2
        double area = 0.0;                           ///< prod(shape) * spacing^ndim
        double junctions_per_unit_area = 0.0;        ///< number_of_junctions / area
        double average_mesh_area = 0.0;              ///< mean of mesh_sizes (pixels)
        double median_mesh_area = 0.0;               ///< median of mesh_sizes (pixels)
        double mesh_area_standard_deviation = 0.0;   ///< population std (ddof 0) of mesh_sizes (pixels)
        std::int64_t number_of_disjoint_skeletons = 0;  ///< 8-connected components of the skeleton
    };

    namespace detail
    {
        /// Throws unless the image is 2-D and non-empty.
        template <class S>
        void check_image_stats_input(const S& shape, const char* func)
        {
            if (shape.size() != 2)
            {
                throw std::invalid_argument(std::string("xskan::") + func +
                                            ": only 2-D skeleton images are supported (like skan's image_stats), got a " +
                                            std::to_string(shape.size()) + "-D array of shape " +
                                            shape_to_string(shape));
            }
            check_nonempty(shape, func);
        }

        /// x * y rounded once (never fused into a following addition, whatever -ffp-contract says).
        inline double unfused_mul(double x, double y) noexcept
        {
            volatile double p = x * y;
            return p;
        }

        /// Mesh sizes from a contiguous 2-D foreground mask (1 = skeleton). `labels` is scratch.
        /// Straightforward reference (full label image + bincount); mesh_sizes_one_pass() is used.
        inline std::vector<std::int64_t> mesh_sizes_from_mask(const std::uint8_t* fg, std::size_t rows,
                                                              std::size_t cols, std::vector<std::uint8_t>& spaces,
                                                              std::vector<std::int32_t>& labels)
        {
            const std::size_t total = rows * cols;
            spaces.resize(total);
            labels.resize(total);
            for (std::size_t i = 0; i < total; ++i)
            {
                spaces[i] = fg[i] ? 0 : 1;
            }
            const std::vector<std::size_t> shape = {rows, cols};
            const std::size_t n = label_mask<std::int32_t>(spaces.data(), shape, connectivity::face, labels.data());
            // np.bincount(labeled.flat): index 0 counts the skeleton pixels themselves.
            std::vector<std::int64_t> sizes(n + 1, 0);
            for (std::size_t i = 0; i < total; ++i)
            {
                ++sizes[static_cast<std::size_t>(labels[i])];
            }
            // labels on the first/last row and column (0 included when a skeleton pixel is there)
            auto clear = [&](std::size_t r, std::size_t c) { sizes[static_cast<std::size_t>(labels[r * cols + c])] = 0; };
            for (std::size_t c = 0; c < cols; ++c)
            {
                clear(0, c);
                clear(rows - 1, c);
            }
            for (std::size_t r = 0; r < rows; ++r)
            {
                clear(r, 0);
                clear(r, cols - 1);
            }
            std::vector<std::int64_t> out;
            for (auto s : sizes)
            {
                if (s != 0)
                {
                    out.push_back(s);
                }
            }
            return out;
        }

        /**
         * Same result as mesh_sizes_from_mask() in one pass and O(cols) memory: 4-connected
         * union-find over background runs (found 8 mask bytes at a time) with two int32 row
         * buffers, pixel counts per provisional label accumulated per run, border labels
         * recorded on the fly. A run creates a label only when nothing above it is background.
         * Provisional labels are created in raster order and every root is the smallest
         * label of its set, so increasing roots = scipy's final label order.
         */
        inline std::vector<std::int64_t> mesh_sizes_one_pass(const std::uint8_t* fg, std::size_t rows,
                                                             std::size_t cols)
        {
            using P = std::int32_t;
            std::vector<P> parent(1, 0);
            std::vector<std::int64_t> count(1, 0);
            std::vector<P> border;  // provisional labels of background pixels on the border
            std::vector<P> row_a(cols, 0), row_b(cols, 0);
            P* up = nullptr;
            P* out = row_a.data();
            bool fg_on_border = false;
            std::int64_t n_fg = 0;
            P next = 0;
            for (std::size_t r = 0; r < rows; ++r)
            {
                const std::uint8_t* m = fg + r * cols;
                const bool edge_row = r == 0 || r + 1 == rows;
                std::size_t c = 0;
                while (c < cols)
                {
                    if (m[c])
                    {
                        out[c] = 0;
                        ++n_fg;
                        fg_on_border = fg_on_border || edge_row || c == 0 || c + 1 == cols;
                        ++c;
                        continue;
                    }
                    // background run [a, c): skip 8 zero mask bytes at a time
                    const std::size_t a = c;
                    while (c + 8 <= cols)
                    {
                        std::uint64_t w;
                        std::memcpy(&w, m + c, 8);
                        if (w != 0)
                        {
                            break;
                        }
                        c += 8;
                    }
                    while (c < cols && !m[c])
                    {
                        ++c;
                    }
                    P best = 0;
                    if (up)
                    {
                        // up labels only change where the row above changes; equal neighbours are one set
                        for (std::size_t k = a; k < c; ++k)
                        {
                            const P u = up[k];
                            if (u != 0 && (k == a || u != up[k - 1]))
                            {
                                best = best == 0 ? label_find(parent, u) : label_union(parent, best, u);
                            }
                        }
                    }
                    if (best == 0)
                    {
                        if (next == std::numeric_limits<P>::max())
                        {
                            throw std::overflow_error("xskan::mesh_sizes: too many provisional labels");
                        }
                        ++next;
                        parent.push_back(next);
                        count.push_back(0);
                        best = next;
                    }
                    count[static_cast<std::size_t>(best)] += static_cast<std::int64_t>(c - a);
                    std::fill(out + a, out + c, best);
                    if (edge_row || a == 0 || c == cols)
                    {
                        border.push_back(best);
                    }
                }
                up = out;
                out = out == row_a.data() ? row_b.data() : row_a.data();
            }
            // parent[l] < l for non-roots: one increasing sweep gives every label its root
            const std::size_t n = static_cast<std::size_t>(next);
            for (std::size_t l = 1; l <= n; ++l)
            {
                const P p = parent[l];
                parent[l] = parent[static_cast<std::size_t>(p)];
                if (parent[l] != static_cast<P>(l))
                {
                    count[static_cast<std::size_t>(parent[l])] += count[l];
                    count[l] = 0;
                }
            }
            for (P l : border)
            {
                count[static_cast<std::size_t>(parent[static_cast<std::size_t>(l)])] = 0;
            }
            count[0] = fg_on_border ? 0 : n_fg;  // skan's label-0 quirk
            std::vector<std::int64_t> sizes;
            for (auto s : count)
            {
                if (s != 0)
                {
                    sizes.push_back(s);
                }
            }
            return sizes;
        }

        /// numpy's mean / median / std (ddof 0) of integer sizes, NaN when empty.
        inline void mesh_statistics(const std::vector<std::int64_t>& sizes, double& mean, double& median,
                                    double& stdev)
        {
            const double nan = std::numeric_limits<double>::quiet_NaN();
            if (sizes.empty())
            {
                mean = median = stdev = nan;
                return;
            }
            const std::size_t n = sizes.size();
            const double dn = static_cast<double>(n);
            // the float64 sum of integers below 2^53 is exact whatever the order
            std::int64_t total = 0;
            for (auto s : sizes)
            {
                total += s;
            }
            mean = static_cast<double>(total) / dn;
            std::vector<std::int64_t> sorted(sizes);
            std::sort(sorted.begin(), sorted.end());
            if (n % 2 == 1)
            {
                median = static_cast<double>(sorted[n / 2]);
            }
            else
            {
                median = (static_cast<double>(sorted[n / 2 - 1]) + static_cast<double>(sorted[n / 2])) / 2.0;
            }
            // np.std: x = arr - mean; x = x * x; pairwise sum; / n; sqrt
            std::vector<double> sq(n);
            for (std::size_t i = 0; i < n; ++i)
            {
                const double x = static_cast<double>(sizes[i]) - mean;
                sq[i] = unfused_mul(x, x);
            }
            stdev = std::sqrt(numpy_pairwise_sum(sq.data(), n) / dn);
        }

        /// Fills area, junctions_per_unit_area (from r.number_of_junctions) and the mesh statistics.
        inline void image_summary_area_and_mesh(const std::uint8_t* fg, std::size_t rows, std::size_t cols,
                                                double spacing, image_summary_result& r)
        {
            const double pixel_area = std::pow(spacing, 2.0);
            r.area = static_cast<double>(rows * cols) * pixel_area;
            r.junctions_per_unit_area = static_cast<double>(r.number_of_junctions) / r.area;
            const auto sizes = mesh_sizes_one_pass(fg, rows, cols);
            mesh_statistics(sizes, r.average_mesh_area, r.median_mesh_area, r.mesh_area_standard_deviation);
        }

        /// "%.17g" (round trip) with Python's nan / inf / -inf spellings.
        inline std::string image_stats_format(double v)
        {
            if (std::isnan(v))
            {
                return "nan";
            }
            if (std::isinf(v))
            {
                return v > 0 ? "inf" : "-inf";
            }
            char buf[40];
            const auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general, 17);
            return std::string(buf, res.ptr);
        }
    }  // namespace detail

    /**
     * @brief Areas (in pixels) of the spaces enclosed by a 2-D skeleton.
     *
     * The background (`image == 0`) is labelled with 4-connectivity; components
     * touching the first/last row or column are dropped; the sizes of the others
     * are returned in label order (raster order of their first pixel).
     *
     * skan quirk, reproduced: the count of label 0 (the skeleton pixels
     * themselves) is only dropped when a skeleton pixel lies on the border, so
     * for a skeleton that does not touch the border the first entry is the number
     * of skeleton pixels (see skan's own docstring example, `[7 2 3 1]`).
     *
     * @param skeleton_image 2-D array, non-zero = skeleton (NaN counts as skeleton).
     * @return sizes in pixels (never scaled by spacing).
     * @throws std::invalid_argument if the image is not 2-D or is empty.
     * Complexity: O(size) time, O(size) bytes (the mask) + O(cols + labels) memory.
     * Matches: `skan.image_stats.mesh_sizes` (v0.13.1), including the quirk above.
     */
    template <class E>
    std::vector<std::int64_t> mesh_sizes(const xt::xexpression<E>& skeleton_image)
    {
        detail::check_image_stats_input(skeleton_image.derived_cast().shape(), "mesh_sizes");
        const auto fg = detail::nonzero_mask(skeleton_image);
        return detail::mesh_sizes_one_pass(fg.data(), fg.shape()[0], fg.shape()[1]);
    }

    /**
     * @brief Summary statistics of a 2-D skeleton image.
     *
     * - `number_of_junctions`: skeleton pixels whose degree is > 2 after skan's
     *   junction minimum spanning tree (`Skeleton.degrees`);
     * - `area = rows * cols * spacing^2` (std::pow, like Python's `**`);
     * - `junctions_per_unit_area = number_of_junctions / area`;
     * - mean, median and population standard deviation of mesh_sizes() (in
     *   pixels, not scaled), NaN when there is no mesh;
     * - `number_of_disjoint_skeletons`: 8-connected components of the skeleton
     *   pixels (isolated pixels count).
     *
     * @param skeleton_image 2-D array, non-zero = skeleton.
     * @param spacing pixel size (finite, > 0), the same on both axes.
     * @throws std::invalid_argument for a non-2-D or empty image, or a bad spacing.
     * Complexity: O(size) (labelling twice, building the skeleton graph once).
     * Matches: `skan.image_stats.image_summary(skeleton, spacing=spacing)` (v0.13.1)
     * for a scalar spacing; bit-exact (numpy's summation order for the std).
     * Deliberate difference: n-D images are rejected (skan's mesh border test only
     * looks at axes 0 and 1, which is meaningless beyond 2-D).
     */
    template <class E>
    image_summary_result image_summary(const xt::xexpression<E>& skeleton_image, double spacing = 1.0)
    {
        const auto& shape = skeleton_image.derived_cast().shape();
        detail::check_image_stats_input(shape, "image_summary");
        if (!(std::isfinite(spacing) && spacing > 0.0))
        {
            throw std::invalid_argument("xskan::image_summary: spacing must be finite and > 0, got " +
                                        detail::image_stats_format(spacing));
        }
        const auto fg = detail::nonzero_mask(skeleton_image);
        const std::size_t rows = fg.shape()[0];
        const std::size_t cols = fg.shape()[1];

        image_summary_result r;
        r.scale = spacing;
        bool any = false;
        for (std::size_t i = 0; i < fg.size(); ++i)
        {
            if (fg.data()[i])
            {
                any = true;
                break;
            }
        }
        if (any)
        {
            skeleton_options opts;
            opts.spacing = {spacing};
            const skeleton skel(fg, opts);  // degrees depend only on the support and the spacing
            for (auto d : skel.degrees())
            {
                r.number_of_junctions += d > 2 ? 1 : 0;
            }
        }
        detail::image_summary_area_and_mesh(fg.data(), rows, cols, spacing, r);
        const std::vector<std::size_t> sh = {rows, cols};
        std::vector<std::int32_t> labels(rows * cols);
        r.number_of_disjoint_skeletons =
            static_cast<std::int64_t>(detail::label_mask<std::int32_t>(fg.data(), sh, connectivity::full, labels.data()));
        return r;
    }

    /**
     * @brief image_summary() reusing a skeleton graph already built from the same
     *        image: junctions from `skel.degrees()`, disjoint skeletons from
     *        `skel.skeleton_ids()` (the components of the 8-connected pixel graph
     *        are the 8-connected components of the support; the junction MST keeps
     *        them). Only the mesh labelling is done here.
     *
     * @param skeleton_image 2-D array, non-zero = skeleton.
     * @param skel a skeleton built from `skeleton_image` (or any array with the same
     *        non-zero support) with the scalar spacing `spacing`.
     * @param spacing pixel size (finite, > 0), the same on both axes.
     * @throws std::invalid_argument for a non-2-D or empty image, a bad spacing, or
     *         a `skel` that visibly does not belong to the image (shape, spacing or
     *         node count != number of non-zero pixels differ). A skeleton of a
     *         different support with the same count is not detected.
     * Complexity: O(size) (one 4-connected labelling of the background).
     * Matches: `skan.image_stats.image_summary(skeleton, spacing=spacing)` (v0.13.1),
     * bit-identical to image_summary(skeleton_image, spacing).
     */
    template <class E>
    image_summary_result image_summary(const xt::xexpression<E>& skeleton_image, const skeleton& skel,
                                       double spacing)
    {
        const auto& shape = skeleton_image.derived_cast().shape();
        detail::check_image_stats_input(shape, "image_summary");
        if (!(std::isfinite(spacing) && spacing > 0.0))
        {
            throw std::invalid_argument("xskan::image_summary: spacing must be finite and > 0, got " +
                                        detail::image_stats_format(spacing));
        }
        if (skel.ndim() != 2 || skel.shape()[0] != shape[0] || skel.shape()[1] != shape[1])
        {
            throw std::invalid_argument("xskan::image_summary: the skeleton graph has shape " +
                                        detail::shape_to_string(skel.shape()) + ", the image " +
                                        detail::shape_to_string(shape));
        }
        for (double s : skel.spacing())
        {
            if (s != spacing)
            {
                throw std::invalid_argument("xskan::image_summary: the skeleton graph was built with spacing " +
                                            detail::image_stats_format(s) + ", not " +
                                            detail::image_stats_format(spacing));
            }
        }
        const auto fg = detail::nonzero_mask(skeleton_image);
        const std::size_t rows = fg.shape()[0];
        const std::size_t cols = fg.shape()[1];
        std::size_t n_fg = 0;
        for (std::size_t i = 0; i < fg.size(); ++i)
        {
            n_fg += fg.data()[i] ? 1 : 0;
        }
        if (n_fg != skel.n_nodes())
        {
            throw std::invalid_argument("xskan::image_summary: the skeleton graph has " +
                                        std::to_string(skel.n_nodes()) + " nodes but the image " +
                                        std::to_string(n_fg) + " non-zero pixels");
        }

        image_summary_result r;
        r.scale = spacing;
        for (auto d : skel.degrees())
        {
            r.number_of_junctions += d > 2 ? 1 : 0;
        }
        detail::image_summary_area_and_mesh(fg.data(), rows, cols, spacing, r);
        const auto& ids = skel.skeleton_ids();
        if (ids.size() == n_fg)
        {
            // ids are 0..k-1, numbered in order of first node
            std::int64_t k = 0;
            for (auto id : ids)
            {
                k = std::max(k, id + 1);
            }
            r.number_of_disjoint_skeletons = k;
        }
        else
        {
            const std::vector<std::size_t> sh = {rows, cols};
            std::vector<std::int32_t> labels(rows * cols);
            r.number_of_disjoint_skeletons = static_cast<std::int64_t>(
                detail::label_mask<std::int32_t>(fg.data(), sh, connectivity::full, labels.data()));
        }
        return r;
    }

    /// skan's column names of the image summary table, in order.
    inline std::vector<std::string> image_summary_columns()
    {
        return {"scale",
                "number of junctions",
                "area",
                "junctions per unit area",
                "average mesh area",
                "median mesh area",
                "mesh area standard deviation",
                "number of disjoint skeletons"};
    }

    /**
     * @brief The fields of one image summary row as text, in image_summary_columns()
     *        order: integers as integers, floats as `%.17g`, NaN as `nan`.
     */
    inline std::vector<std::string> image_summary_fields(const image_summary_result& r)
    {
        return {detail::image_stats_format(r.scale),
                std::to_string(r.number_of_junctions),
                detail::image_stats_format(r.area),
                detail::image_stats_format(r.junctions_per_unit_area),
                detail::image_stats_format(r.average_mesh_area),
                detail::image_stats_format(r.median_mesh_area),
                detail::image_stats_format(r.mesh_area_standard_deviation),
                std::to_string(r.number_of_disjoint_skeletons)};
    }

    /**
     * @brief Write the image summary as a one-row CSV with skan's column names
     *        (header line, then the values; no index column).
     * @throws std::runtime_error if the stream fails.
     * Matches: `image_summary(...).to_csv(out, index=False)` with `%.17g` floats.
     */
    inline void write_csv(std::ostream& out, const image_summary_result& r)
    {
        std::string line;
        const auto names = image_summary_columns();
        const auto fields = image_summary_fields(r);
        for (std::size_t k = 0; k < names.size(); ++k)
        {
            line += (k ? "," : "") + names[k];
        }
        line += '\n';
        for (std::size_t k = 0; k < fields.size(); ++k)
        {
            line += (k ? "," : "") + fields[k];
        }
        line += '\n';
        out.write(line.data(), static_cast<std::streamsize>(line.size()));
        if (!out)
        {
            throw std::runtime_error("xskan::write_csv: writing the image summary failed");
        }
    }
}  // namespace xskan

#endif
