/**
 * @file detail/numpy_sum.hpp
 * @brief numpy's float64 summation orders, reproduced exactly so that means,
 *        standard deviations and kernel normalisations are bitwise equal to
 *        numpy/scipy/skan.
 */
#ifndef XSKAN_DETAIL_NUMPY_SUM_HPP
#define XSKAN_DETAIL_NUMPY_SUM_HPP

#include <cstddef>

namespace xskan
{
    namespace detail
    {
        /**
         * @brief numpy's pairwise summation of float64 (`DOUBLE_pairwise_sum`,
         *        numpy 1.24, i.e. `np.add.reduce` / `np.sum` of a contiguous array):
         *        n < 8 sequential from 0.0; n <= 128 eight running sums combined as
         *        ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the tail sequentially;
         *        above, split at n2 = n/2 - (n/2)%8 and recurse.
         */
        inline double numpy_pairwise_sum(const double* a, std::size_t n) noexcept
        {
            if (n < 8)
            {
                double res = 0.;
                for (std::size_t i = 0; i < n; ++i)
                {
                    res += a[i];
                }
                return res;
            }
            if (n <= 128)
            {
                double r[8];
                for (std::size_t j = 0; j < 8; ++j)
                {
                    r[j] = a[j];
                }
                std::size_t i = 8;
                for (; i < n - (n % 8); i += 8)
                {
                    for (std::size_t j = 0; j < 8; ++j)
                    {
                        r[j] += a[i + j];
                    }
                }
                double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
                for (; i < n; ++i)
                {
                    res += a[i];
                }
                return res;
            }
            std::size_t n2 = n / 2;
            n2 -= n2 % 8;
            return numpy_pairwise_sum(a, n2) + numpy_pairwise_sum(a + n2, n - n2);
        }

        /// One segment of `np.add.reduceat`: a[0] + pairwise(a[1..n)); 0 for n == 0.
        inline double numpy_reduceat_sum(const double* a, std::size_t n) noexcept
        {
            if (n == 0)
            {
                return 0.0;
            }
            double out = a[0];
            if (n > 1)
            {
                out += numpy_pairwise_sum(a + 1, n - 1);
            }
            return out;
        }
    }  // namespace detail
}  // namespace xskan

#endif
