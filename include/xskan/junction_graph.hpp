/**
 * @file junction_graph.hpp
 * @brief The branch graph of a skeleton (nodes = path end points, edges =
 *        paths with their statistics and pixels) and its export to GraphML
 *        and JSON.
 */
#ifndef XSKAN_JUNCTION_GRAPH_HPP
#define XSKAN_JUNCTION_GRAPH_HPP

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "skeleton.hpp"
#include "summarize.hpp"

namespace xskan
{
    /// A node of the junction graph: a path end point (junction, tip, or the start of an isolated cycle).
    struct junction_graph_node
    {
        std::int64_t id = 0;                    ///< skeleton node id (rank of the pixel in C order)
        std::vector<std::int64_t> image_coord;  ///< pixel indices, one per axis
        std::vector<double> coord;              ///< image_coord × spacing
        std::int32_t degree = 0;                ///< pixel degree after the junction MST (Skeleton.degrees)
        std::int64_t skeleton_id = 0;           ///< connected-component label
        double value = 0.0;                     ///< pixel value (1.0 for bool images)
    };

    /// An edge of the junction graph: one path (branch), i.e. one row of summarize().
    struct junction_graph_edge
    {
        std::size_t index = 0;           ///< path index = summary row
        std::int64_t src = 0;            ///< node id of the first end (node_id_src)
        std::int64_t dst = 0;            ///< node id of the last end (node_id_dst; == src for cycles)
        std::int64_t skeleton_id = 0;
        double branch_distance = 0.0;
        std::int32_t branch_type = 0;    ///< 0 tip-tip, 1 tip-junction, 2 junction-junction, 3 cycle
        double mean_pixel_value = 0.0;
        double stdev_pixel_value = 0.0;
        double euclidean_distance = 0.0;
        std::vector<std::int64_t> path;               ///< node ids along the path, ends included
        xt::xtensor<std::int64_t, 2> path_coordinates;  ///< k × ndim pixel indices along the path
    };

    /**
     * @brief Undirected multigraph of a skeleton's branches: parallel branches
     *        and self-loops (cycles) are kept as separate edges.
     */
    struct junction_graph
    {
        std::size_t ndim = 0;                    ///< image dimensions
        std::vector<double> spacing;             ///< one per axis
        std::vector<junction_graph_node> nodes;  ///< sorted by id
        std::vector<junction_graph_edge> edges;  ///< in path (summary row) order

        /// Position of node `id` in `nodes`. @throws std::out_of_range if it is not a node.
        std::size_t node_index(std::int64_t id) const
        {
            const auto it = std::lower_bound(nodes.begin(), nodes.end(), id,
                                             [](const junction_graph_node& n, std::int64_t v) { return n.id < v; });
            if (it == nodes.end() || it->id != id)
            {
                throw std::out_of_range("xskan::junction_graph::node_index: node " + std::to_string(id) +
                                        " is not an end point of any path");
            }
            return static_cast<std::size_t>(it - nodes.begin());
        }
    };

