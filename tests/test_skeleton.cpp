// Tests of xskan::skeleton (skeleton.hpp): skan goldens (paths, lengths,
// degrees, label images), path invariants on random skeletons in 2D/3D,
// hand cases, prune_paths, bad input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <set>

#include <catch2/catch.hpp>
#include <xtensor/xmanipulation.hpp>

#include <xskan/skeleton.hpp>

#include "golden.hpp"
#include "skeleton_cases.hpp"

using xskan::skeleton;
using xskan::skeleton_options;

TEST_CASE("paths, path lengths, path data, degrees and label images equal skan's on every golden case",
          "[golden][2d][3d][nd]")
{
    XSKAN_REQUIRE_FILE_OR_SKIP(xskan_test::golden("F_skan/index.csv"));
    const auto cases = xskan_test::skan_cases();
    for (const auto& c : cases)
    {
        if (!c.arrays_saved) continue;
        SECTION(c.name)
        {
            xskan_test::with_case_input(c, [&](const auto& img) {
                skeleton_options opts;
                opts.spacing = c.spacing;
                opts.value_is_height = c.value_is_height;
                const skeleton skel(img, opts);
                if (!c.tie_sensitive)
                {
                    REQUIRE(skel.n_paths() == c.n_paths);  // index.csv counts the primary (SciPy 1.10) variant
                }
                REQUIRE(skel.ndim() == img.dimension());
                const auto indptr = xskan_test::load_npy<std::int64_t>(c.expected("paths_indptr.npy"));
                const auto indices = xskan_test::load_npy<std::int64_t>(c.expected("paths_indices.npy"));
                const auto pdata = xskan_test::load_npy<double>(c.expected("paths_data.npy"));
                const auto lengths = xskan_test::load_npy<double>(c.expected("path_lengths.npy"));
                const auto degrees = xskan_test::load_npy<std::int64_t>(c.expected("degrees.npy"));
                REQUIRE(skel.paths_indptr() == std::vector<std::int64_t>(indptr.begin(), indptr.end()));
                REQUIRE(skel.paths_indices() == std::vector<std::int64_t>(indices.begin(), indices.end()));
                REQUIRE(std::equal(degrees.begin(), degrees.end(), skel.degrees().begin(), skel.degrees().end()));
                REQUIRE(skel.path_lengths().size() == lengths.size());
                for (std::size_t i = 0; i < lengths.size(); ++i)
                {
                    REQUIRE(skel.path_lengths()[i] == lengths(i));  // bit-exact (sequential sum)
                }
                // node values along the paths (skan's paths.data)
                std::size_t k = 0;
                for (std::size_t i = 0; i < skel.n_paths(); ++i)
                {
                    const auto pw = skel.path_with_data(i);
                    for (std::size_t r = 0; r < pw.shape()[0]; ++r, ++k)
                    {
                        REQUIRE(pw(r, skel.ndim()) == pdata(k));
                    }
                }
                REQUIRE(k == pdata.size());
                if (xskan_test::exists(c.expected("path_label_image.npy")))
                {
                    const auto labels = xskan_test::load_npy<std::int64_t>(c.expected("path_label_image.npy"));
                    const auto mine = skel.path_label_image();
                    REQUIRE(mine.shape() == labels.shape());
                    REQUIRE((mine == labels));
                }
            });
        }
    }
}

