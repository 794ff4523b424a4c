/**
 * @file summarize.hpp
 * @brief skan's `summarize`: one row per skeleton branch (path), the main
 *        branch of every skeleton, and a CSV writer with skan's column names.
 */
#ifndef XSKAN_SUMMARIZE_HPP
#define XSKAN_SUMMARIZE_HPP

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "detail/skeleton_graph.hpp"
#include "detail/skeleton_main_branch.hpp"
#include "skeleton.hpp"

namespace xskan
{
    /**
     * @brief The branch table: one entry per path, skan's columns as vectors.
     */
    struct branch_table
    {
        std::size_t ndim = 0;                 ///< image dimensions D
        bool value_is_height = false;         ///< coord_* have an extra height column D
        bool has_main = false;                ///< the `main` column is present
        bool integer_coords = false;          ///< every spacing is an integer (skan keeps integer coords then)
        std::vector<std::int64_t> skeleton_id, node_id_src, node_id_dst;
        std::vector<double> branch_distance;
        std::vector<std::int32_t> branch_type;  ///< 0 endpoint-endpoint, 1 junction-endpoint, 2 junction-junction, 3 cycle
        std::vector<double> mean_pixel_value, stdev_pixel_value;
        xt::xtensor<std::int64_t, 2> image_coord_src, image_coord_dst;  ///< P x D
        xt::xtensor<double, 2> coord_src, coord_dst;                    ///< P x (D [+1 height])
        std::vector<double> euclidean_distance;
        std::vector<std::uint8_t> main;  ///< 0/1, only when has_main
        /// Number of rows (branches).
        std::size_t size() const noexcept { return node_id_src.size(); }
    };

    /// Options of summarize().
    struct summarize_options
    {
        /// Add the `main` column (branches on the longest shortest path of every skeleton).
        bool find_main_branch = false;
        /// Separator for column names (used by write_csv callers; skan's `separator`).
        std::string separator = "_";
    };

    /**
     * @brief Main-branch flags: for every connected skeleton, the branches on
     *        a longest shortest path of its junction graph (nodes = branch end
     *        nodes, edge weight = branch_distance).
     *
     * Parallel branches between the same two nodes: the shortest one is the
     * edge (ties: the lower row); cycles (src == dst) are never main; an
     * isolated cycle has no main branch. Exact: trees (the common case) use
     * the double sweep (two Dijkstra runs); components with cycles use the
     * bounding-diameters method of Takes & Kosters (2011) (few Dijkstra runs
     * in practice, all pairs in the worst case). Ties: the farthest node with
     * the lowest id, and the first shortest path Dijkstra finds.
     * @return one 0/1 flag per row.
     * Matches: the documented intent of skan's `find_main_branches`
     * ("longest shortest path within a skeleton"), NOT skan v0.13.1's output,
     * which flags nearly every branch (a known skan bug).
     * Reference: Takes, F. W. & Kosters, W. A. (2011), Determining the diameter
     * of small world networks, CIKM '11.
     */
    inline std::vector<std::uint8_t> find_main_branches(const branch_table& t)
    {
        return detail::main_branches(t.node_id_src, t.node_id_dst, t.branch_distance);
    }

