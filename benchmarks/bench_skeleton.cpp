// Benchmarks of the skeleton-graph core: pixel graph, skeleton (graph + paths),
// summarize, main branch, CSV, and end to end (skeleton + summary), on
// skeleton.tif, the raw Sauvola skeleton of inf1.tif, the 4096^2 synthetic
// skeleton (with 1x / 4x / 16x crops for linearity) and the 192^3 skeleton.
//
// Items = skeleton pixels; the "Mpix/s" counter is skeleton pixels per second.
// "peak_MB" = peak of live heap bytes during one iteration (global operator new
// is instrumented in this file), "result_MB" = live bytes held by the result.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <malloc.h>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>
#include <xtensor/xview.hpp>

#include <xskan/pixel_graph.hpp>
#include <xskan/skeleton.hpp>
#include <xskan/summarize.hpp>

// ---------------------------------------------------------------- heap accounting
namespace
{
    std::atomic<long long> g_live{0};
    std::atomic<long long> g_peak{0};

    void note_alloc(void* p)
    {
        if (!p) return;
        const long long n = static_cast<long long>(malloc_usable_size(p));
        const long long now = g_live.fetch_add(n) + n;
        long long peak = g_peak.load();
        while (now > peak && !g_peak.compare_exchange_weak(peak, now))
        {
        }
    }
    void note_free(void* p)
    {
        if (p) g_live.fetch_sub(static_cast<long long>(malloc_usable_size(p)));
    }
}  // namespace

