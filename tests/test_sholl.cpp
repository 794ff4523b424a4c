// Tests for xskan::sholl_analysis / geodesic_center / central_pixel (skan.csr.sholl_analysis).
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>

#include <xskan/sholl.hpp>
#include <xskan/summarize.hpp>

#include "golden.hpp"

namespace
{
    using xskan_test::f64s;
    using xskan_test::i64s;
    struct sholl_case
    {
        const char* name;
        const char* input;
        std::vector<double> spacing;
        std::optional<std::vector<double>> center;
        xskan::sholl_shells shells;
    };

    void check_case(const sholl_case& c)
    {
        const auto in = xskan_test::golden(c.input);
        XSKAN_REQUIRE_FILE_OR_SKIP(in);
        INFO(c.name);
        const auto img = xskan_test::load_npy<std::uint8_t>(in);
        xskan::skeleton_options opts;
        opts.spacing = c.spacing;
        const xskan::skeleton skel(img, opts);
        const auto r = xskan::sholl_analysis(skel, c.center, c.shells);

        const std::string dir = std::string("F_skan/") + c.name + "/";
        const auto tc = xskan_test::read_csv(xskan_test::golden(dir + "sholl_center.csv"));
        REQUIRE(r.center.size() == tc.header.size());
        for (std::size_t a = 0; a < r.center.size(); ++a)
        {
            CHECK(r.center[a] == tc.num(0, "center_" + std::to_string(a)));
        }
        const auto t = xskan_test::read_csv(xskan_test::golden(dir + "sholl.csv"));
        REQUIRE(r.radii.size() == t.size());
        REQUIRE(r.counts.size() == t.size());
        for (std::size_t k = 0; k < t.size(); ++k)
        {
            INFO("shell " << k);
            CHECK(t.num(k, "shell") == static_cast<double>(k));
            CHECK(r.radii[k] == t.num(k, "radius"));
            CHECK(r.counts[k] == static_cast<std::int64_t>(t.num(k, "count")));
        }
    }

    xt::xarray<std::uint8_t> line_image(std::size_t n)
    {
        xt::xarray<std::uint8_t> img = xt::zeros<std::uint8_t>({std::size_t(3), n + 2});
        for (std::size_t j = 1; j <= n; ++j) img(1, j) = 1;
        return img;
    }
}  // namespace

TEST_CASE("sholl_analysis: skan goldens", "[sholl][golden][2d][3d]")
{
    const std::vector<sholl_case> cases = {
        {"sholl_skeleton0", "F_skan/fx_skeleton0/input.npy", {}, std::nullopt,
         xskan::sholl_shells::radii({0.0, 1.5, 3.0, 4.5})},
        {"sholl_skeleton0_sp1_5", "F_skan/fx_skeleton0/input.npy", {1.0, 5.0}, std::vector<double>{3.0, 15.0},
         xskan::sholl_shells::radii({1.0, 7.0, 13.0, 19.0})},
        {"sholl_skeletontif", "F_skan/skeletontif/skeleton.npy", {}, std::nullopt, xskan::sholl_shells::automatic()},
        {"sholl_fx_skeleton_loop1", "F_skan/fx_skeleton_loop1/input.npy", {}, std::nullopt,
         xskan::sholl_shells::automatic()},
        {"sholl_tubes64_3d", "E_skeletonize/tubes64_skeleton3d.npy", {}, std::nullopt, xskan::sholl_shells::count(8)},
    };
    for (const auto& c : cases)
    {
        check_case(c);
    }
}

