// Sparse correlation: goldens from scikit-image 0.19.3, all strategies against a
// brute-force reference, box-corner sums, bad input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include <xskan/correlate.hpp>
#include <xskan/integral_image.hpp>

#include "golden.hpp"

using xskan::mode;
using xskan::sparse_kernel;
namespace st = xskan::strategy;

namespace
{
    const mode all_modes[] = {mode::valid, mode::reflect, mode::constant, mode::nearest, mode::mirror, mode::wrap};

    /// Number of samples that differ bitwise (NaN == NaN), or SIZE_MAX on a shape mismatch.
    template <class A, class B>
    std::size_t bit_mismatches(const A& a, const B& b)
    {
        if (a.dimension() != b.dimension() || !std::equal(a.shape().begin(), a.shape().end(), b.shape().begin()))
        {
            return std::numeric_limits<std::size_t>::max();
        }
        std::size_t bad = 0;
        auto ia = a.begin();
        for (auto ib = b.begin(); ib != b.end(); ++ib, ++ia)
        {
            const auto x = *ia;
            const auto y = static_cast<decltype(x)>(*ib);
            const bool both_nan = std::isnan(x) && std::isnan(y);
            if (!both_nan && std::memcmp(&x, &y, sizeof(x)) != 0)
            {
                ++bad;
            }
        }
        return bad;
    }

    template <class A, class B>
    double max_rel_diff(const A& a, const B& b)
    {
        double m = 0;
        auto ia = a.begin();
        for (auto ib = b.begin(); ib != b.end(); ++ib, ++ia)
        {
            const double x = static_cast<double>(*ia);
            const double y = static_cast<double>(*ib);
            m = std::max(m, std::abs(x - y) / std::max(1.0, std::abs(y)));
        }
        return m;
    }

    /// Brute force from the definition, with numpy's rounding (volatile blocks FMA contraction).
    template <class F, class KT>
    xt::xarray<F> reference(const xt::xarray<F>& img, const sparse_kernel<KT>& k, mode m)
    {
        const std::size_t nd = img.dimension();
        std::vector<std::size_t> pad(nd, 0);
        std::vector<std::vector<std::ptrdiff_t>> maps(nd);
        std::vector<std::size_t> oshape(nd);
        for (std::size_t a = 0; a < nd; ++a)
        {
            pad[a] = m == mode::valid ? 0 : k.shape()[a] / 2;
            maps[a] = xskan::detail::pad_indices(img.shape()[a], pad[a], pad[a], m == mode::valid ? mode::constant : m);
            oshape[a] = m == mode::valid ? img.shape()[a] - k.shape()[a] + 1 : img.shape()[a];
        }
        // terms: corner first (0 if absent), then the rest in C order
        std::vector<std::vector<std::size_t>> idx;
        std::vector<F> val;
        bool corner = k.nnz() > 0;
        for (std::size_t a = 0; a < nd && corner; ++a)
        {
            corner = k.index(0, a) == 0;
        }
        if (!corner)
        {
            idx.push_back(std::vector<std::size_t>(nd, 0));
            val.push_back(F(0));
        }
        for (std::size_t t = 0; t < k.nnz(); ++t)
        {
            idx.push_back(k.index(t));
            val.push_back(static_cast<F>(k.values()[t]));
        }
        xt::xarray<F> out = xt::xarray<F>::from_shape(oshape);
        std::vector<std::size_t> o(nd, 0);
        for (std::size_t flat = 0; flat < out.size(); ++flat)
        {
            F acc = 0;
            for (std::size_t t = 0; t < idx.size(); ++t)
            {
                std::size_t src = 0;
                bool zero = false;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    const std::ptrdiff_t s = maps[a][o[a] + idx[t][a]];
                    zero = zero || s < 0;
                    src = src * img.shape()[a] + static_cast<std::size_t>(s < 0 ? 0 : s);
                }
                const F x = zero ? F(0) : img.data()[src];
                volatile F p = val[t] * x;
                acc = t == 0 ? F(p) : F(acc + p);
            }
            out.data()[flat] = acc;
            for (std::size_t a = nd; a-- > 0;)
            {
                if (++o[a] < oshape[a])
                {
                    break;
                }
                o[a] = 0;
            }
        }
        return out;
    }

    template <class F>
    xt::xarray<F> random_image(const std::vector<std::size_t>& shape, std::mt19937& rng)
    {
        std::uniform_real_distribution<double> d(-10.0, 10.0);
        xt::xarray<F> a = xt::xarray<F>::from_shape(shape);
        for (auto& v : a)
        {
            v = static_cast<F>(d(rng));
        }
        return a;
    }

    sparse_kernel<double> random_kernel(const std::vector<std::size_t>& kshape, std::size_t nnz, bool unit,
                                        std::mt19937& rng)
    {
        std::size_t total = 1;
        for (auto s : kshape)
        {
            total *= s;
        }
        std::uniform_int_distribution<std::size_t> pos(0, total - 1);
        std::uniform_real_distribution<double> val(-2.0, 2.0);
        std::bernoulli_distribution coin(0.5);
        xt::xarray<double> dense = xt::zeros<double>(kshape);
        for (std::size_t t = 0; t < nnz; ++t)
        {
            dense.data()[pos(rng)] = unit ? (coin(rng) ? 1.0 : -1.0) : val(rng);
        }
        return sparse_kernel<double>::from_dense(dense);
    }

    template <class Strategy, class F>
    void check_against_reference(const xt::xarray<F>& img, const sparse_kernel<double>& k, mode m, bool exact)
    {
        const auto ref = reference(img, k, m);
        const auto got = xskan::correlate_sparse<Strategy>(img, k, m);
        if (exact)
        {
            REQUIRE(bit_mismatches(got, ref) == 0);
        }
        else
        {
            REQUIRE(got.shape() == ref.shape());
            REQUIRE(max_rel_diff(got, ref) < 1e-4);
        }
    }
}  // namespace

