#include <xskan/xskan.hpp>

double umbrella_b_box_sum()
{
    xt::xarray<float> image = {{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}};
    return xskan::integral_image(image)(1, 2);
}
