// Tests of the optional I/O layer (include/xskan/io/): .npy, TIFF, FEI metadata, PNG, atomic writes.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <random>

#include <catch2/catch.hpp>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include "golden.hpp"

#include <xskan/io/atomic_file.hpp>
#include <xskan/io/fei.hpp>
#include <xskan/io/image.hpp>
#include <xskan/io/npy.hpp>
#include <xskan/io/png.hpp>
#include <xskan/io/tiff.hpp>

#include <zlib.h>

namespace
{
    std::string tmp_path(const std::string& name)
    {
        return std::string("xskan_test_io_") + name;
    }

    bool file_exists(const std::string& p)
    {
        std::ifstream f(p, std::ios::binary);
        return static_cast<bool>(f);
    }

    void write_bytes(const std::string& path, const std::string& bytes)
    {
        std::ofstream f(path, std::ios::binary);
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }

    std::string npy_bytes(const std::string& dict, const std::string& payload)
    {
        std::string header = dict;
        const std::size_t total = 10 + header.size() + 1;
        header.append((64 - total % 64) % 64, ' ');
        header.push_back('\n');
        std::string out("\x93NUMPY\x01\x00", 8);
        out.push_back(static_cast<char>(header.size() & 0xff));
        out.push_back(static_cast<char>(header.size() >> 8));
        return out + header + payload;
    }

    template <class T>
    void check_npy_roundtrip(const xt::xarray<T>& a, xskan::io::dtype expected)
    {
        const std::string p = tmp_path("rt.npy");
        xskan::io::save_npy(p, a);
        const auto b = xskan::io::load_npy(p);
        CHECK(b.type == expected);
        CHECK(b.shape() == std::vector<std::size_t>(a.shape().begin(), a.shape().end()));
        CHECK((b.as<double>() == xt::xarray<double>(xt::cast<double>(a))));
        std::remove(p.c_str());
    }
}  // namespace

TEST_CASE("npy round trip keeps dtype, shape and values", "[io][npy]")
{
    using xskan::io::dtype;
    check_npy_roundtrip(xt::xarray<std::uint8_t>{{0, 1, 255}, {7, 8, 9}}, dtype::uint8);
    check_npy_roundtrip(xt::xarray<std::int16_t>{-32768, 0, 32767}, dtype::int16);
    check_npy_roundtrip(xt::xarray<std::uint16_t>{{{1, 2}, {3, 65535}}, {{5, 6}, {7, 8}}}, dtype::uint16);
    check_npy_roundtrip(xt::xarray<std::int64_t>{{-5, 1LL << 40}}, dtype::int64);
    check_npy_roundtrip(xt::xarray<float>{{0.5f, -1.25f}, {1e-30f, 3.f}}, dtype::float32);
    check_npy_roundtrip(xt::xarray<double>{{0.1, -2.0, 1e300}}, dtype::float64);
    check_npy_roundtrip(xt::xarray<bool>{{true, false}, {false, true}}, dtype::bool_);
    // A transposed (non-contiguous) view is written in logical C order.
    xt::xarray<int> m{{1, 2, 3}, {4, 5, 6}};
    const std::string p = tmp_path("t.npy");
    xskan::io::save_npy(p, xt::transpose(m));
    const auto t = xskan::io::load_npy_as<int>(p);
    CHECK((t == xt::xarray<int>{{1, 4}, {2, 5}, {3, 6}}));
    std::remove(p.c_str());
}

