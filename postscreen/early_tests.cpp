// The tests before the SMTP greeting (postscreen.md §1.4, §2.2, §2.4): the
// teaser, the greet wait, the pregreet peek and the DNSBL score.
#include "session_parts.hpp"

#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>

namespace psm::postscreen {

namespace {

// Stock peeks into a 1024-byte buffer, leaving room for a NUL.
constexpr std::size_t kPregreetPeek = 1023;

// Shared by every session: peeked bytes are logged and forgotten at once.
std::array<char, kPregreetPeek>& peek_buffer() {
    static std::array<char, kPregreetPeek> buffer;
    return buffer;
}

// What the client has sent so far, left in the socket: the number of bytes
// copied into peek_buffer(), 0 at the end of input, or -1 with errno.
ssize_t peek_input(int fd) {
    auto& buf = peek_buffer();
    ssize_t n;
    do
        n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    return n;
}

bool nothing_yet(ssize_t peeked) {
    return peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// How long a session whose greet wait is over waits for a DNSBL reply that
// dnsblog is about to send (it answers by the deadline it was given, which
// is the end of that greet wait): the local round trip, generously.
constexpr auto kDnsblGrace = std::chrono::milliseconds(500);

} // namespace

void Session::start_early() {
    const CoreSettings& s = server_.settings();
    phase_ = Phase::early;
    in_early_phase_ = true;
    phase_start_ = Clock::now();
    const auto wait = s.greet_wait(server_.stressed());

    if (state_[Test::pregreet].todo) {
        if (!send(s.teaser)) return hangup();
        state_.teaser_sent = true;
    }
    if (state_[Test::dnsbl].todo) {
        dnsbl_ = std::make_unique<DnsblState>();
        server_.dnsbl().join(dnsbl_->waiter, endpoint_.client_addr,
                             std::chrono::duration_cast<std::chrono::milliseconds>(wait), &Session::on_dnsbl_ready,
                             this);
    }
    server_.timers().arm(timer_, wait, &Session::on_early_timer, this);
    if (state_[Test::pregreet].todo) watch_pregreet();
}

// Only while the pregreet test runs: without it, stock does not notice
// client input or a hangup during the wait.
void Session::watch_pregreet() {
    watching_ = true;
    watch_ticket_ = server_.readiness().watch(client_fd(), &Session::on_pregreet_ready, this);
    if (watch_ticket_ != 0) return;
    // No memory for the private watch: the event loop's own wait.
    socket().async_wait(Socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
        self->watching_ = false;
        if (self->phase_ != Phase::early || self->state_[Test::pregreet].done) return;
        if (ec) return self->hangup();
        self->on_pregreet_readable();
    });
}

void Session::on_pregreet_ready(void* self) {
    auto& s = *static_cast<Session*>(self);
    auto keep = s.shared_from_this();
    s.watch_ticket_ = 0;
    s.watching_ = false;
    if (s.phase_ != Phase::early || s.state_[Test::pregreet].done) return;
    s.on_pregreet_readable();
}

void Session::stop_watching() {
    if (!watching_) return;
    if (watch_ticket_ != 0) {
        server_.readiness().cancel(watch_ticket_, client_fd());
        watch_ticket_ = 0;
        watching_ = false;
        return;
    }
    boost::system::error_code ignored;
    socket_.cancel(ignored); // its handler clears watching_
}

void Session::on_pregreet_readable() {
    on_pregreet_input(peek_input(client_fd()));
}

void Session::on_pregreet_input(ssize_t n) {
    if (nothing_yet(n)) return watch_pregreet();
    if (n <= 0) return hangup();
    const auto& buf = peek_buffer();
    std::string escaped = c_escape(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    if (escaped.size() > 100) escaped.resize(100);
    msg_info("PREGREET %d after %s from [%s]:%s: %s", static_cast<int>(n), after().c_str(),
             endpoint_.client_addr.c_str(), endpoint_.client_port_text().c_str(), escaped.c_str());
    state_[Test::pregreet].fail = true;
    switch (server_.settings().greet_action) {
    case Action::drop:
        return drop("521 5.5.1 Protocol error");
    case Action::enforce:
        state_.rcpt_reply = "550 5.5.1 Protocol error";
        state_.noforward = true;
        break;
    case Action::ignore:
        break; // decided at the end of the wait
    }
    state_[Test::pregreet].done = true;
    // The bytes stay in the socket (for smtpd, or the SMTP engine). Nothing
    // more to watch; end the wait now if nothing else is pending.
    if (early_tests_done()) end_early();
}

bool Session::early_tests_done() const {
    const TestFlags& pregreet = state_[Test::pregreet];
    const TestFlags& dnsbl = state_[Test::dnsbl];
    return (!pregreet.todo || pregreet.done) && (!dnsbl.todo || dnsbl.done);
}

void Session::on_dnsbl_ready(void* self) {
    auto& s = *static_cast<Session*>(self);
    auto keep = s.shared_from_this();
    if (s.phase_ != Phase::early && s.phase_ != Phase::grace) return;
    s.retrieve_dnsbl();
    if (s.phase_ == Phase::grace || s.early_tests_done()) s.end_early();
}

// Reads the score (partial if dnsblog has not answered) and applies the
// DNSBL allowlist (postscreen_dnsbl_allowlist_threshold < 0).
void Session::retrieve_dnsbl() {
    if (!dnsbl_ || dnsbl_->retrieved) return;
    const CoreSettings& s = server_.settings();
    dnsbl_->result = server_.dnsbl().retrieve(dnsbl_->waiter);
    dnsbl_->retrieved = true;
    state_[Test::dnsbl].done = true;
    const int score = dnsbl_->result.score;
    if (s.dnsbl_allowlist_threshold < 0 && !state_.any_fail() && score < s.dnsbl_threshold &&
        score <= s.dnsbl_allowlist_threshold) {
        const std::time_t expire = std::time(nullptr) + dnsbl_->result.ttl;
        for (Test t : {Test::pregreet, Test::pipelining, Test::non_smtp, Test::bare_newline}) {
            TestFlags& f = state_[t];
            if (f.todo && !f.pass) {
                f.pass = true;
                f.done = true;
            }
            std::time_t& stamp = client_->state.stamps[t];
            stamp = std::max(stamp, expire);
        }
    }
}

void Session::on_early_timer(void* self) {
    auto& s = *static_cast<Session*>(self);
    auto keep = s.shared_from_this();
    if (s.phase_ == Phase::grace) return s.end_early();
    if (s.phase_ != Phase::early) return;
    // Input waiting now came before the greet wait ended (the final 220 is
    // not sent yet, so none of it was the client's turn): a pregreet, also
    // when the event loop, late under load, gets to this timer before the
    // read event.
    if (s.state_[Test::pregreet].todo && !s.state_[Test::pregreet].done) {
        if (ssize_t n = peek_input(s.client_fd()); !nothing_yet(n)) {
            s.stop_watching();
            s.on_pregreet_input(n);
            if (s.phase_ != Phase::early) return; // dropped, hung up or over
        }
    }
    // The greet wait is over. A DNSBL reply due by now may still be on its
    // way from dnsblog: give it a moment rather than lose the score.
    if (s.dnsbl_ && !s.dnsbl_->retrieved && s.server_.dnsbl().pending(s.dnsbl_->waiter)) {
        s.phase_ = Phase::grace;
        s.stop_watching();
        s.server_.timers().arm(s.timer_, kDnsblGrace, &Session::on_early_timer, self);
        return;
    }
    s.end_early();
}

void Session::end_early() {
    const CoreSettings& s = server_.settings();
    timer_.cancel();
    phase_ = Phase::endpoint; // between phases: late completions are ignored
    stop_watching();
    const std::time_t now = std::time(nullptr);

    TestFlags& pregreet = state_[Test::pregreet];
    if (pregreet.todo && !pregreet.fail && !pregreet.done) {
        client_->state.stamps[Test::pregreet] = now + s.greet_ttl;
        pregreet.pass = true;
    }
    if (pregreet.fail && s.greet_action == Action::ignore) pregreet.fail = false; // not passed: again next time

    TestFlags& dnsbl = state_[Test::dnsbl];
    if (dnsbl.todo) {
        retrieve_dnsbl();
        const DnsblClient::Result result = dnsbl_->result;
        dnsbl_.reset();
        if (result.score < s.dnsbl_threshold) {
            client_->state.stamps[Test::dnsbl] = now + result.ttl;
            dnsbl.pass = true;
        } else {
            msg_info("DNSBL rank %d for %s", result.score, addr_port().c_str());
            dnsbl.fail = true;
            const std::string& name = s.dnsbl_reply_name(result.dnsbl_name);
            switch (s.dnsbl_action) {
            case Action::drop:
                return drop("521 5.7.1 Service unavailable; client [" + endpoint_.client_addr + "] blocked using " +
                            name);
            case Action::enforce:
                state_.rcpt_reply =
                    "550 5.7.1 Service unavailable; client [" + endpoint_.client_addr + "] blocked using " + name;
                state_.noforward = true;
                break;
            case Action::ignore:
                dnsbl.fail = false; // not passed: queried again next time
                break;
            }
        }
    }

    bool deep_pending = false;
    for (Test t : {Test::pipelining, Test::non_smtp, Test::bare_newline})
        deep_pending |= state_[t].todo && !state_[t].pass;
    if (state_.noforward || deep_pending) return start_smtp();
    conclude();
}

} // namespace psm::postscreen
