// DnsblLookups: cache, shared flights, query slots and the waiting queue,
// answer classification (dnsbl_lookups.hpp).
#include "dnsbl_lookups.hpp"

#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace psm::dnsblog {

namespace {

constexpr int kMaxCnameQueries = 10; // as Postfix's dns_lookup

std::string join(const std::vector<std::array<std::uint8_t, 4>>& addresses, bool skip_refusals) {
    std::string out;
    for (const auto& a : addresses) {
        if (skip_refusals && is_refusal_code(a)) continue;
        if (!out.empty()) out += ' ';
        out += InetAddr::v4(a).text().view();
    }
    return out;
}

} // namespace

std::string try_again_text(const std::string& query) {
    return "Host or domain name not found. Name service error for name=" + query + " type=A: Host not found, try again";
}

std::string no_recovery_text(const std::string& query) {
    return "Host or domain name not found. Name service error for name=" + query + " type=A: Non-recoverable error";
}

std::string malformed_text(const std::string& query) {
    return "Name service error for name=" + query + " type=A: Malformed or unexpected name server reply";
}

std::string invalid_name_text(const std::string& query) {
    return "Name service error for " + query + ": invalid host or domain name";
}

std::string LookupResult::listing_text() const {
    return join(addresses, true);
}

std::string LookupResult::addresses_text() const {
    return join(addresses, false);
}

DnsblLookups::DnsblLookups(boost::asio::io_context& io, DnsClient& dns, ListHealth* health, LookupOptions options)
    : io_(io), dns_(dns), health_(health), options_(options), cache_(options.cache_size) {
    if (options_.concurrency == 0) options_.concurrency = 1;
}

DnsblLookups::~DnsblLookups() {
    *alive_ = false;
}

void DnsblLookups::post(Callback callback, LookupResult result) {
    boost::asio::post(io_, [alive = alive_, callback = std::move(callback), result = std::move(result)] {
        if (*alive) callback(result);
    });
}

bool DnsblLookups::can_accept(std::size_t n) const {
    const std::size_t free_slots = active_ < options_.concurrency ? options_.concurrency - active_ : 0;
    const std::size_t free_queue = queue_.size() < options_.queue_limit ? options_.queue_limit - queue_.size() : 0;
    return n <= free_slots + free_queue;
}

void DnsblLookups::lookup(const std::string& domain, const InetAddr& address, Callback callback,
                          std::weak_ptr<void> owner) {
    // A default (empty) owner means "always wanted".
    const bool owned = owner.lock() != nullptr;
    Waiter waiter{std::move(callback), std::move(owner), owned};
    if (health_) health_->note_used(domain);
    LookupResult result;
    result.query = address.dnsbl_query(domain);
    if (health_ && health_->disabled(domain)) {
        result.status = LookupResult::Status::disabled;
        result.reason = "disabled";
        return post(std::move(waiter.callback), std::move(result));
    }
    if (!valid_query_name(result.query)) {
        result.status = LookupResult::Status::failed;
        result.reason = "error";
        result.why = invalid_name_text(result.query);
        return post(std::move(waiter.callback), std::move(result));
    }
    std::string key = lowercase(result.query);
    if (auto hit = cache_.find(key)) {
        result.status = hit->addresses.empty() ? LookupResult::Status::not_listed : LookupResult::Status::listed;
        result.addresses = std::move(hit->addresses);
        result.ttl = hit->ttl;
        result.cached = true;
        return post(std::move(waiter.callback), std::move(result));
    }
    if (auto it = flights_.find(key); it != flights_.end()) {
        it->second.waiters.push_back(std::move(waiter));
        return;
    }
    const bool slot_free = active_ < options_.concurrency;
    if (!slot_free && queue_.size() >= options_.queue_limit) {
        ++overloads_;
        if (overload_warning_.allow())
            msg_warn("dnsblog: lookup queue full (dnsblog_queue_limit = %zu, %zu DNS queries in flight): "
                     "reporting overload for %s (%llu more since the last warning)",
                     options_.queue_limit, active_, result.query.c_str(),
                     static_cast<unsigned long long>(overload_warning_.suppressed()));
        result.status = LookupResult::Status::overload;
        result.reason = "overload";
        return post(std::move(waiter.callback), std::move(result));
    }
    FlightEntry& flight = *flights_.try_emplace(std::move(key)).first;
    flight.second.domain = domain;
    flight.second.name = std::move(result.query);
    flight.second.waiters.push_back(std::move(waiter));
    if (slot_free) {
        start(flight);
    } else {
        queue_.push_back(flight.first);
        if (queue_warning_.allow())
            msg_warn("dnsblog: %zu DNS queries in flight (dnsblog_query_concurrency): lookups are queued "
                     "(%zu waiting)",
                     active_, queue_.size());
    }
}

