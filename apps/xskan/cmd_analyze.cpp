// xskan analyze: skan.pipe.process_images on a batch of images, with a thread pool,
// progress output, atomic outputs and per-file error reporting.
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>
#include <sys/stat.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <unistd.h>

#include <xtensor/xarray.hpp>

#include <xskan/image_stats.hpp>
#include <xskan/io/atomic_file.hpp>
#include <xskan/io/fei.hpp>
#include <xskan/io/image.hpp>
#include <xskan/io/png.hpp>
#include <xskan/io/tiff.hpp>
#include <xskan/skeleton.hpp>
#include <xskan/summarize.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "overlay.hpp"
#include "segment.hpp"

namespace xskan_cli
{
    namespace
    {
        /// Default threshold radius: skan's documented 5e-8 m for images with a scale, else 47 pixels.
        constexpr double default_radius_physical = 5e-8;
        constexpr double default_radius_pixels = 47;

        /// What one image produced (kept in memory for the combined tables).
        struct image_result
        {
            std::string branches_rows;   ///< CSV lines without header
            std::string branches_header; ///< header line
            std::string stats_row;       ///< image_stats.csv line without header
            std::size_t n_branches = 0;
            stage_timer timer;
        };

        /// Overlay buffers a worker reuses from one image to the next.
        struct overlay_buffers
        {
            xskan::io::png_buffers png;  ///< the overlay is drawn straight into its scanlines
        };

        /// The image to analyze after reading (2D) and its scale.
        struct loaded_image
        {
            xskan::io::any_array image;
            double scale = 1.0;
            bool has_scale = false;
        };

        loaded_image load(const std::string& path, const analyze_args& a)
        {
            loaded_image li;
            const auto fmt = xskan::io::format_from_extension(path);
            std::optional<xskan::io::fei_metadata> md;
            if (fmt == xskan::io::file_format::tiff)
            {
                xskan::io::detail::tiff_handle h(path);
                if (auto text = xskan::io::detail::tiff_tag_text(h.get(), xskan::io::fei_metadata_tag))
                {
                    auto parsed = xskan::io::parse_fei_metadata(*text);
                    if (!parsed.empty()) md = std::move(parsed);
                }
                xskan::io::tiff_read_options o;
                o.page = 0;
                if (md)
                {
                    o.drop_bottom_rows = 70;  // imageio 'fei': the data bar
                }
                li.image = xskan::io::detail::read_tiff_open(h, o);
            }
            else
            {
                li.image = xskan::io::read_image(path);
            }
            if (li.image.ndim() != 2)
            {
                throw cli_error("'" + path + "': analyze needs a 2D grayscale image, got shape "
                                + xskan::detail::shape_to_string(li.image.shape()));
            }
            if (a.scale)
            {
                li.scale = *a.scale;
                li.has_scale = true;
            }
            else if (md)
            {
                try
                {
                    li.scale = md->number(a.scale_metadata_path);
                }
                catch (const std::exception& e)
                {
                    throw cli_error("'" + path + "': " + e.what());
                }
                li.has_scale = true;
            }
            else if (a.scale_from_metadata)
            {
                throw cli_error("'" + path + "': --scale-from-metadata given but the file has no FEI metadata");
            }
            if (!(std::isfinite(li.scale) && li.scale > 0))
            {
                throw cli_error("'" + path + "': pixel size must be finite and > 0 (got " + std::to_string(li.scale) + ")");
            }
            return li;
        }

        std::string format_value(double v)
        {
            std::string s;
            append_double(s, v);
            return s;
        }