    /**
     * @brief Build the junction graph from a skeleton and its summary table.
     * @param skel the skeleton.
     * @param summary `summarize(skel)` (any options); reused for the edge statistics.
     * @throws std::invalid_argument if the summary does not belong to the skeleton
     *         (different number of rows or dimensions, or other end nodes).
     * Complexity: O(total path length + B log B) for B branches.
     * Matches: the graph skan users build with networkx from `summarize` (nodes
     * = node_id_src/dst with their coordinates, edges = branches with their
     * statistics and `Skeleton.path_coordinates`), as a MultiGraph.
     */
    inline junction_graph make_junction_graph(const skeleton& skel, const branch_table& summary)
    {
        const std::size_t P = skel.n_paths();
        const std::size_t D = skel.ndim();
        if (summary.size() != P || summary.ndim != D)
        {
            throw std::invalid_argument("xskan::make_junction_graph: the summary has " + std::to_string(summary.size()) +
                                        " rows and " + std::to_string(summary.ndim) + " dimensions but the skeleton has " +
                                        std::to_string(P) + " paths and " + std::to_string(D) +
                                        " dimensions; pass summarize(skel) of the same skeleton");
        }
        const auto& indptr = skel.paths_indptr();
        const auto& indices = skel.paths_indices();
        const auto& coords = skel.coordinates();
        junction_graph g;
        g.ndim = D;
        g.spacing = skel.spacing();
        std::vector<std::int64_t> ids;
        ids.reserve(2 * P);
        g.edges.resize(P);
        for (std::size_t i = 0; i < P; ++i)
        {
            const auto b = static_cast<std::size_t>(indptr[i]);
            const auto e = static_cast<std::size_t>(indptr[i + 1]);
            auto& edge = g.edges[i];
            edge.index = i;
            edge.src = indices[b];
            edge.dst = indices[e - 1];
            if (edge.src != summary.node_id_src[i] || edge.dst != summary.node_id_dst[i])
            {
                throw std::invalid_argument("xskan::make_junction_graph: summary row " + std::to_string(i) +
                                            " does not match path " + std::to_string(i) +
                                            " of the skeleton; pass summarize(skel) of the same skeleton");
            }
            edge.skeleton_id = summary.skeleton_id[i];
            edge.branch_distance = summary.branch_distance[i];
            edge.branch_type = summary.branch_type[i];
            edge.mean_pixel_value = summary.mean_pixel_value[i];
            edge.stdev_pixel_value = summary.stdev_pixel_value[i];
            edge.euclidean_distance = summary.euclidean_distance[i];
            edge.path.assign(indices.begin() + static_cast<std::ptrdiff_t>(b),
                             indices.begin() + static_cast<std::ptrdiff_t>(e));
            edge.path_coordinates = xt::xtensor<std::int64_t, 2>::from_shape({e - b, D});
            for (std::size_t k = b; k < e; ++k)
            {
                const auto node = static_cast<std::size_t>(indices[k]);
                for (std::size_t a = 0; a < D; ++a)
                {
                    edge.path_coordinates(k - b, a) = coords(node, a);
                }
            }
            ids.push_back(edge.src);
            ids.push_back(edge.dst);
        }
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        g.nodes.resize(ids.size());
        for (std::size_t j = 0; j < ids.size(); ++j)
        {
            const auto node = static_cast<std::size_t>(ids[j]);
            auto& n = g.nodes[j];
            n.id = ids[j];
            n.image_coord.resize(D);
            n.coord.resize(D);
            for (std::size_t a = 0; a < D; ++a)
            {
                n.image_coord[a] = coords(node, a);
                n.coord[a] = static_cast<double>(coords(node, a)) * g.spacing[a];
            }
            n.degree = skel.degrees()[node];
            n.skeleton_id = skel.skeleton_ids()[node];
            n.value = skel.node_values()[node];
        }
        return g;
    }

    /**
     * @brief Build the junction graph of a skeleton (calls summarize(skel)).
     * Isolated pixels belong to no path and are therefore not nodes.
     * Complexity: O(total path length + B log B).
     */
    inline junction_graph make_junction_graph(const skeleton& skel)
    {
        return make_junction_graph(skel, summarize(skel));
    }

    namespace detail
    {
        /// Shortest round-trip decimal of a finite double (Python's repr digits).
        inline void jg_append_finite(std::string& out, double v)
        {
            char buf[40];
            const auto res = std::to_chars(buf, buf + sizeof(buf), v);
            out.append(buf, res.ptr);
        }

        inline void jg_append_int(std::string& out, std::int64_t v)
        {
            char buf[24];
            const auto res = std::to_chars(buf, buf + sizeof(buf), v);
            out.append(buf, res.ptr);
        }

        /// JSON number; NaN and ±inf have no JSON spelling and become null.
        inline void jg_json_number(std::string& out, double v)
        {
            if (!std::isfinite(v))
            {
                out += "null";
                return;
            }
            jg_append_finite(out, v);
        }