// ---------------------------------------------------------------------------
// Goldens (scikit-image 0.19.3)

TEMPLATE_TEST_CASE("correlate_sparse equals scikit-image on the goldens", "[golden][2d][3d]", st::pixel_outer,
                   st::offset_outer, st::no_indirection, st::simd)
{
    struct golden_case
    {
        const char* stem;
        const char* mode_name;
    };
    const golden_case cases[] = {
        {"cs2d", "valid"},     {"cs2d", "reflect"},     {"cs2d", "constant"}, {"cs2d", "nearest"},
        {"cs2d", "mirror"},    {"cs2d", "wrap"},        {"cs3d", "reflect"},  {"cs3d", "valid"},
        {"cs2d_u8", "reflect"}, {"cs2d_u8", "valid"},
    };
    for (const auto& c : cases)
    {
        const std::string base = xskan_test::golden(std::string("A_correlate_sparse/") + c.stem);
        XSKAN_REQUIRE_FILE_OR_SKIP(base + "_image.npy");
        INFO(c.stem << " " << c.mode_name);
        const auto kernel = xskan_test::load_npy<double>(base + "_kernel.npy");
        const auto expected = xskan_test::load_npy<double>(base + "_" + c.mode_name + ".npy");
        const mode m = xskan::mode_from_string(c.mode_name);
        if (std::string(c.stem) == "cs2d_u8")
        {
            const auto image = xskan_test::load_npy<std::uint8_t>(base + "_image.npy");
            const auto got = xskan::correlate_sparse<TestType>(image, kernel, m);
            static_assert(std::is_same<decltype(got), const xt::xarray<double>>::value, "uint8 -> double");
            CHECK(bit_mismatches(got, expected) == 0);
        }
        else
        {
            const auto image = xskan_test::load_npy<double>(base + "_image.npy");
            const auto got = xskan::correlate_sparse<TestType>(image, kernel, m);
            CHECK(bit_mismatches(got, expected) == 0);
            // the sparse-kernel overload is the same computation
            const auto got2 = xskan::correlate_sparse<TestType>(image, sparse_kernel<double>::from_dense(kernel), m);
            CHECK(bit_mismatches(got2, expected) == 0);
        }
    }
}

