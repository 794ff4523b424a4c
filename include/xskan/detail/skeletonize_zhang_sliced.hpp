/**
 * @file detail/skeletonize_zhang_sliced.hpp
 * @brief scikit-image 0.19.3's 2D thinning look-up table (`zhang_lut`) as Boolean
 *        circuits on bit planes: 64 pixels per `std::uint64_t` (or per SIMD lane) at once.
 *
 * Each pass has its own circuit with two outputs: `remove` (the table asks for removal
 * in this pass) and `other` (it asks for removal in the other pass only, so the pixel
 * stays active). A circuit is the shared reduced ordered binary decision diagram of its
 * two outputs (variable order chosen by exhaustive search for the fewest operations),
 * each node written as a multiplexer `(x & hi) | (lo & ~x)` or its simplification.
 * Both circuits are checked against `zhang_lut` on all 256 neighbourhoods by
 * tests/test_skeletonize.cpp.
 */
#ifndef XSKAN_DETAIL_SKELETONIZE_ZHANG_SLICED_HPP
#define XSKAN_DETAIL_SKELETONIZE_ZHANG_SLICED_HPP

namespace xskan
{
    namespace detail
    {
        // Arguments: the eight neighbour planes (set = foreground) of the pixels at each bit
        // position; V is `std::uint64_t` or an `xsimd::batch` of unsigned integers (`& | ~` only).

        /// First pass: remove = table value 1 or 3, other = value 2
        /// (51 nodes, variable order NW, SE, S, N, SW, NE, E, W).
        template <class V>
        inline void zhang_lut_sliced_first(const V& nw, const V& n, const V& ne, const V& e, const V& se, const V& s,
                                           const V& sw, const V& w, V& remove, V& other) noexcept
        {
            const V t0 = ~w;
            const V t1 = e & t0;
            const V t2 = ne & t1;
            const V t3 = t2 & ~sw;
            const V t4 = (e & t0) | (w & ~e);
            const V t5 = t0 | ~e;
            const V t6 = (ne & t5) | (t4 & ~ne);
            const V t7 = w & ~e;
            const V t8 = (sw & t7) | (t6 & ~sw);
            const V t9 = (n & t8) | (t3 & ~n);
            const V t10 = t4 & ~ne;
            const V t11 = t10 & ~sw;
            const V t12 = t11 & ~n;
            const V t13 = (s & t12) | (t9 & ~s);
            const V t14 = (ne & t1) | (t5 & ~ne);
            const V t15 = (sw & t14) | (t2 & ~sw);
            const V t16 = t15 & ~n;
            const V t17 = (s & t16) | (t3 & ~s);
            const V t18 = (se & t17) | (t13 & ~se);
            const V t19 = t7 & ~ne;
            const V t20 = sw & t19;
            const V t21 = ne | t5;
            const V t22 = (ne & w) | (t7 & ~ne);
            const V t23 = (sw & t22) | (t21 & ~sw);
            const V t24 = (n & t23) | (t20 & ~n);
            const V t25 = sw & t7;
            const V t26 = (n & t25) | (t19 & ~n);
            const V t27 = (s & t26) | (t24 & ~s);
            const V t28 = ne & e;
            const V t29 = t28 & ~sw;
            const V t30 = n & t29;
            const V t31 = (s & t20) | (t30 & ~s);
            const V t32 = (se & t31) | (t27 & ~se);
            const V t33 = (nw & t32) | (t18 & ~nw);
            const V t34 = t20 & ~n;
            const V t35 = sw & t14;
            const V t36 = t35 & ~n;
            const V t37 = (s & t36) | (t34 & ~s);
            const V t38 = t1 & ~ne;
            const V t39 = t38 & ~sw;
            const V t40 = e & w;
            const V t41 = (sw & t40) | (t10 & ~sw);
            const V t42 = (n & t2) | (t41 & ~n);
            const V t43 = (s & t42) | (t39 & ~s);
            const V t44 = (se & t43) | (t37 & ~se);
            const V t45 = t40 & ~ne;
            const V t46 = sw & t45;
            const V t47 = (n & t3) | (t46 & ~n);
            const V t48 = s & t47;
            const V t49 = se & t48;
            const V t50 = (nw & t49) | (t44 & ~nw);
            remove = t33;
            other = t50;
        }

        /// Second pass: remove = table value 2 or 3, other = value 1
        /// (52 nodes, variable order NW, SE, N, S, NE, SW, E, W).
        template <class V>
        inline void zhang_lut_sliced_second(const V& nw, const V& n, const V& ne, const V& e, const V& se, const V& s,
                                            const V& sw, const V& w, V& remove, V& other) noexcept
        {
            const V t0 = w & ~e;
            const V t1 = sw & t0;
            const V t2 = t1 & ~ne;
            const V t3 = ~w;
            const V t4 = (e & t3) | (w & ~e);
            const V t5 = t3 | ~e;
            const V t6 = (sw & t5) | (t4 & ~sw);
            const V t7 = e & t3;
            const V t8 = sw & t7;
            const V t9 = (ne & t8) | (t6 & ~ne);
            const V t10 = (s & t9) | (t2 & ~s);
            const V t11 = t4 & ~sw;
            const V t12 = t11 & ~ne;
            const V t13 = t12 & ~s;
            const V t14 = (n & t13) | (t10 & ~n);
            const V t15 = t7 & ~sw;
            const V t16 = sw | t4;
            const V t17 = (sw & e) | (t7 & ~sw);
            const V t18 = (ne & t17) | (t16 & ~ne);
            const V t19 = (s & t18) | (t15 & ~s);
            const V t20 = ne & t7;
            const V t21 = (s & t20) | (t15 & ~s);
            const V t22 = (n & t21) | (t19 & ~n);
            const V t23 = (se & t22) | (t14 & ~se);
            const V t24 = (sw & t0) | (t5 & ~sw);
            const V t25 = (ne & t24) | (t1 & ~ne);
            const V t26 = t25 & ~s;
            const V t27 = (n & t26) | (t2 & ~n);
            const V t28 = sw & w;
            const V t29 = t28 & ~ne;
            const V t30 = s & t29;
            const V t31 = ne & t15;
            const V t32 = (n & t31) | (t30 & ~n);
            const V t33 = (se & t32) | (t27 & ~se);
            const V t34 = (nw & t33) | (t23 & ~nw);
            const V t35 = t31 & ~s;
            const V t36 = (n & t26) | (t35 & ~n);
            const V t37 = t36 & ~se;
            const V t38 = t0 & ~sw;
            const V t39 = t38 & ~ne;
            const V t40 = s & t39;
            const V t41 = t5 & ~sw;
            const V t42 = e & w;
            const V t43 = (ne & t42) | (t41 & ~ne);
            const V t44 = (s & t1) | (t43 & ~s);
            const V t45 = (n & t44) | (t40 & ~n);
            const V t46 = t42 & ~sw;
            const V t47 = ne & t46;
            const V t48 = (s & t2) | (t47 & ~s);
            const V t49 = n & t48;
            const V t50 = (se & t49) | (t45 & ~se);
            const V t51 = (nw & t50) | (t37 & ~nw);
            remove = t34;
            other = t51;
        }
    }  // namespace detail
}  // namespace xskan

#endif
