/**
 * @file detail/skeletonize_zhang_sliced.hpp
 * @brief scikit-image 0.19.3's 2D thinning look-up table (`zhang_lut`) as a Boolean
 *        circuit on bit planes: 64 pixels per `std::uint64_t` (or per SIMD lane) at once.
 *
 * The circuit is the shared reduced ordered binary decision diagram of the two
 * outputs (variable order NW, SE, S, N, SW, NE, E, W; 60 nodes), each node written
 * as a multiplexer `(x & hi) | (lo & ~x)`. It is checked against `zhang_lut` on all
 * 256 neighbourhoods by tests/test_skeletonize.cpp.
 */
#ifndef XSKAN_DETAIL_SKELETONIZE_ZHANG_SLICED_HPP
#define XSKAN_DETAIL_SKELETONIZE_ZHANG_SLICED_HPP

namespace xskan
{
    namespace detail
    {
        /**
         * @brief For every bit position of the eight neighbour planes (set = foreground):
         *        f1 = scikit-image's table asks for removal in the first pass (value 1 or 3),
         *        f2 = in the second pass (value 2 or 3).
         * @tparam V `std::uint64_t` or an `xsimd::batch` of unsigned integers (only `& | ~`).
         */
        template <class V>
        inline void zhang_lut_sliced(const V& nw, const V& n, const V& ne, const V& e, const V& se, const V& s,
                                     const V& sw, const V& w, V& f1, V& f2) noexcept
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
            const V t34 = (n & t11) | (t20 & ~n);
            const V t35 = (sw & t14) | (t10 & ~sw);
            const V t36 = t35 & ~n;
            const V t37 = (s & t36) | (t34 & ~s);
            const V t38 = t1 & ~sw;
            const V t39 = (ne & t1) | (t4 & ~ne);
            const V t40 = e | ~ne;
            const V t41 = (sw & t40) | (t39 & ~sw);
            const V t42 = (n & t2) | (t41 & ~n);
            const V t43 = (s & t42) | (t38 & ~s);
            const V t44 = (se & t43) | (t37 & ~se);
            const V t45 = ne & t5;
            const V t46 = (sw & t7) | (t45 & ~sw);
            const V t47 = (n & t46) | (t20 & ~n);
            const V t48 = t20 & ~n;
            const V t49 = (s & t48) | (t47 & ~s);
            const V t50 = n & t3;
            const V t51 = w & ~ne;
            const V t52 = sw & t51;
            const V t53 = (n & t3) | (t52 & ~n);
            const V t54 = (s & t53) | (t50 & ~s);
            const V t55 = (se & t54) | (t49 & ~se);
            const V t56 = (nw & t55) | (t44 & ~nw);
            f1 = t33;
            f2 = t56;
        }
    }  // namespace detail
}  // namespace xskan

#endif
