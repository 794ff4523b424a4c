/**
 * @file detail/skeletonize_bits.hpp
 * @brief Bit helpers shared by the skeletonization kernels: popcount / count
 *        trailing zeros, packing a row of samples into bits and unpacking bits
 *        into 0/1 bytes.
 */
#ifndef XSKAN_DETAIL_SKELETONIZE_BITS_HPP
#define XSKAN_DETAIL_SKELETONIZE_BITS_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define XSKAN_SKELETONIZE_LITTLE_ENDIAN 1
#else
#define XSKAN_SKELETONIZE_LITTLE_ENDIAN 0
#endif

namespace xskan
{
    namespace detail
    {
        inline int skel_ctz64(std::uint64_t x) noexcept
        {
#if defined(__GNUC__) || defined(__clang__)
            return __builtin_ctzll(x);
#else
            int n = 0;
            while (!(x & 1u))
            {
                x >>= 1;
                ++n;
            }
            return n;
#endif
        }

        inline int skel_popcount32(std::uint32_t x) noexcept
        {
#if defined(__GNUC__) || defined(__clang__)
            return __builtin_popcount(x);
#else
            int n = 0;
            while (x)
            {
                x &= x - 1;
                ++n;
            }
            return n;
#endif
        }

        /// `true` where a sample counts as foreground: non-zero (NaN included).
        template <class T>
        inline bool skel_is_fg(const T& v) noexcept
        {
            return v != T(0);
        }

        /**
         * @brief Bits of `n <= 64` samples: bit i set iff `src[i] != 0`.
         */
        template <class T>
        inline std::uint64_t pack_nonzero_64(const T* src, std::size_t n) noexcept
        {
            std::uint64_t bits = 0;
#if defined(__SSE2__)
            if (sizeof(T) == 1 && std::is_integral<T>::value && n == 64)
            {
                // 16 bytes at a time: byte == 0 mask, inverted.
                const __m128i zero = _mm_setzero_si128();
                for (std::size_t k = 0; k < 4; ++k)
                {
                    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * k));
                    const auto z = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, zero)));
                    bits |= static_cast<std::uint64_t>(~z & 0xffffu) << (16 * k);
                }
                return bits;
            }
#endif
#if XSKAN_SKELETONIZE_LITTLE_ENDIAN
            if (sizeof(T) == 1 && std::is_integral<T>::value && n == 64)
            {
                // 8 bytes at a time: high bit of every non-zero byte, then gather.
                for (std::size_t k = 0; k < 8; ++k)
                {
                    std::uint64_t x;
                    std::memcpy(&x, reinterpret_cast<const unsigned char*>(src) + 8 * k, 8);
                    const std::uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL;
                    const std::uint64_t t = (((x & lo7) + lo7) | x) & 0x8080808080808080ULL;
                    const std::uint64_t b = ((t >> 7) * 0x0102040810204080ULL) >> 56;
                    bits |= b << (8 * k);
                }
                return bits;
            }
#endif
            for (std::size_t i = 0; i < n; ++i)
            {
                bits |= static_cast<std::uint64_t>(skel_is_fg(src[i])) << i;
            }
            return bits;
        }

        /// 0/1 bytes of the 8 bits of `b` (byte i = bit i), as a little-endian 64-bit pattern.
        struct unpack_table
        {
            std::uint64_t v[256];
            constexpr unpack_table()
                : v{}
            {
                for (int b = 0; b < 256; ++b)
                {
                    std::uint64_t x = 0;
                    for (int i = 0; i < 8; ++i)
                    {
                        x |= static_cast<std::uint64_t>((b >> i) & 1) << (8 * i);
                    }
                    v[b] = x;
                }
            }
        };

        /// Write `n <= 64` bytes `dst[i] = bit i of bits` (0 or 1).
        inline void unpack_bits_64(std::uint64_t bits, std::uint8_t* dst, std::size_t n) noexcept
        {
#if XSKAN_SKELETONIZE_LITTLE_ENDIAN
            static constexpr unpack_table table{};
            std::size_t i = 0;
            for (; i + 8 <= n; i += 8)
            {
                const std::uint64_t x = table.v[(bits >> i) & 0xffu];
                std::memcpy(dst + i, &x, 8);
            }
            for (; i < n; ++i)
            {
                dst[i] = static_cast<std::uint8_t>((bits >> i) & 1u);
            }
#else
            for (std::size_t i = 0; i < n; ++i)
            {
                dst[i] = static_cast<std::uint8_t>((bits >> i) & 1u);
            }
#endif
        }
    }  // namespace detail
}  // namespace xskan

#endif
