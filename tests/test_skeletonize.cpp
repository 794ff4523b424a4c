// Tests of include/xskan/skeletonize.hpp: scikit-image 0.19.3 skeletonize (Zhang) and
// skeletonize_3d / method='lee', against goldens, stored scikit-image references,
// a direct (slow) transcription of scikit-image's algorithms, invariants and bad input.
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xstrided_view.hpp>

#include <xskan/skeletonize.hpp>

#include "golden.hpp"

namespace
{
    using u8 = std::uint8_t;
    using xskan::skeleton_method;

    // ---------------------------------------------------------------------------------
    // Slow reference transcriptions of scikit-image 0.19.3 (_skeletonize_cy.pyx and
    // _skeletonize_3d_cy.pyx): full-image scans, neighbour arrays, recursive octree labelling.
    // ---------------------------------------------------------------------------------
    namespace ref
    {
        xt::xarray<u8> zhang(const xt::xarray<u8>& img)
        {
            const std::size_t h = img.shape()[0] + 2, w = img.shape()[1] + 2;
            std::vector<u8> s(h * w, 0);
            for (std::size_t r = 0; r + 2 < h; ++r)
                for (std::size_t c = 0; c + 2 < w; ++c)
                    s[(r + 1) * w + c + 1] = img(r, c) != 0;
            std::vector<u8> cleaned = s;
            bool removed = true;
            while (removed)
            {
                removed = false;
                for (int pass = 0; pass < 2; ++pass)
                {
                    for (std::size_t r = 1; r + 1 < h; ++r)
                        for (std::size_t c = 1; c + 1 < w; ++c)
                        {
                            if (!s[r * w + c])
                                continue;
                            auto at = [&](std::size_t rr, std::size_t cc) { return int(s[rr * w + cc]); };
                            const int code = at(r - 1, c - 1) + 2 * at(r - 1, c) + 4 * at(r - 1, c + 1) +
                                             8 * at(r, c + 1) + 16 * at(r + 1, c + 1) + 32 * at(r + 1, c) +
                                             64 * at(r + 1, c - 1) + 128 * at(r, c - 1);
                            const int n = xskan::detail::zhang_lut[code];
                            if ((n == 1 && pass == 0) || (n == 2 && pass == 1) || n == 3)
                            {
                                cleaned[r * w + c] = 0;
                                removed = true;
                            }
                        }
                    s = cleaned;
                }
            }
            xt::xarray<u8> out = xt::zeros<u8>(img.shape());
            for (std::size_t r = 0; r + 2 < h; ++r)
                for (std::size_t c = 0; c + 2 < w; ++c)
                    out(r, c) = s[(r + 1) * w + c + 1];
            return out;
        }

        const int euler_arr[128] = {
            1, -1, -1, 1, -3, -1, -1, 1, -1, 1, 1, -1, 3, 1, 1, -1, -3, -1, 3, 1, 1, -1, 3, 1, -1, 1,
            1, -1, 3, 1, 1, -1, -3, 3, -1, 1, 1, 3, -1, 1, -1, 1, 1, -1, 3, 1, 1, -1, 1, 3, 3, 1,
            5, 3, 3, 1, -1, 1, 1, -1, 3, 1, 1, -1, -7, -1, -1, 1, -3, -1, -1, 1, -1, 1, 1, -1, 3, 1,
            1, -1, -3, -1, 3, 1, 1, -1, 3, 1, -1, 1, 1, -1, 3, 1, 1, -1, -3, 3, -1, 1, 1, 3, -1, 1,
            -1, 1, 1, -1, 3, 1, 1, -1, 1, 3, 3, 1, 5, 3, 3, 1, -1, 1, 1, -1, 3, 1, 1, -1};
        const int octants[8][7] = {{2, 1, 11, 10, 5, 4, 14},     {0, 9, 3, 12, 1, 10, 4},
                                   {8, 7, 17, 16, 5, 4, 14},     {6, 15, 7, 16, 3, 12, 4},
                                   {20, 23, 19, 22, 11, 14, 10}, {18, 21, 9, 12, 19, 22, 10},
                                   {26, 23, 17, 14, 25, 22, 16}, {24, 25, 15, 16, 21, 22, 12}};

        bool is_euler_invariant(const u8* nb)
        {
            int sum = 0;
            for (const auto& o : octants)
            {
                int n = 1;
                for (int j = 0; j < 7; ++j)
                    if (nb[o[j]] == 1)
                        n |= 1 << (7 - j);
                sum += euler_arr[n >> 1];
            }
            return sum == 0;
        }

        bool is_endpoint(const u8* nb)
        {
            int s = 0;
            for (int j = 0; j < 27; ++j)
                s += nb[j];
            return s == 2;
        }

        struct octree_entry
        {
            int index;
            std::vector<int> next;
        };
        const std::vector<std::vector<octree_entry>> octree = {
            {{0, {}}, {1, {2}}, {3, {3}}, {4, {2, 3, 4}}, {9, {5}}, {10, {2, 5, 6}}, {12, {3, 5, 7}}},
            {{1, {1}}, {4, {1, 3, 4}}, {10, {1, 5, 6}}, {2, {}}, {5, {4}}, {11, {6}}, {13, {4, 6, 8}}},
            {{3, {1}}, {4, {1, 2, 4}}, {12, {1, 5, 7}}, {6, {}}, {7, {4}}, {14, {7}}, {15, {4, 7, 8}}},
            {{4, {1, 2, 3}}, {5, {2}}, {13, {2, 6, 8}}, {7, {3}}, {15, {3, 7, 8}}, {8, {}}, {16, {8}}},
            {{9, {1}}, {10, {1, 2, 6}}, {12, {1, 3, 7}}, {17, {}}, {18, {6}}, {20, {7}}, {21, {6, 7, 8}}},
            {{10, {1, 2, 5}}, {11, {2}}, {13, {2, 4, 8}}, {18, {5}}, {21, {5, 7, 8}}, {19, {}}, {22, {8}}},
            {{12, {1, 3, 5}}, {14, {3}}, {15, {3, 4, 8}}, {20, {5}}, {21, {5, 6, 8}}, {23, {}}, {24, {8}}},
            {{13, {2, 4, 6}}, {15, {3, 4, 7}}, {16, {4}}, {21, {5, 6, 7}}, {22, {6}}, {24, {7}}, {25, {}}}};