    /**
     * @brief Summary statistics of every branch (path) of a skeleton, in path order.
     *
     * Columns (skan's, in order): skeleton_id (connected-component label of
     * the source node), node_id_src, node_id_dst, branch_distance,
     * branch_type (2 by default; 1 if an end has degree 1; 0 if both; 3 if
     * src == dst), mean_pixel_value, stdev_pixel_value (numpy's summation,
     * bit-exact), image_coord_src/dst (pixel indices), coord_src/dst
     * (coordinates × spacing, plus the pixel value as last coordinate with
     * value_is_height), euclidean_distance (between the scaled end points,
     * squares summed from axis 0), and `main` with find_main_branch.
     * @param skel the skeleton.
     * @param opts find_main_branch adds the `main` column (see find_main_branches).
     * @return branch_table with one row per path (0 rows for an empty skeleton).
     * Complexity: O(total path length) (+ find_main_branches).
     * Matches: `skan.summarize(skel, value_is_height=skel.value_is_height,
     * find_main_branch=...)` (v0.13.1) except `main` (see find_main_branches).
     */
    inline branch_table summarize(const skeleton& skel, const summarize_options& opts = {})
    {
        branch_table t;
        const std::size_t D = skel.ndim();
        const std::size_t P = skel.n_paths();
        t.ndim = D;
        t.value_is_height = skel.value_is_height();
        t.has_main = opts.find_main_branch;
        t.integer_coords = true;
        for (double s : skel.spacing())
        {
            if (s != std::floor(s))
            {
                t.integer_coords = false;
            }
        }
        const auto& indptr = skel.paths_indptr();
        const auto& indices = skel.paths_indices();
        const auto& deg = skel.degrees();
        const auto& ids = skel.skeleton_ids();
        const auto& coords = skel.coordinates();
        const auto& values = skel.node_values();
        const auto& spacing = skel.spacing();
        // columns filled by push_back below (reserved, not zeroed first)
        t.skeleton_id.reserve(P);
        t.node_id_src.reserve(P);
        t.node_id_dst.reserve(P);
        t.branch_distance = skel.path_lengths();
        t.branch_type.reserve(P);
        t.mean_pixel_value = skel.path_means();
        t.stdev_pixel_value = skel.path_stdev();
        const std::size_t DC = D + (t.value_is_height ? 1 : 0);
        t.image_coord_src = xt::xtensor<std::int64_t, 2>::from_shape({P, D});
        t.image_coord_dst = xt::xtensor<std::int64_t, 2>::from_shape({P, D});
        t.coord_src = xt::xtensor<double, 2>::from_shape({P, DC});
        t.coord_dst = xt::xtensor<double, 2>::from_shape({P, DC});
        t.euclidean_distance.reserve(P);
        const std::int64_t* cptr = coords.data();
        const double* sp = spacing.data();
        std::int64_t* ics = t.image_coord_src.data();
        std::int64_t* icd = t.image_coord_dst.data();
        double* xcs = t.coord_src.data();
        double* xcd = t.coord_dst.data();
        for (std::size_t i = 0; i < P; ++i)
        {
            const std::int64_t s = indices[static_cast<std::size_t>(indptr[i])];
            const std::int64_t d = indices[static_cast<std::size_t>(indptr[i + 1]) - 1];
            const auto su = static_cast<std::size_t>(s);
            const auto du = static_cast<std::size_t>(d);
#if defined(__GNUC__) || defined(__clang__)
            // the path ends' records are scattered (node ids far apart): fetch a few rows ahead
            constexpr std::size_t ahead = 16;
            if (i + ahead < P)
            {
                const auto ps = static_cast<std::size_t>(indices[static_cast<std::size_t>(indptr[i + ahead])]);
                const auto pd = static_cast<std::size_t>(indices[static_cast<std::size_t>(indptr[i + ahead + 1]) - 1]);
                __builtin_prefetch(cptr + ps * D);
                __builtin_prefetch(cptr + pd * D);
                __builtin_prefetch(deg.data() + ps);
                __builtin_prefetch(deg.data() + pd);
                __builtin_prefetch(ids.data() + ps);
            }
#endif
            t.skeleton_id.push_back(ids[su]);
            t.node_id_src.push_back(s);
            t.node_id_dst.push_back(d);
            std::int32_t kind = 2;
            if (deg[su] == 1 || deg[du] == 1)
            {
                kind = 1;
            }
            if (deg[su] == 1 && deg[du] == 1)
            {
                kind = 0;
            }
            if (s == d)
            {
                kind = 3;
            }
            t.branch_type.push_back(kind);
            double sq = 0.0;
            const std::int64_t* rs = cptr + su * D;
            const std::int64_t* rd = cptr + du * D;
            for (std::size_t a = 0; a < D; ++a)
            {
                const std::int64_t cs = rs[a];
                const std::int64_t cd = rd[a];
                ics[i * D + a] = cs;
                icd[i * D + a] = cd;
                const double xs = detail::rounded_product(static_cast<double>(cs), sp[a]);
                const double xd = detail::rounded_product(static_cast<double>(cd), sp[a]);
                xcs[i * DC + a] = xs;
                xcd[i * DC + a] = xd;
                const double diff = xd - xs;
                sq += detail::rounded_product(diff, diff);
            }
            if (t.value_is_height)
            {
                xcs[i * DC + D] = values[su];
                xcd[i * DC + D] = values[du];
                const double diff = values[du] - values[su];
                sq += detail::rounded_product(diff, diff);
            }
            t.euclidean_distance.push_back(std::sqrt(sq));
        }
        if (opts.find_main_branch)
        {
            t.main = find_main_branches(t);
        }
        return t;
    }

