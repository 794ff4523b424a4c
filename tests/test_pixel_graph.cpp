// Tests of xskan::skeleton_to_csgraph (pixel_graph.hpp): skan goldens,
// hand-computed graphs, a brute-force neighbour cross-check in 1..4 D,
// MST minimality, and bad input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include <catch2/catch.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xview.hpp>
#include <xtensor/xmanipulation.hpp>

#include <xskan/pixel_graph.hpp>

#include "golden.hpp"
#include "skeleton_cases.hpp"

using xskan::junction_handling;
using xskan::skeleton_options;

namespace
{
    /// Brute force: all pairs of non-zero pixels at Chebyshev distance 1.
    template <class T>
    xskan::csr_graph brute_force_graph(const xt::xarray<T>& img, const std::vector<double>& spacing)
    {
        const std::size_t nd = img.dimension();
        std::vector<std::vector<long>> coords;
        std::vector<std::size_t> idx(nd, 0);
        for (std::size_t flat = 0; flat < img.size(); ++flat)
        {
            std::size_t rem = flat;
            std::vector<long> c(nd);
            for (std::size_t a = nd; a-- > 0;)
            {
                c[a] = static_cast<long>(rem % img.shape()[a]);
                rem /= img.shape()[a];
            }
            if (img.data()[flat] != T(0))
            {
                coords.push_back(c);
            }
        }
        xskan::csr_graph g;
        g.indptr.push_back(0);
        for (std::size_t i = 0; i < coords.size(); ++i)
        {
            for (std::size_t j = 0; j < coords.size(); ++j)
            {
                if (i == j) continue;
                bool adj = true;
                double sq = 0.0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    const long d = coords[i][a] - coords[j][a];
                    if (d < -1 || d > 1) adj = false;
                    const double w = static_cast<double>(d) * spacing[a];
                    sq += w * w;
                }
                if (adj)
                {
                    g.indices.push_back(static_cast<std::int64_t>(j));
                    g.data.push_back(std::sqrt(sq));
                }
            }
            g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));
        }
        return g;
    }

    void require_same_graph(const xskan::csr_graph& a, const xskan::csr_graph& b)
    {
        REQUIRE(a.indptr == b.indptr);
        REQUIRE(a.indices == b.indices);
        REQUIRE(a.data.size() == b.data.size());
        for (std::size_t k = 0; k < a.data.size(); ++k)
        {
            REQUIRE(a.data[k] == Approx(b.data[k]).epsilon(1e-15));
        }
    }

    /// Total weight of a minimum spanning forest (Prim, O(n^2)) of the junction
    /// subgraph (nodes with degree >= 3 in the raw graph).
    double junction_msf_weight(const xskan::csr_graph& raw)
    {
        const std::size_t n = raw.n_nodes();
        std::vector<int> junction(n, 0);
        for (std::size_t i = 0; i < n; ++i) junction[i] = (raw.indptr[i + 1] - raw.indptr[i]) >= 3;
        std::vector<double> best(n, std::numeric_limits<double>::infinity());
        std::vector<int> in_tree(n, 0);
        double total = 0.0;
        for (std::size_t s = 0; s < n; ++s)
        {
            if (!junction[s] || in_tree[s]) continue;
            best[s] = 0.0;
            while (true)
            {
                std::size_t u = n;
                for (std::size_t i = 0; i < n; ++i)
                {
                    if (junction[i] && !in_tree[i] && std::isfinite(best[i]) && (u == n || best[i] < best[u])) u = i;
                }
                if (u == n) break;
                in_tree[u] = 1;
                total += best[u];
                for (auto p = raw.indptr[u]; p < raw.indptr[u + 1]; ++p)
                {
                    const auto v = static_cast<std::size_t>(raw.indices[static_cast<std::size_t>(p)]);
                    if (junction[v] && !in_tree[v]) best[v] = std::min(best[v], raw.data[static_cast<std::size_t>(p)]);
                }
            }
        }
        return total;
    }
}  // namespace

