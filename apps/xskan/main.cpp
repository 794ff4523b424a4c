// xskan: command-line skeleton analysis (skan's pipeline in C++). See docs/cli.md.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include <xskan/xskan_config.hpp>

#include "commands.hpp"

namespace
{
    const char* const input_help = "Input file: .tif/.tiff, .png or .npy";
}

int main(int argc, char** argv)
{
    using namespace xskan_cli;
    CLI::App app{"xskan " XSKAN_VERSION_STRING
                 ": skeleton analysis of 2D/3D images (skan + scikit-image's Sauvola/skeletonize, same answers, faster)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("xskan ") + XSKAN_VERSION_STRING);

    // ---- threshold ---------------------------------------------------------------
    threshold_args th;
    auto* cth = app.add_subcommand("threshold", "Threshold an image into a 0/1 mask (skan.pre.threshold / scikit-image thresholds)");
    cth->add_option("input", th.input, input_help)->required();
    cth->add_option("-o,--output", th.output, "Output mask, .npy (uint8 0/1: image > threshold)")->required();
    cth->add_option("--method", th.method, "sauvola | niblack | otsu | median")
        ->check(CLI::IsMember({"sauvola", "niblack", "otsu", "median"}))
        ->capture_default_str();
    auto* orad = cth->add_option("--radius", th.radius, "Local window radius in pixels (window = 2*R+1; median: ball radius)");
    auto* owin = cth->add_option("--window", th.window, "Local window size in pixels, odd (default 15 for sauvola/niblack)");
    orad->excludes(owin);
    owin->excludes(orad);
    cth->add_option("--k", th.k, "Sauvola/Niblack k (default 0.2; if only --offset is given, k = offset as skan.pre.threshold)");
    cth->add_option("--r", th.r, "Sauvola dynamic range r (default: half the dtype range: 127.5 uint8, 32767.5 uint16, 1 float)");
    cth->add_option("--sigma", th.sigma, "Gaussian smoothing sigma in pixels before thresholding (0 = none; >0 scales integer images to [0,1])")
        ->capture_default_str();
    auto* ooff = cth->add_option("--offset", th.offset, "Brightness offset: otsu/median threshold + O; sauvola/niblack k when --k is absent")
        ->capture_default_str();
    cth->add_option("--save-threshold", th.save_threshold, "Also save the threshold image (float .npy; otsu: a 0-d array)");
    cth->add_flag("--fei", th.fei, "Read an FEI SEM TIFF like imageio's 'fei' format (drop the 70-row data bar)");
    cth->add_option("--threads", th.threads, "Threads (0 = all cores); results do not depend on it")->capture_default_str();
    cth->callback([&] { th.offset_given = ooff->count() > 0; });

    // ---- skeletonize -------------------------------------------------------------
    skeletonize_args sk;
    auto* csk = app.add_subcommand("skeletonize", "Thin a mask to a one-pixel-wide skeleton (scikit-image skeletonize)");
    csk->add_option("input", sk.input, "Mask (non-zero = foreground): .tif/.tiff, .png or .npy")->required();
    csk->add_option("-o,--output", sk.output, "Output skeleton .npy (zhang: uint8 0/1; lee: like scikit-image, 0/255 for bool input)")->required();
    csk->add_option("--method", sk.method, "zhang (2D, skimage default) | lee (2D/3D, skeletonize_3d)")
        ->check(CLI::IsMember({"zhang", "lee"}))
        ->capture_default_str();
    csk->add_option("--threads", sk.threads, "Threads (0 = all cores)")->capture_default_str();

    // ---- summarize ---------------------------------------------------------------
    summarize_args su;
    auto* csu = app.add_subcommand("summarize", "Branch table of a skeleton image (skan.summarize), skan's columns");
    csu->add_option("input", su.input, "Skeleton image (non-zero = skeleton; its values are the pixel values): .tif/.png/.npy")->required();
    csu->add_option("-o,--output", su.output, "Output CSV (branches)")->required();
    csu->add_option("--values", su.values, "Image whose values are used at the skeleton pixels (skan's Skeleton(skeleton * image)); same shape");
    csu->add_option("--spacing", su.spacing, "Pixel size: one value for every axis, or one per axis S0,S1[,S2] (physical units; default 1)");
    csu->add_flag("--value-is-height", su.value_is_height, "Treat pixel values as heights (3rd coordinate of a 2D skeleton)");
    csu->add_flag("--main-branch", su.main_branch, "Add skan's 'main' column (find_main_branch=True, v0.13.1 semantics)");
    csu->add_option("--separator", su.separator, "Column name separator")->capture_default_str();
    csu->add_flag("--fei", su.fei, "Read FEI SEM TIFFs without their 70-row data bar");

    // ---- sholl -------------------------------------------------------------------
    sholl_args sh;
    auto* csh = app.add_subcommand("sholl", "Sholl analysis of a skeleton (skan.csr.sholl_analysis): crossings per shell");
    csh->add_option("input", sh.input, "Skeleton image (non-zero = skeleton): .tif/.png/.npy")->required();
    csh->add_option("-o,--output", sh.output, "Output CSV with columns shell,radius,count")->required();
    csh->add_option("--center", sh.center, "Centre C0,C1[,C2] in physical units (default: skan's geodesic centre)");
    auto* oshells = csh->add_option("--shells", sh.shells, "Number of shells (radii 0, R/N, ..., R with R the largest distance)");
    auto* oradii = csh->add_option("--radii", sh.radii, "Explicit shell radii R1,R2,... (physical units)");
    oshells->excludes(oradii);
    oradii->excludes(oshells);
    csh->add_option("--spacing", sh.spacing, "Pixel size: one value or one per axis (default 1)");
    csh->add_option("--center-output", sh.center_output, "Also write the centre used as CSV (center_0,center_1[,center_2])");

    // ---- graph -------------------------------------------------------------------
    graph_args gr;
    auto* cgr = app.add_subcommand("graph", "Export the junction graph (nodes = branch ends, edges = branches) as GraphML or JSON");
    cgr->add_option("input", gr.input, "Skeleton image (non-zero = skeleton): .tif/.png/.npy")->required();
    cgr->add_option("-o,--output", gr.output, "Output .graphml (networkx.read_graphml) or .json")->required();
    cgr->add_option("--values", gr.values, "Image whose values are used at the skeleton pixels");
    cgr->add_option("--spacing", gr.spacing, "Pixel size: one value or one per axis (default 1)");
    cgr->add_option("--format", gr.format, "graphml | json (default: from the output extension)")
        ->check(CLI::IsMember({"graphml", "json"}));

    // ---- analyze -----------------------------------------------------------------
    analyze_args an;
    auto* can = app.add_subcommand(
        "analyze",
        "Full pipeline on a batch of images (skan.pipe.process_images): smooth, Sauvola threshold, skeletonize, "
        "measure; per-image and combined CSVs and an overlay PNG per image");
    can->add_option("images", an.inputs, "Input images: .tif/.tiff (FEI SEM metadata used when present), .png, .npy")->required();
    can->add_option("-o,--output", an.output_dir, "Output folder (created if needed)")->required();
    can->add_option("--threshold-radius", an.threshold_radius,
                    "Sauvola radius in physical units (pixels = ceil(R / scale)); default 5e-8 (m) when the image has a "
                    "scale (FEI metadata or --scale), 47 pixels otherwise");
    can->add_option("--smooth-radius", an.smooth_radius, "Gaussian sigma relative to the pixel threshold radius")->capture_default_str();
    can->add_option("--brightness-offset", an.brightness_offset, "Sauvola k (skan's brightness offset)")->capture_default_str();
    auto* oscale = can->add_option("--scale", an.scale, "Pixel size in physical units per pixel (overrides the metadata)");
    auto* ofrom = can->add_flag("--scale-from-metadata", an.scale_from_metadata,
                                "Require the pixel size from the FEI metadata (default: used when present, else 1 pixel)");
    oscale->excludes(ofrom);
    ofrom->excludes(oscale);
    can->add_option("--scale-metadata-path", an.scale_metadata_path, "FEI metadata entry holding the pixel size (metres)")
        ->capture_default_str();
    can->add_option("--crop-radius", an.crop_radius, "Pixels cropped from every border before processing")->capture_default_str();
    can->add_option("--threads", an.threads, "Images processed in parallel (0 = all cores)")->capture_default_str();
    can->add_option("--overlay-color-by", an.overlay_color_by,
                    "Branch column colouring the overlay: branch_type, skeleton_id, branch_distance, euclidean_distance, "
                    "mean_shape_index, squiggle (viridis)")
        ->check(CLI::IsMember({"branch_type", "skeleton_id", "branch_distance", "euclidean_distance", "mean_shape_index",
                               "stdev_pixel_value", "squiggle"}))
        ->capture_default_str();
    can->add_flag("--no-overlay", an.no_overlay, "Do not write overlay PNGs");
    can->add_flag("--timings", an.timings, "Print a per-stage time breakdown to stderr");
    can->add_flag("-q,--quiet", an.quiet, "No progress output");

    try
    {
        app.parse(argc, argv);
    }
    catch (const CLI::ParseError& e)
    {
        return app.exit(e);
    }

    try
    {
        if (*cth) return run_threshold(th);
        if (*csk) return run_skeletonize(sk);
        if (*csu) return run_summarize(su);
        if (*csh) return run_sholl(sh);
        if (*cgr) return run_graph(gr);
        if (*can) return run_analyze(an);
    }
    catch (const std::exception& e)
    {
        std::fprintf(stderr, "xskan: error: %s\n", e.what());
        return 1;
    }
    return 1;
}
