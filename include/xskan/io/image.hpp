/**
 * @file io/image.hpp
 * @brief Read an image or array by file extension: .tif/.tiff, .png, .npy.
 */
#ifndef XSKAN_IO_IMAGE_HPP
#define XSKAN_IO_IMAGE_HPP

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

#include "any_array.hpp"
#include "color.hpp"
#include "fei.hpp"
#include "npy.hpp"
#include "png.hpp"
#include "tiff.hpp"

namespace xskan
{
    namespace io
    {
        /// The file kinds read_image understands.
        enum class file_format
        {
            tiff,
            png,
            npy
        };

        /**
         * @brief Format of a file from its extension (case-insensitive).
         * @throw std::invalid_argument naming the file and the allowed extensions
         */
        inline file_format format_from_extension(const std::string& path)
        {
            const auto dot = path.find_last_of('.');
            const auto slash = path.find_last_of('/');
            std::string ext = (dot == std::string::npos || (slash != std::string::npos && dot < slash)) ? std::string()
                                                                                                       : path.substr(dot + 1);
            std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (ext == "tif" || ext == "tiff") return file_format::tiff;
            if (ext == "png") return file_format::png;
            if (ext == "npy") return file_format::npy;
            throw std::invalid_argument("'" + path + "': unknown file type '" + ext
                                        + "' (allowed: .tif, .tiff, .png, .npy)");
        }

        /// Options of read_image.
        struct image_read_options
        {
            /// What to do with colour images (TIFF, PNG).
            color_handling color = color_handling::to_gray;
            /// TIFF: read FEI SEM files like imageio's 'fei' format (drop the 70-row data bar).
            bool fei = false;
        };

        /**
         * @brief Read a .tif/.tiff (read_tiff or read_fei), .png (read_png) or .npy (load_npy) file.
         * @throw std::invalid_argument for an unknown extension; std::runtime_error naming the file otherwise
         */
        inline any_array read_image(const std::string& path, const image_read_options& opts = {})
        {
            switch (format_from_extension(path))
            {
                case file_format::tiff:
                {
                    if (opts.fei)
                    {
                        fei_read_options f;
                        f.color = opts.color;
                        return read_fei(path, f).image;
                    }
                    tiff_read_options t;
                    t.color = opts.color;
                    return read_tiff(path, t);
                }
                case file_format::png: return read_png(path, opts.color);
                case file_format::npy: return load_npy(path);
            }
            throw std::invalid_argument("'" + path + "': unknown file type");
        }
    }  // namespace io
}  // namespace xskan

#endif
