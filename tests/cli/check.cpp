// xskan_cli_check: comparisons used by the command-line tests (no Python at test time).
//
//   xskan_cli_check npy A.npy B.npy [--nonzero]        same shape and values (or same non-zero support)
//   xskan_cli_check scalar A.npy VALUE [RTOL]           a 0-d/1-element .npy equals VALUE (within RTOL)
//   xskan_cli_check csv A.csv B.csv [--rtol COL=R]...   same header, rows, cells (numbers parsed with strtod,
//                                                       equal, or within relative tolerance R for column COL)
//   xskan_cli_check overlay PNG SKEL.npy IMAGE CROP     PNG size = cropped IMAGE; skeleton pixels carry a
//                                                       viridis branch-type colour, others the image's gray
// Exit code 0 when the check passes, 1 with a message otherwise.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <xskan/detail/common.hpp>
#include <xskan/io/fei.hpp>
#include <xskan/io/image.hpp>
#include <xskan/io/npy.hpp>
#include <xskan/io/png.hpp>

namespace
{
    int fail(const std::string& msg)
    {
        std::fprintf(stderr, "check failed: %s\n", msg.c_str());
        return 1;
    }

    std::vector<std::string> split_csv_line(const std::string& line)
    {
        std::vector<std::string> out;
        std::string cur;
        bool quoted = false;
        for (std::size_t i = 0; i < line.size(); ++i)
        {
            const char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
                {
                    cur += '"';
                    ++i;
                }
                else if (c == '"') quoted = false;
                else cur += c;
            }
            else if (c == '"') quoted = true;
            else if (c == ',')
            {
                out.push_back(cur);
                cur.clear();
            }
            else if (c != '\r') cur += c;
        }
        out.push_back(cur);
        return out;
    }

    std::vector<std::vector<std::string>> read_csv(const std::string& path)
    {
        std::ifstream in(path);
        if (!in) throw std::runtime_error("cannot open " + path);
        std::vector<std::vector<std::string>> rows;
        std::string line;
        while (std::getline(in, line))
        {
            if (!line.empty()) rows.push_back(split_csv_line(line));
        }
        return rows;
    }

    bool parse_number(const std::string& s, double& v)
    {
        if (s.empty()) return false;
        char* end = nullptr;
        v = std::strtod(s.c_str(), &end);
        return end == s.c_str() + s.size();
    }

    int check_npy(const std::string& a, const std::string& b, bool nonzero)
    {
        const auto x = xskan::io::load_npy(a).as<double>();
        const auto y = xskan::io::load_npy(b).as<double>();
        if (x.shape() != y.shape()) return fail(a + " and " + b + " differ in shape");
        std::size_t diff = 0, first = 0;
        for (std::size_t i = 0; i < x.size(); ++i)
        {
            const double p = x.data()[i], q = y.data()[i];
            const bool same = nonzero ? ((p != 0) == (q != 0)) : (p == q || (std::isnan(p) && std::isnan(q)));
            if (!same)
            {
                if (diff == 0) first = i;
                ++diff;
            }
        }
        if (diff)
        {
            return fail(a + " vs " + b + ": " + std::to_string(diff) + " of " + std::to_string(x.size())
                        + " elements differ (first at flat index " + std::to_string(first) + ")");
        }
        std::printf("ok: %s == %s (%zu elements)\n", a.c_str(), b.c_str(), x.size());
        return 0;
    }

    int check_csv(const std::string& a, const std::string& b, const std::map<std::string, double>& rtol)
    {
        const auto x = read_csv(a);
        const auto y = read_csv(b);
        if (x.empty() || y.empty()) return fail("empty CSV");
        if (x[0] != y[0])
        {
            std::string hx, hy;
            for (const auto& h : x[0]) hx += h + ",";
            for (const auto& h : y[0]) hy += h + ",";
            return fail("headers differ:\n  " + hx + "\n  " + hy);
        }
        if (x.size() != y.size())
        {
            return fail(a + " has " + std::to_string(x.size() - 1) + " rows, " + b + " has " + std::to_string(y.size() - 1));
        }
        double worst = 0;
        for (std::size_t r = 1; r < x.size(); ++r)
        {
            if (x[r].size() != y[r].size()) return fail("row " + std::to_string(r) + ": different number of fields");
            for (std::size_t c = 0; c < x[r].size(); ++c)
            {
                const std::string& p = x[r][c];
                const std::string& q = y[r][c];
                if (p == q) continue;
                double u = 0, v = 0;
                const bool num = parse_number(p, u) && parse_number(q, v);
                const auto it = rtol.find(x[0][c]);
                if (num && (u == v || (std::isnan(u) && std::isnan(v)))) continue;
                if (num && it != rtol.end())
                {
                    const double rel = std::abs(u - v) / std::max(std::abs(u), std::abs(v));
                    worst = std::max(worst, rel);
                    if (rel <= it->second) continue;
                }
                return fail("row " + std::to_string(r) + " column '" + x[0][c] + "': '" + p + "' vs '" + q + "'");
            }
        }
        std::printf("ok: %s == %s (%zu rows; worst relative difference in tolerant columns %.3g)\n", a.c_str(), b.c_str(),
                    x.size() - 1, worst);
        return 0;
    }

    int check_overlay(const std::string& png, const std::string& skel_path, const std::string& image_path, std::size_t crop)
    {
        const auto rgb = xskan::io::read_png(png, xskan::io::color_handling::keep);
        const auto skel = xskan::io::load_npy(skel_path).as<double>();
        xskan::io::any_array img;
        const auto md = xskan::io::read_fei_metadata(image_path);
        if (!md.empty()) img = xskan::io::read_fei(image_path).image;
        else img = xskan::io::read_image(image_path);
        const auto& g = img.get<std::uint8_t>();
        const std::size_t rows = g.shape()[0] - 2 * crop, cols = g.shape()[1] - 2 * crop;
        if (rgb.shape() != std::vector<std::size_t>{rows, cols, 3})
        {
            return fail("overlay has shape " + xskan::detail::shape_to_string(rgb.shape()) + ", expected "
                        + std::to_string(rows) + "x" + std::to_string(cols) + "x3");
        }
        if (skel.shape()[0] != rows || skel.shape()[1] != cols) return fail("skeleton shape differs from the overlay");
        // matplotlib: get_cmap('viridis', n)(linspace(0, 1, n), bytes=True) for n = 2, 3, 4 branch types
        const std::set<std::tuple<int, int, int>> palette = {{68, 1, 84},    {48, 103, 141}, {53, 183, 120},
                                                             {253, 231, 36}, {32, 144, 140}};
        const auto& p = rgb.get<std::uint8_t>();
        std::size_t n_skel = 0;
        std::map<std::tuple<int, int, int>, std::size_t> used;
        for (std::size_t r = 0; r < rows; ++r)
        {
            for (std::size_t c = 0; c < cols; ++c)
            {
                const auto col = std::make_tuple(int(p(r, c, 0)), int(p(r, c, 1)), int(p(r, c, 2)));
                if (skel(r, c) != 0)
                {
                    ++n_skel;
                    if (!palette.count(col))
                    {
                        return fail("skeleton pixel (" + std::to_string(r) + ", " + std::to_string(c)
                                    + ") is not a branch-type colour");
                    }
                    ++used[col];
                }
                else
                {
                    const int v = g(r + crop, c + crop);
                    if (std::get<0>(col) != v || std::get<1>(col) != v || std::get<2>(col) != v)
                    {
                        return fail("background pixel (" + std::to_string(r) + ", " + std::to_string(c)
                                    + ") is not the image's gray value " + std::to_string(v));
                    }
                }
            }
        }
        std::printf("ok: %s: %zux%zu, %zu skeleton pixels in %zu colours\n", png.c_str(), rows, cols, n_skel, used.size());
        return used.size() >= 2 ? 0 : fail("fewer than two branch-type colours used");
    }
}  // namespace