TEST_CASE("npy reader: Fortran order, big-endian, errors", "[io][npy]")
{
    const std::string p = tmp_path("f.npy");
    // 2x3 int16 big-endian Fortran order: C-order values 1 2 3 / 4 5 6 stored column by column.
    std::string payload;
    for (int v : {1, 4, 2, 5, 3, 6})
    {
        payload.push_back(static_cast<char>((v >> 8) & 0xff));
        payload.push_back(static_cast<char>(v & 0xff));
    }
    write_bytes(p, npy_bytes("{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }", payload));
    const auto a = xskan::io::load_npy(p);
    CHECK(a.type == xskan::io::dtype::int16);
    CHECK((a.get<std::int16_t>() == xt::xarray<std::int16_t>{{1, 2, 3}, {4, 5, 6}}));

    // Truncated data: the message names the file.
    write_bytes(p, npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (10,), }", std::string(16, '\0')));
    CHECK_THROWS_WITH(xskan::io::load_npy(p), Catch::Contains("truncated") && Catch::Contains(p));
    // Unsupported dtype.
    write_bytes(p, npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", std::string(16, '\0')));
    CHECK_THROWS_WITH(xskan::io::load_npy(p), Catch::Contains("unsupported .npy dtype"));
    // Not a .npy at all.
    write_bytes(p, "hello world, not numpy");
    CHECK_THROWS_WITH(xskan::io::load_npy(p), Catch::Contains("not a .npy"));
    std::remove(p.c_str());
    CHECK_THROWS_WITH(xskan::io::load_npy(tmp_path("missing.npy")), Catch::Contains("cannot open"));
}

TEST_CASE("npy reader matches xtensor on a golden file", "[io][npy][golden]")
{
    const std::string p = xskan_test::golden("C_threshold/retic_crop_u8.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(p);
    const auto a = xskan::io::load_npy(p);
    REQUIRE(a.type == xskan::io::dtype::uint8);
    CHECK((a.get<std::uint8_t>() == xt::load_npy<std::uint8_t>(p)));
}

TEST_CASE("TIFF write/read round trip for several sample types", "[io][tiff]")
{
    const std::string p = tmp_path("rt.tif");
    xt::xarray<std::uint16_t> u16{{0, 1000, 65535}, {3, 4, 5}};
    xskan::io::write_tiff(p, u16);
    auto a = xskan::io::read_tiff(p);
    CHECK(a.type == xskan::io::dtype::uint16);
    CHECK((a.get<std::uint16_t>() == u16));

    xt::xarray<float> f32{{0.25f, -1.5f}, {1e20f, 2.f}, {5.f, 6.f}};
    xskan::io::write_tiff(p, f32);
    a = xskan::io::read_tiff(p);
    CHECK(a.type == xskan::io::dtype::float32);
    CHECK((a.get<float>() == f32));

    xt::xarray<std::int16_t> i16{{-7, 7}};
    xskan::io::write_tiff(p, i16);
    CHECK((xskan::io::read_tiff(p).get<std::int16_t>() == i16));
    std::remove(p.c_str());
    CHECK_THROWS_WITH(xskan::io::read_tiff(tmp_path("missing.tif")), Catch::Contains("cannot open"));
    write_bytes(p, "II*\0garbage");
    CHECK_THROWS_WITH(xskan::io::read_tiff(p), Catch::Contains(p));
    std::remove(p.c_str());
}

TEST_CASE("TIFF: multi-page -> 3D, RGB -> rgb2gray, tiles", "[io][tiff]")
{
    const std::string p = tmp_path("mp.tif");
    {
        TIFF* t = TIFFOpen(p.c_str(), "w");
        REQUIRE(t != nullptr);
        for (int page = 0; page < 3; ++page)
        {
            TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 4u);
            TIFFSetField(t, TIFFTAG_IMAGELENGTH, 2u);
            TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
            TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
            TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
            TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 1u);
            TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
            for (std::uint32_t r = 0; r < 2; ++r)
            {
                unsigned char row[4];
                for (int c = 0; c < 4; ++c)
                {
                    row[c] = static_cast<unsigned char>(100 * page + 10 * static_cast<int>(r) + c);
                }
                TIFFWriteScanline(t, row, r, 0);
            }
            TIFFWriteDirectory(t);
        }
        TIFFClose(t);
    }
    CHECK(xskan::io::tiff_page_count(p) == 3);
    const auto a = xskan::io::read_tiff(p);
    REQUIRE(a.shape() == std::vector<std::size_t>{3, 2, 4});
    const auto& v = a.get<std::uint8_t>();
    CHECK(v(0, 0, 0) == 0);
    CHECK(v(1, 1, 2) == 112);
    CHECK(v(2, 1, 3) == 213);
    xskan::io::tiff_read_options one;
    one.page = 1;
    const auto b = xskan::io::read_tiff(p, one);
    CHECK((b.get<std::uint8_t>() == xt::xarray<std::uint8_t>(xt::view(v, 1))));
    one.page = 5;
    CHECK_THROWS_WITH(xskan::io::read_tiff(p, one), Catch::Contains("page 5"));

    // RGB, tiled 16x16, 20x18 image.
    {
        TIFF* t = TIFFOpen(p.c_str(), "w");
        REQUIRE(t != nullptr);
        const std::uint32_t W = 20, H = 18;
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, W);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, H);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_TILEWIDTH, 16u);
        TIFFSetField(t, TIFFTAG_TILELENGTH, 16u);
        for (std::uint32_t y0 = 0; y0 < H; y0 += 16)
        {
            for (std::uint32_t x0 = 0; x0 < W; x0 += 16)
            {
                std::vector<unsigned char> tile(16 * 16 * 3, 0);
                for (std::uint32_t y = 0; y < 16; ++y)
                {
                    for (std::uint32_t x = 0; x < 16; ++x)
                    {
                        const std::uint32_t gy = y0 + y, gx = x0 + x;
                        tile[(y * 16 + x) * 3 + 0] = static_cast<unsigned char>(gx * 10);
                        tile[(y * 16 + x) * 3 + 1] = static_cast<unsigned char>(gy * 10);
                        tile[(y * 16 + x) * 3 + 2] = 33;
                    }
                }
                TIFFWriteTile(t, tile.data(), x0, y0, 0, 0);
            }
        }
        TIFFClose(t);
    }
    xskan::io::tiff_read_options keep;
    keep.color = xskan::io::color_handling::keep;
    const auto raw = xskan::io::read_tiff(p, keep);
    REQUIRE(raw.shape() == std::vector<std::size_t>{18, 20, 3});
    CHECK(raw.get<std::uint8_t>()(17, 19, 0) == 190);
    CHECK(raw.get<std::uint8_t>()(17, 19, 1) == 170);
    const auto gray = xskan::io::read_tiff(p);
    REQUIRE(gray.type == xskan::io::dtype::float64);
    // scikit-image 0.19.3: rgb2gray(np.uint8([[[190, 170, 33]]])) -> 0.6445972549019607 (x * (1/255) then weights)
    const double f = 1.0 / 255.0;
    const double expected = ((190 * f) * 0.2125 + (170 * f) * 0.7154) + (33 * f) * 0.0721;
    CHECK(gray.get<double>()(17, 19) == expected);
    CHECK(expected == 0.6445972549019607);  // printed by numpy with repr (round-trip exact)
    xskan::io::tiff_read_options strict;
    strict.color = xskan::io::color_handling::error;
    CHECK_THROWS_WITH(xskan::io::read_tiff(p, strict), Catch::Contains("RGB"));
    std::remove(p.c_str());
}