namespace
{
    /// Invariants of a traced skeleton, independent of skan.
    void check_path_invariants(const skeleton& skel)
    {
        const auto& g = skel.graph();
        const auto& deg = skel.degrees();
        const std::size_t n = skel.n_nodes();
        // every undirected edge lies on exactly one path, traversed between consecutive path nodes
        std::map<std::pair<std::int64_t, std::int64_t>, int> edge_uses;
        double edge_total = 0.0;
        for (std::size_t i = 0; i < n; ++i)
        {
            REQUIRE(deg[i] == g.indptr[i + 1] - g.indptr[i]);
            for (auto p = g.indptr[i]; p < g.indptr[i + 1]; ++p)
            {
                const auto j = g.indices[static_cast<std::size_t>(p)];
                if (static_cast<std::int64_t>(i) < j)
                {
                    edge_uses[{static_cast<std::int64_t>(i), j}] = 0;
                    edge_total += g.data[static_cast<std::size_t>(p)];
                }
            }
        }
        double length_total = 0.0;
        std::vector<int> appearances(n, 0);
        for (std::size_t i = 0; i < skel.n_paths(); ++i)
        {
            const auto path = skel.path(i);
            REQUIRE(path.size() >= 2);
            const bool cycle = path.front() == path.back();
            const auto d0 = deg[static_cast<std::size_t>(path.front())];
            const auto d1 = deg[static_cast<std::size_t>(path.back())];
            if (!cycle)
            {
                REQUIRE(d0 != 2);
                REQUIRE(d1 != 2);
                REQUIRE(path.front() <= path.back());  // walks start at the lower id
            }
            for (std::size_t k = 1; k + 1 < path.size(); ++k)
            {
                REQUIRE(deg[static_cast<std::size_t>(path[k])] == 2);  // interior nodes have degree 2
            }
            double len = 0.0;
            for (std::size_t k = 0; k + 1 < path.size(); ++k)
            {
                auto key = std::minmax(path[k], path[k + 1]);
                REQUIRE(edge_uses.count({key.first, key.second}) == 1);
                ++edge_uses[{key.first, key.second}];
                // weight of the graph edge
                const auto u = static_cast<std::size_t>(path[k]);
                double w = -1.0;
                for (auto p = g.indptr[u]; p < g.indptr[u + 1]; ++p)
                {
                    if (g.indices[static_cast<std::size_t>(p)] == path[k + 1]) w = g.data[static_cast<std::size_t>(p)];
                }
                REQUIRE(w > 0.0);
                len += w;
            }
            REQUIRE(skel.path_lengths()[i] == Approx(len).epsilon(1e-12));
            length_total += skel.path_lengths()[i];
            const bool isolated_cycle = cycle && d0 == 2;
            for (std::size_t k = 0; k < path.size() - (isolated_cycle ? 1 : 0); ++k)
            {
                ++appearances[static_cast<std::size_t>(path[k])];
            }
        }
        for (const auto& e : edge_uses)
        {
            REQUIRE(e.second == 1);
        }
        REQUIRE(length_total == Approx(edge_total).epsilon(1e-9));
        for (std::size_t i = 0; i < n; ++i)
        {
            if (deg[i] == 0)
            {
                REQUIRE(appearances[i] == 0);  // isolated pixels: no path
            }
            else if (deg[i] <= 2)
            {
                REQUIRE(appearances[i] == 1);  // every non-junction pixel lies on exactly one path
            }
            else
            {
                REQUIRE(appearances[i] == deg[i]);  // a junction ends one path per incident edge
            }
        }
        // skeleton ids: equal along edges, labels in order of smallest node id
        const auto& ids = skel.skeleton_ids();
        std::int64_t next = 0;
        for (std::size_t i = 0; i < n; ++i)
        {
            REQUIRE(ids[i] <= next);
            if (ids[i] == next) ++next;
            for (auto p = g.indptr[i]; p < g.indptr[i + 1]; ++p)
            {
                REQUIRE(ids[static_cast<std::size_t>(g.indices[static_cast<std::size_t>(p)])] == ids[i]);
            }
        }
    }
}  // namespace

TEST_CASE("path invariants on random thin skeletons (random walks) in 2D and 3D", "[2d][3d]")
{
    std::uint32_t seed = 11;
    for (const auto& shape : std::vector<std::vector<std::size_t>>{{24, 31}, {64, 64}, {10, 9, 11}, {5, 6, 4, 5}})
    {
        for (int rep = 0; rep < 8; ++rep)
        {
            auto img = xskan_test::random_walk_skeleton(shape, 1 + rep % 4, 20 + 10 * rep, seed++);
            skeleton_options opts;
            opts.spacing.assign(shape.size(), 1.0);
            opts.spacing[0] = 1.5;
            INFO("seed " << seed);
            check_path_invariants(skeleton(img, opts));
        }
    }
}

