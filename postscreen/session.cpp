// Session: from accept to the first test ([A]-[I] of postscreen.md §1.3),
// plus the pieces every phase uses (sending, HANGUP, the end of a session).
#include "session_parts.hpp"

#include "haproxy.hpp"

#include "psm/util/format_delay.hpp"
#include "psm/util/log.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace psm::postscreen {

Session::Session(Server& server, UniqueFd client, ClientSlot slot, int family)
    : server_(server), socket_(server.io()), slot_(std::move(slot)), family_(static_cast<sa_family_t>(family)),
      client_descriptor_(std::move(client)) {}

Session::Socket& Session::socket() {
    if (!socket_.is_open() && client_descriptor_)
        socket_ = Connection::adopt_socket(server_.io(), client_descriptor_, family_);
    return socket_;
}

// Everything that refers to the server is released by finish()/abort().
Session::~Session() = default;

// ---------------------------------------------------------------- [A] endpoint

void Session::start(const Connection& connection) {
    auto keep = shared_from_this();
    if (server_.use_haproxy()) return start_proxy_wait();
    std::optional<Endpoint> ep = endpoint_from_socket(client_fd(), connection.peer, connection.peer_length,
                                                      connection.local, connection.local_length,
                                                      server_.settings().ipv4);
    if (!ep) return endpoint_failed();
    connected(std::move(*ep));
}

void Session::start_proxy_wait() {
    server_.timers().arm(
        timer_, std::chrono::seconds(server_.settings().proxy_timeout),
        [](void* p) {
            auto& s = *static_cast<Session*>(p);
            auto keep = s.shared_from_this();
            msg_warn("%s", std::string(kProxyTimeoutWarning).c_str());
            s.endpoint_failed();
        },
        this);
    watching_ = true;
    socket().async_wait(Socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
        self->watching_ = false;
        if (ec || self->phase_ != Phase::endpoint) return;
        self->timer_.cancel();
        const CoreSettings& s = self->server_.settings();
        std::optional<Endpoint> ep = endpoint_from_proxy(self->client_fd(), s.ipv4, s.ipv6);
        if (!ep) return self->endpoint_failed();
        self->connected(std::move(*ep));
    });
}

void Session::endpoint_failed() {
    // Best effort, raw: no footer, no soft_bounce; no CONNECT, no DISCONNECT.
    ssize_t ignored =
        ::send(client_fd(), kNoResourcesReply.data(), kNoResourcesReply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)ignored;
    finish();
}

// ---------------------------------------------------------------- [B]..[E]

void Session::connected(Endpoint endpoint) {
    endpoint_ = std::move(endpoint);
    const CoreSettings& s = server_.settings();
    const std::string port = endpoint_.client_port_text();
    msg_info("CONNECT from [%s]:%s to [%s]:%s", endpoint_.client_addr.c_str(), port.c_str(),
             endpoint_.server_addr.c_str(), endpoint_.server_port_text().c_str());
    client_ = &server_.attach(endpoint_.client_addr);
    attached_ = true;

    // [C] per-client connection count (everyone, allowlisted or not)
    if (s.connection_count_limit > 0 && client_->state.sessions > s.connection_count_limit) {
        msg_info("NOQUEUE: reject: CONNECT from %s: too many connections", addr_port().c_str());
        return drop("421 4.7.0 Error: too many connections");
    }
    // [D] post-queue
    if (s.post_queue_limit > 0 && server_.post_queue() >= s.post_queue_limit) {
        msg_info("NOQUEUE: reject: CONNECT from %s: all server ports busy", addr_port().c_str());
        return drop("421 4.3.2 All server ports are busy");
    }
    // Descriptor headroom (psmaster; stock dies at the limit): refused as
    // stock refuses at the pre-queue limit.
    if (server_.descriptors_low(client_fd())) {
        msg_info("reject: connect from %s: all screening ports busy", addr_port().c_str());
        return drop("421 4.3.2 All screening ports are busy");
    }
    // [E] permanent access list
    if (s.access_list) {
        switch (s.access_list->evaluate(endpoint_.client_addr)) {
        case AclResult::permit:
            server_.log_listed(Server::ListWord::allowlisted, endpoint_.client_addr, port);
            return conclude(); // nothing to do, nothing passed: a silent hand-off
        case AclResult::reject:
            server_.log_listed(Server::ListWord::denylisted, endpoint_.client_addr, port);
            switch (s.denylist_action) {
            case Action::drop:
                return drop("521 5.3.2 Service currently unavailable");
            case Action::enforce:
                state_.denylist_fail = true;
                state_.noforward = true;
                state_.rcpt_reply = "550 5.3.2 Service currently unavailable";
                break;
            case Action::ignore:
                break;
            }
            break;
        case AclResult::dunno:
        case AclResult::error:
            break;
        }
    }
    check_cache();
}

// ---------------------------------------------------------------- [F] cache

void Session::check_cache() {
    CacheStore* cache = server_.cache();
    if (!state_.any_fail() && client_->state.sessions == 1 && cache) {
        client_->loading = true;
        phase_ = Phase::load;
        cache->lookup(endpoint_.client_addr, [self = shared_from_this()](std::optional<CacheRecord> record) {
            if (self->phase_ != Phase::load) return;
            self->cache_loaded(std::move(record));
        });
        return;
    }
    if (client_->loading) {
        // Another session of this IP is still reading its stamps: stock reads
        // them synchronously, so this session must see the result too.
        phase_ = Phase::load;
        client_->load_waiters.push_back(this);
        return;
    }
    after_cache(false, false);
}

