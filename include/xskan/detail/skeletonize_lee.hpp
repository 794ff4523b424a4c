/**
 * @file detail/skeletonize_lee.hpp
 * @brief Lee, Kashyap & Chu (1994) 3D thinning exactly as scikit-image 0.19.3's
 *        `_compute_thin_image` (`_skeletonize_3d_cy.pyx`), with candidate lists,
 *        bit-mask neighbourhood tests and cached per-voxel results.
 *
 * Reference algorithm (on a volume padded by one background voxel on every side):
 * repeat { unchanged = 0; for border in (W=4, E=3, S=2, N=1, U=5, B=6) [the
 * first four only when the padded depth is 3, i.e. a 2D image]:
 *   (1) scan the volume in raster order and collect the foreground voxels whose
 *       neighbour in that direction is background and that are not end points
 *       (exactly one 26-neighbour), are Euler invariant (Table 2 of Lee et al.,
 *       octant look-up) and simple (26-neighbours form one 26-connected
 *       component); the image is not changed while collecting;
 *   (2) visit the collected voxels in that order and delete each one that is
 *       still simple in the current (partly thinned) image;
 *   unchanged += (nothing deleted) } until unchanged == number of borders.
 *
 * Fast version (same result): only voxels with a background 6-neighbour
 * ("exposed") can ever be border points, so the scan walks a raster-sorted list
 * of exposed voxels; the direction-independent test of step (1) is cached in the
 * list entry and recomputed only when a 26-neighbour was deleted since (a
 * "dirty" bit in the voxel byte, written only in sequential phases, so the
 * collection can run on several threads); a candidate whose neighbourhood did
 * not change since its test needs no re-check. Neighbourhoods are 27-bit masks;
 * the Euler test reads eight octant tables through per-plane 2x2-square codes;
 * the simple-point test is a bit-parallel flood fill (equal to scikit-image's
 * octree labelling, which links two neighbours iff they share a 2x2x2 octant,
 * i.e. iff they are 26-adjacent; verified against a transcription in the tests).
 */
#ifndef XSKAN_DETAIL_SKELETONIZE_LEE_HPP
#define XSKAN_DETAIL_SKELETONIZE_LEE_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "parallel.hpp"
#include "skeletonize_bits.hpp"

namespace xskan
{
    namespace detail
    {
        /// Bits of a voxel byte in the working volume.
        enum : std::uint8_t
        {
            lee_fg = 1,        ///< foreground
            lee_dirty = 2,     ///< a 26-neighbour was deleted since the voxel's cached test
            lee_listed = 8     ///< in the list of exposed voxels
        };

        /// Neighbourhood bit of offset (dp, dr, dc) in {-1, 0, 1}^3; the centre is bit 13.
        constexpr int lee_bit(int dp, int dr, int dc) { return 9 * (dp + 1) + 3 * (dr + 1) + (dc + 1); }

        /// scikit-image's neighbour numbering (`get_neighborhood`): 9*(dp+1) + 3*(dc+1) + (dr+1).
        constexpr int lee_bit_from_skimage(int s) { return lee_bit(s / 9 - 1, (s % 3) - 1, (s % 9) / 3 - 1); }

