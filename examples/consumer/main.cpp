// Minimal downstream program: built against an installed xskan by CI.
#include <cstdlib>
#include <iostream>

#include <xskan/xskan.hpp>
#include <xtensor/xarray.hpp>

int main()
{
    xt::xarray<double> image = {{1., 2., 3.}, {4., 5., 6.}};
    auto s = xskan::integral_image(image);
    if (s(1, 2) != 21.0)
    {
        std::cerr << "consumer: integral_image gave " << s(1, 2) << ", expected 21\n";
        return EXIT_FAILURE;
    }
    std::cout << "consumer: xskan " << XSKAN_VERSION_STRING << " via find_package works\n";
    return EXIT_SUCCESS;
}