TEST_CASE("pixel graph equals skan's Skeleton.graph, coordinates and degrees on every golden case",
          "[golden][2d][3d][nd]")
{
    XSKAN_REQUIRE_FILE_OR_SKIP(xskan_test::golden("F_skan/index.csv"));
    const auto cases = xskan_test::skan_cases();
    REQUIRE(cases.size() >= 38);
    std::size_t checked = 0;
    for (const auto& c : cases)
    {
        if (!c.arrays_saved) continue;  // arrays identical to another case or not stored
        SECTION(c.name)
        {
            xskan_test::with_case_input(c, [&](const auto& img) {
                skeleton_options opts;
                opts.spacing = c.spacing;
                opts.value_is_height = c.value_is_height;
                const auto pg = xskan::skeleton_to_csgraph(img, opts);
                const auto coords = xskan_test::load_npy<std::int64_t>(c.coordinates());
                const auto degrees = xskan_test::load_npy<std::int64_t>(c.expected("degrees.npy"));
                REQUIRE(std::equal(degrees.begin(), degrees.end(), pg.degrees.begin(), pg.degrees.end()));
                REQUIRE(pg.coordinates.shape()[0] == coords.shape()[0]);
                REQUIRE(pg.coordinates.shape()[1] == coords.shape()[1]);
                REQUIRE(std::equal(coords.begin(), coords.end(), pg.coordinates.begin()));
                if (!xskan_test::exists(c.expected("graph_indptr.npy")))
                {
                    return;  // large cases: only coordinates/degrees/paths were stored
                }
                const auto indptr = xskan_test::load_npy<std::int64_t>(c.expected("graph_indptr.npy"));
                const auto indices = xskan_test::load_npy<std::int64_t>(c.expected("graph_indices.npy"));
                const auto data = xskan_test::load_npy<double>(c.expected("graph_data.npy"));
                REQUIRE(pg.graph.indptr == std::vector<std::int64_t>(indptr.begin(), indptr.end()));
                REQUIRE(pg.graph.indices == std::vector<std::int64_t>(indices.begin(), indices.end()));
                REQUIRE(pg.graph.data.size() == data.size());
                for (std::size_t k = 0; k < data.size(); ++k)
                {
                    REQUIRE(pg.graph.data[k] == data(k));  // bit-exact
                }
                REQUIRE(pg.values.size() == pg.coordinates.shape()[0]);
            });
        }
        ++checked;
    }
    REQUIRE(checked >= 30);
}

TEST_CASE("2x2 block: raw graph and junction MST by hand", "[2d]")
{
    xt::xarray<bool> img = {{true, true}, {true, true}};
    const auto raw = xskan::skeleton_to_csgraph(img, {}, junction_handling::none);
    REQUIRE(raw.graph.indptr == std::vector<std::int64_t>{0, 3, 6, 9, 12});
    REQUIRE(raw.graph.indices == std::vector<std::int64_t>{1, 2, 3, 0, 2, 3, 0, 1, 3, 0, 1, 2});
    REQUIRE(raw.degrees == std::vector<std::int32_t>{3, 3, 3, 3});
    REQUIRE(raw.graph.data[2] == std::sqrt(2.0));
    // Kruskal in (weight, min id, max id) order keeps (0,1), (0,2), (1,3); (2,3) and the diagonals close cycles.
    const auto mst = xskan::skeleton_to_csgraph(img);
    REQUIRE(mst.graph.indptr == std::vector<std::int64_t>{0, 2, 4, 5, 6});
    REQUIRE(mst.graph.indices == std::vector<std::int64_t>{1, 2, 0, 3, 0, 1});
    REQUIRE(mst.graph.data == std::vector<double>{1, 1, 1, 1, 1, 1});
    REQUIRE(mst.degrees == std::vector<std::int32_t>{2, 2, 1, 1});
    REQUIRE(mst.values == std::vector<double>{1, 1, 1, 1});
}

TEST_CASE("anisotropic spacing, value_is_height and node values by hand", "[2d]")
{
    xt::xarray<double> img = {{1.0, 4.0, 0.0}, {0.0, 0.0, 2.5}};
    skeleton_options opts;
    opts.spacing = {2.0, 0.5};
    auto g = xskan::skeleton_to_csgraph(img, opts);
    REQUIRE(g.values == std::vector<double>{1.0, 4.0, 2.5});
    REQUIRE(g.graph.indptr == std::vector<std::int64_t>{0, 1, 3, 4});
    REQUIRE(g.graph.indices == std::vector<std::int64_t>{1, 0, 2, 1});
    REQUIRE(g.graph.data[0] == 0.5);
    REQUIRE(g.graph.data[2] == std::sqrt(4.0 + 0.25));
    opts.value_is_height = true;
    g = xskan::skeleton_to_csgraph(img, opts);
    REQUIRE(g.graph.data[0] == std::hypot(1.0 - 4.0, 0.5));
    REQUIRE(g.graph.data[1] == std::hypot(4.0 - 1.0, 0.5));
    REQUIRE(g.graph.data[2] == std::hypot(4.0 - 2.5, std::sqrt(4.25)));
    // float32: the value difference is computed in float, as numpy does
    xt::xarray<float> f = {{0.1f, 0.3f}};
    opts.spacing = {};
    auto gf = xskan::skeleton_to_csgraph(f, opts);
    REQUIRE(gf.values[0] == static_cast<double>(0.1f));
    REQUIRE(gf.graph.data[0] == std::hypot(static_cast<double>(0.1f - 0.3f), 1.0));
    // integers: their value; one spacing value applies to every axis
    xt::xarray<std::int16_t> s = {{0, -7}, {3, 0}};
    opts.spacing = {3.0};
    opts.value_is_height = false;
    auto gs = xskan::skeleton_to_csgraph(s, opts);
    REQUIRE(gs.values == std::vector<double>{-7.0, 3.0});
    REQUIRE(gs.graph.data == std::vector<double>{std::sqrt(18.0), std::sqrt(18.0)});
}

