/**
 * @file segment.hpp
 * @brief First half of the analyze pipeline (skan.pipe.process_single_image up to
 *        the weighted skeleton): smooth, Sauvola threshold, shape index, skeletonize,
 *        skeleton * shape_index. Compiled in its own translation unit.
 */
#ifndef XSKAN_APPS_SEGMENT_HPP
#define XSKAN_APPS_SEGMENT_HPP

#include <atomic>
#include <cstddef>
#include <memory>

#include <xskan/io/any_array.hpp>

#include "common.hpp"

namespace xskan_cli
{
    /// Buffers a worker reuses from one image to the next (opaque).
    struct segment_buffers;
    struct segment_buffers_deleter
    {
        void operator()(segment_buffers* p) const noexcept;
    };
    std::unique_ptr<segment_buffers, segment_buffers_deleter> make_segment_buffers();

    /// Parameters derived for one image.
    struct segment_params
    {
        std::size_t radius = 0;   ///< Sauvola window radius in pixels (0: Otsu + offset)
        double sigma = 0;         ///< Gaussian sigma in pixels (0: no smoothing)
        double offset = 0;        ///< Sauvola k = skan's brightness offset
        std::size_t threads = 1;  ///< threads of the Gaussian, the Sauvola mask and Zhang thinning
        /// If set: workers of a batch that ran out of images; each of those stages adds them to
        /// `threads` when it starts (the last images of a batch use the idle cores).
        const std::atomic<std::size_t>* spare_threads = nullptr;

        /// Threads for a stage starting now.
        std::size_t stage_threads() const noexcept
        {
            return threads + (spare_threads != nullptr ? spare_threads->load(std::memory_order_relaxed) : 0);
        }
    };

    /**
     * @brief skan's pipeline on a cropped 2D image up to the weighted skeleton.
     * @param image 2D (uint8, uint16, float32 or float64; other types converted to float64)
     * @return skeleton * shape_index (float64, or float32 for float32 input), held in `wb`
     *         (valid until the next call with the same buffers)
     */
    const xskan::io::any_array& segment_image(const xskan::io::any_array& image, const segment_params& p, segment_buffers& wb,
                                       stage_timer& tm);
}  // namespace xskan_cli

#endif
