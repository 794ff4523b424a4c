// Benchmarks of include/xskan/skeletonize.hpp on ../shared/bench inputs (4096x4096 mask,
// 192^3 volume) and the 1024x1536 retic and inf1 masks (the CLI pipeline's size), optionally against OpenCV's
// cv::ximgproc::thinning (Zhang-Suen), which benchmarks/opencv_thinning.cmake enables when
// OpenCV with ximgproc is installed. scikit-image timings: benchmarks/skimage_skeletonize.py.
//
// Every xskan benchmark checks its output against the stored scikit-image skeleton once
// and reports `exact` = 1 (or fails with an error).
//
// Run: build/<dir>/benchmarks/bench_skeletonize --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include <benchmark/benchmark.h>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include <xskan/skeletonize.hpp>

#ifdef XSKAN_HAVE_OPENCV_XIMGPROC
#include <opencv2/core.hpp>
#include <opencv2/ximgproc.hpp>
#endif

namespace
{
    using u8 = std::uint8_t;

    std::string shared_path(const std::string& rel)
    {
        if (const char* env = std::getenv("XSKAN_SHARED_DIR"))
        {
            return std::string(env) + "/" + rel;
        }
        return std::string(XSKAN_SHARED_DIR) + "/" + rel;
    }

    /// Loads (once) a uint8 .npy from the shared folder; empty array when absent.
    const xt::xarray<u8>& load(const std::string& rel)
    {
        static std::map<std::string, xt::xarray<u8>> cache;
        auto it = cache.find(rel);
        if (it == cache.end())
        {
            xt::xarray<u8> a;
            const std::string path = shared_path(rel);
            if (std::ifstream(path).good())
            {
                a = xt::load_npy<u8>(path);
            }
            it = cache.emplace(rel, std::move(a)).first;
        }
        return it->second;
    }

    struct bench_case
    {
        const char* mask;
        const char* skeleton;  // scikit-image output (uint8, 0/1 or 0/255)
        xskan::skeleton_method method;
    };

    const bench_case synth2d{"bench/synth2d_mask.npy", "bench/synth2d_skeleton.npy", xskan::skeleton_method::zhang};
    const bench_case tubes3d{"bench/tubes3d_mask.npy", "bench/tubes3d_skeleton.npy", xskan::skeleton_method::lee};
    const bench_case retic{"golden/E_skeletonize/retic_gs_mask.npy", "golden/E_skeletonize/retic_gs_skeleton.npy",
                           xskan::skeleton_method::zhang};
    const bench_case inf1{"golden/E_skeletonize/inf1_gs_mask.npy", "golden/E_skeletonize/inf1_gs_skeleton.npy",
                          xskan::skeleton_method::zhang};

    bool same_foreground(const xt::xarray<u8>& a, const xt::xarray<u8>& b)
    {
        if (a.shape() != b.shape())
        {
            return false;
        }
        for (std::size_t i = 0; i < a.size(); ++i)
        {
            if ((a.data()[i] != 0) != (b.data()[i] != 0))
            {
                return false;
            }
        }
        return true;
    }

    void report(benchmark::State& state, std::size_t pixels)
    {
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(pixels));
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(pixels));
        state.counters["Mpixel"] =
            benchmark::Counter(static_cast<double>(pixels) * 1e-6, benchmark::Counter::kIsIterationInvariantRate);
    }

    /// Warm: output and workspace reused (no fresh pages after the first iteration).
    void run_warm(benchmark::State& state, const bench_case& c)
    {
        const auto& mask = load(c.mask);
        const auto& expected = load(c.skeleton);
        if (mask.size() == 0 || expected.size() == 0)
        {
            state.SkipWithError("benchmark input absent (../shared/bench or ../shared/golden)");
            return;
        }
        xskan::skeletonize_options opt;
        opt.method = c.method;
        opt.threads = static_cast<std::size_t>(state.range(0));
        xskan::skeletonize_workspace ws;
        xt::xarray<u8> out;
        xskan::skeletonize(mask, out, opt, ws);
        if (!same_foreground(out, expected))
        {
            state.SkipWithError("result differs from scikit-image");
            return;
        }
        for (auto _ : state)
        {
            xskan::skeletonize(mask, out, opt, ws);
            benchmark::DoNotOptimize(out.data());
            benchmark::ClobberMemory();
        }
        state.counters["exact"] = 1;
        report(state, mask.size());
    }

    /// Cold: the plain value-returning call (fresh output and internal buffers every time).
    void run_cold(benchmark::State& state, const bench_case& c)
    {
        const auto& mask = load(c.mask);
        const auto& expected = load(c.skeleton);
        if (mask.size() == 0 || expected.size() == 0)
        {
            state.SkipWithError("benchmark input absent (../shared/bench or ../shared/golden)");
            return;
        }
        xskan::skeletonize_options opt;
        opt.method = c.method;
        opt.threads = static_cast<std::size_t>(state.range(0));
        if (!same_foreground(xskan::skeletonize(mask, opt), expected))
        {
            state.SkipWithError("result differs from scikit-image");
            return;
        }
        for (auto _ : state)
        {
            auto out = xskan::skeletonize(mask, opt);
            benchmark::DoNotOptimize(out.data());
        }
        state.counters["exact"] = 1;
        report(state, mask.size());
    }

    void BM_zhang_4096_warm(benchmark::State& s) { run_warm(s, synth2d); }
    void BM_zhang_4096_cold(benchmark::State& s) { run_cold(s, synth2d); }
    void BM_lee_192cube_warm(benchmark::State& s) { run_warm(s, tubes3d); }
    void BM_lee_192cube_cold(benchmark::State& s) { run_cold(s, tubes3d); }
    void BM_zhang_retic_1024x1536_warm(benchmark::State& s) { run_warm(s, retic); }
    void BM_zhang_retic_1024x1536_cold(benchmark::State& s) { run_cold(s, retic); }
    void BM_zhang_inf1_1024x1536_warm(benchmark::State& s) { run_warm(s, inf1); }

#ifdef XSKAN_HAVE_OPENCV_XIMGPROC
    void run_opencv(benchmark::State& state, const bench_case& c)
    {
        const auto& mask = load(c.mask);
        if (mask.size() == 0)
        {
            state.SkipWithError("benchmark input absent");
            return;
        }
        cv::Mat src(static_cast<int>(mask.shape()[0]), static_cast<int>(mask.shape()[1]), CV_8UC1);
        for (std::size_t i = 0; i < mask.size(); ++i)
        {
            src.data[i] = mask.data()[i] ? 255 : 0;
        }
        cv::Mat dst;
        for (auto _ : state)
        {
            cv::ximgproc::thinning(src, dst, cv::ximgproc::THINNING_ZHANGSUEN);
            benchmark::DoNotOptimize(dst.data);
        }
        report(state, mask.size());
    }
    void BM_opencv_thinning_4096(benchmark::State& s) { run_opencv(s, synth2d); }
    void BM_opencv_thinning_retic_1024x1536(benchmark::State& s) { run_opencv(s, retic); }
#endif
}  // namespace

BENCHMARK(BM_zhang_4096_warm)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_zhang_4096_cold)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_lee_192cube_warm)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_lee_192cube_cold)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_zhang_retic_1024x1536_warm)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_zhang_retic_1024x1536_cold)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_zhang_inf1_1024x1536_warm)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
#ifdef XSKAN_HAVE_OPENCV_XIMGPROC
BENCHMARK(BM_opencv_thinning_4096)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_opencv_thinning_retic_1024x1536)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

BENCHMARK_MAIN();
