// First half of the analyze pipeline; see segment.hpp.
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>

#include <xskan/filters.hpp>
#include <xskan/skeletonize.hpp>
#include <xskan/threshold.hpp>

#include "fast_stages.hpp"
#include "segment.hpp"

namespace xskan_cli
{
    struct segment_buffers
    {
        xskan::skeletonize_workspace skeletonize_ws;
        xt::xarray<std::uint8_t> mask;
        xt::xarray<std::uint8_t> skeleton;
        xskan::io::any_array weighted;  ///< the smoothed image, then skeleton * shape_index in place
        smoothing_workspace<double> smooth_f64;
        smoothing_workspace<float> smooth_f32;
        border_bands<double> bands_f64;
        border_bands<float> bands_f32;
        shape_index_workspace<double> si_f64;
        shape_index_workspace<float> si_f32;
    };

    void segment_buffers_deleter::operator()(segment_buffers* p) const noexcept { delete p; }

    std::unique_ptr<segment_buffers, segment_buffers_deleter> make_segment_buffers()
    {
        return std::unique_ptr<segment_buffers, segment_buffers_deleter>(new segment_buffers());
    }

    namespace
    {
        template <class T>
        const xskan::io::any_array& segment_typed(const xt::xarray<T>& image, const segment_params& p, segment_buffers& wb,
                                           stage_timer& tm)
        {
            const std::vector<std::size_t> shape(image.shape().begin(), image.shape().end());
            if (wb.mask.dimension() != 2 || wb.mask.shape()[0] != shape[0] || wb.mask.shape()[1] != shape[1])
            {
                wb.mask.resize(shape);
            }
            // skan.pre.threshold: gaussian (integer images -> [0, 1]) then Sauvola with k = offset, image > t
            auto threshold_on = [&](const auto& smoothed) {
                using S = typename std::decay_t<decltype(smoothed)>::value_type;
                if (p.radius == 0)
                {
                    const double t = xskan::threshold_otsu(smoothed) + p.offset;
                    for (std::size_t i = 0; i < smoothed.size(); ++i)
                    {
                        wb.mask.data()[i] = static_cast<double>(smoothed.data()[i]) > t ? 1 : 0;
                    }
                }
                else
                {
                    const std::size_t w = 2 * p.radius + 1;
                    xskan::threshold_sauvola_mask_into<S>(smoothed.data(), shape, wb.mask.data(), {w, w}, p.offset,
                                                          std::nullopt, p.stage_threads());
                }
            };
            using F = std::conditional_t<std::is_same<T, float>::value, float, double>;
            const std::size_t rows = shape[0], cols = shape[1];
            auto per_type = [&](auto& f32, auto& f64) -> auto& {
                if constexpr (std::is_same<F, float>::value) return f32;
                else return f64;
            };
            auto weighted_buffer = [&]() -> xt::xarray<F>& {
                if (!wb.weighted.holds<F>())
                {
                    wb.weighted = xskan::io::any_array(xt::xarray<F>());
                }
                auto& w = wb.weighted.get<F>();
                if (w.dimension() != 2 || w.shape()[0] != rows || w.shape()[1] != cols)
                {
                    w.resize(shape);
                }
                return w;
            };
            if (p.sigma > 0 && bands_apply(rows, cols, p.sigma))
            {
                // One full Gaussian (mode reflect, for the shape index); the mode-nearest
                // smoothing of skan.pre.threshold differs only in the border bands.
                auto& g = weighted_buffer();  // smoothed, then skeleton * shape_index in place
                auto& bands = per_type(wb.bands_f32, wb.bands_f64);
                smooth_with_bands(image.data(), rows, cols, cols, p.sigma, g.data(), bands,
                                  per_type(wb.smooth_f32, wb.smooth_f64), p.stage_threads());
                tm.lap("smooth");
                swap_border_bands(g.data(), bands, false);  // g = gaussian(image, sigma, nearest)
                threshold_on(g);
                swap_border_bands(g.data(), bands, true);   // g = gaussian(image, sigma, reflect)
                tm.lap("threshold");
                xskan::skeletonize_options so;
                so.method = xskan::skeleton_method::zhang;
                so.threads = p.stage_threads();
                xskan::skeletonize(wb.mask, wb.skeleton, so, wb.skeletonize_ws);
                tm.lap("skeletonize");
                shape_index_from_smoothed(g.data(), rows, cols, wb.skeleton.data(), g.data(),
                                          per_type(wb.si_f32, wb.si_f64));
                tm.lap("shape_index");
                return wb.weighted;
            }
            // General path (no smoothing, or an image too small for the band trick).
            if (p.sigma > 0)
            {
                auto smoothed = xskan::gaussian(image, p.sigma);
                tm.lap("smooth");
                threshold_on(smoothed);
            }
            else
            {
                threshold_on(image);
            }
            tm.lap("threshold");

            auto quality = xskan::shape_index(image, p.sigma, xskan::mode::reflect);
            tm.lap("shape_index");
            xskan::skeletonize_options so;
            so.method = xskan::skeleton_method::zhang;
            so.threads = p.stage_threads();
            xskan::skeletonize(wb.mask, wb.skeleton, so, wb.skeletonize_ws);
            tm.lap("skeletonize");
            // skeleton * quality, exactly as numpy (0 * NaN = NaN stays a skeleton pixel, as in skan)
            static_assert(std::is_same<typename decltype(quality)::value_type, F>::value, "shape_index type");
            auto& q = weighted_buffer();
            const std::uint8_t* sk = wb.skeleton.data();
            for (std::size_t i = 0; i < q.size(); ++i)
            {
                q.data()[i] = static_cast<F>(sk[i]) * quality.data()[i];
            }
            tm.lap("weight");
            return wb.weighted;
        }
    }  // namespace

    const xskan::io::any_array& segment_image(const xskan::io::any_array& image, const segment_params& p,
                                              segment_buffers& wb, stage_timer& tm)
    {
        return dispatch_gray(image, [&](const auto& img) -> const xskan::io::any_array& { return segment_typed(img, p, wb, tm); });
    }
}  // namespace xskan_cli
