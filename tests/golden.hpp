// Test helpers: locating the golden files, loading .npy of any dtype, reading CSV.
#ifndef XSKAN_TESTS_GOLDEN_HPP
#define XSKAN_TESTS_GOLDEN_HPP

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

namespace xskan_test
{
    /// Folder of the shared golden files: $XSKAN_GOLDEN_DIR if set, else the CMake default.
    inline std::string golden_dir()
    {
        if (const char* env = std::getenv("XSKAN_GOLDEN_DIR"))
        {
            return env;
        }
        return XSKAN_GOLDEN_DIR;
    }

    inline std::string shared_dir()
    {
        if (const char* env = std::getenv("XSKAN_SHARED_DIR"))
        {
            return env;
        }
        return XSKAN_SHARED_DIR;
    }

    inline std::string golden(const std::string& rel) { return golden_dir() + "/" + rel; }
    inline std::string shared(const std::string& rel) { return shared_dir() + "/" + rel; }
    inline std::string test_data(const std::string& rel) { return std::string(XSKAN_TEST_DATA_DIR) + "/" + rel; }

    inline bool exists(const std::string& path)
    {
        std::ifstream f(path, std::ios::binary);
        return static_cast<bool>(f);
    }

    /// Load a .npy file of any numeric dtype and convert it to T.
    template <class T>
    xt::xarray<T> load_npy(const std::string& path)
    {
        std::ifstream stream(path, std::ios::binary);
        if (!stream)
        {
            throw std::runtime_error("cannot open " + path);
        }
        auto file = xt::detail::load_npy_file(stream);
        const std::string ts = file.m_typestring;
        auto convert = [&](auto tag) {
            using S = decltype(tag);
            auto a = file.template cast<S, xt::layout_type::row_major>(ts != xt::detail::build_typestring<S>() ? false : true);
            xt::xarray<T> out(a.shape());
            std::copy(a.cbegin(), a.cend(), out.begin());
            return out;
        };
        const char kind = ts.size() > 1 ? ts[1] : '?';
        const std::string size = ts.size() > 2 ? ts.substr(2) : "";
        if (kind == 'f' && size == "8") return convert(double{});
        if (kind == 'f' && size == "4") return convert(float{});
        if (kind == 'u' && size == "1") return convert(std::uint8_t{});
        if (kind == 'b' && size == "1") return convert(std::uint8_t{});
        if (kind == 'u' && size == "2") return convert(std::uint16_t{});
        if (kind == 'u' && size == "4") return convert(std::uint32_t{});
        if (kind == 'u' && size == "8") return convert(std::uint64_t{});
        if (kind == 'i' && size == "1") return convert(std::int8_t{});
        if (kind == 'i' && size == "2") return convert(std::int16_t{});
        if (kind == 'i' && size == "4") return convert(std::int32_t{});
        if (kind == 'i' && size == "8") return convert(std::int64_t{});
        throw std::runtime_error("unsupported npy dtype " + ts + " in " + path);
    }

    // Expected integer/float lists parsed at run time on purpose: GCC 12.2 with -march=native
    // (AVX-512) miscompiles some compile-time 64-bit constant vectors ({1, 1, 1, 0} -> all ones).
    inline std::vector<std::int64_t> i64s(const char* text)
    {
        std::vector<std::int64_t> out;
        std::istringstream is(text);
        long long v;
        while (is >> v) out.push_back(v);
        return out;
    }
    inline std::vector<double> f64s(const char* text)
    {
        std::vector<double> out;
        std::istringstream is(text);
        double v;
        while (is >> v) out.push_back(v);
        return out;
    }

    /// A CSV table as strings, with numeric access by column name.
    struct csv_table
    {
        std::vector<std::string> header;
        std::vector<std::vector<std::string>> rows;

        std::size_t col(const std::string& name) const
        {
            for (std::size_t i = 0; i < header.size(); ++i)
            {
                if (header[i] == name)
                {
                    return i;
                }
            }
            throw std::out_of_range("no column '" + name + "'");
        }
        bool has(const std::string& name) const
        {
            for (const auto& h : header)
            {
                if (h == name) return true;
            }
            return false;
        }
        const std::string& str(std::size_t r, const std::string& name) const { return rows.at(r).at(col(name)); }
        /// Correctly rounded parse (strtod); handles nan/inf.
        double num(std::size_t r, const std::string& name) const { return std::strtod(str(r, name).c_str(), nullptr); }
        std::size_t size() const { return rows.size(); }
    };

    inline std::vector<std::string> split_csv_line(const std::string& line)
    {
        std::vector<std::string> out;
        std::string cur;
        bool quoted = false;
        for (std::size_t i = 0; i < line.size(); ++i)
        {
            const char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { cur += '"'; ++i; }
                else if (c == '"') { quoted = false; }
                else { cur += c; }
            }
            else if (c == '"') { quoted = true; }
            else if (c == ',') { out.push_back(cur); cur.clear(); }
            else if (c != '\r') { cur += c; }
        }
        out.push_back(cur);
        return out;
    }

    inline csv_table parse_csv(std::istream& in)
    {
        csv_table t;
        std::string line;
        if (std::getline(in, line))
        {
            t.header = split_csv_line(line);
        }
        while (std::getline(in, line))
        {
            if (!line.empty())
            {
                t.rows.push_back(split_csv_line(line));
            }
        }
        return t;
    }

    inline csv_table read_csv(const std::string& path)
    {
        std::ifstream in(path);
        if (!in)
        {
            throw std::runtime_error("cannot open " + path);
        }
        return parse_csv(in);
    }
}  // namespace xskan_test

/// Skip the rest of the current test case (with a visible warning) when a
/// golden/shared file is absent. CI always has ../shared, so nothing is skipped there.
#define XSKAN_REQUIRE_FILE_OR_SKIP(path)                                                   \
    do                                                                                     \
    {                                                                                      \
        if (!::xskan_test::exists(path))                                                   \
        {                                                                                  \
            WARN("SKIPPED: reference file absent: " << (path)                              \
                 << " (set XSKAN_GOLDEN_DIR / XSKAN_SHARED_DIR or clone next to ../shared)"); \
            return;                                                                        \
        }                                                                                  \
    } while (false)

#endif
