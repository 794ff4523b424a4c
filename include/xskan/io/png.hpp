/**
 * @file io/png.hpp
 * @brief PNG output (8/16-bit gray, RGB, RGBA; written atomically) and input
 *        (gray kept as is, colour converted with scikit-image's rgb2gray) on libpng.
 *
 * Matches: `skimage.io.imsave` / `imread` for the pixel values (no gamma or
 * colour-space conversion is applied). Input differences: palette images
 * are expanded to RGB; an alpha channel is ignored (dropped) before rgb2gray
 * (scikit-image 0.19's rgb2gray would refuse RGBA); 1/2/4-bit gray is
 * expanded to 0..(2^bits - 1) values in uint8.
 * Needs libpng: link `xskan::io`.
 */
#ifndef XSKAN_IO_PNG_HPP
#define XSKAN_IO_PNG_HPP

#include <algorithm>
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <png.h>
#if defined(XSKAN_IO_HAVE_LIBDEFLATE)
#include <libdeflate.h>
#endif

#include <xtensor/xarray.hpp>

#include "any_array.hpp"
#include "atomic_file.hpp"
#include "color.hpp"
#include "png_rgb_deflate.hpp"

namespace xskan
{
    namespace io
    {
        /// Memory write_png may reuse from one call to the next (pass it in png_write_options).
        struct png_buffers
        {
            std::vector<unsigned char> raw;         ///< filtered scanlines
            std::vector<unsigned char> compressed;  ///< zlib stream
            detail::rgb_deflate_state rgb;          ///< tables of the gray-RGB encoder
        };

        /// Deflate encoder of write_png at level 1.
        enum class png_deflate
        {
            automatic,  ///< 8-bit RGB: xskan's gray-pixel encoder (io/png_rgb_deflate.hpp); others: generic
            generic     ///< libdeflate (when built with it), else zlib
        };

        /// Options of write_png.
        struct png_write_options
        {
            /// zlib level 0 (none, fastest) .. 9 (smallest). 1 is a good speed/size trade-off for overlays.
            /// Levels 0 and 1 use libdeflate when xskan::io was built with it (XSKAN_IO_HAVE_LIBDEFLATE:
            /// about 2.5x faster than zlib at level 1 and smaller files), 2..9 libpng's adaptive filters + zlib.
            int compression_level = 1;
            /// Optional buffers reused between calls (libdeflate path); nullptr: local buffers.
            png_buffers* buffers = nullptr;
            /// Encoder at level 1 (with libdeflate). automatic: 8-bit RGB images, e.g. overlays in
            /// gray with coloured pixels, go through a per-pixel match finder made for them (about
            /// 3x faster than libdeflate and smaller files on the analyze overlays); same pixels.
            png_deflate deflate = png_deflate::automatic;
        };

        namespace detail
        {
            struct png_error_state
            {
                char message[256] = {};
            };

            inline void xskan_png_error(png_structp png, png_const_charp msg)
            {
                auto* st = static_cast<png_error_state*>(png_get_error_ptr(png));
                if (st != nullptr)
                {
                    std::snprintf(st->message, sizeof st->message, "%s", msg != nullptr ? msg : "libpng error");
                }
                std::longjmp(png_jmpbuf(png), 1);
            }

            inline void xskan_png_warning(png_structp, png_const_charp) {}

            struct file_closer
            {
                void operator()(std::FILE* f) const noexcept
                {
                    if (f != nullptr)
                    {
                        std::fclose(f);
                    }
                }
            };

            /// Raw decoded PNG: rows x cols x channels samples of 1 or 2 bytes (native order).
            struct png_raw
            {
                std::uint32_t width = 0, height = 0;
                int channels = 1, bit_depth = 8;
                std::vector<unsigned char> pixels;
            };