void Session::cache_loaded(std::optional<CacheRecord> record) {
    ClientEntry& client = *client_;
    client.loading = false;
    if (record) client.state.stamps = *record;
    std::vector<Session*> waiters = std::move(client.load_waiters);
    client.load_waiters.clear();
    std::vector<std::shared_ptr<Session>> wake;
    wake.reserve(waiters.size());
    for (Session* w : waiters)
        wake.push_back(w->shared_from_this());
    after_cache(true, record.has_value());
    for (auto& w : wake)
        if (w->phase_ == Phase::load) w->after_cache(false, false);
}

void Session::compute_todo() {
    const std::time_t now = std::time(nullptr);
    const PscEnabledTests& enabled = server_.settings().enabled;
    const CacheRecord& stamps = client_->state.stamps;
    for (std::size_t i = 0; i < kTestCount; ++i)
        state_.tests[i].todo = stamps.todo(static_cast<Test>(i), now, enabled);
    state_.new_client = stamps.has_new_stamp();
}

void Session::after_cache(bool loaded_here, bool hit) {
    const CoreSettings& s = server_.settings();
    phase_ = Phase::endpoint; // between phases
    compute_todo();
    bool any_todo = false;
    for (const auto& t : state_.tests)
        any_todo |= t.todo;
    if (loaded_here && hit && !any_todo) {
        msg_info("PASS OLD %s", addr_port().c_str());
        return conclude(); // hand-off; no teaser, veto, pre-queue check or cache write
    }
    // [G] allowlist interfaces (a lookup error counts as "no match")
    if (s.allowlist_interfaces && s.allowlist_interfaces->match(endpoint_.server_addr) != AddrMatch::match) {
        state_.allowlist_fail = true;
        state_.noforward = true;
        server_.log_listed(Server::ListWord::veto, endpoint_.client_addr, endpoint_.client_port_text());
    }
    // [H] pre-queue (sessions being screened, this one included)
    if (s.pre_queue_limit > 0 && server_.all_sessions() - server_.post_queue() >= s.pre_queue_limit) {
        msg_info("reject: connect from %s: all screening ports busy", addr_port().c_str());
        return drop("421 4.3.2 All screening ports are busy");
    }
    dispatch();
}

void Session::dispatch() {
    if (state_[Test::pregreet].todo || state_[Test::dnsbl].todo) return start_early();
    if (state_[Test::pipelining].todo || state_[Test::non_smtp].todo || state_[Test::bare_newline].todo ||
        state_.noforward)
        return start_smtp();
    conclude();
}

// ---------------------------------------------------------------- common

std::string Session::addr_port() const {
    return "[" + endpoint_.client_addr + "]:" + endpoint_.client_port_text();
}

std::string Session::after() const {
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - phase_start_);
    return format_delay(elapsed, server_.settings().delay_resolution);
}

bool Session::send(std::string_view bytes) {
    std::string_view out = bytes;
    if (unsent_) {
        unsent_->append(bytes);
        out = *unsent_;
    }
    if (out.empty()) return true;
    ssize_t n;
    do
        n = ::send(client_fd(), out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            if (errno != EPIPE && errno != ECONNRESET)
                msg_warn("write [%s]:%s: %s", endpoint_.client_addr.c_str(), endpoint_.client_port_text().c_str(),
                         std::strerror(errno));
            return false;
        }
        n = 0;
    }
    const auto sent = static_cast<std::size_t>(n);
    if (sent == out.size()) {
        unsent_.reset();
    } else if (unsent_) {
        unsent_->erase(0, sent);
    } else {
        unsent_ = std::make_unique<std::string>(out.substr(sent));
    }
    return true;
}

bool Session::send_reply(std::string_view reply) {
    return send(server_.formatter().format(reply, endpoint_.text()));
}

void Session::drop(std::string reply) {
    state_.noforward = true;
    state_.final_reply = std::move(reply);
    conclude();
}

void Session::hangup() {
    if (phase_ == Phase::done) return;
    msg_info("HANGUP after %s from [%s]:%s in %s", after().c_str(), endpoint_.client_addr.c_str(),
             endpoint_.client_port_text().c_str(),
             in_early_phase_ ? "tests before SMTP handshake" : "tests after SMTP handshake");
    state_.hangup = true;
    state_.noforward = true;
    conclude();
}

void Session::close_client() {
    stop_watching(); // the private watch needs the descriptor still open
    boost::system::error_code ignored;
    socket_.close(ignored); // also cancels a pending readiness wait
    client_descriptor_.reset();
    watching_ = false;
}

void Session::finish() {
    if (phase_ == Phase::done) return;
    phase_ = Phase::done;
    timer_.cancel();
    if (dnsbl_) server_.dnsbl().leave(dnsbl_->waiter);
    dnsbl_.reset();
    if (smtp_) smtp_->reader.stop();
    if (handoff_) {
        if (handoff_->counted) server_.post_queue_leave();
        if (handoff_->ticket != 0) server_.readiness().cancel(handoff_->ticket, handoff_->channel.get());
        handoff_->ticket = 0;
        handoff_->channel.reset();
    }
    close_client();
    if (client_) {
        auto& waiters = client_->load_waiters;
        std::erase(waiters, this);
    }
    if (attached_) {
        attached_ = false;
        server_.detach(endpoint_.client_addr, *client_);
    }
    client_ = nullptr;
    slot_.release();
    server_.release(*this);
    // The engine and reader go with the session: a completion still queued
    // only holds the (now closed) session.
    self.reset(); // may destroy *this: callers hold a reference
}

void Session::abort() {
    auto keep = shared_from_this();
    finish();
}

} // namespace psm::postscreen
