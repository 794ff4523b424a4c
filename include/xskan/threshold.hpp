/**
 * @file threshold.hpp
 * @brief Local mean / standard deviation, Sauvola and Niblack local
 *        thresholds, Otsu's global threshold and skan's `pre.threshold`.
 */
#ifndef XSKAN_THRESHOLD_HPP
#define XSKAN_THRESHOLD_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>
#include <xtensor/xutils.hpp>

#include "correlate.hpp"
#include "detail/common.hpp"
#include "detail/mean_std_band.hpp"
#include "detail/parallel.hpp"
#include "detail/threshold_fp.hpp"
#include "detail/threshold_rows.hpp"
#include "detail/threshold_f64_mask.hpp"
#include "detail/threshold_small_int.hpp"
#include "filters.hpp"
#include "integral_image.hpp"
#include "mode.hpp"
#include "sparse_kernel.hpp"

namespace xskan
{
    /// Local mean and standard deviation (see mean_std()).
    template <class F>
    struct mean_std_result
    {
        xt::xarray<F> m;   ///< local mean
        xt::xarray<F> s;   ///< local (population) standard deviation
    };

    /// Local method of threshold() (skan's `method` argument).
    enum class threshold_method
    {
        sauvola,
        niblack,
        median
    };

    /// Options of threshold(), the equivalent of skan.pre.threshold's keyword arguments.
    struct threshold_options
    {
        double sigma = 0;          ///< Gaussian smoothing first if > 0 (scikit-image gaussian, mode nearest)
        std::size_t radius = 0;    ///< 0: global Otsu + offset; else local window 2·radius+1 / ball of this radius
        double offset = 0;         ///< Otsu / median: added to t; Sauvola / Niblack: used as k (as skan does)
        threshold_method method = threshold_method::sauvola;
        std::size_t threads = 1;   ///< threads for the local thresholds (0 = hardware); results never depend on it
    };

    namespace detail
    {
        /// Largest accepted window extent per axis (keeps padded sizes far from overflow).
        constexpr std::size_t max_window_extent = std::size_t(1) << 24;

        template <class S>
        std::vector<std::size_t> checked_window(const S& shape, const std::vector<std::size_t>& window,
                                                const char* func)
        {
            const std::size_t ndim = shape.size();
            if (window.size() != ndim)
            {
                throw std::invalid_argument(std::string("xskan::") + func + ": window has " +
                                            std::to_string(window.size()) + " sizes but the image is " +
                                            std::to_string(ndim) + "-D (give one odd size per axis, or a single size)");
            }
            for (auto w : window)
            {
                if (w % 2 == 0)
                {
                    throw std::invalid_argument(std::string("xskan::") + func + ": window size must be odd on every axis (got " +
                                                shape_to_string(window) + ")");
                }
                if (w > max_window_extent)
                {
                    throw std::invalid_argument(std::string("xskan::") + func + ": window size " + std::to_string(w) +
                                                " is too large (at most 2^24 per axis)");
                }
            }
            return window;
        }

        template <class S>
        std::vector<std::size_t> checked_shape(const S& shape, const char* func)
        {
            check_nonempty(shape, func);
            (void) checked_size(shape, func);
            return std::vector<std::size_t>(shape.begin(), shape.end());
        }

        /// Pointer to contiguous row-major data of `e` if it has any, else nullptr.
        template <class E>
        const typename E::value_type* contiguous_data(const E& e)
        {
            if constexpr (xt::has_data_interface<E>::value)
            {
                const auto& shape = e.shape();
                const auto& strides = e.strides();
                std::ptrdiff_t expect = 1;
                for (std::size_t a = shape.size(); a-- > 0;)
                {
                    if (shape[a] != 1 && static_cast<std::ptrdiff_t>(strides[a]) != expect)
                    {
                        return nullptr;
                    }
                    expect *= static_cast<std::ptrdiff_t>(shape[a]);
                }
                return e.data() + e.data_offset();
            }
            else
            {
                return nullptr;
            }
        }

        /// Evaluate `image` once into contiguous memory unless it already is; calls f(const T*, shape).
        template <class E, class Fn>
        decltype(auto) with_contiguous_input(const xt::xexpression<E>& image, const char* func, Fn&& fn)
        {
            const auto& img = image.derived_cast();
            using T = std::decay_t<typename std::decay_t<decltype(img)>::value_type>;
            const auto shape = checked_shape(img.shape(), func);
            if (const T* p = contiguous_data(img))
            {
                return fn(p, shape);
            }
            const auto copy = to_contiguous<T>(img);
            return fn(copy.data(), shape);
        }

        /// scikit-image's default Sauvola r: half the dtype range (float: range -1..1 -> 1).
        template <class T>
        double default_sauvola_r()
        {
            if constexpr (std::is_same<T, bool>::value)
            {
                return 0.5;
            }
            else if constexpr (std::is_integral<T>::value)
            {
                return 0.5 * (static_cast<double>(std::numeric_limits<T>::max()) -
                              static_cast<double>(std::numeric_limits<T>::min()));
            }
            else
            {
                return 1.0;
            }
        }

        template <class F, class T>
        local_params<F> make_local_params(local_formula f, const box_geometry& g, double k, double r)
        {
            local_params<F> p;
            p.formula = f;
            p.window_count = static_cast<F>(g.window_count);
            p.k = static_cast<F>(k);
            p.r = static_cast<F>(r);
            return p;
        }

