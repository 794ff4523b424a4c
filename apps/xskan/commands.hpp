/**
 * @file commands.hpp
 * @brief The subcommands of the xskan tool: one options struct and one run function each.
 *        Every run_* returns the process exit code (0 success, 1 failure) and
 *        reports problems on stderr as "xskan: error: <file>: <problem>".
 */
#ifndef XSKAN_APPS_COMMANDS_HPP
#define XSKAN_APPS_COMMANDS_HPP

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace xskan_cli
{
    struct threshold_args
    {
        std::string input, output, save_threshold;
        std::string method = "sauvola";
        std::optional<std::size_t> radius, window;
        std::optional<double> k, r;
        double sigma = 0, offset = 0;
        bool offset_given = false;
        bool fei = false;
        std::size_t threads = 1;
    };
    int run_threshold(const threshold_args& a);

    struct skeletonize_args
    {
        std::string input, output;
        std::string method = "zhang";
        std::size_t threads = 1;
    };
    int run_skeletonize(const skeletonize_args& a);

    struct summarize_args
    {
        std::string input, output, values, spacing;
        std::string separator = "_";
        bool value_is_height = false, main_branch = false, fei = false;
    };
    int run_summarize(const summarize_args& a);

    struct sholl_args
    {
        std::string input, output, center, radii, spacing, center_output;
        std::optional<std::size_t> shells;
    };
    int run_sholl(const sholl_args& a);

    struct graph_args
    {
        std::string input, output, values, spacing, format;
    };
    int run_graph(const graph_args& a);

    struct analyze_args
    {
        std::vector<std::string> inputs;
        std::string output_dir;
        std::optional<double> threshold_radius;
        double smooth_radius = 0.1;
        double brightness_offset = 0.075;
        std::optional<double> scale;
        bool scale_from_metadata = false;
        std::string scale_metadata_path = "Scan/PixelHeight";
        std::size_t crop_radius = 20;
        std::size_t threads = 1;
        std::string overlay_color_by = "branch_type";
        bool no_overlay = false;
        bool timings = false;
        bool quiet = false;
    };
    int run_analyze(const analyze_args& a);
}  // namespace xskan_cli

#endif