        /// Euler characteristic change per octant (column δG26 of Table 2 in Lee et al. 1994),
        /// indexed by the octant's 2x2x2 sub-cube read from the 27-bit mask.
        struct lee_euler_tables
        {
            std::int8_t v[8][256];
            int base[8];
            constexpr lee_euler_tables()
                : v{}, base{}
            {
                // scikit-image LUT (odd entries; even entries are 0).
                const int arr[128] = {
                    1,  -1, -1, 1,  -3, -1, -1, 1,  -1, 1,  1,  -1, 3,  1,  1,  -1, -3, -1, 3,  1,  1,  -1,
                    3,  1,  -1, 1,  1,  -1, 3,  1,  1,  -1, -3, 3,  -1, 1,  1,  3,  -1, 1,  -1, 1,  1,  -1,
                    3,  1,  1,  -1, 1,  3,  3,  1,  5,  3,  3,  1,  -1, 1,  1,  -1, 3,  1,  1,  -1, -7, -1,
                    -1, 1,  -3, -1, -1, 1,  -1, 1,  1,  -1, 3,  1,  1,  -1, -3, -1, 3,  1,  1,  -1, 3,  1,
                    -1, 1,  1,  -1, 3,  1,  1,  -1, -3, 3,  -1, 1,  1,  3,  -1, 1,  -1, 1,  1,  -1, 3,  1,
                    1,  -1, 1,  3,  3,  1,  5,  3,  3,  1,  -1, 1,  1,  -1, 3,  1,  1,  -1};
                // Octant neighbour lists in scikit-image numbering; entry j sets bit (7 - j) of n.
                const int oct[8][7] = {{2, 1, 11, 10, 5, 4, 14},     {0, 9, 3, 12, 1, 10, 4},
                                       {8, 7, 17, 16, 5, 4, 14},     {6, 15, 7, 16, 3, 12, 4},
                                       {20, 23, 19, 22, 11, 14, 10}, {18, 21, 9, 12, 19, 22, 10},
                                       {26, 23, 17, 14, 25, 22, 16}, {24, 25, 15, 16, 21, 22, 12}};
                for (int o = 0; o < 8; ++o)
                {
                    int mp = 0, mr = 0, mc = 0;  // minimum offsets of the octant (centre included)
                    for (int j = 0; j < 7; ++j)
                    {
                        const int b = lee_bit_from_skimage(oct[o][j]);
                        const int dp = b / 9 - 1, dr = (b % 9) / 3 - 1, dc = b % 3 - 1;
                        mp = dp < mp ? dp : mp;
                        mr = dr < mr ? dr : mr;
                        mc = dc < mc ? dc : mc;
                    }
                    base[o] = lee_bit(mp, mr, mc);
                    int sub_index[7] = {};
                    for (int j = 0; j < 7; ++j)
                    {
                        const int b = lee_bit_from_skimage(oct[o][j]);
                        const int kp = b / 9 - 1 - mp, kr = (b % 9) / 3 - 1 - mr, kc = b % 3 - 1 - mc;
                        sub_index[j] = kc + 2 * kr + 4 * kp;
                    }
                    for (int sub = 0; sub < 256; ++sub)
                    {
                        int n = 1;
                        for (int j = 0; j < 7; ++j)
                        {
                            if ((sub >> sub_index[j]) & 1)
                            {
                                n |= 1 << (7 - j);
                            }
                        }
                        v[o][sub] = static_cast<std::int8_t>(arr[n >> 1]);
                    }
                }
            }
        };

        /// For each 9-bit plane of the mask (bit 3*r + c), the codes of its four 2x2
        /// squares: byte s = 2*r0 + c0 holds bits (c + 2*r) of the square at (r0, c0).
        struct lee_plane_squares
        {
            std::uint32_t v[512];
            constexpr lee_plane_squares()
                : v{}
            {
                for (int plane = 0; plane < 512; ++plane)
                {
                    std::uint32_t x = 0;
                    for (int r0 = 0; r0 < 2; ++r0)
                    {
                        for (int c0 = 0; c0 < 2; ++c0)
                        {
                            std::uint32_t q = 0;
                            for (int rr = 0; rr < 2; ++rr)
                            {
                                for (int cc = 0; cc < 2; ++cc)
                                {
                                    q |= static_cast<std::uint32_t>((plane >> (3 * (r0 + rr) + c0 + cc)) & 1)
                                         << (cc + 2 * rr);
                                }
                            }
                            x |= q << (8 * (2 * r0 + c0));
                        }
                    }
                    v[plane] = x;
                }
            }
        };

        /// The octant tables ordered by (lower plane pp, square s): index 4 * pp + s.
        struct lee_euler_by_square
        {
            std::int8_t v[8][256];
            constexpr lee_euler_by_square()
                : v{}
            {
                constexpr lee_euler_tables t{};
                for (int o = 0; o < 8; ++o)
                {
                    const int b = t.base[o];
                    const int k = 4 * (b / 9) + 2 * ((b % 9) / 3) + (b % 3);
                    for (int sub = 0; sub < 256; ++sub)
                    {
                        v[k][sub] = t.v[o][sub];
                    }
                }
            }
        };

