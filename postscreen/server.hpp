// The postscreen daemon on the event-server skeleton: builds everything
// once at start-up (core settings, SMTP engine settings, reply formatter,
// cache store, DNSBL client, one timer queue), accepts connections into
// sessions, and keeps what stock keeps process-wide: the per-client-IP
// table (shared stamps, concurrency, PASS-logged counter), the session
// counters behind the pre-/post-queue limits and the STRESS mode, the
// allowlist/denylist wording, the table-change check before new
// connections, the watchdog, and the drain when master goes away.
#pragma once

#include "cache_store.hpp"
#include "core_settings.hpp"
#include "dnsbl_client.hpp"
#include "readiness_watch.hpp"
#include "reply_formatter.hpp"
#include "session_state.hpp"
#include "smtp_engine.hpp"
#include "table_watch.hpp"
#include "timer_queue.hpp"
#include "watchdog.hpp"

#include "psm/global/daemon.hpp"
#include "psm/util/rate_limit.hpp"

#include <boost/intrusive/list.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace psm::postscreen {

class Session;

// Per-client-IP state shared by the IP's concurrent sessions.
struct ClientEntry {
    ClientState state;
    bool loading = false;               // the first session's cache lookup is under way
    std::vector<Session*> load_waiters; // later sessions waiting for it
};

class Server final : public Daemon {
public:
    // Pre-jail (as root, cwd = queue_directory): reads and checks the
    // configuration, opens tables and the cache, detaches with setsid().
    // Throws ConfigError with stock's wording.
    explicit Server(DaemonHost& host);
    ~Server() override;

    void post_jail() override;
    void accept(Connection connection) override;
    bool drain() override;
    void on_exit() override;

    // ---- for sessions
    boost::asio::io_context& io() { return host_.io(); }
    const CoreSettings& settings() const { return settings_; }
    const EngineSettings& engine_settings() const { return *engine_settings_; }
    const ReplyFormatter& formatter() const { return *formatter_; }
    CacheStore* cache() { return cache_.get(); } // null: no cache, or closed for the drain
    DnsblClient& dnsbl() { return *dnsbl_; }
    TimerQueue& timers() { return timers_; }
    ReadinessWatch& readiness() { return readiness_; }
    bool stressed() const { return stressed_; }
    int all_sessions() const { return all_sessions_; }
    int post_queue() const { return post_queue_; }

    // Registers a session's client IP (concurrency + 1, STRESS check).
    ClientEntry& attach(const std::string& client_addr);
    // The session is over (concurrency - 1; the entry goes with the last session).
    void detach(const std::string& client_addr, ClientEntry& entry);
    void post_queue_enter() { ++post_queue_; }
    void post_queue_leave() { --post_queue_; }

    // "ALLOWLISTED", "DENYLISTED", "ALLOWLIST VETO" or their pre-3.6 words,
    // with stock's one-time backwards-compatibility line.
    enum class ListWord { allowlisted, denylisted, veto };
    void log_listed(ListWord word, const std::string& addr, const std::string& port);

    // Session ownership (sessions own themselves; the list lets the server
    // close them all when it goes away).
    using SessionHook = boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
    void adopt(const std::shared_ptr<Session>& session);
    void release(Session& session);

    // Checks postscreen_upstream_proxy_protocol (stock does so at the first
    // connection; a bad value is fatal).
    bool use_haproxy();

    // True when a client's socket took one of the last descriptors below the
    // open-file limit (the kernel hands out the lowest free number, so every
    // one below it is in use). Such a client is refused, so that the
    // sessions already held keep descriptors for the hand-off, dnsblog, the
    // cache and the logs. Logs a warning at most once a minute.
    bool descriptors_low(int client_fd);

private:
    void check_tables();

    DaemonHost& host_;
    CoreSettings settings_;
    std::unique_ptr<EngineSettings> engine_settings_;
    std::unique_ptr<ReplyFormatter> formatter_;
    std::unique_ptr<CacheStore> cache_;
    TimerQueue timers_;
    ReadinessWatch readiness_;
    std::unique_ptr<DnsblClient> dnsbl_;
    TableWatch table_watch_;
    std::unique_ptr<Watchdog> watchdog_;

    std::unordered_map<std::string, ClientEntry> clients_;
    int all_sessions_ = 0;
    int post_queue_ = 0;
    bool stressed_ = false;
    bool compat_warned_ = false;
    bool proxy_checked_ = false;
    bool draining_ = false;
    std::chrono::steady_clock::time_point last_table_check_{};
    long descriptor_limit_ = 0;    // RLIMIT_NOFILE at start (0: unknown)
    long descriptor_headroom_ = 0; // descriptors kept free for the sessions held
    psm::RateLimit descriptor_warning_{std::chrono::minutes(1)};

    struct Owned;
    std::unique_ptr<Owned> owned_;
};

} // namespace psm::postscreen
