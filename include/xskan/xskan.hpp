/**
 * @file xskan.hpp
 * @brief Umbrella header: includes every public xskan header of the core library.
 */
#ifndef XSKAN_XSKAN_HPP
#define XSKAN_XSKAN_HPP

#include "xskan_config.hpp"
#include "mode.hpp"
#include "integral_image.hpp"

#endif