        /// XML Schema double (NaN, INF, -INF; Python's float() reads them too).
        inline void jg_xml_number(std::string& out, double v)
        {
            if (std::isnan(v))
            {
                out += "NaN";
            }
            else if (std::isinf(v))
            {
                out += v > 0 ? "INF" : "-INF";
            }
            else
            {
                jg_append_finite(out, v);
            }
        }

        /// A JSON string literal with the required escapes.
        inline void jg_json_string(std::string& out, const std::string& s)
        {
            out += '"';
            for (const char ch : s)
            {
                const auto c = static_cast<unsigned char>(ch);
                switch (c)
                {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    if (c < 0x20)
                    {
                        static const char hex[] = "0123456789abcdef";
                        out += "\\u00";
                        out += hex[c >> 4];
                        out += hex[c & 15];
                    }
                    else
                    {
                        out += static_cast<char>(c);
                    }
                }
            }
            out += '"';
        }

        /// Text escaped for XML attribute values and character data.
        inline void jg_xml_escape(std::string& out, const std::string& s)
        {
            for (char c : s)
            {
                switch (c)
                {
                case '&': out += "&amp;"; break;
                case '<': out += "&lt;"; break;
                case '>': out += "&gt;"; break;
                case '"': out += "&quot;"; break;
                case '\'': out += "&apos;"; break;
                default: out += c;
                }
            }
        }

        /// "[[r, c], [r, c], ...]" (JSON) of a k × D integer table.
        inline void jg_json_int_rows(std::string& out, const xt::xtensor<std::int64_t, 2>& t)
        {
            out += '[';
            for (std::size_t i = 0; i < t.shape()[0]; ++i)
            {
                out += i ? ", [" : "[";
                for (std::size_t a = 0; a < t.shape()[1]; ++a)
                {
                    if (a)
                    {
                        out += ", ";
                    }
                    jg_append_int(out, t(i, a));
                }
                out += ']';
            }
            out += ']';
        }

        template <class T, class F>
        void jg_json_list(std::string& out, const std::vector<T>& v, F&& append)
        {
            out += '[';
            for (std::size_t i = 0; i < v.size(); ++i)
            {
                if (i)
                {
                    out += ", ";
                }
                append(out, v[i]);
            }
            out += ']';
        }

        inline void jg_flush(std::ostream& os, std::string& buf, bool force)
        {
            if (force || buf.size() > (1u << 16))
            {
                os.write(buf.data(), static_cast<std::streamsize>(buf.size()));
                buf.clear();
            }
        }
    }  // namespace detail

