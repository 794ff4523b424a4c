/**
 * @file detail/skeleton_main_branch.hpp
 * @brief Longest shortest path ("main branch") of every skeleton in the
 *        junction graph of a branch table.
 */
#ifndef XSKAN_DETAIL_SKELETON_MAIN_BRANCH_HPP
#define XSKAN_DETAIL_SKELETON_MAIN_BRANCH_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <stdexcept>
#include <utility>
#include <vector>

namespace xskan
{
    namespace detail
    {
        /// Simple undirected weighted graph in CSR form (compact node ids), each edge carrying a row index.
        struct junction_adjacency
        {
            std::vector<std::int64_t> indptr;
            std::vector<std::int64_t> nbr;
            std::vector<double> w;
            std::vector<std::int64_t> row;
        };

        /// Dijkstra with reusable buffers; touches only the nodes it reaches.
        class dijkstra_runner
        {
        public:
            explicit dijkstra_runner(std::size_t n)
                : m_dist(n, std::numeric_limits<double>::infinity()), m_pred_row(n, -1), m_pred(n, -1)
            {
            }

            /// Distances from s; returns the reached nodes in settle order.
            const std::vector<std::int64_t>& run(const junction_adjacency& g, std::int64_t s)
            {
                for (std::int64_t u : m_reached)
                {
                    m_dist[static_cast<std::size_t>(u)] = std::numeric_limits<double>::infinity();
                    m_pred[static_cast<std::size_t>(u)] = -1;
                    m_pred_row[static_cast<std::size_t>(u)] = -1;
                }
                m_reached.clear();
                using item = std::pair<double, std::int64_t>;
                std::priority_queue<item, std::vector<item>, std::greater<item>> heap;
                m_dist[static_cast<std::size_t>(s)] = 0.0;
                heap.push({0.0, s});
                while (!heap.empty())
                {
                    const auto [d, u] = heap.top();
                    heap.pop();
                    if (d > m_dist[static_cast<std::size_t>(u)])
                    {
                        continue;
                    }
                    m_reached.push_back(u);
                    for (std::int64_t p = g.indptr[static_cast<std::size_t>(u)];
                         p < g.indptr[static_cast<std::size_t>(u) + 1]; ++p)
                    {
                        const double wt = g.w[static_cast<std::size_t>(p)];
                        if (!(wt >= 0.0) || std::isinf(wt))
                        {
                            continue;  // NaN / negative / infinite branch lengths are not traversable
                        }
                        const std::int64_t v = g.nbr[static_cast<std::size_t>(p)];
                        const double nd = d + wt;
                        if (nd < m_dist[static_cast<std::size_t>(v)])
                        {
                            m_dist[static_cast<std::size_t>(v)] = nd;
                            m_pred[static_cast<std::size_t>(v)] = u;
                            m_pred_row[static_cast<std::size_t>(v)] = g.row[static_cast<std::size_t>(p)];
                            heap.push({nd, v});
                        }
                    }
                }
                return m_reached;
            }

            double dist(std::int64_t u) const { return m_dist[static_cast<std::size_t>(u)]; }
            std::int64_t pred(std::int64_t u) const { return m_pred[static_cast<std::size_t>(u)]; }
            std::int64_t pred_row(std::int64_t u) const { return m_pred_row[static_cast<std::size_t>(u)]; }

        private:
            std::vector<double> m_dist;
            std::vector<std::int64_t> m_pred_row;
            std::vector<std::int64_t> m_pred;
            std::vector<std::int64_t> m_reached;
        };

