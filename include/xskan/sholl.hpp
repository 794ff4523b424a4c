/**
 * @file sholl.hpp
 * @brief Sholl analysis of a skeleton: how many branches cross concentric
 *        shells around a centre (by default the skeleton's geodesic centre).
 */
#ifndef XSKAN_SHOLL_HPP
#define XSKAN_SHOLL_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <queue>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "detail/parallel.hpp"
#include "detail/skeleton_graph.hpp"
#include "pixel_graph.hpp"
#include "skeleton.hpp"

namespace xskan
{
    /**
     * @brief How the Sholl shell radii are chosen (skan's `shells` argument).
     *
     * - automatic(): radii 0, s, 2s, ... up to the farthest skeleton pixel,
     *   with s = the norm of the spacing (the diagonal of a pixel);
     * - count(n): n equal steps from 0 to the farthest skeleton pixel (n + 1 radii);
     * - radii(r): the given radii (real-world units), used as they are.
     */
    class sholl_shells
    {
    public:
        /// Which of the three forms this is.
        enum class kind
        {
            automatic,
            count,
            radii
        };

        /// Radii every norm(spacing) (skan's `shells=None`).
        static sholl_shells automatic() noexcept { return sholl_shells(); }

        /**
         * @brief `n` equal steps from 0 to the largest centre-to-pixel distance
         *        (skan's `shells=n`, an int).
         * @throws std::invalid_argument if n == 0.
         */
        static sholl_shells count(std::size_t n)
        {
            if (n == 0)
            {
                throw std::invalid_argument("xskan::sholl_shells::count: the number of shells must be >= 1, got 0");
            }
            sholl_shells s;
            s.m_kind = kind::count;
            s.m_count = n;
            return s;
        }

        /**
         * @brief Explicit radii in real-world units (skan's array `shells`).
         * @throws std::invalid_argument if `r` is empty, contains NaN, infinite or
         *         negative values, or is not non-decreasing.
         */
        static sholl_shells radii(std::vector<double> r)
        {
            if (r.empty())
            {
                throw std::invalid_argument("xskan::sholl_shells::radii: at least one radius is required");
            }
            for (std::size_t i = 0; i < r.size(); ++i)
            {
                if (!std::isfinite(r[i]) || r[i] < 0.0)
                {
                    std::ostringstream os;
                    os << "xskan::sholl_shells::radii: radius " << i << " is " << r[i]
                       << "; radii must be finite and >= 0";
                    throw std::invalid_argument(os.str());
                }
                if (i > 0 && r[i] < r[i - 1])
                {
                    std::ostringstream os;
                    os << "xskan::sholl_shells::radii: radii must be non-decreasing, but radius " << i << " (" << r[i]
                       << ") is smaller than radius " << i - 1 << " (" << r[i - 1] << ")";
                    throw std::invalid_argument(os.str());
                }
            }
            sholl_shells s;
            s.m_kind = kind::radii;
            s.m_radii = std::move(r);
            return s;
        }

        /// The form of the shells.
        kind type() const noexcept { return m_kind; }
        /// The number of steps (kind::count only, else 0).
        std::size_t shell_count() const noexcept { return m_count; }
        /// The explicit radii (kind::radii only, else empty).
        const std::vector<double>& explicit_radii() const noexcept { return m_radii; }

    private:
        sholl_shells() = default;
        kind m_kind = kind::automatic;
        std::size_t m_count = 0;
        std::vector<double> m_radii;
    };

    /// Result of sholl_analysis (skan's `(center, shell_radii, intersection_counts)`).
    struct sholl_result
    {
        std::vector<double> center;         ///< scaled coordinates of the centre (one per axis)
        std::vector<double> radii;          ///< shell radii, real-world units
        std::vector<std::int64_t> counts;   ///< crossings per shell (same length as radii)
    };

