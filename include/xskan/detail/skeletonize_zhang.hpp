/**
 * @file detail/skeletonize_zhang.hpp
 * @brief scikit-image 0.19.3's 2D two-subiteration thinning (`_fast_skeletonize`)
 *        on a bit-packed image that only revisits pixels whose neighbourhood changed.
 *
 * Reference algorithm (scikit-image `_skeletonize_cy.pyx`): pad by one
 * background pixel; repeat { for pass in (first, second): for every foreground
 * pixel compute its 8-neighbour code (NW=1, N=2, NE=4, E=8, SE=16, S=32, SW=64,
 * W=128) on the image *as it was at the start of the pass*, remove it when
 * lut[code] is 3, or 1 in the first pass, or 2 in the second } until an
 * iteration removes nothing.
 *
 * Fast version (same result): the image is stored as 64-pixel words; a pass
 * evaluates only the words holding "active" pixels A, 64 pixels at a time (4 words
 * per AVX2 register) with the table written as a Boolean circuit on the eight
 * shifted neighbour words (zhang_lut_sliced_first/second); del = A & table(this pass),
 * A' = A & table(other pass only). Invariant: every foreground pixel not
 * in A has lut value 0 for its current neighbourhood. Initially A = foreground
 * pixels with a background 8-neighbour (lut[255] = 0). After a pass with
 * deletions D, A = (3x3 dilation of D ∩ remaining foreground) ∪ (pixels
 * evaluated in this pass whose lut value asks for deletion in the other pass).
 * Each pass is split in an evaluation phase (reads the image, writes D for its
 * own rows) and an update phase (applies D, builds the next A for its own
 * rows), so rows can be shared among threads with an identical result.
 */
#ifndef XSKAN_DETAIL_SKELETONIZE_ZHANG_HPP
#define XSKAN_DETAIL_SKELETONIZE_ZHANG_HPP

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "skeletonize_bits.hpp"
#include "skeletonize_team.hpp"
#include "skeletonize_zhang_sliced.hpp"

namespace xskan
{
    namespace detail
    {
        /// scikit-image 0.19.3 `_fast_skeletonize` lookup table, indexed by the
        /// 8-neighbour code (NW=1, N=2, NE=4, E=8, SE=16, S=32, SW=64, W=128):
        /// 1 = remove in the first pass, 2 = in the second, 3 = in both, 0 = keep.
        constexpr std::uint8_t zhang_lut[256] = {
            0, 0, 0, 1, 0, 0, 1, 3, 0, 0, 3, 1, 1, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 3, 0, 3, 3,
            0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 2, 2,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 2, 0,
            0, 0, 3, 1, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            2, 3, 1, 3, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            2, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 1, 0, 0, 0, 0, 2, 2, 0, 0, 2, 0, 0, 0};

        /// Bit-packed padded image plus the per-pass bookkeeping (reusable between calls).
        /// Each bit image has `pad` zero words before and after, so the word-parallel
        /// kernels may read one word left of a row start and right of a row end.
        struct zhang_buffers
        {
            static constexpr std::size_t pad = 8;
            /// Row length unit: one SIMD register of words.
            static constexpr std::size_t lanes = xsimd::batch<std::uint64_t>::size;
            std::size_t rows = 0;  // image rows + 2
            std::size_t wpr = 0;   // words per row: padded width + at least one spare zero word, multiple of lanes
            std::vector<std::uint64_t> s_, a_, d_;
            std::vector<std::uint8_t> row_a, row_d;

            void reset(std::size_t h, std::size_t w)
            {
                rows = h + 2;
                wpr = ((w + 2 + 63) / 64 + 1 + lanes - 1) / lanes * lanes;
                const std::size_t n = rows * wpr + 2 * pad;
                s_.assign(n, 0);
                a_.assign(n, 0);
                d_.assign(n, 0);
                row_a.assign(rows, 0);
                row_d.assign(rows, 0);
            }
            /// First word of row 0 of the image / active set / deletions.
            std::uint64_t* s() noexcept { return s_.data() + pad; }
            std::uint64_t* a() noexcept { return a_.data() + pad; }
            std::uint64_t* d() noexcept { return d_.data() + pad; }
        };

