/**
 * @file io/npy.hpp
 * @brief NumPy `.npy` files of any numeric dtype: load (to an any_array or to a
 *        chosen type) and save (atomically).
 *
 * Matches: `numpy.load` / `numpy.save` for format versions 1.0, 2.0 and 3.0,
 * dtypes bool, (u)int8..64, float32, float64, either byte order, C or Fortran
 * order (Fortran data are returned in C order). Object arrays, structured
 * dtypes, float16 and complex are refused with a clear message.
 * Uses xtensor's `xnpy` conventions (`xt::load_npy`, `xt::dump_npy`) but, unlike
 * `xt::load_npy<T>`, accepts any stored dtype.
 */
#ifndef XSKAN_IO_NPY_HPP
#define XSKAN_IO_NPY_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>

#include "any_array.hpp"
#include "atomic_file.hpp"

namespace xskan
{
    namespace io
    {
        namespace detail
        {
            inline bool host_is_little_endian() noexcept
            {
                const std::uint16_t one = 1;
                unsigned char first = 0;
                std::memcpy(&first, &one, 1);
                return first == 1;
            }

            /// Parse a numpy dtype string such as "<u1", "|b1", ">f8".
            inline dtype parse_npy_descr(const std::string& descr, bool& swap, const std::string& path)
            {
                if (descr.size() < 3)
                {
                    throw std::runtime_error("'" + path + "': unsupported .npy dtype '" + descr + "'");
                }
                const char order = descr[0];
                const std::string kind = descr.substr(1);
                const bool little = host_is_little_endian();
                swap = (order == '>' && little) || (order == '<' && !little);
                if (kind == "b1") return dtype::bool_;
                if (kind == "i1") return dtype::int8;
                if (kind == "u1") return dtype::uint8;
                if (kind == "i2") return dtype::int16;
                if (kind == "u2") return dtype::uint16;
                if (kind == "i4") return dtype::int32;
                if (kind == "u4") return dtype::uint32;
                if (kind == "i8") return dtype::int64;
                if (kind == "u8") return dtype::uint64;
                if (kind == "f4") return dtype::float32;
                if (kind == "f8") return dtype::float64;
                throw std::runtime_error("'" + path + "': unsupported .npy dtype '" + descr
                                         + "' (allowed: bool, int8..int64, uint8..uint64, float32, float64)");
            }

            inline std::string npy_descr(dtype t)
            {
                const char order = host_is_little_endian() ? '<' : '>';
                switch (t)
                {
                    case dtype::bool_: return "|b1";
                    case dtype::int8: return "|i1";
                    case dtype::uint8: return "|u1";
                    case dtype::int16: return std::string(1, order) + "i2";
                    case dtype::uint16: return std::string(1, order) + "u2";
                    case dtype::int32: return std::string(1, order) + "i4";
                    case dtype::uint32: return std::string(1, order) + "u4";
                    case dtype::int64: return std::string(1, order) + "i8";
                    case dtype::uint64: return std::string(1, order) + "u8";
                    case dtype::float32: return std::string(1, order) + "f4";
                    case dtype::float64: return std::string(1, order) + "f8";
                }
                return "|u1";
            }

            /// Value of key `key` in a numpy header dict literal (the raw text up to the next top-level comma).
            inline std::string npy_dict_value(const std::string& header, const std::string& key, const std::string& path)
            {
                std::size_t pos = header.find("'" + key + "'");
                if (pos == std::string::npos)
                {
                    pos = header.find("\"" + key + "\"");
                }
                if (pos == std::string::npos)
                {
                    throw std::runtime_error("'" + path + "': malformed .npy header (no '" + key + "')");
                }
                pos = header.find(':', pos);
                if (pos == std::string::npos)
                {
                    throw std::runtime_error("'" + path + "': malformed .npy header");
                }
                ++pos;
                while (pos < header.size() && header[pos] == ' ')
                {
                    ++pos;
                }
                if (pos < header.size() && header[pos] == '(')
                {
                    const std::size_t end = header.find(')', pos);
                    if (end == std::string::npos)
                    {
                        throw std::runtime_error("'" + path + "': malformed .npy header (shape)");
                    }
                    return header.substr(pos, end - pos + 1);
                }
                if (pos < header.size() && (header[pos] == '\'' || header[pos] == '"'))
                {
                    const char q = header[pos];
                    const std::size_t end = header.find(q, pos + 1);
                    if (end == std::string::npos)
                    {
                        throw std::runtime_error("'" + path + "': malformed .npy header");
                    }
                    return header.substr(pos + 1, end - pos - 1);
                }
                std::size_t end = pos;
                while (end < header.size() && header[end] != ',' && header[end] != '}')
                {
                    ++end;
                }
                std::string v = header.substr(pos, end - pos);
                while (!v.empty() && v.back() == ' ')
                {
                    v.pop_back();
                }
                return v;
            }

