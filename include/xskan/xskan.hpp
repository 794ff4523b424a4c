/**
 * @file xskan.hpp
 * @brief Umbrella header: every public header of the header-only core.
 *
 * The optional I/O layer (`xskan/io/*.hpp`, needs libtiff and libpng through
 * the `xskan::io` target) is not included here.
 */
#ifndef XSKAN_XSKAN_HPP
#define XSKAN_XSKAN_HPP

#include "xskan_config.hpp"

// Kernels and filters
#include "mode.hpp"
#include "sparse_kernel.hpp"
#include "correlate.hpp"
#include "integral_image.hpp"
#include "filters.hpp"
#include "threshold.hpp"

// Skeletons
#include "skeletonize.hpp"
#include "label.hpp"
#include "pixel_graph.hpp"
#include "skeleton.hpp"
#include "summarize.hpp"
#include "image_stats.hpp"
#include "sholl.hpp"
#include "junction_graph.hpp"

#endif