        void octree_labeling(int octant, int label, u8* cube)
        {
            for (const auto& e : octree[octant - 1])
                if (cube[e.index] == 1)
                {
                    cube[e.index] = static_cast<u8>(label);
                    for (int o : e.next)
                        octree_labeling(o, label, cube);
                }
        }

        bool is_simple_point(const u8* nb)
        {
            u8 cube[26];
            std::memcpy(cube, nb, 13);
            std::memcpy(cube + 13, nb + 14, 13);
            int label = 2;
            for (int i = 0; i < 26; ++i)
            {
                if (cube[i] != 1)
                    continue;
                int o = 8;
                if (i == 0 || i == 1 || i == 3 || i == 4 || i == 9 || i == 10 || i == 12)
                    o = 1;
                else if (i == 2 || i == 5 || i == 11 || i == 13)
                    o = 2;
                else if (i == 6 || i == 7 || i == 14 || i == 15)
                    o = 3;
                else if (i == 8 || i == 16)
                    o = 4;
                else if (i == 17 || i == 18 || i == 20 || i == 21)
                    o = 5;
                else if (i == 19 || i == 22)
                    o = 6;
                else if (i == 23 || i == 24)
                    o = 7;
                octree_labeling(o, label, cube);
                ++label;
                if (label - 2 >= 2)
                    return false;
            }
            return true;
        }

        struct volume
        {
            std::size_t np, nr, nc;
            std::vector<u8> d;
            u8& at(std::size_t p, std::size_t r, std::size_t c) { return d[(p * nr + r) * nc + c]; }
        };

        void neighbourhood(volume& v, std::size_t p, std::size_t r, std::size_t c, u8* nb)
        {
            int k = 0;
            for (int dp = -1; dp <= 1; ++dp)
                for (int dc = -1; dc <= 1; ++dc)
                    for (int dr = -1; dr <= 1; ++dr)
                        nb[k++] = v.at(p + dp, r + dr, c + dc);
        }

        void compute_thin_image(volume& img)
        {
            const int borders[6] = {4, 3, 2, 1, 5, 6};
            const int n_borders = img.np == 3 ? 4 : 6;
            int unchanged = 0;
            u8 nb[27];
            std::vector<std::array<std::size_t, 3>> points;
            while (unchanged < n_borders)
            {
                unchanged = 0;
                for (int j = 0; j < n_borders; ++j)
                {
                    const int b = borders[j];
                    points.clear();
                    for (std::size_t p = 1; p + 1 < img.np; ++p)
                        for (std::size_t r = 1; r + 1 < img.nr; ++r)
                            for (std::size_t c = 1; c + 1 < img.nc; ++c)
                            {
                                if (img.at(p, r, c) != 1)
                                    continue;
                                const bool border =
                                    (b == 1 && img.at(p, r, c - 1) == 0) || (b == 2 && img.at(p, r, c + 1) == 0) ||
                                    (b == 3 && img.at(p, r + 1, c) == 0) || (b == 4 && img.at(p, r - 1, c) == 0) ||
                                    (b == 5 && img.at(p + 1, r, c) == 0) || (b == 6 && img.at(p - 1, r, c) == 0);
                                if (!border)
                                    continue;
                                neighbourhood(img, p, r, c, nb);
                                if (is_endpoint(nb) || !is_euler_invariant(nb) || !is_simple_point(nb))
                                    continue;
                                points.push_back({p, r, c});
                            }
                    bool no_change = true;
                    for (const auto& q : points)
                    {
                        neighbourhood(img, q[0], q[1], q[2], nb);
                        if (is_simple_point(nb))
                        {
                            img.at(q[0], q[1], q[2]) = 0;
                            no_change = false;
                        }
                    }
                    if (no_change)
                        ++unchanged;
                }
            }
        }

        /// skeletonize_3d(image) != 0 for a 2D or 3D image.
        xt::xarray<u8> lee(const xt::xarray<u8>& img)
        {
            const bool is2d = img.dimension() == 2;
            const std::size_t p = is2d ? 1 : img.shape()[0];
            const std::size_t h = img.shape()[is2d ? 0 : 1], w = img.shape()[is2d ? 1 : 2];
            volume v{p + 2, h + 2, w + 2, std::vector<u8>((p + 2) * (h + 2) * (w + 2), 0)};
            for (std::size_t k = 0; k < p * h * w; ++k)
                v.at(k / (h * w) + 1, (k / w) % h + 1, k % w + 1) = img.data()[k] != 0;
            compute_thin_image(v);
            xt::xarray<u8> out = xt::zeros<u8>(img.shape());
            for (std::size_t k = 0; k < p * h * w; ++k)
                out.data()[k] = v.at(k / (h * w) + 1, (k / w) % h + 1, k % w + 1);
            return out;
        }
    }  // namespace ref

