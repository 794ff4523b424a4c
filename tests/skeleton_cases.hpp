// Test helpers of the skeleton-graph module: the skan golden cases of
// F_skan/index.csv, loading their inputs with the right dtype, and small
// random skeletons for property tests.
#ifndef XSKAN_TESTS_SKELETON_CASES_HPP
#define XSKAN_TESTS_SKELETON_CASES_HPP

#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "golden.hpp"

namespace xskan_test
{
    struct skan_case
    {
        std::string name;
        std::string input;   // golden-relative path, or a description (retic_gs_x_image)
        std::string dtype;   // |b1, |u1, <f8, <f4, <i8
        std::vector<double> spacing;
        bool value_is_height = false;
        bool find_main_branch = false;
        bool tie_sensitive = false;
        bool arrays_saved = false;
        std::size_t n_paths = 0;

        /// Folder of the expected arrays/summary (stable_mst/ where tie-sensitive).
        std::string expected(const std::string& file) const
        {
            return golden("F_skan/" + name + (tie_sensitive ? "/stable_mst/" : "/") + file);
        }
        /// coordinates.npy is shared by both variants.
        std::string coordinates() const { return golden("F_skan/" + name + "/coordinates.npy"); }
    };

    inline std::vector<skan_case> skan_cases()
    {
        const auto table = read_csv(golden("F_skan/index.csv"));
        std::vector<skan_case> out;
        for (std::size_t r = 0; r < table.size(); ++r)
        {
            skan_case c;
            c.name = table.str(r, "case");
            c.input = table.str(r, "input");
            c.dtype = table.str(r, "input_dtype");
            std::istringstream sp(table.str(r, "spacing"));
            double v;
            while (sp >> v)
            {
                c.spacing.push_back(v);
            }
            c.value_is_height = table.num(r, "value_is_height") != 0;
            c.find_main_branch = table.num(r, "find_main_branch") != 0;
            c.tie_sensitive = table.num(r, "mst_tie_sensitive") != 0;
            c.arrays_saved = table.num(r, "arrays_saved") != 0;
            c.n_paths = static_cast<std::size_t>(table.num(r, "n_paths"));
            out.push_back(c);
        }
        return out;
    }

    /// The retic_gs_x_image input: the bool skeleton with the uint8 image values
    /// (stored in tests/data, 36 kB, C order of the skeleton pixels) placed on it.
    inline xt::xarray<std::uint8_t> retic_gs_x_image()
    {
        auto skel = load_npy<std::uint8_t>(golden("E_skeletonize/retic_gs_skeleton.npy"));
        auto vals = load_npy<std::uint8_t>(test_data("skeleton_retic_gs_x_image_values.npy"));
        std::size_t k = 0;
        for (auto& p : skel)
        {
            if (p != 0)
            {
                p = vals(k++);
            }
        }
        REQUIRE(k == vals.size());
        return skel;
    }

    /// Call f(image) with the case's input loaded in its dtype.
    template <class F>
    void with_case_input(const skan_case& c, F&& f)
    {
        if (c.name == "retic_gs_x_image")
        {
            f(retic_gs_x_image());
            return;
        }
        const std::string path = golden(c.input);
        if (c.dtype == "|b1")
        {
            auto u = load_npy<std::uint8_t>(path);
            xt::xarray<bool> b = xt::not_equal(u, std::uint8_t(0));
            f(b);
        }
        else if (c.dtype == "|u1")
        {
            f(load_npy<std::uint8_t>(path));
        }
        else if (c.dtype == "<f8")
        {
            f(load_npy<double>(path));
        }
        else if (c.dtype == "<f4")
        {
            f(load_npy<float>(path));
        }
        else if (c.dtype == "<i8")
        {
            f(load_npy<std::int64_t>(path));
        }
        else
        {
            FAIL("unknown input dtype " << c.dtype << " in case " << c.name);
        }
    }

    /// Thin random skeleton: a few random walks (8/26-connected steps) in a
    /// small box, so junctions, clusters, cycles and isolated pixels all occur.
    inline xt::xarray<std::uint8_t> random_walk_skeleton(const std::vector<std::size_t>& shape, int n_walks,
                                                         int steps, std::uint32_t seed)
    {
        std::mt19937 rng(seed);
        xt::xarray<std::uint8_t> img = xt::zeros<std::uint8_t>(shape);
        const std::size_t nd = shape.size();
        std::vector<long> pos(nd);
        for (int w = 0; w < n_walks; ++w)
        {
            for (std::size_t a = 0; a < nd; ++a)
            {
                pos[a] = std::uniform_int_distribution<long>(0, static_cast<long>(shape[a]) - 1)(rng);
            }
            std::vector<int> dir(nd);
            for (auto& d : dir) d = std::uniform_int_distribution<int>(-1, 1)(rng);
            for (int s = 0; s < steps; ++s)
            {
                std::size_t flat = 0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    flat = flat * shape[a] + static_cast<std::size_t>(pos[a]);
                }
                img.data()[flat] = 1;
                if (std::uniform_int_distribution<int>(0, 3)(rng) == 0)
                {
                    for (auto& d : dir) d = std::uniform_int_distribution<int>(-1, 1)(rng);
                }
                for (std::size_t a = 0; a < nd; ++a)
                {
                    long p = pos[a] + dir[a];
                    if (p < 0 || p >= static_cast<long>(shape[a]))
                    {
                        dir[a] = -dir[a];
                        p = pos[a] + dir[a];
                    }
                    pos[a] = std::min(std::max(p, 0L), static_cast<long>(shape[a]) - 1);
                }
            }
        }
        return img;
    }

    /// Random walks plus a random sprinkle of pixels at density `density`
    /// (blobs, junction clusters, ties, isolated pixels, borders); values in
    /// 1..max_value (0 stays background).
    inline xt::xarray<std::uint8_t> random_mixed_skeleton(const std::vector<std::size_t>& shape, double density,
                                                          int max_value, std::uint32_t seed)
    {
        auto img = random_walk_skeleton(shape, 3, 40, seed);
        std::mt19937 rng(seed * 7919u + 1u);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        std::uniform_int_distribution<int> val(1, std::max(1, max_value));
        for (auto& v : img)
        {
            if (v != 0 || u(rng) < density)
            {
                v = static_cast<std::uint8_t>(val(rng));
            }
        }
        return img;
    }
}  // namespace xskan_test

#endif
