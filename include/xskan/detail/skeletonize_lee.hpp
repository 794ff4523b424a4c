/**
 * @file detail/skeletonize_lee.hpp
 * @brief Lee, Kashyap & Chu (1994) 3D thinning exactly as scikit-image 0.19.3's
 *        `_compute_thin_image` (`_skeletonize_3d_cy.pyx`), on a bit-packed volume
 *        with cached per-voxel results and look-up-table neighbourhood tests.
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
 * Fast version (same result): the padded volume is bit-packed, each row in
 * whole 64-bit words (bit c of a row = column c), with two more bit volumes of
 * the same layout: `dirty` (a 26-neighbour was deleted since the voxel's cached
 * test, or never tested) and `del` (cached result of the direction-independent
 * test of step (1)). Step (1) computes the border voxels of a direction 64 at a
 * time per word (`fg & ~neighbour word`) on the words that still hold foreground,
 * tests only the dirty ones, and lists `border & del`; it reads `fg` only and
 * writes its own `dirty`/`del` words, so the word list can be shared among
 * threads. Step (2) re-tests a candidate only if it is dirty again (a neighbour
 * was deleted since its test) and marks the 3x3x3 block of each deletion dirty.
 * A neighbourhood is read as three 9-bit planes (nine unaligned row reads). The
 * Euler test sums eight octant tables indexed by per-plane 2x2-square codes;
 * the simple-point test ORs per-plane tables into the octant graph (two
 * neighbours are 26-adjacent iff they share one of the 8 octants, i.e. 2x2x2
 * sub-cubes holding the centre, as in scikit-image's octree labelling: octants
 * are linked by shared foreground edge/face voxels) and reads its connectivity
 * from a 4096-entry table of the 12 cube-edge links (checked against a flood
 * fill for all 2^26 neighbourhoods and against scikit-image's labelling in the tests).
 */
#ifndef XSKAN_DETAIL_SKELETONIZE_LEE_HPP
#define XSKAN_DETAIL_SKELETONIZE_LEE_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "skeletonize_bits.hpp"
#include "skeletonize_team.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define XSKAN_LEE_ALWAYS_INLINE __attribute__((always_inline))
#else
#define XSKAN_LEE_ALWAYS_INLINE
#endif

namespace xskan
{
    namespace detail
    {
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