TEST_CASE("raw pixel graph equals a brute-force neighbour search in 1-4 D, skeleton touching borders", "[nd][2d][3d]")
{
    const std::vector<std::vector<std::size_t>> shapes = {{40}, {1, 30}, {30, 1}, {17, 23}, {9, 8, 7}, {5, 4, 6, 5}};
    std::uint32_t seed = 1;
    for (const auto& shape : shapes)
    {
        for (int rep = 0; rep < 3; ++rep)
        {
            auto img = xskan_test::random_walk_skeleton(shape, 3, 25, seed++);
            std::vector<double> spacing;
            for (std::size_t a = 0; a < shape.size(); ++a) spacing.push_back(0.5 + 0.75 * static_cast<double>(a));
            skeleton_options opts;
            opts.spacing = spacing;
            const auto g = xskan::skeleton_to_csgraph(img, opts, junction_handling::none);
            INFO("ndim " << shape.size() << " seed " << seed);
            require_same_graph(g.graph, brute_force_graph(img, spacing));
        }
    }
}

TEST_CASE("junction MST: a minimum spanning forest of the junction subgraph, other edges untouched", "[2d][3d]")
{
    std::uint32_t seed = 100;
    for (const auto& shape : std::vector<std::vector<std::size_t>>{{12, 12}, {6, 6, 6}})
    {
        for (int rep = 0; rep < 6; ++rep)
        {
            // thick random blobs: many junction clusters with equal-weight cycles
            auto img = xskan_test::random_walk_skeleton(shape, 6, 30, seed++);
            const auto raw = xskan::skeleton_to_csgraph(img, {}, junction_handling::none);
            const auto mst = xskan::skeleton_to_csgraph(img);
            const std::size_t n = raw.graph.n_nodes();
            std::map<std::pair<std::int64_t, std::int64_t>, double> kept;
            double jj_weight = 0.0;
            std::size_t jj_edges = 0;
            for (std::size_t i = 0; i < n; ++i)
            {
                for (auto p = mst.graph.indptr[i]; p < mst.graph.indptr[i + 1]; ++p)
                {
                    const auto j = mst.graph.indices[static_cast<std::size_t>(p)];
                    kept[{static_cast<std::int64_t>(i), j}] = mst.graph.data[static_cast<std::size_t>(p)];
                }
            }
            for (std::size_t i = 0; i < n; ++i)
            {
                for (auto p = raw.graph.indptr[i]; p < raw.graph.indptr[i + 1]; ++p)
                {
                    const auto j = raw.graph.indices[static_cast<std::size_t>(p)];
                    const bool both_junction = raw.degrees[i] >= 3 && raw.degrees[static_cast<std::size_t>(j)] >= 3;
                    const bool is_kept = kept.count({static_cast<std::int64_t>(i), j}) > 0;
                    // symmetric
                    REQUIRE(is_kept == (kept.count({j, static_cast<std::int64_t>(i)}) > 0));
                    if (!both_junction)
                    {
                        REQUIRE(is_kept);
                    }
                    else if (is_kept && static_cast<std::int64_t>(i) < j)
                    {
                        jj_weight += raw.graph.data[static_cast<std::size_t>(p)];
                        ++jj_edges;
                    }
                }
            }
            REQUIRE(jj_weight == Approx(junction_msf_weight(raw.graph)).epsilon(1e-12));
            // a forest: #edges = #junction nodes - #components (of the junction subgraph)
            std::vector<std::int64_t> comp(n, -1);
            std::size_t n_j = 0, n_comp = 0;
            for (std::size_t s = 0; s < n; ++s)
            {
                if (raw.degrees[s] < 3) continue;
                ++n_j;
                if (comp[s] >= 0) continue;
                std::vector<std::size_t> st{s};
                comp[s] = static_cast<std::int64_t>(n_comp);
                while (!st.empty())
                {
                    auto u = st.back();
                    st.pop_back();
                    for (auto p = raw.graph.indptr[u]; p < raw.graph.indptr[u + 1]; ++p)
                    {
                        const auto v = static_cast<std::size_t>(raw.graph.indices[static_cast<std::size_t>(p)]);
                        if (raw.degrees[v] >= 3 && comp[v] < 0)
                        {
                            comp[v] = static_cast<std::int64_t>(n_comp);
                            st.push_back(v);
                        }
                    }
                }
                ++n_comp;
            }
            REQUIRE(jj_edges == n_j - n_comp);
            REQUIRE(mst.degrees.size() == n);
        }
    }
}