            inline std::vector<std::size_t> parse_npy_shape(const std::string& text, const std::string& path)
            {
                std::vector<std::size_t> shape;
                std::size_t i = 1;  // skip '('
                while (i < text.size())
                {
                    while (i < text.size() && (text[i] == ' ' || text[i] == ','))
                    {
                        ++i;
                    }
                    if (i >= text.size() || text[i] == ')')
                    {
                        break;
                    }
                    std::size_t j = i;
                    while (j < text.size() && text[j] >= '0' && text[j] <= '9')
                    {
                        ++j;
                    }
                    if (j == i || j - i > 18)
                    {
                        throw std::runtime_error("'" + path + "': malformed .npy shape " + text);
                    }
                    shape.push_back(static_cast<std::size_t>(std::stoull(text.substr(i, j - i))));
                    while (j < text.size() && text[j] == 'L')
                    {
                        ++j;  // python 2 longs
                    }
                    i = j;
                }
                return shape;
            }

            template <class T>
            void byteswap_inplace(T* data, std::size_t n) noexcept
            {
                if constexpr (sizeof(T) > 1)
                {
                    auto* bytes = reinterpret_cast<unsigned char*>(data);
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        std::reverse(bytes + i * sizeof(T), bytes + (i + 1) * sizeof(T));
                    }
                }
            }

            template <class T>
            xt::xarray<T> read_npy_payload(std::istream& in, const std::vector<std::size_t>& shape, bool fortran,
                                           bool swap, std::size_t count, const std::string& path)
            {
                std::vector<std::size_t> storage_shape = shape;
                if (fortran)
                {
                    std::reverse(storage_shape.begin(), storage_shape.end());
                }
                xt::xarray<T> a = xt::xarray<T>::from_shape(storage_shape);
                if (count > 0)
                {
                    in.read(reinterpret_cast<char*>(a.data()), static_cast<std::streamsize>(count * sizeof(T)));
                    if (static_cast<std::size_t>(in.gcount()) != count * sizeof(T))
                    {
                        throw std::runtime_error("'" + path + "': truncated .npy file (expected "
                                                 + std::to_string(count * sizeof(T)) + " data bytes, got "
                                                 + std::to_string(in.gcount()) + ")");
                    }
                }
                if (swap)
                {
                    byteswap_inplace(a.data(), count);
                }
                if (fortran && shape.size() > 1)
                {
                    xt::xarray<T> c = xt::transpose(a);
                    return c;
                }
                return a;
            }
        }  // namespace detail

