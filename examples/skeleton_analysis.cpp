// From an image to a branch table: smooth + Sauvola threshold, skeletonize,
// measure every branch, write skan's CSV. The README's code example.
//
// Usage: example_skeleton_analysis [image.npy] > branches.csv
// (float64 .npy; without an argument a synthetic image of bright lines is used)
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>

#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include <xskan/xskan.hpp>

int main(int argc, char** argv)
{
    xt::xarray<double> image;
    if (argc > 1)
    {
        image = xt::load_npy<double>(argv[1]);
    }
    else
    {
        // A grid of bright, slightly wavy lines on a dark background.
        image = xt::zeros<double>({256, 256});
        for (std::size_t i = 0; i < 256; ++i)
        {
            for (std::size_t j = 0; j < 256; ++j)
            {
                const double y = double(i) + 3.0 * std::sin(double(j) / 9.0);
                const double x = double(j) + 3.0 * std::cos(double(i) / 11.0);
                const bool on = std::fmod(y, 40.0) < 4.0 || std::fmod(x, 50.0) < 4.0;
                image(i, j) = on ? 0.8 : 0.1;
            }
        }
    }

    // skan.pre.threshold(image, sigma=2, radius=15, offset=0.075): Gaussian, then Sauvola with
    // window 2*radius+1 and k = offset, mask = smoothed > t.
    xskan::threshold_options topt;
    topt.sigma = 2.0;
    topt.radius = 15;
    topt.offset = 0.075;
    const xt::xarray<std::uint8_t> mask = xskan::threshold(image, topt);

    const xt::xarray<std::uint8_t> skel = xskan::skeletonize(mask);   // scikit-image's Zhang thinning

    xskan::skeleton_options sopt;
    sopt.spacing = {0.5};                                              // e.g. µm per pixel
    const xskan::skeleton skeleton(skel, sopt);
    const xskan::branch_table table = xskan::summarize(skeleton);

    std::cerr << skeleton.n_paths() << " branches, " << skeleton.n_nodes() << " skeleton pixels\n";
    xskan::write_csv(std::cout, table);
    return table.size() > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