            // Plain-C style on purpose: libpng reports errors with longjmp, so no
            // object with a destructor may be created between setjmp and the end.
            inline bool png_decode(std::FILE* fp, png_raw& out, std::vector<png_bytep>& rows, png_error_state& err)
            {
                png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, xskan_png_error, xskan_png_warning);
                if (png == nullptr)
                {
                    std::snprintf(err.message, sizeof err.message, "cannot allocate the PNG reader");
                    return false;
                }
                png_infop info = png_create_info_struct(png);
                if (info == nullptr)
                {
                    png_destroy_read_struct(&png, nullptr, nullptr);
                    std::snprintf(err.message, sizeof err.message, "cannot allocate the PNG reader");
                    return false;
                }
                if (setjmp(png_jmpbuf(png)))
                {
                    png_destroy_read_struct(&png, &info, nullptr);
                    return false;
                }
                png_init_io(png, fp);
                png_read_info(png, info);
                png_uint_32 w = 0, h = 0;
                int depth = 0, color_type = 0;
                png_get_IHDR(png, info, &w, &h, &depth, &color_type, nullptr, nullptr, nullptr);
                if (color_type == PNG_COLOR_TYPE_PALETTE)
                {
                    png_set_palette_to_rgb(png);
                }
                if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8)
                {
                    png_set_packing(png);  // 1/2/4-bit gray -> one byte per sample, values unchanged
                }
                if (color_type & PNG_COLOR_MASK_ALPHA)
                {
                    png_set_strip_alpha(png);
                }
                if (depth == 16)
                {
                    const std::uint16_t one = 1;
                    unsigned char first = 0;
                    std::memcpy(&first, &one, 1);
                    if (first == 1)
                    {
                        png_set_swap(png);  // PNG is big-endian
                    }
                }
                png_read_update_info(png, info);
                out.width = w;
                out.height = h;
                out.channels = png_get_channels(png, info);
                out.bit_depth = png_get_bit_depth(png, info);
                const std::size_t rowbytes = png_get_rowbytes(png, info);
                out.pixels.resize(rowbytes * h);
                rows.resize(h);
                for (std::size_t r = 0; r < h; ++r)
                {
                    rows[r] = out.pixels.data() + r * rowbytes;
                }
                png_read_image(png, rows.data());
                png_read_end(png, nullptr);
                png_destroy_read_struct(&png, &info, nullptr);
                return true;
            }

            inline bool png_encode(std::FILE* fp, const unsigned char* data, std::uint32_t w, std::uint32_t h,
                                   int channels, int bit_depth, int level, std::vector<png_bytep>& rows,
                                   png_error_state& err, std::size_t row_stride = 0)
            {
                png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, xskan_png_error, xskan_png_warning);
                if (png == nullptr)
                {
                    std::snprintf(err.message, sizeof err.message, "cannot allocate the PNG writer");
                    return false;
                }
                png_infop info = png_create_info_struct(png);
                if (info == nullptr)
                {
                    png_destroy_write_struct(&png, nullptr);
                    std::snprintf(err.message, sizeof err.message, "cannot allocate the PNG writer");
                    return false;
                }
                if (setjmp(png_jmpbuf(png)))
                {
                    png_destroy_write_struct(&png, &info);
                    return false;
                }
                png_init_io(png, fp);
                png_set_compression_level(png, level);
                if (level <= 1)
                {
                    png_set_filter(png, 0, PNG_FILTER_SUB);
                }
                const int color_type = channels == 1   ? PNG_COLOR_TYPE_GRAY
                                       : channels == 2 ? PNG_COLOR_TYPE_GRAY_ALPHA
                                       : channels == 3 ? PNG_COLOR_TYPE_RGB
                                                       : PNG_COLOR_TYPE_RGB_ALPHA;
                png_set_IHDR(png, info, w, h, bit_depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                             PNG_FILTER_TYPE_DEFAULT);
                png_write_info(png, info);
                if (bit_depth == 16)
                {
                    const std::uint16_t one = 1;
                    unsigned char first = 0;
                    std::memcpy(&first, &one, 1);
                    if (first == 1)
                    {
                        png_set_swap(png);
                    }
                }
                const std::size_t rowbytes = static_cast<std::size_t>(w) * static_cast<std::size_t>(channels)
                                             * static_cast<std::size_t>(bit_depth / 8);
                const std::size_t stride = row_stride != 0 ? row_stride : rowbytes;
                for (std::size_t r = 0; r < h; ++r)
                {
                    rows[r] = const_cast<unsigned char*>(data + r * stride);
                }
                png_write_image(png, rows.data());
                png_write_end(png, nullptr);
                png_destroy_write_struct(&png, &info);
                return true;
            }