        /// Second half of the pipeline on the weighted skeleton: graph, tables, overlay.
        template <class T, class Q>
        void measure_typed(const xt::xarray<T>& image, const xt::xarray<Q>& quality, const std::string& path,
                           double scale, const analyze_args& a, image_result& res, xskan::io::atomic_output* png_out,
                           overlay_buffers& ob)
        {
            stage_timer& tm = res.timer;
            const std::size_t rows = image.shape()[0], cols = image.shape()[1];
            // 3. graph + measurements
            xskan::skeleton_options ko;
            ko.spacing = {scale};
            const xskan::skeleton skel(quality, ko);
            tm.lap("graph");
            const auto table = xskan::summarize(skel);
            const auto stats = xskan::image_summary(quality, skel, scale);
            tm.lap("summary");

            // 4. tables as text: skan's columns + squiggle, scale, filename; mean_pixel_value -> mean_shape_index
            std::ostringstream csv;
            xskan::write_csv(csv, table);
            std::string text = csv.str();
            const auto eol = text.find('\n');
            std::string header = text.substr(0, eol);
            const std::string from = "mean_pixel_value";
            const auto at = header.find(from);
            if (at != std::string::npos)
            {
                header.replace(at, from.size(), "mean_shape_index");
            }
            res.branches_header = header + ",squiggle,scale,filename\n";
            const std::string tail_scale = "," + format_value(scale) + "," + csv_field(path);
            std::string rows_text;
            rows_text.reserve(text.size() + table.size() * (tail_scale.size() + 28));
            std::size_t pos = eol + 1;
            for (std::size_t i = 0; i < table.size(); ++i)
            {
                const auto e = text.find('\n', pos);
                rows_text.append(text, pos, e - pos);
                rows_text += ',';
                append_double(rows_text, std::log2(table.branch_distance[i] / table.euclidean_distance[i]));
                rows_text += tail_scale;
                rows_text += '\n';
                pos = e + 1;
            }
            res.branches_rows = std::move(rows_text);
            res.n_branches = table.size();

            // image_stats: image_summary + filename, branch density, mean J2J branch distance
            std::string st;
            const auto fields = xskan::image_summary_fields(stats);
            for (std::size_t k = 0; k < fields.size(); ++k)
            {
                st += (k ? "," : "") + fields[k];
            }
            st += "," + csv_field(path) + ",";
            append_double(st, static_cast<double>(table.size()) / stats.area);
            st += ",";
            std::vector<double> j2j;
            for (std::size_t i = 0; i < table.size(); ++i)
            {
                if (table.branch_type[i] == 2) j2j.push_back(table.branch_distance[i]);
            }
            append_double(st, j2j.empty() ? NAN : numpy_pairwise_sum(j2j.data(), j2j.size()) / static_cast<double>(j2j.size()));
            st += "\n";
            res.stats_row = std::move(st);
            tm.lap("tables");

            // 5. overlay PNG
            if (png_out != nullptr)
            {
                std::vector<double> values(table.size());
                const std::string& c = a.overlay_color_by;
                for (std::size_t i = 0; i < table.size(); ++i)
                {
                    if (c == "branch_type") values[i] = table.branch_type[i];
                    else if (c == "skeleton_id") values[i] = static_cast<double>(table.skeleton_id[i]);
                    else if (c == "branch_distance") values[i] = table.branch_distance[i];
                    else if (c == "euclidean_distance") values[i] = table.euclidean_distance[i];
                    else if (c == "mean_shape_index") values[i] = table.mean_pixel_value[i];
                    else if (c == "stdev_pixel_value") values[i] = table.stdev_pixel_value[i];
                    else values[i] = std::log2(table.branch_distance[i] / table.euclidean_distance[i]);
                }
                std::uint8_t* scan = xskan::io::png_scanlines(ob.png, rows, cols, 3);
                make_overlay(image.data(), rows, cols, skel, branch_colors(values), scan, 3 * cols + 1);
                tm.lap("overlay");
                xskan::io::png_write_options po;
                po.compression_level = 1;
                // written to the final name by write_png's own atomic rename; done last (see process_image)
                xskan::io::write_png_scanlines(png_out->temp_path(), rows, cols, 3, ob.png, po);
                tm.lap("write_png");
            }
        }

