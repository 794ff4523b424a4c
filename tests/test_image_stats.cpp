// Tests for xskan::mesh_sizes / image_summary (skan.image_stats).
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xpad.hpp>
#include <xtensor/xview.hpp>

#include <xskan/image_stats.hpp>

#include "golden.hpp"

namespace
{
    using xskan_test::f64s;
    using xskan_test::i64s;
    void check_summary_against(const xskan::image_summary_result& r, const xskan_test::csv_table& t, std::size_t row = 0)
    {
        CHECK(r.scale == t.num(row, "scale"));
        CHECK(r.number_of_junctions == static_cast<std::int64_t>(t.num(row, "number of junctions")));
        CHECK(r.area == t.num(row, "area"));
        CHECK(r.junctions_per_unit_area == t.num(row, "junctions per unit area"));
        CHECK(r.average_mesh_area == t.num(row, "average mesh area"));
        CHECK(r.median_mesh_area == t.num(row, "median mesh area"));
        CHECK(r.mesh_area_standard_deviation == t.num(row, "mesh area standard deviation"));
        CHECK(r.number_of_disjoint_skeletons == static_cast<std::int64_t>(t.num(row, "number of disjoint skeletons")));
    }

    std::vector<std::int64_t> read_mesh_sizes(const std::string& path)
    {
        const auto t = xskan_test::read_csv(path);
        std::vector<std::int64_t> out;
        for (std::size_t i = 0; i < t.size(); ++i)
        {
            REQUIRE(t.num(i, "index") == static_cast<double>(i));
            out.push_back(static_cast<std::int64_t>(t.num(i, "size")));
        }
        return out;
    }
}  // namespace

TEST_CASE("mesh_sizes: skan's docstring example, including the label-0 quirk", "[image_stats][2d]")
{
    xt::xarray<int> image = {{0, 0, 1, 0, 0},
                             {0, 0, 1, 1, 1},
                             {0, 0, 1, 0, 0},
                             {0, 1, 0, 1, 0}};
    CHECK(xskan::mesh_sizes(image).empty());
    // skan's docstring pads with a frame of skeleton pixels (skan.nputil.pad): [7 2 3 1]
    xt::xarray<int> framed = xt::pad(image, 1, xt::pad_mode::constant, 1);
    CHECK(xskan::mesh_sizes(framed) == i64s("7 2 3 1"));
    // zero-padding: no skeleton pixel on the border, so label 0 (the 7 skeleton pixels) is kept
    xt::xarray<int> padded = xt::pad(image, 1);
    CHECK(xskan::mesh_sizes(padded) == i64s("7"));
    xt::xarray<int> framed_padded = xt::pad(framed, 1);
    CHECK(xskan::mesh_sizes(framed_padded) == i64s("29 7 2 3 1"));
}

TEST_CASE("mesh_sizes / image_summary: hand-computed ring", "[image_stats][2d]")
{
    // a closed ring with cut corners (every pixel has degree 2) touching the border: one 3x3 hole
    xt::xarray<std::uint8_t> ring = xt::zeros<std::uint8_t>({6, 7});
    for (std::size_t i = 1; i < 4; ++i)
    {
        ring(0, i) = ring(4, i) = 1;
        ring(i, 0) = ring(i, 4) = 1;
    }
    ring(5, 6) = 1;  // an isolated pixel: its own skeleton
    CHECK(xskan::mesh_sizes(ring) == i64s("9"));
    const auto r = xskan::image_summary(ring, 2.0);
    CHECK(r.scale == 2.0);
    CHECK(r.number_of_junctions == 0);
    CHECK(r.area == 6 * 7 * 4.0);
    CHECK(r.junctions_per_unit_area == 0.0);
    CHECK(r.average_mesh_area == 9.0);
    CHECK(r.median_mesh_area == 9.0);
    CHECK(r.mesh_area_standard_deviation == 0.0);
    CHECK(r.number_of_disjoint_skeletons == 2);

    // a plus sign: 1 junction after the MST, no mesh -> NaN statistics
    xt::xarray<bool> plus = xt::zeros<bool>({5, 5});
    for (std::size_t i = 0; i < 5; ++i)
    {
        plus(2, i) = plus(i, 2) = true;
    }
    const auto p = xskan::image_summary(plus);
    CHECK(p.number_of_junctions == 1);
    CHECK(p.area == 25.0);
    CHECK(p.junctions_per_unit_area == 1.0 / 25.0);
    CHECK(std::isnan(p.average_mesh_area));
    CHECK(std::isnan(p.median_mesh_area));
    CHECK(std::isnan(p.mesh_area_standard_deviation));
    CHECK(p.number_of_disjoint_skeletons == 1);

    // an empty skeleton: no junction, one background component touching the border
    xt::xarray<double> none = xt::zeros<double>({4, 4});
    const auto n = xskan::image_summary(none, 0.5);
    CHECK(n.number_of_junctions == 0);
    CHECK(n.area == 4.0);
    CHECK(n.number_of_disjoint_skeletons == 0);
    CHECK(std::isnan(n.average_mesh_area));
}

