/**
 * @file io/tiff.hpp
 * @brief Read grayscale TIFF images (libtiff): 1/8/16/32/64-bit integer and
 *        32/64-bit float samples, multi-page files as 3D stacks, RGB converted
 *        with scikit-image's rgb2gray.
 *
 * Matches: `tifffile.imread` (what scikit-image's `io.imread` uses) for the
 * supported layouts: the array has the file's dtype (1-bit -> bool), a
 * multi-page file gives a (pages, rows, cols) stack. Differences: RGB is
 * converted to gray (`color_handling::to_gray`, default) instead of
 * returned as (rows, cols, 3) — pass `color_handling::keep` for the raw
 * channels; palette, YCbCr/JPEG-in-TIFF, CMYK and images with an alpha or
 * extra channel are refused with a clear message.
 * Needs libtiff: link `xskan::io`.
 */
#ifndef XSKAN_IO_TIFF_HPP
#define XSKAN_IO_TIFF_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <tiffio.h>

#include <xtensor/xarray.hpp>

#include "any_array.hpp"
#include "color.hpp"

namespace xskan
{
    namespace io
    {
        /// Options of read_tiff.
        struct tiff_read_options
        {
            /// Read only this page (0-based) as a 2D image; empty = every page (3D when there are several).
            std::optional<std::size_t> page = std::nullopt;
            /// What to do with RGB pages.
            color_handling color = color_handling::to_gray;
            /// Drop this many rows at the bottom of every page (not read at all); FEI data bar = 70.
            std::size_t drop_bottom_rows = 0;
        };

        namespace detail
        {
            struct tiff_error_sink
            {
                std::string message;
            };

#if defined(TIFFLIB_VERSION) && TIFFLIB_VERSION >= 20221213
            inline int tiff_error_handler(TIFF*, void* user_data, const char* module, const char* fmt, va_list ap)
            {
                auto* sink = static_cast<tiff_error_sink*>(user_data);
                char buf[1024];
                std::vsnprintf(buf, sizeof buf, fmt, ap);
                if (sink != nullptr && sink->message.empty())
                {
                    sink->message = std::string(module != nullptr ? module : "libtiff") + ": " + buf;
                }
                return 1;
            }
            inline int tiff_warning_handler(TIFF*, void*, const char*, const char*, va_list)
            {
                return 1;  // unknown private tags (FEI 34682, ...) are expected: stay quiet
            }
#endif

            struct tiff_closer
            {
                void operator()(TIFF* t) const noexcept
                {
                    if (t != nullptr)
                    {
                        TIFFClose(t);
                    }
                }
            };

            /// An open TIFF plus the sink its errors go to (errors are per-handle, no global state).
            struct tiff_handle
            {
                std::unique_ptr<tiff_error_sink> sink = std::make_unique<tiff_error_sink>();
                std::unique_ptr<TIFF, tiff_closer> tif;
                std::string path;

                explicit tiff_handle(const std::string& p)
                    : path(p)
                {
                    {
                        std::FILE* probe = std::fopen(p.c_str(), "rb");
                        if (probe == nullptr)
                        {
                            throw std::runtime_error("cannot open '" + p + "' for reading: " + std::strerror(errno));
                        }
                        std::fclose(probe);
                    }
#if defined(TIFFLIB_VERSION) && TIFFLIB_VERSION >= 20221213
                    TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
                    TIFFOpenOptionsSetErrorHandlerExtR(opts, &tiff_error_handler, sink.get());
                    TIFFOpenOptionsSetWarningHandlerExtR(opts, &tiff_warning_handler, nullptr);
                    tif.reset(TIFFOpenExt(p.c_str(), "r", opts));
                    TIFFOpenOptionsFree(opts);
#else
                    tif.reset(TIFFOpen(p.c_str(), "r"));
#endif
                    if (!tif)
                    {
                        throw std::runtime_error("'" + p + "' is not a readable TIFF file"
                                                 + (sink->message.empty() ? std::string() : " (" + sink->message + ")"));
                    }
                }