#if defined(XSKAN_IO_HAVE_LIBDEFLATE)
        /**
         * PNG writer on libdeflate (levels 0-1): filter type None on every row (on the overlays
         * measured, the smallest and fastest choice at this level), one zlib stream compressed
         * in one call, split into IDAT chunks of at most 8 MiB. Returns an error message or "".
         */
        inline std::string png_encode_libdeflate(std::FILE* fp, const unsigned char* data, std::uint32_t w,
                                                 std::uint32_t h, int channels, int bit_depth, int level,
                                                 png_buffers& buf, png_deflate encoder = png_deflate::automatic)
        {
            const std::size_t bytes = static_cast<std::size_t>(bit_depth / 8);
            const std::size_t rowbytes = static_cast<std::size_t>(w) * static_cast<std::size_t>(channels) * bytes;
            if (data != nullptr)  // (nullptr: buf.raw already holds the scanlines)
            {
                buf.raw.resize(static_cast<std::size_t>(h) * (rowbytes + 1));
                const std::uint16_t one = 1;
                unsigned char first = 0;
                std::memcpy(&first, &one, 1);
                const bool swap16 = bytes == 2 && first == 1;  // PNG samples are big-endian
                for (std::size_t r = 0; r < h; ++r)
                {
                    unsigned char* d = buf.raw.data() + r * (rowbytes + 1);
                    const unsigned char* s = data + r * rowbytes;
                    d[0] = 0;  // filter type None
                    if (swap16)
                    {
                        for (std::size_t k = 0; k < rowbytes; k += 2)
                        {
                            d[1 + k] = s[k + 1];
                            d[2 + k] = s[k];
                        }
                    }
                    else
                    {
                        std::memcpy(d + 1, s, rowbytes);
                    }
                }
            }
            std::size_t z = 0;
            if (encoder == png_deflate::automatic && level == 1 && bit_depth == 8 && channels == 3
                && buf.raw.size() < (std::size_t(1) << 32))
            {
                // zlib stream: header (deflate, 32 KiB window, fastest), deflate data, Adler-32
                if (buf.compressed.size() < 2)
                {
                    buf.compressed.resize(buf.raw.size() / 2 + 1024);
                }
                buf.compressed[0] = 0x78;
                buf.compressed[1] = 0x01;
                z = rgb_deflate_scanlines(buf.raw.data(), h, w, buf.compressed, 2, buf.rgb);
                const std::uint32_t adler = libdeflate_adler32(1, buf.raw.data(), buf.raw.size());
                if (buf.compressed.size() < z + 4)
                {
                    buf.compressed.resize(z + 4);
                }
                for (int k = 0; k < 4; ++k)
                {
                    buf.compressed[z + static_cast<std::size_t>(k)] = static_cast<unsigned char>(adler >> (24 - 8 * k));
                }
                z += 4;
            }
            else
            {
                std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> c(
                    libdeflate_alloc_compressor(level < 1 ? 0 : 1), libdeflate_free_compressor);
                if (!c)
                {
                    return "cannot allocate the compressor";
                }
                buf.compressed.resize(libdeflate_zlib_compress_bound(c.get(), buf.raw.size()));
                z = libdeflate_zlib_compress(c.get(), buf.raw.data(), buf.raw.size(), buf.compressed.data(),
                                             buf.compressed.size());
                if (z == 0)
                {
                    return "compression failed";
                }
            }
            bool ok = true;
            auto put32 = [](unsigned char* p, std::uint32_t v) {
                p[0] = static_cast<unsigned char>(v >> 24);
                p[1] = static_cast<unsigned char>(v >> 16);
                p[2] = static_cast<unsigned char>(v >> 8);
                p[3] = static_cast<unsigned char>(v);
            };
            auto chunk = [&](const char* type, const unsigned char* payload, std::size_t len) {
                unsigned char head[8];
                put32(head, static_cast<std::uint32_t>(len));
                std::memcpy(head + 4, type, 4);
                std::uint32_t crc = libdeflate_crc32(0, head + 4, 4);
                if (len > 0)
                {
                    crc = libdeflate_crc32(crc, payload, len);  // (a null pointer would restart at 0)
                }
                unsigned char tail[4];
                put32(tail, crc);
                ok = ok && std::fwrite(head, 1, 8, fp) == 8 && (len == 0 || std::fwrite(payload, 1, len, fp) == len)
                     && std::fwrite(tail, 1, 4, fp) == 4;
            };
            static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
            ok = std::fwrite(signature, 1, 8, fp) == 8;
            unsigned char ihdr[13];
            put32(ihdr, w);
            put32(ihdr + 4, h);
            ihdr[8] = static_cast<unsigned char>(bit_depth);
            ihdr[9] = static_cast<unsigned char>(channels == 1 ? 0 : channels == 2 ? 4 : channels == 3 ? 2 : 6);
            ihdr[10] = 0;  // deflate
            ihdr[11] = 0;  // adaptive filtering (per-row filter byte)
            ihdr[12] = 0;  // no interlace
            chunk("IHDR", ihdr, sizeof ihdr);
            constexpr std::size_t max_chunk = std::size_t(8) << 20;
            for (std::size_t pos = 0; pos < z; pos += max_chunk)
            {
                chunk("IDAT", buf.compressed.data() + pos, std::min(max_chunk, z - pos));
            }
            chunk("IEND", nullptr, 0);
            return ok ? std::string() : std::string("write error (disk full?)");
        }
