// Benchmarks of the skeleton extras: labelling, mesh sizes / image summary,
// Sholl analysis (with and without the geodesic centre search), junction graph export.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include <xskan/image_stats.hpp>
#include <xskan/junction_graph.hpp>
#include <xskan/label.hpp>
#include <xskan/sholl.hpp>

namespace
{
    const xt::xarray<std::uint8_t>& retic()
    {
        static const xt::xarray<std::uint8_t> img =
            xt::load_npy<std::uint8_t>(std::string(XSKAN_GOLDEN_DIR) + "/E_skeletonize/retic_gs_skeleton.npy");
        return img;
    }

    const xskan::skeleton& retic_skeleton()
    {
        static const xskan::skeleton skel(retic());
        return skel;
    }

    void label_bench(benchmark::State& state, bool background, xskan::connectivity conn)
    {
        const auto& img = retic();
        xt::xarray<std::uint8_t> in = img;
        if (background)
        {
            for (auto& v : in) v = v ? 0 : 1;
        }
        xt::xarray<std::int32_t> out;  // reused across iterations (warm)
        std::size_t n = 0;
        for (auto _ : state)
        {
            n = xskan::label(in, out, conn);
            benchmark::DoNotOptimize(out.data());
        }
        state.counters["components"] = static_cast<double>(n);
        state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(in.size()) * state.iterations() / 1e6,
                                                      benchmark::Counter::kIsRate);
        state.SetItemsProcessed(static_cast<std::int64_t>(in.size()) * state.iterations());
    }
}  // namespace

static void BM_label_background_face(benchmark::State& s) { label_bench(s, true, xskan::connectivity::face); }
static void BM_label_skeleton_full(benchmark::State& s) { label_bench(s, false, xskan::connectivity::full); }
BENCHMARK(BM_label_background_face)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_label_skeleton_full)->Unit(benchmark::kMillisecond);

static void BM_mesh_sizes(benchmark::State& state)
{
    const auto& img = retic();
    for (auto _ : state)
    {
        auto sizes = xskan::mesh_sizes(img);
        benchmark::DoNotOptimize(sizes.data());
    }
    state.counters["Mpix/s"] =
        benchmark::Counter(static_cast<double>(img.size()) * state.iterations() / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_mesh_sizes)->Unit(benchmark::kMillisecond);

// same-run reference: the straightforward full label image + bincount (session-1 mesh_sizes)
static void BM_mesh_sizes_label_image_reference(benchmark::State& state)
{
    const auto& img = retic();
    const auto fg = xskan::detail::nonzero_mask(img);
    std::vector<std::uint8_t> spaces;
    std::vector<std::int32_t> labels;
    for (auto _ : state)
    {
        auto sizes = xskan::detail::mesh_sizes_from_mask(fg.data(), fg.shape()[0], fg.shape()[1], spaces, labels);
        benchmark::DoNotOptimize(sizes.data());
    }
}
BENCHMARK(BM_mesh_sizes_label_image_reference)->Unit(benchmark::kMillisecond);

static void BM_mesh_sizes_one_pass(benchmark::State& state)
{
    const auto& img = retic();
    const auto fg = xskan::detail::nonzero_mask(img);
    for (auto _ : state)
    {
        auto sizes = xskan::detail::mesh_sizes_one_pass(fg.data(), fg.shape()[0], fg.shape()[1]);
        benchmark::DoNotOptimize(sizes.data());
    }
}
BENCHMARK(BM_mesh_sizes_one_pass)->Unit(benchmark::kMillisecond);

static void BM_image_summary(benchmark::State& state)
{
    const auto& img = retic();
    for (auto _ : state)
    {
        auto r = xskan::image_summary(img, 1.07917);
        benchmark::DoNotOptimize(r.area);
    }
    state.counters["Mpix/s"] =
        benchmark::Counter(static_cast<double>(img.size()) * state.iterations() / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_image_summary)->Unit(benchmark::kMillisecond);

// what `xskan analyze` does now: the skeleton graph is already built by the pipeline
static void BM_image_summary_reusing_skeleton(benchmark::State& state)
{
    const auto& img = retic();
    const auto& skel = retic_skeleton();
    for (auto _ : state)
    {
        auto r = xskan::image_summary(img, skel, 1.0);
        benchmark::DoNotOptimize(r.area);
    }
}
BENCHMARK(BM_image_summary_reusing_skeleton)->Unit(benchmark::kMillisecond);

static void BM_skeleton_build(benchmark::State& state)
{
    const auto& img = retic();
    for (auto _ : state)
    {
        xskan::skeleton skel(img);
        benchmark::DoNotOptimize(skel.n_paths());
    }
}
BENCHMARK(BM_skeleton_build)->Unit(benchmark::kMillisecond);

static void BM_geodesic_center(benchmark::State& state)
{
    const auto& skel = retic_skeleton();
    std::size_t c = 0;
    for (auto _ : state)
    {
        c = xskan::geodesic_center(skel);
        benchmark::DoNotOptimize(c);
    }
    state.counters["center_node"] = static_cast<double>(c);
}
BENCHMARK(BM_geodesic_center)->Unit(benchmark::kMillisecond);

static void BM_sholl_given_center(benchmark::State& state)
{
    const auto& skel = retic_skeleton();
    const std::vector<double> center = {512.0, 768.0};
    std::size_t n_radii = 0;
    for (auto _ : state)
    {
        auto r = xskan::sholl_analysis(skel, center);
        n_radii = r.radii.size();
        benchmark::DoNotOptimize(r.counts.data());
    }
    state.counters["shells"] = static_cast<double>(n_radii);
    state.SetItemsProcessed(static_cast<std::int64_t>(skel.graph().n_edges()) * state.iterations());
}
BENCHMARK(BM_sholl_given_center)->Unit(benchmark::kMillisecond);

static void BM_sholl_geodesic(benchmark::State& state)
{
    const auto& skel = retic_skeleton();
    for (auto _ : state)
    {
        auto r = xskan::sholl_analysis(skel);
        benchmark::DoNotOptimize(r.counts.data());
    }
}
BENCHMARK(BM_sholl_geodesic)->Unit(benchmark::kMillisecond);

static void BM_junction_graph_json(benchmark::State& state)
{
    const auto& skel = retic_skeleton();
    std::size_t bytes = 0;
    for (auto _ : state)
    {
        const auto g = xskan::make_junction_graph(skel);
        std::ostringstream os;
        xskan::write_json(os, g);
        bytes = os.str().size();
        benchmark::DoNotOptimize(bytes);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
}
BENCHMARK(BM_junction_graph_json)->Unit(benchmark::kMillisecond);

static void BM_junction_graph_graphml(benchmark::State& state)
{
    const auto& skel = retic_skeleton();
    std::size_t bytes = 0;
    for (auto _ : state)
    {
        const auto g = xskan::make_junction_graph(skel);
        std::ostringstream os;
        xskan::write_graphml(os, g);
        bytes = os.str().size();
        benchmark::DoNotOptimize(bytes);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
}
BENCHMARK(BM_junction_graph_graphml)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
