/**
 * @file common.hpp
 * @brief Shared pieces of the xskan command-line tool: errors, list parsing,
 *        input reading, dtype dispatch, stage timings, CSV number formatting.
 */
#ifndef XSKAN_APPS_COMMON_HPP
#define XSKAN_APPS_COMMON_HPP

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>
#include <charconv>

#include <xtensor/xarray.hpp>

#include <xskan/detail/numpy_sum.hpp>
#include <xskan/summarize.hpp>
#include <xskan/io/any_array.hpp>
#include <xskan/io/image.hpp>

namespace xskan_cli
{
    /// A problem with the user's input (bad file, bad value): reported as "xskan: error: ...", exit code 1.
    struct cli_error : std::runtime_error
    {
        using std::runtime_error::runtime_error;
    };

    /// Parse "a,b,c" into doubles (finite); `what` names the option in messages.
    inline std::vector<double> parse_double_list(const std::string& text, const std::string& what)
    {
        std::vector<double> out;
        std::size_t pos = 0;
        while (pos <= text.size())
        {
            std::size_t comma = text.find(',', pos);
            if (comma == std::string::npos)
            {
                comma = text.size();
            }
            std::string item = text.substr(pos, comma - pos);
            while (!item.empty() && item.front() == ' ') item.erase(item.begin());
            while (!item.empty() && item.back() == ' ') item.pop_back();
            char* end = nullptr;
            const double v = item.empty() ? 0.0 : std::strtod(item.c_str(), &end);
            if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(v))
            {
                throw cli_error(what + ": '" + text + "' is not a comma-separated list of finite numbers");
            }
            out.push_back(v);
            pos = comma + 1;
        }
        return out;
    }

    /// Spacing option text -> vector (empty text = default 1 on every axis); checks > 0.
    inline std::vector<double> parse_spacing(const std::string& text)
    {
        if (text.empty())
        {
            return {};
        }
        auto s = parse_double_list(text, "--spacing");
        for (double v : s)
        {
            if (!(v > 0))
            {
                throw cli_error("--spacing: every value must be > 0 (got '" + text + "')");
            }
        }
        return s;
    }

    /// Read an input image/array by extension, naming the file in errors.
    inline xskan::io::any_array read_input(const std::string& path, bool fei = false)
    {
        xskan::io::image_read_options o;
        o.fei = fei;
        return xskan::io::read_image(path, o);
    }

    /// Base name without directories ("a/b/c.tif" -> "c.tif").
    inline std::string basename(const std::string& path)
    {
        const auto slash = path.find_last_of('/');
        return slash == std::string::npos ? path : path.substr(slash + 1);
    }

    /// Base name without the last extension ("a/b/c.tif" -> "c").
    inline std::string stem(const std::string& path)
    {
        std::string b = basename(path);
        const auto dot = b.find_last_of('.');
        return (dot == std::string::npos || dot == 0) ? b : b.substr(0, dot);
    }

    /// Lower-case extension without dot.
    inline std::string extension(const std::string& path)
    {
        std::string b = basename(path);
        const auto dot = b.find_last_of('.');
        std::string e = dot == std::string::npos ? std::string() : b.substr(dot + 1);
        for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return e;
    }

    using xskan::detail::append_double;   // "%.17g", nan/inf written like Python (summarize.hpp)

    inline void append_int(std::string& out, long long v)
    {
        char buf[24];
        const auto res = std::to_chars(buf, buf + sizeof(buf), v);
        out.append(buf, res.ptr);
    }

    /// A CSV text field: quoted when it contains a comma, quote or newline.
    inline std::string csv_field(const std::string& s)
    {
        if (s.find_first_of(",\"\n\r") == std::string::npos)
        {
            return s;
        }
        std::string q = "\"";
        for (char c : s)
        {
            if (c == '"') q += '"';
            q += c;
        }
        q += '"';
        return q;
    }

    using xskan::detail::numpy_pairwise_sum;   // numpy's float64 summation order

    /// Wall-clock stage timings (seconds), accumulated by name in first-use order.
    class stage_timer
    {
    public:
        using clock = std::chrono::steady_clock;

        void start() { m_t0 = clock::now(); }

        /// Add the time since the last start()/lap() to `stage` and restart.
        void lap(const std::string& stage)
        {
            const auto now = clock::now();
            add(stage, std::chrono::duration<double>(now - m_t0).count());
            m_t0 = now;
        }

        void add(const std::string& stage, double seconds)
        {
            for (auto& s : m_stages)
            {
                if (s.first == stage)
                {
                    s.second += seconds;
                    return;
                }
            }
            m_stages.emplace_back(stage, seconds);
        }

        void merge(const stage_timer& other)
        {
            for (const auto& s : other.m_stages) add(s.first, s.second);
        }

        double total() const
        {
            double t = 0;
            for (const auto& s : m_stages) t += s.second;
            return t;
        }

        std::string report() const
        {
            std::ostringstream o;
            const double tot = total();
            char buf[128];
            for (const auto& s : m_stages)
            {
                std::snprintf(buf, sizeof buf, "  %-14s %9.4f s  %5.1f %%\n", s.first.c_str(), s.second,
                              tot > 0 ? 100.0 * s.second / tot : 0.0);
                o << buf;
            }
            std::snprintf(buf, sizeof buf, "  %-14s %9.4f s\n", "total", tot);
            o << buf;
            return o.str();
        }

    private:
        clock::time_point m_t0 = clock::now();
        std::vector<std::pair<std::string, double>> m_stages;
    };

    /**
     * Call `f(xt::xarray<T>)` with the image as one of the types the commands are
     * instantiated for: uint8 (also bool), uint16, float32, float64. Other
     * integer types are converted to float64 without rescaling.
     */
    template <class F>
    decltype(auto) dispatch_gray(const xskan::io::any_array& a, F&& f)
    {
        using xskan::io::dtype;
        switch (a.type)
        {
            case dtype::bool_:
            case dtype::uint8: return f(a.get<std::uint8_t>());
            case dtype::uint16: return f(a.get<std::uint16_t>());
            case dtype::float32: return f(a.get<float>());
            case dtype::float64: return f(a.get<double>());
            default: return f(a.as<double>());
        }
    }
}  // namespace xskan_cli

#endif