        /// Threshold array (or mean/std) through the band engine: out_t gets t, or m (and out_s gets s).
        template <class F, class T>
        void local_threshold_into(const T* data, const box_geometry& g, const local_params<F>& p,
                                  std::size_t threads, F* out_t, F* out_s)
        {
            for_each_box_row<F>(data, g, threads, [&]() {
                return [&, rows = local_rows<F>(g.row_size)](std::size_t i, const double* s1,
                                                             const double* s2) mutable {
                    const std::size_t n = g.row_size;
                    rows.mean_std(s1, s2, n, p.window_count);
                    if (p.formula == local_formula::mean_std)
                    {
                        std::copy(rows.m.begin(), rows.m.end(), out_t + i * n);
                        std::copy(rows.s.begin(), rows.s.end(), out_s + i * n);
                        return;
                    }
                    rows.threshold(p, n);
                    std::copy(rows.t.begin(), rows.t.end(), out_t + i * n);
                };
            });
        }

        /// Mask `image > t` through the band engine (never materialises t).
        template <class F, class T>
        void local_mask_into(const T* data, const box_geometry& g, const local_params<F>& p, std::size_t threads,
                             std::uint8_t* out)
        {
            if constexpr (is_small_int_pixel<T> && std::is_same<F, double>::value)
            {
                if (small_int_mask_applies<T>(g, p.k, p.r))
                {
                    small_int_mask_into(data, g, p, threads, out);
                    return;
                }
            }
#if defined(__AVX2__)
            if constexpr (std::is_same<T, double>::value && std::is_same<F, double>::value)
            {
                if (f64_mask_applies(g, p))
                {
                    f64_sauvola_mask_into(data, g, p, threads, out);
                    return;
                }
            }
#endif
            for_each_box_row<F>(data, g, threads, [&]() {
                return [&, rows = fast_mask_rows<F>(g.row_size)](std::size_t i, const double* s1,
                                                                 const double* s2) mutable {
                    const std::size_t n = g.row_size;
                    rows.run(s1, s2, data + i * n, out + i * n, n, p);
                };
            });
        }

        template <class F, class T>
        xt::xarray<F> local_threshold_array(const T* data, const std::vector<std::size_t>& shape,
                                            const std::vector<std::size_t>& window, local_formula f, double k,
                                            double r, std::size_t threads)
        {
            const auto g = make_box_geometry(shape, window);
            xt::xarray<F> out = xt::xarray<F>::from_shape(shape);
            local_threshold_into<F>(data, g, make_local_params<F, T>(f, g, k, r), threads, out.data(), nullptr);
            return out;
        }

        template <class F, class T>
        void local_mask_checked(const T* data, const std::vector<std::size_t>& shape,
                                const std::vector<std::size_t>& window, local_formula f, double k, double r,
                                std::size_t threads, std::uint8_t* out)
        {
            const auto g = make_box_geometry(shape, window);
            local_mask_into<F>(data, g, make_local_params<F, T>(f, g, k, r), threads, out);
        }

        inline void check_finite_param(double v, const char* name, const char* func)
        {
            if (std::isnan(v))
            {
                throw std::invalid_argument(std::string("xskan::") + func + ": " + name + " is NaN");
            }
        }

        template <class E>
        std::vector<std::size_t> window_for(const xt::xexpression<E>& image, std::size_t w)
        {
            return std::vector<std::size_t>(image.derived_cast().dimension(), w);
        }