TEST_CASE("hand cases: empty, isolated pixel, 2x2 block, ring, junction loop", "[2d]")
{
    SECTION("no skeleton pixels")
    {
        xt::xarray<bool> img = xt::zeros<bool>({3, 4});
        skeleton s(img);
        REQUIRE(s.n_nodes() == 0);
        REQUIRE(s.n_paths() == 0);
        REQUIRE(s.paths_indptr() == std::vector<std::int64_t>{0});
        REQUIRE((s.path_label_image() == xt::xarray<std::int64_t>(xt::zeros<std::int64_t>({3, 4}))));
        REQUIRE_THROWS_AS(s.path(0), std::out_of_range);
        xt::xarray<std::uint8_t> empty = xt::zeros<std::uint8_t>({std::size_t(0), std::size_t(3)});
        skeleton e(empty);
        REQUIRE(e.n_paths() == 0);
        REQUIRE(e.shape() == std::vector<std::size_t>{0, 3});
    }
    SECTION("a single isolated pixel: its own skeleton, no branch (skan raises here)")
    {
        xt::xarray<bool> img = {{false, false}, {false, true}};
        skeleton s(img);
        REQUIRE(s.n_nodes() == 1);
        REQUIRE(s.n_paths() == 0);
        REQUIRE(s.skeleton_ids() == std::vector<std::int64_t>{0});
        REQUIRE(s.degrees() == std::vector<std::int32_t>{0});
    }
    SECTION("2x2 block: the junction MST leaves the chain 2-0-1-3")
    {
        xt::xarray<bool> img = {{true, true}, {true, true}};
        skeleton s(img);
        REQUIRE(s.n_paths() == 1);
        REQUIRE(s.path(0) == std::vector<std::int64_t>{2, 0, 1, 3});
        REQUIRE(s.path_lengths()[0] == 3.0);
    }
    SECTION("isolated ring: one cycle path, start node first and last, label image")
    {
        xt::xarray<std::uint8_t> img = {{0, 1, 0}, {1, 0, 1}, {0, 1, 0}};
        skeleton s(img);
        REQUIRE(s.n_paths() == 1);
        REQUIRE(s.path(0) == std::vector<std::int64_t>{0, 1, 3, 2, 0});
        REQUIRE(s.path_lengths()[0] == Approx(4 * std::sqrt(2.0)));
        const auto c = s.path_coordinates(0);
        REQUIRE(c.shape()[0] == 5);
        REQUIRE(c(1, 0) == 1.0);
        REQUIRE(c(1, 1) == 0.0);
        xt::xarray<std::int64_t> expected = {{0, 1, 0}, {1, 0, 1}, {0, 1, 0}};
        REQUIRE((s.path_label_image() == expected));
        REQUIRE(s.path_means() == std::vector<double>{1.0});
        REQUIRE(s.path_stdev() == std::vector<double>{0.0});
    }
    SECTION("values: mean and population stdev over path entries (ends included)")
    {
        xt::xarray<double> img = {{2.0, 4.0, 4.0, 6.0}};
        skeleton s(img);
        REQUIRE(s.n_paths() == 1);
        REQUIRE(s.path_means()[0] == 4.0);
        REQUIRE(s.path_stdev()[0] == Approx(std::sqrt(2.0)));
        REQUIRE(s.path_skeleton_ids() == std::vector<std::int64_t>{0});
        REQUIRE(s.paths_list() == std::vector<std::vector<std::int64_t>>{{0, 1, 2, 3}});
    }
}

TEST_CASE("numpy pairwise / reduceat summation is reproduced exactly", "[nd]")
{
    // 1 + pairwise(rest) differs from a sequential sum for these values; hand-reproduce numpy's blocks
    std::vector<double> v(300);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.1 * static_cast<double>(i % 7) + 1e-3 * static_cast<double>(i);
    // n < 8: sequential from 0
    double s5 = 0.0;
    for (int i = 0; i < 5; ++i) s5 += v[static_cast<std::size_t>(i)];
    REQUIRE(xskan::detail::numpy_pairwise_sum(v.data(), 5) == s5);
    // 8 <= n <= 128: eight partial sums
    auto block = [&](const double* a, std::size_t n) {
        double r[8];
        for (int j = 0; j < 8; ++j) r[j] = a[j];
        std::size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; ++j) r[j] += a[i + static_cast<std::size_t>(j)];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += a[i];
        return res;
    };
    REQUIRE(xskan::detail::numpy_pairwise_sum(v.data(), 100) == block(v.data(), 100));
    // n = 299 > 128: split at 144 (= 149 - 149 % 8), then 144 -> 72 + 72 and 155 -> 72 + 83
    const double expect = (block(v.data(), 72) + block(v.data() + 72, 72)) +
                          (block(v.data() + 144, 72) + block(v.data() + 216, 83));
    REQUIRE(xskan::detail::numpy_pairwise_sum(v.data(), 299) == expect);
    // reduceat segment of 300 entries: first entry + pairwise(the other 299)
    std::vector<double> seg(300);
    seg[0] = 0.7;
    std::copy(v.begin(), v.begin() + 299, seg.begin() + 1);
    REQUIRE(xskan::detail::numpy_reduceat_sum(seg.data(), 300) == 0.7 + expect);
}