                [[noreturn]] void fail(const std::string& what) const
                {
                    throw std::runtime_error("'" + path + "': " + what
                                             + (sink->message.empty() ? std::string() : " (" + sink->message + ")"));
                }

                TIFF* get() const noexcept { return tif.get(); }
            };

            struct tiff_page_info
            {
                std::uint32_t width = 0, height = 0;
                std::uint16_t bits = 1, samples = 1, format = SAMPLEFORMAT_UINT, photometric = PHOTOMETRIC_MINISBLACK,
                              planar = PLANARCONFIG_CONTIG;
                dtype type = dtype::uint8;
            };

            inline tiff_page_info tiff_page(const tiff_handle& h)
            {
                TIFF* t = h.get();
                tiff_page_info p;
                if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &p.width) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &p.height))
                {
                    h.fail("missing image size tags");
                }
                TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &p.bits);
                TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &p.samples);
                TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &p.format);
                TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &p.planar);
                if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &p.photometric))
                {
                    p.photometric = p.samples >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
                }
                if (p.width == 0 || p.height == 0)
                {
                    h.fail("empty image (" + std::to_string(p.height) + "x" + std::to_string(p.width) + ")");
                }
                if (p.photometric == PHOTOMETRIC_PALETTE)
                {
                    h.fail("palette (indexed colour) TIFF is not supported; allowed: grayscale or RGB");
                }
                if (p.photometric == PHOTOMETRIC_YCBCR || p.photometric == PHOTOMETRIC_SEPARATED
                    || p.photometric == PHOTOMETRIC_CIELAB)
                {
                    h.fail("photometric interpretation " + std::to_string(p.photometric)
                           + " (YCbCr/CMYK/Lab) is not supported; allowed: grayscale or RGB");
                }
                const bool rgb = p.photometric == PHOTOMETRIC_RGB;
                if ((!rgb && p.samples != 1) || (rgb && p.samples != 3))
                {
                    h.fail(std::to_string(p.samples) + " samples per pixel (photometric " + std::to_string(p.photometric)
                           + ") is not supported; allowed: 1 (grayscale) or 3 (RGB; RGBA/extra channels are refused "
                             "like scikit-image's rgb2gray)");
                }
                if (p.format == SAMPLEFORMAT_IEEEFP)
                {
                    if (p.bits == 32) p.type = dtype::float32;
                    else if (p.bits == 64) p.type = dtype::float64;
                    else h.fail(std::to_string(p.bits) + "-bit float samples are not supported; allowed: 32 or 64");
                }
                else if (p.format == SAMPLEFORMAT_UINT || p.format == SAMPLEFORMAT_VOID)
                {
                    switch (p.bits)
                    {
                        case 1: p.type = dtype::bool_; break;
                        case 8: p.type = dtype::uint8; break;
                        case 16: p.type = dtype::uint16; break;
                        case 32: p.type = dtype::uint32; break;
                        case 64: p.type = dtype::uint64; break;
                        default: h.fail(std::to_string(p.bits) + "-bit samples are not supported; allowed: 1, 8, 16, 32, 64");
                    }
                }
                else if (p.format == SAMPLEFORMAT_INT)
                {
                    switch (p.bits)
                    {
                        case 8: p.type = dtype::int8; break;
                        case 16: p.type = dtype::int16; break;
                        case 32: p.type = dtype::int32; break;
                        case 64: p.type = dtype::int64; break;
                        default: h.fail(std::to_string(p.bits) + "-bit signed samples are not supported; allowed: 8, 16, 32, 64");
                    }
                }
                else
                {
                    h.fail("complex sample format " + std::to_string(p.format) + " is not supported");
                }
                if (rgb && p.type == dtype::bool_)
                {
                    h.fail("1-bit RGB is not supported");
                }
                return p;
            }

            /**
             * Decode the first `rows` rows of the current page into `dst` as
             * interleaved samples (rows x width x samples of T), whatever the
             * strip/tile/planar layout. 1-bit data are unpacked to 0/1 bytes.
             */
            template <class T>
            void tiff_decode_rows(const tiff_handle& h, const tiff_page_info& p, std::size_t rows, T* dst)
            {
                TIFF* t = h.get();
                const std::size_t w = p.width, spp = p.samples;
                const std::size_t row_elems = w * spp;
                const bool packed_bits = p.bits == 1;
                auto unpack_bits = [&](const unsigned char* src, T* out, std::size_t n) {
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        const unsigned bit = (src[i >> 3] >> (7 - (i & 7))) & 1u;
                        out[i] = static_cast<T>(p.photometric == PHOTOMETRIC_MINISWHITE ? 1u - bit : bit);
                    }
                };
                if (!TIFFIsTiled(t))
                {
                    std::uint32_t rps = 0;
                    TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rps);
                    if (rps == 0 || rps > p.height)
                    {
                        rps = p.height;
                    }
                    const std::size_t strip_bytes = static_cast<std::size_t>(TIFFStripSize(t));
                    const std::size_t strips_per_plane = (p.height + rps - 1) / rps;
                    const bool separate = p.planar == PLANARCONFIG_SEPARATE && spp > 1;
                    const bool direct = !separate && !packed_bits;
                    std::vector<unsigned char> buf(direct ? 0 : strip_bytes);
                    const std::size_t planes = separate ? spp : 1;
                    for (std::size_t plane = 0; plane < planes; ++plane)
                    {
                        for (std::size_t s = 0; s * rps < rows; ++s)
                        {
                            const std::size_t r0 = s * rps;
                            const std::size_t nr = std::min<std::size_t>(rps, p.height - r0);
                            const std::size_t keep = std::min(nr, rows - r0);
                            const auto strip = static_cast<uint32_t>(plane * strips_per_plane + s);
                            if (direct && keep == nr)
                            {
                                if (TIFFReadEncodedStrip(t, strip, dst + r0 * row_elems, static_cast<tmsize_t>(nr * row_elems * sizeof(T))) < 0)
                                {
                                    h.fail("cannot decode strip " + std::to_string(strip));
                                }
                                continue;
                            }
                            if (buf.size() < strip_bytes)
                            {
                                buf.resize(strip_bytes);
                            }
                            if (TIFFReadEncodedStrip(t, strip, buf.data(), static_cast<tmsize_t>(buf.size())) < 0)
                            {
                                h.fail("cannot decode strip " + std::to_string(strip));
                            }
                            for (std::size_t r = 0; r < keep; ++r)
                            {
                                T* out_row = dst + (r0 + r) * row_elems;
                                if (packed_bits)
                                {
                                    unpack_bits(buf.data() + r * ((w + 7) / 8), out_row, w);
                                }
                                else if (separate)
                                {
                                    const T* src = reinterpret_cast<const T*>(buf.data()) + r * w;
                                    for (std::size_t x = 0; x < w; ++x)
                                    {
                                        out_row[x * spp + plane] = src[x];
                                    }
                                }
                                else
                                {
                                    std::memcpy(out_row, buf.data() + r * row_elems * sizeof(T), row_elems * sizeof(T));
                                }
                            }
                        }
                    }
                    return;
                }
                // Tiled.
                std::uint32_t tw = 0, th = 0;
                TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
                TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
                if (tw == 0 || th == 0)
                {
                    h.fail("invalid tile size");
                }
                const bool separate = p.planar == PLANARCONFIG_SEPARATE && spp > 1;
                const std::size_t tile_spp = separate ? 1 : spp;
                std::vector<unsigned char> buf(static_cast<std::size_t>(TIFFTileSize(t)));
                const std::size_t planes = separate ? spp : 1;
                for (std::size_t plane = 0; plane < planes; ++plane)
                {
                    for (std::size_t y0 = 0; y0 < rows; y0 += th)
                    {
                        for (std::size_t x0 = 0; x0 < w; x0 += tw)
                        {
                            const auto tile = TIFFComputeTile(t, static_cast<uint32_t>(x0), static_cast<uint32_t>(y0), 0,
                                                              static_cast<uint16_t>(plane));
                            if (TIFFReadEncodedTile(t, tile, buf.data(), static_cast<tmsize_t>(buf.size())) < 0)
                            {
                                h.fail("cannot decode tile " + std::to_string(tile));
                            }
                            const std::size_t ny = std::min<std::size_t>(th, rows - y0);
                            const std::size_t nx = std::min<std::size_t>(tw, w - x0);
                            for (std::size_t y = 0; y < ny; ++y)
                            {
                                T* out_row = dst + (y0 + y) * row_elems;
                                if (packed_bits)
                                {
                                    std::vector<T> tmp(tw);
                                    unpack_bits(buf.data() + y * ((tw + 7) / 8), tmp.data(), tw);
                                    std::copy(tmp.begin(), tmp.begin() + static_cast<std::ptrdiff_t>(nx), out_row + x0);
                                    continue;
                                }
                                const T* src = reinterpret_cast<const T*>(buf.data()) + y * tw * tile_spp;
                                for (std::size_t x = 0; x < nx; ++x)
                                {
                                    for (std::size_t c = 0; c < tile_spp; ++c)
                                    {
                                        out_row[(x0 + x) * spp + (separate ? plane : c)] = src[x * tile_spp + c];
                                    }
                                }
                            }
                        }
                    }
                }
            }

            template <class T>
            any_array tiff_read_typed(tiff_handle& h, const std::vector<tiff_page_info>& pages,
                                      const std::vector<std::uint16_t>& dirs, const tiff_read_options& opts,
                                      std::size_t rows)
            {
                const tiff_page_info& p0 = pages.front();
                const std::size_t n_pages = dirs.size();
                const bool stack = n_pages > 1;
                const bool rgb = p0.samples == 3;
                const std::size_t plane_px = rows * p0.width;
                std::vector<std::size_t> shape;
                if (stack)
                {
                    shape.push_back(n_pages);
                }
                shape.push_back(rows);
                shape.push_back(p0.width);
                if (rgb && opts.color == color_handling::keep)
                {
                    shape.push_back(3);
                }
                auto decode_all = [&](T* base, std::size_t spp) {
                    for (std::size_t i = 0; i < n_pages; ++i)
                    {
                        if (!TIFFSetDirectory(h.get(), dirs[i]))
                        {
                            h.fail("cannot read page " + std::to_string(dirs[i]));
                        }
                        tiff_decode_rows<T>(h, pages[i], rows, base + i * plane_px * spp);
                    }
                };
                if (!rgb || opts.color == color_handling::keep)
                {
                    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
                    decode_all(a.data(), rgb ? 3 : 1);
                    return any_array(std::move(a), p0.type);
                }
                // RGB -> gray (float32 stays float32, everything else float64).
                std::vector<T> raw(n_pages * plane_px * 3);
                decode_all(raw.data(), 3);
                if constexpr (std::is_same_v<T, float>)
                {
                    xt::xarray<float> g = xt::xarray<float>::from_shape(shape);
                    rgb2gray(raw.data(), g.data(), n_pages * plane_px);
                    return any_array(std::move(g));
                }
                else
                {
                    xt::xarray<double> g = xt::xarray<double>::from_shape(shape);
                    rgb2gray(raw.data(), g.data(), n_pages * plane_px);
                    return any_array(std::move(g));
                }
            }

            /// Text of an ASCII/BYTE/UNDEFINED TIFF tag of the current directory, if present.
            inline std::optional<std::string> tiff_tag_text(TIFF* t, std::uint32_t tag)
            {
                const TIFFField* f = TIFFFindField(t, tag, TIFF_ANY);
                if (f == nullptr)
                {
                    return std::nullopt;
                }
                void* data = nullptr;
                std::size_t count = 0;
                if (TIFFFieldPassCount(f))
                {
                    if (TIFFFieldReadCount(f) == TIFF_VARIABLE2)
                    {
                        std::uint32_t c = 0;
                        if (!TIFFGetField(t, tag, &c, &data)) return std::nullopt;
                        count = c;
                    }
                    else
                    {
                        std::uint16_t c = 0;
                        if (!TIFFGetField(t, tag, &c, &data)) return std::nullopt;
                        count = c;
                    }
                }
                else
                {
                    if (TIFFFieldDataType(f) != TIFF_ASCII) return std::nullopt;
                    char* s = nullptr;
                    if (!TIFFGetField(t, tag, &s) || s == nullptr) return std::nullopt;
                    return std::string(s);
                }
                const auto type = TIFFFieldDataType(f);
                if (data == nullptr || !(type == TIFF_ASCII || type == TIFF_BYTE || type == TIFF_UNDEFINED || type == TIFF_SBYTE))
                {
                    return std::nullopt;
                }
                std::string s(static_cast<const char*>(data), count);
                while (!s.empty() && s.back() == '\0')
                {
                    s.pop_back();
                }
                return s;
            }

            inline any_array read_tiff_open(tiff_handle& h, const tiff_read_options& opts)
            {
                TIFF* t = h.get();
                std::vector<std::uint16_t> dirs;
                std::vector<tiff_page_info> pages;
                const std::size_t n_dirs = TIFFNumberOfDirectories(t);
                if (opts.page)
                {
                    if (*opts.page >= n_dirs)
                    {
                        h.fail("page " + std::to_string(*opts.page) + " requested but the file has "
                               + std::to_string(n_dirs) + " page(s)");
                    }
                    dirs.push_back(static_cast<std::uint16_t>(*opts.page));
                }
                else
                {
                    for (std::size_t i = 0; i < n_dirs && i < 65535; ++i)
                    {
                        dirs.push_back(static_cast<std::uint16_t>(i));
                    }
                }
                for (auto d : dirs)
                {
                    if (!TIFFSetDirectory(t, d))
                    {
                        h.fail("cannot read page " + std::to_string(d));
                    }
                    pages.push_back(tiff_page(h));
                    const auto& p = pages.back();
                    const auto& q = pages.front();
                    if (p.width != q.width || p.height != q.height || p.type != q.type || p.samples != q.samples)
                    {
                        h.fail("pages differ in size or sample type (page 0: " + std::to_string(q.height) + "x"
                               + std::to_string(q.width) + " " + to_string(q.type) + ", page " + std::to_string(d) + ": "
                               + std::to_string(p.height) + "x" + std::to_string(p.width) + " " + to_string(p.type)
                               + "); read one page with the page option");
                    }
                }
                const auto& p0 = pages.front();
                if (p0.samples == 3 && opts.color == color_handling::error)
                {
                    h.fail("RGB image where a grayscale image is required");
                }
                if (opts.drop_bottom_rows >= p0.height)
                {
                    h.fail("image has " + std::to_string(p0.height) + " rows, cannot drop the "
                           + std::to_string(opts.drop_bottom_rows) + "-row data bar");
                }
                const std::size_t rows = p0.height - opts.drop_bottom_rows;
                switch (p0.type)
                {
                    case dtype::bool_:
                    case dtype::uint8: return tiff_read_typed<std::uint8_t>(h, pages, dirs, opts, rows);
                    case dtype::int8: return tiff_read_typed<std::int8_t>(h, pages, dirs, opts, rows);
                    case dtype::uint16: return tiff_read_typed<std::uint16_t>(h, pages, dirs, opts, rows);
                    case dtype::int16: return tiff_read_typed<std::int16_t>(h, pages, dirs, opts, rows);
                    case dtype::uint32: return tiff_read_typed<std::uint32_t>(h, pages, dirs, opts, rows);
                    case dtype::int32: return tiff_read_typed<std::int32_t>(h, pages, dirs, opts, rows);
                    case dtype::uint64: return tiff_read_typed<std::uint64_t>(h, pages, dirs, opts, rows);
                    case dtype::int64: return tiff_read_typed<std::int64_t>(h, pages, dirs, opts, rows);
                    case dtype::float32: return tiff_read_typed<float>(h, pages, dirs, opts, rows);
                    case dtype::float64: return tiff_read_typed<double>(h, pages, dirs, opts, rows);
                }
                h.fail("unsupported sample type");
            }
        }  // namespace detail

        /**
         * @brief Read a TIFF file into an array of its own sample type.
         * @param path file name
         * @param opts page selection, RGB handling, rows to drop at the bottom
         * @return 2D (rows, cols) for one page, 3D (pages, rows, cols) for a
         *         multi-page file; + a trailing channel axis for RGB with color_handling::keep
         * @throw std::runtime_error naming the file and the problem (missing,
         *        not a TIFF, unsupported layout, corrupt data)
         * Complexity: one decode of every selected strip/tile; grayscale
         * strips of >= 8 bits are decoded straight into the result.
         * Matches: tifffile.imread (see the file comment for differences).
         */
        inline any_array read_tiff(const std::string& path, const tiff_read_options& opts = {})
        {
            detail::tiff_handle h(path);
            return detail::read_tiff_open(h, opts);
        }

        /// Number of pages (directories) of a TIFF file.
        inline std::size_t tiff_page_count(const std::string& path)
        {
            detail::tiff_handle h(path);
            return TIFFNumberOfDirectories(h.get());
        }

        /// Text of an ASCII/byte tag of the first page (e.g. 270 ImageDescription, 34682 FEI metadata), if present.
        inline std::optional<std::string> read_tiff_tag_text(const std::string& path, std::uint32_t tag)
        {
            detail::tiff_handle h(path);
            return detail::tiff_tag_text(h.get(), tag);
        }

        /**
         * @brief Write a 2D grayscale image (uint8/uint16/float32/float64...) as an uncompressed single-page TIFF.
         *
         * Used by tests and tools to make inputs; not atomic (write to a temporary name yourself if needed).
         * @throw std::runtime_error when the file cannot be written; std::invalid_argument when not 2D
         */
        template <class T>
        void write_tiff(const std::string& path, const xt::xarray<T>& image)
        {
            if (image.dimension() != 2 || image.size() == 0)
            {
                throw std::invalid_argument("write_tiff: need a non-empty 2D image");
            }
            std::unique_ptr<TIFF, detail::tiff_closer> t(TIFFOpen(path.c_str(), "w"));
            if (!t)
            {
                throw std::runtime_error("cannot create TIFF '" + path + "'");
            }
            const auto h = static_cast<std::uint32_t>(image.shape()[0]);
            const auto w = static_cast<std::uint32_t>(image.shape()[1]);
            TIFFSetField(t.get(), TIFFTAG_IMAGEWIDTH, w);
            TIFFSetField(t.get(), TIFFTAG_IMAGELENGTH, h);
            TIFFSetField(t.get(), TIFFTAG_BITSPERSAMPLE, static_cast<std::uint16_t>(8 * sizeof(T)));
            TIFFSetField(t.get(), TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(1));
            TIFFSetField(t.get(), TIFFTAG_SAMPLEFORMAT,
                         static_cast<std::uint16_t>(std::is_floating_point_v<T> ? SAMPLEFORMAT_IEEEFP
                                                    : std::is_signed_v<T>       ? SAMPLEFORMAT_INT
                                                                                : SAMPLEFORMAT_UINT));
            TIFFSetField(t.get(), TIFFTAG_PHOTOMETRIC, static_cast<std::uint16_t>(PHOTOMETRIC_MINISBLACK));
            TIFFSetField(t.get(), TIFFTAG_PLANARCONFIG, static_cast<std::uint16_t>(PLANARCONFIG_CONTIG));
            TIFFSetField(t.get(), TIFFTAG_ROWSPERSTRIP, h);
            TIFFSetField(t.get(), TIFFTAG_COMPRESSION, static_cast<std::uint16_t>(COMPRESSION_NONE));
            xt::xarray<T> c = image;
            if (TIFFWriteEncodedStrip(t.get(), 0, c.data(), static_cast<tmsize_t>(c.size() * sizeof(T))) < 0)
            {
                throw std::runtime_error("cannot write TIFF '" + path + "'");
            }
        }
    }  // namespace io
}  // namespace xskan

#endif