        image_result process_image(const std::string& path, const std::string& out_stem, const analyze_args& a,
                                   std::size_t threads, const std::atomic<std::size_t>* spare_threads,
                                   segment_buffers& wb, overlay_buffers& ob)
        {
            image_result res;
            stage_timer& tm = res.timer;
            tm.start();
            loaded_image li = load(path, a);
            tm.lap("read");
            const auto shp = li.image.shape();
            const std::size_t c = a.crop_radius;
            if (2 * c >= shp[0] || 2 * c >= shp[1])
            {
                throw cli_error("'" + path + "': image of shape " + xskan::detail::shape_to_string(shp)
                                + " is too small for --crop-radius " + std::to_string(c));
            }
            const double R = a.threshold_radius ? *a.threshold_radius
                                                : (li.has_scale ? default_radius_physical : default_radius_pixels);
            const double pr = std::ceil(R / li.scale);
            if (!(pr >= 0) || pr > 1e6)
            {
                throw cli_error("'" + path + "': threshold radius " + format_value(R) + " / scale " + format_value(li.scale)
                                + " gives " + format_value(pr) + " pixels (allowed: 0 .. 1e6)");
            }
            const auto radius = static_cast<std::size_t>(pr);
            const double sigma = a.smooth_radius * static_cast<double>(radius);
            if (!(sigma >= 0) || !std::isfinite(sigma))
            {
                throw cli_error("--smooth-radius must be a finite number >= 0");
            }

            std::unique_ptr<xskan::io::atomic_output> png;
            if (!a.no_overlay)
            {
                png = std::make_unique<xskan::io::atomic_output>(a.output_dir + "/" + out_stem + "_overlay.png");
            }
            xskan::io::any_array cropped = li.image.visit([&](const auto& full) {
                using T = typename std::decay_t<decltype(full)>::value_type;
                const std::size_t rows = full.shape()[0] - 2 * c, cols = full.shape()[1] - 2 * c;
                xt::xarray<T> img = xt::xarray<T>::from_shape({rows, cols});
                for (std::size_t r = 0; r < rows; ++r)
                {
                    std::memcpy(img.data() + r * cols, full.data() + (r + c) * full.shape()[1] + c, cols * sizeof(T));
                }
                return xskan::io::any_array(std::move(img), li.image.type);
            });
            li.image = xskan::io::any_array();
            tm.lap("crop");
            try
            {
                segment_params sp;
                sp.radius = radius;
                sp.sigma = sigma;
                sp.offset = a.brightness_offset;
                sp.threads = threads;
                sp.spare_threads = spare_threads;
                const auto& weighted = segment_image(cropped, sp, wb, tm);
                dispatch_gray(cropped, [&](const auto& img) {
                    weighted.visit([&](const auto& q) {
                        using Q = typename std::decay_t<decltype(q)>::value_type;
                        if constexpr (std::is_floating_point_v<Q>)
                        {
                            measure_typed(img, q, path, li.scale, a, res, png.get(), ob);
                        }
                    });
                    return 0;
                });
            }
            catch (const std::invalid_argument& e)
            {
                throw cli_error("'" + path + "': " + e.what());
            }
            // Per-image outputs: both to temporary files first, then renamed, so a
            // failure never leaves one without the other.
            tm.start();
            xskan::io::atomic_output csv(a.output_dir + "/" + out_stem + "_branches.csv");
            {
                std::FILE* f = std::fopen(csv.temp_path().c_str(), "wb");
                if (f == nullptr)
                {
                    throw cli_error("cannot create '" + csv.final_path() + "': " + std::strerror(errno));
                }
                const bool ok = std::fwrite(res.branches_header.data(), 1, res.branches_header.size(), f) == res.branches_header.size()
                                && std::fwrite(res.branches_rows.data(), 1, res.branches_rows.size(), f) == res.branches_rows.size();
                if (std::fclose(f) != 0 || !ok)
                {
                    throw cli_error("cannot write '" + csv.final_path() + "' (disk full or I/O error)");
                }
            }
            csv.commit();
            if (png)
            {
                png->commit();
            }
            tm.lap("write_csv");
            return res;
        }

        /// Progress on stderr: a bar when it is a terminal, else one line per image.
        class progress
        {
        public:
            progress(std::size_t total, bool quiet)
                : m_total(total), m_quiet(quiet), m_tty(isatty(fileno(stderr)) != 0)
            {
            }

            void done(const std::string& name, const std::string& what, bool ok)
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                ++m_done;
                if (!ok)
                {
                    if (m_tty && !m_quiet) std::fputs("\r\033[K", stderr);
                    std::fprintf(stderr, "xskan: error: %s\n", what.c_str());
                }
                if (m_quiet)
                {
                    return;
                }
                if (m_tty)
                {
                    const std::size_t width = 30;
                    const std::size_t fill = m_total ? width * m_done / m_total : width;
                    std::string bar(fill, '#');
                    bar.append(width - fill, '.');
                    std::fprintf(stderr, "\r\033[K[%s] %zu/%zu %s", bar.c_str(), m_done, m_total, name.c_str());
                    if (m_done == m_total) std::fputc('\n', stderr);
                }
                else if (ok)
                {
                    std::fprintf(stderr, "xskan: [%zu/%zu] %s: %s\n", m_done, m_total, name.c_str(), what.c_str());
                }
                std::fflush(stderr);
            }

