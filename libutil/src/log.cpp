// Process-wide logger behind msg_info() and friends: formats, sanitises and
// writes each line to syslog or appends it to maillog_file (O_APPEND, whole
// lines per write(2), so concurrent daemons never interleave partial lines).
// An event-driven daemon may batch the file's info lines per turn of its
// loop (log_batch_writes); warnings and worse are written at once.
#include "psm/util/log.hpp"
#include "psm/util/process_id.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace psm {

int msg_verbose = 0;

namespace {

struct Facility {
    const char* name;
    int value;
};

constexpr Facility kFacilities[] = {
    {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},     {"daemon", LOG_DAEMON},
    {"ftp", LOG_FTP},       {"kern", LOG_KERN},         {"lpr", LOG_LPR},       {"mail", LOG_MAIL},
    {"news", LOG_NEWS},     {"syslog", LOG_SYSLOG},     {"user", LOG_USER},     {"uucp", LOG_UUCP},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},     {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

// Postfix-style log sanitising, in place: printable ASCII and valid UTF-8
// stay, every other byte becomes '?' (the length never changes).
void make_printable(char* data, size_t n) {
    const auto* s = reinterpret_cast<const unsigned char*>(data);
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f) {
            ++i;
            continue;
        }
        // Length and minimum code point of a UTF-8 sequence led by c.
        size_t len = 0;
        unsigned min_cp = 0;
        if (c >= 0xc2 && c <= 0xdf) len = 2, min_cp = 0x80;
        else if (c >= 0xe0 && c <= 0xef) len = 3, min_cp = 0x800;
        else if (c >= 0xf0 && c <= 0xf4) len = 4, min_cp = 0x10000;
        bool valid = len > 0 && i + len <= n;
        unsigned cp = len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
        for (size_t k = 1; valid && k < len; ++k) {
            if ((s[i + k] & 0xc0) != 0x80) valid = false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (valid && (cp < min_cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) valid = false;
        if (valid) {
            i += len;
        } else {
            data[i] = '?';
            ++i;
        }
    }
}

enum class Severity { info, warning, error, fatal, panic };

class Logger {
public:
    Logger() {
        // No line may wait across a fork: the child would write it again.
        ::pthread_atfork([] { log_flush(); }, nullptr, nullptr);
    }
    ~Logger() {
        flush();
        close_file();
    }

    void batch_writes(std::function<void()> schedule_flush) {
        std::lock_guard<std::mutex> serialised(emit_mutex_);
        write_pending();
        schedule_flush_ = std::move(schedule_flush);
    }

    void flush() {
        std::lock_guard<std::mutex> serialised(emit_mutex_);
        write_pending();
    }

    void configure(const LogConfig& config) {
        int facility = -1;
        for (const auto& f : kFacilities)
            if (config.facility == f.name) facility = f.value;
        if (facility < 0) throw std::invalid_argument("unknown syslog_facility: " + config.facility);

        int fd = -1;
        bool to_stdout = config.maillog_file == "/dev/stdout";
        if (!config.maillog_file.empty() && !to_stdout) {
            fd = ::open(config.maillog_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
            if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + config.maillog_file);
        }
        close_file();
        fd_ = to_stdout ? STDOUT_FILENO : fd;
        owns_fd_ = fd >= 0;
        to_file_ = !config.maillog_file.empty();
        also_stderr_ = config.also_stderr;
        tag_ = config.syslog_name.empty() ? config.program : config.syslog_name + "/" + config.program;
        auto dot = config.hostname.find('.');
        host_ = config.hostname.substr(0, dot);
        if (host_.empty()) host_ = "localhost";
        if (!to_file_) {
            // openlog keeps the pointer: tag_ must outlive it (it does, until reconfigured).
            ::closelog();
            ::openlog(tag_.c_str(), LOG_PID | LOG_NDELAY, facility);
        }
        configured_ = true;
    }

    const std::string& tag() const { return tag_; }

    void write(Severity severity, const char* fmt, va_list ap) {
        int saved_errno = errno;
        // Formatted on the stack unless it is long; sanitised in place.
        char small[512];
        std::string big;
        std::string_view body;
        va_list copy;
        va_copy(copy, ap);
        int n = std::vsnprintf(small, sizeof(small), fmt, copy);
        va_end(copy);
        if (n < 0) {
            body = "(log format error)";
        } else if (static_cast<size_t>(n) < sizeof(small)) {
            make_printable(small, static_cast<size_t>(n));
            body = std::string_view(small, static_cast<size_t>(n));
        } else {
            big.assign(static_cast<size_t>(n) + 1, '\0');
            std::vsnprintf(big.data(), big.size(), fmt, ap);
            big.resize(static_cast<size_t>(n));
            make_printable(big.data(), big.size());
            body = big;
        }
        emit(severity, prefix(severity), body);
        errno = saved_errno;
    }

private:
    static const char* prefix(Severity severity) {
        switch (severity) {
        case Severity::info: return "";
        case Severity::warning: return "warning: ";
        case Severity::error: return "error: ";
        case Severity::fatal: return "fatal: ";
        case Severity::panic: return "panic: ";
        }
        return "";
    }

    static int syslog_priority(Severity severity) {
        switch (severity) {
        case Severity::info: return LOG_INFO;
        case Severity::warning: return LOG_WARNING;
        case Severity::error: return LOG_ERR;
        case Severity::fatal:
        case Severity::panic: return LOG_CRIT;
        }
        return LOG_INFO;
    }

    // Serialised: a worker thread (e.g. postscreen's cache) may log too, and
    // the timestamp cache is shared. The text is prefix + body.
    void emit(Severity severity, std::string_view prefix, std::string_view body) {
        std::lock_guard<std::mutex> serialised(emit_mutex_);
        if (!configured_) {
            // Before configuration (early start-up errors): stderr only.
            std::string line;
            line.append(prefix).append(body) += '\n';
            write_all(STDERR_FILENO, line);
            return;
        }
        if (to_file_) {
            // Batched info lines go straight into the pending buffer.
            const bool batch = schedule_flush_ && severity == Severity::info;
            const bool first = pending_.empty();
            std::string single;
            if (!batch) write_pending(); // what came first goes first
            std::string& line = batch ? pending_ : single;
            line += timestamp();
            line += ' ';
            line += host_;
            line += ' ';
            line += tag_;
            line += '[';
            line += pid_text();
            line += "]: ";
            line.append(prefix).append(body) += '\n';
            if (!batch) {
                write_all(fd_, single);
            } else if (pending_.size() >= kMaxPending) {
                write_pending();
            } else if (first) {
                schedule_flush_();
            }
        } else {
            ::syslog(syslog_priority(severity), "%.*s%.*s", static_cast<int>(prefix.size()), prefix.data(),
                     static_cast<int>(body.size()), body.data());
        }
        if (also_stderr_) {
            std::string line = tag_;
            line.append(": ").append(prefix).append(body) += '\n';
            write_all(STDERR_FILENO, line);
        }
    }

    // The process id as text, remade after a fork.
    std::string_view pid_text() {
        const auto pid = process_id();
        if (pid != pid_) {
            pid_ = pid;
            pid_text_ = std::to_string(pid);
        }
        return pid_text_;
    }

    // "Mon DD HH:MM:SS", recomputed at most once per second.
    const char* timestamp() {
        std::time_t now = std::time(nullptr);
        if (now != stamp_time_) {
            struct tm tm;
            ::localtime_r(&now, &tm);
            std::strftime(stamp_, sizeof(stamp_), "%b %d %H:%M:%S", &tm);
            stamp_time_ = now;
        }
        return stamp_;
    }

    static void write_all(int fd, const std::string& line) {
        const char* p = line.data();
        size_t left = line.size();
        while (left > 0) {
            ssize_t n = ::write(fd, p, left);
            if (n < 0) {
                if (errno == EINTR) continue;
                return; // nowhere left to report a logging failure
            }
            p += n;
            left -= static_cast<size_t>(n);
        }
    }

    // Called with emit_mutex_ held.
    void write_pending() {
        if (pending_.empty()) return;
        if (fd_ >= 0) write_all(fd_, pending_);
        pending_.clear();
    }

    void close_file() {
        write_pending();
        if (owns_fd_ && fd_ >= 0) ::close(fd_);
        fd_ = -1;
        owns_fd_ = false;
    }

    bool configured_ = false;
    bool to_file_ = false;
    bool also_stderr_ = false;
    bool owns_fd_ = false;
    int fd_ = -1;
    std::string tag_ = "postfix";
    decltype(process_id()) pid_ = 0;
    std::string pid_text_;
    std::string host_ = "localhost";
    std::time_t stamp_time_ = -1;
    char stamp_[32] = {};
    static constexpr std::size_t kMaxPending = 32 * 1024;
    std::string pending_;                  // batched lines not yet written
    std::function<void()> schedule_flush_; // set while batching
    std::mutex emit_mutex_;
};

Logger& logger() {
    static Logger instance;
    return instance;
}

bool throw_on_fatal = false;

[[noreturn]] void die(Severity severity, const char* fmt, va_list ap) {
    if (throw_on_fatal) {
        char buf[1024];
        std::vsnprintf(buf, sizeof(buf), fmt, ap);
        throw FatalError{buf};
    }
    logger().write(severity, fmt, ap);
    if (severity == Severity::panic) std::abort();
    std::exit(1);
}

} // namespace

void log_configure(const LogConfig& config) { logger().configure(config); }

const std::string& log_tag() { return logger().tag(); }

void log_batch_writes(std::function<void()> schedule_flush) { logger().batch_writes(std::move(schedule_flush)); }

void log_flush() { logger().flush(); }

void log_throw_on_fatal(bool enable) { throw_on_fatal = enable; }

#define PSM_LOG_BODY(severity)                                                                                         \
    va_list ap;                                                                                                        \
    va_start(ap, fmt);                                                                                                 \
    logger().write(severity, fmt, ap);                                                                                 \
    va_end(ap)

void msg_info(const char* fmt, ...) { PSM_LOG_BODY(Severity::info); }
void msg_warn(const char* fmt, ...) { PSM_LOG_BODY(Severity::warning); }
void msg_error(const char* fmt, ...) { PSM_LOG_BODY(Severity::error); }

void msg_fatal(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    die(Severity::fatal, fmt, ap);
}

void msg_panic(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    die(Severity::panic, fmt, ap);
}

std::string log_printable(std::string_view text) {
    std::string out(text);
    make_printable(out.data(), out.size());
    return out;
}

} // namespace psm
