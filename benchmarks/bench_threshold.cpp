// Sauvola benchmarks: the fused band mask path and the threshold-array path on a
// 4000x6000 image (float64 / float32 / uint8), windows 301 and 15, 1 and 2
// threads, a 256^3 volume with window 31, a bandwidth reference (read the image
// once, write a mask once), and OpenCV's niBlackThreshold(SAUVOLA) when built
// with OpenCV (benchmarks/opencv.cmake defines XSKAN_HAVE_OPENCV).
//
// Counters: Mpix/s (items = pixels), peak_extra_MB = the largest number of
// bytes allocated through operator new/malloc-backed containers during one call,
// beyond the caller's input and output buffers (tracked by replacing global
// operator new/delete in this executable).
//
// The 4000x6000 image is skan's inf1.tif page (1094x1536 uint8) tiled with
// mirror reflections, so it has real SEM texture; it is converted to the
// benchmarked type.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <xskan/filters.hpp>
#include <xskan/threshold.hpp>

#ifdef XSKAN_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/ximgproc.hpp>
#endif

// ---- allocation tracking ---------------------------------------------------
namespace
{
    std::atomic<std::int64_t> g_current{0};
    std::atomic<std::int64_t> g_peak{0};

    void note_alloc(std::size_t n)
    {
        const auto cur = g_current.fetch_add(static_cast<std::int64_t>(n)) + static_cast<std::int64_t>(n);
        auto peak = g_peak.load();
        while (cur > peak && !g_peak.compare_exchange_weak(peak, cur))
        {
        }
    }
}  // namespace

void* operator new(std::size_t n)
{
    void* p = std::malloc(n + 16);
    if (!p)
    {
        throw std::bad_alloc();
    }
    *static_cast<std::size_t*>(p) = n;
    note_alloc(n);
    return static_cast<char*>(p) + 16;
}

void operator delete(void* p) noexcept
{
    if (p)
    {
        char* base = static_cast<char*>(p) - 16;
        g_current.fetch_sub(static_cast<std::int64_t>(*reinterpret_cast<std::size_t*>(base)));
        std::free(base);
    }
}