TEST_CASE("central_pixel / geodesic_center: lines, ties and disconnected skeletons", "[sholl][2d]")
{
    // odd line: the middle pixel; even line: the first of the two middle pixels (first argmin)
    CHECK(xskan::geodesic_center(xskan::skeleton(line_image(7))) == 3);
    CHECK(xskan::geodesic_center(xskan::skeleton(line_image(6))) == 2);

    const auto cp = xskan::central_pixel(xskan::skeleton(line_image(4)).graph());
    REQUIRE(cp.total_distances.size() == 4);
    CHECK(cp.total_distances == f64s("6.0 4.0 4.0 6.0"));
    CHECK(cp.index == 1);

    // an isolated pixel (node 0) then a line: the line's rows have one unreachable node
    // (DBL_MAX absorbs the finite part), the isolated pixel's row sums to inf -> node 1
    xt::xarray<std::uint8_t> img = xt::zeros<std::uint8_t>({4, 8});
    img(0, 0) = 1;
    for (std::size_t j = 2; j < 8; ++j) img(2, j) = 1;
    const xskan::skeleton iso(img);
    const auto cpi = xskan::central_pixel(iso.graph());
    CHECK(std::isinf(cpi.total_distances[0]));
    CHECK(cpi.total_distances[1] == std::numeric_limits<double>::max());
    CHECK(cpi.total_distances[3] == std::numeric_limits<double>::max());
    CHECK(cpi.index == 1);

    // two lines: every row has >= 2 unreachable nodes -> all inf -> node 0
    xt::xarray<std::uint8_t> two = xt::zeros<std::uint8_t>({5, 8});
    for (std::size_t j = 0; j < 3; ++j) two(0, j) = 1;
    for (std::size_t j = 1; j < 7; ++j) two(3, j) = 1;
    CHECK(xskan::geodesic_center(xskan::skeleton(two)) == 0);

    // a single pixel: every total is 0 -> index 0 (skimage would raise)
    xt::xarray<std::uint8_t> one = xt::zeros<std::uint8_t>({3, 3});
    one(1, 1) = 1;
    CHECK(xskan::geodesic_center(xskan::skeleton(one)) == 0);
}

TEST_CASE("geodesic_center: junction graph of a T, parallel branches summed", "[sholl][2d]")
{
    // T shape: junction at (1, 3); arms of length 3 (left), 3 (right), 3 (down)
    xt::xarray<std::uint8_t> t = xt::zeros<std::uint8_t>({6, 7});
    for (std::size_t j = 0; j < 7; ++j) t(1, j) = 1;
    for (std::size_t i = 2; i < 5; ++i) t(i, 3) = 1;
    const xskan::skeleton skel(t);
    const auto c = xskan::geodesic_center(skel);
    CHECK(skel.coordinates()(c, 0) == 1);
    CHECK(skel.coordinates()(c, 1) == 3);

    // the junction graph: nodes = path ends sorted, symmetric, weights = branch distances
    std::vector<std::int64_t> nodes;
    const auto g = xskan::detail::sholl_junction_graph(skel, nodes);
    REQUIRE(nodes.size() == 4);
    CHECK(g.n_nodes() == 4);
    CHECK(g.n_edges() == 6);
    // an O with a junction: two parallel branches between the same two junction pixels
    xt::xarray<std::uint8_t> o = xt::zeros<std::uint8_t>({7, 9});
    // ring
    for (std::size_t j = 2; j < 7; ++j) o(1, j) = o(5, j) = 1;
    for (std::size_t i = 2; i < 5; ++i) o(i, 1) = o(i, 7) = 1;
    // tails on the left and right making (3,1) and (3,7) junctions
    o(3, 0) = 1;
    o(3, 8) = 1;
    const xskan::skeleton os(o);
    std::vector<std::int64_t> onodes;
    const auto og = xskan::detail::sholl_junction_graph(os, onodes);
    // 4 nodes: 2 tips and 2 junctions; the two ring halves between the junctions are one summed edge
    REQUIRE(onodes.size() == 4);
    double ring_sum = 0.0;
    std::size_t parallel = 0;
    const auto ts = xskan::summarize(os);
    for (std::size_t i = 0; i < ts.size(); ++i)
    {
        if (ts.branch_type[i] == 2)
        {
            ring_sum += ts.branch_distance[i];
            ++parallel;
        }
    }
    REQUIRE(parallel == 2);
    bool found = false;
    for (std::size_t u = 0; u < og.n_nodes(); ++u)
    {
        for (auto k = og.indptr[u]; k < og.indptr[u + 1]; ++k)
        {
            const auto v = static_cast<std::size_t>(og.indices[static_cast<std::size_t>(k)]);
            if (os.degrees()[static_cast<std::size_t>(onodes[u])] > 2 && os.degrees()[static_cast<std::size_t>(onodes[v])] > 2)
            {
                CHECK(og.data[static_cast<std::size_t>(k)] == ring_sum);
                found = true;
            }
        }
    }
    CHECK(found);
}