TEST_CASE("views, transposes and lazy expressions give the same graph as their evaluated copy", "[2d][3d]")
{
    auto img = xskan_test::random_walk_skeleton({13, 11}, 3, 30, 7);
    auto t = xt::transpose(img);
    xt::xarray<std::uint8_t> t_copy = t;
    const auto a = xskan::skeleton_to_csgraph(t);
    const auto b = xskan::skeleton_to_csgraph(t_copy);
    require_same_graph(a.graph, b.graph);
    REQUIRE(a.coordinates == b.coordinates);
    auto v = xt::view(img, xt::range(1, 12, 2), xt::all());
    xt::xarray<std::uint8_t> v_copy = v;
    require_same_graph(xskan::skeleton_to_csgraph(v).graph, xskan::skeleton_to_csgraph(v_copy).graph);
    auto lazy = img * std::uint8_t(3);
    xt::xarray<std::uint8_t> lazy_copy = lazy;
    const auto c = xskan::skeleton_to_csgraph(lazy);
    REQUIRE(c.values == xskan::skeleton_to_csgraph(lazy_copy).values);
    REQUIRE(c.values.front() == 3.0);
}

TEST_CASE("bad and degenerate input", "[2d]")
{
    xt::xarray<bool> img = {{true, false}, {false, true}};
    skeleton_options opts;
    opts.spacing = {1.0, 2.0, 3.0};
    REQUIRE_THROWS_AS(xskan::skeleton_to_csgraph(img, opts), std::invalid_argument);
    REQUIRE_THROWS_WITH(xskan::skeleton_to_csgraph(img, opts), Catch::Contains("spacing has 3 values for a 2-D image"));
    for (double bad : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()})
    {
        opts.spacing = {1.0, bad};
        REQUIRE_THROWS_AS(xskan::skeleton_to_csgraph(img, opts), std::invalid_argument);
    }
    xt::xarray<double> scalar = 5.0;
    REQUIRE_THROWS_AS(xskan::skeleton_to_csgraph(scalar), std::invalid_argument);

    // empty images and images without skeleton pixels: zero nodes
    xt::xarray<std::uint8_t> empty = xt::zeros<std::uint8_t>({std::size_t(0), std::size_t(5)});
    auto e = xskan::skeleton_to_csgraph(empty);
    REQUIRE(e.graph.n_nodes() == 0);
    REQUIRE(e.coordinates.shape()[0] == 0);
    REQUIRE(e.coordinates.shape()[1] == 2);
    xt::xarray<std::uint8_t> zeros = xt::zeros<std::uint8_t>({4, 4});
    auto z = xskan::skeleton_to_csgraph(zeros);
    REQUIRE(z.graph.n_nodes() == 0);
    REQUIRE(z.graph.indptr == std::vector<std::int64_t>{0});

    // NaN is non-zero: it is a skeleton pixel (like numpy's `!= 0`)
    xt::xarray<double> withnan = {{std::nan(""), 0.0, 1.0}};
    auto w = xskan::skeleton_to_csgraph(withnan);
    REQUIRE(w.graph.n_nodes() == 2);
    REQUIRE(std::isnan(w.values[0]));
    REQUIRE(w.degrees == std::vector<std::int32_t>{0, 0});

    // a single isolated pixel: one node of degree 0
    xt::xarray<bool> one = {{false, true}};
    auto o = xskan::skeleton_to_csgraph(one);
    REQUIRE(o.graph.n_nodes() == 1);
    REQUIRE(o.degrees == std::vector<std::int32_t>{0});
    REQUIRE(o.coordinates(0, 1) == 1);
}