    /// Result of central_pixel: the most central node and every node's total distance.
    struct central_pixel_result
    {
        std::size_t index = 0;                 ///< node index in the graph
        std::vector<double> total_distances;   ///< row sums of the all-pairs distances (unreachable = DBL_MAX)
    };

    namespace detail
    {
        /// x * y rounded once, never fused into a neighbouring addition (FMA contraction).
        inline double sholl_unfused_mul(double x, double y) noexcept
        {
            volatile double p = x * y;
            return p;
        }

        /// Euclidean distance sqrt(((0 + d0²) + d1²) + ...), like numpy/scipy on a short axis.
        inline double sholl_distance(const double* a, const double* b, std::size_t ndim) noexcept
        {
            double s = 0.0;
            for (std::size_t k = 0; k < ndim; ++k)
            {
                const double d = std::fabs(b[k] - a[k]);
                s += sholl_unfused_mul(d, d);
            }
            return std::sqrt(s);
        }

        /// Single-source Dijkstra on a non-negative CSR graph, treated as undirected (it is symmetric).
        inline void sholl_dijkstra(const csr_graph& g, std::size_t source, std::vector<double>& dist,
                                   std::vector<std::pair<double, std::size_t>>& heap_storage)
        {
            const std::size_t n = g.n_nodes();
            dist.assign(n, std::numeric_limits<double>::infinity());
            using item = std::pair<double, std::size_t>;
            heap_storage.clear();
            std::priority_queue<item, std::vector<item>, std::greater<item>> heap(std::greater<item>(),
                                                                                 std::move(heap_storage));
            dist[source] = 0.0;
            heap.push({0.0, source});
            while (!heap.empty())
            {
                const auto [d, u] = heap.top();
                heap.pop();
                if (d > dist[u])
                {
                    continue;
                }
                for (auto k = g.indptr[u]; k < g.indptr[u + 1]; ++k)
                {
                    const auto v = static_cast<std::size_t>(g.indices[static_cast<std::size_t>(k)]);
                    const double nd = d + g.data[static_cast<std::size_t>(k)];
                    if (nd < dist[v])
                    {
                        dist[v] = nd;
                        heap.push({nd, v});
                    }
                }
            }
        }
    }  // namespace detail

    /**
     * @brief The node with the highest closeness centrality of a weighted graph.
     *
     * For every node: shortest-path distances to all nodes (Dijkstra, undirected),
     * unreachable distances replaced by DBL_MAX (`np.nan_to_num(inf)`), summed
     * with numpy's pairwise summation in node order (so two unreachable nodes
     * give inf, one gives DBL_MAX). Nodes whose sum is 0 are ignored; the first
     * node with the smallest sum wins. For a disconnected graph this therefore
     * picks, among the nodes with the fewest unreachable nodes, the lowest index.
     *
     * @param graph symmetric CSR graph with non-negative weights.
     * @param n_threads 0 = hardware concurrency; threads start only for > 256 nodes.
     * @return the index and the per-node totals. If every total is 0 (no edges),
     *         index 0 (skimage raises on an empty argmin there).
     * @throws std::invalid_argument for a graph without nodes.
     * Complexity: O(n (n + m) log n) time, O(n + m) memory per thread.
     * Matches: `skimage.graph.central_pixel(graph)` (0.19.3) bit for bit, with
     * scipy's Dijkstra (whose distances do not depend on the visiting order).
     */
    inline central_pixel_result central_pixel(const csr_graph& graph, std::size_t n_threads = 0)
    {
        const std::size_t n = graph.n_nodes();
        if (n == 0)
        {
            throw std::invalid_argument("xskan::central_pixel: the graph has no nodes");
        }
        central_pixel_result r;
        r.total_distances.assign(n, 0.0);
        const std::size_t threads = n > 256 ? detail::resolve_threads(n_threads, n / 128) : 1;
        detail::parallel_for(threads, threads, [&](std::size_t t) {
            const std::size_t begin = n * t / threads;
            const std::size_t end = n * (t + 1) / threads;
            std::vector<double> dist;
            std::vector<std::pair<double, std::size_t>> heap_storage;
            for (std::size_t s = begin; s < end; ++s)
            {
                detail::sholl_dijkstra(graph, s, dist, heap_storage);
                for (auto& d : dist)
                {
                    if (std::isinf(d))
                    {
                        d = std::numeric_limits<double>::max();
                    }
                }
                r.total_distances[s] = detail::numpy_pairwise_sum(dist.data(), n);
            }
        });
        bool found = false;
        double best = 0.0;
        for (std::size_t i = 0; i < n; ++i)
        {
            const double v = r.total_distances[i];
            if (v != 0.0 && (!found || v < best))
            {
                found = true;
                best = v;
                r.index = i;
            }
        }
        return r;
    }