    /**
     * @brief Write the junction graph as GraphML (undirected; parallel edges and
     *        self-loops allowed), readable by `networkx.read_graphml` (which
     *        returns a MultiGraph when there are parallel edges).
     *
     * Node ids are the skeleton node ids ("12"); edge ids are the path indices.
     * Graph data: `ndim` (int), `spacing` (string, space-separated). Node data:
     * `image_coord_<a>` (long), `coord_<a>` (double), `degree` (int),
     * `skeleton_id` (long), `value` (double). Edge data: `index`, `skeleton_id`
     * (long), `branch_distance`, `mean_pixel_value`, `stdev_pixel_value`,
     * `euclidean_distance` (double), `branch_type` (int), `path` (string: JSON
     * list of node ids) and `path_coordinates` (string: JSON list of pixel
     * index rows). Doubles use the shortest round-trip decimal; NaN/inf are
     * written NaN, INF, -INF (XML Schema spellings).
     * @throws std::runtime_error if the stream fails.
     */
    inline void write_graphml(std::ostream& os, const junction_graph& g)
    {
        std::string out;
        out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
               "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
               "xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns "
               "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n";
        auto key = [&](const std::string& id, const char* domain, const std::string& name, const char* type) {
            out += "  <key id=\"";
            detail::jg_xml_escape(out, id);
            out += "\" for=\"";
            out += domain;
            out += "\" attr.name=\"";
            detail::jg_xml_escape(out, name);
            out += "\" attr.type=\"";
            out += type;
            out += "\"/>\n";
        };
        key("g_ndim", "graph", "ndim", "int");
        key("g_spacing", "graph", "spacing", "string");
        for (std::size_t a = 0; a < g.ndim; ++a)
        {
            key("n_image_coord_" + std::to_string(a), "node", "image_coord_" + std::to_string(a), "long");
        }
        for (std::size_t a = 0; a < g.ndim; ++a)
        {
            key("n_coord_" + std::to_string(a), "node", "coord_" + std::to_string(a), "double");
        }
        key("n_degree", "node", "degree", "int");
        key("n_skeleton_id", "node", "skeleton_id", "long");
        key("n_value", "node", "value", "double");
        key("e_index", "edge", "index", "long");
        key("e_skeleton_id", "edge", "skeleton_id", "long");
        key("e_branch_distance", "edge", "branch_distance", "double");
        key("e_branch_type", "edge", "branch_type", "int");
        key("e_mean_pixel_value", "edge", "mean_pixel_value", "double");
        key("e_stdev_pixel_value", "edge", "stdev_pixel_value", "double");
        key("e_euclidean_distance", "edge", "euclidean_distance", "double");
        key("e_path", "edge", "path", "string");
        key("e_path_coordinates", "edge", "path_coordinates", "string");
        out += "  <graph id=\"G\" edgedefault=\"undirected\">\n";
        out += "    <data key=\"g_ndim\">";
        detail::jg_append_int(out, static_cast<std::int64_t>(g.ndim));
        out += "</data>\n    <data key=\"g_spacing\">";
        for (std::size_t a = 0; a < g.spacing.size(); ++a)
        {
            if (a)
            {
                out += ' ';
            }
            detail::jg_xml_number(out, g.spacing[a]);
        }
        out += "</data>\n";
        auto data_int = [&](const std::string& k, std::int64_t v) {
            out += "      <data key=\"" + k + "\">";
            detail::jg_append_int(out, v);
            out += "</data>\n";
        };
        auto data_double = [&](const std::string& k, double v) {
            out += "      <data key=\"" + k + "\">";
            detail::jg_xml_number(out, v);
            out += "</data>\n";
        };
        for (const auto& n : g.nodes)
        {
            out += "    <node id=\"";
            detail::jg_append_int(out, n.id);
            out += "\">\n";
            for (std::size_t a = 0; a < g.ndim; ++a)
            {
                data_int("n_image_coord_" + std::to_string(a), n.image_coord[a]);
            }
            for (std::size_t a = 0; a < g.ndim; ++a)
            {
                data_double("n_coord_" + std::to_string(a), n.coord[a]);
            }
            data_int("n_degree", n.degree);
            data_int("n_skeleton_id", n.skeleton_id);
            data_double("n_value", n.value);
            out += "    </node>\n";
            detail::jg_flush(os, out, false);
        }
        for (const auto& e : g.edges)
        {
            out += "    <edge id=\"";
            detail::jg_append_int(out, static_cast<std::int64_t>(e.index));
            out += "\" source=\"";
            detail::jg_append_int(out, e.src);
            out += "\" target=\"";
            detail::jg_append_int(out, e.dst);
            out += "\">\n";
            data_int("e_index", static_cast<std::int64_t>(e.index));
            data_int("e_skeleton_id", e.skeleton_id);
            data_double("e_branch_distance", e.branch_distance);
            data_int("e_branch_type", e.branch_type);
            data_double("e_mean_pixel_value", e.mean_pixel_value);
            data_double("e_stdev_pixel_value", e.stdev_pixel_value);
            data_double("e_euclidean_distance", e.euclidean_distance);
            out += "      <data key=\"e_path\">";
            detail::jg_json_list(out, e.path, [](std::string& o, std::int64_t v) { detail::jg_append_int(o, v); });
            out += "</data>\n      <data key=\"e_path_coordinates\">";
            detail::jg_json_int_rows(out, e.path_coordinates);
            out += "</data>\n    </edge>\n";
            detail::jg_flush(os, out, false);
        }
        out += "  </graph>\n</graphml>\n";
        detail::jg_flush(os, out, true);
        if (!os)
        {
            throw std::runtime_error("xskan::write_graphml: writing the junction graph failed");
        }
    }

