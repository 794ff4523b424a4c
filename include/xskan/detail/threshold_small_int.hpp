/**
 * @file detail/threshold_small_int.hpp
 * @brief Fast exact Sauvola / Niblack masks for 2-D uint8 and int8 images.
 *
 * For 8-bit pixels every window sum is an exact integer, so any summation
 * order gives scikit-image's S1 = Σx and S2 = Σx² bit for bit. This path keeps
 *  - vertical window sums per column in int32 lanes: v1 = Σ x and
 *    v2 = Σ (x − c)² with c = 128 (uint8) or 0 (int8), so that v2 ≤ w0·2^14;
 *  - horizontal window sums S = P[j + w1] − P[j] from an int32 prefix P of the
 *    reflected row (wrap-around arithmetic: the difference is exact because
 *    |S| < 2^31 whenever prod(window) ≤ 131071);
 *  - a sqrt-free float32 decision (8 lanes): with a = x − c0·m and
 *    b = c1·m (Sauvola: t = c0·m + c1·m·s, c0 = 1 − k, c1 = k/r) or b = −k
 *    (Niblack: t = m − k·s, c0 = 1), f = a|a| − b|b|·v has the sign of
 *    x − t (y ↦ y|y| is increasing and b·s = b|b|·v in that map); it is
 *    estimated in float32 from the exact S1, S2 with a rigorous bound
 *    e ≥ |f_a − f| (plus scikit-image's own float64 rounding of m, s, t,
 *    mapped through |f| ≤ |x − t|·(|a| + |b|·s)); `x > t` is decided from the
 *    sign of f_a when |f_a| ≥ e, and recomputed with scikit-image's exact
 *    float64 formula (from the exact S1, S2) otherwise (~1 pixel in 10^5).
 *    e = 0 only when m = 0 and x = 0, where f_a = 0 and t = ±0: mask 0.
 *    Niblack windows whose pixels are all zero are decided (mask 0) up front.
 *
 * Bound (u = 2^-24, X = max|x| = 255 or 128, |m − c| ≤ 128, v ≤ 2^14): the
 * centred variance estimate v_a = S2c/W − (m_a − c)² has |v_a − v| ≤
 * 3u·2^14 + 2·128·(3X + 129)u + 2u·2^14 < δv = 16u·2^15 + 1e-10 (the last
 * term covers scikit-image's float64 v); |a_a − a| ≤ 5.1u|c0||m| + u|a|;
 * b|b| = c1|c1|·m|m| to 12u relative. Hence |f_a − f| ≤ c_a·|a| + k_mm·m² + k_c
 * (see make_small_int_consts; ≥ 5 % slack, with or without FMA contraction),
 * so every decision is the same as scikit-image's, with or without AVX2, for
 * any thread count.
 */
#ifndef XSKAN_DETAIL_THRESHOLD_SMALL_INT_HPP
#define XSKAN_DETAIL_THRESHOLD_SMALL_INT_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "mean_std_band.hpp"
#include "threshold_rows.hpp"

namespace xskan
{
    namespace detail
    {
        /// True for the pixel types of the small-integer mask path.
        template <class T>
        constexpr bool is_small_int_pixel = std::is_same<T, std::uint8_t>::value || std::is_same<T, std::int8_t>::value;

        /// Largest prod(window) of the small-integer path (keeps Σ(x − c)² below 2^31).
        constexpr double small_int_max_window_count = 131071.0;

        /// Whether the small-integer mask path applies (2-D, window count, sane k and r).
        template <class T>
        bool small_int_mask_applies(const box_geometry& g, double k, double r)
        {
            if (!is_small_int_pixel<T> || g.ndim != 2 || g.window_count > small_int_max_window_count)
            {
                return false;
            }
            const double ar = std::abs(r);
            return std::abs(k) <= 1e6 && ar >= 1e-6 && ar <= 1e30;
        }