        private:
            std::mutex m_mutex;
            std::size_t m_total, m_done = 0;
            bool m_quiet, m_tty;
        };

#if defined(__GLIBC__)
        /// The main heap's huge-page range marked by reserve_huge_page_heap (empty if none).
        std::uintptr_t g_main_heap_begin = 0, g_main_heap_end = 0;
        /// glibc's size (and alignment) of the heaps of non-main arenas on 64-bit: 2 x 32 MiB.
        constexpr std::uintptr_t glibc_heap_max = std::uintptr_t(64) << 20;

        bool huge_pages_wanted()
        {
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(__SANITIZE_ADDRESS__)
            return std::getenv("XSKAN_NO_HUGE_PAGES") == nullptr;
#else
            return false;
#endif
        }

        /**
         * Back the heap with transparent huge pages: first touch of 4 KiB pages is the main cost
         * of a cold run on virtual machines (13-50 us per page measured here, against ~1 us per
         * 4 KiB as part of a 2 MiB page). The kernel gives huge pages only to ranges marked with
         * madvise(MADV_HUGEPAGE) (THP mode "madvise"), so the main heap's address space is
         * extended once by a large untouched block that is marked and freed again (kept as free
         * heap top: M_TRIM_THRESHOLD is above its size). Only virtual address space is reserved;
         * nothing here is touched. No effect elsewhere.
         *
         * Arenas: one per image worker (`workers`), not one for all. With a single arena the two
         * workers of a 2-thread batch serialise on its lock, and a page fault taken inside malloc
         * (the new top chunk's header landing on a fresh huge page) holds that lock for
         * milliseconds: 6-7 futex sleeps per worker per 8-image batch, ~10 % of the wall time.
         * Each extra worker marks its own arena's heap in adopt_thread_heap(); M_TOP_PAD = the heap
         * size makes glibc map a new arena heap read-write in one piece, so the whole of it can take
         * huge pages. M_ARENA_MAX = workers: threads started later (the Gaussian / Sauvola / Zhang
         * helpers of one image, or of the last images of a batch) share these huge-page arenas;
         * with workers = 1 (one image, or --threads 1) everything is as before (one arena).
         */
        void reserve_huge_page_heap(std::size_t workers)
        {
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(__SANITIZE_ADDRESS__)
            if (!huge_pages_wanted())
            {
                return;
            }
            mallopt(M_ARENA_MAX, static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(workers, 64))));
            if (workers > 1)
            {
                mallopt(M_TOP_PAD, static_cast<int>(glibc_heap_max));
            }
            constexpr std::size_t reserve = std::size_t(768) << 20;
            constexpr std::uintptr_t huge = std::uintptr_t(2) << 20;
            void* p = std::malloc(reserve);
            if (p == nullptr)
            {
                return;
            }
            const auto begin = (reinterpret_cast<std::uintptr_t>(p) + huge - 1) & ~(huge - 1);
            const auto end = (reinterpret_cast<std::uintptr_t>(p) + reserve) & ~(huge - 1);
            if (end > begin)
            {
                (void) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
                g_main_heap_begin = reinterpret_cast<std::uintptr_t>(p);
                g_main_heap_end = g_main_heap_begin + reserve;
            }
            std::free(p);
#else
            (void) workers;
#endif
        }

        /**
         * Called first thing on an image worker other than the main thread: its first malloc
         * creates the thread's arena, a glibc heap of 64 MiB aligned to 64 MiB with the arena
         * header in its first page. Mark the heap for huge pages and collapse its first 2 MiB
         * (already touched, so mapped with 4 KiB pages) into one. Beyond 64 MiB per worker glibc
         * adds heaps with 4 KiB pages (images above ~5 Mpixel in batches: slower first image per
         * worker, same results). Nothing happens when the pointer is in the main heap.
         */
        void adopt_thread_heap()
        {
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(__SANITIZE_ADDRESS__)
            if (!huge_pages_wanted() || g_main_heap_end == 0)
            {
                return;
            }
            void* p = std::malloc(64);
            const auto at = reinterpret_cast<std::uintptr_t>(p);
            if (p != nullptr && (at < g_main_heap_begin || at >= g_main_heap_end))
            {
                const auto base = at & ~(glibc_heap_max - 1);
                if (::madvise(reinterpret_cast<void*>(base), glibc_heap_max, MADV_HUGEPAGE) == 0)
                {
                    constexpr int madv_collapse = 25;  // MADV_COLLAPSE, Linux >= 6.1 (EINVAL before: ignored)
                    (void) ::madvise(reinterpret_cast<void*>(base), std::size_t(2) << 20, madv_collapse);
                }
            }
            std::free(p);
#endif
        }
