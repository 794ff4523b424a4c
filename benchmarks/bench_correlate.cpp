// The talk's experiment: a box-corner kernel (±1 at the 4 corners of a
// (w+1)×(w+1) kernel) correlated in valid mode with a 4000×6000 random image,
// w = 301, and the 3-D case 256³ with w = 63 (8 corners), every strategy, in
// float64 and float32, into preallocated outputs (warm) — plus the allocating
// call (cold), a hand-written box-sum loop, and a bandwidth reference that
// reads the input once and writes the output once.
//
// items/s = element-ops/s (outputs × non-zero kernel entries);
// bytes/s = (input bytes + output bytes) / time for every row, so the
// bandwidth reference and the kernels are directly comparable.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <xskan/correlate.hpp>
#include <xskan/integral_image.hpp>

namespace
{
    namespace st = xskan::strategy;

    struct bench_case
    {
        std::vector<std::size_t> shape;
        std::size_t w;
    };

    const bench_case case_2d{{4000, 6000}, 301};
    const bench_case case_3d{{256, 256, 256}, 63};

    std::vector<std::size_t> valid_shape(const bench_case& c)
    {
        std::vector<std::size_t> s = c.shape;
        for (auto& v : s)
        {
            v -= c.w;  // n - (w + 1) + 1
        }
        return s;
    }

    /// Inputs and outputs are created once and reused by every benchmark (warm memory).
    template <class F>
    struct buffers
    {
        xt::xarray<F> input;
        xt::xarray<F> output;
        xskan::sparse_kernel<double> kernel;
        std::size_t n_in = 0;
        std::size_t n_out = 0;
    };

    template <class F>
    buffers<F>& get_buffers(const bench_case& c)
    {
        static std::map<std::size_t, buffers<F>> cache;
        auto it = cache.find(c.shape.size());
        if (it != cache.end())
        {
            return it->second;
        }
        auto kernel = xskan::sparse_kernel<double>::box_corners(std::vector<std::size_t>(c.shape.size(), c.w));
        buffers<F> b{xt::xarray<F>::from_shape(c.shape), xt::xarray<F>::from_shape(valid_shape(c)), kernel, 0, 0};
        std::mt19937_64 rng(2024);
        std::uniform_real_distribution<double> d(0.0, 1.0);
        for (auto& v : b.input)
        {
            v = static_cast<F>(d(rng));
        }
        std::fill(b.output.begin(), b.output.end(), F(0));  // fault the pages in once
        b.n_in = b.input.size();
        b.n_out = b.output.size();
        return cache.emplace(c.shape.size(), std::move(b)).first->second;
    }