        /**
         * @brief Tables of the simple-point test on the octant graph.
         *
         * Octant v = 4*vp + 2*vr + vc is the 2x2x2 sub-cube of the 3x3x3 neighbourhood on the
         * side vp/vr/vc (0: offsets -1..0, 1: offsets 0..1) of each axis; it holds the centre.
         * `plane[q][code]` (q = dp + 1, code = 9-bit plane, centre ignored) gives bits 0-7: the
         * octants holding a foreground voxel of that plane, bits 8-11: the links (v, v+1)
         * (index 2*vp + vr), 12-15: (v, v+2) (index 2*vp + vc), 16-19: (v, v+4) (index 2*vr + vc)
         * made by a foreground voxel shared by both octants (edge and face voxels).
         * `conn[links]` gives bits 0-7: the octants touched by a link, bits 8-9: the number of
         * connected components (capped at 2) of the graph of these links.
         */
        struct lee_octant_tables
        {
            std::uint32_t plane[3][512];
            std::uint16_t conn[4096];
            constexpr lee_octant_tables()
                : plane{}, conn{}
            {
                for (int q = 0; q < 3; ++q)
                {
                    const int dp = q - 1;
                    for (int code = 0; code < 512; ++code)
                    {
                        std::uint32_t occ = 0, lc = 0, lr = 0, lp = 0;
                        for (int j = 0; j < 9; ++j)
                        {
                            if (!((code >> j) & 1) || (q == 1 && j == 4))
                            {
                                continue;
                            }
                            const int dr = j / 3 - 1, dc = j % 3 - 1;
                            std::uint32_t s = 0;
                            for (int v = 0; v < 8; ++v)
                            {
                                const int vp = v >> 2, vr = (v >> 1) & 1, vc = v & 1;
                                const bool in = (vp == 0 ? dp <= 0 : dp >= 0) && (vr == 0 ? dr <= 0 : dr >= 0) &&
                                                (vc == 0 ? dc <= 0 : dc >= 0);
                                if (in)
                                {
                                    s |= 1u << v;
                                }
                            }
                            occ |= s;
                            for (int v = 0; v < 8; ++v)
                            {
                                if (!((s >> v) & 1))
                                {
                                    continue;
                                }
                                if (!(v & 1) && ((s >> (v | 1)) & 1))
                                {
                                    lc |= 1u << (v >> 1);
                                }
                                if (!(v & 2) && ((s >> (v | 2)) & 1))
                                {
                                    lr |= 1u << (((v >> 2) << 1) | (v & 1));
                                }
                                if (!(v & 4) && ((s >> (v | 4)) & 1))
                                {
                                    lp |= 1u << (v & 3);
                                }
                            }
                        }
                        plane[q][code] = occ | (lc << 8) | (lr << 12) | (lp << 16);
                    }
                }
                for (int links = 0; links < 4096; ++links)
                {
                    int adj[8] = {};
                    for (int b = 0; b < 4; ++b)
                    {
                        if ((links >> b) & 1)
                        {
                            const int v = b << 1;  // (vp, vr, 0)
                            adj[v] |= 1 << (v | 1);
                            adj[v | 1] |= 1 << v;
                        }
                        if ((links >> (4 + b)) & 1)
                        {
                            const int v = ((b >> 1) << 2) | (b & 1);  // (vp, 0, vc)
                            adj[v] |= 1 << (v | 2);
                            adj[v | 2] |= 1 << v;
                        }
                        if ((links >> (8 + b)) & 1)
                        {
                            const int v = b;  // (0, vr, vc)
                            adj[v] |= 1 << (v | 4);
                            adj[v | 4] |= 1 << v;
                        }
                    }
                    int touched = 0;
                    for (int v = 0; v < 8; ++v)
                    {
                        if (adj[v])
                        {
                            touched |= 1 << v;
                        }
                    }
                    int seen = 0, comps = 0;
                    for (int v = 0; v < 8; ++v)
                    {
                        if (!((touched >> v) & 1) || ((seen >> v) & 1))
                        {
                            continue;
                        }
                        ++comps;
                        int reach = 1 << v;
                        for (;;)
                        {
                            int next = reach;
                            for (int u = 0; u < 8; ++u)
                            {
                                if ((reach >> u) & 1)
                                {
                                    next |= adj[u];
                                }
                            }
                            if (next == reach)
                            {
                                break;
                            }
                            reach = next;
                        }
                        seen |= reach;
                    }
                    conn[links] = static_cast<std::uint16_t>(touched | ((comps < 2 ? comps : 2) << 8));
                }
            }
        };

        /// Simple-point test (the foreground 26-neighbours form at most one 26-connected
        /// component, scikit-image `is_simple_point`) from the three 9-bit planes
        /// (bit 3*(dr+1) + dc+1) of the neighbourhood: the occupied octants must all lie in
        /// one component of the link graph (or be a single octant without links).
        inline bool lee_is_simple_planes(std::uint32_t p0, std::uint32_t p1, std::uint32_t p2) noexcept
        {
            static constexpr lee_octant_tables t{};
            const std::uint32_t w = t.plane[0][p0] | t.plane[1][p1] | t.plane[2][p2];
            const std::uint32_t occ = w & 255u;
            const std::uint32_t e = t.conn[(w >> 8) & 4095u];
            const std::uint32_t k = e >> 8;
            if (k == 1)
            {
                return (occ & ~e & 255u) == 0;
            }
            return k == 0 && (occ & (occ - 1)) == 0;
        }

        /// Simple-point test of a 27-bit mask (bit = lee_bit(dp, dr, dc)).
        inline bool lee_is_simple(std::uint32_t m) noexcept
        {
            return lee_is_simple_planes(m & 511u, (m >> 9) & 511u, (m >> 18) & 511u);
        }