TEMPLATE_TEST_CASE("correlate_sparse float32 stays float32 and equals scikit-image", "[golden][2d]", st::pixel_outer,
                   st::offset_outer, st::no_indirection, st::simd)
{
    const std::string base = xskan_test::golden("A_correlate_sparse/cs2d_f32");
    XSKAN_REQUIRE_FILE_OR_SKIP(base + "_image.npy");
    const auto image = xskan_test::load_npy<float>(base + "_image.npy");
    const auto kernel = xskan_test::load_npy<double>(base + "_kernel.npy");  // float64 kernel, cast to float32
    for (const char* name : {"reflect", "constant", "valid"})
    {
        INFO(name);
        const auto expected = xskan_test::load_npy<float>(base + "_" + name + ".npy");
        const auto got = xskan::correlate_sparse<TestType>(image, kernel, xskan::mode_from_string(name));
        static_assert(std::is_same<decltype(got), const xt::xarray<float>>::value, "float -> float");
        CHECK(bit_mismatches(got, expected) == 0);
    }
}

TEST_CASE("correlate_sparse simd_fma is within rounding of the goldens", "[golden][2d][3d]")
{
    for (const char* stem : {"cs2d", "cs3d"})
    {
        const std::string base = xskan_test::golden(std::string("A_correlate_sparse/") + stem);
        XSKAN_REQUIRE_FILE_OR_SKIP(base + "_image.npy");
        const auto image = xskan_test::load_npy<double>(base + "_image.npy");
        const auto kernel = xskan_test::load_npy<double>(base + "_kernel.npy");
        for (const char* name : {"reflect", "valid"})
        {
            const auto expected = xskan_test::load_npy<double>(base + "_" + name + ".npy");
            const auto got = xskan::correlate_sparse<st::simd_fma>(image, kernel, xskan::mode_from_string(name));
            REQUIRE(got.shape() == expected.shape());
            CHECK(max_rel_diff(got, expected) < 1e-13);
        }
    }
    const std::string base = xskan_test::golden("A_correlate_sparse/cs2d_f32");
    const auto image = xskan_test::load_npy<float>(base + "_image.npy");
    const auto kernel = xskan_test::load_npy<double>(base + "_kernel.npy");
    const auto expected = xskan_test::load_npy<float>(base + "_reflect.npy");
    const auto got = xskan::correlate_sparse<st::simd_fma>(image, kernel);
    CHECK(max_rel_diff(got, expected) < 1e-5);
}

// ---------------------------------------------------------------------------
// Every strategy against the brute-force reference

TEMPLATE_TEST_CASE("all strategies equal the reference on random shapes", "[nd][1d][2d][3d]", double, float)
{
    using F = TestType;
    std::mt19937 rng(12345);
    std::uniform_int_distribution<std::size_t> ext(1, 37);
    std::uniform_int_distribution<std::size_t> kext(0, 3);  // kernel extent 2*k+1 (odd)
    std::uniform_int_distribution<std::size_t> nnz(1, 6);
    for (std::size_t nd = 1; nd <= 3; ++nd)
    {
        for (int rep = 0; rep < 14; ++rep)
        {
            std::vector<std::size_t> shape(nd);
            std::vector<std::size_t> kshape(nd);
            for (std::size_t a = 0; a < nd; ++a)
            {
                shape[a] = (nd == 3 && a < 2) ? std::min<std::size_t>(ext(rng), 9) : ext(rng);
                kshape[a] = 2 * kext(rng) + 1;
            }
            if (rep == 0)
            {
                shape[nd - 1] = 1;  // 1-pixel-wide
            }
            const bool unit = rep % 3 == 0;
            const auto img = random_image<F>(shape, rng);
            const auto k = random_kernel(kshape, nnz(rng), unit, rng);
            for (mode m : all_modes)
            {
                bool fits = true;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    fits = fits && kshape[a] <= shape[a];
                }
                if (m == mode::valid && !fits)
                {
                    CHECK_THROWS_AS(xskan::correlate_sparse(img, k, m), std::invalid_argument);
                    continue;
                }
                INFO("shape " << xskan::detail::shape_to_string(shape) << " kernel "
                              << xskan::detail::shape_to_string(kshape) << " mode " << xskan::to_string(m));
                check_against_reference<st::pixel_outer>(img, k, m, true);
                check_against_reference<st::offset_outer>(img, k, m, true);
                check_against_reference<st::no_indirection>(img, k, m, true);
                check_against_reference<st::simd>(img, k, m, true);
                check_against_reference<st::simd_fma>(img, k, m, unit);
            }
        }
    }
}