        /**
         * @brief Word-parallel evaluation of one pass on words [w0, w1) of a row:
         *        del = act & (table asks for removal in this pass), keep = act & (only in the other).
         * @tparam Pass 1 or 2.
         * @tparam V `std::uint64_t` or an xsimd batch of `std::uint64_t`; `load(p)` reads a V at p.
         */
        template <unsigned Pass, class V>
        inline void zhang_sliced_word(const V& ul, const V& u, const V& ur, const V& ml, const V& m, const V& mr,
                                      const V& dl, const V& d, const V& dr, const V& act, V& del, V& keep) noexcept
        {
            // Pixel c of the word sits at bit c; its west neighbour is bit c-1 (shift left).
            const V nw = (u << 1) | (ul >> 63);
            const V ne = (u >> 1) | (ur << 63);
            const V w = (m << 1) | (ml >> 63);
            const V e = (m >> 1) | (mr << 63);
            const V sw = (d << 1) | (dl >> 63);
            const V se = (d >> 1) | (dr << 63);
            V remove, other;
            if (Pass == 1)
            {
                zhang_lut_sliced_first(nw, u, ne, e, se, d, sw, w, remove, other);
            }
            else
            {
                zhang_lut_sliced_second(nw, u, ne, e, se, d, sw, w, remove, other);
            }
            del = act & remove;
            keep = act & other;
        }

        /// Word-parallel evaluation of a whole row (see zhang_thin); returns whether anything is
        /// deleted and sets `any_keep`. `wpr` is a multiple of zhang_buffers::lanes; `up/mid/dn`
        /// may be read at [-1, wpr]; `dr` must be zero (words without active pixels are skipped).
        template <unsigned Pass>
        inline bool zhang_sliced_row(const std::uint64_t* up, const std::uint64_t* mid, const std::uint64_t* dn,
                                     std::uint64_t* ar, std::uint64_t* dr, std::size_t wpr, bool& any_keep) noexcept
        {
            using batch = xsimd::batch<std::uint64_t>;
            constexpr std::size_t L = batch::size;
            const batch zero(std::uint64_t(0));
            batch bd = zero, bk = zero;
            for (std::size_t w = 0; w < wpr; w += L)
            {
                const batch act = batch::load_unaligned(ar + w);
                if (!xsimd::any(act != zero))
                {
                    continue;  // D is already zero here, A stays empty
                }
                batch del, keep;
                zhang_sliced_word<Pass>(batch::load_unaligned(up + w - 1), batch::load_unaligned(up + w),
                                        batch::load_unaligned(up + w + 1), batch::load_unaligned(mid + w - 1),
                                        batch::load_unaligned(mid + w), batch::load_unaligned(mid + w + 1),
                                        batch::load_unaligned(dn + w - 1), batch::load_unaligned(dn + w),
                                        batch::load_unaligned(dn + w + 1), act, del, keep);
                del.store_unaligned(dr + w);
                keep.store_unaligned(ar + w);
                bd = bd | del;
                bk = bk | keep;
            }
            any_keep = xsimd::any(bk != zero);
            return xsimd::any(bd != zero);
        }

        /// Applies the deletions of rows r-1..r+1 to row r: S &= ~D, A |= dilate3x3(D) & S.
        /// `wpr` is a multiple of zhang_buffers::lanes; `du/dm/dd` may be read at [-1, wpr];
        /// returns whether row r of A is non-empty.
        inline bool zhang_update_row(const std::uint64_t* du, const std::uint64_t* dm, const std::uint64_t* dd,
                                     std::uint64_t* sr, std::uint64_t* ar, std::size_t wpr) noexcept
        {
            using batch = xsimd::batch<std::uint64_t>;
            constexpr std::size_t L = batch::size;
            const batch zero(std::uint64_t(0));
            batch any = zero;
            for (std::size_t w = 0; w < wpr; w += L)
            {
                const batch l = batch::load_unaligned(du + w - 1) | batch::load_unaligned(dm + w - 1) |
                                batch::load_unaligned(dd + w - 1);
                const batch dmid = batch::load_unaligned(dm + w);
                const batch v = batch::load_unaligned(du + w) | dmid | batch::load_unaligned(dd + w);
                const batch r = batch::load_unaligned(du + w + 1) | batch::load_unaligned(dm + w + 1) |
                                batch::load_unaligned(dd + w + 1);
                const batch dil = v | (v << 1) | (l >> 63) | (v >> 1) | (r << 63);
                const batch s_new = batch::load_unaligned(sr + w) & ~dmid;
                const batch a_new = batch::load_unaligned(ar + w) | (dil & s_new);
                s_new.store_unaligned(sr + w);
                a_new.store_unaligned(ar + w);
                any = any | a_new;
            }
            return xsimd::any(any != zero);
        }

