// Test helper: read the first page of an uncompressed 8-bit little-endian TIFF
// (skan's FEI images data/inf1.tif, retic.tif: one row per strip), no libtiff.
#ifndef XSKAN_TESTS_TIFF_STRIPS_HPP
#define XSKAN_TESTS_TIFF_STRIPS_HPP

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xarray.hpp>

namespace xskan_test
{
    // Reads the first page of an uncompressed 8-bit little-endian TIFF (skan's FEI images).
    inline xt::xarray<std::uint8_t> read_tiff_u8(const std::string& path)
    {
        std::ifstream f(path, std::ios::binary);
        std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        REQUIRE(b.size() > 8);
        REQUIRE(b[0] == 'I');
        auto u16 = [&](std::size_t o) { return static_cast<std::uint32_t>(b.at(o) | (b.at(o + 1) << 8)); };
        auto u32 = [&](std::size_t o) { return u16(o) | (u16(o + 2) << 16); };
        const std::size_t ifd = u32(4);
        const std::size_t n = u16(ifd);
        std::uint32_t width = 0, height = 0, compression = 1, bits = 8;
        std::vector<std::uint32_t> offsets, counts;
        auto values = [&](std::size_t e) {
            const std::uint32_t type = u16(e + 2);
            const std::uint32_t count = u32(e + 4);
            const std::size_t sz = type == 3 ? 2 : 4;
            std::size_t at = (sz * count <= 4) ? e + 8 : u32(e + 8);
            std::vector<std::uint32_t> v;
            for (std::uint32_t i = 0; i < count; ++i)
            {
                v.push_back(sz == 2 ? u16(at + 2 * i) : u32(at + 4 * i));
            }
            return v;
        };
        for (std::size_t i = 0; i < n; ++i)
        {
            const std::size_t e = ifd + 2 + 12 * i;
            const std::uint32_t tag = u16(e);
            if (tag == 256) width = values(e)[0];
            if (tag == 257) height = values(e)[0];
            if (tag == 258) bits = values(e)[0];
            if (tag == 259) compression = values(e)[0];
            if (tag == 273) offsets = values(e);
            if (tag == 279) counts = values(e);
        }
        REQUIRE(compression == 1);
        REQUIRE(bits == 8);
        xt::xarray<std::uint8_t> img = xt::xarray<std::uint8_t>::from_shape({height, width});
        std::size_t pos = 0;
        for (std::size_t s = 0; s < offsets.size() && pos < img.size(); ++s)
        {
            for (std::uint32_t k = 0; k < counts[s] && pos < img.size(); ++k)
            {
                img.data()[pos++] = b.at(offsets[s] + k);
            }
        }
        REQUIRE(pos == img.size());
        return img;
    }

}  // namespace xskan_test

#endif
