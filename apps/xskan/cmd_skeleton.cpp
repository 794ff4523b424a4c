// xskan summarize / sholl / graph: measurements of an existing skeleton image.
#include <cstdio>
#include <optional>
#include <string>

#include <xtensor/xarray.hpp>

#include <xskan/io/atomic_file.hpp>
#include <xskan/skeleton.hpp>
#include <xskan/summarize.hpp>
#include <xskan/junction_graph.hpp>
#include <xskan/sholl.hpp>

#include "commands.hpp"
#include "common.hpp"

namespace xskan_cli
{
    namespace
    {
        /// The skeleton of SKEL (its own values), or of SKEL != 0 carrying the values of IMAGE.
        xskan::skeleton load_skeleton(const std::string& input, const std::string& values, const std::vector<double>& spacing,
                                      bool value_is_height, bool fei = false)
        {
            xskan::skeleton_options opts;
            opts.spacing = spacing;
            opts.value_is_height = value_is_height;
            const auto skel_img = read_input(input, fei);
            try
            {
                if (values.empty())
                {
                    if (skel_img.type == xskan::io::dtype::bool_)
                    {
                        // numpy bool: every node value is 1.0 (same as uint8 0/1)
                        return xskan::skeleton(skel_img.get<std::uint8_t>(), opts);
                    }
                    return dispatch_gray(skel_img, [&](const auto& img) { return xskan::skeleton(img, opts); });
                }
                const auto val_img = read_input(values, fei);
                if (val_img.shape() != skel_img.shape())
                {
                    throw cli_error("'" + values + "' has shape " + xskan::detail::shape_to_string(val_img.shape())
                                    + " but the skeleton '" + input + "' has shape "
                                    + xskan::detail::shape_to_string(skel_img.shape()));
                }
                const auto mask = skel_img.as<double>();
                return dispatch_gray(val_img, [&](const auto& v) {
                    using V = typename std::decay_t<decltype(v)>::value_type;
                    xt::xarray<V> prod = xt::xarray<V>::from_shape(v.shape());
                    for (std::size_t i = 0; i < prod.size(); ++i)
                    {
                        prod.data()[i] = mask.data()[i] != 0 ? v.data()[i] : V(0);
                    }
                    return xskan::skeleton(prod, opts);
                });
            }
            catch (const std::invalid_argument& e)
            {
                throw cli_error("'" + input + "': " + e.what());
            }
        }
    }  // namespace

    int run_summarize(const summarize_args& a)
    {
        const auto spacing = parse_spacing(a.spacing);
        const auto skel = load_skeleton(a.input, a.values, spacing, a.value_is_height, a.fei);
        xskan::summarize_options so;
        so.find_main_branch = a.main_branch;
        so.separator = a.separator;
        const auto table = xskan::summarize(skel, so);
        xskan::io::write_file_atomically(a.output, [&](std::ostream& out) { xskan::write_csv(out, table, a.separator); });
        return 0;
    }

    int run_sholl(const sholl_args& a)
    {
        const auto spacing = parse_spacing(a.spacing);
        const auto skel = load_skeleton(a.input, "", spacing, false);
        std::optional<std::vector<double>> center;
        if (!a.center.empty())
        {
            center = parse_double_list(a.center, "--center");
            if (center->size() != skel.ndim())
            {
                throw cli_error("--center has " + std::to_string(center->size()) + " values but the skeleton is "
                                + std::to_string(skel.ndim()) + "-D");
            }
        }
        xskan::sholl_shells shells = xskan::sholl_shells::automatic();
        if (a.shells)
        {
            if (*a.shells == 0)
            {
                throw cli_error("--shells must be >= 1");
            }
            shells = xskan::sholl_shells::count(*a.shells);
        }
        else if (!a.radii.empty())
        {
            shells = xskan::sholl_shells::radii(parse_double_list(a.radii, "--radii"));
        }
        xskan::sholl_result r;
        try
        {
            r = xskan::sholl_analysis(skel, center, shells);
        }
        catch (const std::invalid_argument& e)
        {
            throw cli_error("'" + a.input + "': " + e.what());
        }
        std::string text = "shell,radius,count\n";
        for (std::size_t i = 0; i < r.radii.size(); ++i)
        {
            append_int(text, static_cast<long long>(i));
            text += ',';
            append_double(text, r.radii[i]);
            text += ',';
            append_int(text, static_cast<long long>(r.counts[i]));
            text += '\n';
        }
        xskan::io::write_file_atomically(a.output, [&](std::ostream& out) { out << text; });
        std::string c;
        for (std::size_t i = 0; i < r.center.size(); ++i)
        {
            c += (i ? "," : "") + std::string("center_") + std::to_string(i);
        }
        c += '\n';
        for (std::size_t i = 0; i < r.center.size(); ++i)
        {
            if (i) c += ',';
            append_double(c, r.center[i]);
        }
        c += '\n';
        if (!a.center_output.empty())
        {
            xskan::io::write_file_atomically(a.center_output, [&](std::ostream& out) { out << c; });
        }
        return 0;
    }

    int run_graph(const graph_args& a)
    {
        std::string format = a.format;
        if (format.empty())
        {
            const auto ext = extension(a.output);
            if (ext == "graphml" || ext == "xml") format = "graphml";
            else if (ext == "json") format = "json";
            else throw cli_error("'" + a.output + "': cannot tell the format from the extension (use .graphml or .json, or --format)");
        }
        const auto spacing = parse_spacing(a.spacing);
        const auto skel = load_skeleton(a.input, a.values, spacing, false);
        const auto g = xskan::make_junction_graph(skel);
        xskan::io::write_file_atomically(a.output, [&](std::ostream& out) {
            if (format == "graphml") xskan::write_graphml(out, g);
            else xskan::write_json(out, g);
        });
        return 0;
    }
}  // namespace xskan_cli