TEST_CASE("FEI metadata text parsing", "[io][fei]")
{
    const std::string text = "junk\r\n[User]\r\nDate=03/03/2017\r\nTime=04:22:50 PM\r\n\r\n[Scan]\r\nPixelWidth=1.07917e-009\r\n"
                             "PixelHeight=2.5e-009\r\nName=a=b?\r\n[EScan]\r\nPixelHeight=9\r\n\0\0";
    const auto md = xskan::io::parse_fei_metadata(text);
    CHECK(md.get("User", "Date").value() == "03/03/2017");
    CHECK(md.number("Scan/PixelWidth") == 1.07917e-9);
    CHECK(md.number("Scan/PixelHeight") == 2.5e-9);
    CHECK(md.number("EScan/PixelHeight") == 9.0);
    CHECK_THROWS_WITH(md.number("Scan/Missing"), Catch::Contains("Scan/Missing"));
    CHECK_THROWS_WITH(md.number("User/Time"), Catch::Contains("not a number"));
    CHECK_THROWS_AS(md.number("NoSlash"), std::invalid_argument);
    // imageio's rule for appended text: start at the first line beginning with Date= (keys go to "root").
    const auto tail = xskan::io::parse_fei_metadata(text, true);
    CHECK(tail.get("root", "Date").value() == "03/03/2017");
    CHECK(!tail.get("User", "Date"));
    CHECK(tail.number("Scan/PixelHeight") == 2.5e-9);
}