    template <class F>
    void set_counters(benchmark::State& state, const buffers<F>& b, std::size_t nnz)
    {
        state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * b.n_out * nnz));
        state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (b.n_in + b.n_out) * sizeof(F)));
        state.counters["outputs"] = static_cast<double>(b.n_out);
        state.counters["nnz"] = static_cast<double>(nnz);
    }

    /// Strategy into the preallocated output (the talk's setting).
    template <class F, class Strategy>
    void bm_correlate(benchmark::State& state, const bench_case& c)
    {
        auto& b = get_buffers<F>(c);
        for (auto _ : state)
        {
            xskan::correlate_sparse_into<Strategy>(b.input, b.kernel, b.output);
            benchmark::ClobberMemory();
        }
        set_counters(state, b, b.kernel.nnz());
    }

    /// Ablation of the SIMD strategy's schedule: row order x store kind (internal knobs).
    template <class F, bool Chained, int Streaming, bool Prefetch = true, class Arch = xskan::detail::correlate_arch>
    void bm_simd_schedule(benchmark::State& state, const bench_case& c)
    {
        auto& b = get_buffers<F>(c);
        std::vector<std::size_t> in_shape(b.input.shape().begin(), b.input.shape().end());
        std::vector<std::size_t> out_shape(b.output.shape().begin(), b.output.shape().end());
        const auto plan = xskan::detail::make_plan<F>(b.kernel, out_shape, xskan::detail::contiguous_strides(in_shape),
                                                      xskan::detail::contiguous_strides(out_shape));
        for (auto _ : state)
        {
            xskan::detail::correlate_simd<false, F, Arch>(b.input.data(), b.output.data(), plan,
                                                         {Chained, Streaming, Prefetch});
            benchmark::ClobberMemory();
        }
        set_counters(state, b, b.kernel.nnz());
    }

    /// The allocating call: a fresh output every time (cold unless glibc keeps freed memory).
    template <class F, class Strategy>
    void bm_correlate_alloc(benchmark::State& state, const bench_case& c)
    {
        auto& b = get_buffers<F>(c);
        for (auto _ : state)
        {
            auto out = xskan::correlate_sparse<Strategy>(b.input, b.kernel, xskan::mode::valid);
            benchmark::DoNotOptimize(out.data());
        }
        set_counters(state, b, b.kernel.nnz());
    }

    /// Bandwidth reference: memcpy n_out elements, and read the rest of the input.
    template <class F>
    void bm_copy_memcpy(benchmark::State& state, const bench_case& c)
    {
        auto& b = get_buffers<F>(c);
        for (auto _ : state)
        {
            std::memcpy(b.output.data(), b.input.data(), b.n_out * sizeof(F));
            F s = 0;
            const F* rest = b.input.data() + b.n_out;
            for (std::size_t i = 0; i < b.n_in - b.n_out; ++i)
            {
                s += rest[i];
            }
            benchmark::DoNotOptimize(s);
            benchmark::ClobberMemory();
        }
        set_counters(state, b, 1);
    }

    /// Bandwidth reference with ordinary stores (what a kernel's plain stores cost):
    /// out[i] = in[i] + 0 (not folded into memcpy since -0 + 0 = +0), rest of the input read.
    template <class F>
    void bm_copy_loop(benchmark::State& state, const bench_case& c)
    {
        auto& b = get_buffers<F>(c);
        for (auto _ : state)
        {
            const F* in = b.input.data();
            F* out = b.output.data();
            for (std::size_t i = 0; i < b.n_out; ++i)
            {
                out[i] = in[i] + F(0);
            }
            F s = 0;
            for (std::size_t i = b.n_out; i < b.n_in; ++i)
            {
                s += in[i];
            }
            benchmark::DoNotOptimize(s);
            benchmark::ClobberMemory();
        }
        set_counters(state, b, 1);
    }

    /// A plain hand-written single-pass box sum (auto-vectorised, natural row order).
    template <class F>
    void bm_plain_boxsum(benchmark::State& state, const bench_case& c)
    {
        auto& b = get_buffers<F>(c);
        const std::size_t w = c.w;
        for (auto _ : state)
        {
            const F* in = b.input.data();
            F* out = b.output.data();
            if (c.shape.size() == 2)
            {
                const std::size_t W = c.shape[1];
                const std::size_t R = b.output.shape()[0];
                const std::size_t C = b.output.shape()[1];
                for (std::size_t i = 0; i < R; ++i)
                {
                    const F* top = in + i * W;
                    const F* bot = in + (i + w) * W;
                    F* o = out + i * C;
                    for (std::size_t j = 0; j < C; ++j)
                    {
                        o[j] = top[j] - top[j + w] - bot[j] + bot[j + w];
                    }
                }
            }
            else
            {
                const std::size_t S1 = c.shape[2];
                const std::size_t S0 = c.shape[1] * S1;
                const std::size_t R0 = b.output.shape()[0];
                const std::size_t R1 = b.output.shape()[1];
                const std::size_t C = b.output.shape()[2];
                for (std::size_t i = 0; i < R0; ++i)
                {
                    for (std::size_t k = 0; k < R1; ++k)
                    {
                        const F* p00 = in + i * S0 + k * S1;
                        const F* p01 = p00 + w * S1;
                        const F* p10 = p00 + w * S0;
                        const F* p11 = p10 + w * S1;
                        F* o = out + (i * R1 + k) * C;
                        for (std::size_t j = 0; j < C; ++j)
                        {
                            o[j] = -p00[j] + p00[j + w] + p01[j] - p01[j + w] + p10[j] - p10[j + w] - p11[j] +
                                   p11[j + w];
                        }
                    }
                }
            }
            benchmark::ClobberMemory();
        }
        set_counters(state, b, std::size_t(1) << c.shape.size());
    }

    /// integral_image_into on the 2-D / 3-D input (warm output), accumulating in double.
    template <class F>
    void bm_integral_image(benchmark::State& state, const bench_case& c)
    {
        auto& b = get_buffers<F>(c);
        static xt::xarray<double> out;
        xskan::integral_image_into(b.input, out);
        for (auto _ : state)
        {
            xskan::integral_image_into(b.input, out);
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * b.n_in));
        state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b.n_in * (sizeof(F) + sizeof(double))));
    }

    /// The textbook schedule for comparison: one full pass per axis (numpy's cumsum loops).
    template <class F>
    void bm_integral_image_axis_passes(benchmark::State& state, const bench_case& c)
    {
        auto& b = get_buffers<F>(c);
        static xt::xarray<double> out;
        xskan::integral_image_into(b.input, out);
        const std::size_t nd = c.shape.size();
        for (auto _ : state)
        {
            std::copy(b.input.begin(), b.input.end(), out.begin());
            double* d = out.data();
            for (std::size_t axis = 0; axis < nd; ++axis)
            {
                std::size_t inner = 1;
                for (std::size_t a = axis + 1; a < nd; ++a)
                {
                    inner *= c.shape[a];
                }
                const std::size_t n = c.shape[axis];
                const std::size_t outer = b.n_in / (n * inner);
                for (std::size_t o = 0; o < outer; ++o)
                {
                    double* base = d + o * n * inner;
                    for (std::size_t i = 1; i < n; ++i)
                    {
                        for (std::size_t j = 0; j < inner; ++j)
                        {
                            base[i * inner + j] += base[(i - 1) * inner + j];
                        }
                    }
                }
            }
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * b.n_in));
        state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * b.n_in * (sizeof(F) + sizeof(double))));
    }

    template <class F>
    void register_all(const char* tname)
    {
        for (const bench_case* c : {&case_2d, &case_3d})
        {
            const std::string dim = c->shape.size() == 2 ? "2d_4000x6000_w301" : "3d_256^3_w63";
            const std::string p = dim + "/" + tname + "/";
            auto reg = [&](const std::string& name, void (*fn)(benchmark::State&, const bench_case&)) {
                benchmark::RegisterBenchmark((p + name).c_str(), fn, *c)
                    ->Unit(benchmark::kMillisecond)
                    ->UseRealTime()
                    ->ComputeStatistics("min", [](const std::vector<double>& v) {
                        return *std::min_element(v.begin(), v.end());
                    });
            };
            reg("copy_memcpy", &bm_copy_memcpy<F>);
            reg("copy_loop", &bm_copy_loop<F>);
            reg("plain_boxsum", &bm_plain_boxsum<F>);
            reg("pixel_outer", &bm_correlate<F, st::pixel_outer>);
            reg("offset_outer", &bm_correlate<F, st::offset_outer>);
            reg("no_indirection", &bm_correlate<F, st::no_indirection>);
            reg("simd", &bm_correlate<F, st::simd>);
            reg("simd_fma", &bm_correlate<F, st::simd_fma>);
            reg("simd_alloc", &bm_correlate_alloc<F, st::simd>);
            reg("simd[chained_rows,plain_stores,no_prefetch]", &bm_simd_schedule<F, true, 0, false>);
#if XSIMD_WITH_AVX512F
            reg("simd[chained_rows,plain_stores,avx512]", &bm_simd_schedule<F, true, 0, true, xsimd::avx512bw>);
#endif
            reg("simd[natural_rows,plain_stores]", &bm_simd_schedule<F, false, 0>);
            reg("integral_image_into", &bm_integral_image<F>);
            reg("integral_image[axis_passes]", &bm_integral_image_axis_passes<F>);
            reg("simd[chained_rows,plain_stores]", &bm_simd_schedule<F, true, 0>);
            reg("simd[natural_rows,nt_stores]", &bm_simd_schedule<F, false, 1>);
            reg("simd[chained_rows,nt_stores]", &bm_simd_schedule<F, true, 1>);
        }
    }
}  // namespace

int main(int argc, char** argv)
{
    register_all<double>("f64");
    register_all<float>("f32");
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
    {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