        /// Euler invariance of deleting the centre (its octant sum of δG26 is 0).
        inline bool lee_is_euler_invariant(std::uint32_t m) noexcept
        {
            static constexpr lee_plane_squares squares{};
            static constexpr lee_euler_by_square t{};
            const std::uint32_t q0 = squares.v[m & 511u];
            const std::uint32_t q1 = squares.v[(m >> 9) & 511u];
            const std::uint32_t q2 = squares.v[(m >> 18) & 511u];
            const std::uint32_t lo = q0 | (q1 << 4);  // octants with planes 0-1, one byte each
            const std::uint32_t hi = q1 | (q2 << 4);  // octants with planes 1-2
            const int sum = t.v[0][lo & 255u] + t.v[1][(lo >> 8) & 255u] + t.v[2][(lo >> 16) & 255u] +
                            t.v[3][lo >> 24] + t.v[4][hi & 255u] + t.v[5][(hi >> 8) & 255u] +
                            t.v[6][(hi >> 16) & 255u] + t.v[7][hi >> 24];
            return sum == 0;
        }

        /// 3x3x3 dilation of a 27-bit mask (bit = 9*p + 3*r + c).
        inline std::uint32_t lee_dilate27(std::uint32_t x) noexcept
        {
            constexpr std::uint32_t col0 = 0x1249249u;        // c == 0
            constexpr std::uint32_t col2 = col0 << 2;         // c == 2
            constexpr std::uint32_t row0 = 0x1C0E07u;          // r == 0 (bits 0-2, 9-11, 18-20)
            constexpr std::uint32_t row2 = row0 << 6;         // r == 2
            constexpr std::uint32_t all = (1u << 27) - 1;
            x |= ((x << 1) & (all & ~col0)) | ((x >> 1) & (all & ~col2));
            x |= ((x << 3) & (all & ~row0)) | ((x >> 3) & (all & ~row2));
            x |= (x << 9) | (x >> 9);
            return x & all;
        }

        /// Simple point test: the 26 neighbours (centre excluded) form at most one
        /// 26-connected component (scikit-image `is_simple_point`).
        inline bool lee_is_simple(std::uint32_t m) noexcept
        {
            const std::uint32_t fg = m & ~(1u << 13);
            if (!fg)
            {
                return true;
            }
            // Seed: the lowest foreground neighbour and its foreground 26-neighbours.
            std::uint32_t comp = lee_dilate27(fg & (~fg + 1u)) & fg;
            for (;;)
            {
                // two growth steps per test of convergence (fewer unpredictable branches)
                const std::uint32_t next = lee_dilate27(lee_dilate27(comp) & fg) & fg;
                if (next == comp || next == fg)
                {
                    return next == fg;
                }
                comp = next;
            }
        }

        /// Step (1) test without the border condition.
        inline bool lee_is_deletable(std::uint32_t m) noexcept
        {
            return skel_popcount32(m) != 2 && lee_is_euler_invariant(m) && lee_is_simple(m);
        }

        /// The three foreground bits p[-1], p[0], p[1] as bits 0..2.
        inline std::uint32_t lee_load3(const std::uint8_t* p) noexcept
        {
#if XSKAN_SKELETONIZE_LITTLE_ENDIAN
            std::uint32_t x;
            std::memcpy(&x, p - 1, 4);
            return (((x & 0x010101u) * 0x10204u) >> 16) & 7u;
#else
            return static_cast<std::uint32_t>((p[-1] & 1u) | ((p[0] & 1u) << 1) | ((p[1] & 1u) << 2));
#endif
        }

        /// Set the `lee_dirty` bit of p[-1], p[0], p[1] (sequential phase only).
        inline void lee_mark_dirty3(std::uint8_t* p) noexcept
        {
#if XSKAN_SKELETONIZE_LITTLE_ENDIAN
            std::uint32_t x;
            std::memcpy(&x, p - 1, 4);
            x |= 0x00010101u * lee_dirty;
            std::memcpy(p - 1, &x, 4);
#else
            p[-1] |= lee_dirty;
            p[0] |= lee_dirty;
            p[1] |= lee_dirty;
#endif
        }

        /// An exposed voxel and its cached step-(1) test: `index << 2 | state`, so entries
        /// sort by index (std::uint64_t: volumes are far below 2^62 voxels).
        using lee_entry = std::uint64_t;
        enum : std::uint64_t
        {
            lee_entry_valid = 1,
            lee_entry_deletable = 2
        };
        inline std::size_t lee_entry_index(lee_entry e) noexcept { return static_cast<std::size_t>(e >> 2); }
        inline lee_entry lee_make_entry(std::size_t index) noexcept { return static_cast<lee_entry>(index) << 2; }