        /// Step (1) test without the border condition: not an end point, Euler invariant, simple.
        inline bool lee_is_deletable(std::uint32_t m) noexcept
        {
            return skel_popcount32(m) != 2 && lee_is_euler_invariant(m) && lee_is_simple(m);
        }

        /// Bit volumes and lists of lee_thin(); reusable between calls.
        struct lee_buffers
        {
            /// Padded volume, rows of whole 64-bit words (+ slack): foreground, dirty, cached test.
            std::vector<std::uint64_t> fg, dirty, del;
            std::vector<std::size_t> words;                       ///< indices of the words holding foreground
            std::vector<std::vector<std::size_t>> candidates;     ///< per thread: bit indices

            /// Words per row for `nc` padded columns.
            static std::size_t words_per_row(std::size_t nc) noexcept { return (nc + 63) / 64; }

            /// Zeroed volumes for padded extents (np, nr, nc).
            void reset(std::size_t np, std::size_t nr, std::size_t nc)
            {
                const std::size_t words = np * nr * words_per_row(nc) + 2;  // slack for 8-byte reads
                fg.assign(words, 0);
                dirty.assign(words, 0);
                del.assign(words, 0);
            }
        };

        /// 64-bit little-endian word at byte address p (unaligned).
        inline std::uint64_t lee_load_le64(const unsigned char* p) noexcept
        {
            std::uint64_t x;
            std::memcpy(&x, p, 8);
            return x;
        }

        /// Neighbourhood reads on the bit volume: byte strides of a row and a plane.
        struct lee_geom
        {
            const std::uint64_t* fg;
            std::size_t bpr;       // bits per row  (64 * wpr)
            std::size_t bpp;       // bits per plane
            std::ptrdiff_t rb, pb; // bytes per row / plane

            /// The 27-bit neighbourhood mask (bit lee_bit(dp, dr, dc)) of bit g; `flat`: planes
            /// dp = -1 and 1 are padding (2D image) and are not read.
            XSKAN_LEE_ALWAYS_INLINE std::uint32_t mask(std::size_t g, bool flat) const noexcept
            {
#if XSKAN_SKELETONIZE_LITTLE_ENDIAN
                // Nine unaligned 8-byte reads starting at the byte of bit g-1; keep bits
                // g-1..g+1 of each row in place, stack the rows 3 bits apart, shift once.
                const std::size_t b = g - 1;
                const unsigned char* c = reinterpret_cast<const unsigned char*>(fg) + (b >> 3) - rb;
                const unsigned sh = static_cast<unsigned>(b & 7);
                const std::uint64_t k = std::uint64_t(7) << sh;
                const std::ptrdiff_t r = rb;
                auto plane = [k, r](const unsigned char* q) -> std::uint64_t {
                    return (lee_load_le64(q) & k) | ((lee_load_le64(q + r) & k) << 3) |
                           ((lee_load_le64(q + 2 * r) & k) << 6);
                };
                std::uint64_t m = plane(c) << 9;
                if (!flat)
                {
                    m |= plane(c - pb) | (plane(c + pb) << 18);
                }
                return static_cast<std::uint32_t>(m >> sh);
#else
                auto get3 = [this](std::size_t h) -> std::uint32_t {
                    const std::size_t b = h - 1;
                    const std::size_t w = b >> 6, s = b & 63;
                    std::uint64_t x = fg[w] >> s;
                    if (s > 61)
                    {
                        x |= fg[w + 1] << (64 - s);
                    }
                    return static_cast<std::uint32_t>(x) & 7u;
                };
                auto plane = [&](std::size_t h) { return get3(h - bpr) | (get3(h) << 3) | (get3(h + bpr) << 6); };
                const std::uint32_t m = plane(g) << 9;
                return flat ? m : m | plane(g - bpp) | (plane(g + bpp) << 18);
#endif
            }
        };