        /// Constants of the float32 sqrt-free decision and of its error bound (see the file comment).
        struct small_int_consts
        {
            float inv_w, center, c0, c1s, nk;
            float c_a, k_mm, k_c;
            std::int32_t center_w;
            bool sauvola;
        };

        inline small_int_consts make_small_int_consts(const box_geometry& g, const local_params<double>& p,
                                                      double center)
        {
            const double u = 1.0 / 16777216.0;   // 2^-24
            const double W = g.window_count;
            const double k = p.k;
            const double r = p.r;
            const double X = center == 0 ? 128.0 : 255.0;   // max |x|, max |m|
            const double smax = 130.0;                       // max s (+ slack)
            small_int_consts c{};
            c.sauvola = p.formula == local_formula::sauvola;
            c.inv_w = static_cast<float>(1.0 / W);
            c.center = static_cast<float>(center);
            c.center_w = static_cast<std::int32_t>(center * W);
            // |v_a - v| (float32 variance estimate against the exact one and scikit-image's float64 one)
            const double dv = 16 * u * 32768.0 + 1e-10;
            const double kv = (dv + 17 * u * 16400.0) * 1.05;
            const double c0 = c.sauvola ? 1.0 - k : 1.0;
            const double c1 = c.sauvola ? k / r : 0.0;
            // scikit-image's own float64 rounding of m, s, t (relative to the size of its terms)
            const double er = c.sauvola ? 1e-14 * X * (1 + std::abs(k) * (smax / std::abs(r) + 1))
                                        : 1e-14 * (X + std::abs(k) * smax);
            c.c0 = static_cast<float>(c0);
            c.c1s = static_cast<float>(c1 * std::abs(c1));
            c.nk = static_cast<float>(-k * std::abs(k));
            // e = c_a·|a| + k_mm·m² + k_c with c_a covering 8u·|a| (|a| <= amax) + 10.2u·|c0|·X + 2·er
            const double amax = X * (1 + std::abs(c0)) * 1.01 + 1;
            c.c_a = static_cast<float>((8 * u * amax + 10.2 * u * std::abs(c0) * X + 2 * er) * 1.05 + 1e-30);
            c.k_mm = static_cast<float>((kv * c1 * c1 + 60 * u * u * c0 * c0 + er * std::abs(c1) * smax) * 1.05 + 1e-30);
            c.k_c = c.sauvola ? 0.0f : static_cast<float>((kv * k * k + er * std::abs(k) * smax) * 1.05);
            return c;
        }

        /**
         * @brief Exact integer window sums + float32 estimate + exact fallback
         *        (see the file comment). One object serves all bands.
         */
        template <class T>
        class small_int_mask_engine
        {
        public:
            static constexpr std::int32_t center = std::is_same<T, std::uint8_t>::value ? 128 : 0;

            small_int_mask_engine(const T* data, const box_geometry& g, const local_params<double>& p)
                : m_data(data), m_g(g), m_p(p), m_c(make_small_int_consts(g, p, center))
            {
            }

            /// Mask of output rows [r0, r1) into out (row-major, full image).
            void run(std::size_t r0, std::size_t r1, std::uint8_t* out) const
            {
                if (r0 >= r1)
                {
                    return;
                }
                const std::size_t n = m_g.shape[1];
                const std::size_t w1 = m_g.window[1];
                const std::size_t q = n + w1;
                std::vector<std::int32_t> v1(n, 0), v2(n, 0), p1(q), p2(q), e1(q), e2(q);
                local_rows<double> exact(1);
                for (std::size_t r = r0 + 1; r <= r0 + m_g.w0; ++r)
                {
                    vertical_update(row(r), nullptr, v1.data(), v2.data(), n);
                }
                // reflection of the row ends reaches at most before (< n) columns inwards: fused path
                const bool simple = w1 / 2 + 2 <= n;
                for (std::size_t i = r0; i < r1; ++i)
                {
                    if (i > r0 && simple)
                    {
                        update_and_prefix(row(i + m_g.w0), row(i), v1.data(), v2.data(), p1.data(), p2.data(),
                                          e1.data(), e2.data());
                    }
                    else
                    {
                        if (i > r0)
                        {
                            vertical_update(row(i + m_g.w0), row(i), v1.data(), v2.data(), n);
                        }
                        horizontal_prefix(v1.data(), v2.data(), p1.data(), p2.data(), e1.data(), e2.data());
                    }
                    finish_row(p1.data(), p2.data(), m_data + i * n, out + i * n, n, exact);
                }
            }