        /**
         * Main-branch flags of a branch table (rows = branches src -> dst with
         * length dist). For every connected component of the junction graph
         * (nodes = branch end nodes, one edge per branch; parallel branches:
         * the shortest one is used, ties -> lowest row; self-loops ignored) the
         * rows on a shortest path between a pair of nodes at maximal
         * distance are flagged.
         *
         * Algorithm: trees (the common case) by the double sweep (Dijkstra from
         * the lowest-id node, then from the farthest node found; exact on
         * trees, O(n log n)); components with cycles by the exact
         * "bounding diameters" eccentricity pruning of Takes & Kosters (2011),
         * alternating the candidates of largest upper and smallest lower bound
         * (few Dijkstra runs in practice, all-pairs in the worst case).
         * Ties: the farthest node with the smallest id; within equal-length
         * shortest paths, the first relaxation found by Dijkstra.
         */
        inline std::vector<std::uint8_t> main_branches(const std::vector<std::int64_t>& src,
                                                       const std::vector<std::int64_t>& dst,
                                                       const std::vector<double>& dist)
        {
            const std::size_t P = src.size();
            std::vector<std::uint8_t> is_main(P, 0);
            if (P == 0)
            {
                return is_main;
            }
            std::vector<std::int64_t> nodes;
            nodes.reserve(2 * P);
            nodes.insert(nodes.end(), src.begin(), src.end());
            nodes.insert(nodes.end(), dst.begin(), dst.end());
            std::sort(nodes.begin(), nodes.end());
            nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
            const std::size_t n = nodes.size();
            auto compact = [&](std::int64_t id) {
                return static_cast<std::int64_t>(std::lower_bound(nodes.begin(), nodes.end(), id) - nodes.begin());
            };
            struct e_t
            {
                std::int64_t a, b;
                double w;
                std::int64_t row;
            };
            std::vector<e_t> edges;
            edges.reserve(P);
            for (std::size_t r = 0; r < P; ++r)
            {
                if (src[r] == dst[r])
                {
                    continue;
                }
                std::int64_t a = compact(src[r]), b = compact(dst[r]);
                if (a > b)
                {
                    std::swap(a, b);
                }
                edges.push_back({a, b, dist[r], static_cast<std::int64_t>(r)});
            }
            auto wkey = [](double w) { return (w >= 0.0) ? w : std::numeric_limits<double>::infinity(); };
            std::sort(edges.begin(), edges.end(), [&](const e_t& x, const e_t& y) {
                if (x.a != y.a) return x.a < y.a;
                if (x.b != y.b) return x.b < y.b;
                const double wx = wkey(x.w), wy = wkey(y.w);
                if (wx != wy) return wx < wy;
                return x.row < y.row;
            });
            // keep the first (shortest) edge of every pair
            std::size_t m = 0;
            for (std::size_t k = 0; k < edges.size(); ++k)
            {
                if (m == 0 || edges[m - 1].a != edges[k].a || edges[m - 1].b != edges[k].b)
                {
                    edges[m++] = edges[k];
                }
            }
            edges.resize(m);
            junction_adjacency g;
            g.indptr.assign(n + 1, 0);
            for (const auto& e : edges)
            {
                ++g.indptr[static_cast<std::size_t>(e.a) + 1];
                ++g.indptr[static_cast<std::size_t>(e.b) + 1];
            }
            for (std::size_t i = 0; i < n; ++i)
            {
                g.indptr[i + 1] += g.indptr[i];
            }
            g.nbr.resize(2 * m);
            g.w.resize(2 * m);
            g.row.resize(2 * m);
            {
                std::vector<std::int64_t> fill(g.indptr.begin(), g.indptr.end() - 1);
                // edges are sorted by (a, b): rows come out sorted by neighbour id for a; b's side also ascending in a
                for (const auto& e : edges)
                {
                    auto pa = static_cast<std::size_t>(fill[static_cast<std::size_t>(e.a)]++);
                    g.nbr[pa] = e.b;
                    g.w[pa] = e.w;
                    g.row[pa] = e.row;
                    auto pb = static_cast<std::size_t>(fill[static_cast<std::size_t>(e.b)]++);
                    g.nbr[pb] = e.a;
                    g.w[pb] = e.w;
                    g.row[pb] = e.row;
                }
            }

            dijkstra_runner dj(n);
            std::vector<std::uint8_t> done(n, 0);
            std::vector<std::int64_t> comp;
            std::vector<double> lower(n, 0.0), upper(n, std::numeric_limits<double>::infinity());
            auto mark_path = [&](std::int64_t target) {
                for (std::int64_t v = target; dj.pred(v) >= 0; v = dj.pred(v))
                {
                    is_main[static_cast<std::size_t>(dj.pred_row(v))] = 1;
                }
            };
            auto farthest = [&](const std::vector<std::int64_t>& reached, double& ecc) {
                std::int64_t far = reached.front();
                ecc = 0.0;
                for (std::int64_t u : reached)
                {
                    const double d = dj.dist(u);
                    if (d > ecc || (d == ecc && u < far))
                    {
                        ecc = d;
                        far = u;
                    }
                }
                return far;
            };
            for (std::size_t s = 0; s < n; ++s)
            {
                if (done[s])
                {
                    continue;
                }
                const auto& reached0 = dj.run(g, static_cast<std::int64_t>(s));
                comp.assign(reached0.begin(), reached0.end());
                std::size_t comp_edges2 = 0;
                for (std::int64_t u : comp)
                {
                    done[static_cast<std::size_t>(u)] = 1;
                    comp_edges2 += static_cast<std::size_t>(g.indptr[static_cast<std::size_t>(u) + 1] -
                                                            g.indptr[static_cast<std::size_t>(u)]);
                }
                if (comp.size() < 2)
                {
                    continue;
                }
                std::sort(comp.begin(), comp.end());
                const bool is_tree = comp_edges2 / 2 + 1 == comp.size();
                if (is_tree)
                {
                    double ecc = 0.0;
                    const std::int64_t b = farthest(reached0, ecc);
                    const auto& reached1 = dj.run(g, b);
                    const std::int64_t c = farthest(reached1, ecc);
                    mark_path(c);
                    continue;
                }
                // Bounding diameters (Takes & Kosters 2011).
                for (std::int64_t u : comp)
                {
                    lower[static_cast<std::size_t>(u)] = 0.0;
                    upper[static_cast<std::size_t>(u)] = std::numeric_limits<double>::infinity();
                }
                std::vector<std::int64_t> cand = comp;
                double best = -1.0;
                std::int64_t best_src = -1;
                bool pick_high = true;
                while (!cand.empty())
                {
                    std::size_t pick = 0;
                    for (std::size_t k = 1; k < cand.size(); ++k)
                    {
                        const auto u = static_cast<std::size_t>(cand[k]);
                        const auto q = static_cast<std::size_t>(cand[pick]);
                        if (pick_high ? (upper[u] > upper[q]) : (lower[u] < lower[q]))
                        {
                            pick = k;
                        }
                    }
                    pick_high = !pick_high;
                    const std::int64_t v = cand[pick];
                    const auto& reached = dj.run(g, v);
                    double ecc = 0.0;
                    farthest(reached, ecc);
                    if (ecc > best)
                    {
                        best = ecc;
                        best_src = v;
                    }
                    std::size_t w = 0;
                    for (std::int64_t u : cand)
                    {
                        const auto uu = static_cast<std::size_t>(u);
                        const double du = dj.dist(u);
                        lower[uu] = std::max(lower[uu], std::max(du, ecc - du));
                        upper[uu] = std::min(upper[uu], ecc + du);
                        if (u != v && upper[uu] > best)
                        {
                            cand[w++] = u;
                        }
                    }
                    cand.resize(w);
                }
                const auto& reached = dj.run(g, best_src);
                double ecc = 0.0;
                const std::int64_t far = farthest(reached, ecc);
                mark_path(far);
            }
            return is_main;
        }
    }  // namespace detail
}  // namespace xskan

#endif