    namespace detail
    {
        /// skan's `_simplify_graph`: the junction graph of the paths (nodes = sorted
        /// path end nodes, parallel branches summed, symmetric) and its node ids.
        inline csr_graph sholl_junction_graph(const skeleton& skel, std::vector<std::int64_t>& nodes)
        {
            const auto& indptr = skel.paths_indptr();
            const auto& indices = skel.paths_indices();
            const auto& lengths = skel.path_lengths();
            const std::size_t P = skel.n_paths();
            std::vector<std::int64_t> src(P), dst(P);
            nodes.clear();
            for (std::size_t i = 0; i < P; ++i)
            {
                src[i] = indices[static_cast<std::size_t>(indptr[i])];
                dst[i] = indices[static_cast<std::size_t>(indptr[i + 1]) - 1];
                nodes.push_back(src[i]);
                nodes.push_back(dst[i]);
            }
            std::sort(nodes.begin(), nodes.end());
            nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
            const std::size_t n = nodes.size();
            auto relabel = [&](std::int64_t id) {
                return static_cast<std::size_t>(std::lower_bound(nodes.begin(), nodes.end(), id) - nodes.begin());
            };
            // directed COO (src -> dst), duplicates summed in row order (scipy's coo -> csr)
            std::vector<std::vector<std::pair<std::size_t, double>>> dir(n);
            for (std::size_t i = 0; i < P; ++i)
            {
                const std::size_t u = relabel(src[i]);
                const std::size_t v = relabel(dst[i]);
                bool merged = false;
                for (auto& e : dir[u])
                {
                    if (e.first == v)
                    {
                        e.second += lengths[i];
                        merged = true;
                        break;
                    }
                }
                if (!merged)
                {
                    dir[u].push_back({v, lengths[i]});
                }
            }
            // dir + dir.T (src <= dst, so off-diagonal entries never overlap; the diagonal doubles)
            std::vector<std::vector<std::pair<std::size_t, double>>> und(n);
            for (std::size_t u = 0; u < n; ++u)
            {
                for (const auto& e : dir[u])
                {
                    if (e.first == u)
                    {
                        und[u].push_back({u, e.second + e.second});
                    }
                    else
                    {
                        und[u].push_back(e);
                        und[e.first].push_back({u, e.second});
                    }
                }
            }
            csr_graph g;
            g.indptr.assign(n + 1, 0);
            for (std::size_t u = 0; u < n; ++u)
            {
                std::sort(und[u].begin(), und[u].end());
                g.indptr[u + 1] = g.indptr[u] + static_cast<std::int64_t>(und[u].size());
                for (const auto& e : und[u])
                {
                    g.indices.push_back(static_cast<std::int64_t>(e.first));
                    g.data.push_back(e.second);
                }
            }
            return g;
        }

        inline std::vector<double> sholl_scaled_node(const skeleton& skel, std::size_t node)
        {
            const std::size_t D = skel.ndim();
            std::vector<double> c(D);
            for (std::size_t a = 0; a < D; ++a)
            {
                c[a] = sholl_unfused_mul(static_cast<double>(skel.coordinates()(node, a)), skel.spacing()[a]);
            }
            return c;
        }
    }  // namespace detail