        /**
         * Straightforward reference implementation of scikit-image's _mean_std:
         * full padded image, full float64 integral images, corner sums.
         * O(size) extra memory; used to cross-check the band engine.
         */
        template <class F, class T>
        mean_std_result<F> mean_std_full(const T* data, const std::vector<std::size_t>& shape,
                                          const std::vector<std::size_t>& window)
        {
            const std::size_t nd = shape.size();
            std::vector<std::size_t> pshape(nd);
            std::vector<std::vector<std::ptrdiff_t>> pad(nd);
            std::vector<std::size_t> istride(nd), pstride(nd);
            std::size_t ps = 1;
            std::size_t is = 1;
            for (std::size_t a = nd; a-- > 0;)
            {
                pshape[a] = shape[a] + window[a];
                pad[a] = pad_indices(shape[a], window[a] / 2 + 1, window[a] / 2, mode::mirror);
                pstride[a] = ps;
                istride[a] = is;
                ps *= pshape[a];
                is *= shape[a];
            }
            const std::size_t psize = ps;
            const std::size_t size = is;
            std::vector<double> i1(psize), i2(psize);
            std::vector<std::size_t> idx(nd, 0);
            for (std::size_t q = 0; q < psize; ++q)
            {
                std::size_t src = 0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    src += static_cast<std::size_t>(pad[a][idx[a]]) * istride[a];
                }
                const F v = static_cast<F>(data[src]);
                i1[q] = static_cast<double>(v);
                const F sq = no_fma(static_cast<F>(v * v));
                i2[q] = static_cast<double>(sq);
                for (std::size_t a = nd; a-- > 0;)
                {
                    if (++idx[a] < pshape[a])
                    {
                        break;
                    }
                    idx[a] = 0;
                }
            }
            integral_image_inplace(i1.data(), pshape);
            integral_image_inplace(i2.data(), pshape);
            // corners
            std::vector<std::size_t> coff;
            std::vector<bool> cplus;
            for (std::size_t ci = 0; ci < (std::size_t(1) << nd); ++ci)
            {
                std::size_t off = 0;
                std::size_t cnt = 0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    if ((ci >> (nd - 1 - a)) & 1u)
                    {
                        off += window[a] * pstride[a];
                        ++cnt;
                    }
                }
                coff.push_back(off);
                cplus.push_back(cnt % 2 == nd % 2);
            }
            double wc = 1;
            for (auto w : window)
            {
                wc *= static_cast<double>(w);
            }
            const F W = static_cast<F>(wc);
            mean_std_result<F> res{xt::xarray<F>::from_shape(shape), xt::xarray<F>::from_shape(shape)};
            std::fill(idx.begin(), idx.end(), 0);
            for (std::size_t o = 0; o < size; ++o)
            {
                std::size_t base = 0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    base += idx[a] * pstride[a];
                }
                double s1 = cplus[0] ? i1[base] : -i1[base];
                double s2 = cplus[0] ? i2[base] : -i2[base];
                for (std::size_t c = 1; c < coff.size(); ++c)
                {
                    s1 = cplus[c] ? s1 + i1[base + coff[c]] : s1 - i1[base + coff[c]];
                    s2 = cplus[c] ? s2 + i2[base + coff[c]] : s2 - i2[base + coff[c]];
                }
                const F m = static_cast<F>(s1) / W;
                const F g2 = static_cast<F>(s2) / W;
                const F mm = no_fma(static_cast<F>(m * m));
                F v = g2 - mm;
                v = (v < F(0)) ? F(0) : v;
                res.m.data()[o] = m;
                res.s.data()[o] = std::sqrt(v);
                for (std::size_t a = nd; a-- > 0;)
                {
                    if (++idx[a] < shape[a])
                    {
                        break;
                    }
                    idx[a] = 0;
                }
            }
            return res;
        }

        /**
         * The straightforward path "over the kernels", literally scikit-image's
         * _mean_std: numpy-reflect padding, float64 integral_image of the padded
         * image and of its square (squared in F), then correlate_sparse in valid
         * mode with the (w+1)-box corner kernel. O(size) extra memory; kept as
         * the reference the band engine is tested against.
         */
        template <class F, class T>
        mean_std_result<F> mean_std_kernels(const T* data, const std::vector<std::size_t>& shape,
                                            const std::vector<std::size_t>& window)
        {
            const std::size_t nd = shape.size();
            std::vector<std::size_t> pshape(nd), istride(nd);
            std::vector<std::vector<std::ptrdiff_t>> pad(nd);
            std::size_t is = 1;
            for (std::size_t a = nd; a-- > 0;)
            {
                pshape[a] = shape[a] + window[a];
                pad[a] = pad_indices(shape[a], window[a] / 2 + 1, window[a] / 2, mode::mirror);
                istride[a] = is;
                is *= shape[a];
            }
            xt::xarray<F> padded = xt::xarray<F>::from_shape(pshape);
            std::vector<std::size_t> idx(nd, 0);
            for (std::size_t q = 0; q < padded.size(); ++q)
            {
                std::size_t src = 0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    src += static_cast<std::size_t>(pad[a][idx[a]]) * istride[a];
                }
                padded.data()[q] = static_cast<F>(data[src]);
                for (std::size_t a = nd; a-- > 0;)
                {
                    if (++idx[a] < pshape[a])
                    {
                        break;
                    }
                    idx[a] = 0;
                }
            }
            const xt::xarray<double> integral = integral_image<double>(padded);
            for (auto& v : padded)
            {
                v = no_fma(static_cast<F>(v * v));
            }
            const xt::xarray<double> integral_sq = integral_image<double>(padded);
            // corner kernel in itertools.product order, sign +1 when the number of w components has ndim's parity
            std::vector<std::size_t> kshape(nd);
            for (std::size_t a = 0; a < nd; ++a)
            {
                kshape[a] = window[a] + 1;
            }
            std::vector<std::vector<std::size_t>> kidx;
            std::vector<double> kval;
            for (std::size_t ci = 0; ci < (std::size_t(1) << nd); ++ci)
            {
                std::vector<std::size_t> k(nd, 0);
                std::size_t cnt = 0;
                for (std::size_t a = 0; a < nd; ++a)
                {
                    if ((ci >> (nd - 1 - a)) & 1u)
                    {
                        k[a] = window[a];
                        ++cnt;
                    }
                }
                kidx.push_back(k);
                kval.push_back(cnt % 2 == nd % 2 ? 1.0 : -1.0);
            }
            const sparse_kernel<double> kernel(kshape, kidx, kval);
            const auto s1 = correlate_sparse(integral, kernel, mode::valid);
            const auto s2 = correlate_sparse(integral_sq, kernel, mode::valid);
            double wc = 1;
            for (auto w : window)
            {
                wc *= static_cast<double>(w);
            }
            local_rows<F> rows(s1.size());
            rows.mean_std(s1.data(), s2.data(), s1.size(), static_cast<F>(wc));
            mean_std_result<F> res{xt::xarray<F>::from_shape(shape), xt::xarray<F>::from_shape(shape)};
            std::copy(rows.m.begin(), rows.m.begin() + static_cast<std::ptrdiff_t>(s1.size()), res.m.begin());
            std::copy(rows.s.begin(), rows.s.begin() + static_cast<std::ptrdiff_t>(s1.size()), res.s.begin());
            return res;
        }
    }  // namespace detail

    /**
     * @brief Local mean and standard deviation over an odd rectangular window.
     *
     * Pads by numpy 'reflect' (mode::mirror) with (w//2 + 1, w//2) per axis,
     * accumulates float64 integral images of the image and of its square
     * (squares rounded in the working type), and combines the 2^ndim box
     * corners (Shafait, Keysers & Breuel 2008). Computed band by band: only
     * O(window-independent padded slice) extra memory.
     * @param image any xtensor expression, any ndim, non-empty; NaN/inf
     *        propagate through the running sums exactly as in scikit-image
     *        (every window whose integral-image corners follow the NaN in
     *        memory order becomes NaN).
     * @param window one odd size per axis.
     * @param threads 0 = hardware concurrency; results do not depend on it.
     * @return mean_std_result<F> with F = float for float input, double otherwise.
     * Complexity: O(size · 2^ndim), independent of the window size.
     * Matches: `skimage.filters.thresholding._mean_std` (0.19.3) bit for bit.
     */
    template <class E>
    auto mean_std(const xt::xexpression<E>& image, const std::vector<std::size_t>& window, std::size_t threads = 1)
    {
        using T = std::decay_t<typename E::value_type>;
        using F = detail::float_working_t<T>;
        return detail::with_contiguous_input(image, "mean_std", [&](const T* data, const std::vector<std::size_t>& shape) {
            const auto w = detail::checked_window(shape, window, "mean_std");
            const auto g = detail::make_box_geometry(shape, w);
            mean_std_result<F> res{xt::xarray<F>::from_shape(shape), xt::xarray<F>::from_shape(shape)};
            detail::local_params<F> p;
            p.formula = detail::local_formula::mean_std;
            p.window_count = static_cast<F>(g.window_count);
            detail::local_threshold_into<F>(data, g, p, threads, res.m.data(), res.s.data());
            return res;
        });
    }

    /// @overload One odd window size for every axis.
    template <class E>
    auto mean_std(const xt::xexpression<E>& image, std::size_t window, std::size_t threads = 1)
    {
        return mean_std(image, detail::window_for(image, window), threads);
    }

    /**
     * @brief Sauvola local threshold `t = m · (1 + k · (s / r − 1))`.
     * @param image any ndim, non-empty; integer images are NOT rescaled.
     * @param window one odd size per axis (or one size for all, see overload).
     * @param k Sauvola's k.
     * @param r dynamic range of the standard deviation; default half the dtype
     *        range as scikit-image (uint8: 127.5, uint16: 32767.5, float: 1).
     * @param threads 0 = hardware; identical results for any count.
     * @return xt::xarray<F> (float for float32 input, double otherwise), the image's shape.
     * Complexity: O(size · 2^ndim), window-independent.
     * Matches: `skimage.filters.threshold_sauvola` (0.19.3), bit for bit.
     * Reference: Sauvola & Pietikäinen 2000; Shafait, Keysers & Breuel 2008.
     */
    template <class E>
    auto threshold_sauvola(const xt::xexpression<E>& image, const std::vector<std::size_t>& window, double k = 0.2,
                           std::optional<double> r = std::nullopt, std::size_t threads = 1)
    {
        using T = std::decay_t<typename E::value_type>;
        using F = detail::float_working_t<T>;
        detail::check_finite_param(k, "k", "threshold_sauvola");
        const double rr = r ? *r : detail::default_sauvola_r<T>();
        detail::check_finite_param(rr, "r", "threshold_sauvola");
        return detail::with_contiguous_input(image, "threshold_sauvola",
                                       [&](const T* data, const std::vector<std::size_t>& shape) {
                                           const auto w = detail::checked_window(shape, window, "threshold_sauvola");
                                           return detail::local_threshold_array<F>(
                                               data, shape, w, detail::local_formula::sauvola, k, rr, threads);
                                       });
    }

    /// @overload One odd window size for every axis.
    template <class E>
    auto threshold_sauvola(const xt::xexpression<E>& image, std::size_t window = 15, double k = 0.2,
                           std::optional<double> r = std::nullopt, std::size_t threads = 1)
    {
        return threshold_sauvola(image, detail::window_for(image, window), k, r, threads);
    }

    /**
     * @brief Niblack local threshold `t = m − k · s`.
     * @return xt::xarray<F> (float for float32 input, double otherwise).
     * Matches: `skimage.filters.threshold_niblack` (0.19.3), bit for bit.
     * Reference: Niblack 1986; Shafait, Keysers & Breuel 2008.
     */
    template <class E>
    auto threshold_niblack(const xt::xexpression<E>& image, const std::vector<std::size_t>& window, double k = 0.2,
                           std::size_t threads = 1)
    {
        using T = std::decay_t<typename E::value_type>;
        using F = detail::float_working_t<T>;
        detail::check_finite_param(k, "k", "threshold_niblack");
        return detail::with_contiguous_input(image, "threshold_niblack",
                                       [&](const T* data, const std::vector<std::size_t>& shape) {
                                           const auto w = detail::checked_window(shape, window, "threshold_niblack");
                                           return detail::local_threshold_array<F>(
                                               data, shape, w, detail::local_formula::niblack, k, 1.0, threads);
                                       });
    }

    /// @overload One odd window size for every axis.
    template <class E>
    auto threshold_niblack(const xt::xexpression<E>& image, std::size_t window = 15, double k = 0.2,
                           std::size_t threads = 1)
    {
        return threshold_niblack(image, detail::window_for(image, window), k, threads);
    }

    /**
     * @brief Sauvola threshold array written into a caller's buffer (band path,
     *        no temporaries beyond O(padded row) per thread).
     * @param data contiguous row-major image, `shape` its extents.
     * @param out  `size` values of the working type (float for float input, else double).
     */
    template <class T>
    void threshold_sauvola_into(const T* data, const std::vector<std::size_t>& shape,
                                detail::float_working_t<T>* out, const std::vector<std::size_t>& window,
                                double k = 0.2, std::optional<double> r = std::nullopt, std::size_t threads = 1)
    {
        using F = detail::float_working_t<T>;
        const auto sh = detail::checked_shape(shape, "threshold_sauvola");
        const auto w = detail::checked_window(sh, window, "threshold_sauvola");
        detail::check_finite_param(k, "k", "threshold_sauvola");
        const double rr = r ? *r : detail::default_sauvola_r<T>();
        detail::check_finite_param(rr, "r", "threshold_sauvola");
        const auto g = detail::make_box_geometry(sh, w);
        detail::local_threshold_into<F>(data, g, detail::make_local_params<F, T>(detail::local_formula::sauvola, g, k, rr),
                                        threads, out, nullptr);
    }

    /// Niblack counterpart of threshold_sauvola_into().
    template <class T>
    void threshold_niblack_into(const T* data, const std::vector<std::size_t>& shape,
                                detail::float_working_t<T>* out, const std::vector<std::size_t>& window,
                                double k = 0.2, std::size_t threads = 1)
    {
        using F = detail::float_working_t<T>;
        const auto sh = detail::checked_shape(shape, "threshold_niblack");
        const auto w = detail::checked_window(sh, window, "threshold_niblack");
        detail::check_finite_param(k, "k", "threshold_niblack");
        const auto g = detail::make_box_geometry(sh, w);
        detail::local_threshold_into<F>(data, g, detail::make_local_params<F, T>(detail::local_formula::niblack, g, k, 1.0),
                                        threads, out, nullptr);
    }

    /**
     * @brief Sauvola mask `image > threshold_sauvola(image, window, k, r)` written
     *        into a caller's buffer, through the fused band path (t is never
     *        materialised; O(padded row) memory per thread).
     * @param data contiguous row-major image, `shape` its extents.
     * @param out  `size` bytes, receives 0/1.
     */
    template <class T>
    void threshold_sauvola_mask_into(const T* data, const std::vector<std::size_t>& shape, std::uint8_t* out,
                                     const std::vector<std::size_t>& window, double k = 0.2,
                                     std::optional<double> r = std::nullopt, std::size_t threads = 1)
    {
        using F = detail::float_working_t<T>;
        const auto sh = detail::checked_shape(shape, "threshold_sauvola_mask");
        const auto w = detail::checked_window(sh, window, "threshold_sauvola_mask");
        detail::check_finite_param(k, "k", "threshold_sauvola_mask");
        const double rr = r ? *r : detail::default_sauvola_r<T>();
        detail::check_finite_param(rr, "r", "threshold_sauvola_mask");
        detail::local_mask_checked<F>(data, sh, w, detail::local_formula::sauvola, k, rr, threads, out);
    }

    /// Niblack counterpart of threshold_sauvola_mask_into().
    template <class T>
    void threshold_niblack_mask_into(const T* data, const std::vector<std::size_t>& shape, std::uint8_t* out,
                                     const std::vector<std::size_t>& window, double k = 0.2, std::size_t threads = 1)
    {
        using F = detail::float_working_t<T>;
        const auto sh = detail::checked_shape(shape, "threshold_niblack_mask");
        const auto w = detail::checked_window(sh, window, "threshold_niblack_mask");
        detail::check_finite_param(k, "k", "threshold_niblack_mask");
        detail::local_mask_checked<F>(data, sh, w, detail::local_formula::niblack, k, 1.0, threads, out);
    }

    /**
     * @brief Sauvola mask (uint8 0/1, `image > t`), fused band path.
     * @param threads 0 = hardware concurrency; the mask is identical for any count.
     * Matches: `image > skimage.filters.threshold_sauvola(image, window, k, r)`.
     */
    template <class E>
    xt::xarray<std::uint8_t> threshold_sauvola_mask(const xt::xexpression<E>& image,
                                                    const std::vector<std::size_t>& window, double k = 0.2,
                                                    std::optional<double> r = std::nullopt, std::size_t threads = 1)
    {
        using T = std::decay_t<typename E::value_type>;
        return detail::with_contiguous_input(image, "threshold_sauvola_mask",
                                       [&](const T* data, const std::vector<std::size_t>& shape) {
                                           xt::xarray<std::uint8_t> out = xt::xarray<std::uint8_t>::from_shape(shape);
                                           threshold_sauvola_mask_into(data, shape, out.data(), window, k, r, threads);
                                           return out;
                                       });
    }

    /// @overload One odd window size for every axis.
    template <class E>
    xt::xarray<std::uint8_t> threshold_sauvola_mask(const xt::xexpression<E>& image, std::size_t window = 15,
                                                    double k = 0.2, std::optional<double> r = std::nullopt,
                                                    std::size_t threads = 1)
    {
        return threshold_sauvola_mask(image, detail::window_for(image, window), k, r, threads);
    }

    /// Niblack mask (uint8 0/1, `image > t`), fused band path.
    template <class E>
    xt::xarray<std::uint8_t> threshold_niblack_mask(const xt::xexpression<E>& image,
                                                    const std::vector<std::size_t>& window, double k = 0.2,
                                                    std::size_t threads = 1)
    {
        using T = std::decay_t<typename E::value_type>;
        return detail::with_contiguous_input(image, "threshold_niblack_mask",
                                       [&](const T* data, const std::vector<std::size_t>& shape) {
                                           xt::xarray<std::uint8_t> out = xt::xarray<std::uint8_t>::from_shape(shape);
                                           threshold_niblack_mask_into(data, shape, out.data(), window, k, threads);
                                           return out;
                                       });
    }

    /// @overload One odd window size for every axis.
    template <class E>
    xt::xarray<std::uint8_t> threshold_niblack_mask(const xt::xexpression<E>& image, std::size_t window = 15,
                                                    double k = 0.2, std::size_t threads = 1)
    {
        return threshold_niblack_mask(image, detail::window_for(image, window), k, threads);
    }
    namespace detail
    {
        /// Otsu's criterion `w1[i]·w2[i+1]·(m1[i] − m2[i+1])²` maximised over i, first maximum
        /// (as `np.argmax` in skimage.filters.threshold_otsu).
        inline std::size_t otsu_best_index(const std::vector<std::int64_t>& w1, const std::vector<std::int64_t>& w2,
                                           const std::vector<double>& m1, const std::vector<double>& m2)
        {
            const std::size_t nb = w1.size();
            std::size_t best = 0;
            double best_v = 0;
            for (std::size_t i = 0; i + 1 < nb; ++i)
            {
                const double diff = m1[i] - m2[i + 1];
                const double d2 = no_fma(diff * diff);
                const double v = static_cast<double>(w1[i] * w2[i + 1]) * d2;
                if (i == 0 || v > best_v)
                {
                    best_v = v;
                    best = i;
                }
            }
            return best;
        }

        template <class T>
        double otsu_integer(const T* d, std::size_t n)
        {
            T mn = d[0];
            T mx = d[0];
            for (std::size_t i = 1; i < n; ++i)
            {
                mn = std::min(mn, d[i]);
                mx = std::max(mx, d[i]);
            }
            if (mn == mx)
            {
                return static_cast<double>(mn);
            }
            const double range = static_cast<double>(mx) - static_cast<double>(mn);
            if (range >= static_cast<double>(std::size_t(1) << 28))
            {
                throw std::invalid_argument("xskan::threshold_otsu: integer image spans " + std::to_string(range + 1) +
                                            " values; scikit-image uses one histogram bin per integer value, at most "
                                            "2^28 bins are supported (convert to float for a 256-bin histogram)");
            }
            const std::size_t nb = static_cast<std::size_t>(range) + 1;
            std::vector<std::int64_t> counts(nb, 0);
            for (std::size_t i = 0; i < n; ++i)
            {
                ++counts[static_cast<std::size_t>(static_cast<std::int64_t>(d[i]) - static_cast<std::int64_t>(mn))];
            }
            const std::int64_t base = static_cast<std::int64_t>(mn);
            // numpy: int64 cumsums; mean = float64(csum) / float64(weight)
            std::vector<std::int64_t> w1(nb), w2(nb);
            std::vector<double> m1(nb), m2(nb);
            std::int64_t cw = 0;
            std::int64_t cs = 0;
            for (std::size_t i = 0; i < nb; ++i)
            {
                cw += counts[i];
                cs += counts[i] * (base + static_cast<std::int64_t>(i));
                w1[i] = cw;
                m1[i] = static_cast<double>(cs) / static_cast<double>(cw);
            }
            cw = 0;
            cs = 0;
            for (std::size_t i = nb; i-- > 0;)
            {
                cw += counts[i];
                cs += counts[i] * (base + static_cast<std::int64_t>(i));
                w2[i] = cw;
                m2[i] = static_cast<double>(cs) / static_cast<double>(cw);
            }
            const std::size_t best = otsu_best_index(w1, w2, m1, m2);
            return static_cast<double>(base + static_cast<std::int64_t>(best));
        }

        template <class T>
        double otsu_float(const T* d, std::size_t n)
        {
            using F = std::conditional_t<std::is_same<T, float>::value, float, double>;
            for (std::size_t i = 0; i < n; ++i)
            {
                if (!std::isfinite(static_cast<double>(d[i])))
                {
                    throw std::invalid_argument(
                        "xskan::threshold_otsu: image contains NaN or infinity (the histogram range must be finite)");
                }
            }
            const F first = static_cast<F>(d[0]);
            F mn = first;
            F mx = first;
            bool constant = true;
            for (std::size_t i = 1; i < n; ++i)
            {
                const F x = static_cast<F>(d[i]);
                constant = constant && (x == first);
                mn = std::min(mn, x);
                mx = std::max(mx, x);
            }
            if (constant)
            {
                return static_cast<double>(first);
            }
            constexpr std::size_t nb = 256;
            // np.linspace(mn, mx, 257): i * step + mn, last edge = mx
            std::vector<F> edges(nb + 1);
            const F step = static_cast<F>((mx - mn) / static_cast<F>(nb));
            for (std::size_t i = 0; i < nb; ++i)
            {
                edges[i] = no_fma(static_cast<F>(static_cast<F>(i) * step)) + mn;
            }
            edges[nb] = mx;
            const F norm = static_cast<F>(static_cast<F>(nb) / (mx - mn));
            std::vector<std::int64_t> counts(nb, 0);
            for (std::size_t i = 0; i < n; ++i)
            {
                const F x = static_cast<F>(d[i]);
                const F f = (x - mn) * norm;
                std::ptrdiff_t idx = static_cast<std::ptrdiff_t>(f);
                if (idx >= static_cast<std::ptrdiff_t>(nb))
                {
                    idx = nb - 1;
                }
                if (idx < 0)
                {
                    idx = 0;
                }
                if (x < edges[static_cast<std::size_t>(idx)])
                {
                    --idx;
                }
                if (x >= edges[static_cast<std::size_t>(idx) + 1] && idx != static_cast<std::ptrdiff_t>(nb - 1))
                {
                    ++idx;
                }
                ++counts[static_cast<std::size_t>(idx)];
            }
            std::vector<double> centres(nb);
            for (std::size_t i = 0; i < nb; ++i)
            {
                centres[i] = static_cast<double>(static_cast<F>((edges[i] + edges[i + 1]) / F(2)));
            }
            std::vector<std::int64_t> w1(nb), w2(nb);
            std::vector<double> m1(nb), m2(nb);
            std::int64_t cw = 0;
            double cs = 0;
            for (std::size_t i = 0; i < nb; ++i)
            {
                cw += counts[i];
                const double prod = no_fma(static_cast<double>(counts[i]) * centres[i]);
                cs = (i == 0) ? prod : cs + prod;
                w1[i] = cw;
                m1[i] = cs / static_cast<double>(cw);
            }
            cw = 0;
            cs = 0;
            for (std::size_t i = nb; i-- > 0;)
            {
                cw += counts[i];
                const double prod = no_fma(static_cast<double>(counts[i]) * centres[i]);
                cs = (i == nb - 1) ? prod : cs + prod;
                w2[i] = cw;
                m2[i] = cs / static_cast<double>(cw);
            }
            const std::size_t best = otsu_best_index(w1, w2, m1, m2);
            return centres[best];
        }

        /// skan.pre.hyperball(ndim, radius): offsets (relative to the centre) of the ball, C order.
        inline std::vector<std::vector<std::ptrdiff_t>> hyperball_offsets(std::size_t ndim, std::size_t radius)
        {
            std::vector<std::vector<std::ptrdiff_t>> out;
            const std::ptrdiff_t r = static_cast<std::ptrdiff_t>(radius);
            std::vector<std::ptrdiff_t> o(ndim, -r);
            bool done = false;
            while (!done)
            {
                std::ptrdiff_t d2 = 0;
                for (auto v : o)
                {
                    d2 += v * v;
                }
                if (d2 <= r * r)
                {
                    out.push_back(o);
                }
                done = true;
                for (std::size_t a = ndim; a-- > 0;)
                {
                    if (++o[a] <= r)
                    {
                        done = false;
                        break;
                    }
                    o[a] = -r;
                }
            }
            return out;
        }

        /// scipy.ndimage.median_filter(image, footprint=hyperball(ndim, radius)), mode 'reflect'.
        template <class T>
        std::vector<T> median_ball(const T* data, const std::vector<std::size_t>& shape, std::size_t radius)
        {
            const std::size_t nd = shape.size();
            if (radius > (std::size_t(1) << 16))
            {
                throw std::invalid_argument("xskan::threshold: median radius " + std::to_string(radius) +
                                            " is too large (at most 65536)");
            }
            const auto ball = hyperball_offsets(nd, radius);
            std::vector<std::vector<std::ptrdiff_t>> pad(nd);
            std::vector<std::size_t> stride(nd);
            std::size_t s = 1;
            for (std::size_t a = nd; a-- > 0;)
            {
                pad[a] = pad_indices(shape[a], radius, radius, mode::reflect);
                stride[a] = s;
                s *= shape[a];
            }
            const std::size_t size = s;
            std::vector<T> out(size);
            std::vector<T> buf(ball.size());
            std::vector<std::size_t> idx(nd, 0);
            const std::size_t rank = ball.size() / 2;
            for (std::size_t o = 0; o < size; ++o)
            {
                for (std::size_t b = 0; b < ball.size(); ++b)
                {
                    std::size_t src = 0;
                    for (std::size_t a = 0; a < nd; ++a)
                    {
                        const std::size_t p = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(idx[a] + radius) + ball[b][a]);
                        src += static_cast<std::size_t>(pad[a][p]) * stride[a];
                    }
                    buf[b] = data[src];
                }
                std::nth_element(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(rank), buf.end());
                out[o] = buf[rank];
                for (std::size_t a = nd; a-- > 0;)
                {
                    if (++idx[a] < shape[a])
                    {
                        break;
                    }
                    idx[a] = 0;
                }
            }
            return out;
        }

        template <class T>
        xt::xarray<std::uint8_t> threshold_contiguous(const T* data, const std::vector<std::size_t>& shape,
                                                      const threshold_options& opts)
        {
            using F = float_working_t<T>;
            std::size_t n = 1;
            for (auto v : shape)
            {
                n *= v;
            }
            xt::xarray<std::uint8_t> out = xt::xarray<std::uint8_t>::from_shape(shape);
            if (opts.radius == 0)
            {
                double t = 0;
                if constexpr (std::is_floating_point<T>::value)
                {
                    t = otsu_float(data, n);
                }
                else
                {
                    t = otsu_integer(data, n);
                }
                t += opts.offset;
                for (std::size_t i = 0; i < n; ++i)
                {
                    out.data()[i] = static_cast<std::uint8_t>(static_cast<double>(data[i]) > t);
                }
                return out;
            }
            if (opts.radius > (max_window_extent - 1) / 2)
            {
                throw std::invalid_argument("xskan::threshold: radius " + std::to_string(opts.radius) + " is too large");
            }
            const std::vector<std::size_t> window(shape.size(), 2 * opts.radius + 1);
            switch (opts.method)
            {
                case threshold_method::sauvola:
                    threshold_sauvola_mask_into(data, shape, out.data(), window, opts.offset, std::nullopt,
                                                opts.threads);
                    break;
                case threshold_method::niblack:
                    threshold_niblack_mask_into(data, shape, out.data(), window, opts.offset, opts.threads);
                    break;
                case threshold_method::median:
                {
                    if constexpr (std::is_floating_point<T>::value)
                    {
                        for (std::size_t i = 0; i < n; ++i)
                        {
                            if (std::isnan(data[i]))
                            {
                                throw std::invalid_argument(
                                    "xskan::threshold: the median method does not accept NaN pixels");
                            }
                        }
                    }
                    const auto med = median_ball(data, shape, opts.radius);
                    const F off = static_cast<F>(opts.offset);
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        const F t = static_cast<F>(med[i]) + off;
                        out.data()[i] = static_cast<std::uint8_t>(static_cast<F>(data[i]) > t);
                    }
                    break;
                }
            }
            return out;
        }
    }  // namespace detail

    /**
     * @brief Otsu's global threshold with scikit-image's 256-bin histogram.
     *
     * Integer images: one bin per integer from min to max (bin centres are
     * those integers); float images: 256 equal bins over [min, max] exactly as
     * `np.histogram`, centres = edge midpoints. Threshold = centre of the first
     * maximum of the between-class variance. A constant image returns its value.
     * @throws std::invalid_argument for an empty image, NaN/inf pixels, or an
     *         integer image spanning more than 2^28 values.
     * Complexity: O(size + bins).
     * Matches: `skimage.filters.threshold_otsu(image, nbins=256)` (0.19.3);
     * float32 images are binned in float32 like numpy (not covered by goldens).
     * Reference: Otsu 1979.
     */
    template <class E>
    double threshold_otsu(const xt::xexpression<E>& image)
    {
        using T = std::decay_t<typename E::value_type>;
        return detail::with_contiguous_input(image, "threshold_otsu", [&](const T* data, const std::vector<std::size_t>& shape) {
            std::size_t n = 1;
            for (auto v : shape)
            {
                n *= v;
            }
            if constexpr (std::is_floating_point<T>::value)
            {
                return detail::otsu_float(data, n);
            }
            else
            {
                return detail::otsu_integer(data, n);
            }
        });
    }

    /**
     * @brief skan's `pre.threshold`: optional Gaussian smoothing, then a global
     *        Otsu threshold (radius 0) or a local Sauvola / Niblack / median
     *        threshold, and the mask `image > t`.
     *
     * - `sigma > 0`: `image = gaussian(image, sigma)` (scikit-image defaults:
     *   integer images scaled to [0, 1], mode nearest, truncate 4).
     * - `radius == 0`: `t = threshold_otsu(image) + offset`.
     * - sauvola / niblack: window `2·radius + 1`, **k = offset** (as skan; r default).
     * - median: `t = median over hyperball(ndim, radius)` (scipy mode reflect) `+ offset`.
     * @return uint8 0/1 mask with the image's shape.
     * @throws std::invalid_argument for empty images, negative/NaN sigma,
     *         NaN pixels with Otsu or median.
     * Complexity: Sauvola/Niblack O(size); median O(size · ball size).
     * Matches: `skan.pre.threshold` (v0.13.1, smooth_method 'Gaussian'). Deliberate
     * difference: an (M, N, 3) image is a 3-D volume here, not RGB.
     */
    template <class E>
    xt::xarray<std::uint8_t> threshold(const xt::xexpression<E>& image, const threshold_options& opts = {})
    {
        using T = std::decay_t<typename E::value_type>;
        if (std::isnan(opts.sigma) || opts.sigma < 0)
        {
            throw std::invalid_argument("xskan::threshold: sigma must be >= 0 (got " + std::to_string(opts.sigma) + ")");
        }
        detail::check_finite_param(opts.offset, "offset", "threshold");
        if (opts.sigma > 0)
        {
            auto smoothed = gaussian(image, opts.sigma);
            using S = typename decltype(smoothed)::value_type;
            return detail::threshold_contiguous<S>(smoothed.data(),
                                                   detail::checked_shape(smoothed.shape(), "threshold"), opts);
        }
        return detail::with_contiguous_input(image, "threshold", [&](const T* data, const std::vector<std::size_t>& shape) {
            return detail::threshold_contiguous<T>(data, shape, opts);
        });
    }
}  // namespace xskan

#endif