TEST_CASE("sholl_analysis: hand-computed line from its end", "[sholl][2d]")
{
    // a line of 6 pixels, centre at its first pixel (scaled (1, 1))
    const xskan::skeleton skel(line_image(6));
    const auto r = xskan::sholl_analysis(skel, std::vector<double>{1.0, 1.0}, xskan::sholl_shells::radii({0.5, 2.0, 2.5, 10.0}));
    CHECK(r.center == f64s("1.0 1.0"));
    // edges (d, d+1) for d = 0..4; radius 0.5 crossed by (0,1); 2.0 by (1,2) [2 <= 2 < 3 counts at the bin boundary];
    // 2.5 by (2,3); 10 by none
    CHECK(r.counts == i64s("1 1 1 0"));

    // automatic shells: step = norm(spacing) = sqrt(2), R = 5
    const auto a = xskan::sholl_analysis(skel, std::vector<double>{1.0, 1.0});
    REQUIRE(a.radii.size() == 4);  // ceil((5 + eps32) / sqrt(2)) = 4
    for (std::size_t k = 0; k < a.radii.size(); ++k) CHECK(a.radii[k] == static_cast<double>(k) * std::sqrt(2.0));
    CHECK(a.counts == i64s("0 1 1 1"));

    // count: 5 shells of step 1 over R = 5 -> radii 0..5, each radius k in 1..5 crossed once
    const auto n = xskan::sholl_analysis(skel, std::vector<double>{1.0, 1.0}, xskan::sholl_shells::count(5));
    CHECK(n.radii == f64s("0 1 2 3 4 5"));
    CHECK(n.counts == i64s("0 1 1 1 1 1"));

    // anisotropic spacing scales the coordinates: pixel j at x = 2 j along axis 1
    xskan::skeleton_options opts;
    opts.spacing = {1.0, 2.0};
    const xskan::skeleton sk2(line_image(6), opts);
    const auto s = xskan::sholl_analysis(sk2, std::vector<double>{1.0, 2.0}, xskan::sholl_shells::radii({1.0, 3.0, 4.0}));
    // d = 0, 2, 4, ...: (0,1) crosses 1; (1,2) crosses 3 and 4, counted once at the innermost
    CHECK(s.counts == i64s("1 1 0"));
}