        private:
            const T* row(std::size_t padded_row) const
            {
                return m_data + static_cast<std::size_t>(m_g.pad0[padded_row]) * m_g.shape[1];
            }

            // v1 += a − b, v2 += (a − c)² − (b − c)² over the n columns (b == nullptr: add a only).
            static void vertical_update(const T* a, const T* b, std::int32_t* v1, std::int32_t* v2, std::size_t n)
            {
                std::size_t j = 0;
#if defined(__AVX2__)
                const __m256i c2 = _mm256_set1_epi32(2 * center);
                const __m256i c1 = _mm256_set1_epi32(center);
                for (; j + 8 <= n; j += 8)
                {
                    const __m256i av = load8(a + j);
                    __m256i v1v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v1 + j));
                    __m256i v2v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v2 + j));
                    if (b)
                    {
                        const __m256i bv = load8(b + j);
                        const __m256i d = _mm256_sub_epi32(av, bv);
                        const __m256i s = _mm256_sub_epi32(_mm256_add_epi32(av, bv), c2);
                        v1v = _mm256_add_epi32(v1v, d);
                        v2v = _mm256_add_epi32(v2v, _mm256_mullo_epi32(d, s));
                    }
                    else
                    {
                        const __m256i y = _mm256_sub_epi32(av, c1);
                        v1v = _mm256_add_epi32(v1v, av);
                        v2v = _mm256_add_epi32(v2v, _mm256_mullo_epi32(y, y));
                    }
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(v1 + j), v1v);
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(v2 + j), v2v);
                }
#endif
                for (; j < n; ++j)
                {
                    const std::int32_t x = a[j];
                    const std::int32_t ya = x - center;
                    if (b)
                    {
                        const std::int32_t y = b[j];
                        const std::int32_t yb = y - center;
                        v1[j] += x - y;
                        v2[j] += ya * ya - yb * yb;
                    }
                    else
                    {
                        v1[j] += x;
                        v2[j] += ya * ya;
                    }
                }
            }

#if defined(__AVX2__)
            static __m256i load8(const T* p)
            {
                const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
                if constexpr (std::is_same<T, std::uint8_t>::value)
                {
                    return _mm256_cvtepu8_epi32(b);
                }
                else
                {
                    return _mm256_cvtepi8_epi32(b);
                }
            }
#endif

            // Inclusive prefix sums (mod 2^32) of two int32 arrays, continuing from carries.
            static void prefix2(const std::int32_t* a, const std::int32_t* b, std::size_t n, std::int32_t* pa,
                                std::int32_t* pb, std::uint32_t& ca, std::uint32_t& cb)
            {
                std::size_t j = 0;
#if defined(__AVX2__)
                __m256i va = _mm256_set1_epi32(static_cast<std::int32_t>(ca));
                __m256i vb = _mm256_set1_epi32(static_cast<std::int32_t>(cb));
                const __m256i last = _mm256_set1_epi32(7);
                for (; j + 8 <= n; j += 8)
                {
                    __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + j));
                    __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + j));
                    x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
                    y = _mm256_add_epi32(y, _mm256_slli_si256(y, 4));
                    x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
                    y = _mm256_add_epi32(y, _mm256_slli_si256(y, 8));
                    __m256i tx = _mm256_shuffle_epi32(x, 0xFF);
                    __m256i ty = _mm256_shuffle_epi32(y, 0xFF);
                    tx = _mm256_permute2x128_si256(tx, tx, 0x08);
                    ty = _mm256_permute2x128_si256(ty, ty, 0x08);
                    x = _mm256_add_epi32(x, tx);   // local prefix of the 8 values
                    y = _mm256_add_epi32(y, ty);
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pa + j), _mm256_add_epi32(x, va));
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pb + j), _mm256_add_epi32(y, vb));
                    // the carry chain is a single add per block (the total is broadcast off the chain)
                    va = _mm256_add_epi32(va, _mm256_permutevar8x32_epi32(x, last));
                    vb = _mm256_add_epi32(vb, _mm256_permutevar8x32_epi32(y, last));
                }
                ca = static_cast<std::uint32_t>(_mm256_cvtsi256_si32(va));
                cb = static_cast<std::uint32_t>(_mm256_cvtsi256_si32(vb));