#endif
        }  // namespace detail

        namespace detail
        {
            /**
             * The file part of write_png: `data` rows x cols x channels samples of bit_depth bits
             * (row stride `stride` bytes, 0: packed), or nullptr when opts.buffers->raw already
             * holds the scanlines (8-bit, filter bytes set, see png_scanlines).
             */
            inline void png_write_file(const std::string& path, const unsigned char* data, std::size_t stride,
                                       std::size_t rows, std::size_t cols, int channels, int bit_depth,
                                       const png_write_options& opts)
            {
                atomic_output out(path);
                std::unique_ptr<std::FILE, file_closer> fp(std::fopen(out.temp_path().c_str(), "wb"));
                if (!fp)
                {
                    throw std::runtime_error("cannot create '" + path + "': " + std::strerror(errno));
                }
#if defined(XSKAN_IO_HAVE_LIBDEFLATE)
                if (opts.compression_level <= 1)
                {
                    png_buffers local;
                    const std::string msg = png_encode_libdeflate(
                        fp.get(), data, static_cast<std::uint32_t>(cols), static_cast<std::uint32_t>(rows), channels,
                        bit_depth, opts.compression_level, opts.buffers != nullptr ? *opts.buffers : local, opts.deflate);
                    if (!msg.empty())
                    {
                        throw std::runtime_error("cannot write PNG '" + path + "': " + msg);
                    }
                }
                else
#endif
                {
                    if (data == nullptr)  // the scanlines in opts.buffers: pixels after each filter byte
                    {
                        data = opts.buffers->raw.data() + 1;
                        stride = 1 + cols * static_cast<std::size_t>(channels);
                    }
                    std::vector<png_bytep> row_ptrs(rows);
                    png_error_state err;
                    if (!png_encode(fp.get(), data, static_cast<std::uint32_t>(cols), static_cast<std::uint32_t>(rows),
                                    channels, bit_depth, opts.compression_level, row_ptrs, err, stride))
                    {
                        throw std::runtime_error("cannot write PNG '" + path + "': " + err.message);
                    }
                }
                if (std::fflush(fp.get()) != 0 || std::ferror(fp.get()))
                {
                    throw std::runtime_error("cannot write '" + path + "' (disk full or I/O error)");
                }
                if (std::fclose(fp.release()) != 0)
                {
                    throw std::runtime_error("cannot write '" + path + "' (close failed)");
                }
                out.commit();
            }
        }  // namespace detail

        /**
         * @brief Write an image as PNG, atomically (temporary file + rename).
         * @param path  output file
         * @param image uint8 or uint16; shape (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA
         * @param opts  compression level
         * @throw std::invalid_argument for another shape or type, std::runtime_error naming the file on I/O errors
         * Complexity: O(H W) plus zlib.
         */
        template <class E>
        void write_png(const std::string& path, const xt::xexpression<E>& image, const png_write_options& opts = {})
        {
            using T = std::decay_t<typename E::value_type>;
            static_assert(std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::uint16_t>,
                          "write_png: the image must hold uint8 or uint16 samples");
            const auto& e = image.derived_cast();
            const auto& shape = e.shape();
            const std::size_t nd = shape.size();
            if (nd != 2 && !(nd == 3 && (shape[2] == 1 || shape[2] == 2 || shape[2] == 3 || shape[2] == 4)))
            {
                throw std::invalid_argument("write_png: image must be (H, W) or (H, W, 1|2|3|4), got ndim "
                                            + std::to_string(nd));
            }
            if (shape[0] == 0 || shape[1] == 0 || shape[0] > 0x7fffffffu || shape[1] > 0x7fffffffu)
            {
                throw std::invalid_argument("write_png: image size must be between 1 and 2^31-1 per axis");
            }
            xt::xarray<T> tmp;
            const T* data = nullptr;
            if constexpr (xt::has_data_interface<E>::value && E::static_layout == xt::layout_type::row_major)
            {
                data = e.data();
            }
            else
            {
                tmp = e;
                data = tmp.data();
            }
            const int channels = nd == 2 ? 1 : static_cast<int>(shape[2]);
            detail::png_write_file(path, reinterpret_cast<const unsigned char*>(data), 0, shape[0], shape[1], channels,
                                   static_cast<int>(8 * sizeof(T)), opts);
        }

        /**
         * @brief Scanline memory for write_png_scanlines: sizes `buf.raw` to rows x (1 + cols·channels)
         *        bytes and sets each row's filter byte (type None). The caller then writes the 8-bit
         *        pixels in place, so the image is never copied: row r starts at the returned pointer
         *        + r·(1 + cols·channels), samples interleaved (gray, gray-alpha, RGB or RGBA).
         * @return the first pixel byte of row 0
         */
        inline unsigned char* png_scanlines(png_buffers& buf, std::size_t rows, std::size_t cols, int channels)
        {
            if (channels < 1 || channels > 4)
            {
                throw std::invalid_argument("png_scanlines: channels must be 1..4");
            }
            const std::size_t stride = 1 + cols * static_cast<std::size_t>(channels);
            buf.raw.resize(rows * stride);
            for (std::size_t r = 0; r < rows; ++r)
            {
                buf.raw[r * stride] = 0;
            }
            return buf.raw.data() + 1;
        }

        /**
         * @brief write_png of the 8-bit image prepared with png_scanlines in `buf` (same file as
         *        write_png of that image with these options; opts.buffers is ignored: `buf` is used).
         * @throw std::invalid_argument when `buf.raw` does not have that layout's size
         */
        inline void write_png_scanlines(const std::string& path, std::size_t rows, std::size_t cols, int channels,
                                        png_buffers& buf, png_write_options opts = {})
        {
            if (channels < 1 || channels > 4 || rows == 0 || cols == 0 || rows > 0x7fffffffu || cols > 0x7fffffffu
                || buf.raw.size() != rows * (1 + cols * static_cast<std::size_t>(channels)))
            {
                throw std::invalid_argument("write_png_scanlines: the buffer does not hold " + std::to_string(rows) + " x "
                                            + std::to_string(cols) + " x " + std::to_string(channels)
                                            + " scanlines (use png_scanlines)");
            }
            opts.buffers = &buf;
            detail::png_write_file(path, nullptr, 0, rows, cols, channels, 8, opts);
        }

        /**
         * @brief Read a PNG.
         * @param path  file name
         * @param color to_gray (default): colour -> rgb2gray float64; keep: (H, W, 3) raw; error: refuse colour
         * @return uint8 or uint16 (H, W) for gray; float64 for converted colour; (H, W, 3) for keep
         * @throw std::runtime_error naming the file (missing, not a PNG, corrupt)
         */
        inline any_array read_png(const std::string& path, color_handling color = color_handling::to_gray)
        {
            std::unique_ptr<std::FILE, detail::file_closer> fp(std::fopen(path.c_str(), "rb"));
            if (!fp)
            {
                throw std::runtime_error("cannot open '" + path + "' for reading: " + std::strerror(errno));
            }
            unsigned char sig[8] = {};
            if (std::fread(sig, 1, 8, fp.get()) != 8 || png_sig_cmp(sig, 0, 8) != 0)
            {
                throw std::runtime_error("'" + path + "' is not a PNG file (bad signature)");
            }
            std::rewind(fp.get());
            detail::png_raw raw;
            std::vector<png_bytep> rows;
            detail::png_error_state err;
            if (!detail::png_decode(fp.get(), raw, rows, err))
            {
                throw std::runtime_error("'" + path + "': corrupt or unsupported PNG (" + err.message + ")");
            }
            const std::size_t h = raw.height, w = raw.width, n = h * w;
            const bool rgb = raw.channels >= 3;
            if (rgb && color == color_handling::error)
            {
                throw std::runtime_error("'" + path + "': colour PNG where a grayscale image is required");
            }
            auto make = [&](auto tag) -> any_array {
                using T = decltype(tag);
                const T* src = reinterpret_cast<const T*>(raw.pixels.data());
                if (!rgb)
                {
                    xt::xarray<T> a = xt::xarray<T>::from_shape({h, w});
                    std::memcpy(a.data(), src, n * sizeof(T));
                    return any_array(std::move(a));
                }
                if (color == color_handling::keep)
                {
                    xt::xarray<T> a = xt::xarray<T>::from_shape({h, w, std::size_t(3)});
                    std::memcpy(a.data(), src, n * 3 * sizeof(T));
                    return any_array(std::move(a));
                }
                xt::xarray<double> g = xt::xarray<double>::from_shape({h, w});
                rgb2gray(src, g.data(), n);
                return any_array(std::move(g));
            };
            if (raw.bit_depth == 16)
            {
                return make(std::uint16_t{});
            }
            return make(std::uint8_t{});
        }
    }  // namespace io
}  // namespace xskan

#endif