    /**
     * @brief skan's column names in order, every '_' replaced by `separator`
     *        (e.g. "image_coord_src_0", or "image-coord-src-0" with "-").
     */
    inline std::vector<std::string> column_names(const branch_table& t, const std::string& separator = "_")
    {
        std::vector<std::string> names = {"skeleton_id", "node_id_src", "node_id_dst", "branch_distance",
                                          "branch_type", "mean_pixel_value", "stdev_pixel_value"};
        const std::size_t D = t.ndim;
        const std::size_t DC = D + (t.value_is_height ? 1 : 0);
        for (std::size_t a = 0; a < D; ++a) names.push_back("image_coord_src_" + std::to_string(a));
        for (std::size_t a = 0; a < D; ++a) names.push_back("image_coord_dst_" + std::to_string(a));
        for (std::size_t a = 0; a < DC; ++a) names.push_back("coord_src_" + std::to_string(a));
        for (std::size_t a = 0; a < DC; ++a) names.push_back("coord_dst_" + std::to_string(a));
        names.push_back("euclidean_distance");
        if (t.has_main)
        {
            names.push_back("main");
        }
        if (separator != "_")
        {
            for (auto& n : names)
            {
                std::string r;
                for (char c : n)
                {
                    if (c == '_')
                    {
                        r += separator;
                    }
                    else
                    {
                        r += c;
                    }
                }
                n = std::move(r);
            }
        }
        return names;
    }

    namespace detail
    {
        /// Append a double as "%.17g" (nan, inf, -inf written like Python).
        inline void append_double(std::string& out, double v)
        {
            if (std::isnan(v))
            {
                out += "nan";
                return;
            }
            if (std::isinf(v))
            {
                out += v > 0 ? "inf" : "-inf";
                return;
            }
            char buf[40];
            const auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general, 17);
            out.append(buf, res.ptr);
        }

        inline void append_int(std::string& out, std::int64_t v)
        {
            char buf[24];
            const auto res = std::to_chars(buf, buf + sizeof(buf), v);
            out.append(buf, res.ptr);
        }
    }  // namespace detail

    /**
     * @brief Write the branch table as CSV: header (column_names) and one line
     *        per branch; integers as integers, floats as `%.17g` (round-trip),
     *        nan/inf as Python writes them; no index column.
     * @throws std::runtime_error if the stream fails.
     * Matches: `summarize(...).to_csv(out, index=False, float_format='%.17g')`.
     */
    inline void write_csv(std::ostream& out, const branch_table& t, const std::string& separator = "_")
    {
        const auto names = column_names(t, separator);
        std::string buf;
        for (std::size_t k = 0; k < names.size(); ++k)
        {
            if (k)
            {
                buf += ',';
            }
            buf += names[k];
        }
        buf += '\n';
        const std::size_t D = t.ndim;
        const std::size_t DC = t.coord_src.shape()[1];
        for (std::size_t i = 0; i < t.size(); ++i)
        {
            detail::append_int(buf, t.skeleton_id[i]);
            buf += ',';
            detail::append_int(buf, t.node_id_src[i]);
            buf += ',';
            detail::append_int(buf, t.node_id_dst[i]);
            buf += ',';
            detail::append_double(buf, t.branch_distance[i]);
            buf += ',';
            detail::append_int(buf, t.branch_type[i]);
            buf += ',';
            detail::append_double(buf, t.mean_pixel_value[i]);
            buf += ',';
            detail::append_double(buf, t.stdev_pixel_value[i]);
            for (std::size_t a = 0; a < D; ++a)
            {
                buf += ',';
                detail::append_int(buf, t.image_coord_src(i, a));
            }
            for (std::size_t a = 0; a < D; ++a)
            {
                buf += ',';
                detail::append_int(buf, t.image_coord_dst(i, a));
            }
            for (std::size_t a = 0; a < DC; ++a)
            {
                buf += ',';
                detail::append_double(buf, t.coord_src(i, a));
            }
            for (std::size_t a = 0; a < DC; ++a)
            {
                buf += ',';
                detail::append_double(buf, t.coord_dst(i, a));
            }
            buf += ',';
            detail::append_double(buf, t.euclidean_distance[i]);
            if (t.has_main)
            {
                buf += ',';
                buf += t.main[i] ? '1' : '0';
            }
            buf += '\n';
            if (buf.size() > (1u << 16))
            {
                out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
                buf.clear();
            }
        }
        out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (!out)
        {
            throw std::runtime_error("xskan::write_csv: writing the branch table failed");
        }
    }
}  // namespace xskan

#endif
