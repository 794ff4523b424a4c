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
 * evaluates only the "active" pixels A. Invariant: every foreground pixel not
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

#include "skeletonize_bits.hpp"
#include "skeletonize_team.hpp"

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

        /// The same table re-indexed by the 3x3 window read from bit rows:
        /// index = up(3 bits: W,C,E) | mid(3 bits) << 3 | down(3 bits) << 6 (centre ignored).
        struct zhang_window_table
        {
            std::uint8_t v[512];
            constexpr zhang_window_table()
                : v{}
            {
                for (int i = 0; i < 512; ++i)
                {
                    const int nw = (i >> 0) & 1, n = (i >> 1) & 1, ne = (i >> 2) & 1;
                    const int w = (i >> 3) & 1, e = (i >> 5) & 1;
                    const int sw = (i >> 6) & 1, s = (i >> 7) & 1, se = (i >> 8) & 1;
                    const int code = nw + 2 * n + 4 * ne + 8 * e + 16 * se + 32 * s + 64 * sw + 128 * w;
                    v[i] = zhang_lut[code];
                }
            }
        };

        /// Per pass (0: first, 1: second) and 3x3 window: bit 0 = delete now, bit 1 = the
        /// look-up asks for deletion in the other pass (keep the pixel active).
        struct zhang_action_table
        {
            std::uint8_t v[2][512];
            constexpr zhang_action_table()
                : v{}
            {
                constexpr zhang_window_table t{};
                for (int i = 0; i < 512; ++i)
                {
                    const int val = t.v[i];
                    v[0][i] = static_cast<std::uint8_t>((val == 1 || val == 3) ? 1 : (val == 2 ? 2 : 0));
                    v[1][i] = static_cast<std::uint8_t>((val == 2 || val == 3) ? 1 : (val == 1 ? 2 : 0));
                }
            }
        };

        /// Bit-packed padded image plus the per-pass bookkeeping (reusable between calls).
        struct zhang_buffers
        {
            std::size_t rows = 0;  // image rows + 2
            std::size_t wpr = 0;   // words per row (padded width + one spare zero word)
            std::vector<std::uint64_t> s, a, d;
            std::vector<std::uint8_t> row_a, row_d;

            void reset(std::size_t h, std::size_t w)
            {
                rows = h + 2;
                wpr = (w + 2 + 63) / 64 + 1;
                const std::size_t n = rows * wpr;
                s.assign(n, 0);
                a.assign(n, 0);
                d.assign(n, 0);
                row_a.assign(rows, 0);
                row_d.assign(rows, 0);
            }
        };

        /// 3 bits of a bit row starting at bit `pos` (pos+2 < 64 * words).
        inline unsigned zhang_get3(const std::uint64_t* row, std::size_t pos) noexcept
        {
            const std::size_t w = pos >> 6;
            const unsigned sh = static_cast<unsigned>(pos & 63u);
            std::uint64_t x = row[w] >> sh;
            if (sh > 61)
            {
                x |= row[w + 1] << (64 - sh);
            }
            return static_cast<unsigned>(x & 7u);
        }

        /**
         * @brief Run scikit-image's 2D thinning to convergence on the packed image
         *        in `buf.s` (padded, foreground bits set); `buf.a`/`row_a` must be zero.
         * @param n_threads threads for the row-parallel phases (1 = sequential)
         */
        inline void zhang_thin(zhang_buffers& buf, std::size_t n_threads)
        {
            static constexpr zhang_action_table action_table{};
            const std::size_t rows = buf.rows;
            const std::size_t wpr = buf.wpr;
            std::uint64_t* S = buf.s.data();
            std::uint64_t* A = buf.a.data();
            std::uint64_t* D = buf.d.data();
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
                    row_a[r] = 0;
                    const std::uint64_t* up = S + (r - 1) * wpr;
                    const std::uint64_t* mid = S + r * wpr;
                    const std::uint64_t* dn = S + (r + 1) * wpr;
                    std::uint64_t* ar = A + r * wpr;
                    const std::uint8_t* actions = action_table.v[pass_type - 1];
                    std::uint64_t any_d = 0, any_keep = 0;
                    for (std::size_t w = 0; w < wpr; ++w)
                    {
                        std::uint64_t act = ar[w];
                        if (!act)
                        {
                            continue;
                        }
                        std::uint64_t del = 0, keep = 0;
                        if (w > 0 && w + 1 < wpr && (act & 0x7FFFFFFFFFFFFFFEULL) == act)
                        {
                            // Bits 1..62 only: every 3-bit window lies inside word w.
                            const std::uint64_t u = up[w], c = mid[w], d = dn[w];
                            while (act)
                            {
                                const int bit = skel_ctz64(act);
                                act &= act - 1;
                                const unsigned sh = static_cast<unsigned>(bit - 1);
                                const unsigned idx = static_cast<unsigned>(((u >> sh) & 7u) | (((c >> sh) & 7u) << 3) |
                                                                           (((d >> sh) & 7u) << 6));
                                const std::uint64_t a = actions[idx];
                                del |= (a & 1u) << bit;
                                keep |= (a >> 1) << bit;
                            }
                        }
                        else
                        {
                            while (act)
                            {
                                const int bit = skel_ctz64(act);
                                act &= act - 1;
                                const std::size_t pos = (w << 6) + static_cast<std::size_t>(bit) - 1;
                                const unsigned idx =
                                    zhang_get3(up, pos) | (zhang_get3(mid, pos) << 3) | (zhang_get3(dn, pos) << 6);
                                const std::uint64_t a = actions[idx];
                                del |= (a & 1u) << bit;
                                keep |= (a >> 1) << bit;
                            }
                        }
                        dr[w] = del;
                        ar[w] = keep;
                        any_d |= del;
                        any_keep |= keep;
                        removed += static_cast<std::size_t>(del != 0);
                    }
                    row_d[r] = any_d != 0;
                    row_a[r] = any_keep != 0;
                }
                return removed;
            };

            auto update_rows = [&](std::size_t r0, std::size_t r1) {
                for (std::size_t r = r0; r < r1; ++r)
                {
                    if (!(row_d[r - 1] | row_d[r] | row_d[r + 1]))
                    {
                        continue;
                    }
                    const std::uint64_t* du = D + (r - 1) * wpr;
                    const std::uint64_t* dm = D + r * wpr;
                    const std::uint64_t* dd = D + (r + 1) * wpr;
                    std::uint64_t* sr = S + r * wpr;
                    std::uint64_t* ar = A + r * wpr;
                    std::uint64_t any = 0;
                    std::uint64_t prev_v = 0;
                    std::uint64_t v = du[0] | dm[0] | dd[0];
                    for (std::size_t w = 0; w < wpr; ++w)
                    {
                        const std::uint64_t next_v = (w + 1 < wpr) ? (du[w + 1] | dm[w + 1] | dd[w + 1]) : 0;
                        if (v | prev_v | next_v)
                        {
                            const std::uint64_t dil = v | (v << 1) | (prev_v >> 63) | (v >> 1) | (next_v << 63);
                            const std::uint64_t s_new = sr[w] & ~dm[w];
                            sr[w] = s_new;
                            ar[w] |= dil & s_new;
                        }
                        any |= ar[w];
                        prev_v = v;
                        v = next_v;
                    }
                    row_a[r] = any != 0;
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
