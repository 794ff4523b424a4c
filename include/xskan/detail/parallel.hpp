/**
 * @file detail/parallel.hpp
 * @brief A minimal fork-join helper on std::thread (no global pool, no state).
 */
#ifndef XSKAN_DETAIL_PARALLEL_HPP
#define XSKAN_DETAIL_PARALLEL_HPP

#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace xskan
{
    namespace detail
    {
        /// Number of threads to use for `requested` (0 = hardware concurrency), at most `max_useful`.
        inline std::size_t resolve_threads(std::size_t requested, std::size_t max_useful)
        {
            std::size_t n = requested;
            if (n == 0)
            {
                n = std::max<std::size_t>(1, std::thread::hardware_concurrency());
            }
            return std::max<std::size_t>(1, std::min(n, max_useful));
        }

        /**
         * @brief Run `fn(task_index)` for task_index in [0, n_tasks) on up to
         *        `n_threads` threads (the calling thread included); tasks are
         *        handed out in contiguous chunks, thread t gets chunk t.
         *
         * The first exception thrown by a task is rethrown on the caller after all threads joined.
         */
        template <class F>
        void parallel_for(std::size_t n_tasks, std::size_t n_threads, F&& fn)
        {
            n_threads = std::max<std::size_t>(1, std::min(n_threads, n_tasks));
            if (n_threads <= 1)
            {
                for (std::size_t i = 0; i < n_tasks; ++i)
                {
                    fn(i);
                }
                return;
            }
            std::vector<std::exception_ptr> errors(n_threads);
            auto run_chunk = [&](std::size_t t) {
                const std::size_t begin = n_tasks * t / n_threads;
                const std::size_t end = n_tasks * (t + 1) / n_threads;
                try
                {
                    for (std::size_t i = begin; i < end; ++i)
                    {
                        fn(i);
                    }
                }
                catch (...)
                {
                    errors[t] = std::current_exception();
                }
            };
            std::vector<std::thread> threads;
            threads.reserve(n_threads - 1);
            for (std::size_t t = 1; t < n_threads; ++t)
            {
                threads.emplace_back(run_chunk, t);
            }
            run_chunk(0);
            for (auto& th : threads)
            {
                th.join();
            }
            for (auto& e : errors)
            {
                if (e)
                {
                    std::rethrow_exception(e);
                }
            }
        }
    }  // namespace detail
}  // namespace xskan

#endif