    /// Simple-point test by a bit-parallel flood fill of the 26 neighbours (the previous
    /// implementation, itself checked against ref::is_simple_point): 27-bit mask, bit
    /// 9*(dp+1) + 3*(dr+1) + dc+1.
    bool flood_simple(std::uint32_t m)
    {
        auto dilate = [](std::uint32_t x) {
            constexpr std::uint32_t col0 = 0x1249249u, col2 = col0 << 2, row0 = 0x1C0E07u, row2 = row0 << 6;
            constexpr std::uint32_t all = (1u << 27) - 1;
            x |= ((x << 1) & (all & ~col0)) | ((x >> 1) & (all & ~col2));
            x |= ((x << 3) & (all & ~row0)) | ((x >> 3) & (all & ~row2));
            x |= (x << 9) | (x >> 9);
            return x & all;
        };
        const std::uint32_t fg = m & ~(1u << 13);
        if (!fg)
            return true;
        std::uint32_t comp = fg & (~fg + 1u);
        for (;;)
        {
            const std::uint32_t next = dilate(comp) & fg;
            if (next == comp)
                return comp == fg;
            comp = next;
        }
    }

    /// Number of connected components, full connectivity (8 in 2D, 26 in 3D).
    std::size_t count_components(const xt::xarray<u8>& img, std::vector<int>* labels_out = nullptr)
    {
        const bool is2d = img.dimension() == 2;
        const std::ptrdiff_t P = is2d ? 1 : std::ptrdiff_t(img.shape()[0]);
        const std::ptrdiff_t H = std::ptrdiff_t(img.shape()[is2d ? 0 : 1]);
        const std::ptrdiff_t W = std::ptrdiff_t(img.shape()[is2d ? 1 : 2]);
        std::vector<int> label(img.size(), 0);
        std::size_t n = 0;
        std::vector<std::ptrdiff_t> stack;
        for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(img.size()); ++i)
        {
            if (!img.data()[i] || label[i])
                continue;
            ++n;
            label[i] = int(n);
            stack.push_back(i);
            while (!stack.empty())
            {
                const std::ptrdiff_t j = stack.back();
                stack.pop_back();
                const std::ptrdiff_t p = j / (H * W), r = (j / W) % H, c = j % W;
                for (std::ptrdiff_t dp = -1; dp <= 1; ++dp)
                    for (std::ptrdiff_t dr = -1; dr <= 1; ++dr)
                        for (std::ptrdiff_t dc = -1; dc <= 1; ++dc)
                        {
                            const std::ptrdiff_t pp = p + dp, rr = r + dr, cc = c + dc;
                            if (pp < 0 || pp >= P || rr < 0 || rr >= H || cc < 0 || cc >= W)
                                continue;
                            const std::ptrdiff_t k = (pp * H + rr) * W + cc;
                            if (img.data()[k] && !label[k])
                            {
                                label[k] = int(n);
                                stack.push_back(k);
                            }
                        }
            }
        }
        if (labels_out)
            *labels_out = std::move(label);
        return n;
    }

    bool is_subset(const xt::xarray<u8>& skel, const xt::xarray<u8>& mask)
    {
        for (std::size_t i = 0; i < skel.size(); ++i)
            if (skel.data()[i] && !mask.data()[i])
                return false;
        return true;
    }

    std::size_t n_foreground(const xt::xarray<u8>& a)
    {
        std::size_t n = 0;
        for (auto v : a)
            n += v != 0;
        return n;
    }

    /// Number of pixels where (a != 0) and (b != 0) differ; shapes must match.
    std::size_t mismatches(const xt::xarray<u8>& a, const xt::xarray<u8>& b)
    {
        REQUIRE(a.shape() == b.shape());
        std::size_t n = 0;
        for (std::size_t i = 0; i < a.size(); ++i)
            n += (a.data()[i] != 0) != (b.data()[i] != 0);
        return n;
    }

    /// Same shape and same values.
    bool same(const xt::xarray<u8>& a, const xt::xarray<u8>& b)
    {
        return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
    }

    bool all_zero_one(const xt::xarray<u8>& a)
    {
        for (auto v : a)
            if (v > 1)
                return false;
        return true;
    }

    xt::xarray<u8> random_blobs(std::mt19937_64& rng, std::vector<std::size_t> shape, double density, int smooth)
    {
        xt::xarray<double> f = xt::zeros<double>(shape);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (auto& v : f)
            v = u(rng);
        // box smoothing along the last axis then the others (cheap correlated noise)
        for (int it = 0; it < smooth; ++it)
        {
            xt::xarray<double> g = f;
            const std::size_t n = f.size();
            const std::size_t W = shape.back();
            const std::size_t HW = shape.size() == 3 ? shape[1] * shape[2] : n;
            for (std::size_t i = 0; i < n; ++i)
            {
                double s = f.data()[i];
                int k = 1;
                if (i % W > 0) s += f.data()[i - 1], ++k;
                if (i % W + 1 < W) s += f.data()[i + 1], ++k;
                if ((i % HW) >= W) s += f.data()[i - W], ++k;
                if ((i % HW) + W < HW) s += f.data()[i + W], ++k;
                if (shape.size() == 3 && i >= HW) s += f.data()[i - HW], ++k;
                if (shape.size() == 3 && i + HW < n) s += f.data()[i + HW], ++k;
                g.data()[i] = s / k;
            }
            f = g;
        }
        // threshold at the quantile giving the requested density
        std::vector<double> sorted(f.begin(), f.end());
        std::sort(sorted.begin(), sorted.end());
        const double t = sorted[std::min(sorted.size() - 1, std::size_t((1.0 - density) * double(sorted.size())))];
        xt::xarray<u8> m = xt::zeros<u8>(shape);
        for (std::size_t i = 0; i < f.size(); ++i)
            m.data()[i] = f.data()[i] > t;
        return m;
    }
}  // namespace