#endif
                for (; j < n; ++j)
                {
                    ca += static_cast<std::uint32_t>(a[j]);
                    cb += static_cast<std::uint32_t>(b[j]);
                    pa[j] = static_cast<std::int32_t>(ca);
                    pb[j] = static_cast<std::int32_t>(cb);
                }
            }

            // P[p] = Σ_{p' ≤ p} v[pad(p')] over the q = n + w1 padded columns (numpy reflect).
            void horizontal_prefix(const std::int32_t* v1, const std::int32_t* v2, std::int32_t* p1,
                                   std::int32_t* p2, std::int32_t* e1, std::int32_t* e2) const
            {
                const std::size_t n = m_g.shape[1];
                const std::size_t q = n + m_g.window[1];
                const std::size_t before = std::min(m_g.window[1] / 2 + 1, q);
                const std::size_t mid_end = std::min(before + n, q);
                const auto& pad = m_g.pad[0];
                std::uint32_t c1 = 0;
                std::uint32_t c2 = 0;
                for (std::size_t p = 0; p < before; ++p)
                {
                    e1[p] = v1[pad[p]];
                    e2[p] = v2[pad[p]];
                }
                prefix2(e1, e2, before, p1, p2, c1, c2);
                prefix2(v1, v2, mid_end - before, p1 + before, p2 + before, c1, c2);
                for (std::size_t p = mid_end; p < q; ++p)
                {
                    e1[p] = v1[pad[p]];
                    e2[p] = v2[pad[p]];
                }
                prefix2(e1 + mid_end, e2 + mid_end, q - mid_end, p1 + mid_end, p2 + mid_end, c1, c2);
            }

            /**
             * Vertical update of the row and prefix P of its reflected copy in one sweep
             * (requires w1/2 + 2 <= n: padded column p < before reads column before − p,
             * padded column before + n + t reads column n − 2 − t). Same values as
             * vertical_update + horizontal_prefix.
             */
            void update_and_prefix(const T* a, const T* b, std::int32_t* v1, std::int32_t* v2, std::int32_t* p1,
                                   std::int32_t* p2, std::int32_t* e1, std::int32_t* e2) const
            {
                const std::size_t n = m_g.shape[1];
                const std::size_t before = m_g.window[1] / 2 + 1;
                const std::size_t after = m_g.window[1] / 2;
                const std::size_t h = std::min(n, (before + 8) / 8 * 8);
                vertical_update(a, b, v1, v2, h);
                for (std::size_t p = 0; p < before; ++p)
                {
                    e1[p] = v1[before - p];
                    e2[p] = v2[before - p];
                }
                std::uint32_t c1 = 0;
                std::uint32_t c2 = 0;
                prefix2(e1, e2, before, p1, p2, c1, c2);
                prefix2(v1, v2, h, p1 + before, p2 + before, c1, c2);
                std::size_t j = h;
#if defined(__AVX2__)
                __m256i va = _mm256_set1_epi32(static_cast<std::int32_t>(c1));
                __m256i vb = _mm256_set1_epi32(static_cast<std::int32_t>(c2));
                const __m256i c2v = _mm256_set1_epi32(2 * center);
                for (; j + 8 <= n; j += 8)
                {
                    const __m256i av = load8(a + j);
                    const __m256i bv = load8(b + j);
                    const __m256i d = _mm256_sub_epi32(av, bv);
                    const __m256i sm = _mm256_sub_epi32(_mm256_add_epi32(av, bv), c2v);
                    const __m256i x = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v1 + j)), d);
                    const __m256i y = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v2 + j)),
                                                       _mm256_mullo_epi32(d, sm));
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(v1 + j), x);
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(v2 + j), y);
                    __m256i tx;
                    __m256i ty;
                    const __m256i lx = scan8(x, tx);
                    const __m256i ly = scan8(y, ty);
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p1 + before + j), _mm256_add_epi32(lx, va));
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p2 + before + j), _mm256_add_epi32(ly, vb));
                    va = _mm256_add_epi32(va, tx);
                    vb = _mm256_add_epi32(vb, ty);
                }
                c1 = static_cast<std::uint32_t>(_mm256_cvtsi256_si32(va));
                c2 = static_cast<std::uint32_t>(_mm256_cvtsi256_si32(vb));
