// Private (libglobal/src): crash-safe writes to a plain Berkeley DB file, for
// btree:/hash: tables opened with DictOpenOptions::crash_safe (postscreen's
// cache). The database file stays exactly what stock Postfix writes (no
// transaction environment, no log files); what changes is how its pages
// reach the disk:
//
//   * While a table is attached, every write Berkeley DB makes to the file
//     (page flushes, evictions, ftruncate) is held in memory as whole blocks
//     of the page size; reads see those blocks over the file. fsync() is a
//     no-op.
//   * commit() makes them durable in three steps: (1) the journal file
//     NAME.db.journal gets the old and new image of every block, the sizes
//     and a checksum, and is fsync'd: this is the commit point; (2) the new
//     blocks and size go to the database file, which is fsync'd; (3) the
//     journal is emptied.
//   * recover(), at the next open under the exclusive lock, finds either an
//     incomplete journal (killed during step 1: the database file is still
//     the previous commit, the journal is discarded) or a complete one
//     (killed during step 2 or 3: it is replayed, which is idempotent). A
//     journal is replayed only when every block of the database file still
//     holds its old or its new image; otherwise another program (stock
//     postscreen, postmap) wrote the file since, and the journal is
//     discarded rather than applied to the wrong data.
//
// The capture works through Berkeley DB's process-wide I/O hooks
// (db_env_set_func_*), installed at the first attach(); descriptors that are
// not attached pass straight to the system calls. A table's I/O and its
// commit run on one thread at a time (the owner's); other threads may use
// other tables concurrently.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace psm::dict_types {

class DbJournal {
public:
    // db_path: the database file (NAME.db).
    explicit DbJournal(std::string db_path);
    ~DbJournal();
    DbJournal(const DbJournal&) = delete;
    DbJournal& operator=(const DbJournal&) = delete;

    static std::string journal_path(const std::string& db_path) { return db_path + ".journal"; }

    struct Recovery {
        enum class Outcome {
            none,       // no journal, or an empty one
            incomplete, // interrupted before its commit point: discarded
            replayed,   // complete: written to the database file
            mismatch,   // complete, but the file changed since: discarded
            failed,     // I/O error (error says why); nothing changed
        };
        Outcome outcome = Outcome::none;
        std::size_t blocks = 0;
        std::string error;
    };
    // Call with the database file's exclusive lock held, before Berkeley DB
    // opens it. db_fd: the database file, open read-write.
    static Recovery recover(const std::string& db_path, int db_fd);

    // Opens (creates, with `mode`) the journal file; "" or the reason.
    std::string open(unsigned mode);
    // From now on, captures Berkeley DB's writes to db_fd.
    void attach(int db_fd, std::size_t block_size);
    void detach();
    bool has_changes() const;
    // Makes the captured writes durable. false (errno set) on failure: the
    // captured writes stay in memory, and a complete journal stays on disk
    // for the next open.
    bool commit();
    // Clean close, after a successful commit: removes the journal file.
    void remove_file();

    // The I/O of an attached descriptor (used by the hooks).
    ssize_t read_at(void* buf, std::size_t n, off_t offset);
    ssize_t write_at(const void* buf, std::size_t n, off_t offset);
    int truncate(off_t size);
    off_t position = 0; // for the seek + read/write style of I/O
    off_t logical_size() const { return logical_size_; }

private:
    bool write_journal();
    bool apply();

    std::string db_path_;
    std::string journal_path_;
    int journal_fd_ = -1;
    int db_fd_ = -1;
    std::size_t block_size_ = 0;
    off_t disk_size_ = 0;    // the database file's size after the last commit
    off_t logical_size_ = 0; // the size Berkeley DB sees
    off_t zero_from_ = 0;    // unwritten bytes from here on read as zeros (after a shrink)
    std::map<std::uint64_t, std::vector<char>> blocks_;
    bool journal_dirty_ = false; // a complete journal is on disk (commit failed after step 1)
};

} // namespace psm::dict_types