TEST_CASE("mesh statistics: even count median and numpy std", "[image_stats]")
{
    double mean = 0, median = 0, stdev = 0;
    xskan::detail::mesh_statistics({4, 1, 10, 3}, mean, median, stdev);
    CHECK(mean == 4.5);
    CHECK(median == 3.5);
    // population std of (4,1,10,3): deviations -0.5,-3.5,5.5,-1.5 -> squares 0.25+12.25+30.25+2.25 = 45 / 4
    CHECK(stdev == std::sqrt(45.0 / 4.0));
}

TEST_CASE("image_summary: skan golden skeleton.tif", "[image_stats][golden][2d]")
{
    const auto in = xskan_test::golden("F_skan/skeletontif/skeleton.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in);
    const auto img = xskan_test::load_npy<std::uint8_t>(in);
    const auto golden_sizes = read_mesh_sizes(xskan_test::golden("F_skan/image_summary_skeletontif/mesh_sizes.csv"));
    CHECK(xskan::mesh_sizes(img) == golden_sizes);
    const auto t = xskan_test::read_csv(xskan_test::golden("F_skan/image_summary_skeletontif/image_summary.csv"));
    check_summary_against(xskan::image_summary(img, t.num(0, "scale")), t);
    // bool and float inputs give the same answer
    xt::xarray<bool> b = xt::not_equal(img, std::uint8_t(0));
    check_summary_against(xskan::image_summary(b, 1.0), t);
    const xskan::skeleton skel(img);
    check_summary_against(xskan::image_summary(img, skel, 1.0), t);
}

TEST_CASE("image_summary: skan golden retic (spacing 1.07917)", "[image_stats][golden][2d]")
{
    const auto in = xskan_test::golden("E_skeletonize/retic_gs_skeleton.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in);
    const auto img = xskan_test::load_npy<std::uint8_t>(in);
    const std::string dir = "F_skan/image_summary_retic_gs_sp1.07917/";
    CHECK(xskan::mesh_sizes(img) == read_mesh_sizes(xskan_test::golden(dir + "mesh_sizes.csv")));
    const auto t = xskan_test::read_csv(xskan_test::golden(dir + "image_summary.csv"));
    check_summary_against(xskan::image_summary(img, t.num(0, "scale")), t);
    xskan::skeleton_options ko;
    ko.spacing = {t.num(0, "scale")};
    const xskan::skeleton skel(img, ko);
    check_summary_against(xskan::image_summary(img, skel, t.num(0, "scale")), t);
}

TEST_CASE("image_summary: pipeline per-image table (inf1, scale in metres)", "[image_stats][golden][2d]")
{
    const auto in = xskan_test::golden("G_pipeline/inf1/skeleton_binary.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in);
    const auto img = xskan_test::load_npy<std::uint8_t>(in);
    const auto t = xskan_test::read_csv(xskan_test::golden("G_pipeline/inf1/image_stats.csv"));
    // the weighted skeleton (skeleton * shape_index) has the same support, so the same summary
    check_summary_against(xskan::image_summary(img, t.num(0, "scale")), t);
    // reusing the pipeline's skeleton graph
    xskan::skeleton_options ko;
    ko.spacing = {t.num(0, "scale")};
    const xskan::skeleton skel(img, ko);
    check_summary_against(xskan::image_summary(img, skel, t.num(0, "scale")), t);
}

TEST_CASE("image_summary: transposed view equals the transposed copy", "[image_stats][2d]")
{
    const auto in = xskan_test::golden("F_skan/skeletontif/skeleton.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in);
    const auto img = xskan_test::load_npy<std::uint8_t>(in);
    auto tv = xt::transpose(img);
    xt::xarray<std::uint8_t> tc = tv;
    const auto a = xskan::image_summary(tv);
    const auto b = xskan::image_summary(tc);
    CHECK(a.number_of_junctions == b.number_of_junctions);
    CHECK(a.number_of_disjoint_skeletons == b.number_of_disjoint_skeletons);
    CHECK(xskan::mesh_sizes(tv) == xskan::mesh_sizes(tc));
    // junctions and components do not depend on the orientation
    const auto o = xskan::image_summary(img);
    CHECK(a.number_of_junctions == o.number_of_junctions);
    CHECK(a.number_of_disjoint_skeletons == o.number_of_disjoint_skeletons);
}

TEST_CASE("image_summary: CSV writer with skan's column names", "[image_stats]")
{
    xskan::image_summary_result r;
    r.scale = 1.07917e-09;
    r.number_of_junctions = 763;
    r.area = 1.7143773473656891e-12;
    r.junctions_per_unit_area = 445059543730220.88;
    r.average_mesh_area = 4326.5809859154933;
    r.median_mesh_area = 3338.5;
    r.mesh_area_standard_deviation = std::nan("");
    r.number_of_disjoint_skeletons = 5;
    std::ostringstream os;
    xskan::write_csv(os, r);
    CHECK(os.str() ==
          "scale,number of junctions,area,junctions per unit area,average mesh area,median mesh area,"
          "mesh area standard deviation,number of disjoint skeletons\n"
          "1.0791699999999999e-09,763,1.7143773473656891e-12,445059543730220.88,4326.5809859154933,3338.5,nan,5\n");
    std::istringstream back(os.str());
    const auto t = xskan_test::parse_csv(back);
    REQUIRE(t.size() == 1);
    CHECK(t.num(0, "scale") == r.scale);
    CHECK(t.num(0, "area") == r.area);
    CHECK(xskan::image_summary_columns().size() == xskan::image_summary_fields(r).size());
}

TEST_CASE("image_stats: bad input", "[image_stats]")
{
    xt::xarray<int> img3d = xt::zeros<int>({3, 3, 3});
    CHECK_THROWS_AS(xskan::mesh_sizes(img3d), std::invalid_argument);
    CHECK_THROWS_AS(xskan::image_summary(img3d), std::invalid_argument);
    xt::xarray<int> img1d = xt::zeros<int>({5});
    CHECK_THROWS_AS(xskan::image_summary(img1d), std::invalid_argument);
    xt::xarray<int> empty = xt::zeros<int>({0, 4});
    CHECK_THROWS_AS(xskan::mesh_sizes(empty), std::invalid_argument);
    CHECK_THROWS_AS(xskan::image_summary(empty), std::invalid_argument);
    xt::xarray<int> ok = xt::ones<int>({3, 3});
    CHECK_THROWS_AS(xskan::image_summary(ok, 0.0), std::invalid_argument);
    CHECK_THROWS_AS(xskan::image_summary(ok, -1.0), std::invalid_argument);
    CHECK_THROWS_AS(xskan::image_summary(ok, std::nan("")), std::invalid_argument);
    CHECK_THROWS_AS(xskan::image_summary(ok, INFINITY), std::invalid_argument);
    CHECK_NOTHROW(xskan::image_summary(ok, 1e-9));
}

namespace
{
    bool same_summary(const xskan::image_summary_result& a, const xskan::image_summary_result& b)
    {
        auto eq = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
        return a.scale == b.scale && a.number_of_junctions == b.number_of_junctions && eq(a.area, b.area) &&
               eq(a.junctions_per_unit_area, b.junctions_per_unit_area) &&
               eq(a.average_mesh_area, b.average_mesh_area) && eq(a.median_mesh_area, b.median_mesh_area) &&
               eq(a.mesh_area_standard_deviation, b.mesh_area_standard_deviation) &&
               a.number_of_disjoint_skeletons == b.number_of_disjoint_skeletons;
    }

    std::uint32_t lcg(std::uint32_t& s)
    {
        s = s * 1664525u + 1013904223u;
        return s >> 8;
    }
}  // namespace

TEST_CASE("image_summary(image, skeleton, spacing) equals image_summary(image, spacing)", "[image_stats][2d]")
{
    std::uint32_t seed = 12345u;
    const std::vector<std::pair<std::size_t, std::size_t>> shapes = {
        {1, 1}, {1, 7}, {9, 1}, {2, 2}, {3, 5}, {8, 8}, {17, 13}, {40, 31}, {64, 65}};
    for (const auto& sh : shapes)
    {
        for (std::uint32_t density : {0u, 10u, 35u, 55u, 80u, 100u})
        {
            for (int rep = 0; rep < 3; ++rep)
            {
                xt::xarray<double> img = xt::zeros<double>({sh.first, sh.second});
                for (auto& v : img)
                {
                    if (lcg(seed) % 100 < density)
                    {
                        v = 0.25 + static_cast<double>(lcg(seed) % 7);
                    }
                }
                const double spacing = rep == 2 ? 1.07917e-9 : 1.0 + rep;
                xskan::skeleton_options ko;
                ko.spacing = {spacing};
                const xskan::skeleton skel(img, ko);
                const auto ref = xskan::image_summary(img, spacing);
                const auto got = xskan::image_summary(img, skel, spacing);
                INFO(sh.first << "x" << sh.second << " density " << density << " rep " << rep);
                CHECK(same_summary(ref, got));
            }
        }
    }
}

TEST_CASE("image_summary(image, skeleton, spacing): mismatched skeleton throws", "[image_stats][2d]")
{
    xt::xarray<int> img = {{0, 1, 0}, {1, 1, 1}, {0, 1, 0}};
    const xskan::skeleton skel(img);
    CHECK_NOTHROW(xskan::image_summary(img, skel, 1.0));
    CHECK_THROWS_AS(xskan::image_summary(img, skel, 2.0), std::invalid_argument);  // spacing
    xt::xarray<int> other = {{0, 1, 0}, {1, 1, 1}, {0, 0, 0}};
    CHECK_THROWS_AS(xskan::image_summary(other, skel, 1.0), std::invalid_argument);  // node count
    xt::xarray<int> wide = {{0, 1, 0, 0}, {1, 1, 1, 0}, {0, 1, 0, 0}};
    CHECK_THROWS_AS(xskan::image_summary(wide, skel, 1.0), std::invalid_argument);  // shape
    CHECK_THROWS_AS(xskan::image_summary(img, skel, 0.0), std::invalid_argument);
}

TEST_CASE("mesh_sizes: one-pass labelling equals the full label image + bincount reference", "[image_stats][2d]")
{
    std::uint32_t seed = 777u;
    const std::vector<std::pair<std::size_t, std::size_t>> shapes = {
        {1, 1}, {1, 2}, {1, 9}, {2, 1}, {9, 1}, {2, 2}, {3, 3}, {4, 7}, {7, 4}, {16, 16}, {33, 50}, {101, 87}};
    for (const auto& sh : shapes)
    {
        const std::size_t rows = sh.first, cols = sh.second;
        for (std::uint32_t density : {0u, 5u, 20u, 40u, 50u, 60u, 80u, 95u, 100u})
        {
            for (int rep = 0; rep < 4; ++rep)
            {
                std::vector<std::uint8_t> fg(rows * cols);
                for (auto& v : fg)
                {
                    v = lcg(seed) % 100 < density ? 1 : 0;
                }
                if (rep == 3 && rows > 2 && cols > 2)
                {
                    // a skeleton frame on the border (label 0 dropped, inner meshes kept)
                    for (std::size_t c = 0; c < cols; ++c)
                    {
                        fg[c] = fg[(rows - 1) * cols + c] = 1;
                    }
                    for (std::size_t r = 0; r < rows; ++r)
                    {
                        fg[r * cols] = fg[r * cols + cols - 1] = 1;
                    }
                }
                if (rep == 2 && rows > 2 && cols > 2)
                {
                    // clear border (label 0 kept when there is a skeleton)
                    for (std::size_t c = 0; c < cols; ++c)
                    {
                        fg[c] = fg[(rows - 1) * cols + c] = 0;
                    }
                    for (std::size_t r = 0; r < rows; ++r)
                    {
                        fg[r * cols] = fg[r * cols + cols - 1] = 0;
                    }
                }
                std::vector<std::uint8_t> spaces;
                std::vector<std::int32_t> labels;
                const auto ref = xskan::detail::mesh_sizes_from_mask(fg.data(), rows, cols, spaces, labels);
                INFO(rows << "x" << cols << " density " << density << " rep " << rep);
                CHECK(xskan::detail::mesh_sizes_one_pass(fg.data(), rows, cols) == ref);
            }
        }
    }
}
