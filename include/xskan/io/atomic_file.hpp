/**
 * @file io/atomic_file.hpp
 * @brief Write a file atomically: into a temporary file next to it, then rename.
 *
 * A reader (or a crash) never sees a partial output: either the old file (or
 * none) or the complete new one. POSIX `rename` within one directory is atomic.
 *
 * Replacing an existing file: on Linux the temporary file and the target are swapped
 * with `renameat2(RENAME_EXCHANGE)` (as atomic as `rename`: the target name always
 * holds the old or the new content) and the old content, now under the temporary
 * name, is unlinked. A plain `rename` over an existing file makes ext4 (option
 * auto_da_alloc, the default) write the new file's data to disk inside the `rename`
 * call; measured on this project's VM: 16 files of 1.6 MB, 20 ms and 25 MB of disk
 * writes with `rename`, 5-10 ms and no disk writes with the exchange. Like `rename`,
 * neither syncs: a system crash can still lose recent outputs (nothing here calls fsync).
 * If the process dies between the exchange and the unlink, the old content is left
 * under the temporary name (`<file>.tmp<number>`).
 */
#ifndef XSKAN_IO_ATOMIC_FILE_HPP
#define XSKAN_IO_ATOMIC_FILE_HPP

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#if defined(__linux__)
#include <fcntl.h>   // AT_FDCWD
#include <stdio.h>   // renameat2, RENAME_EXCHANGE (glibc >= 2.28, _GNU_SOURCE)
#include <sys/stat.h>
#include <unistd.h>  // unlink
#endif

namespace xskan
{
    namespace io
    {
        /**
         * @brief RAII guard for one atomic output: write to `temp_path()`, then `commit()`.
         *
         * If `commit()` is not called (an exception, an early return) the
         * temporary file is removed by the destructor and the target is untouched.
         */
        class atomic_output
        {
        public:
            explicit atomic_output(std::string final_path)
                : m_final(std::move(final_path))
            {
                if (m_final.empty())
                {
                    throw std::invalid_argument("xskan::io: empty output file name");
                }
                const auto ticks = static_cast<unsigned long long>(
                    std::chrono::steady_clock::now().time_since_epoch().count());
                const auto tid = static_cast<unsigned long long>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
                const auto self = static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(this));
                m_temp = m_final + ".tmp" + std::to_string((ticks ^ (tid << 1) ^ (self << 3)) % 1000000007ULL);
            }

            atomic_output(const atomic_output&) = delete;
            atomic_output& operator=(const atomic_output&) = delete;

            ~atomic_output()
            {
                if (!m_committed)
                {
                    std::remove(m_temp.c_str());
                }
            }

            /// Where to write the data.
            const std::string& temp_path() const noexcept { return m_temp; }
            /// Where the data ends up after commit().
            const std::string& final_path() const noexcept { return m_final; }

            /// Move the temporary file onto the final path (throws std::runtime_error on failure).
            void commit()
            {
#if defined(__linux__) && defined(RENAME_EXCHANGE) && defined(AT_FDCWD)
                // Swap with an existing regular file (no ext4 flush, see the file comment), then drop the
                // old content. Anything else (no target, a directory, a link) goes through rename below.
                struct stat st{};
                if (::lstat(m_final.c_str(), &st) == 0 && S_ISREG(st.st_mode)
                    && ::renameat2(AT_FDCWD, m_temp.c_str(), AT_FDCWD, m_final.c_str(), RENAME_EXCHANGE) == 0)
                {
                    m_committed = true;
                    (void) ::unlink(m_temp.c_str());
                    return;
                }
                // EINVAL / ENOSYS / ...: no exchange on this file system; plain rename below.
#endif
                if (std::rename(m_temp.c_str(), m_final.c_str()) != 0)
                {
                    const int err = errno;
                    throw std::runtime_error("cannot write '" + m_final + "': rename from temporary file failed: "
                                             + std::strerror(err));
                }
                m_committed = true;
            }

        private:
            std::string m_final;
            std::string m_temp;
            bool m_committed = false;
        };

        /**
         * @brief Write a file atomically through an std::ostream.
         * @param path  the final file name
         * @param write called with an open binary std::ostream on the temporary file
         * @throw std::runtime_error naming the file when it cannot be created or written
         */
        template <class F>
        void write_file_atomically(const std::string& path, F&& write)
        {
            atomic_output out(path);
            {
                std::ofstream stream(out.temp_path(), std::ios::binary | std::ios::trunc);
                if (!stream)
                {
                    const int err = errno;
                    throw std::runtime_error("cannot create '" + path + "': " + std::strerror(err));
                }
                write(static_cast<std::ostream&>(stream));
                stream.flush();
                if (!stream)
                {
                    throw std::runtime_error("cannot write '" + path + "' (disk full or I/O error)");
                }
                stream.close();
                if (stream.fail())
                {
                    throw std::runtime_error("cannot write '" + path + "' (close failed)");
                }
            }
            out.commit();
        }
    }  // namespace io
}  // namespace xskan

#endif