TEST_CASE("prune_paths removes the non-junction pixels of the given paths", "[2d]")
{
    // a T: horizontal bar of 7 pixels, a vertical stem of 3 below the middle
    xt::xarray<std::uint8_t> img = xt::zeros<std::uint8_t>({5, 9});
    for (std::size_t c = 1; c < 8; ++c) img(1, c) = 1;
    for (std::size_t r = 2; r < 5; ++r) img(r, 4) = 1;
    skeleton s(img);
    REQUIRE(s.n_paths() == 3);
    // find the stem (the path whose far end is at row 4)
    std::size_t stem = 3;
    for (std::size_t i = 0; i < s.n_paths(); ++i)
    {
        const auto pc = s.path_coordinates(i);
        for (std::size_t r = 0; r < pc.shape()[0]; ++r)
            if (pc(r, 0) == 4.0) stem = i;
    }
    REQUIRE(stem < 3);
    const skeleton pruned = s.prune_paths({stem});
    REQUIRE(pruned.n_nodes() == s.n_nodes() - 3);  // the junction pixel (1, 4) stays
    REQUIRE(pruned.n_paths() == 1);
    REQUIRE(pruned.path_lengths()[0] == 6.0);
    REQUIRE(pruned.spacing() == s.spacing());
    REQUIRE_THROWS_AS(s.prune_paths({0, 3}), std::out_of_range);
    REQUIRE_THROWS_WITH(s.prune_paths({7}), Catch::Contains("path index 7 does not exist"));
    // pruning nothing gives the same skeleton
    const skeleton same = s.prune_paths({});
    REQUIRE(same.paths_indices() == s.paths_indices());
}

TEST_CASE("a transposed view gives the skeleton of the transposed image", "[2d]")
{
    auto img = xskan_test::random_walk_skeleton({20, 15}, 3, 40, 99);
    xt::xarray<std::uint8_t> tc = xt::transpose(img);
    skeleton a(xt::transpose(img));
    skeleton b(tc);
    REQUIRE(a.paths_indices() == b.paths_indices());
    REQUIRE(a.path_lengths() == b.path_lengths());
    REQUIRE(a.shape() == std::vector<std::size_t>{15, 20});
    skeleton_options bad;
    bad.spacing = {1.0, 2.0, 3.0};
    REQUIRE_THROWS_AS(skeleton(img, bad), std::invalid_argument);
}

TEST_CASE("prune_paths re-thins like skan (skeletonize(image_cp) * image_cp, reference made with scikit-image)",
          "[golden][2d]")
{
    XSKAN_REQUIRE_FILE_OR_SKIP(xskan_test::golden("F_skan/skeletontif/skeleton.npy"));
    // tests/data/skeleton_prune_<case>.npy: flat indices of the non-zero pixels of
    // skimage.morphology.skeletonize(image_cp.astype(bool)) * image_cp, where image_cp
    // is the case's input with the non-junction pixels of the pruned paths wiped,
    // computed from the golden paths/degrees (skan v0.13.1's prune_paths recipe).
    struct prune_case
    {
        const char* name;
        const char* input;
        std::vector<std::size_t> paths;
    };
    for (const prune_case& pc : {prune_case{"skeletontif", "F_skan/skeletontif/skeleton.npy", {0, 5, 10, 40, 82}},
                                 prune_case{"skeletontif_x_image", "F_skan/skeletontif_x_image/input.npy", {1, 2, 30, 31, 77}}})
    {
        INFO(pc.name);
        const auto img = xskan_test::load_npy<std::uint8_t>(xskan_test::golden(pc.input));
        const skeleton s(img);
        const skeleton pruned = s.prune_paths(pc.paths);
        const auto want = xskan_test::load_npy<std::int64_t>(
            xskan_test::test_data(std::string("skeleton_prune_") + pc.name + ".npy"));
        REQUIRE(pruned.n_nodes() == want.size());
        REQUIRE(pruned.n_nodes() < s.n_nodes() - 2);
        const std::size_t width = img.shape()[1];
        for (std::size_t k = 0; k < want.size(); ++k)
        {
            const auto flat = static_cast<std::size_t>(want(k));
            REQUIRE(pruned.coordinates()(k, 0) == static_cast<std::int64_t>(flat / width));
            REQUIRE(pruned.coordinates()(k, 1) == static_cast<std::int64_t>(flat % width));
            REQUIRE(pruned.node_values()[k] == static_cast<double>(img.data()[flat]));  // values kept
        }
    }
}

