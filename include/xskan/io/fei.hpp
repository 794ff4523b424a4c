/**
 * @file io/fei.hpp
 * @brief FEI / Thermo Fisher SEM TIFFs: the INI-like metadata (pixel size in
 *        `[Scan] PixelWidth/PixelHeight`, metres) and the image without the
 *        instrument's data bar.
 *
 * Matches: imageio 2.4's `'fei'` format (`imageio.imread(path, format='fei')`),
 * which skan's pipeline uses: the image is the first page minus its bottom
 * 70 rows (`watermark_height`), the metadata are `[Section]` headers and
 * `key=value` lines whose values are int, else float, else string.
 * The metadata are read from TIFF tag 34682 (FEI_HELIOS) and, when that tag
 * is missing, from the text appended to the file (from the line starting
 * with `Date=`, like imageio). Difference: imageio drops the `[User]` header
 * that precedes `Date=` (its keys land in a "root" section); xskan keeps
 * sections as written, which does not change `Scan/PixelHeight`.
 */
#ifndef XSKAN_IO_FEI_HPP
#define XSKAN_IO_FEI_HPP

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "any_array.hpp"
#include "tiff.hpp"

namespace xskan
{
    namespace io
    {
        /// TIFF tag holding the FEI metadata text (FEI_HELIOS).
        constexpr std::uint32_t fei_metadata_tag = 34682;

        /// FEI metadata: sections of key=value pairs, in file order (values kept as text).
        struct fei_metadata
        {
            struct entry
            {
                std::string section, key, value;
            };
            std::vector<entry> entries;

            bool empty() const noexcept { return entries.empty(); }

            /// Value text of `section/key` (last one wins, like a dict), if present.
            std::optional<std::string> get(const std::string& section, const std::string& key) const
            {
                for (auto it = entries.rbegin(); it != entries.rend(); ++it)
                {
                    if (it->section == section && it->key == key)
                    {
                        return it->value;
                    }
                }
                return std::nullopt;
            }

            /**
             * @brief Numeric value at a slash path such as "Scan/PixelHeight".
             * @throw std::runtime_error when absent or not a number (message names the path)
             */
            double number(const std::string& path) const
            {
                const auto slash = path.find('/');
                if (slash == std::string::npos)
                {
                    throw std::invalid_argument("FEI metadata path '" + path + "' must be 'Section/Key', e.g. Scan/PixelHeight");
                }
                const auto v = get(path.substr(0, slash), path.substr(slash + 1));
                if (!v)
                {
                    throw std::runtime_error("FEI metadata has no '" + path + "'");
                }
                const char* begin = v->c_str();
                char* end = nullptr;
                errno = 0;
                const double d = std::strtod(begin, &end);
                if (end == begin || errno == ERANGE)
                {
                    throw std::runtime_error("FEI metadata '" + path + "' = '" + *v + "' is not a number");
                }
                while (*end == ' ' || *end == '\t')
                {
                    ++end;
                }
                if (*end != '\0')
                {
                    throw std::runtime_error("FEI metadata '" + path + "' = '" + *v + "' is not a number");
                }
                return d;
            }
        };

