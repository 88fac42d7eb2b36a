// postscreen's temporary allowlist record: five expiry stamps in test order
// (pregreet, dnsbl, pipelining, non_smtp, bare_newline) stored as
// "%lu;%lu;%lu;%lu;%lu" under the client IP, with stock's parsing quirks,
// and the "to do" / cleanup decisions made from it.
#pragma once

#include <array>
#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>

namespace psm {

enum class PscTest : std::size_t { pregreet = 0, dnsbl, pipelining, non_smtp, bare_newline };
inline constexpr std::size_t kPscTestCount = 5;

// Key under which cleanup stores the time of the last completed walk.
inline constexpr std::string_view kCacheCleanupKey = "_LAST_CACHE_CLEANUP_COMPLETED_";

// Special stamp values (anything else is an expiry time in UNIX seconds).
inline constexpr std::time_t kStampInvalid = -1; // in memory only, never stored
inline constexpr std::time_t kStampNew = 0;      // never passed, test enabled when written
inline constexpr std::time_t kStampDisabled = 1; // never passed, test disabled when written

// Which tests are currently enabled, indexed by PscTest.
using PscEnabledTests = std::array<bool, kPscTestCount>;

struct CacheRecord {
    std::array<std::time_t, kPscTestCount> stamps{};

    std::time_t& operator[](PscTest test) { return stamps[static_cast<std::size_t>(test)]; }
    std::time_t operator[](PscTest test) const { return stamps[static_cast<std::size_t>(test)]; }

    // A fresh record: every stamp kStampNew.
    static CacheRecord fresh() { return CacheRecord{}; }

    // Parses a stored value as stock does (strtoul per field): a missing
    // field (older 2- or 3-field records), a trailing empty field, a
    // malformed or an out-of-range field becomes kStampDisabled. Stock
    // quirks kept: after junk the next field is read from where the parse
    // stopped ("5 6;7" is 1;6;7;1;1); an empty field before a ';' reads as
    // 0 ("5;;7" is 5;0;7;1;1); after an out-of-range field every later
    // field is disabled; text after a NUL byte is ignored.
    static CacheRecord decode(std::string_view value);

    // "%lu;%lu;%lu;%lu;%lu" as stored.
    std::string encode() const;

    // What stock writes at session end: a still-new stamp of a test that
    // is disabled now becomes kStampDisabled, then encode().
    std::string encode_for_store(const PscEnabledTests& enabled);

    // A test is "to do" when it is enabled and now > its stamp.
    bool todo(PscTest test, std::time_t now, const PscEnabledTests& enabled) const;
    // Some enabled test is to do (false means PASS OLD).
    bool any_todo(std::time_t now, const PscEnabledTests& enabled) const;
    // Some stamp (enabled test or not) is kStampNew: the client has not yet
    // passed all tests ("PASS NEW" when it does).
    bool has_new_stamp() const;

    // Cleanup: the entry is dropped when some enabled test would be to do
    // at (now - retention), i.e. its stamp < now - retention.
    bool expired_for_cleanup(std::time_t now, std::time_t retention, const PscEnabledTests& enabled) const;

    friend bool operator==(const CacheRecord&, const CacheRecord&) = default;
};

} // namespace psm
