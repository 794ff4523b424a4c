/**
 * @file detail/skeletonize_team.hpp
 * @brief A fixed team of threads for the many short parallel phases of one thinning
 *        call (Zhang: two per subiteration, Lee: one per border pass): the helper
 *        threads start once and wait on a condition variable between phases, instead
 *        of one thread creation per phase (~30-90 us each, as much as a phase itself
 *        on small images).
 */
#ifndef XSKAN_DETAIL_SKELETONIZE_TEAM_HPP
#define XSKAN_DETAIL_SKELETONIZE_TEAM_HPP

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace xskan
{
    namespace detail
    {
        /// `n` participants: the calling thread (index 0) and n - 1 helper threads.
        class skel_team
        {
        public:
            explicit skel_team(std::size_t n)
                : m_errors(n < 1 ? 1 : n)
            {
                const std::size_t size = m_errors.size();
                m_threads.reserve(size - 1);
                try
                {
                    for (std::size_t t = 1; t < size; ++t)
                    {
                        m_threads.emplace_back([this, t] { helper(t); });
                    }
                }
                catch (...)
                {
                    shutdown();
                    throw;
                }
            }

            skel_team(const skel_team&) = delete;
            skel_team& operator=(const skel_team&) = delete;

            ~skel_team() { shutdown(); }

            /// Number of participants (calling thread included).
            std::size_t size() const noexcept { return m_threads.size() + 1; }

            /**
             * @brief Run `fn(t)` for t in [0, size()) concurrently (t = 0 on the calling thread)
             *        and return when all are done; the first exception is rethrown here.
             */
            template <class F>
            void run(F&& fn)
            {
                using fn_type = std::remove_reference_t<F>;
                auto call = [](void* f, std::size_t t) { (*static_cast<fn_type*>(f))(t); };
                {
                    std::lock_guard<std::mutex> lock(m_mutex);
                    m_fn = const_cast<void*>(static_cast<const void*>(std::addressof(fn)));
                    m_call = call;
                    m_pending = m_threads.size();
                    ++m_generation;
                }
                m_start.notify_all();
                execute(0);
                {
                    std::unique_lock<std::mutex> lock(m_mutex);
                    m_done.wait(lock, [this] { return m_pending == 0; });
                    m_fn = nullptr;
                }
                for (auto& e : m_errors)
                {
                    if (e)
                    {
                        std::exception_ptr first = e;
                        for (auto& x : m_errors)
                        {
                            x = nullptr;
                        }
                        std::rethrow_exception(first);
                    }
                }
            }

        private:
            void execute(std::size_t t) noexcept
            {
                try
                {
                    m_call(m_fn, t);
                }
                catch (...)
                {
                    m_errors[t] = std::current_exception();
                }
            }

            void helper(std::size_t t)
            {
                std::size_t seen = 0;
                for (;;)
                {
                    {
                        std::unique_lock<std::mutex> lock(m_mutex);
                        m_start.wait(lock, [&] { return m_stop || m_generation != seen; });
                        if (m_stop)
                        {
                            return;
                        }
                        seen = m_generation;
                    }
                    execute(t);
                    bool last = false;
                    {
                        std::lock_guard<std::mutex> lock(m_mutex);
                        last = --m_pending == 0;
                    }
                    if (last)
                    {
                        m_done.notify_one();
                    }
                }
            }

            void shutdown() noexcept
            {
                {
                    std::lock_guard<std::mutex> lock(m_mutex);
                    m_stop = true;
                }
                m_start.notify_all();
                for (auto& th : m_threads)
                {
                    if (th.joinable())
                    {
                        th.join();
                    }
                }
            }

            std::mutex m_mutex;
            std::condition_variable m_start, m_done;
            void* m_fn = nullptr;
            void (*m_call)(void*, std::size_t) = nullptr;
            std::size_t m_pending = 0, m_generation = 0;
            bool m_stop = false;
            std::vector<std::exception_ptr> m_errors;
            std::vector<std::thread> m_threads;
        };
    }  // namespace detail
}  // namespace xskan

#endif