// ------------------------------------------------------------------------------------
// Golden files (scikit-image 0.19.3 outputs)
// ------------------------------------------------------------------------------------

TEST_CASE("skeletonize zhang equals scikit-image on the getting-started masks", "[skeletonize][2d][golden]")
{
    for (const char* name : {"retic", "inf1"})
    {
        const auto mask_path = xskan_test::golden(std::string("E_skeletonize/") + name + "_gs_mask.npy");
        const auto skel_path = xskan_test::golden(std::string("E_skeletonize/") + name + "_gs_skeleton.npy");
        XSKAN_REQUIRE_FILE_OR_SKIP(mask_path);
        XSKAN_REQUIRE_FILE_OR_SKIP(skel_path);
        INFO(name);
        const auto mask = xskan_test::load_npy<u8>(mask_path);
        const auto expected = xskan_test::load_npy<u8>(skel_path);
        const auto skel = xskan::skeletonize(mask);
        REQUIRE(skel.shape() == mask.shape());
        CHECK(all_zero_one(skel));
        CHECK(mismatches(skel, expected) == 0);
        CHECK(n_foreground(skel) == (std::string(name) == "retic" ? 35993u : 32341u));  // skeleton_stats.csv
        // two threads: identical
        xskan::skeletonize_options opt;
        opt.threads = 2;
        CHECK(mismatches(xskan::skeletonize(mask, opt), expected) == 0);
    }
}

TEST_CASE("skeletonize zhang equals scikit-image on the noisy Sauvola w101 masks", "[skeletonize][2d][golden]")
{
    for (const char* name : {"retic", "inf1"})
    {
        const auto mask_path = xskan_test::golden(std::string("C_threshold/") + name + "_full_sauvola_w101_k0.2_mask.npy");
        const auto skel_path = xskan_test::golden(std::string("E_skeletonize/") + name + "_sauvola101_skeleton.npy");
        XSKAN_REQUIRE_FILE_OR_SKIP(mask_path);
        XSKAN_REQUIRE_FILE_OR_SKIP(skel_path);
        INFO(name);
        const auto mask = xskan_test::load_npy<u8>(mask_path);
        const auto expected = xskan_test::load_npy<u8>(skel_path);
        xskan::skeletonize_options opt;
        opt.threads = 2;
        CHECK(mismatches(xskan::skeletonize(mask, opt), expected) == 0);
    }
}