namespace
{
    /// Paths of an image's compact graph by the interleaved compact tracing (forced).
    xskan::detail::traced_paths compact_interleaved(const xt::xarray<std::uint8_t>& img)
    {
        std::shared_ptr<xskan::detail::compact_graph> cg;
        const auto pg = xskan::detail::skeleton_to_csgraph_impl(img, skeleton_options{}, xskan::junction_handling::mst,
                                                                "test", nullptr, true, &cg);
        REQUIRE(cg);
        xskan::detail::traced_paths tp;
        xskan::detail::trace_paths_compact(*cg, pg.values.data(), tp, 1);
        return tp;
    }
}  // namespace

TEST_CASE("fast path tracing equals the reference tracing; constant-value means/stdev equal numpy's sums",
          "[2d][3d][fast]")
{
    std::uint32_t seed = 501;
    for (int rep = 0; rep < 12; ++rep)
    {
        // long paths and cycles (thin random walks): the interleaved tracing's home ground
        const auto img = rep % 2 ? xskan_test::random_walk_skeleton({60, 70}, 1 + rep, 200, seed++)
                                 : xskan_test::random_walk_skeleton({14, 15, 16}, 1 + rep, 150, seed++);
        const skeleton sk(img);
        xskan::detail::traced_paths ref, inter;
        xskan::detail::trace_paths(sk.graph(), sk.degrees(), ref);
        inter = compact_interleaved(img);
        REQUIRE(inter.indptr == ref.indptr);
        REQUIRE(inter.indices == ref.indices);
        REQUIRE(inter.lengths == ref.lengths);
        REQUIRE(sk.paths_indices() == ref.indices);
    }
    // rings (isolated cycles) next to open paths
    {
        xt::xarray<std::uint8_t> img = xt::zeros<std::uint8_t>({std::size_t(12), std::size_t(30)});
        for (std::size_t c = 2; c < 9; ++c) { img(1, c) = 1; img(7, c) = 1; }
        for (std::size_t r = 2; r < 7; ++r) { img(r, 1) = 1; img(r, 9) = 1; }
        for (std::size_t c = 12; c < 29; ++c) img(5, c) = 1;
        img(11, 0) = 1;
        const skeleton sk(img);
        xskan::detail::traced_paths ref, inter;
        xskan::detail::trace_paths(sk.graph(), sk.degrees(), ref);
        inter = compact_interleaved(img);
        REQUIRE(ref.lengths.size() == 2);
        REQUIRE(inter.indptr == ref.indptr);
        REQUIRE(inter.indices == ref.indices);
        REQUIRE(inter.lengths == ref.lengths);
    }
    for (const auto& shape : std::vector<std::vector<std::size_t>>{{1, 1}, {3, 3}, {23, 37}, {64, 50}, {2, 2, 2}, {9, 10, 11}})
    {
        for (int rep = 0; rep < 8; ++rep)
        {
            const double density = std::vector<double>{0.0, 0.02, 0.1, 0.3, 0.5, 0.8, 1.0, 0.15}[static_cast<std::size_t>(rep)];
            const auto img = xskan_test::random_mixed_skeleton(shape, density, rep % 3 == 0 ? 1 : 1, seed++);
            INFO("seed " << seed);
            const skeleton sk(img);
            xskan::detail::traced_paths ref;
            xskan::detail::trace_paths(sk.graph(), sk.degrees(), ref);
            REQUIRE(sk.paths_indptr() == ref.indptr);
            REQUIRE(sk.paths_indices() == ref.indices);
            REQUIRE(sk.path_lengths() == ref.lengths);
            xskan::detail::traced_paths inter;  // interleaved walks forced (auto picks them for long paths only)
            inter = compact_interleaved(img);
            REQUIRE(inter.indptr == ref.indptr);
            REQUIRE(inter.indices == ref.indices);
            REQUIRE(inter.lengths == ref.lengths);
            REQUIRE(sk.skeleton_ids() == xskan::detail::connected_component_labels(sk.graph()));
            // constant values (1 and 255): the shortcut equals numpy's summation
            for (const std::uint8_t v : {std::uint8_t(1), std::uint8_t(255)})
            {
                xt::xarray<std::uint8_t> cimg = img;
                for (auto& x : cimg) x = x ? v : 0;
                const skeleton cs(cimg);
                const auto means = cs.path_means();
                const auto sds = cs.path_stdev();
                for (std::size_t i = 0; i < cs.n_paths(); ++i)
                {
                    std::vector<double> buf;
                    for (auto k = cs.paths_indptr()[i]; k < cs.paths_indptr()[i + 1]; ++k)
                    {
                        buf.push_back(cs.node_values()[static_cast<std::size_t>(cs.paths_indices()[static_cast<std::size_t>(k)])]);
                    }
                    const double n = static_cast<double>(buf.size());
                    const double mean = xskan::detail::numpy_reduceat_sum(buf.data(), buf.size()) / n;
                    for (auto& b : buf) b = xskan::detail::rounded_product(b, b);
                    const double var = xskan::detail::numpy_reduceat_sum(buf.data(), buf.size()) / n -
                                       xskan::detail::rounded_product(mean, mean);
                    REQUIRE(means[i] == mean);
                    REQUIRE(sds[i] == std::sqrt(var > 0.0 ? var : 0.0));
                }
            }
        }
    }
}