    /**
     * @brief The node id of the skeleton's geodesic centre, as skan picks it.
     *
     * Without any node of (post-MST) degree > 2, central_pixel() of the whole
     * pixel graph; otherwise central_pixel() of the junction graph whose nodes
     * are the path end nodes (sorted by id) and whose edge weights are the branch
     * distances, parallel branches between the same two nodes being summed (as
     * scipy's sparse constructor does). On a disconnected skeleton this
     * degenerates as described in central_pixel().
     *
     * @throws std::invalid_argument for an empty skeleton.
     * Complexity: O(J (J + B) log J) for J junction-graph nodes and B branches
     * (O(N² log N) on the N pixels of a skeleton without junctions).
     * Matches: skan's `_fast_graph_center_idx` (v0.13.1).
     */
    inline std::size_t geodesic_center(const skeleton& skel)
    {
        if (skel.n_nodes() == 0)
        {
            throw std::invalid_argument("xskan::geodesic_center: the skeleton has no pixels");
        }
        const auto& deg = skel.degrees();
        const bool has_junction = std::any_of(deg.begin(), deg.end(), [](std::int32_t d) { return d > 2; });
        if (!has_junction)
        {
            return central_pixel(skel.graph()).index;
        }
        std::vector<std::int64_t> nodes;
        const csr_graph g = detail::sholl_junction_graph(skel, nodes);
        return static_cast<std::size_t>(nodes[central_pixel(g).index]);
    }