void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace
{
    struct peak_scope
    {
        std::int64_t base;
        peak_scope() : base(g_current.load()) { g_peak.store(base); }
        double extra_mb() const { return static_cast<double>(g_peak.load() - base) / 1e6; }
    };

    // ---- input image -----------------------------------------------------------
    std::vector<std::uint8_t> read_tiff_page(const std::string& path, std::size_t& h, std::size_t& w)
    {
        std::ifstream f(path, std::ios::binary);
        std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        h = w = 0;
        if (b.size() < 8 || b[0] != 'I')
        {
            return {};
        }
        auto u16 = [&](std::size_t o) { return static_cast<std::uint32_t>(b.at(o) | (b.at(o + 1) << 8)); };
        auto u32 = [&](std::size_t o) { return u16(o) | (u16(o + 2) << 16); };
        const std::size_t ifd = u32(4);
        std::vector<std::uint32_t> offs;
        for (std::size_t i = 0; i < u16(ifd); ++i)
        {
            const std::size_t e = ifd + 2 + 12 * i;
            const auto tag = u16(e);
            const auto type = u16(e + 2);
            const auto count = u32(e + 4);
            auto val = [&](std::size_t k) {
                const std::size_t sz = type == 3 ? 2 : 4;
                const std::size_t at = (sz * count <= 4) ? e + 8 : u32(e + 8);
                return sz == 2 ? u16(at + 2 * k) : u32(at + 4 * k);
            };
            if (tag == 256) w = val(0);
            if (tag == 257) h = val(0);
            if (tag == 273)
            {
                for (std::size_t k = 0; k < count; ++k) offs.push_back(val(k));
            }
        }
        std::vector<std::uint8_t> img(h * w);
        const std::size_t per = offs.empty() ? 0 : (h * w) / offs.size();
        for (std::size_t s = 0; s < offs.size(); ++s)
        {
            std::copy(b.begin() + offs[s], b.begin() + offs[s] + static_cast<std::ptrdiff_t>(per), img.begin() + static_cast<std::ptrdiff_t>(s * per));
        }
        return img;
    }

    const std::vector<std::uint8_t>& base_image_u8(std::size_t rows, std::size_t cols)
    {
        static std::vector<std::uint8_t> img;
        if (!img.empty())
        {
            return img;
        }
        std::size_t h = 0, w = 0;
        const auto page = read_tiff_page(std::string(XSKAN_SHARED_DIR) + "/data/inf1.tif", h, w);
        img.resize(rows * cols);
        for (std::size_t i = 0; i < rows; ++i)
        {
            for (std::size_t j = 0; j < cols; ++j)
            {
                if (page.empty())
                {
                    img[i * cols + j] = static_cast<std::uint8_t>((i * 7 + j * 13 + (i * j) % 251) & 255);
                    continue;
                }
                const std::size_t pi = (i / h) % 2 ? h - 1 - i % h : i % h;
                const std::size_t pj = (j / w) % 2 ? w - 1 - j % w : j % w;
                img[i * cols + j] = page[pi * w + pj];
            }
        }
        return img;
    }

    template <class T>
    const std::vector<T>& image(std::size_t rows, std::size_t cols)
    {
        static std::vector<T> img;
        if (img.empty())
        {
            const auto& u = base_image_u8(4000, 6000);
            img.resize(rows * cols);
            for (std::size_t i = 0; i < img.size(); ++i)
            {
                img[i] = std::is_floating_point<T>::value ? static_cast<T>(u[i % u.size()] * (1.0 / 255))
                                                          : static_cast<T>(u[i % u.size()]);
            }
        }
        return img;
    }

    constexpr std::size_t R = 4000;
    constexpr std::size_t C = 6000;

    // ---- fused mask ------------------------------------------------------------
    template <class T>
    void BM_sauvola_mask(benchmark::State& state)
    {
        const auto& img = image<T>(R, C);
        const std::size_t w = static_cast<std::size_t>(state.range(0));
        const std::size_t threads = static_cast<std::size_t>(state.range(1));
        std::vector<std::uint8_t> out(R * C);
        double extra = 0;
        for (auto _ : state)
        {
            peak_scope ps;
            xskan::threshold_sauvola_mask_into(img.data(), {R, C}, out.data(), {w, w}, 0.2, std::nullopt, threads);
            extra = std::max(extra, ps.extra_mb());
            benchmark::DoNotOptimize(out.data());
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * R * C));
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * R * C * (sizeof(T) + 1)));
        state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(state.iterations() * R * C) / 1e6,
                                                      benchmark::Counter::kIsRate);
        state.counters["peak_extra_MB"] = extra;
        state.counters["input_MB"] = static_cast<double>(R * C * sizeof(T)) / 1e6;
    }

    // ---- fused mask, cold: a fresh output buffer every call ----------------------
    template <class T>
    void BM_sauvola_mask_cold(benchmark::State& state)
    {
        const auto& img = image<T>(R, C);
        const std::size_t w = static_cast<std::size_t>(state.range(0));
        for (auto _ : state)
        {
            std::vector<std::uint8_t>* out = new std::vector<std::uint8_t>(R * C);
            xskan::threshold_sauvola_mask_into(img.data(), {R, C}, out->data(), {w, w}, 0.2, std::nullopt, 1);
            benchmark::DoNotOptimize(out->data());
            delete out;
        }
        state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(state.iterations() * R * C) / 1e6,
                                                      benchmark::Counter::kIsRate);
    }

    // ---- threshold array ---------------------------------------------------------
    template <class T>
    void BM_sauvola_threshold(benchmark::State& state)
    {
        using F = xskan::detail::float_working_t<T>;
        const auto& img = image<T>(R, C);
        const std::size_t w = static_cast<std::size_t>(state.range(0));
        const std::size_t threads = static_cast<std::size_t>(state.range(1));
        std::vector<F> out(R * C);
        double extra = 0;
        for (auto _ : state)
        {
            peak_scope ps;
            xskan::threshold_sauvola_into(img.data(), {R, C}, out.data(), {w, w}, 0.2, std::nullopt, threads);
            extra = std::max(extra, ps.extra_mb());
            benchmark::DoNotOptimize(out.data());
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * R * C));
        state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(state.iterations() * R * C) / 1e6,
                                                      benchmark::Counter::kIsRate);
        state.counters["peak_extra_MB"] = extra;
    }

    // ---- bandwidth reference: read the image once, write a mask once ------------
    template <class T>
    void BM_bandwidth_reference(benchmark::State& state)
    {
        const auto& img = image<T>(R, C);
        std::vector<std::uint8_t> out(R * C);
        const T thr = static_cast<T>(std::is_floating_point<T>::value ? 0.5 : 128);
        for (auto _ : state)
        {
            const T* x = img.data();
            std::uint8_t* o = out.data();
            for (std::size_t i = 0; i < R * C; ++i)
            {
                o[i] = static_cast<std::uint8_t>(x[i] > thr);
            }
            benchmark::DoNotOptimize(out.data());
            benchmark::ClobberMemory();
        }
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * R * C * (sizeof(T) + 1)));
        state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(state.iterations() * R * C) / 1e6,
                                                      benchmark::Counter::kIsRate);
    }

    // ---- 3-D volume ----------------------------------------------------------------
    template <class T>
    void BM_sauvola_mask_3d(benchmark::State& state)
    {
        constexpr std::size_t N = 256;
        static std::vector<T> vol;
        if (vol.empty())
        {
            const auto& u = base_image_u8(4000, 6000);
            vol.resize(N * N * N);
            for (std::size_t i = 0; i < vol.size(); ++i)
            {
                const std::uint8_t v = u[(i * 2654435761u) % u.size()];
                vol[i] = std::is_floating_point<T>::value ? static_cast<T>(v * (1.0 / 255)) : static_cast<T>(v);
            }
        }
        const std::size_t threads = static_cast<std::size_t>(state.range(0));
        std::vector<std::uint8_t> out(N * N * N);
        double extra = 0;
        for (auto _ : state)
        {
            peak_scope ps;
            xskan::threshold_sauvola_mask_into(vol.data(), {N, N, N}, out.data(), {31, 31, 31}, 0.2, std::nullopt,
                                               threads);
            extra = std::max(extra, ps.extra_mb());
            benchmark::DoNotOptimize(out.data());
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * N * N * N));
        state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(state.iterations() * N * N * N) / 1e6,
                                                      benchmark::Counter::kIsRate);
        state.counters["peak_extra_MB"] = extra;
    }