TEST_CASE("sholl_analysis: every count equals a brute-force crossing count", "[sholl][2d][golden]")
{
    const auto in = xskan_test::golden("F_skan/skeletontif/skeleton.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in);
    const auto img = xskan_test::load_npy<std::uint8_t>(in);
    const xskan::skeleton skel(img);
    const std::vector<double> c = {250.0, 110.0};
    const auto r = xskan::sholl_analysis(skel, c, xskan::sholl_shells::count(17));
    REQUIRE(r.radii.size() == 18);
    const auto& g = skel.graph();
    auto d = [&](std::size_t i) {
        // integer offsets: the squared distance is exact, so no rounding question at the shell boundaries
        const double a = static_cast<double>(skel.coordinates()(i, 0)) - c[0];
        const double b = static_cast<double>(skel.coordinates()(i, 1)) - c[1];
        return std::sqrt(a * a + b * b);
    };
    std::int64_t total = 0;
    for (std::size_t k = 0; k < r.radii.size(); ++k)
    {
        std::int64_t expected = 0;
        for (std::size_t u = 0; u < skel.n_nodes(); ++u)
        {
            for (auto e = g.indptr[u]; e < g.indptr[u + 1]; ++e)
            {
                const auto v = static_cast<std::size_t>(g.indices[static_cast<std::size_t>(e)]);
                if (u >= v) continue;
                const double lo = std::min(d(u), d(v)), hi = std::max(d(u), d(v));
                // innermost crossed shell is k
                const bool crosses_k = lo < r.radii[k] && r.radii[k] <= hi;
                const bool crosses_inner = k > 0 && lo < r.radii[k - 1] && r.radii[k - 1] <= hi;
                expected += crosses_k && !crosses_inner;
            }
        }
        CHECK(r.counts[k] == expected);
        total += expected;
    }
    CHECK(total > 0);
}

TEST_CASE("sholl_analysis: transposed image gives the transposed centre", "[sholl][2d][golden]")
{
    const auto in = xskan_test::golden("F_skan/fx_skeleton_loop1/input.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in);
    const auto img = xskan_test::load_npy<std::uint8_t>(in);
    const auto a = xskan::sholl_analysis(xskan::skeleton(img), std::vector<double>{49.0, 60.0});
    const auto b = xskan::sholl_analysis(xskan::skeleton(xt::transpose(img)), std::vector<double>{60.0, 49.0});
    CHECK(a.radii == b.radii);
    CHECK(a.counts == b.counts);
}

TEST_CASE("sholl_analysis: bad input", "[sholl]")
{
    CHECK_THROWS_AS(xskan::sholl_shells::count(0), std::invalid_argument);
    CHECK_THROWS_AS(xskan::sholl_shells::radii({}), std::invalid_argument);
    CHECK_THROWS_AS(xskan::sholl_shells::radii({1.0, std::nan("")}), std::invalid_argument);
    CHECK_THROWS_AS(xskan::sholl_shells::radii({-1.0, 2.0}), std::invalid_argument);
    CHECK_THROWS_AS(xskan::sholl_shells::radii({1.0, INFINITY}), std::invalid_argument);
    CHECK_THROWS_AS(xskan::sholl_shells::radii({3.0, 2.0}), std::invalid_argument);
    CHECK_NOTHROW(xskan::sholl_shells::radii({0.0, 2.0, 2.0}));

    const xskan::skeleton skel(line_image(4));
    CHECK_THROWS_AS(xskan::sholl_analysis(skel, std::vector<double>{1.0}), std::invalid_argument);
    CHECK_THROWS_AS(xskan::sholl_analysis(skel, std::vector<double>{1.0, 2.0, 3.0}), std::invalid_argument);
    CHECK_THROWS_AS(xskan::sholl_analysis(skel, std::vector<double>{1.0, std::nan("")}), std::invalid_argument);

    xt::xarray<std::uint8_t> empty = xt::zeros<std::uint8_t>({4, 4});
    const xskan::skeleton none(empty);
    CHECK_THROWS_AS(xskan::sholl_analysis(none), std::invalid_argument);
    CHECK_THROWS_AS(xskan::geodesic_center(none), std::invalid_argument);

    // a single pixel: automatic gives one shell at 0 (skan fails here); a count cannot make a step
    xt::xarray<std::uint8_t> one = xt::zeros<std::uint8_t>({3, 3});
    one(1, 1) = 1;
    const xskan::skeleton single(one);
    const auto r = xskan::sholl_analysis(single);
    CHECK(r.center == f64s("1.0 1.0"));
    CHECK(r.radii == f64s("0.0"));
    CHECK(r.counts == i64s("0"));
    CHECK_THROWS_AS(xskan::sholl_analysis(single, std::nullopt, xskan::sholl_shells::count(3)), std::invalid_argument);
}