TEMPLATE_TEST_CASE("strategies agree on even kernels in valid mode and long rows", "[2d]", double, float)
{
    using F = TestType;
    std::mt19937 rng(7);
    // widths around multiples of every SIMD width (4, 8, 16) and of the 4-batch block
    for (std::size_t width : {3u, 15u, 16u, 17u, 31u, 63u, 64u, 65u, 129u})
    {
        const auto img = random_image<F>({5, width + 3}, rng);
        const auto k = random_kernel({2, 4}, 5, false, rng);
        INFO("width " << width);
        check_against_reference<st::pixel_outer>(img, k, mode::valid, true);
        check_against_reference<st::offset_outer>(img, k, mode::valid, true);
        check_against_reference<st::no_indirection>(img, k, mode::valid, true);
        check_against_reference<st::simd>(img, k, mode::valid, true);
    }
}

TEST_CASE("zero corner entry starts from 0*x like scikit-image (inf -> NaN, -0.0)", "[2d]")
{
    xt::xarray<double> img = {{1.0, -2.0, 3.0}, {std::numeric_limits<double>::infinity(), 5.0, 6.0}};
    // kernel (1, 2): corner 0, entry (0, 1) = 1
    const xt::xarray<double> kernel = {{0.0, 1.0}};
    const auto out = xskan::correlate_sparse<st::simd>(img, kernel, mode::valid);
    REQUIRE(out.shape() == std::vector<std::size_t>{2, 2});
    CHECK(out(0, 0) == -2.0);
    CHECK(out(0, 1) == 3.0);
    CHECK(std::isnan(out(1, 0)));  // 0*inf + 5
    CHECK(out(1, 1) == 6.0);
    // all-zero kernel: 0*x everywhere (signed zeros kept)
    const xt::xarray<double> zero_kernel = xt::zeros<double>({1, 1});
    for (const auto& r : {xskan::correlate_sparse<st::simd>(img, zero_kernel, mode::valid),
                          xskan::correlate_sparse<st::pixel_outer>(img, zero_kernel, mode::valid)})
    {
        CHECK(r(0, 0) == 0.0);
        CHECK(std::signbit(r(0, 1)));  // 0 * -2 = -0
        CHECK(std::isnan(r(1, 0)));
    }
}

TEST_CASE("hand-computed 1-D correlation in every mode", "[1d]")
{
    const xt::xarray<double> x = {1.0, 2.0, 4.0, 8.0};
    const xt::xarray<double> k = {1.0, 0.0, 10.0};  // out[i] = P[i] + 10 P[i+2]
    CHECK((xskan::correlate_sparse(x, k, mode::valid) == xt::xarray<double>{41.0, 82.0}));
    // reflect: P = 1 | 1 2 4 8 | 8
    CHECK((xskan::correlate_sparse(x, k) == xt::xarray<double>{21.0, 41.0, 82.0, 84.0}));
    // mirror: P = 2 | 1 2 4 8 | 4
    CHECK((xskan::correlate_sparse(x, k, mode::mirror) == xt::xarray<double>{22.0, 41.0, 82.0, 44.0}));
    CHECK((xskan::correlate_sparse(x, k, mode::constant) == xt::xarray<double>{20.0, 41.0, 82.0, 4.0}));
    CHECK((xskan::correlate_sparse(x, k, mode::nearest) == xt::xarray<double>{21.0, 41.0, 82.0, 84.0}));
    // wrap: P = 8 | 1 2 4 8 | 1
    CHECK((xskan::correlate_sparse(x, k, mode::wrap) == xt::xarray<double>{28.0, 41.0, 82.0, 14.0}));
}

