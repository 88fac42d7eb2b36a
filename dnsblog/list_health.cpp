// ListHealth: probes of 127.0.0.1/127.0.0.2 per DNSBL domain, the
// disable/enable decisions and their log lines (list_health.hpp).
#include "list_health.hpp"

#include "psm/util/inet_addr.hpp"
#include "psm/util/log.hpp"

#include <optional>

namespace psm::dnsblog {

namespace {

constexpr std::size_t kMaxDomains = 1024;
constexpr auto kForgetAfter = std::chrono::hours(24);

std::string dotted(const std::array<std::uint8_t, 4>& a) {
    return InetAddr::v4(a).to_string();
}

} // namespace

bool is_refusal_code(const std::array<std::uint8_t, 4>& a) {
    return a[0] == 127 && a[1] == 255 && a[2] == 255;
}

// Both probe answers of one check.
struct ListHealth::Probe {
    std::string domain;
    int outstanding = 2;
    // nullopt: the query failed; else the A records (empty: not listed).
    std::optional<std::vector<std::array<std::uint8_t, 4>>> test1, test2;
};

ListHealth::ListHealth(boost::asio::io_context& io, DnsClient& dns, int interval_seconds)
    : io_(io), dns_(dns), interval_(interval_seconds), timer_(io) {
    arm_timer();
}

ListHealth::~ListHealth() {
    *alive_ = false;
    timer_.cancel();
}

void ListHealth::arm_timer() {
    if (interval_ <= 0) return;
    timer_.expires_after(std::chrono::seconds(interval_));
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive) return;
        tick();
        arm_timer();
    });
}

void ListHealth::tick() {
    const auto now = std::chrono::steady_clock::now();
    for (auto it = domains_.begin(); it != domains_.end();) {
        State& s = it->second;
        if (!s.disabled && !s.probing && now - s.last_used > kForgetAfter) {
            it = domains_.erase(it);
            continue;
        }
        if (!s.probing) probe(it->first);
        ++it;
    }
}

void ListHealth::note_used(const std::string& domain) {
    if (interval_ <= 0) return;
    auto it = domains_.find(domain);
    if (it == domains_.end()) {
        if (domains_.size() >= kMaxDomains) {
            if (!full_warned_)
                msg_warn("dnsblog: more than %zu DNSBL domains in use: not checking the health of %s", kMaxDomains,
                         domain.c_str());
            full_warned_ = true;
            return;
        }
        it = domains_.emplace(domain, State()).first;
        it->second.pending = true;
        it->second.last_used = std::chrono::steady_clock::now();
        probe(domain);
        return;
    }
    it->second.last_used = std::chrono::steady_clock::now();
}

bool ListHealth::disabled(const std::string& domain) const {
    auto it = domains_.find(domain);
    return it != domains_.end() && it->second.disabled;
}

bool ListHealth::pending(const std::string& domain) const {
    auto it = domains_.find(domain);
    return it != domains_.end() && it->second.pending;
}

void ListHealth::defer(const std::string& domain, std::function<void()> fn) {
    auto it = domains_.find(domain);
    if (it == domains_.end() || !it->second.pending) return fn();
    it->second.deferred.push_back(std::move(fn));
}

void ListHealth::probe(const std::string& domain) {
    State& state = domains_[domain];
    state.probing = true;
    ++probes_;
    auto probe = std::make_shared<Probe>();
    probe->domain = domain;
    auto on_answer = [this, alive = alive_, probe](bool first, DnsResult&& r) {
        if (!*alive) return;
        std::optional<std::vector<std::array<std::uint8_t, 4>>> found;
        if (r.status == DnsResult::Status::answer && !r.answer.malformed &&
            (r.answer.rcode == kRcodeNoError || r.answer.rcode == kRcodeNxDomain))
            found = r.answer.a;
        (first ? probe->test1 : probe->test2) = std::move(found);
        if (--probe->outstanding == 0) verdict(probe->domain, *probe);
    };
    dns_.query(InetAddr::v4({127, 0, 0, 1}).dnsbl_query(domain), kTypeA,
               [on_answer](DnsResult&& r) mutable { on_answer(true, std::move(r)); });
    dns_.query(InetAddr::v4({127, 0, 0, 2}).dnsbl_query(domain), kTypeA,
               [on_answer](DnsResult&& r) mutable { on_answer(false, std::move(r)); });
}

void ListHealth::disable(State& state, const std::string& domain, const std::string& why) {
    if (state.disabled) return;
    state.disabled = true;
    msg_warn("dnsblog: disabling DNSBL domain %s: %s -- lookups report it as disabled until it is healthy again",
             domain.c_str(), why.c_str());
}

void ListHealth::verdict(const std::string& domain, const Probe& probe) {
    auto it = domains_.find(domain);
    if (it == domains_.end()) return;
    State& state = it->second;
    state.probing = false;

    std::string refusal;
    for (const auto* test : {&probe.test1, &probe.test2}) {
        if (!*test) continue;
        for (const auto& a : **test)
            if (is_refusal_code(a) && refusal.empty())
                refusal = "query refused (reply " + dotted(a) + " for test address " +
                          (test == &probe.test1 ? "127.0.0.1" : "127.0.0.2") + ")";
    }
    if (!refusal.empty()) {
        disable(state, domain, refusal);
    } else if (probe.test1 && !probe.test1->empty()) {
        disable(state, domain, "it lists the test address 127.0.0.1 (as " + dotted(probe.test1->front()) + ")");
    } else if (probe.test1) {
        if (state.disabled) msg_info("dnsblog: DNSBL domain %s is healthy again -- enabled", domain.c_str());
        state.disabled = false;
        if (probe.test2 && probe.test2->empty() && !state.warned_127_0_0_2) {
            msg_warn("dnsblog: DNSBL domain %s does not list the test address 127.0.0.2", domain.c_str());
            state.warned_127_0_0_2 = true;
        }
    } // else: no answer; the state stays as it was

    if (state.pending) {
        state.pending = false;
        auto deferred = std::move(state.deferred);
        state.deferred.clear();
        for (auto& fn : deferred)
            fn();
    }
}

void ListHealth::report_refusal(const std::string& domain, const std::string& detail) {
    if (interval_ <= 0) return;
    auto it = domains_.find(domain);
    if (it == domains_.end()) return;
    disable(it->second, domain, "query refused (" + detail + ")");
}

} // namespace psm::dnsblog