#endif
                if (j < n)
                {
                    vertical_update(a + j, b + j, v1 + j, v2 + j, n - j);
                    prefix2(v1 + j, v2 + j, n - j, p1 + before + j, p2 + before + j, c1, c2);
                }
                for (std::size_t t = 0; t < after; ++t)
                {
                    e1[t] = v1[n - 2 - t];
                    e2[t] = v2[n - 2 - t];
                }
                prefix2(e1, e2, after, p1 + before + n, p2 + before + n, c1, c2);
            }

#if defined(__AVX2__)
            // Inclusive prefix of 8 int32 lanes (mod 2^32); total = the sum broadcast to all lanes.
            static __m256i scan8(__m256i x, __m256i& total)
            {
                x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
                x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
                __m256i t = _mm256_shuffle_epi32(x, 0xFF);
                t = _mm256_permute2x128_si256(t, t, 0x08);
                x = _mm256_add_epi32(x, t);
                total = _mm256_permutevar8x32_epi32(x, _mm256_set1_epi32(7));
                return x;
            }
#endif

            // scikit-image's float64 decision from the exact sums.
            bool exact_decision(std::int32_t s1, std::int32_t s2c, T x, local_rows<double>& ex) const
            {
                const std::int64_t S1 = s1;
                const std::int64_t S2 = static_cast<std::int64_t>(s2c) + 2 * center * S1 -
                                        static_cast<std::int64_t>(center) * m_c.center_w;
                const double d1 = static_cast<double>(S1);
                const double d2 = static_cast<double>(S2);
                ex.mean_std(&d1, &d2, 1, m_p.window_count);
                ex.threshold(m_p, 1);
                return static_cast<double>(x) > ex.t[0];
            }

            // One pixel of the float32 sqrt-free decision (scalar twin of decide8; same bound).
            bool scalar_decision(std::int32_t s1, std::int32_t s2c, T x, local_rows<double>& ex) const
            {
                const auto& c = m_c;
                if (!c.sauvola && ((center == 0) ? (s2c == 0) : (s1 == 0)))
                {
                    return false;   // all-zero window: t = 0 and x = 0
                }
                const float m = static_cast<float>(s1) * c.inv_w;
                const float mc = m - c.center;
                const float g = static_cast<float>(s2c) * c.inv_w;
                const float v = g - mc * mc;
                const float a = static_cast<float>(x) - c.c0 * m;
                const float aa = a * std::abs(a);
                const float mm = m * m;
                const float bv = c.sauvola ? (c.c1s * (m * std::abs(m))) * v : c.nk * v;
                const float f = aa - bv;
                const float e = std::abs(a) * c.c_a + (c.k_mm * mm + c.k_c);
                if (std::abs(f) >= e)
                {
                    return f > 0;
                }
                return exact_decision(s1, s2c, x, ex);
            }

            void finish_row(const std::int32_t* p1, const std::int32_t* p2, const T* x, std::uint8_t* out,
                            std::size_t n, local_rows<double>& ex) const
            {
                const std::size_t w = m_g.window[1];
                std::size_t j = 0;
#if defined(__AVX2__)
                if (m_c.sauvola)
                {
                    j = finish_avx2<true>(p1, p2, x, out, n, ex);
                }
                else
                {
                    j = finish_avx2<false>(p1, p2, x, out, n, ex);
                }
#endif
                for (; j < n; ++j)
                {
                    const auto s1 = static_cast<std::int32_t>(static_cast<std::uint32_t>(p1[j + w]) -
                                                              static_cast<std::uint32_t>(p1[j]));
                    const auto s2 = static_cast<std::int32_t>(static_cast<std::uint32_t>(p2[j + w]) -
                                                              static_cast<std::uint32_t>(p2[j]));
                    out[j] = static_cast<std::uint8_t>(scalar_decision(s1, s2, x[j], ex));
                }
            }