    /**
     * @brief Sholl analysis: number of skeleton edges crossing each of a set of
     *        concentric shells (spheres in 3-D) around a centre.
     *
     * With scaled coordinates x = pixel index × spacing and d(u) = |x_u − c|,
     * every edge (u, v) of the post-MST pixel graph with bin(u) != bin(v), where
     * bin(u) = number of radii <= d(u), counts once at shell min(bin(u), bin(v)):
     * `counts[k]` is the number of edges with min(d) < radii[k] <= max(d); an edge
     * crossing several shells counts only for the innermost.
     *
     * Shells (see sholl_shells): automatic → `arange(0, R + eps32, norm(spacing))`,
     * count(n) → `arange(0, R + eps32, R / n)`, with R the largest distance from
     * the centre to a skeleton pixel and eps32 = 2^-23 (numpy's arange values
     * i·step and length ceil((R + eps32) / step)); radii → as given.
     *
     * @param skel the skeleton.
     * @param center scaled coordinates of the centre (one finite value per axis),
     *        or nullopt for the geodesic centre (geodesic_center(), scaled).
     * @param shells the shell radii.
     * @return centre, radii, counts.
     * @throws std::invalid_argument for an empty skeleton, a centre of the wrong
     *         length or with non-finite values, or count(n) when every pixel is at
     *         the centre (zero step); std::length_error if more than 10^8 shells
     *         would be generated.
     * Complexity: O(N + E + S log S) beyond the centre search (geodesic_center()).
     * Matches: `skan.csr.sholl_analysis(skeleton, center, shells)` (v0.13.1),
     * bit-exact distances (no FMA). Deliberate differences: a single automatic
     * radius (every pixel at the centre) returns one shell with count 0 where skan
     * fails computing `min(diff(radii))`; no warning is emitted when shells are
     * closer than a pixel diagonal; decreasing explicit radii are rejected
     * (numpy's digitize would accept them).
     * Reference: Sholl, D. A. (1953), Dendritic organization in the neurons of the
     * visual and motor cortices of the cat, J. Anat. 87(4):387–406.
     */
    inline sholl_result sholl_analysis(const skeleton& skel, std::optional<std::vector<double>> center = std::nullopt,
                                       sholl_shells shells = sholl_shells::automatic())
    {
        const std::size_t N = skel.n_nodes();
        const std::size_t D = skel.ndim();
        if (N == 0)
        {
            throw std::invalid_argument("xskan::sholl_analysis: the skeleton has no pixels");
        }
        sholl_result r;
        if (center)
        {
            if (center->size() != D)
            {
                throw std::invalid_argument("xskan::sholl_analysis: the centre has " + std::to_string(center->size()) +
                                            " coordinates but the skeleton is " + std::to_string(D) +
                                            "-D (give one scaled coordinate per axis)");
            }
            for (double v : *center)
            {
                if (!std::isfinite(v))
                {
                    throw std::invalid_argument("xskan::sholl_analysis: the centre coordinates must be finite");
                }
            }
            r.center = *center;
        }
        else
        {
            r.center = detail::sholl_scaled_node(skel, geodesic_center(skel));
        }

        // distance of every node to the centre
        const auto& spacing = skel.spacing();
        const auto& coords = skel.coordinates();
        std::vector<double> dist(N);
        std::vector<double> x(D);
        double max_dist = 0.0;
        for (std::size_t i = 0; i < N; ++i)
        {
            for (std::size_t a = 0; a < D; ++a)
            {
                x[a] = detail::sholl_unfused_mul(static_cast<double>(coords(i, a)), spacing[a]);
            }
            dist[i] = detail::sholl_distance(x.data(), r.center.data(), D);
            max_dist = i == 0 ? dist[i] : std::max(max_dist, dist[i]);
        }

        // radii
        if (shells.type() == sholl_shells::kind::radii)
        {
            r.radii = shells.explicit_radii();
        }
        else
        {
            double step = 0.0;
            if (shells.type() == sholl_shells::kind::automatic)
            {
                double sq = 0.0;  // np.linalg.norm: sequential dot product, then sqrt
                for (double s : spacing)
                {
                    sq += detail::sholl_unfused_mul(s, s);
                }
                step = std::sqrt(sq);
            }
            else
            {
                step = max_dist / static_cast<double>(shells.shell_count());
            }
            if (!(step > 0.0) || !std::isfinite(step))
            {
                throw std::invalid_argument(
                    "xskan::sholl_analysis: cannot derive shells from a count when every skeleton pixel is at the "
                    "centre (the step would be 0); give explicit radii");
            }
            const double stop = max_dist + static_cast<double>(std::numeric_limits<float>::epsilon());
            const double len = std::ceil(stop / step);
            if (!(len <= 1e8))
            {
                throw std::length_error("xskan::sholl_analysis: more than 1e8 shells would be generated");
            }
            const auto n_radii = static_cast<std::size_t>(len);
            r.radii.resize(n_radii);
            for (std::size_t i = 0; i < n_radii; ++i)
            {
                r.radii[i] = static_cast<double>(i) * step;
            }
        }

        // bins: number of radii <= d (np.digitize with increasing bins)
        std::vector<std::size_t> bin(N);
        for (std::size_t i = 0; i < N; ++i)
        {
            bin[i] = static_cast<std::size_t>(std::upper_bound(r.radii.begin(), r.radii.end(), dist[i]) - r.radii.begin());
        }
        std::vector<std::int64_t> twice(r.radii.size(), 0);
        const auto& g = skel.graph();
        for (std::size_t u = 0; u < N; ++u)
        {
            for (auto k = g.indptr[u]; k < g.indptr[u + 1]; ++k)
            {
                const auto v = static_cast<std::size_t>(g.indices[static_cast<std::size_t>(k)]);
                if (bin[u] != bin[v])
                {
                    ++twice[std::min(bin[u], bin[v])];
                }
            }
        }
        r.counts.resize(twice.size());
        for (std::size_t k = 0; k < twice.size(); ++k)
        {
            r.counts[k] = twice[k] / 2;  // both directions of every undirected edge are stored
        }
        return r;
    }
}  // namespace xskan

#endif