void* operator new(std::size_t n)
{
    void* p = std::malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    note_alloc(p);
    return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a)
{
    void* p = std::aligned_alloc(static_cast<std::size_t>(a), (n + static_cast<std::size_t>(a) - 1) / static_cast<std::size_t>(a) * static_cast<std::size_t>(a));
    if (!p) throw std::bad_alloc();
    note_alloc(p);
    return p;
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept
{
    note_free(p);
    std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { operator delete(p); }

namespace
{
    struct input
    {
        xt::xarray<std::uint8_t> image;
        std::size_t n_pixels = 0;
    };

    const input& load(const std::string& key)
    {
        static std::map<std::string, std::unique_ptr<input>> cache;
        auto it = cache.find(key);
        if (it != cache.end()) return *it->second;
        auto in = std::make_unique<input>();
        const std::string shared = XSKAN_SHARED_DIR;
        auto npy = [&](const std::string& rel) {
            std::ifstream f(shared + "/" + rel, std::ios::binary);
            if (!f) throw std::runtime_error("missing " + shared + "/" + rel);
            return xt::load_npy<std::uint8_t>(f);
        };
        if (key == "skeletontif") in->image = npy("golden/F_skan/skeletontif/skeleton.npy");
        else if (key == "inf1_sauvola101") in->image = npy("golden/E_skeletonize/inf1_sauvola101_skeleton.npy");
        else if (key == "synth4096") in->image = npy("bench/synth2d_skeleton.npy");
        else if (key == "synth2048") in->image = xt::view(npy("bench/synth2d_skeleton.npy"), xt::range(0, 2048), xt::range(0, 2048));
        else if (key == "synth1024") in->image = xt::view(npy("bench/synth2d_skeleton.npy"), xt::range(0, 1024), xt::range(0, 1024));
        else if (key == "tubes192") in->image = npy("bench/tubes3d_skeleton.npy");
        else throw std::runtime_error("unknown input " + key);
        for (auto v : in->image) in->n_pixels += v != 0;
        auto& ref = *in;
        cache[key] = std::move(in);
        return ref;
    }

    void finish(benchmark::State& state, const input& in, long long peak)
    {
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(in.n_pixels));
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(in.image.size()));
        state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(in.n_pixels) * 1e-6,
                                                      benchmark::Counter::kIsIterationInvariantRate);
        state.counters["skel_px"] = static_cast<double>(in.n_pixels);
        state.counters["peak_MB"] = static_cast<double>(peak) / 1e6;
    }

    template <class F>
    void run(benchmark::State& state, const std::string& key, F&& body)
    {
        const input& in = load(key);
        long long peak = 0;
        for (auto _ : state)
        {
            const long long base = g_live.load();
            g_peak.store(base);
            body(in);
            peak = std::max(peak, g_peak.load() - base);
        }
        finish(state, in, peak);
    }

    void BM_pixel_graph(benchmark::State& state, std::string key)
    {
        run(state, key, [](const input& in) {
            auto g = xskan::skeleton_to_csgraph(in.image);
            benchmark::DoNotOptimize(g.graph.indices.data());
        });
    }

    void BM_skeleton(benchmark::State& state, std::string key)
    {
        run(state, key, [](const input& in) {
            xskan::skeleton s(in.image);
            benchmark::DoNotOptimize(s.paths_indices().data());
        });
    }

    /// skeleton + its CSR graph (built lazily on the first graph() call, e.g. by sholl's geodesic centre)
    void BM_skeleton_csr(benchmark::State& state, std::string key)
    {
        run(state, key, [](const input& in) {
            xskan::skeleton s(in.image);
            benchmark::DoNotOptimize(s.graph().indices.data());
        });
    }

    void BM_summarize(benchmark::State& state, std::string key)
    {
        const input& in = load(key);
        const xskan::skeleton s(in.image);
        state.counters["branches"] = static_cast<double>(s.n_paths());
        run(state, key, [&](const input&) {
            auto t = xskan::summarize(s);
            benchmark::DoNotOptimize(t.branch_distance.data());
        });
    }

    void BM_main_branch(benchmark::State& state, std::string key)
    {
        const input& in = load(key);
        const auto t = xskan::summarize(xskan::skeleton(in.image));
        run(state, key, [&](const input&) {
            auto m = xskan::find_main_branches(t);
            benchmark::DoNotOptimize(m.data());
        });
    }

    void BM_write_csv(benchmark::State& state, std::string key)
    {
        const input& in = load(key);
        const auto t = xskan::summarize(xskan::skeleton(in.image));
        run(state, key, [&](const input&) {
            std::ostringstream os;
            xskan::write_csv(os, t);
            benchmark::DoNotOptimize(os.str().size());
        });
    }

    /// What skan's `summarize(Skeleton(image))` does: skeleton object + branch table.
    void BM_end_to_end(benchmark::State& state, std::string key)
    {
        run(state, key, [](const input& in) {
            xskan::skeleton s(in.image);
            auto t = xskan::summarize(s);
            benchmark::DoNotOptimize(t.branch_distance.data());
        });
    }
}  // namespace

#define XSKAN_BENCH_ALL(name)                                                                   \
    BENCHMARK_CAPTURE(name, skeletontif, std::string("skeletontif"))->Unit(benchmark::kMillisecond);        \
    BENCHMARK_CAPTURE(name, inf1_sauvola101, std::string("inf1_sauvola101"))->Unit(benchmark::kMillisecond); \
    BENCHMARK_CAPTURE(name, synth1024, std::string("synth1024"))->Unit(benchmark::kMillisecond);            \
    BENCHMARK_CAPTURE(name, synth2048, std::string("synth2048"))->Unit(benchmark::kMillisecond);            \
    BENCHMARK_CAPTURE(name, synth4096, std::string("synth4096"))->Unit(benchmark::kMillisecond);            \
    BENCHMARK_CAPTURE(name, tubes192, std::string("tubes192"))->Unit(benchmark::kMillisecond)

XSKAN_BENCH_ALL(BM_pixel_graph);
XSKAN_BENCH_ALL(BM_skeleton);
XSKAN_BENCH_ALL(BM_skeleton_csr);
XSKAN_BENCH_ALL(BM_summarize);
XSKAN_BENCH_ALL(BM_end_to_end);
XSKAN_BENCH_ALL(BM_main_branch);
XSKAN_BENCH_ALL(BM_write_csv);

BENCHMARK_MAIN();