#if defined(__AVX2__)
            static __m256 fmadd(__m256 a, __m256 b, __m256 c)
            {
#if defined(__FMA__)
                return _mm256_fmadd_ps(a, b, c);
#else
                return _mm256_add_ps(_mm256_mul_ps(a, b), c);
#endif
            }

            // 8 pixels: result (all-ones = x > t) and undecided lanes.
            template <bool Sauvola>
            void block8(const std::int32_t* p1, const std::int32_t* p2, const T* x, std::size_t w, __m256i& res,
                        __m256i& und) const
            {
                const __m256i s1 = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1 + w)),
                                                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1)));
                const __m256i s2 = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p2 + w)),
                                                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p2)));
                decide8<Sauvola>(s1, s2, load8(x), res, und);
            }

            /**
             * 8 pixels from their exact window sums s1 = S1, s2 = S2c and values x (int32 lanes):
             * with a = x − c0·m, f = a|a| − b|b|·v (b = (k/r)·m for Sauvola, −k for Niblack) has the
             * sign of x − t and no sqrt; |f| >= e decides (e bounds the float32 error, see
             * make_small_int_consts), otherwise the lane is undecided.
             */
            template <bool Sauvola>
            void decide8(__m256i s1, __m256i s2, __m256i xi, __m256i& res, __m256i& und) const
            {
                const auto& c = m_c;
                const __m256 sign = _mm256_set1_ps(-0.0f);
                const __m256 iw = _mm256_set1_ps(c.inv_w);
                const __m256 m = _mm256_mul_ps(_mm256_cvtepi32_ps(s1), iw);
                const __m256 mc = _mm256_sub_ps(m, _mm256_set1_ps(c.center));
                const __m256 g = _mm256_mul_ps(_mm256_cvtepi32_ps(s2), iw);
                const __m256 v = _mm256_sub_ps(g, _mm256_mul_ps(mc, mc));
                const __m256 a = _mm256_sub_ps(_mm256_cvtepi32_ps(xi), _mm256_mul_ps(_mm256_set1_ps(c.c0), m));
                const __m256 aabs = _mm256_andnot_ps(sign, a);
                const __m256 aa = _mm256_mul_ps(a, aabs);
                const __m256 mm = _mm256_mul_ps(m, m);
                __m256 bv;
                if constexpr (Sauvola)
                {
                    const __m256 msq = std::is_signed<T>::value ? _mm256_mul_ps(m, _mm256_andnot_ps(sign, m)) : mm;
                    bv = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(c.c1s), msq), v);
                }
                else
                {
                    bv = _mm256_mul_ps(_mm256_set1_ps(c.nk), v);
                }
                const __m256 f = _mm256_sub_ps(aa, bv);
                const __m256 e =
                    fmadd(aabs, _mm256_set1_ps(c.c_a), fmadd(_mm256_set1_ps(c.k_mm), mm, _mm256_set1_ps(c.k_c)));
                const __m256i pos = _mm256_castps_si256(_mm256_cmp_ps(f, _mm256_setzero_ps(), _CMP_GT_OQ));
                // e has slack over the true error, so |f| >= e decides; e == 0 only when m == 0 and x == 0,
                // where f == 0 and scikit-image's t = ±0: `x > t` is false, as f > 0 says.
                const __m256i lt = _mm256_castps_si256(_mm256_cmp_ps(_mm256_andnot_ps(sign, f), e, _CMP_LT_OQ));
                if constexpr (Sauvola)
                {
                    res = pos;
                    und = lt;
                }
                else
                {
                    const __m256i zero = (center == 0) ? _mm256_cmpeq_epi32(s2, _mm256_setzero_si256())
                                                       : _mm256_cmpeq_epi32(s1, _mm256_setzero_si256());
                    res = _mm256_andnot_si256(zero, pos);
                    und = _mm256_andnot_si256(zero, lt);
                }
            }

            template <bool Sauvola>
            std::size_t finish_avx2(const std::int32_t* p1, const std::int32_t* p2, const T* x, std::uint8_t* out,
                                    std::size_t n, local_rows<double>& ex) const
            {
                const std::size_t w = m_g.window[1];
                const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
                const __m256i one = _mm256_set1_epi8(1);
                std::size_t j = 0;
                for (; j + 32 <= n; j += 32)
                {
                    __m256i r0, r1, r2, r3, u0, u1, u2, u3;
                    block8<Sauvola>(p1 + j, p2 + j, x + j, w, r0, u0);
                    block8<Sauvola>(p1 + j + 8, p2 + j + 8, x + j + 8, w, r1, u1);
                    block8<Sauvola>(p1 + j + 16, p2 + j + 16, x + j + 16, w, r2, u2);
                    block8<Sauvola>(p1 + j + 24, p2 + j + 24, x + j + 24, w, r3, u3);
                    const __m256i r01 = _mm256_packs_epi32(r0, r1);
                    const __m256i r23 = _mm256_packs_epi32(r2, r3);
                    __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(r01, r23), order);
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j), _mm256_and_si256(bytes, one));
                    const __m256i uany = _mm256_or_si256(_mm256_or_si256(u0, u1), _mm256_or_si256(u2, u3));
                    if (!_mm256_testz_si256(uany, uany))
                    {
                        const __m256i u01 = _mm256_packs_epi32(u0, u1);
                        const __m256i u23 = _mm256_packs_epi32(u2, u3);
                        const __m256i ub = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(u01, u23), order);
                        auto bits = static_cast<std::uint32_t>(_mm256_movemask_epi8(ub));
                        while (bits)
                        {
                            const std::size_t l = j + static_cast<std::size_t>(__builtin_ctz(bits));
                            bits &= bits - 1;
                            const auto s1 = static_cast<std::int32_t>(static_cast<std::uint32_t>(p1[l + w]) -
                                                                      static_cast<std::uint32_t>(p1[l]));
                            const auto s2 = static_cast<std::int32_t>(static_cast<std::uint32_t>(p2[l + w]) -
                                                                      static_cast<std::uint32_t>(p2[l]));
                            out[l] = static_cast<std::uint8_t>(exact_decision(s1, s2, x[l], ex));
                        }
                    }
                }
                return j;
            }
#endif

            const T* m_data;
            const box_geometry& m_g;
            local_params<double> m_p;
            small_int_consts m_c;
        };

        /// Mask of a 2-D uint8/int8 image on `threads` threads (bands start at their own rows).
        template <class T>
        void small_int_mask_into(const T* data, const box_geometry& g, const local_params<double>& p,
                                 std::size_t threads, std::uint8_t* out)
        {
            small_int_mask_engine<T> engine(data, g, p);
            const std::size_t max_bands = std::max<std::size_t>(1, g.rows / 2);
            const std::size_t nt = resolve_threads(threads, max_bands);
            const auto bounds = band_bounds(g.rows, nt, 0.0);
            parallel_for(nt, nt, [&](std::size_t t) { engine.run(bounds[t], bounds[t + 1], out); });
        }
    }  // namespace detail
}  // namespace xskan

#endif