#ifdef XSKAN_HAVE_OPENCV
    void BM_opencv_niblack_sauvola_u8(benchmark::State& state)
    {
        const auto& img = image<std::uint8_t>(R, C);
        const int w = static_cast<int>(state.range(0));
        cv::Mat src(static_cast<int>(R), static_cast<int>(C), CV_8UC1, const_cast<std::uint8_t*>(img.data()));
        cv::Mat dst;
        for (auto _ : state)
        {
            cv::ximgproc::niBlackThreshold(src, dst, 1.0, cv::THRESH_BINARY, w, 0.2, cv::ximgproc::BINARIZATION_SAUVOLA);
            benchmark::DoNotOptimize(dst.data);
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * R * C));
        state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(state.iterations() * R * C) / 1e6,
                                                      benchmark::Counter::kIsRate);
    }
#endif

#if defined(__AVX2__)
    // ---- float64 mask: the bands of a 2-thread call, one after the other on one thread ----
    // (range(1) = 0 or 1: that band of f64_mask_band_bounds(R, 2); 2: the whole image as one
    // band). CPU time, so the ideal 2-thread speed-up full / max(band 0, band 1) can be read
    // even on a loaded machine; the wall-time 2-thread rows above add the memory contention.
    void BM_f64_mask_band(benchmark::State& state)
    {
        const auto& img = image<double>(R, C);
        const std::size_t w = static_cast<std::size_t>(state.range(0));
        const std::size_t which = static_cast<std::size_t>(state.range(1));
        const auto g = xskan::detail::make_box_geometry({R, C}, {w, w});
        const auto p = xskan::detail::make_local_params<double, double>(xskan::detail::local_formula::sauvola, g, 0.2, 1.0);
        const auto b = xskan::detail::f64_mask_band_bounds(R, 2);
        const std::size_t r0 = which == 2 ? 0 : b[which];
        const std::size_t r1 = which == 2 ? R : b[which + 1];
        std::vector<std::uint8_t> out(R * C);
        for (auto _ : state)
        {
            xskan::detail::f64_sauvola_band band(img.data(), g, p);
            band.run(r0, r1, out.data());
            benchmark::DoNotOptimize(out.data());
        }
        state.counters["rows"] = static_cast<double>(r1 - r0);
    }

    // ---- float64 mask: how many pixels each decision stage leaves undecided ----------
    // (one call per iteration; counters: fractions of all pixels left by the float32 stage
    // and decided by the exact sums), on the inf1 tiling and on its Gaussian smoothing
    // (sigma 4.7, as the pipeline thresholds it)
    void BM_f64_mask_stages(benchmark::State& state)
    {
        const std::size_t w = static_cast<std::size_t>(state.range(0));
        const bool smooth = state.range(1) != 0;
        static std::vector<double> smoothed;
        const auto& raw = image<double>(R, C);
        if (smooth && smoothed.empty())
        {
            xt::xarray<double> copy = xt::zeros<double>({R, C});
            std::copy(raw.begin(), raw.end(), copy.begin());
            const xt::xarray<double> s = xskan::gaussian(copy, 4.7);
            smoothed.assign(s.begin(), s.end());
        }
        const double* data = smooth ? smoothed.data() : raw.data();
        const auto g = xskan::detail::make_box_geometry({R, C}, {w, w});
        const auto p = xskan::detail::make_local_params<double, double>(xskan::detail::local_formula::sauvola, g, 0.2, 1.0);
        std::vector<std::uint8_t> out(R * C);
        xskan::detail::f64_mask_stats st;
        for (auto _ : state)
        {
            xskan::detail::f64_sauvola_mask_into(data, g, p, 1, out.data(), &st);
            benchmark::DoNotOptimize(out.data());
        }
        state.counters["f32_undecided_ppm"] = 1e6 * static_cast<double>(st.f32_undecided) / static_cast<double>(R * C);
        state.counters["exact_ppm"] = 1e6 * static_cast<double>(st.exact) / static_cast<double>(R * C);
    }
