// One DNSBL lookup = one (domain, client address) pair: the result cache,
// sharing of identical lookups in flight, the bounded concurrency of DNS
// queries with a bounded waiting queue behind it (overload is reported,
// never skipped), the health check's verdicts, CNAME chains, and the
// classification of the answer with stock dnsblog's resolver error texts.
#pragma once

#include "dns_client.hpp"
#include "list_health.hpp"
#include "result_cache.hpp"

#include "psm/util/inet_addr.hpp"
#include "psm/util/rate_limit.hpp"

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/container/small_vector.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace psm::dnsblog {

struct LookupResult {
    enum class Status { listed, not_listed, failed, disabled, overload };
    Status status = Status::failed;
    std::string query;                                  // the DNS query name
    std::vector<std::array<std::uint8_t, 4>> addresses; // the A records as answered
    int ttl = -1;                                       // stock's reply TTL (-1 unknown)
    // failed: timeout, servfail, refused, error, blocked; disabled:
    // disabled; overload: overload.
    std::string reason;
    // For failures, the resolver's text as stock dnsblog logs it in
    // "lookup error for DNS query Q: TEXT".
    std::string why;
    bool cached = false;

    // The addresses as stock's rbl_addr, without refusal codes (127.255.255.x).
    std::string listing_text() const;
    // All addresses, space-separated.
    std::string addresses_text() const;
};

struct LookupOptions {
    std::size_t cache_size = 100000;
    std::size_t concurrency = 2000;  // DNS queries in flight
    std::size_t queue_limit = 50000; // lookups waiting for a query slot
};

class DnsblLookups {
public:
    using Callback = std::function<void(const LookupResult&)>;

    // health may be null (no health check).
    DnsblLookups(boost::asio::io_context& io, DnsClient& dns, ListHealth* health, LookupOptions options);
    ~DnsblLookups();
    DnsblLookups(const DnsblLookups&) = delete;
    DnsblLookups& operator=(const DnsblLookups&) = delete;

    // Looks `address` up in `domain`. The callback runs later on the
    // io_context (never inside this call) unless `owner` was given and has
    // expired by then: a lookup nobody waits for any more is dropped from
    // the waiting queue.
    void lookup(const std::string& domain, const InetAddr& address, Callback callback, std::weak_ptr<void> owner = {});

    // True when n more lookups can be accepted without overload.
    bool can_accept(std::size_t n) const;

    std::size_t active() const { return active_; }
    std::size_t waiting() const { return queue_.size(); }
    const ResultCache& cache() const { return cache_; }
    std::uint64_t dns_queries() const { return dns_queries_; }
    std::uint64_t overloads() const { return overloads_; }

private:
    struct Waiter {
        Callback callback;
        std::weak_ptr<void> owner;
        bool owned = false;
        bool alive() const { return !owned || !owner.expired(); }
    };
    struct Flight {
        std::string domain;
        std::string name;         // the query name as first asked (the key is its lower case)
        std::string cname_target; // the name asked now, after a CNAME (empty: name)
        boost::container::small_vector<Waiter, 1> waiters;
    };
    // Keyed by query name (lower case). A started flight's entry stays in
    // place until its own result is delivered (entries of an unordered_map
    // never move), so the DNS callback refers to the entry itself.
    using Flights = std::unordered_map<std::string, Flight>;
    using FlightEntry = Flights::value_type;

    void start(FlightEntry& flight);
    void resolve(FlightEntry& flight, const std::string& name, int hops);
    void complete(FlightEntry& flight, LookupResult&& result);
    void deliver(const std::string& key, const LookupResult& result);
    void deliver(Flights::iterator it, const LookupResult& result);
    void post(Callback callback, LookupResult result);

    boost::asio::io_context& io_;
    DnsClient& dns_;
    ListHealth* health_;
    LookupOptions options_;
    ResultCache cache_;
    Flights flights_;
    std::deque<std::string> queue_; // flights waiting for a query slot
    std::size_t active_ = 0;
    std::uint64_t dns_queries_ = 0;
    std::uint64_t overloads_ = 0;
    RateLimit queue_warning_{std::chrono::seconds(60)};
    RateLimit overload_warning_{std::chrono::seconds(10)};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Stock's "why" texts (Postfix dns_lookup + glibc h_errno).
std::string try_again_text(const std::string& query);   // timeout, SERVFAIL, REFUSED
std::string no_recovery_text(const std::string& query); // FORMERR and other codes
std::string malformed_text(const std::string& query);
std::string invalid_name_text(const std::string& query);

} // namespace psm::dnsblog