        /**
         * @brief Run scikit-image's 2D thinning to convergence on the packed image
         *        in `buf.s()` (padded, foreground bits set); `buf.a()`/`row_a` must be zero.
         * @param n_threads threads for the row-parallel phases (1 = sequential)
         */
        inline void zhang_thin(zhang_buffers& buf, std::size_t n_threads)
        {
            const std::size_t rows = buf.rows;
            const std::size_t wpr = buf.wpr;
            std::uint64_t* S = buf.s();
            std::uint64_t* A = buf.a();
            std::uint64_t* D = buf.d();
            std::uint8_t* row_a = buf.row_a.data();
            std::uint8_t* row_d = buf.row_d.data();
            const std::size_t inner_rows = rows - 2;
            if (inner_rows == 0)
            {
                return;
            }

            // Initial active set: foreground pixels that are not interior (3x3 all set).
            for (std::size_t r = 1; r + 1 < rows; ++r)
            {
                const std::uint64_t* up = S + (r - 1) * wpr;
                const std::uint64_t* mid = S + r * wpr;
                const std::uint64_t* dn = S + (r + 1) * wpr;
                std::uint64_t* ar = A + r * wpr;
                std::uint64_t any = 0;
                std::uint64_t prev_v = 0;
                std::uint64_t v = up[0] & mid[0] & dn[0];
                for (std::size_t w = 0; w < wpr; ++w)
                {
                    const std::uint64_t next_v = (w + 1 < wpr) ? (up[w + 1] & mid[w + 1] & dn[w + 1]) : 0;
                    const std::uint64_t left = (v << 1) | (prev_v >> 63);    // pixel c-1 at bit c
                    const std::uint64_t right = (v >> 1) | (next_v << 63);   // pixel c+1 at bit c
                    const std::uint64_t interior = v & left & right;
                    ar[w] = mid[w] & ~interior;
                    any |= ar[w];
                    prev_v = v;
                    v = next_v;
                }
                row_a[r] = any != 0;
            }

            // Row bands: a band per thread; small passes run on the calling thread only.
            const std::size_t max_threads = std::max<std::size_t>(1, std::min(n_threads, inner_rows / 64));
            auto evaluate_rows = [&](std::size_t r0, std::size_t r1, unsigned pass_type) -> std::size_t {
                std::size_t removed = 0;
                for (std::size_t r = r0; r < r1; ++r)
                {
                    std::uint64_t* dr = D + r * wpr;
                    if (row_d[r])
                    {
                        std::fill(dr, dr + wpr, std::uint64_t(0));
                        row_d[r] = 0;
                    }
                    if (!row_a[r])
                    {
                        continue;
                    }
                    const std::uint64_t* mid = S + r * wpr;
                    std::uint64_t* ar = A + r * wpr;
                    bool any_keep = false;
                    const bool any_d = pass_type == 1
                                           ? zhang_sliced_row<1>(mid - wpr, mid, mid + wpr, ar, dr, wpr, any_keep)
                                           : zhang_sliced_row<2>(mid - wpr, mid, mid + wpr, ar, dr, wpr, any_keep);
                    row_a[r] = any_keep;
                    row_d[r] = any_d;
                    removed += any_d;
                }
                return removed;
            };

            auto update_rows = [&](std::size_t r0, std::size_t r1) {
                for (std::size_t r = r0; r < r1; ++r)
                {
                    if (row_d[r - 1] | row_d[r] | row_d[r + 1])
                    {
                        const std::uint64_t* dm = D + r * wpr;
                        row_a[r] = zhang_update_row(dm - wpr, dm, dm + wpr, S + r * wpr, A + r * wpr, wpr);
                    }
                }
            };

            std::unique_ptr<skel_team> team;  // started at the first parallel pass
            bool removed_in_iteration = true;
            while (removed_in_iteration)
            {
                removed_in_iteration = false;
                for (unsigned pass_type = 1; pass_type <= 2; ++pass_type)
                {
                    std::size_t active_rows = 0;
                    for (std::size_t r = 1; r + 1 < rows; ++r)
                    {
                        active_rows += row_a[r];
                    }
                    const std::size_t nt = active_rows >= 256 ? max_threads : 1;
                    std::size_t removed = 0;
                    if (nt <= 1)
                    {
                        removed = evaluate_rows(1, rows - 1, pass_type);
                        if (removed)
                        {
                            update_rows(1, rows - 1);
                        }
                    }
                    else
                    {
                        if (!team)
                        {
                            team.reset(new skel_team(nt));
                        }
                        std::vector<std::size_t> counts(nt, 0);
                        team->run([&](std::size_t t) {
                            const std::size_t r0 = 1 + inner_rows * t / nt;
                            const std::size_t r1 = 1 + inner_rows * (t + 1) / nt;
                            counts[t] = evaluate_rows(r0, r1, pass_type);
                        });
                        for (auto c : counts)
                        {
                            removed += c;
                        }
                        if (removed)
                        {
                            team->run([&](std::size_t t) {
                                const std::size_t r0 = 1 + inner_rows * t / nt;
                                const std::size_t r1 = 1 + inner_rows * (t + 1) / nt;
                                update_rows(r0, r1);
                            });
                        }
                    }
                    if (removed)
                    {
                        removed_in_iteration = true;
                    }
                }
            }
        }
    }  // namespace detail
}  // namespace xskan

#endif