void DnsblLookups::start(FlightEntry& flight) {
    ++active_;
    ++dns_queries_;
    resolve(flight, flight.second.name, 0);
}

void DnsblLookups::resolve(FlightEntry& entry, const std::string& name, int hops) {
    dns_.query(name, kTypeA, [this, alive = alive_, flight = &entry, hops](DnsResult&& r) {
        if (!*alive) return;
        // The name this query asked: the first, or the last CNAME's target.
        const std::string& name = hops == 0 ? flight->second.name : flight->second.cname_target;
        LookupResult result;
        DnsAnswer& a = r.answer;
        auto fail = [&](const char* reason, std::string why) {
            result.status = LookupResult::Status::failed;
            result.reason = reason;
            result.why = std::move(why);
        };
        if (r.status == DnsResult::Status::timeout) {
            fail("timeout", try_again_text(name));
        } else if (a.rcode == kRcodeServFail) {
            fail("servfail", try_again_text(name));
        } else if (a.rcode == kRcodeRefused || a.rcode == kRcodeNotImp) {
            fail("refused", try_again_text(name));
        } else if (a.rcode == kRcodeNxDomain) {
            result.status = LookupResult::Status::not_listed;
            result.ttl = a.soa_ttl;
        } else if (a.rcode != kRcodeNoError) {
            fail("error", no_recovery_text(name));
        } else if (a.malformed) {
            fail("error", malformed_text(name));
        } else if (!a.a.empty()) {
            result.status = LookupResult::Status::listed;
            result.addresses = std::move(a.a);
            result.ttl = a.ttl;
            if (std::all_of(result.addresses.begin(), result.addresses.end(), is_refusal_code)) {
                fail("blocked", "DNSBL domain refused the query (reply " + result.addresses_text() + ")");
            }
        } else if (!a.cname_target.empty() && hops + 1 < kMaxCnameQueries) {
            flight->second.cname_target = std::move(a.cname_target);
            return resolve(*flight, flight->second.cname_target, hops + 1);
        } else if (a.has_answers) {
            result.status = LookupResult::Status::not_listed; // stock: records, but none usable: no TTL
        } else {
            result.status = LookupResult::Status::not_listed; // NODATA
            result.ttl = a.soa_ttl;
        }
        // The flight is done asking: its name goes with the result.
        result.query = std::move(flight->second.name);
        complete(*flight, std::move(result));
    });
}

void DnsblLookups::complete(FlightEntry& flight, LookupResult&& result) {
    --active_;
    const std::string& domain = flight.second.domain;
    if (result.status == LookupResult::Status::listed || result.status == LookupResult::Status::not_listed)
        cache_.store(flight.first, result.addresses, result.ttl);
    if (result.reason == "blocked" && health_)
        health_->report_refusal(domain, "reply " + result.addresses_text() + " for " + result.query);
    if (health_ && health_->pending(domain)) {
        health_->defer(domain, [this, alive = alive_, key = flight.first, result = std::move(result)] {
            if (*alive) deliver(key, result);
        });
    } else {
        // This erases the flight.
        deliver(flights_.find(flight.first), result);
    }
    // Start waiting lookups; drop those nobody waits for any more.
    while (active_ < options_.concurrency && !queue_.empty()) {
        std::string next = std::move(queue_.front());
        queue_.pop_front();
        auto f = flights_.find(next);
        if (f == flights_.end()) continue;
        bool wanted = false;
        for (const auto& w : f->second.waiters)
            wanted = wanted || w.alive();
        if (!wanted) {
            flights_.erase(f);
            continue;
        }
        start(*f);
    }
}

void DnsblLookups::deliver(const std::string& key, const LookupResult& result) {
    deliver(flights_.find(key), result);
}

void DnsblLookups::deliver(Flights::iterator it, const LookupResult& result) {
    if (it == flights_.end()) return;
    Flight flight = std::move(it->second);
    flights_.erase(it);
    const LookupResult* out = &result;
    LookupResult disabled;
    if (health_ && health_->disabled(flight.domain) && result.status != LookupResult::Status::disabled) {
        disabled.status = LookupResult::Status::disabled;
        disabled.query = result.query;
        disabled.reason = "disabled";
        out = &disabled;
    }
    for (auto& w : flight.waiters)
        if (w.alive()) w.callback(*out);
}

} // namespace psm::dnsblog