        /**
         * @brief Load a `.npy` file keeping its element type.
         * @param path file name
         * @return the array (bool stored as uint8 0/1 with `type == dtype::bool_`)
         * @throw std::runtime_error naming the file: missing, not .npy, unsupported dtype, truncated
         * Complexity: one read of the file, no extra copy for C-order data.
         */
        inline any_array load_npy(const std::string& path)
        {
            std::ifstream in(path, std::ios::binary);
            if (!in)
            {
                throw std::runtime_error("cannot open '" + path + "' for reading");
            }
            char magic[8] = {};
            in.read(magic, 8);
            if (in.gcount() != 8 || std::memcmp(magic, "\x93NUMPY", 6) != 0)
            {
                throw std::runtime_error("'" + path + "' is not a .npy file (bad magic string)");
            }
            const auto major = static_cast<unsigned char>(magic[6]);
            std::size_t header_len = 0;
            if (major == 1)
            {
                unsigned char b[2];
                in.read(reinterpret_cast<char*>(b), 2);
                header_len = static_cast<std::size_t>(b[0]) | (static_cast<std::size_t>(b[1]) << 8);
            }
            else if (major == 2 || major == 3)
            {
                unsigned char b[4];
                in.read(reinterpret_cast<char*>(b), 4);
                header_len = static_cast<std::size_t>(b[0]) | (static_cast<std::size_t>(b[1]) << 8)
                             | (static_cast<std::size_t>(b[2]) << 16) | (static_cast<std::size_t>(b[3]) << 24);
            }
            else
            {
                throw std::runtime_error("'" + path + "': unsupported .npy format version " + std::to_string(major));
            }
            if (!in || header_len > (std::size_t(1) << 24))
            {
                throw std::runtime_error("'" + path + "': malformed .npy header");
            }
            std::string header(header_len, '\0');
            in.read(&header[0], static_cast<std::streamsize>(header_len));
            if (static_cast<std::size_t>(in.gcount()) != header_len)
            {
                throw std::runtime_error("'" + path + "': truncated .npy header");
            }
            const std::string descr = detail::npy_dict_value(header, "descr", path);
            const std::string fortran_text = detail::npy_dict_value(header, "fortran_order", path);
            const std::vector<std::size_t> shape = detail::parse_npy_shape(detail::npy_dict_value(header, "shape", path), path);
            const bool fortran = fortran_text == "True";
            bool swap = false;
            const dtype t = detail::parse_npy_descr(descr, swap, path);
            std::size_t count = 1;
            for (std::size_t s : shape)
            {
                if (s != 0 && count > std::numeric_limits<std::size_t>::max() / 16 / s)
                {
                    throw std::runtime_error("'" + path + "': .npy shape too large");
                }
                count *= s;
            }
            // Guard against absurd shapes before allocating: compare with the file size.
            const auto data_start = in.tellg();
            in.seekg(0, std::ios::end);
            const auto file_end = in.tellg();
            in.seekg(data_start);
            if (data_start >= 0 && file_end >= data_start
                && static_cast<std::size_t>(file_end - data_start) < count * item_size(t))
            {
                throw std::runtime_error("'" + path + "': truncated .npy file (shape needs "
                                         + std::to_string(count * item_size(t)) + " data bytes, file has "
                                         + std::to_string(static_cast<long long>(file_end - data_start)) + ")");
            }
            switch (t)
            {
                case dtype::bool_:
                {
                    auto a = detail::read_npy_payload<std::uint8_t>(in, shape, fortran, false, count, path);
                    for (auto& v : a)
                    {
                        v = v != 0 ? 1 : 0;
                    }
                    return any_array(std::move(a), dtype::bool_);
                }
                case dtype::int8: return any_array(detail::read_npy_payload<std::int8_t>(in, shape, fortran, swap, count, path));
                case dtype::uint8: return any_array(detail::read_npy_payload<std::uint8_t>(in, shape, fortran, swap, count, path));
                case dtype::int16: return any_array(detail::read_npy_payload<std::int16_t>(in, shape, fortran, swap, count, path));
                case dtype::uint16: return any_array(detail::read_npy_payload<std::uint16_t>(in, shape, fortran, swap, count, path));
                case dtype::int32: return any_array(detail::read_npy_payload<std::int32_t>(in, shape, fortran, swap, count, path));
                case dtype::uint32: return any_array(detail::read_npy_payload<std::uint32_t>(in, shape, fortran, swap, count, path));
                case dtype::int64: return any_array(detail::read_npy_payload<std::int64_t>(in, shape, fortran, swap, count, path));
                case dtype::uint64: return any_array(detail::read_npy_payload<std::uint64_t>(in, shape, fortran, swap, count, path));
                case dtype::float32: return any_array(detail::read_npy_payload<float>(in, shape, fortran, swap, count, path));
                case dtype::float64: return any_array(detail::read_npy_payload<double>(in, shape, fortran, swap, count, path));
            }
            throw std::runtime_error("'" + path + "': unsupported .npy dtype");
        }