namespace
{
    template <class T>
    void check_fast_equals_general(const xt::xarray<T>& img, const skeleton_options& opts)
    {
        for (const auto jh : {junction_handling::mst, junction_handling::none})
        {
            std::vector<std::int64_t> labels;
            const auto fast = xskan::detail::skeleton_to_csgraph_impl(img, opts, jh, "test", &labels, true);
            const auto ref = xskan::detail::skeleton_to_csgraph_impl(img, opts, jh, "test", nullptr, false);
            REQUIRE(fast.graph.indptr == ref.graph.indptr);
            REQUIRE(fast.graph.indices == ref.graph.indices);
            REQUIRE(fast.graph.data.size() == ref.graph.data.size());
            for (std::size_t k = 0; k < ref.graph.data.size(); ++k)
            {
                const double a = fast.graph.data[k], b = ref.graph.data[k];
                REQUIRE(((a == b && std::signbit(a) == std::signbit(b)) || (std::isnan(a) && std::isnan(b))));
            }
            REQUIRE(fast.coordinates == ref.coordinates);
            REQUIRE(fast.degrees == ref.degrees);
            REQUIRE(fast.values.size() == ref.values.size());
            for (std::size_t k = 0; k < ref.values.size(); ++k)
            {
                REQUIRE(((fast.values[k] == ref.values[k]) || (std::isnan(fast.values[k]) && std::isnan(ref.values[k]))));
            }
            if (xskan::detail::fast_graph_applicable(std::vector<std::size_t>(img.shape().begin(), img.shape().end()),
                                                     ref.values.size()) &&
                !ref.values.empty())
            {
                REQUIRE(labels == xskan::detail::connected_component_labels(ref.graph));
            }
        }
    }
}  // namespace

TEST_CASE("2-D/3-D fast builder equals the general n-D builder (graph, MST, degrees, labels) on random images",
          "[2d][3d][fast]")
{
    std::uint32_t seed = 101;
    const std::vector<std::vector<std::size_t>> shapes = {{1, 1},  {1, 17},   {17, 1},    {2, 2},    {3, 9},
                                                          {23, 37}, {64, 50}, {1, 1, 1},  {1, 7, 9}, {2, 2, 2},
                                                          {9, 1, 5}, {6, 7, 8}, {12, 13, 11},
                                                          // rows across 64-pixel words (bit rows, partial last chunk)
                                                          {3, 64}, {5, 130}, {2, 191}, {2, 3, 127}, {1, 4, 200}};
    for (const auto& shape : shapes)
    {
        for (int rep = 0; rep < 6; ++rep)
        {
            const double density = std::vector<double>{0.0, 0.05, 0.2, 0.45, 0.7, 1.0}[static_cast<std::size_t>(rep)];
            const auto img8 = xskan_test::random_mixed_skeleton(shape, density, rep % 2 ? 1 : 5, seed++);
            INFO("seed " << seed << " density " << density << " ndim " << shape.size());
            skeleton_options iso;
            check_fast_equals_general(img8, iso);
            skeleton_options aniso;
            aniso.spacing = shape.size() == 2 ? std::vector<double>{1.5, 0.7} : std::vector<double>{2.0, 0.5, 1.25};
            check_fast_equals_general(img8, aniso);
            skeleton_options tie;  // equal weights across offset classes: 3-D |(0,1,1)| = sqrt(3^2 + 4^2) = 5 = |(1,0,0)|
            tie.spacing = shape.size() == 2 ? std::vector<double>{2.0, 2.0} : std::vector<double>{5.0, 3.0, 4.0};
            check_fast_equals_general(img8, tie);
            const xt::xarray<bool> imgb = xt::cast<bool>(img8);
            check_fast_equals_general(imgb, iso);
            // byte images with one value everywhere (node values filled from the scan) or several
            const xt::xarray<std::int8_t> imgs = -xt::cast<std::int8_t>(img8);
            check_fast_equals_general(imgs, iso);
            xt::xarray<std::uint8_t> img255 = img8;
            for (auto& v : img255) v = v ? 255 : 0;
            check_fast_equals_general(img255, iso);
            // values and heights: signed integers, float32, float64 with NaN
            xt::xarray<std::int16_t> img16 = xt::cast<std::int16_t>(img8);
            for (auto& v : img16) v = static_cast<std::int16_t>(v * 37 - 90 == 0 ? 1 : (v ? v * 37 - 90 : 0));
            skeleton_options height;
            height.value_is_height = true;
            check_fast_equals_general(img16, height);
            xt::xarray<float> imgf = xt::cast<float>(img8) * 0.3f;
            check_fast_equals_general(imgf, height);
            xt::xarray<double> imgd = xt::cast<double>(img8) * 0.1;
            std::size_t k = 0;
            for (auto& v : imgd)
            {
                if (v != 0.0 && (k++ % 7) == 3) v = std::numeric_limits<double>::quiet_NaN();
            }
            check_fast_equals_general(imgd, iso);
            height.spacing = aniso.spacing;
            check_fast_equals_general(imgd, height);
        }
    }
}