TEST_CASE("FEI SEM TIFF: pixel size and data bar like imageio's fei format", "[io][fei][golden]")
{
    const std::string p = xskan_test::shared("data/inf1.tif");
    XSKAN_REQUIRE_FILE_OR_SKIP(p);
    const auto raw = xskan::io::read_tiff(p);
    CHECK(raw.type == xskan::io::dtype::uint8);
    CHECK(raw.shape() == std::vector<std::size_t>{1094, 1536});
    const auto fei = xskan::io::read_fei(p);
    CHECK(fei.image.shape() == std::vector<std::size_t>{1024, 1536});
    CHECK((fei.image.get<std::uint8_t>() == xt::xarray<std::uint8_t>(xt::view(raw.get<std::uint8_t>(), xt::range(0, 1024)))));
    CHECK(fei.metadata.number("Scan/PixelHeight") == 1.07917e-09);
    CHECK(fei.metadata.number("Scan/PixelWidth") == 1.07917e-09);
    // The same text is appended to the file (imageio reads it from there).
    const auto appended = xskan::io::detail::fei_metadata_from_file_text(p);
    CHECK(appended.number("Scan/PixelHeight") == 1.07917e-09);
    CHECK(xskan::io::read_fei_metadata(p).number("Scan/PixelHeight") == 1.07917e-09);
    // Golden crop of the raw page (rows 300:556, cols 400:720 of retic.tif).
    const std::string r = xskan_test::shared("data/retic.tif");
    const std::string crop = xskan_test::golden("C_threshold/retic_crop_u8.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(crop);
    const auto retic = xskan::io::read_tiff(r);
    CHECK((xt::xarray<std::uint8_t>(xt::view(retic.get<std::uint8_t>(), xt::range(300, 556), xt::range(400, 720)))
           == xt::load_npy<std::uint8_t>(crop)));
    // A TIFF without FEI metadata is refused by read_fei with the file name.
    const std::string plain = tmp_path("plain.tif");
    xskan::io::write_tiff(plain, xt::xarray<std::uint8_t>{{1, 2}, {3, 4}});
    CHECK(xskan::io::read_fei_metadata(plain).empty());
    CHECK_THROWS_WITH(xskan::io::read_fei(plain), Catch::Contains("no FEI metadata") && Catch::Contains(plain));
    std::remove(plain.c_str());
}

TEST_CASE("deflate-compressed TIFF written by tifffile (skeleton.tif)", "[io][tiff][golden]")
{
    const std::string p = xskan_test::shared("data/skeleton.tif");
    const std::string g = xskan_test::golden("F_skan/skeletontif_x_image/input.npy");
    const std::string s = xskan_test::golden("F_skan/skeletontif/skeleton.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(p);
    XSKAN_REQUIRE_FILE_OR_SKIP(g);
    XSKAN_REQUIRE_FILE_OR_SKIP(s);
    const auto img = xskan::io::read_tiff(p);
    REQUIRE(img.shape() == std::vector<std::size_t>{501, 232});
    // skeletontif_x_image = (skeleton != 0) * image (uint8)
    const auto skel = xt::load_npy<std::uint8_t>(s);
    const auto prod = xt::load_npy<std::uint8_t>(g);
    const xt::xarray<std::uint8_t> expect = xt::where(xt::not_equal(skel, 0), img.get<std::uint8_t>(), std::uint8_t(0));
    CHECK((expect == prod));
}

TEST_CASE("PNG write/read: gray, RGB, 16-bit, errors", "[io][png]")
{
    const std::string p = tmp_path("rt.png");
    xt::xarray<std::uint8_t> g{{0, 10, 255}, {1, 2, 3}};
    xskan::io::write_png(p, g);
    auto a = xskan::io::read_png(p);
    CHECK((a.get<std::uint8_t>() == g));

    xt::xarray<std::uint8_t> rgb = xt::zeros<std::uint8_t>({2, 3, 3});
    rgb(1, 2, 0) = 190;
    rgb(1, 2, 1) = 170;
    rgb(1, 2, 2) = 33;
    rgb(0, 0, 2) = 255;
    xskan::io::png_write_options best;
    best.compression_level = 9;
    xskan::io::write_png(p, rgb, best);
    a = xskan::io::read_png(p, xskan::io::color_handling::keep);
    CHECK((a.get<std::uint8_t>() == rgb));
    a = xskan::io::read_png(p);
    const double f = 1.0 / 255.0;
    CHECK(a.get<double>()(1, 2) == ((190 * f) * 0.2125 + (170 * f) * 0.7154) + (33 * f) * 0.0721);
    CHECK(a.get<double>()(0, 0) == (255 * f) * 0.0721);
    CHECK_THROWS_WITH(xskan::io::read_png(p, xskan::io::color_handling::error), Catch::Contains("colour"));

    xt::xarray<std::uint16_t> g16{{0, 256, 65535}};
    xskan::io::write_png(p, g16);
    a = xskan::io::read_png(p);
    CHECK((a.get<std::uint16_t>() == g16));

    // Through read_image by extension.
    CHECK((xskan::io::read_image(p).get<std::uint16_t>() == g16));
    CHECK_THROWS_WITH(xskan::io::read_image("image.jpg"), Catch::Contains("allowed: .tif, .tiff, .png, .npy"));

    write_bytes(p, "\x89PNG\r\n\x1a\n and then garbage");
    CHECK_THROWS_WITH(xskan::io::read_png(p), Catch::Contains("corrupt"));
    write_bytes(p, "not a png");
    CHECK_THROWS_WITH(xskan::io::read_png(p), Catch::Contains("not a PNG"));
    std::remove(p.c_str());
    CHECK_THROWS_AS(xskan::io::write_png(p, xt::xarray<std::uint8_t>(xt::zeros<std::uint8_t>({2, 2, 5}))),
                    std::invalid_argument);
    CHECK_THROWS_WITH(xskan::io::write_png("/nonexistent-dir/x.png", g), Catch::Contains("/nonexistent-dir/x.png"));
}

TEST_CASE("PNG write at levels 0-1 (libdeflate when built with it) and 9 decodes to the same pixels", "[io][png]")
{
    const std::string p = tmp_path("levels.png");
    std::mt19937 rng(5);
    xskan::io::png_buffers reused;
    auto roundtrip = [&](const auto& img, int level, bool keep_colour) {
        xskan::io::png_write_options o;
        o.compression_level = level;
        o.buffers = level == 1 ? &reused : nullptr;
        xskan::io::write_png(p, img, o);
        using T = typename std::decay_t<decltype(img)>::value_type;
        const auto back = xskan::io::read_png(p, keep_colour ? xskan::io::color_handling::keep
                                                             : xskan::io::color_handling::to_gray);
        return back.template get<T>();
    };
    for (int level : {0, 1, 9})
    {
        INFO("level " << level);
        // odd sizes, gray 8-bit, RGB 8-bit, gray 16-bit (byte order), 1x1
        xt::xarray<std::uint8_t> g = xt::xarray<std::uint8_t>::from_shape({37, 53});
        for (auto& v : g) v = static_cast<std::uint8_t>(rng());
        CHECK((roundtrip(g, level, false) == g));
        xt::xarray<std::uint8_t> rgb = xt::xarray<std::uint8_t>::from_shape({19, 23, 3});
        for (auto& v : rgb) v = static_cast<std::uint8_t>(rng() % 7);
        CHECK((roundtrip(rgb, level, true) == rgb));
        xt::xarray<std::uint16_t> g16 = xt::xarray<std::uint16_t>::from_shape({5, 9});
        for (auto& v : g16) v = static_cast<std::uint16_t>(rng());
        CHECK((roundtrip(g16, level, false) == g16));
        xt::xarray<std::uint8_t> dot = xt::xarray<std::uint8_t>::from_shape({1, 1});
        dot(0, 0) = 77;
        CHECK((roundtrip(dot, level, false) == dot));
    }
    // stored (level 0) image larger than one 8 MiB IDAT chunk: several chunks
    xt::xarray<std::uint8_t> big = xt::xarray<std::uint8_t>::from_shape({1500, 2000, 3});
    for (auto& v : big) v = static_cast<std::uint8_t>(rng());
    CHECK((roundtrip(big, 0, true) == big));
    std::remove(p.c_str());
}

namespace
{
    /// Inflate a raw deflate stream (zlib's inflate: strict about code completeness and distances).
    std::vector<unsigned char> inflate_raw(const unsigned char* data, std::size_t n, std::size_t expected)
    {
        std::vector<unsigned char> out(expected + 16);
        z_stream s{};
        REQUIRE(inflateInit2(&s, -15) == Z_OK);
        s.next_in = const_cast<unsigned char*>(data);
        s.avail_in = static_cast<uInt>(n);
        s.next_out = out.data();
        s.avail_out = static_cast<uInt>(out.size());
        const int rc = inflate(&s, Z_FINISH);
        out.resize(s.total_out);
        inflateEnd(&s);
        CHECK(rc == Z_STREAM_END);
        CHECK(s.avail_in == 0);
        return out;
    }
}  // namespace

TEST_CASE("gray-RGB deflate encoder (PNG level 1, 8-bit RGB) inflates to the exact scanlines", "[io][png]")
{
    std::mt19937 rng(11);
    xskan::io::detail::rgb_deflate_state st;  // reused across images
    std::vector<unsigned char> out;
    const std::string p = tmp_path("rgbdeflate.png");
    auto check = [&](std::size_t rows, std::size_t cols, auto&& pixel) {
        INFO(rows << " x " << cols);
        xt::xarray<std::uint8_t> img = xt::xarray<std::uint8_t>::from_shape({rows, cols, std::size_t(3)});
        std::vector<unsigned char> raw(rows * (3 * cols + 1));
        for (std::size_t r = 0; r < rows; ++r)
        {
            raw[r * (3 * cols + 1)] = 0;
            for (std::size_t c = 0; c < cols; ++c)
            {
                const auto v = pixel(r, c);
                for (std::size_t k = 0; k < 3; ++k)
                {
                    img(r, c, k) = v[k];
                    raw[r * (3 * cols + 1) + 1 + 3 * c + k] = v[k];
                }
            }
        }
        const std::size_t z = xskan::io::detail::rgb_deflate_scanlines(raw.data(), rows, cols, out, 3, st);
        REQUIRE(z > 3);
        CHECK((inflate_raw(out.data() + 3, z - 3, raw.size()) == raw));
        // through write_png (zlib stream, Adler-32, chunks) and libpng's reader
        xskan::io::png_write_options o;
        o.compression_level = 1;
        xskan::io::write_png(p, img, o);
        CHECK((xskan::io::read_png(p, xskan::io::color_handling::keep).get<std::uint8_t>() == img));
    };
    using px = std::array<std::uint8_t, 3>;
    auto gray = [](unsigned g) { return px{static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(g)}; };
    check(1, 1, [&](std::size_t, std::size_t) { return gray(9); });
    check(1, 1, [&](std::size_t, std::size_t) { return px{1, 2, 3}; });
    check(1, 2, [&](std::size_t, std::size_t c) { return gray(static_cast<unsigned>(c)); });
    check(1, 37, [&](std::size_t, std::size_t c) { return gray(static_cast<unsigned>(c % 3)); });
    check(41, 1, [&](std::size_t r, std::size_t) { return gray(static_cast<unsigned>(r % 4)); });
    // one gray level: pair matches extended to the 255-byte limit, every row
    check(30, 200, [&](std::size_t, std::size_t) { return gray(128); });
    // a few gray levels and a few colours (the analyze overlays): matches of all kinds
    check(64, 97, [&](std::size_t, std::size_t) {
        if (rng() % 9 == 0) return px{static_cast<std::uint8_t>(rng() % 3 * 100), 7, 200};
        return gray(rng() % 5 + 60);
    });
    // noise: gray and colour pixels with all values; 3 blocks of tokens (>= 65536 each)
    check(150, 311, [&](std::size_t, std::size_t) {
        if (rng() % 4 == 0) return px{static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng())};
        return gray(rng() % 256);
    });
    // rows longer than the 32 KiB window: old positions must not be used
    check(3, 12000, [&](std::size_t r, std::size_t c) { return c % 4000 < 2 ? gray(static_cast<unsigned>(r + 1)) : gray(static_cast<unsigned>(c % 250)); });
    // partial repeats: a match extends pixel by pixel and stops at a difference or the row end
    check(20, 50, [&](std::size_t r, std::size_t c) { return gray(static_cast<unsigned>((c < 25 ? c : 0) + (r % 3 == 0 ? 1 : 0) * (c % 7 == 0))); });
    // the generic encoder gives the same pixels
    xt::xarray<std::uint8_t> img = xt::xarray<std::uint8_t>::from_shape({33, 45, 3});
    for (auto& v : img) v = static_cast<std::uint8_t>(rng() % 4);
    xskan::io::png_write_options o;
    o.deflate = xskan::io::png_deflate::generic;
    xskan::io::write_png(p, img, o);
    CHECK((xskan::io::read_png(p, xskan::io::color_handling::keep).get<std::uint8_t>() == img));
    std::remove(p.c_str());
}

TEST_CASE("write_png_scanlines (pixels drawn into png_scanlines) == write_png, byte for byte", "[io][png]")
{
    std::mt19937 rng(12);
    const std::string p1 = tmp_path("scan_a.png"), p2 = tmp_path("scan_b.png");
    auto slurp = [](const std::string& f) {
        std::ifstream in(f, std::ios::binary);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    };
    xskan::io::png_buffers buf;  // reused across shapes and levels
    for (int level : {0, 1, 9})
    {
        for (std::size_t ch : {std::size_t(1), std::size_t(3), std::size_t(4)})
        {
            for (const auto& hw : {std::array<std::size_t, 2>{1, 1}, std::array<std::size_t, 2>{17, 29}})
            {
                INFO("level " << level << " channels " << ch << " " << hw[0] << "x" << hw[1]);
                xt::xarray<std::uint8_t> img = xt::xarray<std::uint8_t>::from_shape({hw[0], hw[1], ch});
                for (auto& v : img) v = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : 90);
                xskan::io::png_write_options o;
                o.compression_level = level;
                xskan::io::write_png(p1, img, o);
                std::uint8_t* d = xskan::io::png_scanlines(buf, hw[0], hw[1], static_cast<int>(ch));
                for (std::size_t r = 0; r < hw[0]; ++r)
                    for (std::size_t k = 0; k < hw[1] * ch; ++k) d[r * (1 + hw[1] * ch) + k] = img.data()[r * hw[1] * ch + k];
                xskan::io::write_png_scanlines(p2, hw[0], hw[1], static_cast<int>(ch), buf, o);
                CHECK(slurp(p1) == slurp(p2));
            }
        }
    }
    CHECK_THROWS_AS(xskan::io::write_png_scanlines(p2, 5, 5, 3, buf), std::invalid_argument);
    CHECK_THROWS_AS(xskan::io::png_scanlines(buf, 2, 2, 5), std::invalid_argument);
    std::remove(p1.c_str());
    std::remove(p2.c_str());
}