TEST_CASE("compact graph walk links: XOR of both neighbours of every raw degree-2 node; MST-made degree-2 junction pixels walked from the raw lists",
          "[2d][3d][fast]")
{
    std::uint32_t seed = 9001;
    std::size_t mst_made = 0;  // walked degree-2 nodes whose raw degree was higher (link not used)
    for (const auto& shape : std::vector<std::vector<std::size_t>>{{5, 130}, {40, 33}, {2, 3, 127}, {7, 8, 6}, {12, 13, 11}})
    {
        for (const double density : {0.05, 0.2, 0.45, 0.7})
        {
            const auto img = xskan_test::random_mixed_skeleton(shape, density, 1, seed++);
            INFO("seed " << seed);
            std::shared_ptr<xskan::detail::compact_graph> cg;
            const auto pg = xskan::detail::skeleton_to_csgraph_impl(img, skeleton_options{}, xskan::junction_handling::mst,
                                                                    "test", nullptr, true, &cg);
            REQUIRE(cg);
            for (std::size_t i = 0; i < cg->n; ++i)
            {
                const auto& nd = cg->nodes[i];
                if (xskan::detail::fast_popcount(nd.raw_mask) == 2)
                {
                    const int k1 = xskan::detail::fast_ctz(nd.raw_mask);
                    const int k2 = xskan::detail::fast_ctz(nd.raw_mask & (nd.raw_mask - 1u));
                    REQUIRE(nd.link == (xskan::detail::compact_neighbour(cg->raw.get(), nd, k1) ^
                                        xskan::detail::compact_neighbour(cg->raw.get(), nd, k2)));
                }
                if (xskan::detail::fast_popcount(nd.mask) == 2 && nd.mask != nd.raw_mask)
                {
                    ++mst_made;
                }
            }
            // the sequential compact walk (auto for these short paths) equals the reference
            const skeleton sk(img);
            xskan::detail::traced_paths ref, seq;
            xskan::detail::trace_paths(sk.graph(), sk.degrees(), ref);
            xskan::detail::trace_paths_compact(*cg, pg.values.data(), seq, 2);
            REQUIRE(seq.indptr == ref.indptr);
            REQUIRE(seq.indices == ref.indices);
            REQUIRE(seq.lengths == ref.lengths);
        }
    }
    REQUIRE(mst_made > 0);
}

