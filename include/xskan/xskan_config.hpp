/**
 * @file xskan_config.hpp
 * @brief Library version.
 */
#ifndef XSKAN_CONFIG_HPP
#define XSKAN_CONFIG_HPP

#define XSKAN_VERSION_MAJOR 0
#define XSKAN_VERSION_MINOR 1
#define XSKAN_VERSION_PATCH 0
#define XSKAN_VERSION_STRING "0.1.0"

#endif