TEMPLATE_TEST_CASE("simd schedules (natural/chained rows, plain/streaming stores) agree", "[2d][3d]", double, float)
{
    using F = TestType;
    std::mt19937 rng(21);
    const std::vector<std::vector<std::size_t>> shapes = {{9, 70}, {40, 33}, {7, 6, 45}, {1, 100}, {12, 1}};
    for (const auto& shape : shapes)
    {
        const std::size_t nd = shape.size();
        std::vector<std::size_t> kshape(nd);
        for (std::size_t a = 0; a < nd; ++a)
        {
            kshape[a] = std::min<std::size_t>(shape[a], a == 0 ? 4 : 3);
        }
        const auto img = random_image<F>(shape, rng);
        for (bool unit : {true, false})
        {
            const auto k = unit ? sparse_kernel<double>::box_corners([&] {
                std::vector<std::size_t> w(nd);
                for (std::size_t a = 0; a < nd; ++a)
                {
                    w[a] = kshape[a] - 1 == 0 ? 1 : kshape[a] - 1;
                }
                return w;
            }())
                                : random_kernel(kshape, 5, false, rng);
            bool fits = true;
            for (std::size_t a = 0; a < nd; ++a)
            {
                fits = fits && k.shape()[a] <= shape[a];
            }
            if (!fits)
            {
                continue;
            }
            const auto ref = reference(img, k, mode::valid);
            std::vector<std::size_t> in_shape(shape.begin(), shape.end());
            std::vector<std::size_t> out_shape(ref.shape().begin(), ref.shape().end());
            const auto plan = xskan::detail::make_plan<F>(k, out_shape, xskan::detail::contiguous_strides(in_shape),
                                                          xskan::detail::contiguous_strides(out_shape));
            for (bool chained : {false, true})
            {
                for (int streaming : {0, 1})
                {
                    INFO("shape " << xskan::detail::shape_to_string(shape) << " chained " << chained << " streaming "
                                  << streaming << " unit " << unit);
                    // offset the output by one element so streaming needs a scalar head
                    std::vector<F> buf(ref.size() + 1, F(-1));
                    xskan::detail::correlate_simd<false>(img.data(), buf.data() + 1, plan, {chained, streaming});
                    CHECK(buf[0] == F(-1));
                    std::size_t bad = 0;
                    for (std::size_t i = 0; i < ref.size(); ++i)
                    {
                        bad += std::memcmp(&buf[i + 1], &ref.data()[i], sizeof(F)) != 0 ? 1 : 0;
                    }
                    CHECK(bad == 0);
                    // the widest architecture xsimd offers (e.g. AVX-512), no prefetch: same bits
                    std::vector<F> buf2(ref.size(), F(-1));
                    xskan::detail::correlate_simd<false, F, xsimd::default_arch>(img.data(), buf2.data(), plan,
                                                                                 {chained, streaming, false});
                    CHECK(std::memcmp(buf2.data(), ref.data(), ref.size() * sizeof(F)) == 0);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Box-corner kernel on integral images

TEMPLATE_TEST_CASE("box-corner kernel on an integral image gives box sums", "[2d][3d]", st::pixel_outer,
                   st::offset_outer, st::no_indirection, st::simd, st::simd_fma)
{
    std::mt19937 rng(99);
    std::uniform_int_distribution<int> d(0, 255);
    SECTION("2-D")
    {
        xt::xarray<std::uint8_t> img = xt::xarray<std::uint8_t>::from_shape({23, 41});
        for (auto& v : img)
        {
            v = static_cast<std::uint8_t>(d(rng));
        }
        const std::size_t w0 = 5;
        const std::size_t w1 = 7;
        // pad one zero row/column in front so sums start at the image border
        xt::xarray<double> padded = xt::zeros<double>({24, 42});
        xt::view(padded, xt::range(1, 24), xt::range(1, 42)) = img;
        const auto ii = xskan::integral_image(padded);
        const auto k = sparse_kernel<double>::box_corners({w0, w1});
        REQUIRE(k.nnz() == 4);
        CHECK(k.values() == std::vector<double>{1.0, -1.0, -1.0, 1.0});
        const auto sums = xskan::correlate_sparse<TestType>(ii, k, mode::valid);
        REQUIRE(sums.shape() == std::vector<std::size_t>{23 - w0 + 1, 41 - w1 + 1});
        for (std::size_t i = 0; i < sums.shape()[0]; ++i)
        {
            for (std::size_t j = 0; j < sums.shape()[1]; ++j)
            {
                double s = 0;
                for (std::size_t a = 0; a < w0; ++a)
                {
                    for (std::size_t b = 0; b < w1; ++b)
                    {
                        s += img(i + a, j + b);
                    }
                }
                REQUIRE(sums(i, j) == s);
            }
        }
    }
    SECTION("3-D")
    {
        xt::xarray<double> img = xt::xarray<double>::from_shape({9, 10, 19});
        for (auto& v : img)
        {
            v = d(rng);
        }
        const std::size_t w = 4;
        const auto ii = xskan::integral_image(img);
        const auto k = sparse_kernel<double>::box_corners({w, w, w});
        REQUIRE(k.nnz() == 8);
        // 3-D signs: (0,0,0) -1 (0 far components, parity differs from 3)
        CHECK(k.values()[0] == -1.0);
        CHECK(k.values()[7] == 1.0);
        const auto sums = xskan::correlate_sparse<TestType>(ii, k, mode::valid);
        REQUIRE(sums.shape() == std::vector<std::size_t>{9 - w, 10 - w, 19 - w});
        for (std::size_t i = 0; i < sums.shape()[0]; ++i)
        {
            for (std::size_t j = 0; j < sums.shape()[1]; ++j)
            {
                for (std::size_t l = 0; l < sums.shape()[2]; ++l)
                {
                    double s = 0;
                    for (std::size_t a = 1; a <= w; ++a)
                    {
                        for (std::size_t b = 1; b <= w; ++b)
                        {
                            for (std::size_t c = 1; c <= w; ++c)
                            {
                                s += img(i + a, j + b, l + c);
                            }
                        }
                    }
                    REQUIRE(sums(i, j, l) == s);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Views, out-parameters, raw strided sub-blocks

TEST_CASE("transposed and strided views give the result of their contiguous copy", "[2d][3d]")
{
    std::mt19937 rng(3);
    const auto base = random_image<double>({13, 21}, rng);
    const auto k = random_kernel({3, 5}, 4, false, rng);
    auto tr = xt::transpose(base);
    const xt::xarray<double> tr_copy = tr;
    for (mode m : all_modes)
    {
        INFO(xskan::to_string(m));
        const auto k53 = random_kernel({5, 3}, 3, false, rng);
        CHECK(bit_mismatches(xskan::correlate_sparse(tr, k53, m), reference(tr_copy, k53, m)) == 0);
    }
    auto sub = xt::view(base, xt::range(1, 12, 2), xt::range(2, 20, 3));  // non-contiguous
    const xt::xarray<double> sub_copy = sub;
    CHECK(bit_mismatches(xskan::correlate_sparse(sub, k, mode::reflect), reference(sub_copy, k, mode::reflect)) == 0);
    // column-major container
    xt::xarray<double, xt::layout_type::column_major> cm = base;
    CHECK(bit_mismatches(xskan::correlate_sparse(cm, k, mode::wrap), reference(base, k, mode::wrap)) == 0);
    // lazy expression
    CHECK(bit_mismatches(xskan::correlate_sparse(base * 2.0, k, mode::valid),
                         reference(xt::xarray<double>(base * 2.0), k, mode::valid)) == 0);
}

TEST_CASE("correlate_sparse_into writes into a reused container", "[2d]")
{
    std::mt19937 rng(4);
    const auto img = random_image<float>({30, 40}, rng);
    const auto k = random_kernel({4, 6}, 5, false, rng);
    xt::xarray<float> out = xt::xarray<float>::from_shape({27, 35});
    const float* before = out.data();
    xskan::correlate_sparse_into(img, k, out);  // valid by default, right shape: no reallocation
    CHECK(out.data() == before);
    CHECK(bit_mismatches(out, reference(img, k, mode::valid)) == 0);
    xt::xtensor<float, 2> out2;  // wrong shape: resized
    xskan::correlate_sparse_into<st::no_indirection>(img, k.to_dense(), out2);
    CHECK(bit_mismatches(out2, reference(img, k, mode::valid)) == 0);
    const auto k3 = random_kernel({3, 5}, 4, false, rng);
    xskan::correlate_sparse_into(img, k3, out, mode::nearest);
    CHECK(bit_mismatches(out, reference(img, k3, mode::nearest)) == 0);
    // output = input (same container, resized by the call): the input is copied first
    xt::xarray<float> same = img;
    xskan::correlate_sparse_into(same, k, same);
    CHECK(bit_mismatches(same, reference(img, k, mode::valid)) == 0);
    xt::xarray<float> same2 = img;
    xskan::correlate_sparse_into(same2, k3, same2, mode::reflect);  // same shape, in place
    CHECK(bit_mismatches(same2, reference(img, k3, mode::reflect)) == 0);
}

TEMPLATE_TEST_CASE("array_ref overload works on sub-blocks with a pitch", "[2d][3d]", st::pixel_outer,
                   st::offset_outer, st::no_indirection, st::simd, st::simd_fma)
{
    std::mt19937 rng(5);
    const auto big = random_image<double>({20, 50}, rng);
    const auto k = sparse_kernel<double>::box_corners({3, 4});
    // input: rows 2..15, cols 5..40 of `big`
    const xt::xarray<double> block = xt::view(big, xt::range(2, 16), xt::range(5, 41));
    xskan::array_ref<const double> in{big.data() + 2 * 50 + 5, {14, 36}, {50, 1}};
    xt::xarray<double> canvas = xt::full_like(big, -7.0);
    xskan::array_ref<double> out{canvas.data() + 1 * 50 + 3, {11, 32}, {50, 1}};
    xskan::correlate_sparse_into<TestType>(in, k, out);
    const auto ref = reference(block, k, mode::valid);
    std::size_t touched = 0;
    for (std::size_t i = 0; i < 20; ++i)
    {
        for (std::size_t j = 0; j < 50; ++j)
        {
            const bool inside = i >= 1 && i < 12 && j >= 3 && j < 35;
            if (inside)
            {
                REQUIRE(canvas(i, j) == ref(i - 1, j - 3));
                ++touched;
            }
            else
            {
                REQUIRE(canvas(i, j) == -7.0);
            }
        }
    }
    CHECK(touched == 11 * 32);
    // negative outer stride (rows upside down) is allowed
    xt::xarray<double> flipped = xt::zeros<double>({11, 32});
    xskan::array_ref<double> out_flip{flipped.data() + 10 * 32, {11, 32}, {-32, 1}};
    xskan::correlate_sparse_into<TestType>(in, k, out_flip);
    CHECK(flipped(10, 0) == ref(0, 0));
    CHECK(flipped(0, 31) == ref(10, 31));
}

// ---------------------------------------------------------------------------
// Bad input

TEST_CASE("bad input raises clear exceptions", "[error]")
{
    const xt::xarray<double> img = xt::ones<double>({6, 7});
    const xt::xarray<double> k3 = xt::ones<double>({3, 3});
    // wrong kernel ndim
    CHECK_THROWS_WITH(xskan::correlate_sparse(img, xt::xarray<double>(xt::ones<double>({3})), mode::reflect),
                      Catch::Contains("dimensions"));
    CHECK_THROWS_AS(xskan::correlate_sparse(img, xt::xarray<double>(xt::ones<double>({3, 3, 3})), mode::valid),
                    std::invalid_argument);
    // even kernel in a padded mode (fine in valid mode)
    const xt::xarray<double> k24 = xt::ones<double>({2, 4});
    for (mode m : {mode::reflect, mode::constant, mode::nearest, mode::mirror, mode::wrap})
    {
        CHECK_THROWS_WITH(xskan::correlate_sparse(img, k24, m), Catch::Contains("even"));
    }
    CHECK((xskan::correlate_sparse(img, k24, mode::valid) == xt::xarray<double>(xt::full_like(xt::ones<double>({5, 4}), 8.0))));
    // kernel larger than the image in valid mode
    CHECK_THROWS_WITH(xskan::correlate_sparse(img, xt::xarray<double>(xt::ones<double>({7, 3})), mode::valid),
                      Catch::Contains("must fit"));
    // ... but fine in padded modes (numpy pads repeatedly)
    CHECK(xskan::correlate_sparse(img, xt::xarray<double>(xt::ones<double>({9, 3})), mode::wrap).shape() ==
          img.shape());
    // empty image
    const xt::xarray<double> empty = xt::zeros<double>({0, 5});
    CHECK_THROWS_WITH(xskan::correlate_sparse(empty, k3), Catch::Contains("empty"));
    CHECK_THROWS_AS(xskan::correlate_sparse(empty, k3, mode::valid), std::invalid_argument);
    // empty / 0-D kernels
    CHECK_THROWS_AS(xskan::correlate_sparse(img, xt::xarray<double>(xt::zeros<double>({0, 3}))), std::invalid_argument);
    CHECK_THROWS_AS(sparse_kernel<double>::from_dense(xt::xarray<double>(5.0)), std::invalid_argument);
    // explicit lists
    CHECK_THROWS_WITH(sparse_kernel<double>({3, 3}, {{0, 0}, {1, 1}}, {1.0}), Catch::Contains("values"));
    CHECK_THROWS_WITH(sparse_kernel<double>({3, 3}, {{0, 3}}, {1.0}), Catch::Contains("outside"));
    CHECK_THROWS_WITH(sparse_kernel<double>({3, 3}, {{0}}, {1.0}), Catch::Contains("components"));
    CHECK_THROWS_WITH(sparse_kernel<double>({3, 3}, {{1, 1}, {1, 1}}, {1.0, 2.0}), Catch::Contains("more than once"));
    CHECK_THROWS_AS(sparse_kernel<double>::box_corners({3, 0}), std::invalid_argument);
    // raw arrays
    const auto kb = sparse_kernel<double>::box_corners({2, 2});
    xt::xarray<double> out = xt::zeros<double>({4, 5});
    xskan::array_ref<const double> in{img.data(), {6, 7}, {7, 1}};
    CHECK_THROWS_WITH(xskan::correlate_sparse_into(in, kb, xskan::array_ref<double>{out.data(), {4, 4}, {5, 1}}),
                      Catch::Contains("output shape"));
    CHECK_THROWS_WITH(xskan::correlate_sparse_into(xskan::array_ref<const double>{img.data(), {6, 7}, {7, 2}}, kb,
                                                   xskan::array_ref<double>{out.data(), {4, 5}, {5, 1}}),
                      Catch::Contains("stride 1"));
    CHECK_THROWS_AS(xskan::correlate_sparse_into(in, kb, xskan::array_ref<double>{out.data(), {4, 5}, {5}}),
                    std::invalid_argument);
    xskan::correlate_sparse_into(in, kb, xskan::array_ref<double>{out.data(), {4, 5}, {5, 1}});
    CHECK((out == xt::xarray<double>(xt::zeros<double>({4, 5}))));  // +1 -1 -1 +1 corners of a constant image
}

TEST_CASE("explicit (index, value) lists equal the dense kernel", "[2d]")
{
    // unordered input, a zero value dropped
    const sparse_kernel<double> k({3, 5}, {{2, 4}, {0, 1}, {1, 1}, {2, 0}}, {3.0, -1.0, 0.0, 0.5});
    REQUIRE(k.nnz() == 3);
    CHECK(k.index(0) == std::vector<std::size_t>{0, 1});
    CHECK(k.index(1) == std::vector<std::size_t>{2, 0});
    CHECK(k.index(2) == std::vector<std::size_t>{2, 4});
    CHECK(k.values() == std::vector<double>{-1.0, 0.5, 3.0});
    const auto dense = k.to_dense();
    CHECK(dense(0, 1) == -1.0);
    CHECK(dense(2, 4) == 3.0);
    CHECK(dense(1, 1) == 0.0);
    std::mt19937 rng(11);
    const auto img = random_image<double>({9, 12}, rng);
    CHECK(bit_mismatches(xskan::correlate_sparse(img, k), xskan::correlate_sparse(img, dense)) == 0);
}
