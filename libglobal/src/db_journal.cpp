// Crash-safe writes to a plain Berkeley DB file: write capture through
// Berkeley DB's I/O hooks, the journal, its commit and its recovery (see
// db_journal.hpp).
#include "db_journal.hpp"

#include "psm/global/dict_crash_probe.hpp"

#include <db.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace psm {

namespace {
std::atomic<DictCommitProbe> commit_probe{nullptr};
} // namespace

void dict_set_commit_probe(DictCommitProbe probe) {
    commit_probe.store(probe);
}

} // namespace psm

namespace psm::dict_types {

namespace {

void probe(DictCommitStep step, std::size_t index) {
    if (auto p = commit_probe.load()) p(step, index);
}

// ------------------------------------------------------------------ hooks

// Attached descriptors. A slot's journal is published before its fd.
struct Slot {
    std::atomic<int> fd{-1};
    std::atomic<DbJournal*> journal{nullptr};
};
std::array<Slot, 8> slots;

DbJournal* attached(int fd) {
    if (fd < 0) return nullptr;
    for (auto& slot : slots)
        if (slot.fd.load(std::memory_order_acquire) == fd) return slot.journal.load(std::memory_order_acquire);
    return nullptr;
}

// Whole-buffer I/O at an offset; a read past the end of the file fills the
// rest with zeros (Berkeley DB's hooked read treats a short read as an
// error, while its own loop zero-fills a short page).
ssize_t read_fully(int fd, void* buf, std::size_t n, off_t offset) {
    auto* out = static_cast<char*>(buf);
    std::size_t done = 0;
    while (done < n) {
        ssize_t r = ::pread(fd, out + done, n - done, offset + static_cast<off_t>(done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        done += static_cast<std::size_t>(r);
    }
    std::memset(out + done, 0, n - done);
    return static_cast<ssize_t>(n);
}

ssize_t write_fully(int fd, const void* buf, std::size_t n, off_t offset) {
    const auto* in = static_cast<const char*>(buf);
    std::size_t done = 0;
    while (done < n) {
        ssize_t r = ::pwrite(fd, in + done, n - done, offset + static_cast<off_t>(done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        done += static_cast<std::size_t>(r);
    }
    return static_cast<ssize_t>(n);
}

ssize_t hook_pread(int fd, void* buf, size_t n, off_t offset) {
    if (auto* j = attached(fd)) return j->read_at(buf, n, offset);
    return read_fully(fd, buf, n, offset);
}

ssize_t hook_pwrite(int fd, const void* buf, size_t n, off_t offset) {
    if (auto* j = attached(fd)) return j->write_at(buf, n, offset);
    return write_fully(fd, buf, n, offset);
}

// Berkeley DB seeks, then reads or writes at the file offset.
ssize_t hook_read(int fd, void* buf, size_t n) {
    off_t at = 0;
    if (auto* j = attached(fd)) {
        ssize_t r = j->read_at(buf, n, j->position);
        if (r > 0) j->position += r;
        return r;
    }
    if ((at = ::lseek(fd, 0, SEEK_CUR)) < 0) return ::read(fd, buf, n); // not seekable: as is
    ssize_t r = read_fully(fd, buf, n, at);
    if (r > 0) ::lseek(fd, at + r, SEEK_SET);
    return r;
}

ssize_t hook_write(int fd, const void* buf, size_t n) {
    if (auto* j = attached(fd)) {
        ssize_t r = j->write_at(buf, n, j->position);
        if (r > 0) j->position += r;
        return r;
    }
    const auto* in = static_cast<const char*>(buf);
    std::size_t done = 0;
    while (done < n) {
        ssize_t r = ::write(fd, in + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        done += static_cast<std::size_t>(r);
    }
    return static_cast<ssize_t>(n);
}

// These return 0 or an error number, as Berkeley DB expects of its hooks.
int hook_seek(int fd, off_t offset, int whence) {
    if (auto* j = attached(fd)) {
        off_t base = whence == SEEK_CUR ? j->position : whence == SEEK_END ? j->logical_size() : 0;
        if (base + offset < 0) return EINVAL;
        j->position = base + offset;
        return 0;
    }
    return ::lseek(fd, offset, whence) < 0 ? errno : 0;
}

int hook_fsync(int fd) {
    if (attached(fd)) return 0; // commit() syncs
    while (::fdatasync(fd) < 0)
        if (errno != EINTR) return errno;
    return 0;
}

int hook_ftruncate(int fd, off_t size) {
    if (auto* j = attached(fd)) return j->truncate(size);
    while (::ftruncate(fd, size) < 0)
        if (errno != EINTR) return errno;
    return 0;
}

void install_hooks() {
    static std::once_flag once;
    std::call_once(once, [] {
        db_env_set_func_pread(hook_pread);
        db_env_set_func_pwrite(hook_pwrite);
        db_env_set_func_read(hook_read);
        db_env_set_func_write(hook_write);
        db_env_set_func_seek(hook_seek);
        db_env_set_func_fsync(hook_fsync);
        db_env_set_func_ftruncate(hook_ftruncate);
    });
}

// ------------------------------------------------------------------ journal format
//
// header:  "PSMDBJ1\n", u32 version (1), u32 block size, u64 old size,
//          u64 new size, u64 zero_from, u32 block count, u32 0
// blocks:  u64 index, u32 old length, u32 new length, old bytes, new bytes
//          (ascending index)
// trailer: u64 FNV-1a of everything before, "PSMDBJ1E"
// Integers in host byte order: the journal never leaves this machine.

constexpr char kMagic[8] = {'P', 'S', 'M', 'D', 'B', 'J', '1', '\n'};
constexpr char kEndMagic[8] = {'P', 'S', 'M', 'D', 'B', 'J', '1', 'E'};
constexpr std::size_t kHeaderSize = 8 + 4 + 4 + 8 + 8 + 8 + 4 + 4;
constexpr std::size_t kTrailerSize = 8 + 8;
constexpr std::uint32_t kMaxBlockSize = 64 * 1024; // Berkeley DB's largest page
constexpr std::uint64_t kMaxJournalBytes = std::uint64_t(1) << 32;

std::uint64_t fnv1a(const char* data, std::size_t n) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::size_t i = 0; i < n; ++i) {
        h ^= static_cast<unsigned char>(data[i]);
        h *= 0x100000001b3ULL;
    }
    return h;
}

template <typename T> void put(std::vector<char>& out, T value) {
    const char* p = reinterpret_cast<const char*>(&value);
    out.insert(out.end(), p, p + sizeof(T));
}

// Bounds-checked reader over the journal image.
struct Reader {
    const std::vector<char>& data;
    std::size_t at = 0;
    template <typename T> bool get(T& value) {
        if (data.size() - at < sizeof(T)) return false;
        std::memcpy(&value, data.data() + at, sizeof(T));
        at += sizeof(T);
        return true;
    }
    bool bytes(std::size_t n, const char*& p) {
        if (data.size() - at < n) return false;
        p = data.data() + at;
        at += n;
        return true;
    }
};

struct JournalBlock {
    std::uint64_t index = 0;
    std::string_view old_image;
    std::string_view new_image;
};

struct JournalImage {
    std::uint32_t block_size = 0;
    std::uint64_t old_size = 0, new_size = 0, zero_from = 0;
    std::vector<JournalBlock> blocks;
};

// A complete, intact journal, or nothing.
std::optional<JournalImage> parse(const std::vector<char>& data) {
    if (data.size() < kHeaderSize + kTrailerSize) return std::nullopt;
    std::size_t body = data.size() - kTrailerSize;
    std::uint64_t sum = 0;
    std::memcpy(&sum, data.data() + body, sizeof(sum));
    if (std::memcmp(data.data() + body + 8, kEndMagic, 8) != 0 || fnv1a(data.data(), body) != sum) return std::nullopt;
    Reader r{data};
    const char* magic = nullptr;
    std::uint32_t version = 0, count = 0, reserved = 0;
    JournalImage image;
    if (!r.bytes(8, magic) || std::memcmp(magic, kMagic, 8) != 0 || !r.get(version) || version != 1 ||
        !r.get(image.block_size) || !r.get(image.old_size) || !r.get(image.new_size) || !r.get(image.zero_from) ||
        !r.get(count) || !r.get(reserved))
        return std::nullopt;
    if (image.block_size == 0 || image.block_size > kMaxBlockSize) return std::nullopt;
    for (std::uint32_t i = 0; i < count; ++i) {
        JournalBlock block;
        std::uint32_t old_len = 0, new_len = 0;
        const char *old_p = nullptr, *new_p = nullptr;
        if (!r.get(block.index) || !r.get(old_len) || !r.get(new_len) || old_len > image.block_size ||
            new_len > image.block_size || !r.bytes(old_len, old_p) || !r.bytes(new_len, new_p))
            return std::nullopt;
        block.old_image = std::string_view(old_p, old_len);
        block.new_image = std::string_view(new_p, new_len);
        image.blocks.push_back(block);
    }
    if (r.at != body) return std::nullopt;
    return image;
}

bool all_zero(std::string_view bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\0'; });
}

// The bytes of the file at [offset, offset + n) that exist.
bool read_existing(int fd, off_t file_size, off_t offset, std::size_t n, std::string& out) {
    out.clear();
    if (offset >= file_size) return true;
    out.resize(static_cast<std::size_t>(std::min<off_t>(static_cast<off_t>(n), file_size - offset)));
    return read_fully(fd, out.data(), out.size(), offset) >= 0;
}

bool sync_fd(int fd) {
    while (::fdatasync(fd) < 0)
        if (errno != EINTR) return false;
    return true;
}

bool truncate_fd(int fd, off_t size) {
    while (::ftruncate(fd, size) < 0)
        if (errno != EINTR) return false;
    return true;
}

// The database side of a commit, also run by recovery: drop what a shrink
// cut off, write the new blocks in ascending order, set the final size,
// sync.
bool apply_image(int db_fd, const JournalImage& image, off_t current_size) {
    if (static_cast<off_t>(image.zero_from) < current_size && !truncate_fd(db_fd, static_cast<off_t>(image.zero_from)))
        return false;
    std::size_t n = 0;
    for (const auto& block : image.blocks) {
        probe(DictCommitStep::database_block, n++);
        off_t at = static_cast<off_t>(block.index * image.block_size);
        if (write_fully(db_fd, block.new_image.data(), block.new_image.size(), at) < 0) return false;
    }
    struct stat st;
    if (::fstat(db_fd, &st) < 0) return false;
    if (st.st_size != static_cast<off_t>(image.new_size) && !truncate_fd(db_fd, static_cast<off_t>(image.new_size)))
        return false;
    return sync_fd(db_fd);
}

bool read_file(int fd, std::vector<char>& out) {
    struct stat st;
    if (::fstat(fd, &st) < 0) return false;
    if (static_cast<std::uint64_t>(st.st_size) > kMaxJournalBytes) {
        out.clear(); // not one of ours: treated as incomplete
        return true;
    }
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t r = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return false;
        if (r == 0) break;
        done += static_cast<std::size_t>(r);
    }
    out.resize(done);
    return true;
}

} // namespace

// ------------------------------------------------------------------ DbJournal

DbJournal::DbJournal(std::string db_path) : db_path_(std::move(db_path)), journal_path_(journal_path(db_path_)) {}

DbJournal::~DbJournal() {
    detach();
    if (journal_fd_ >= 0) ::close(journal_fd_);
}

std::string DbJournal::open(unsigned mode) {
    journal_fd_ = ::open(journal_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, mode);
    if (journal_fd_ < 0) return "open " + journal_path_ + ": " + std::strerror(errno);
    // The journal's directory entry must survive a power loss too.
    std::string dir = journal_path_.substr(0, journal_path_.find_last_of('/') + 1);
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

void DbJournal::attach(int db_fd, std::size_t block_size) {
    install_hooks();
    struct stat st;
    disk_size_ = ::fstat(db_fd, &st) == 0 ? st.st_size : 0;
    logical_size_ = zero_from_ = disk_size_;
    block_size_ = block_size;
    db_fd_ = db_fd;
    position = 0;
    for (auto& slot : slots) {
        int expected = -1;
        if (slot.journal.load() == nullptr && slot.fd.load() == -1) {
            slot.journal.store(this, std::memory_order_release);
            if (slot.fd.compare_exchange_strong(expected, db_fd, std::memory_order_acq_rel)) return;
            slot.journal.store(nullptr);
        }
    }
    // More crash-safe tables than slots: a programming error, not an operator's.
    std::abort();
}

void DbJournal::detach() {
    if (db_fd_ < 0) return;
    for (auto& slot : slots)
        if (slot.journal.load() == this) {
            slot.fd.store(-1, std::memory_order_release);
            slot.journal.store(nullptr, std::memory_order_release);
        }
    db_fd_ = -1;
}

bool DbJournal::has_changes() const {
    return !blocks_.empty() || logical_size_ != disk_size_ || zero_from_ != disk_size_;
}

ssize_t DbJournal::read_at(void* buf, std::size_t n, off_t offset) {
    auto* out = static_cast<char*>(buf);
    std::size_t available = offset >= logical_size_ ? 0 : std::min<std::size_t>(n, logical_size_ - offset);
    std::size_t done = 0;
    while (done < available) {
        off_t at = offset + static_cast<off_t>(done);
        std::uint64_t index = static_cast<std::uint64_t>(at) / block_size_;
        std::size_t in = static_cast<std::size_t>(at) % block_size_;
        std::size_t take = std::min(available - done, block_size_ - in);
        if (auto it = blocks_.find(index); it != blocks_.end()) {
            std::memcpy(out + done, it->second.data() + in, take);
        } else if (at >= zero_from_) {
            std::memset(out + done, 0, take);
        } else {
            std::size_t on_disk = std::min<std::size_t>(take, zero_from_ - at);
            if (read_fully(db_fd_, out + done, on_disk, at) < 0) return -1;
            std::memset(out + done + on_disk, 0, take - on_disk);
        }
        done += take;
    }
    std::memset(out + done, 0, n - done); // see read_fully()
    return static_cast<ssize_t>(n);
}

ssize_t DbJournal::write_at(const void* buf, std::size_t n, off_t offset) {
    const auto* in = static_cast<const char*>(buf);
    std::size_t done = 0;
    while (done < n) {
        off_t at = offset + static_cast<off_t>(done);
        std::uint64_t index = static_cast<std::uint64_t>(at) / block_size_;
        std::size_t within = static_cast<std::size_t>(at) % block_size_;
        std::size_t take = std::min(n - done, block_size_ - within);
        auto it = blocks_.find(index);
        if (it == blocks_.end()) {
            std::vector<char> block(block_size_);
            if (take != block_size_ && read_at(block.data(), block_size_, static_cast<off_t>(index * block_size_)) < 0)
                return -1;
            it = blocks_.emplace(index, std::move(block)).first;
        }
        std::memcpy(it->second.data() + within, in + done, take);
        done += take;
    }
    logical_size_ = std::max(logical_size_, offset + static_cast<off_t>(n));
    return static_cast<ssize_t>(n);
}

int DbJournal::truncate(off_t size) {
    if (size < 0) return EINVAL;
    if (size < logical_size_) {
        std::uint64_t first_gone = (static_cast<std::uint64_t>(size) + block_size_ - 1) / block_size_;
        blocks_.erase(blocks_.lower_bound(first_gone), blocks_.end());
        if (size % static_cast<off_t>(block_size_) != 0) {
            // The block that now ends the file: what lies past the end reads as zeros if it grows again.
            if (auto it = blocks_.find(static_cast<std::uint64_t>(size) / block_size_); it != blocks_.end())
                std::fill(it->second.begin() + size % static_cast<off_t>(block_size_), it->second.end(), '\0');
        }
        zero_from_ = std::min(zero_from_, size);
    }
    logical_size_ = size;
    return 0;
}

bool DbJournal::write_journal() {
    std::vector<char> out;
    out.insert(out.end(), kMagic, kMagic + 8);
    put<std::uint32_t>(out, 1);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(block_size_));
    put<std::uint64_t>(out, static_cast<std::uint64_t>(disk_size_));
    put<std::uint64_t>(out, static_cast<std::uint64_t>(logical_size_));
    put<std::uint64_t>(out, static_cast<std::uint64_t>(std::min(zero_from_, logical_size_)));
    put<std::uint32_t>(out, static_cast<std::uint32_t>(blocks_.size()));
    put<std::uint32_t>(out, 0);
    std::string old_image;
    for (const auto& [index, block] : blocks_) {
        off_t at = static_cast<off_t>(index * block_size_);
        if (!read_existing(db_fd_, disk_size_, at, block_size_, old_image)) return false;
        std::size_t new_len = std::min<std::size_t>(block_size_, logical_size_ - at);
        put<std::uint64_t>(out, index);
        put<std::uint32_t>(out, static_cast<std::uint32_t>(old_image.size()));
        put<std::uint32_t>(out, static_cast<std::uint32_t>(new_len));
        out.insert(out.end(), old_image.begin(), old_image.end());
        out.insert(out.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(new_len));
    }
    put<std::uint64_t>(out, fnv1a(out.data(), out.size()));
    out.insert(out.end(), kEndMagic, kEndMagic + 8);

    probe(DictCommitStep::journal_write, 0);
    if (!journal_dirty_) {
        // The journal is empty between commits, so it is complete only if
        // this write completed.
        if (write_fully(journal_fd_, out.data(), out.size(), 0) < 0 || !sync_fd(journal_fd_)) return false;
    } else {
        // A failed commit left a complete journal that the database file may
        // half reflect: replace it atomically, never leave it torn.
        const std::string temp = journal_path_ + ".new";
        int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) return false;
        if (write_fully(fd, out.data(), out.size(), 0) < 0 || !sync_fd(fd) ||
            ::rename(temp.c_str(), journal_path_.c_str()) < 0) {
            int err = errno;
            ::close(fd);
            ::unlink(temp.c_str());
            errno = err;
            return false;
        }
        ::close(journal_fd_);
        journal_fd_ = fd;
    }
    journal_dirty_ = true;
    probe(DictCommitStep::journal_synced, 0);
    return true;
}

bool DbJournal::apply() {
    // Rebuild the image from memory (cheaper than re-reading the journal).
    JournalImage image;
    image.block_size = static_cast<std::uint32_t>(block_size_);
    image.old_size = static_cast<std::uint64_t>(disk_size_);
    image.new_size = static_cast<std::uint64_t>(logical_size_);
    image.zero_from = static_cast<std::uint64_t>(std::min(zero_from_, logical_size_));
    for (const auto& [index, block] : blocks_) {
        off_t at = static_cast<off_t>(index * block_size_);
        std::size_t new_len = std::min<std::size_t>(block_size_, logical_size_ - at);
        JournalBlock b;
        b.index = index;
        b.new_image = std::string_view(block.data(), new_len);
        image.blocks.push_back(b);
    }
    if (!apply_image(db_fd_, image, disk_size_)) return false;
    probe(DictCommitStep::database_synced, 0);
    return true;
}

bool DbJournal::commit() {
    if (db_fd_ < 0) return true;
    if (!has_changes() && !journal_dirty_) return true;
    if (has_changes()) {
        if (!write_journal() || !apply()) return false;
    }
    if (!truncate_fd(journal_fd_, 0)) return false;
    journal_dirty_ = false;
    blocks_.clear();
    disk_size_ = zero_from_ = logical_size_;
    return true;
}

void DbJournal::remove_file() {
    if (journal_fd_ < 0 || journal_dirty_ || has_changes()) return;
    ::unlink(journal_path_.c_str());
    ::close(journal_fd_);
    journal_fd_ = -1;
}

DbJournal::Recovery DbJournal::recover(const std::string& db_path, int db_fd) {
    Recovery result;
    auto fail = [&](const std::string& what) {
        result.outcome = Recovery::Outcome::failed;
        result.error = what + ": " + std::strerror(errno);
        return result;
    };
    const std::string path = journal_path(db_path);
    int jfd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (jfd < 0) {
        if (errno == ENOENT) return result;
        return fail("open " + path);
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{jfd};
    std::vector<char> data;
    if (!read_file(jfd, data)) return fail("read " + path);
    if (data.empty()) return result;
    auto image = parse(data);
    if (!image) {
        // Killed before the commit point: the database file is untouched.
        result.outcome = Recovery::Outcome::incomplete;
    } else {
        struct stat st;
        if (::fstat(db_fd, &st) < 0) return fail("stat " + db_path);
        // Every block must hold its old or its new image (or, past a
        // shrink, nothing/zeros): then the file is ours, half-written.
        std::string current;
        bool ours = true;
        for (const auto& block : image->blocks) {
            off_t at = static_cast<off_t>(block.index * image->block_size);
            if (!read_existing(db_fd, st.st_size, at, image->block_size, current)) return fail("read " + db_path);
            std::string_view cur(current);
            bool is_new =
                cur.substr(0, block.new_image.size()) == block.new_image && cur.size() >= block.new_image.size();
            bool is_old = cur.substr(0, block.old_image.size()) == block.old_image &&
                          all_zero(cur.substr(std::min(cur.size(), block.old_image.size())));
            bool is_cut = static_cast<std::uint64_t>(at) >= image->zero_from && all_zero(cur);
            if (!is_new && !is_old && !is_cut) {
                ours = false;
                break;
            }
        }
        if (!ours) {
            result.outcome = Recovery::Outcome::mismatch;
        } else {
            if (!apply_image(db_fd, *image, st.st_size)) return fail("write " + db_path);
            result.outcome = Recovery::Outcome::replayed;
            result.blocks = image->blocks.size();
        }
    }
    if (!truncate_fd(jfd, 0)) return fail("truncate " + path);
    return result;
}

} // namespace psm::dict_types