        /// Set bits g-1, g, g+1 of the 3x3x3 block around bit g in `a` (same geometry as the volume).
        inline void lee_mark27(std::uint64_t* a, std::size_t g, const lee_geom& geo, bool flat) noexcept
        {
#if XSKAN_SKELETONIZE_LITTLE_ENDIAN
            const std::size_t b = g - 1;
            unsigned char* c = reinterpret_cast<unsigned char*>(a) + (b >> 3) - geo.rb;
            const std::uint64_t bits = std::uint64_t(7) << (b & 7);
            const std::ptrdiff_t r = geo.rb;
            auto plane = [bits, r](unsigned char* q) {
                for (int k = 0; k < 3; ++k)
                {
                    std::uint64_t x;
                    std::memcpy(&x, q + k * r, 8);
                    x |= bits;
                    std::memcpy(q + k * r, &x, 8);
                }
            };
            plane(c);
            if (!flat)
            {
                plane(c - geo.pb);
                plane(c + geo.pb);
            }
#else
            auto or3 = [a](std::size_t h) {
                const std::size_t b = h - 1;
                const std::size_t w = b >> 6, s = b & 63;
                a[w] |= std::uint64_t(7) << s;
                if (s > 61)
                {
                    a[w + 1] |= std::uint64_t(7) >> (64 - s);
                }
            };
            const std::size_t bpr = geo.bpr, bpp = geo.bpp;
            or3(g - bpr);
            or3(g);
            or3(g + bpr);
            if (!flat)
            {
                or3(g - bpp - bpr);
                or3(g - bpp);
                or3(g - bpp + bpr);
                or3(g + bpp - bpr);
                or3(g + bpp);
                or3(g + bpp + bpr);
            }
#endif
        }