        /// Working volume (padded, one byte per voxel plus slack) and lists; reusable.
        struct lee_buffers
        {
            std::vector<std::uint8_t> v;
            std::vector<lee_entry> exposed, merged, merge_tmp, added_all;
            std::vector<lee_entry> added[6];  ///< newly exposed voxels per 6-neighbour direction (each sorted)
            std::vector<std::vector<std::size_t>> candidates, recomputed;  ///< per thread
        };

        /**
         * @brief Thin the padded volume `buf.v` of padded extents (np, nr, nc) in place
         *        (foreground = bit 0; other bits must be 0; at least 8 slack bytes after the end).
         * @param n_threads threads for the candidate collection (the re-check is sequential);
         *        the result does not depend on it.
         */
        inline void lee_thin(lee_buffers& buf, std::size_t np, std::size_t nr, std::size_t nc, std::size_t n_threads)
        {
            std::uint8_t* v = buf.v.data();
            const std::ptrdiff_t sr = static_cast<std::ptrdiff_t>(nc);
            const std::ptrdiff_t sp = static_cast<std::ptrdiff_t>(nr * nc);
            const bool flat = (np == 3);  // 2D image: planes 0 and 2 are empty

            auto neighbourhood = [v, sr, sp, flat](std::size_t idx) -> std::uint32_t {
                const std::uint8_t* c = v + idx;
                std::uint32_t m = lee_load3(c - sr) << 9;
                m |= lee_load3(c) << 12;
                m |= lee_load3(c + sr) << 15;
                if (!flat)
                {
                    m |= lee_load3(c - sp - sr);
                    m |= lee_load3(c - sp) << 3;
                    m |= lee_load3(c - sp + sr) << 6;
                    m |= lee_load3(c + sp - sr) << 18;
                    m |= lee_load3(c + sp) << 21;
                    m |= lee_load3(c + sp + sr) << 24;
                }
                return m;
            };

            // Exposed foreground voxels, raster order.
            auto& exposed = buf.exposed;
            exposed.clear();
            for (std::size_t p = 1; p + 1 < np; ++p)
            {
                for (std::size_t r = 1; r + 1 < nr; ++r)
                {
                    const std::size_t row = (p * nr + r) * nc;
                    for (std::size_t c = 1; c + 1 < nc; ++c)
                    {
                        const std::size_t i = row + c;
                        if (c + 9 < nc)
                        {
                            std::uint64_t eight;  // skip runs of background quickly
                            std::memcpy(&eight, v + i, 8);
                            if (!eight)
                            {
                                c += 7;
                                continue;
                            }
                        }
                        if (!(v[i] & lee_fg))
                        {
                            continue;
                        }
                        if (!(v[i - 1] & v[i + 1] & v[i - sr] & v[i + sr] & v[i - sp] & v[i + sp] & lee_fg))
                        {
                            v[i] |= lee_listed;
                            exposed.push_back(lee_make_entry(i));
                        }
                    }
                }
            }

            // Border directions in scikit-image's order 4 (W: r-1), 3 (E: r+1), 2 (S: c+1), 1 (N: c-1), 5 (U: p+1), 6 (B: p-1).
            const std::ptrdiff_t offsets[6] = {-sr, sr, 1, -1, sp, -sp};
            const int n_borders = flat ? 4 : 6;
            const std::ptrdiff_t six[6] = {-1, 1, -sr, sr, -sp, sp};

            const std::size_t max_threads = std::max<std::size_t>(1, n_threads);
            buf.candidates.resize(max_threads);
            buf.recomputed.resize(max_threads);
            auto& added = buf.added;
            auto& merged = buf.merged;

            // Step (1) on entries [k0, k1): reads the volume only, writes the entries' states.
            auto collect = [&](std::size_t t, std::size_t k0, std::size_t k1, std::ptrdiff_t off) {
                auto& cand = buf.candidates[t];
                auto& redo = buf.recomputed[t];
                cand.clear();
                redo.clear();
                lee_entry* e = exposed.data();
                for (std::size_t k = k0; k < k1; ++k)
                {
                    const std::size_t i = lee_entry_index(e[k]);
                    if (v[static_cast<std::ptrdiff_t>(i) + off] & lee_fg)
                    {
                        continue;
                    }
                    lee_entry st = e[k] & 3u;
                    if (!(st & lee_entry_valid) || (v[i] & lee_dirty))
                    {
                        const bool ok = lee_is_deletable(neighbourhood(i));
                        st = lee_entry_valid | (ok ? lee_entry(lee_entry_deletable) : lee_entry(0));
                        e[k] = lee_make_entry(i) | st;
                        if (v[i] & lee_dirty)
                        {
                            redo.push_back(i);
                        }
                    }
                    if (st & lee_entry_deletable)
                    {
                        cand.push_back(i);
                    }
                }
            };

            int unchanged = 0;
            while (unchanged < n_borders)
            {
                unchanged = 0;
                for (int j = 0; j < n_borders; ++j)
                {
                    const std::ptrdiff_t off = offsets[j];
                    const std::size_t n_exp = exposed.size();
                    const std::size_t nt = n_exp >= 16384 ? max_threads : 1;
                    if (nt <= 1)
                    {
                        collect(0, 0, n_exp, off);
                    }
                    else
                    {
                        parallel_for(nt, nt, [&](std::size_t t) {
                            collect(t, n_exp * t / nt, n_exp * (t + 1) / nt, off);
                        });
                    }
                    // The recomputed states are fresh: clear their dirty bits (sequential phase).
                    for (std::size_t t = 0; t < nt; ++t)
                    {
                        for (const std::size_t i : buf.recomputed[t])
                        {
                            v[i] &= static_cast<std::uint8_t>(~lee_dirty);
                        }
                    }

                    // Sequential re-check, in raster order (thread chunks are in order).
                    bool changed = false;
                    for (auto& a : added)
                    {
                        a.clear();
                    }
                    for (std::size_t t = 0; t < nt; ++t)
                    {
                        for (const std::size_t i : buf.candidates[t])
                        {
                            // Not dirty: no 26-neighbour deleted since the test, so still simple.
                            if ((v[i] & lee_dirty) && !lee_is_simple(neighbourhood(i)))
                            {
                                continue;
                            }
                            v[i] = 0;
                            changed = true;
                            std::uint8_t* c = v + i;
                            lee_mark_dirty3(c - sr);
                            lee_mark_dirty3(c);
                            lee_mark_dirty3(c + sr);
                            if (!flat)
                            {
                                lee_mark_dirty3(c - sp - sr);
                                lee_mark_dirty3(c - sp);
                                lee_mark_dirty3(c - sp + sr);
                                lee_mark_dirty3(c + sp - sr);
                                lee_mark_dirty3(c + sp);
                                lee_mark_dirty3(c + sp + sr);
                            }
                            for (int k = 0; k < 6; ++k)
                            {
                                std::uint8_t& q = c[six[k]];
                                if ((q & (lee_fg | lee_listed)) == lee_fg)
                                {
                                    q |= lee_listed;
                                    added[k].push_back(lee_make_entry(
                                        static_cast<std::size_t>(static_cast<std::ptrdiff_t>(i) + six[k])));
                                }
                            }
                        }
                    }
                    if (!changed)
                    {
                        ++unchanged;
                        continue;
                    }
                    // Deletions happen in increasing index order, so each added[k] is sorted.
                    auto& all_added = buf.added_all;
                    all_added.swap(added[0]);
                    for (int k = 1; k < 6; ++k)
                    {
                        if (added[k].empty())
                        {
                            continue;
                        }
                        buf.merge_tmp.resize(all_added.size() + added[k].size());
                        std::merge(all_added.begin(), all_added.end(), added[k].begin(), added[k].end(),
                                   buf.merge_tmp.begin());
                        all_added.swap(buf.merge_tmp);
                    }
                    // Drop deleted voxels, merge the newly exposed ones (raster order).
                    merged.clear();
                    merged.reserve(exposed.size() + all_added.size());
                    auto a = all_added.begin();
                    // (an added voxel is never in `exposed`, and its state bits are 0)
                    for (const lee_entry e : exposed)
                    {
                        if (!(v[lee_entry_index(e)] & lee_fg))
                        {
                            continue;
                        }
                        while (a != all_added.end() && *a < e)
                        {
                            merged.push_back(*a++);
                        }
                        merged.push_back(e);
                    }
                    merged.insert(merged.end(), a, all_added.end());
                    exposed.swap(merged);
                    all_added.clear();
                }
            }
        }
    }  // namespace detail
}  // namespace xskan

#endif
