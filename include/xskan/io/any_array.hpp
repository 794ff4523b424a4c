/**
 * @file io/any_array.hpp
 * @brief A dynamically typed n-d array (what an image or .npy file holds) for the optional I/O layer.
 */
#ifndef XSKAN_IO_ANY_ARRAY_HPP
#define XSKAN_IO_ANY_ARRAY_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <xtensor/xarray.hpp>

namespace xskan
{
    namespace io
    {
        /// Element type of an array as stored in a file (numpy vocabulary).
        enum class dtype
        {
            bool_,
            int8,
            uint8,
            int16,
            uint16,
            int32,
            uint32,
            int64,
            uint64,
            float32,
            float64
        };

        /// numpy name of a dtype ("uint8", "float64", "bool", ...).
        inline std::string to_string(dtype t)
        {
            switch (t)
            {
                case dtype::bool_: return "bool";
                case dtype::int8: return "int8";
                case dtype::uint8: return "uint8";
                case dtype::int16: return "int16";
                case dtype::uint16: return "uint16";
                case dtype::int32: return "int32";
                case dtype::uint32: return "uint32";
                case dtype::int64: return "int64";
                case dtype::uint64: return "uint64";
                case dtype::float32: return "float32";
                case dtype::float64: return "float64";
            }
            return "unknown";
        }

        /// Size in bytes of one element.
        inline std::size_t item_size(dtype t) noexcept
        {
            switch (t)
            {
                case dtype::bool_:
                case dtype::int8:
                case dtype::uint8: return 1;
                case dtype::int16:
                case dtype::uint16: return 2;
                case dtype::int32:
                case dtype::uint32:
                case dtype::float32: return 4;
                default: return 8;
            }
        }

        /// The dtype of a C++ element type (bool maps to dtype::bool_).
        template <class T>
        constexpr dtype dtype_of() noexcept
        {
            if constexpr (std::is_same_v<T, bool>) return dtype::bool_;
            else if constexpr (std::is_same_v<T, std::int8_t>) return dtype::int8;
            else if constexpr (std::is_same_v<T, std::uint8_t>) return dtype::uint8;
            else if constexpr (std::is_same_v<T, std::int16_t>) return dtype::int16;
            else if constexpr (std::is_same_v<T, std::uint16_t>) return dtype::uint16;
            else if constexpr (std::is_same_v<T, std::int32_t>) return dtype::int32;
            else if constexpr (std::is_same_v<T, std::uint32_t>) return dtype::uint32;
            else if constexpr (std::is_same_v<T, std::int64_t>) return dtype::int64;
            else if constexpr (std::is_same_v<T, std::uint64_t>) return dtype::uint64;
            else if constexpr (std::is_same_v<T, float>) return dtype::float32;
            else if constexpr (std::is_same_v<T, double>) return dtype::float64;
            else
            {
                static_assert(std::is_same_v<T, double>, "xskan::io: unsupported element type");
                return dtype::float64;
            }
        }

        /**
         * @brief An n-d array whose element type is known only at run time.
         *
         * Storage is one of ten row-major `xt::xarray<T>`; bool data are held
         * as `uint8` 0/1 with `type == dtype::bool_`.
         */
        struct any_array
        {
            using storage_type = std::variant<xt::xarray<std::uint8_t>, xt::xarray<std::int8_t>,
                                              xt::xarray<std::uint16_t>, xt::xarray<std::int16_t>,
                                              xt::xarray<std::uint32_t>, xt::xarray<std::int32_t>,
                                              xt::xarray<std::uint64_t>, xt::xarray<std::int64_t>,
                                              xt::xarray<float>, xt::xarray<double>>;

            dtype type = dtype::uint8;
            storage_type data = xt::xarray<std::uint8_t>();

            any_array() = default;

            template <class T>
            explicit any_array(xt::xarray<T> a, dtype t = dtype_of<T>())
                : type(t), data(std::move(a))
            {
            }

            /// Apply `f` to the held `xt::xarray<T>` (const).
            template <class F>
            decltype(auto) visit(F&& f) const
            {
                return std::visit(std::forward<F>(f), data);
            }

            /// Apply `f` to the held `xt::xarray<T>` (mutable).
            template <class F>
            decltype(auto) visit(F&& f)
            {
                return std::visit(std::forward<F>(f), data);
            }

            /// Shape of the held array.
            std::vector<std::size_t> shape() const
            {
                return visit([](const auto& a) { return std::vector<std::size_t>(a.shape().begin(), a.shape().end()); });
            }

            std::size_t ndim() const
            {
                return visit([](const auto& a) { return a.dimension(); });
            }

            std::size_t size() const
            {
                return visit([](const auto& a) { return a.size(); });
            }

            /// True when the held element type is `T`.
            template <class T>
            bool holds() const noexcept
            {
                return std::holds_alternative<xt::xarray<T>>(data);
            }

            /// The held array as `T` (throws std::bad_variant_access if it is not `T`).
            template <class T>
            const xt::xarray<T>& get() const
            {
                return std::get<xt::xarray<T>>(data);
            }

            template <class T>
            xt::xarray<T>& get()
            {
                return std::get<xt::xarray<T>>(data);
            }

            /// A copy converted element-wise with `static_cast<T>` (no rescaling).
            template <class T>
            xt::xarray<T> as() const
            {
                return visit([](const auto& a) {
                    xt::xarray<T> out(a.shape());
                    auto* dst = out.data();
                    const auto* src = a.data();
                    const std::size_t n = a.size();
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        dst[i] = static_cast<T>(src[i]);
                    }
                    return out;
                });
            }
        };
    }  // namespace io
}  // namespace xskan

#endif