        /**
         * @brief Thin the padded bit volume `buf.fg` (from lee_buffers::reset(np, nr, nc), padding
         *        voxels 0) of padded extents (np, nr, nc) in place.
         * @param n_threads threads for the candidate collection (the re-check is sequential);
         *        the result does not depend on it.
         */
        inline void lee_thin(lee_buffers& buf, std::size_t np, std::size_t nr, std::size_t nc, std::size_t n_threads)
        {
            const std::size_t wpr = lee_buffers::words_per_row(nc);
            const std::size_t bpr = 64 * wpr;
            const std::size_t bpp = bpr * nr;
            std::uint64_t* fg = buf.fg.data();
            std::uint64_t* dirty = buf.dirty.data();
            std::uint64_t* del = buf.del.data();
            const lee_geom geo{fg, bpr, bpp, static_cast<std::ptrdiff_t>(bpr / 8), static_cast<std::ptrdiff_t>(bpp / 8)};
            const bool flat = (np == 3);

            // Words holding foreground (raster order; image rows only); every voxel starts
            // untested (dirty).
            auto& words = buf.words;
            words.clear();
            for (std::size_t p = 1; p + 1 < np; ++p)
            {
                for (std::size_t r = 1; r + 1 < nr; ++r)
                {
                    const std::size_t w0 = (p * nr + r) * wpr;
                    for (std::size_t k = 0; k < wpr; ++k)
                    {
                        if (fg[w0 + k])
                        {
                            words.push_back(w0 + k);
                        }
                    }
                }
            }
            const std::size_t total_words = np * nr * wpr;
            std::memcpy(dirty, fg, total_words * sizeof(std::uint64_t));
            std::memset(del, 0, total_words * sizeof(std::uint64_t));

            const std::size_t max_threads = std::max<std::size_t>(1, n_threads);
            buf.candidates.resize(max_threads);
            const std::ptrdiff_t wr = static_cast<std::ptrdiff_t>(wpr);
            const std::ptrdiff_t wp = static_cast<std::ptrdiff_t>(wpr * nr);

            // Step (1) on words[i0, i1) for border direction D (scikit-image's order 4 W: r-1,
            // 3 E: r+1, 2 S: c+1, 1 N: c-1, 5 U: p+1, 6 B: p-1): reads fg, writes dirty/del of these words.
            auto collect = [&](std::size_t t, std::size_t i0, std::size_t i1, auto dir) {
                constexpr int D = decltype(dir)::value;
                auto& cand = buf.candidates[t];
                cand.clear();
                const std::size_t* wl = words.data();
                for (std::size_t i = i0; i < i1; ++i)
                {
                    const std::size_t wi = wl[i];
                    const std::uint64_t f = fg[wi];
                    if (!f)
                    {
                        continue;
                    }
                    std::uint64_t nb;
                    if (D == 0)
                        nb = fg[wi - wr];
                    else if (D == 1)
                        nb = fg[wi + wr];
                    else if (D == 2)
                        nb = (f >> 1) | (fg[wi + 1] << 63);  // padding columns are 0
                    else if (D == 3)
                        nb = (f << 1) | (fg[wi - 1] >> 63);
                    else if (D == 4)
                        nb = fg[wi + wp];
                    else
                        nb = fg[wi - wp];
                    const std::uint64_t border = f & ~nb;
                    if (!border)
                    {
                        continue;
                    }
                    std::uint64_t todo = border & dirty[wi];
                    if (todo)
                    {
                        std::uint64_t d = del[wi] & ~todo;
                        dirty[wi] &= ~todo;
                        do
                        {
                            const int b = skel_ctz64(todo);
                            todo &= todo - 1;
                            const std::size_t g = wi * 64 + static_cast<std::size_t>(b);
                            if (lee_is_deletable(geo.mask(g, flat)))
                            {
                                d |= std::uint64_t(1) << b;
                            }
                        } while (todo);
                        del[wi] = d;
                    }
                    std::uint64_t c = border & del[wi];
                    while (c)
                    {
                        const int b = skel_ctz64(c);
                        c &= c - 1;
                        cand.push_back(wi * 64 + static_cast<std::size_t>(b));
                    }
                }
            };
            auto collect_dir = [&](std::size_t t, std::size_t i0, std::size_t i1, int dir) {
                switch (dir)
                {
                    case 0: collect(t, i0, i1, std::integral_constant<int, 0>{}); break;
                    case 1: collect(t, i0, i1, std::integral_constant<int, 1>{}); break;
                    case 2: collect(t, i0, i1, std::integral_constant<int, 2>{}); break;
                    case 3: collect(t, i0, i1, std::integral_constant<int, 3>{}); break;
                    case 4: collect(t, i0, i1, std::integral_constant<int, 4>{}); break;
                    default: collect(t, i0, i1, std::integral_constant<int, 5>{}); break;
                }
            };

            const int n_borders = flat ? 4 : 6;
            std::unique_ptr<skel_team> team;  // started at the first parallel collection
            int unchanged = 0;
            while (unchanged < n_borders)
            {
                unchanged = 0;
                for (int j = 0; j < n_borders; ++j)
                {
                    const std::size_t n_words = words.size();
                    const std::size_t nt = n_words >= 1024 ? max_threads : 1;
                    if (nt <= 1)
                    {
                        collect_dir(0, 0, n_words, j);
                    }
                    else
                    {
                        if (!team)
                        {
                            team.reset(new skel_team(nt));
                        }
                        team->run([&](std::size_t t) {
                            collect_dir(t, n_words * t / nt, n_words * (t + 1) / nt, j);
                        });
                    }
                    // Step (2), sequential, raster order (thread chunks are in order). A candidate
                    // that is not dirty had no 26-neighbour deleted since its test: still simple.
                    bool changed = false;
                    for (std::size_t t = 0; t < nt; ++t)
                    {
                        for (const std::size_t g : buf.candidates[t])
                        {
                            const std::size_t wi = g >> 6;
                            const std::uint64_t bit = std::uint64_t(1) << (g & 63);
                            if (dirty[wi] & bit)
                            {
                                if (!lee_is_simple(geo.mask(g, flat)))
                                {
                                    continue;
                                }
                            }
                            fg[wi] &= ~bit;
                            changed = true;
                            lee_mark27(dirty, g, geo, flat);
                        }
                    }
                    if (!changed)
                    {
                        ++unchanged;
                    }
                }
                // Drop the words that lost all their foreground.
                words.erase(std::remove_if(words.begin(), words.end(), [fg](std::size_t wi) { return fg[wi] == 0; }),
                            words.end());
            }
        }
    }  // namespace detail
}  // namespace xskan

#endif
