/**
 * @file detail/common.hpp
 * @brief Internals shared by every module: evaluating expressions into
 *        contiguous row-major storage, argument checks with clear messages.
 */
#ifndef XSKAN_DETAIL_COMMON_HPP
#define XSKAN_DETAIL_COMMON_HPP

#include <cmath>
#include <cstddef>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>
#include <xtensor/xlayout.hpp>
#include <xtensor/xtensor.hpp>

namespace xskan
{
    namespace detail
    {
        /// "(3, 4, 5)" for error messages.
        template <class S>
        std::string shape_to_string(const S& shape)
        {
            std::ostringstream os;
            os << '(';
            bool first = true;
            for (auto s : shape)
            {
                if (!first)
                {
                    os << ", ";
                }
                os << s;
                first = false;
            }
            if (shape.size() == 1)
            {
                os << ',';
            }
            os << ')';
            return os.str();
        }

        /// True when `e` is a container or view whose data is contiguous and row-major
        /// (so `e.data() + e.data_offset()` can be walked linearly).
        template <class E, class = void>
        struct has_raw_data : std::false_type
        {
        };

        template <class E>
        struct has_raw_data<E, std::void_t<decltype(std::declval<const E&>().data()),
                                           decltype(std::declval<const E&>().strides())>> : std::true_type
        {
        };

        /**
         * @brief Evaluate an expression into an `xt::xarray<T>` with row-major,
         *        contiguous storage (a copy, converting the value type).
         *
         * Any xtensor expression is accepted: views, transposes and lazy
         * expressions are materialised once, so later kernels can index raw memory.
         */
        template <class T, class E>
        xt::xarray<T, xt::layout_type::row_major> to_contiguous(const xt::xexpression<E>& e)
        {
            xt::xarray<T, xt::layout_type::row_major> out = xt::cast<T>(e.derived_cast());
            return out;
        }

        /// Same as to_contiguous but with a compile-time dimension.
        template <class T, std::size_t N, class E>
        xt::xtensor<T, N, xt::layout_type::row_major> to_contiguous_n(const xt::xexpression<E>& e)
        {
            const auto& d = e.derived_cast();
            if (d.dimension() != N)
            {
                throw std::invalid_argument("xskan: expected a " + std::to_string(N) + "-D array, got " +
                                            std::to_string(d.dimension()) + "-D shape " +
                                            shape_to_string(d.shape()));
            }
            xt::xtensor<T, N, xt::layout_type::row_major> out = xt::cast<T>(d);
            return out;
        }

        /// Throw std::invalid_argument if the array has no elements.
        template <class S>
        void check_nonempty(const S& shape, const char* func)
        {
            std::size_t n = 1;
            for (auto s : shape)
            {
                n *= static_cast<std::size_t>(s);
            }
            if (shape.size() == 0 || n == 0)
            {
                throw std::invalid_argument(std::string("xskan::") + func + ": empty image of shape " +
                                            shape_to_string(shape) + " (every axis must have at least one sample)");
            }
        }

        /// Product of the extents, throwing std::overflow_error when it does not fit in size_t.
        template <class S>
        std::size_t checked_size(const S& shape, const char* func)
        {
            std::size_t n = 1;
            for (auto s : shape)
            {
                const auto u = static_cast<std::size_t>(s);
                if (u != 0 && n > std::numeric_limits<std::size_t>::max() / u)
                {
                    throw std::overflow_error(std::string("xskan::") + func + ": shape " + shape_to_string(shape) +
                                              " has more elements than fit in std::size_t");
                }
                n *= u;
            }
            return n;
        }

        /// The working floating type scikit-image uses for an input type:
        /// float stays float, everything else becomes double.
        template <class T>
        using float_working_t = std::conditional_t<std::is_same<std::decay_t<T>, float>::value, float, double>;
    }  // namespace detail
}  // namespace xskan

#endif