TEST_CASE("atomic writes leave no partial file", "[io][atomic]")
{
    const std::string p = tmp_path("atomic.txt");
    std::remove(p.c_str());
    xskan::io::write_file_atomically(p, [](std::ostream& o) { o << "first"; });
    CHECK_THROWS(xskan::io::write_file_atomically(p, [](std::ostream& o) {
        o << "partial";
        throw std::runtime_error("boom");
    }));
    // The old content is intact; no temporary file left behind.
    std::ifstream in(p);
    std::string s;
    in >> s;
    CHECK(s == "first");
    std::remove(p.c_str());
    CHECK_THROWS(xskan::io::write_file_atomically(p, [](std::ostream& o) {
        o << "partial";
        throw std::runtime_error("boom");
    }));
    CHECK(!file_exists(p));
}

TEST_CASE("atomic writes replace files, never directories, and leave no temporary files", "[io][atomic]")
{
    namespace fs = std::filesystem;
    const fs::path dir = tmp_path("atomic_dir");
    fs::remove_all(dir);
    fs::create_directory(dir);
    const std::string p = (dir / "out.csv").string();
    auto read_all = [](const std::string& f) {
        std::ifstream in(f, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    // new file (plain rename), then replaced twice (exchange with the old file + unlink on Linux)
    xskan::io::write_file_atomically(p, [](std::ostream& o) { o << "first\n"; });
    xskan::io::write_file_atomically(p, [](std::ostream& o) { o << "second, longer\n"; });
    CHECK(read_all(p) == "second, longer\n");
    {
        xskan::io::atomic_output out(p);
        write_bytes(out.temp_path(), "3");
        out.commit();
    }
    CHECK(read_all(p) == "3");
    // a directory in the way is an error and stays a directory
    const std::string d = (dir / "sub").string();
    fs::create_directory(d);
    CHECK_THROWS_AS(xskan::io::write_file_atomically(d, [](std::ostream& o) { o << "x"; }), std::runtime_error);
    CHECK(fs::is_directory(d));
    // commit without a temporary file fails and leaves the target alone
    {
        xskan::io::atomic_output out(p);
        CHECK_THROWS_AS(out.commit(), std::runtime_error);
    }
    CHECK(read_all(p) == "3");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"out.csv", "sub"});
    fs::remove_all(dir);
}