namespace
{
    /// The skeleton (compact graph + compact tracing, lazy CSR) equals the
    /// n-D builder's graph traced by the reference trace_paths.
    template <class T>
    void check_compact_equals_reference(const xt::xarray<T>& img, const skeleton_options& opts)
    {
        const skeleton sk(img, opts);
        const auto ref_graph = xskan::detail::skeleton_to_csgraph_impl(img, opts, xskan::junction_handling::mst, "test",
                                                                       nullptr, false);
        const auto& g = sk.graph();  // lazily built CSR form
        REQUIRE(g.indptr == ref_graph.graph.indptr);
        REQUIRE(g.indices == ref_graph.graph.indices);
        REQUIRE(g.data.size() == ref_graph.graph.data.size());
        for (std::size_t k = 0; k < g.data.size(); ++k)
        {
            const double a = g.data[k], b = ref_graph.graph.data[k];
            REQUIRE(((a == b && std::signbit(a) == std::signbit(b)) || (std::isnan(a) && std::isnan(b))));
        }
        REQUIRE(sk.degrees() == ref_graph.degrees);
        xskan::detail::traced_paths ref;
        xskan::detail::trace_paths(ref_graph.graph, ref_graph.degrees, ref);
        REQUIRE(sk.paths_indptr() == ref.indptr);
        REQUIRE(sk.paths_indices() == ref.indices);
        REQUIRE(sk.path_lengths().size() == ref.lengths.size());
        for (std::size_t k = 0; k < ref.lengths.size(); ++k)
        {
            const double a = sk.path_lengths()[k], b = ref.lengths[k];
            REQUIRE(((a == b && std::signbit(a) == std::signbit(b)) || (std::isnan(a) && std::isnan(b))));
        }
        REQUIRE(sk.skeleton_ids() == xskan::detail::connected_component_labels(ref_graph.graph));
        // both compact tracings forced (auto picks the interleaved one for long paths only)
        std::shared_ptr<xskan::detail::compact_graph> cg;
        const auto pg = xskan::detail::skeleton_to_csgraph_impl(img, opts, xskan::junction_handling::mst, "test",
                                                                nullptr, true, &cg);
        if (cg)
        {
            for (const int mode : {1, 2})
            {
                xskan::detail::traced_paths tp;
                xskan::detail::trace_paths_compact(*cg, pg.values.data(), tp, mode);
                REQUIRE(tp.indptr == ref.indptr);
                REQUIRE(tp.indices == ref.indices);
                REQUIRE(tp.lengths.size() == ref.lengths.size());
                for (std::size_t k = 0; k < ref.lengths.size(); ++k)
                {
                    const double a = tp.lengths[k], b = ref.lengths[k];
                    REQUIRE(((a == b && std::signbit(a) == std::signbit(b)) || (std::isnan(a) && std::isnan(b))));
                }
            }
        }
        const skeleton copy = sk;  // copies share the compact graph and its CSR form
        REQUIRE(&copy.graph() == &sk.graph());
    }
}  // namespace