#endif
}  // namespace

BENCHMARK(BM_bandwidth_reference<double>)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_bandwidth_reference<std::uint8_t>)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sauvola_mask<double>)->Args({301, 1})->Args({15, 1})->Args({301, 2})->Args({15, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sauvola_mask<float>)->Args({301, 1})->Args({301, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sauvola_mask<std::uint8_t>)->Args({301, 1})->Args({15, 1})->Args({301, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sauvola_mask_cold<double>)->Arg(301)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sauvola_mask_cold<std::uint8_t>)->Arg(301)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sauvola_threshold<double>)->Args({301, 1})->Args({301, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sauvola_threshold<float>)->Args({301, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sauvola_threshold<std::uint8_t>)->Args({301, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sauvola_mask_3d<double>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sauvola_mask_3d<std::uint8_t>)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
#if defined(__AVX2__)
BENCHMARK(BM_f64_mask_band)->Args({301, 2})->Args({301, 0})->Args({301, 1})->Args({15, 2})->Args({15, 0})->Args({15, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_f64_mask_stages)->Args({301, 0})->Args({15, 0})->Args({301, 1})->Args({15, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
#endif
#ifdef XSKAN_HAVE_OPENCV
BENCHMARK(BM_opencv_niblack_sauvola_u8)->Arg(301)->Arg(15)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

BENCHMARK_MAIN();
