// Box mean of an image with the integral-image trick:
//   sum over a w0 x w1 window = 4 corner samples of the integral image,
// i.e. a sparse correlation of the integral image with the box-corner kernel
// (+1/-1 at the corners of a (w0+1) x (w1+1) kernel), in valid mode.
// Cost per output: 4 operations whatever the window size, versus w0*w1 for a
// dense box kernel. Checked here against the dense kernel on the same image.
//
// usage: example_correlate_box [image.npy] [window]   (float64 .npy, 2-D)
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>

#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>
#include <xtensor/xrandom.hpp>
#include <xtensor/xview.hpp>

#include <xskan/correlate.hpp>
#include <xskan/integral_image.hpp>

int main(int argc, char** argv)
{
    try
    {
        xt::xarray<double> image;
        if (argc > 1)
        {
            image = xt::load_npy<double>(argv[1]);
        }
        else
        {
            xt::random::seed(0);
            image = xt::random::rand<double>({1000, 1500});
        }
        const std::size_t w = argc > 2 ? std::stoul(argv[2]) : 51;
        if (image.dimension() != 2 || image.shape()[0] < w || image.shape()[1] < w)
        {
            std::cerr << "need a 2-D image of at least " << w << " x " << w << " samples\n";
            return 1;
        }
        const std::size_t h = image.shape()[0];
        const std::size_t wd = image.shape()[1];

        // 1. integral image of the image with one leading row and column of zeros,
        //    so that windows touching the top/left border have a corner too
        xt::xarray<double> padded = xt::zeros<double>({h + 1, wd + 1});
        xt::view(padded, xt::range(1, h + 1), xt::range(1, wd + 1)) = image;
        const xt::xarray<double> ii = xskan::integral_image(padded);

        // 2. window sums = valid correlation with the box-corner kernel; reuse
        //    `sums` across calls (correlate_sparse_into) to avoid fresh memory
        const auto corners = xskan::sparse_kernel<double>::box_corners({w, w});
        xt::xarray<double> sums;
        xskan::correlate_sparse_into(ii, corners, sums);  // mode::valid; first call allocates
        auto t0 = std::chrono::steady_clock::now();
        xskan::correlate_sparse_into(ii, corners, sums);  // same shape: memory reused
        auto t1 = std::chrono::steady_clock::now();
        const xt::xarray<double> mean = sums / static_cast<double>(w * w);

        // 3. the same with the dense w x w kernel of ones (w*w terms per output)
        const xt::xarray<double> ones = xt::ones<double>({w, w});
        auto t2 = std::chrono::steady_clock::now();
        const auto dense = xskan::correlate_sparse(image, ones, xskan::mode::valid);
        auto t3 = std::chrono::steady_clock::now();

        double max_diff = 0;
        for (std::size_t i = 0; i < dense.size(); ++i)
        {
            max_diff = std::max(max_diff, std::abs(sums.data()[i] - dense.data()[i]));
        }
        auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
        std::cout << "image " << h << " x " << wd << ", window " << w << " x " << w << " -> " << mean.shape()[0]
                  << " x " << mean.shape()[1] << " box means\n"
                  << "mean[0, 0] = " << mean(0, 0) << ", mean[last] = " << mean.data()[mean.size() - 1] << "\n"
                  << "box-corner kernel on the integral image: " << ms(t0, t1) << " ms (4 terms per output, reused output)\n"
                  << "dense " << w << "x" << w << " kernel of ones:          " << ms(t2, t3) << " ms (" << w * w
                  << " terms per output)\n"
                  << "max |difference| between the two: " << max_diff << "\n";
        return max_diff < 1e-6 * static_cast<double>(w * w) ? 0 : 2;
    }
    catch (const std::exception& e)
    {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