TEST_CASE("compact-graph tracing and lazy CSR equal the n-D builder + reference tracing (spacings, heights, NaN)",
          "[2d][3d][fast]")
{
    std::uint32_t seed = 9001;
    const std::vector<std::vector<std::size_t>> shapes = {{1, 1}, {1, 9}, {9, 1}, {2, 2}, {5, 7}, {40, 33},
                                                          {1, 1, 1}, {2, 3, 2}, {7, 8, 6}};
    for (const auto& shape : shapes)
    {
        for (int rep = 0; rep < 6; ++rep)
        {
            const double density = std::vector<double>{0.0, 0.1, 0.3, 0.55, 0.8, 1.0}[static_cast<std::size_t>(rep)];
            const auto img8 = xskan_test::random_mixed_skeleton(shape, density, 4, seed++);
            INFO("seed " << seed << " density " << density << " ndim " << shape.size());
            const bool two = shape.size() == 2;
            check_compact_equals_reference(img8, skeleton_options{});
            check_compact_equals_reference(img8, skeleton_options{two ? std::vector<double>{1.5, 0.7}
                                                                      : std::vector<double>{2.0, 0.5, 1.25}, false});
            // anisotropic with longer rows than columns (no 2-D right-edge shortcut) and ties across classes
            check_compact_equals_reference(img8, skeleton_options{two ? std::vector<double>{0.5, 2.0}
                                                                      : std::vector<double>{5.0, 3.0, 4.0}, false});
            // a diagonal as long as an axis step in floating point (1 + 1e-20 == 1)
            check_compact_equals_reference(img8, skeleton_options{two ? std::vector<double>{1.0, 1e-10}
                                                                      : std::vector<double>{1.0, 1e-10, 1e-10}, false});
            const xt::xarray<bool> imgb = xt::cast<bool>(img8);
            check_compact_equals_reference(imgb, skeleton_options{});
            xt::xarray<std::int16_t> img16 = xt::cast<std::int16_t>(img8);
            for (auto& v : img16) v = static_cast<std::int16_t>(v ? v * 37 - 90 : 0);
            check_compact_equals_reference(img16, skeleton_options{{}, true});
            xt::xarray<float> imgf = xt::cast<float>(img8) * 0.3f;
            check_compact_equals_reference(imgf, skeleton_options{{}, true});
            xt::xarray<double> imgd = xt::cast<double>(img8) * 0.1;
            std::size_t k = 0;
            for (auto& v : imgd)
            {
                if (v != 0.0 && (k++ % 5) == 2) v = std::numeric_limits<double>::quiet_NaN();
            }
            check_compact_equals_reference(imgd, skeleton_options{});
            check_compact_equals_reference(imgd, skeleton_options{two ? std::vector<double>{1.5, 0.7}
                                                                      : std::vector<double>{2.0, 0.5, 1.25}, true});
        }
    }
    // long thin paths and isolated cycles (the interleaved tracing's home ground)
    for (int rep = 0; rep < 6; ++rep)
    {
        const auto img = rep % 2 ? xskan_test::random_walk_skeleton({60, 70}, 1 + rep, 200, seed++)
                                 : xskan_test::random_walk_skeleton({14, 15, 16}, 1 + rep, 150, seed++);
        check_compact_equals_reference(img, skeleton_options{});
        check_compact_equals_reference(img, skeleton_options{rep % 2 ? std::vector<double>{1.5, 0.7}
                                                                     : std::vector<double>{5.0, 3.0, 4.0}, false});
        xt::xarray<double> imgd = xt::cast<double>(img);
        std::size_t k = 0;
        for (auto& v : imgd)
        {
            if (v != 0.0) v = 0.25 * static_cast<double>(k++ % 9) + 0.5;
        }
        check_compact_equals_reference(imgd, skeleton_options{{}, true});
    }
    {
        xt::xarray<std::uint8_t> img = xt::zeros<std::uint8_t>({std::size_t(12), std::size_t(30)});
        for (std::size_t c = 2; c < 9; ++c) { img(1, c) = 1; img(7, c) = 1; }
        for (std::size_t r = 2; r < 7; ++r) { img(r, 1) = 1; img(r, 9) = 1; }
        for (std::size_t c = 12; c < 29; ++c) img(5, c) = 1;
        img(11, 0) = 1;
        check_compact_equals_reference(img, skeleton_options{});
    }
    // thick blobs and rings of junction pixels (2-D MST shortcuts and long cycles through clusters)
    for (int rep = 0; rep < 4; ++rep)
    {
        xt::xarray<std::uint8_t> img = xt::zeros<std::uint8_t>({std::size_t(48), std::size_t(52)});
        std::mt19937 rng(seed++);
        std::uniform_int_distribution<int> coin(0, 9);
        for (std::size_t r = 0; r < 48; ++r)
        {
            for (std::size_t c = 0; c < 52; ++c)
            {
                const bool ring = (r / 3 + c / 3) % 4 == 0 || r % 11 < 2 || c % 13 < 3;
                img(r, c) = (ring && coin(rng) < 8) || coin(rng) == 0 ? 1 : 0;
            }
        }
        INFO("blob rep " << rep);
        check_compact_equals_reference(img, skeleton_options{});
        check_compact_equals_reference(img, skeleton_options{{2.0, 1.0}, false});
        check_compact_equals_reference(img, skeleton_options{{1.0, 2.0}, false});
    }
}