#endif

        /**
         * The combined branches.csv, written while the batch runs: whenever an image finishes, the
         * finished images at the front of the input order are appended (header from the first
         * successful one) and their rows freed, so after the last image only its own rows remain
         * to be written instead of the whole file (10 MB for 32 inf1 images) on one thread while
         * the other waits. Same bytes as writing it at the end; still atomic (temporary file,
         * renamed by finish()).
         */
        class combined_csv
        {
        public:
            combined_csv(std::string path, std::vector<std::optional<image_result>>& results)
                : m_path(std::move(path)), m_results(results), m_done(results.size(), 0)
            {
            }

            /// Image i has finished (results[i] set, or left empty for a failed image).
            void finished(std::size_t i)
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                m_done[i] = 1;
                while (m_next < m_done.size() && m_done[m_next])
                {
                    if (auto& r = m_results[m_next])
                    {
                        try  // on a worker thread: errors are reported by finish()
                        {
                            append(*r);
                        }
                        catch (const std::exception& e)
                        {
                            if (m_error.empty()) m_error = e.what();
                        }
                    }
                    ++m_next;
                }
            }

            /// After all images: close and rename (no file when no image succeeded).
            void finish()
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                const bool closed = m_file == nullptr || std::fclose(m_file) == 0;
                m_file = nullptr;
                if (m_error.empty() && !closed)
                {
                    m_error = "cannot write '" + m_path + "' (close failed)";
                }
                if (!m_error.empty())
                {
                    m_out.reset();  // removes the temporary file
                    throw cli_error(m_error);
                }
                if (m_out)
                {
                    m_out->commit();
                }
            }

            ~combined_csv()
            {
                if (m_file != nullptr)
                {
                    std::fclose(m_file);
                }
            }

            combined_csv(const combined_csv&) = delete;
            combined_csv& operator=(const combined_csv&) = delete;

        private:
            void put(const std::string& text)
            {
                if (m_error.empty() && std::fwrite(text.data(), 1, text.size(), m_file) != text.size())
                {
                    m_error = "cannot write '" + m_path + "' (disk full or I/O error)";
                }
            }

            void append(image_result& r)
            {
                if (!m_out && m_error.empty())
                {
                    m_out = std::make_unique<xskan::io::atomic_output>(m_path);
                    m_file = std::fopen(m_out->temp_path().c_str(), "wb");
                    if (m_file == nullptr)
                    {
                        m_error = std::string("cannot create '") + m_path + "': " + std::strerror(errno);
                        return;
                    }
                    put(r.branches_header);
                }
                if (m_file != nullptr)
                {
                    put(r.branches_rows);
                }
                std::string().swap(r.branches_rows);
            }

            std::string m_path;
            std::vector<std::optional<image_result>>& m_results;
            std::vector<char> m_done;
            std::size_t m_next = 0;
            std::mutex m_mutex;
            std::unique_ptr<xskan::io::atomic_output> m_out;
            std::FILE* m_file = nullptr;
            std::string m_error;
        };

        void make_dirs(const std::string& dir)
        {
            std::string cur;
            std::size_t pos = 0;
            while (pos != std::string::npos)
            {
                pos = dir.find('/', pos + 1);
                cur = dir.substr(0, pos);
                if (cur.empty()) continue;
                if (::mkdir(cur.c_str(), 0777) != 0 && errno != EEXIST)
                {
                    throw cli_error("cannot create output folder '" + cur + "': " + std::strerror(errno));
                }
            }
            struct stat st{};
            if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            {
                throw cli_error("'" + dir + "' is not a folder");
            }
        }
    }  // namespace

    int run_analyze(const analyze_args& a_in)
    {
        analyze_args a = a_in;
        while (a.output_dir.size() > 1 && a.output_dir.back() == '/') a.output_dir.pop_back();
        if (a.threshold_radius && !(std::isfinite(*a.threshold_radius) && *a.threshold_radius >= 0))
        {
            throw cli_error("--threshold-radius must be a finite number >= 0");
        }
        if (!(std::isfinite(a.smooth_radius) && a.smooth_radius >= 0))
        {
            throw cli_error("--smooth-radius must be a finite number >= 0");
        }
        if (!std::isfinite(a.brightness_offset))
        {
            throw cli_error("--brightness-offset must be finite");
        }
        if (a.scale && !(std::isfinite(*a.scale) && *a.scale > 0))
        {
            throw cli_error("--scale must be finite and > 0");
        }
        make_dirs(a.output_dir);

        const std::size_t n = a.inputs.size();
        const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
        const std::size_t threads = a.threads == 0 ? hw : a.threads;
        const std::size_t outer = std::max<std::size_t>(1, std::min(threads, n));
        const std::size_t inner = std::max<std::size_t>(1, threads / outer);
#if defined(__GLIBC__)
        // Keep freed image-sized buffers in the heap for the next image instead of returning
        // them to the kernel (fresh pages cost ~13 us each on first touch).
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        reserve_huge_page_heap(outer);
#endif
        // unique output stems
        std::vector<std::string> stems(n);
        std::map<std::string, int> seen;
        std::set<std::string> used;
        for (std::size_t i = 0; i < n; ++i)
        {
            std::string s = stem(a.inputs[i]);
            if (s.empty()) s = "image";
            std::string u = s;
            for (int k = 2; used.count(u); ++k) u = s + "_" + std::to_string(k);
            used.insert(u);
            stems[i] = u;
        }

        std::vector<std::optional<image_result>> results(n);
        std::vector<std::string> errors(n);
        std::atomic<std::size_t> next{0};
        std::atomic<std::size_t> spare{0};  // workers without images left: their cores join the others' stages
        progress prog(n, a.quiet);
        combined_csv combined(a.output_dir + "/branches.csv", results);
        auto worker = [&](bool main_thread) {
#if defined(__GLIBC__)
            if (!main_thread) adopt_thread_heap();
#else
            (void) main_thread;
#endif
            auto wb = make_segment_buffers();
            overlay_buffers ob;
            for (;;)
            {
                const std::size_t i = next.fetch_add(1);
                if (i >= n)
                {
                    spare.fetch_add(1, std::memory_order_relaxed);
                    return;
                }
                const auto t0 = std::chrono::steady_clock::now();
                try
                {
                    results[i] = process_image(a.inputs[i], stems[i], a, inner, outer > 1 ? &spare : nullptr, *wb, ob);
                    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                    char buf[96];
                    std::snprintf(buf, sizeof buf, "%zu branches, %.3f s", results[i]->n_branches, dt);
                    prog.done(a.inputs[i], buf, true);
                }
                catch (const std::exception& e)
                {
                    std::string msg = e.what();
                    if (msg.find(a.inputs[i]) == std::string::npos) msg = "'" + a.inputs[i] + "': " + msg;
                    errors[i] = msg;
                    prog.done(a.inputs[i], msg, false);
                }
                combined.finished(i);
            }
        };
        std::vector<std::thread> pool;
        for (std::size_t t = 1; t < outer; ++t) pool.emplace_back(worker, false);
        worker(true);
        for (auto& t : pool) t.join();

        // Combined tables (successful images, input order); branches.csv was written on the way.
        std::size_t n_ok = 0;
        stage_timer total;
        for (std::size_t i = 0; i < n; ++i)
        {
            if (!results[i]) continue;
            ++n_ok;
            total.merge(results[i]->timer);
        }
        combined.finish();
        if (n_ok > 0)
        {
            xskan::io::write_file_atomically(a.output_dir + "/image_stats.csv", [&](std::ostream& out) {
                out << "scale,number of junctions,area,junctions per unit area,average mesh area,median mesh area,"
                       "mesh area standard deviation,number of disjoint skeletons,filename,branch density,"
                       "mean J2J branch distance\n";
                for (std::size_t i = 0; i < n; ++i)
                {
                    if (results[i]) out << results[i]->stats_row;
                }
            });
        }
        if (a.timings)
        {
            std::fprintf(stderr, "xskan: stage times summed over %zu image(s) (%zu worker(s) x %zu thread(s)):\n%s", n_ok,
                         outer, inner, total.report().c_str());
        }
        const std::size_t n_failed = n - n_ok;
        if (!a.quiet)
        {
            if (n_ok > 0)
            {
                std::fprintf(stderr, "xskan: wrote %s/branches.csv, %s/image_stats.csv and per-image <name>_branches.csv%s\n",
                             a.output_dir.c_str(), a.output_dir.c_str(), a.no_overlay ? "" : ", <name>_overlay.png");
            }
        }
        if (n_failed > 0)
        {
            std::fprintf(stderr, "xskan: %zu of %zu image(s) failed\n", n_failed, n);
            return 1;
        }
        return 0;
    }
}  // namespace xskan_cli