        /**
         * @brief Parse FEI metadata text.
         * @param text the INI-like block (CR/LF or LF line ends; NULs ignored)
         * @param start_at_date if true, ignore everything before the first line
         *        starting with `Date=` (imageio's rule for the text appended to the file)
         * @return the entries; keys before any `[Section]` go to section "root"
         */
        inline fei_metadata parse_fei_metadata(std::string_view text, bool start_at_date = false)
        {
            fei_metadata md;
            std::string section = "root";
            bool reading = !start_at_date;
            std::size_t pos = 0;
            while (pos < text.size())
            {
                std::size_t eol = text.find('\n', pos);
                if (eol == std::string_view::npos)
                {
                    eol = text.size();
                }
                std::string_view line = text.substr(pos, eol - pos);
                pos = eol + 1;
                if (!reading)
                {
                    if (line.substr(0, 5) != "Date=")
                    {
                        continue;
                    }
                    reading = true;
                }
                while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\0'
                                         || line.back() == '\t'))
                {
                    line.remove_suffix(1);
                }
                while (!line.empty() && line.front() == '\0')
                {
                    line.remove_prefix(1);
                }
                if (line.empty())
                {
                    continue;
                }
                if (line.front() == '[')
                {
                    std::string_view s = line.substr(1);
                    if (!s.empty() && s.back() == ']')
                    {
                        s.remove_suffix(1);
                    }
                    section = std::string(s);
                    continue;
                }
                const auto eq = line.find('=');
                if (eq == std::string_view::npos)
                {
                    continue;  // not key=value: ignore (imageio would raise)
                }
                md.entries.push_back({section, std::string(line.substr(0, eq)), std::string(line.substr(eq + 1))});
            }
            return md;
        }

        namespace detail
        {
            /// imageio's fallback: the metadata text appended at the end of the file.
            inline fei_metadata fei_metadata_from_file_text(const std::string& path)
            {
                std::ifstream in(path, std::ios::binary);
                if (!in)
                {
                    throw std::runtime_error("cannot open '" + path + "' for reading");
                }
                std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                // find a line starting with Date=
                std::size_t p = 0;
                while ((p = all.find("Date=", p)) != std::string::npos)
                {
                    if (p == 0 || all[p - 1] == '\n')
                    {
                        return parse_fei_metadata(std::string_view(all).substr(p), false);
                    }
                    ++p;
                }
                return {};
            }
        }  // namespace detail

        /**
         * @brief Read the FEI metadata of a TIFF (tag 34682, else the appended text).
         * @return empty metadata when the file has none
         * @throw std::runtime_error when the file cannot be read
         */
        inline fei_metadata read_fei_metadata(const std::string& path)
        {
            detail::tiff_handle h(path);
            if (auto text = detail::tiff_tag_text(h.get(), fei_metadata_tag))
            {
                auto md = parse_fei_metadata(*text);
                if (!md.empty())
                {
                    return md;
                }
            }
            return detail::fei_metadata_from_file_text(path);
        }

        /// Options of read_fei.
        struct fei_read_options
        {
            /// Height of the data bar dropped at the bottom (imageio's `watermark_height`).
            std::size_t watermark_height = 70;
            /// Keep the full page instead (imageio's `discard_watermark=False`).
            bool discard_watermark = true;
            /// RGB pages (rare on SEMs).
            color_handling color = color_handling::to_gray;
        };

        /// An FEI image and its metadata.
        struct fei_image
        {
            any_array image;
            fei_metadata metadata;
        };

        /**
         * @brief Read an FEI SEM TIFF like imageio's 'fei' format: first page
         *        without the bottom data bar, plus the metadata.
         * @throw std::runtime_error naming the file when it is unreadable, has no FEI
         *        metadata (like imageio), or is not taller than the data bar
         * Complexity: one TIFF open; the dropped rows are not decoded.
         */
        inline fei_image read_fei(const std::string& path, const fei_read_options& opts = {})
        {
            detail::tiff_handle h(path);
            fei_image out;
            if (auto text = detail::tiff_tag_text(h.get(), fei_metadata_tag))
            {
                out.metadata = parse_fei_metadata(*text);
            }
            if (out.metadata.empty())
            {
                out.metadata = detail::fei_metadata_from_file_text(path);
            }
            if (out.metadata.empty())
            {
                throw std::runtime_error("'" + path + "' contains no FEI metadata (no tag 34682, no 'Date=' text block)");
            }
            tiff_read_options t;
            t.page = 0;
            t.color = opts.color;
            t.drop_bottom_rows = opts.discard_watermark ? opts.watermark_height : 0;
            out.image = detail::read_tiff_open(h, t);
            return out;
        }
    }  // namespace io
}  // namespace xskan

#endif