int main(int argc, char** argv)
{
    try
    {
        const std::vector<std::string> args(argv + 1, argv + argc);
        if (args.size() >= 3 && args[0] == "npy")
        {
            return check_npy(args[1], args[2], args.size() > 3 && args[3] == "--nonzero");
        }
        if ((args.size() == 3 || args.size() == 4) && args[0] == "scalar")
        {
            const auto x = xskan::io::load_npy(args[1]).as<double>();
            const double v = std::strtod(args[2].c_str(), nullptr);
            const double rtol = args.size() == 4 ? std::strtod(args[3].c_str(), nullptr) : 0.0;
            if (x.size() != 1 || !(std::abs(x.data()[0] - v) <= rtol * std::abs(v)))
            {
                return fail(args[1] + " is not the single value " + args[2] + " (relative tolerance " + std::to_string(rtol) + ")");
            }
            std::printf("ok: %s == %s\n", args[1].c_str(), args[2].c_str());
            return 0;
        }
        if (args.size() >= 3 && args[0] == "csv")
        {
            std::map<std::string, double> rtol;
            for (std::size_t i = 3; i + 1 < args.size(); i += 2)
            {
                if (args[i] != "--rtol") return fail("unknown option " + args[i]);
                const auto eq = args[i + 1].find('=');
                rtol[args[i + 1].substr(0, eq)] = std::strtod(args[i + 1].c_str() + eq + 1, nullptr);
            }
            return check_csv(args[1], args[2], rtol);
        }
        if (args.size() == 5 && args[0] == "overlay")
        {
            return check_overlay(args[1], args[2], args[3], static_cast<std::size_t>(std::stoul(args[4])));
        }
        return fail("usage: xskan_cli_check npy|scalar|csv|overlay ...");
    }
    catch (const std::exception& e)
    {
        return fail(e.what());
    }
}