        /**
         * @brief Load a `.npy` file of any numeric dtype converted to `T` (plain static_cast, no rescaling).
         * @throw std::runtime_error as load_npy
         */
        template <class T>
        xt::xarray<T> load_npy_as(const std::string& path)
        {
            any_array a = load_npy(path);
            if (a.holds<T>())
            {
                return std::move(a.get<T>());
            }
            return a.as<T>();
        }

        /**
         * @brief Write raw contiguous data as a `.npy` v1.0 (C order) to a stream.
         */
        inline void write_npy(std::ostream& out, dtype t, const void* data, const std::vector<std::size_t>& shape)
        {
            std::ostringstream dict;
            dict << "{'descr': '" << detail::npy_descr(t) << "', 'fortran_order': False, 'shape': (";
            for (std::size_t i = 0; i < shape.size(); ++i)
            {
                dict << shape[i] << (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
            }
            dict << "), }";
            std::string header = dict.str();
            // magic(6) + version(2) + len(2) + header + '\n' padded to a multiple of 64
            const std::size_t total = 10 + header.size() + 1;
            header.append((64 - total % 64) % 64, ' ');
            header.push_back('\n');
            const std::size_t len = header.size();
            const char prefix[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', '\x01', '\x00',
                                     static_cast<char>(len & 0xff), static_cast<char>((len >> 8) & 0xff)};
            out.write(prefix, 10);
            out.write(header.data(), static_cast<std::streamsize>(header.size()));
            std::size_t count = 1;
            for (std::size_t s : shape)
            {
                count *= s;
            }
            out.write(static_cast<const char*>(data), static_cast<std::streamsize>(count * item_size(t)));
        }

        /**
         * @brief Save an array as `.npy` (v1.0, C order, native little-endian), atomically.
         * @param path  output file (written to a temporary file, then renamed)
         * @param e     any xtensor expression; `bool` elements are written as numpy bool
         * @throw std::runtime_error naming the file on I/O failure
         */
        template <class E>
        void save_npy(const std::string& path, const xt::xexpression<E>& e)
        {
            using T = std::decay_t<typename E::value_type>;
            constexpr bool direct = xt::has_data_interface<E>::value && E::static_layout == xt::layout_type::row_major
                                    && !std::is_same_v<T, bool>;
            if constexpr (direct)
            {
                // Row-major container: write its buffer without a copy.
                const auto& c = e.derived_cast();
                const std::vector<std::size_t> shape(c.shape().begin(), c.shape().end());
                write_file_atomically(path, [&](std::ostream& out) { write_npy(out, dtype_of<T>(), c.data(), shape); });
                return;
            }
            const xt::xarray<T> a = e.derived_cast();
            const std::vector<std::size_t> shape(a.shape().begin(), a.shape().end());
            if constexpr (std::is_same_v<T, bool>)
            {
                std::vector<std::uint8_t> bytes(a.size());
                std::transform(a.begin(), a.end(), bytes.begin(), [](bool b) { return static_cast<std::uint8_t>(b ? 1 : 0); });
                write_file_atomically(path, [&](std::ostream& out) { write_npy(out, dtype::bool_, bytes.data(), shape); });
            }
            else if constexpr (!direct)
            {
                write_file_atomically(path, [&](std::ostream& out) { write_npy(out, dtype_of<T>(), a.data(), shape); });
            }
        }

        /// Save an any_array as `.npy` keeping its dtype (atomically).
        inline void save_npy(const std::string& path, const any_array& a)
        {
            const auto shape = a.shape();
            a.visit([&](const auto& arr) {
                write_file_atomically(path, [&](std::ostream& out) { write_npy(out, a.type, arr.data(), shape); });
            });
        }
    }  // namespace io
}  // namespace xskan

#endif
