// Server: start-up, accepting, the per-IP table, counters and STRESS mode,
// list wording, table-change drain and the master-EOF drain.
#include "server.hpp"

#include "session.hpp"

#include "psm/util/log.hpp"

#include <boost/asio/post.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace psm::postscreen {

namespace bi = boost::intrusive;

struct Server::Owned {
    bi::list<Session, bi::member_hook<Session, SessionHook, &Session::hook>, bi::constant_time_size<false>> sessions;
};

namespace {

// Parameters whose tables postscreen keeps open (the cache excluded: it
// changes all the time).
constexpr const char* kTableParameters[] = {
    "postscreen_access_list",          "mynetworks",
    "postscreen_allowlist_interfaces", "postscreen_dnsbl_reply_map",
    "postscreen_command_filter",       "postscreen_discard_ehlo_keyword_address_maps",
    "postscreen_reject_footer_maps",   "postscreen_forbidden_commands",
};

} // namespace

Server::Server(DaemonHost& host)
    : host_(host), settings_(CoreSettings::from_config(host.config())),
      engine_settings_(std::make_unique<EngineSettings>(EngineSettings::from_config(host.config()))),
      formatter_(std::make_unique<ReplyFormatter>(ReplyFormatter::from_config(host.config()))), timers_(host.io()),
      readiness_(host.io()), owned_(std::make_unique<Owned>()) {
    engine_settings_->tlsproxy_ready = true; // STARTTLS goes to tlsproxy (starttls.hpp)
    cache_ = CacheStore::open(host.io(), host.config());
    dnsbl_ = std::make_unique<DnsblClient>(host.io(), timers_, settings_);
    for (const char* name : kTableParameters)
        table_watch_.add_value(host.config().get_str(name));
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        descriptor_limit_ = static_cast<long>(rl.rlim_cur);
        descriptor_headroom_ = std::max(32L, descriptor_limit_ / 64);
    }
}

bool Server::descriptors_low(int client_fd) {
    if (descriptor_limit_ <= 0 || client_fd < descriptor_limit_ - descriptor_headroom_) return false;
    if (descriptor_warning_.allow())
        msg_warn("open file limit %ld nearly reached: refusing new clients while fewer than %ld descriptors are free",
                 descriptor_limit_, descriptor_headroom_);
    return true;
}

Server::~Server() {
    // Close every session without logging (process exit or test teardown);
    // sessions must not outlive the objects they use.
    while (!owned_->sessions.empty())
        owned_->sessions.front().abort();
    watchdog_.reset();
    if (cache_) cache_->close();
}

void Server::post_jail() {
    // Stock starts the cache cleanup and the watchdog after the jail.
    if (cache_) cache_->start_cleanup(settings_.enabled);
    watchdog_ = std::make_unique<Watchdog>(host_.io(), std::chrono::seconds(settings_.watchdog_timeout));
}

void Server::on_exit() {
    watchdog_.reset();
    if (cache_) cache_->close();
}

bool Server::use_haproxy() {
    if (!proxy_checked_) {
        proxy_checked_ = true;
        if (!settings_.proxy_protocol.empty() && settings_.proxy_protocol != "haproxy")
            msg_fatal("unsupported postscreen_upstream_proxy_protocol value: %s", settings_.proxy_protocol.c_str());
    }
    return !settings_.proxy_protocol.empty();
}

void Server::accept(Connection connection) {
    check_tables();
    const int family = connection.peer_length > 0 ? connection.peer.ss_family : AF_UNSPEC;
    auto session = std::make_shared<Session>(*this, std::move(connection.fd), std::move(connection.slot), family);
    adopt(session);
    session->start(connection);
}

void Server::check_tables() {
    if (draining_ || table_watch_.size() == 0) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_table_check_ < std::chrono::seconds(1)) return;
    last_table_check_ = now;
    if (std::optional<std::string> name = table_watch_.changed()) {
        msg_info("table %s has changed - finishing in the background", name->c_str());
        draining_ = true;
        // After this connection is set up: the drain closes the listeners
        // and forks.
        boost::asio::post(host_.io(), [this] { host_.drain(); });
    }
}

bool Server::drain() {
    draining_ = true;
    // No cache updates after this point (stock closes the cache before it
    // forks). The store's worker thread would not survive the fork anyway,
    // and the exclusive lock must go to the replacement process; so the
    // table-change drain closes it too, as newer Postfix releases do.
    if (cache_) {
        cache_->close();
        cache_.reset();
    }
    watchdog_.reset();
    if (!host_.fork_to_background()) msg_warn("fork: %s -- finishing in the foreground", std::strerror(errno));
    watchdog_ = std::make_unique<Watchdog>(host_.io(), std::chrono::seconds(settings_.watchdog_timeout));
    return true;
}

// ---------------------------------------------------------------- sessions

void Server::adopt(const std::shared_ptr<Session>& session) {
    session->self = session;
    owned_->sessions.push_back(*session);
}

void Server::release(Session& session) {
    if (session.hook.is_linked()) session.hook.unlink();
}

ClientEntry& Server::attach(const std::string& client_addr) {
    ClientEntry& entry = clients_[client_addr];
    ++entry.state.sessions;
    ++all_sessions_;
    if (!stressed_ && all_sessions_ >= settings_.stress_hiwat) {
        stressed_ = true;
        msg_info("entering STRESS mode with %d connections", all_sessions_);
    }
    return entry;
}

void Server::detach(const std::string& client_addr, ClientEntry& entry) {
    if (--entry.state.sessions <= 0) clients_.erase(client_addr);
    --all_sessions_;
    if (stressed_ && all_sessions_ <= settings_.stress_lowat) {
        stressed_ = false;
        msg_info("leaving STRESS mode with %d connections", all_sessions_);
    }
}

void Server::log_listed(ListWord word, const std::string& addr, const std::string& port) {
    static constexpr const char* kWords[2][3] = {
        {"WHITELISTED", "BLACKLISTED", "WHITELIST VETO"},
        {"ALLOWLISTED", "DENYLISTED", "ALLOWLIST VETO"},
    };
    msg_info("%s [%s]:%s", kWords[settings_.respectful_logging ? 1 : 0][static_cast<int>(word)], addr.c_str(),
             port.c_str());
    if (settings_.warn_compat_respectful && !compat_warned_) {
        compat_warned_ = true;
        msg_info("using backwards-compatible default setting respectful_logging=no for client [%s]:%s", addr.c_str(),
                 port.c_str());
    }
}

} // namespace psm::postscreen