    /**
     * @brief Write the junction graph as JSON in networkx's node-link layout
     *        (`networkx.node_link_graph` reads it back as a MultiGraph).
     *
     * Schema:
     * ```
     * {"directed": false, "multigraph": true,
     *  "graph": {"ndim": D, "spacing": [s0, ...]},
     *  "nodes": [{"id": node_id, "image_coord": [i0, ...], "coord": [x0, ...],
     *             "degree": int, "skeleton_id": int, "value": number}, ...],
     *  "links": [{"source": src_id, "target": dst_id, "key": path_index,
     *             "index": path_index, "skeleton_id": int, "branch_distance": number,
     *             "branch_type": int, "mean_pixel_value": number,
     *             "stdev_pixel_value": number, "euclidean_distance": number,
     *             "path": [node ids], "path_coordinates": [[i0, ...], ...]}, ...]}
     * ```
     * Numbers use the shortest round-trip decimal; NaN and ±inf (not
     * representable in JSON) are written `null`.
     * @throws std::runtime_error if the stream fails.
     */
    inline void write_json(std::ostream& os, const junction_graph& g)
    {
        std::string out;
        auto num = [](std::string& o, double v) { detail::jg_json_number(o, v); };
        auto integer = [](std::string& o, std::int64_t v) { detail::jg_append_int(o, v); };
        auto field = [&](const char* name) {
            out += ", ";
            detail::jg_json_string(out, name);
            out += ": ";
        };
        out += "{\"directed\": false, \"multigraph\": true, \"graph\": {\"ndim\": ";
        detail::jg_append_int(out, static_cast<std::int64_t>(g.ndim));
        out += ", \"spacing\": ";
        detail::jg_json_list(out, g.spacing, num);
        out += "},\n \"nodes\": [";
        for (std::size_t j = 0; j < g.nodes.size(); ++j)
        {
            const auto& n = g.nodes[j];
            out += j ? ",\n  {\"id\": " : "\n  {\"id\": ";
            detail::jg_append_int(out, n.id);
            field("image_coord");
            detail::jg_json_list(out, n.image_coord, integer);
            field("coord");
            detail::jg_json_list(out, n.coord, num);
            field("degree");
            detail::jg_append_int(out, n.degree);
            field("skeleton_id");
            detail::jg_append_int(out, n.skeleton_id);
            field("value");
            detail::jg_json_number(out, n.value);
            out += '}';
            detail::jg_flush(os, out, false);
        }
        out += "],\n \"links\": [";
        for (std::size_t i = 0; i < g.edges.size(); ++i)
        {
            const auto& e = g.edges[i];
            out += i ? ",\n  {\"source\": " : "\n  {\"source\": ";
            detail::jg_append_int(out, e.src);
            field("target");
            detail::jg_append_int(out, e.dst);
            field("key");
            detail::jg_append_int(out, static_cast<std::int64_t>(e.index));
            field("index");
            detail::jg_append_int(out, static_cast<std::int64_t>(e.index));
            field("skeleton_id");
            detail::jg_append_int(out, e.skeleton_id);
            field("branch_distance");
            detail::jg_json_number(out, e.branch_distance);
            field("branch_type");
            detail::jg_append_int(out, e.branch_type);
            field("mean_pixel_value");
            detail::jg_json_number(out, e.mean_pixel_value);
            field("stdev_pixel_value");
            detail::jg_json_number(out, e.stdev_pixel_value);
            field("euclidean_distance");
            detail::jg_json_number(out, e.euclidean_distance);
            field("path");
            detail::jg_json_list(out, e.path, integer);
            field("path_coordinates");
            detail::jg_json_int_rows(out, e.path_coordinates);
            out += '}';
            detail::jg_flush(os, out, false);
        }
        out += "]}\n";
        detail::jg_flush(os, out, true);
        if (!os)
        {
            throw std::runtime_error("xskan::write_json: writing the junction graph failed");
        }
    }
}  // namespace xskan

#endif
