// What postscreen knows about one session (one accepted connection) and about
// one client IP (shared by its concurrent sessions): the five cacheable tests'
// flags and expiry stamps, and the replies decided so far. The early tests,
// the SMTP engine and the conclusion all read and write this; the rules are
// those of stock 3.7 (see ../shared/spec/postscreen.md §1.2, §1.8, §2, §7).
#pragma once

#include "psm/global/cache_record.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

namespace psm::postscreen {

// The five cacheable tests in stock's index order (also the cache field order).
using Test = psm::PscTest;
inline constexpr std::size_t kTestCount = psm::kPscTestCount;
inline constexpr std::size_t index_of(Test t) { return static_cast<std::size_t>(t); }

// Per-test flags of one session.
struct TestFlags {
    bool todo = false; // must be done in this session (enabled and expired, or forced)
    bool pass = false; // passed in this session
    bool fail = false; // failed in this session
    bool done = false; // decided: not to be evaluated again in this session ("skip")
};

// What to do when a test fails (postscreen_*_action). "continue" parses as ignore.
enum class Action : std::uint8_t { ignore, enforce, drop };

// Per-client state: one per client IP while it has live sessions.
struct ClientState {
    // Expiry stamps in test order (CacheRecord: 0 = never passed, 1 = never
    // passed and disabled when written, else the UNIX time the pass expires).
    CacheRecord stamps;
    int sessions = 0;        // live sessions of this IP (the concurrency count)
    int pass_new_logged = 0; // sessions of this IP that logged PASS NEW/OLD so far
};

// A reply decided for a session: a string literal, kept as a view (the
// defaults above all would otherwise be two heap strings in every idle
// session), or a composed text the session owns.
class ReplyText {
public:
    template <std::size_t N>
    constexpr ReplyText(const char (&literal)[N]) : text_(literal, N - 1) {} // NOLINT: literals convert
    ReplyText(std::string text)                                              // NOLINT: so do strings
        : owned_(std::make_unique<std::string>(std::move(text))), text_(*owned_) {}

    operator std::string_view() const { return text_; } // NOLINT: used where a reply text goes
    std::string_view view() const { return text_; }
    friend bool operator==(const ReplyText& a, std::string_view b) { return a.text_ == b; }

private:
    std::unique_ptr<std::string> owned_; // moves keep the text where text_ points
    std::string_view text_;
};

// Per-session state.
struct SessionState {
    std::array<TestFlags, kTestCount> tests{};

    bool new_client = false;     // NEW: some enabled test had stamp 0 when the session started
    bool noforward = false;      // NOFORWARD: must not be handed to smtpd
    bool denylist_fail = false;  // access list said reject and the action is enforce
    bool allowlist_fail = false; // ALLOWLIST VETO (postscreen_allowlist_interfaces)
    bool hangup = false;         // the client hung up (EOF/read or write error)
    bool x21 = false;            // hand-off failed after a teaser (stock's X21 mode)
    bool teaser_sent = false;    // "220-..." was sent in the early phase

    // The reply for every RCPT and VRFY in the SMTP engine: the default 450,
    // or the reply of the last enforce action (denylist, pregreet, DNSBL,
    // deep tests, in the order they fire).
    ReplyText rcpt_reply{"450 4.3.2 Service currently unavailable"};
    // The reply sent when the session ends without a hand-off (replaced by
    // a drop action's reply, or the X21 reply); not sent after a hangup.
    ReplyText final_reply{"421 4.3.2 Service currently unavailable"};

    TestFlags& operator[](Test t) { return tests[index_of(t)]; }
    const TestFlags& operator[](Test t) const { return tests[index_of(t)]; }

    bool any_fail() const {
        for (const auto& t : tests)
            if (t.fail) return true;
        return denylist_fail || allowlist_fail;
    }
};

} // namespace psm::postscreen