TEST_CASE("skeletonize lee 2D equals scikit-image on the retic crop", "[skeletonize][2d][golden]")
{
    const auto mask_path = xskan_test::golden("E_skeletonize/retic_gs_mask_crop.npy");
    const auto skel_path = xskan_test::golden("E_skeletonize/retic_gs_mask_crop_lee.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(mask_path);
    XSKAN_REQUIRE_FILE_OR_SKIP(skel_path);
    const auto mask = xskan_test::load_npy<u8>(mask_path);
    const auto expected = xskan_test::load_npy<u8>(skel_path);  // values {0, 255}
    const auto skel = xskan::skeletonize(mask, skeleton_method::lee);
    REQUIRE(skel.shape() == mask.shape());
    CHECK(all_zero_one(skel));
    CHECK(mismatches(skel, expected) == 0);
    CHECK(n_foreground(skel) == 1766u);
    // the same mask as bool-like values 0/255 and through skeletonize_3d
    xt::xarray<u8> mask255 = mask * u8(255);
    CHECK(mismatches(xskan::skeletonize_3d(mask255), expected) == 0);
    // and as a single-slice 3D volume
    xt::xarray<u8> vol = xt::expand_dims(mask, 0);
    const auto skel3 = xskan::skeletonize_3d(vol);
    REQUIRE(skel3.dimension() == 3);
    CHECK(mismatches(xt::xarray<u8>(xt::view(skel3, 0)), expected) == 0);
}

TEST_CASE("skeletonize_3d equals scikit-image on the tubes volume", "[skeletonize][3d][golden]")
{
    const auto mask_path = xskan_test::golden("E_skeletonize/tubes64_volume.npy");
    const auto skel_path = xskan_test::golden("E_skeletonize/tubes64_skeleton3d.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(mask_path);
    XSKAN_REQUIRE_FILE_OR_SKIP(skel_path);
    const auto mask = xskan_test::load_npy<u8>(mask_path);
    const auto expected = xskan_test::load_npy<u8>(skel_path);
    const auto skel = xskan::skeletonize_3d(mask);
    REQUIRE(skel.shape() == mask.shape());
    CHECK(all_zero_one(skel));
    CHECK(mismatches(skel, expected) == 0);
    CHECK(n_foreground(skel) == 325u);
    CHECK(mismatches(xskan::skeletonize(mask, skeleton_method::lee), expected) == 0);
    // the slow transcription of scikit-image agrees too (checks the reference used below)
    CHECK(mismatches(ref::lee(mask), expected) == 0);
}

TEST_CASE("skeletonize_3d equals scikit-image on the 192^3 benchmark volume with 1 and 2 threads",
          "[skeletonize][3d][golden]")
{
    // large enough for the parallel candidate collection to run
    const auto mask_path = xskan_test::shared("bench/tubes3d_mask.npy");
    const auto skel_path = xskan_test::shared("bench/tubes3d_skeleton.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(mask_path);
    XSKAN_REQUIRE_FILE_OR_SKIP(skel_path);
    const auto mask = xskan_test::load_npy<u8>(mask_path);
    const auto expected = xskan_test::load_npy<u8>(skel_path);
    xskan::skeletonize_options opt;
    opt.method = skeleton_method::lee;
    xt::xarray<u8> out;
    xskan::skeletonize_workspace ws;
    for (std::size_t threads : {1u, 2u})
    {
        INFO("threads " << threads);
        opt.threads = threads;
        xskan::skeletonize(mask, out, opt, ws);
        CHECK(mismatches(out, expected) == 0);
        CHECK(n_foreground(out) == 31612u);  // bench/README.md
    }
}

// ------------------------------------------------------------------------------------
// Stored scikit-image references on random shapes (tests/data/make_skeletonize_refs.py)
// ------------------------------------------------------------------------------------

TEST_CASE("skeletonize equals scikit-image on random 2D shapes", "[skeletonize][2d]")
{
    for (const char* group : {"a", "b"})
    {
        const auto masks = xskan_test::load_npy<u8>(xskan_test::test_data(std::string("skel2d_") + group + "_mask.npy"));
        const auto zhang = xskan_test::load_npy<u8>(xskan_test::test_data(std::string("skel2d_") + group + "_zhang.npy"));
        const auto lee = xskan_test::load_npy<u8>(xskan_test::test_data(std::string("skel2d_") + group + "_lee.npy"));
        REQUIRE(masks.dimension() == 3);
        for (std::size_t i = 0; i < masks.shape()[0]; ++i)
        {
            INFO("group " << group << " case " << i);
            xt::xarray<u8> m = xt::view(masks, i);
            xt::xarray<u8> ez = xt::view(zhang, i);
            xt::xarray<u8> el = xt::view(lee, i);
            CHECK(mismatches(xskan::skeletonize(m), ez) == 0);
            CHECK(mismatches(xskan::skeletonize(m, skeleton_method::lee), el) == 0);
            CHECK(mismatches(ref::zhang(m), ez) == 0);
        }
    }
}

TEST_CASE("skeletonize_3d equals scikit-image on random 3D shapes", "[skeletonize][3d]")
{
    const auto masks = xskan_test::load_npy<u8>(xskan_test::test_data("skel3d_mask.npy"));
    const auto lee = xskan_test::load_npy<u8>(xskan_test::test_data("skel3d_lee.npy"));
    REQUIRE(masks.dimension() == 4);
    for (std::size_t i = 0; i < masks.shape()[0]; ++i)
    {
        INFO("case " << i);
        xt::xarray<u8> m = xt::view(masks, i);
        xt::xarray<u8> e = xt::view(lee, i);
        CHECK(mismatches(xskan::skeletonize_3d(m), e) == 0);
    }
}

// ------------------------------------------------------------------------------------
// Neighbourhood tests: the bit-mask versions equal scikit-image's array versions
// ------------------------------------------------------------------------------------

TEST_CASE("Lee neighbourhood tests equal scikit-image's octree labelling and Euler LUT", "[skeletonize][3d]")
{
    std::mt19937_64 rng(12345);
    std::size_t checked = 0, simple = 0, invariant = 0;
    for (int it = 0; it < 200000; ++it)
    {
        std::uint32_t m = static_cast<std::uint32_t>(rng()) & ((1u << 27) - 1);
        // vary the density: sparse neighbourhoods are the interesting ones
        const int thin = it % 4;
        for (int k = 0; k < thin; ++k)
            m &= static_cast<std::uint32_t>(rng());
        m |= 1u << 13;
        u8 nb[27];
        for (int dp = -1; dp <= 1; ++dp)
            for (int dc = -1; dc <= 1; ++dc)
                for (int dr = -1; dr <= 1; ++dr)
                    nb[9 * (dp + 1) + 3 * (dc + 1) + (dr + 1)] =
                        static_cast<u8>((m >> xskan::detail::lee_bit(dp, dr, dc)) & 1u);
        const bool s_ref = ref::is_simple_point(nb);
        const bool e_ref = ref::is_euler_invariant(nb);
        REQUIRE(xskan::detail::lee_is_simple(m) == s_ref);
        REQUIRE(xskan::detail::lee_is_euler_invariant(m) == e_ref);
        REQUIRE((xskan::detail::skel_popcount32(m) == 2) == ref::is_endpoint(nb));
        simple += s_ref;
        invariant += e_ref;
        ++checked;
    }
    // both outcomes occur often enough for the comparison to mean something
    CHECK(simple > 10000);
    CHECK(checked - simple > 10000);
    CHECK(invariant > 10000);
    CHECK(checked - invariant > 10000);
}

TEST_CASE("Lee simple-point tables equal a flood fill on every neighbourhood", "[skeletonize][3d]")
{
    // All 2^26 neighbourhoods in release builds (about a second), every 61st otherwise.
#ifdef NDEBUG
    const std::uint32_t step = 1;
#else
    const std::uint32_t step = 61;
#endif
    std::size_t mismatch = 0, simple = 0, checked = 0;
    for (std::uint32_t k = 0; k < (1u << 26); k += step)
    {
        const std::uint32_t m = (k & 0x1FFFu) | ((k >> 13) << 14) | (1u << 13);
        const bool s = xskan::detail::lee_is_simple(m);
        mismatch += s != flood_simple(m);
        simple += s;
        ++checked;
        // the centre bit is ignored
        mismatch += s != xskan::detail::lee_is_simple(m & ~(1u << 13));
    }
    CHECK(mismatch == 0);
    CHECK(simple > checked / 2);
    CHECK(simple < checked);
}

TEST_CASE("skeletonize_3d matches the reference algorithm across 64-bit row words, 1 and 2 threads",
          "[skeletonize][3d][2d]")
{
    // the bit-packed volume stores padded rows (width + 2) in 64-bit words: widths around
    // 62/126 put image voxels on word boundaries; >= 1024 foreground words run the parallel collection
    std::mt19937_64 rng(2024);
    const std::vector<std::vector<std::size_t>> shapes = {
        {3, 7, 61}, {4, 5, 62}, {2, 6, 63}, {5, 4, 64}, {3, 3, 126}, {2, 4, 127}, {1, 9, 190},
        {30, 40, 62}, {9, 40, 30}, {12, 62}, {1100, 63}, {8, 126}};
    for (const auto& shape : shapes)
    {
        for (double density : {0.4, 0.8, 1.0})
        {
            const auto m = random_blobs(rng, shape, density, 2);
            const auto expected = ref::lee(m);
            xskan::skeletonize_options opt;
            opt.method = skeleton_method::lee;
            for (std::size_t threads : {1u, 2u})
            {
                INFO("shape " << shape[0] << "x" << shape[1] << (shape.size() == 3 ? "x" + std::to_string(shape[2]) : "")
                              << " density " << density << " threads " << threads);
                opt.threads = threads;
                REQUIRE(mismatches(xskan::skeletonize(m, opt), expected) == 0);
            }
        }
    }
}

TEST_CASE("skeletonize thread team runs every index per phase, rethrows and stays usable", "[skeletonize]")
{
    for (std::size_t n : {1u, 2u, 3u})
    {
        xskan::detail::skel_team team(n);
        REQUIRE(team.size() == n);
        std::vector<int> hits(n, 0);
        for (int phase = 0; phase < 200; ++phase)
        {
            team.run([&](std::size_t t) { hits[t] += 1; });
        }
        for (std::size_t t = 0; t < n; ++t)
            CHECK(hits[t] == 200);
        CHECK_THROWS_AS(team.run([&](std::size_t t) {
            if (t + 1 == n)
                throw std::runtime_error("task failed");
        }),
                        std::runtime_error);
        team.run([&](std::size_t t) { hits[t] = -1; });
        for (std::size_t t = 0; t < n; ++t)
            CHECK(hits[t] == -1);
    }
}

TEST_CASE("Zhang bit-sliced tables equal scikit-image's LUT for every neighbourhood", "[skeletonize][2d]")
{
    // Word q, bit i holds neighbourhood code 64 q + i (bits NW, N, NE, E, SE, S, SW, W).
    std::uint64_t plane[4][8] = {};
    for (int code = 0; code < 256; ++code)
    {
        for (int k = 0; k < 8; ++k)
        {
            plane[code / 64][k] |= static_cast<std::uint64_t>((code >> k) & 1) << (code % 64);
        }
    }
    for (int q = 0; q < 4; ++q)
    {
        const auto* p = plane[q];
        std::uint64_t rm1 = 0, other1 = 0, rm2 = 0, other2 = 0;
        xskan::detail::zhang_lut_sliced_first(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], rm1, other1);
        xskan::detail::zhang_lut_sliced_second(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], rm2, other2);
        for (int i = 0; i < 64; ++i)
        {
            const int code = 64 * q + i;
            const int v = xskan::detail::zhang_lut[code];
            INFO("code " << code);
            REQUIRE(((rm1 >> i) & 1u) == static_cast<std::uint64_t>(v == 1 || v == 3));
            REQUIRE(((other1 >> i) & 1u) == static_cast<std::uint64_t>(v == 2));
            REQUIRE(((rm2 >> i) & 1u) == static_cast<std::uint64_t>(v == 2 || v == 3));
            REQUIRE(((other2 >> i) & 1u) == static_cast<std::uint64_t>(v == 1));
        }
    }
    // spot values of scikit-image's table
    CHECK(xskan::detail::zhang_lut[3] == 1);
    CHECK(xskan::detail::zhang_lut[24] == 2);
    CHECK(xskan::detail::zhang_lut[7] == 3);
    CHECK(xskan::detail::zhang_lut[255] == 0);
}

// ------------------------------------------------------------------------------------
// Random shapes against the slow transcription + invariants
// ------------------------------------------------------------------------------------

TEST_CASE("skeletonize matches the reference algorithm and its invariants on random 2D shapes", "[skeletonize][2d]")
{
    std::mt19937_64 rng(777);
    // widths around word and SIMD-register boundaries (rows of 2..11 words incl. the padding)
    const std::vector<std::vector<std::size_t>> shapes = {{1, 1},    {1, 9},    {9, 1},    {2, 2},
                                                          {3, 70},   {17, 63},  {31, 64},  {12, 65},
                                                          {40, 127}, {33, 130}, {5, 200},  {14, 318},
                                                          {6, 445},  {3, 574},  {1, 700}};
    int cases = 0;
    for (const auto& shape : shapes)
    {
        for (double density : {0.3, 0.55, 0.8, 1.0})
        {
            for (int smooth : {0, 2, 4})
            {
                const auto m = random_blobs(rng, shape, density, smooth);
                INFO("shape " << shape[0] << "x" << shape[1] << " density " << density << " smooth " << smooth);
                const auto z = xskan::skeletonize(m);
                const auto l = xskan::skeletonize(m, skeleton_method::lee);
                REQUIRE(mismatches(z, ref::zhang(m)) == 0);
                REQUIRE(mismatches(l, ref::lee(m)) == 0);
                xskan::skeletonize_options two;
                two.threads = 2;
                CHECK(mismatches(xskan::skeletonize(m, two), z) == 0);
                // subset, 0/1, same number of 8-connected components, idempotent
                CHECK(is_subset(z, m));
                CHECK(is_subset(l, m));
                CHECK(all_zero_one(z));
                CHECK(all_zero_one(l));
                CHECK(count_components(z) == count_components(m));
                CHECK(count_components(l) == count_components(m));
                CHECK(mismatches(xskan::skeletonize(z), z) == 0);
                CHECK(mismatches(xskan::skeletonize(l, skeleton_method::lee), l) == 0);
                ++cases;
            }
        }
    }
    CHECK(cases == 15 * 4 * 3);
}

TEST_CASE("skeletonize_3d matches the reference algorithm and its invariants on random 3D shapes", "[skeletonize][3d]")
{
    std::mt19937_64 rng(4242);
    const std::vector<std::vector<std::size_t>> shapes = {{1, 12, 13}, {2, 9, 9}, {7, 1, 20}, {10, 11, 12}, {16, 8, 24}};
    for (const auto& shape : shapes)
    {
        for (double density : {0.3, 0.6, 1.0})
        {
            for (int smooth : {0, 2, 3})
            {
                const auto m = random_blobs(rng, shape, density, smooth);
                INFO("shape " << shape[0] << "x" << shape[1] << "x" << shape[2] << " density " << density);
                const auto l = xskan::skeletonize_3d(m);
                REQUIRE(mismatches(l, ref::lee(m)) == 0);
                CHECK(is_subset(l, m));
                CHECK(all_zero_one(l));
                CHECK(mismatches(xskan::skeletonize_3d(l), l) == 0);
                // Lee's 3D thinning never splits a component and never creates one; it can
                // remove a small component entirely (scikit-image does too), so compare labels.
                std::vector<int> in_labels, out_labels;
                const std::size_t n_in = count_components(m, &in_labels);
                const std::size_t n_out = count_components(l, &out_labels);
                CHECK(n_out <= n_in);
                std::vector<int> owner(n_in + 1, 0);
                bool split = false;
                for (std::size_t i = 0; i < l.size(); ++i)
                {
                    if (!l.data()[i])
                        continue;
                    int& o = owner[std::size_t(in_labels[i])];
                    if (o == 0)
                        o = out_labels[i];
                    else if (o != out_labels[i])
                        split = true;
                }
                CHECK_FALSE(split);
            }
        }
    }
}

// ------------------------------------------------------------------------------------
// Edge cases and bad input
// ------------------------------------------------------------------------------------

TEST_CASE("skeletonize edge cases match scikit-image", "[skeletonize][2d]")
{
    // outputs printed by scikit-image 0.19.3
    SECTION("all ones 1x6 (Zhang and Lee keep the line)")
    {
        xt::xarray<u8> m = xt::ones<u8>({1, 6});
        CHECK(same(xskan::skeletonize(m), m));
        CHECK(same(xskan::skeletonize(m, skeleton_method::lee), m));
        xt::xarray<u8> col = xt::ones<u8>({6, 1});
        CHECK(same(xskan::skeletonize(col), col));
        CHECK(same(xskan::skeletonize_3d(col), col));
    }
    SECTION("all ones 3x6")
    {
        xt::xarray<u8> m = xt::ones<u8>({3, 6});
        xt::xarray<u8> zhang = {{0, 0, 0, 0, 1, 0}, {1, 1, 1, 1, 0, 0}, {0, 0, 0, 0, 0, 0}};
        xt::xarray<u8> lee = {{0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0}};
        CHECK(same(xskan::skeletonize(m), zhang));
        CHECK(same(xskan::skeletonize(m, skeleton_method::lee), lee));
    }
    SECTION("all ones 2x2 keeps the top row (Zhang)")
    {
        xt::xarray<u8> m = xt::ones<u8>({2, 2});
        xt::xarray<u8> zhang = {{1, 1}, {0, 0}};
        CHECK(same(xskan::skeletonize(m), zhang));
    }
    SECTION("all ones 3D 2x3x6 and 1x1")
    {
        xt::xarray<u8> m = xt::ones<u8>({2, 3, 6});
        xt::xarray<u8> lee = xt::zeros<u8>({2, 3, 6});
        for (std::size_t c = 1; c < 5; ++c)
            lee(0, 1, c) = 1;
        CHECK(same(xskan::skeletonize_3d(m), lee));
        xt::xarray<u8> one = xt::ones<u8>({1, 1});
        CHECK(same(xskan::skeletonize_3d(one), one));
        CHECK(same(xskan::skeletonize(one), one));
    }
    SECTION("all zero")
    {
        xt::xarray<u8> z2 = xt::zeros<u8>({7, 9});
        xt::xarray<u8> z3 = xt::zeros<u8>({3, 7, 9});
        CHECK(same(xskan::skeletonize(z2), z2));
        CHECK(same(xskan::skeletonize(z2, skeleton_method::lee), z2));
        CHECK(same(xskan::skeletonize_3d(z3), z3));
    }
    SECTION("empty arrays give empty skeletons of the same shape (as scikit-image)")
    {
        xt::xarray<u8> e2 = xt::zeros<u8>({0, 5});
        xt::xarray<u8> e3 = xt::zeros<u8>({4, 0, 5});
        CHECK(xskan::skeletonize(e2).shape() == e2.shape());
        CHECK(xskan::skeletonize(e2, skeleton_method::lee).shape() == e2.shape());
        CHECK(xskan::skeletonize_3d(e3).shape() == e3.shape());
    }
}

TEST_CASE("skeletonize rejects wrong dimensions with clear errors", "[skeletonize]")
{
    xt::xarray<u8> a1 = xt::ones<u8>({5});
    xt::xarray<u8> a3 = xt::ones<u8>({3, 4, 5});
    xt::xarray<u8> a4 = xt::ones<u8>({2, 3, 4, 5});
    xt::xarray<u8> a0 = xt::xarray<u8>::from_shape({});
    CHECK_THROWS_AS(xskan::skeletonize(a1), std::invalid_argument);
    CHECK_THROWS_AS(xskan::skeletonize(a3), std::invalid_argument);  // zhang is 2D only
    CHECK_THROWS_AS(xskan::skeletonize(a4, skeleton_method::lee), std::invalid_argument);
    CHECK_THROWS_AS(xskan::skeletonize_3d(a4), std::invalid_argument);
    CHECK_THROWS_AS(xskan::skeletonize_3d(a1), std::invalid_argument);
    CHECK_THROWS_AS(xskan::skeletonize_3d(a0), std::invalid_argument);
    CHECK_THROWS_WITH(xskan::skeletonize(a3), Catch::Contains("2D") && Catch::Contains("(3, 4, 5)"));
    CHECK_THROWS_WITH(xskan::skeletonize_3d(a4), Catch::Contains("2D or 3D") && Catch::Contains("4-D"));
    xskan::skeletonize_options bad;
    bad.method = static_cast<skeleton_method>(7);
    CHECK_THROWS_AS(xskan::skeletonize(xt::xarray<u8>(xt::ones<u8>({3, 3})), bad), std::invalid_argument);
}

TEST_CASE("skeletonize accepts any value type, views and expressions", "[skeletonize][2d][3d]")
{
    std::mt19937_64 rng(99);
    const auto m = random_blobs(rng, {37, 71}, 0.6, 3);
    const auto expected_z = xskan::skeletonize(m);
    const auto expected_l = xskan::skeletonize(m, skeleton_method::lee);

    SECTION("value types: non-zero is foreground (negative, fractional and NaN included)")
    {
        xt::xarray<double> d = xt::cast<double>(m) * 0.25;  // 0.25 is foreground here
        xt::xarray<float> f = xt::cast<float>(m);
        for (std::size_t i = 0; i < f.size(); ++i)
            if (f.data()[i] != 0.f && i % 3 == 0)
                f.data()[i] = std::numeric_limits<float>::quiet_NaN();
        xt::xarray<std::int32_t> n = xt::cast<std::int32_t>(m) * -7;
        xt::xarray<bool> b = xt::cast<bool>(m);
        xt::xarray<std::uint16_t> w = xt::cast<std::uint16_t>(m) * std::uint16_t(300);
        CHECK(mismatches(xskan::skeletonize(d), expected_z) == 0);
        CHECK(mismatches(xskan::skeletonize(f), expected_z) == 0);
        CHECK(mismatches(xskan::skeletonize(n), expected_z) == 0);
        CHECK(mismatches(xskan::skeletonize(b), expected_z) == 0);
        CHECK(mismatches(xskan::skeletonize(w), expected_z) == 0);
        CHECK(mismatches(xskan::skeletonize(d, skeleton_method::lee), expected_l) == 0);
        CHECK(mismatches(xskan::skeletonize(b, skeleton_method::lee), expected_l) == 0);
    }
    SECTION("transposed, strided and lazy expressions")
    {
        xt::xarray<u8> mt = xt::transpose(m);  // contiguous transpose
        const auto zt = xskan::skeletonize(xt::transpose(mt));
        CHECK(mismatches(zt, expected_z) == 0);
        xt::xarray<u8> big = xt::zeros<u8>({74, 142});
        xt::view(big, xt::range(0, 74, 2), xt::range(1, 142, 2)) = m;
        auto strided = xt::view(big, xt::range(0, 74, 2), xt::range(1, 142, 2));
        CHECK(mismatches(xskan::skeletonize(strided), expected_z) == 0);
        CHECK(mismatches(xskan::skeletonize(strided, skeleton_method::lee), expected_l) == 0);
        CHECK(mismatches(xskan::skeletonize(xt::cast<double>(m) * 2.0), expected_z) == 0);
        // a row-range view is contiguous and used in place
        xt::xarray<u8> padded = xt::zeros<u8>({39, 71});
        xt::view(padded, xt::range(1, 38), xt::all()) = m;
        CHECK(mismatches(xskan::skeletonize(xt::view(padded, xt::range(1, 38), xt::all())), expected_z) == 0);
    }
    SECTION("out-parameter form reuses buffers and gives the same result")
    {
        xt::xarray<u8> out;
        xskan::skeletonize_workspace ws;
        xskan::skeletonize_options opt;
        xskan::skeletonize(m, out, opt, ws);
        CHECK(same(out, expected_z));
        const u8* data = out.data();
        xskan::skeletonize(m, out, opt, ws);
        CHECK(out.data() == data);
        CHECK(same(out, expected_z));
        opt.method = skeleton_method::lee;
        xskan::skeletonize(m, out, opt, ws);
        CHECK(same(out, expected_l));
        xt::xarray<u8> vol = xt::stack(xt::xtuple(m, m));
        xskan::skeletonize(vol, out, opt, ws);
        CHECK(out.dimension() == 3);
        CHECK(mismatches(out, xskan::skeletonize_3d(vol)) == 0);
    }
}
