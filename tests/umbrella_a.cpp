#include <catch2/catch.hpp>

#include <xskan/xskan.hpp>

double umbrella_b_box_sum();

TEST_CASE("the umbrella header links from several translation units", "[umbrella]")
{
    xt::xarray<double> image = {{1., 2., 3.}, {4., 5., 6.}};
    auto s = xskan::integral_image(image);
    CHECK(s(1, 2) == 21.0);
    CHECK(umbrella_b_box_sum() == 21.0);
}
