// Gaussian smoothing and shape index at the size of the analyze pipeline's SEM crop
// (984 x 1496 uint8, sigma 4.7 = 39 taps per axis), against the scalar implementation
// xskan had before (two separate passes over a full-size copy, 8 lanes, no explicit SIMD),
// kept here as the same-run reference.
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <xtensor/xarray.hpp>

#include <xskan/filters.hpp>

namespace
{
    constexpr std::size_t rows = 984, cols = 1496;
    constexpr double sigma = 4.7;

    const xt::xarray<std::uint8_t>& image()
    {
        static const xt::xarray<std::uint8_t> img = [] {
            xt::xarray<std::uint8_t> a = xt::xarray<std::uint8_t>::from_shape({rows, cols});
            std::mt19937 rng(1);
            for (auto& v : a) v = static_cast<std::uint8_t>(rng() % 256);
            return a;
        }();
        return img;
    }

    // The previous implementation (commit 23296fb): per axis, copy the image, then gather 8
    // neighbouring lines into a buffer and accumulate them lane by lane.
    template <class I, class O>
    void scalar_pass(const I* in, O* out, const std::vector<std::size_t>& shape, std::size_t axis,
                     const std::vector<double>& w, xskan::mode m)
    {
        const std::size_t n = shape[axis];
        std::size_t inner = 1, outer = 1;
        for (std::size_t a = axis + 1; a < shape.size(); ++a) inner *= shape[a];
        for (std::size_t a = 0; a < axis; ++a) outer *= shape[a];
        const std::size_t r = (w.size() - 1) / 2;
        const double* wc = w.data() + r;
        std::vector<std::ptrdiff_t> ext(n + 2 * r);
        for (std::size_t k = 0; k < ext.size(); ++k)
            ext[k] = xskan::detail::scipy_extend_index(static_cast<std::ptrdiff_t>(k) - static_cast<std::ptrdiff_t>(r),
                                                       static_cast<std::ptrdiff_t>(n), m);
        constexpr std::size_t lanes = 8;
        std::vector<double> buf((n + 2 * r) * lanes);
        for (std::size_t o = 0; o < outer; ++o)
        {
            for (std::size_t i0 = 0; i0 < inner; i0 += lanes)
            {
                const std::size_t nl = std::min(lanes, inner - i0);
                const I* src = in + o * n * inner + i0;
                O* dst = out + o * n * inner + i0;
                for (std::size_t k = 0; k < ext.size(); ++k)
                {
                    double* b = buf.data() + k * lanes;
                    const I* s = src + static_cast<std::size_t>(ext[k]) * inner;
                    for (std::size_t l = 0; l < nl; ++l) b[l] = static_cast<double>(s[l]);
                    for (std::size_t l = nl; l < lanes; ++l) b[l] = 0.0;
                }
                for (std::size_t i = 0; i < n; ++i)
                {
                    const double* x = buf.data() + (i + r) * lanes;
                    double a[lanes];
                    for (std::size_t l = 0; l < lanes; ++l) a[l] = x[l] * wc[0];
                    xskan::detail::fp_fence(a);
                    for (std::size_t j = r; j >= 1; --j)
                    {
                        const double* xl = x - j * lanes;
                        const double* xr = x + j * lanes;
                        const double wj = wc[-static_cast<std::ptrdiff_t>(j)];
                        double p[lanes];
                        for (std::size_t l = 0; l < lanes; ++l) p[l] = (xl[l] + xr[l]) * wj;
                        xskan::detail::fp_fence(p);
                        for (std::size_t l = 0; l < lanes; ++l) a[l] += p[l];
                    }
                    for (std::size_t l = 0; l < nl; ++l) dst[i * inner + l] = static_cast<O>(a[l]);
                }
            }
        }
    }

    xt::xarray<double> previous_gaussian(const xt::xarray<std::uint8_t>& img, xskan::mode m)
    {
        xt::xarray<double> out = xt::xarray<double>::from_shape(img.shape());
        for (std::size_t i = 0; i < img.size(); ++i) out.data()[i] = xskan::detail::img_as_float_value(img.data()[i]);
        const std::vector<std::size_t> shape(img.shape().begin(), img.shape().end());
        const auto w = xskan::detail::gaussian_kernel1d(sigma, static_cast<std::size_t>(4.0 * sigma + 0.5));
        std::vector<double> tmp(out.size());
        for (std::size_t a = 0; a < 2; ++a)
        {
            std::copy(out.begin(), out.end(), tmp.begin());
            scalar_pass(tmp.data(), out.data(), shape, a, w, m);
        }
        return out;
    }

    void set_counters(benchmark::State& state)
    {
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows * cols));
    }
}  // namespace

// Allocating form (fresh output every call: includes first-touch page faults unless malloc keeps memory).
static void BM_gaussian_alloc(benchmark::State& state)
{
    xskan::gaussian_options o;
    o.boundary = xskan::mode::reflect;
    for (auto _ : state) benchmark::DoNotOptimize(xskan::gaussian(image(), sigma, o).data());
    set_counters(state);
}
BENCHMARK(BM_gaussian_alloc)->Unit(benchmark::kMillisecond);

// Out-parameter form with a reused workspace: no allocation after the first call.
static void BM_gaussian_into(benchmark::State& state)
{
    xskan::gaussian_options o;
    o.boundary = xskan::mode::reflect;
    xt::xarray<double> out;
    xskan::gaussian_workspace ws;
    for (auto _ : state)
    {
        xskan::gaussian_into(image(), sigma, out, o, ws);
        benchmark::DoNotOptimize(out.data());
    }
    set_counters(state);
}
BENCHMARK(BM_gaussian_into)->Unit(benchmark::kMillisecond);

// float32 input (float32 output, double accumulation).
static void BM_gaussian_into_f32(benchmark::State& state)
{
    const xt::xarray<float> img = xt::cast<float>(image());
    xt::xarray<float> out;
    xskan::gaussian_workspace ws;
    for (auto _ : state)
    {
        xskan::gaussian_into(img, sigma, out, {}, ws);
        benchmark::DoNotOptimize(out.data());
    }
    set_counters(state);
}
BENCHMARK(BM_gaussian_into_f32)->Unit(benchmark::kMillisecond);

// The previous scalar implementation (same result bit for bit), as the same-run reference.
static void BM_gaussian_previous_scalar(benchmark::State& state)
{
    for (auto _ : state) benchmark::DoNotOptimize(previous_gaussian(image(), xskan::mode::reflect).data());
    set_counters(state);
}
BENCHMARK(BM_gaussian_previous_scalar)->Unit(benchmark::kMillisecond);

static void BM_shape_index(benchmark::State& state)
{
    for (auto _ : state) benchmark::DoNotOptimize(xskan::shape_index(image(), sigma).data());
    set_counters(state);
}
BENCHMARK(BM_shape_index)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
