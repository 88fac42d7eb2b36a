// Test support for crash-safe btree:/hash: tables (DictOpenOptions::crash_safe):
// a probe called at each step of a commit, so that a test's child process can
// _exit() at that exact point and the parent can check what the next open
// makes of the files. Never set in production code.
#pragma once

#include <cstddef>

namespace psm {

enum class DictCommitStep {
    journal_write,   // before the journal is written (index 0)
    journal_synced,  // the journal is complete and on disk: the commit point
    database_block,  // before the index-th block is written to the database file
    database_synced, // the database file is complete and on disk
};

using DictCommitProbe = void (*)(DictCommitStep step, std::size_t index);

// Process-wide; nullptr removes the probe.
void dict_set_commit_probe(DictCommitProbe probe);

} // namespace psm
