// dnsblog's stub resolver on Boost.Asio: many queries in flight over a pool
// of unconnected UDP sockets with random source ports (each socket is
// replaced after a number of queries) and random query ids; answers are
// accepted only from a server the query was sent to, with its id and
// question. Retries follow glibc's res_send: per attempt every server in
// turn (rotation optional), glibc's per-server timeouts, SERVFAIL / REFUSED
// / NOTIMP move on to the next server; a truncated answer is asked again
// over TCP from the same server. Never blocks.
#pragma once

#include "dns_message.hpp"
#include "resolver_config.hpp"

#include <utility>

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace psm::dnsblog {

struct DnsResult {
    enum class Status {
        answer,  // an answer (rcode may be SERVFAIL/REFUSED/NOTIMP when every try ended so)
        timeout, // no usable answer from any server in any attempt
    };
    Status status = Status::timeout;
    DnsAnswer answer;
};

struct DnsClientStats {
    std::uint64_t queries = 0;  // query() calls
    std::uint64_t sent = 0;     // UDP datagrams sent
    std::uint64_t received = 0; // UDP datagrams received
    std::uint64_t ignored = 0;  // datagrams that answered nothing of ours (spoofed, late, garbage)
    std::uint64_t timeouts = 0; // per-server waits that expired
    std::uint64_t unreachable = 0; // per-server waits ended by an ICMP "unreachable" report
    std::uint64_t tcp = 0;      // TCP retries after truncation
    std::uint64_t sockets = 0;  // UDP sockets opened
};

class DnsClient {
public:
    using Callback = std::function<void(DnsResult&&)>;

    struct Options {
        std::size_t sockets = 8;             // UDP sockets per address family
        std::size_t uses_per_socket = 10000; // then the socket (and its port) is replaced
    };

    DnsClient(boost::asio::io_context& io, ResolverConfig config);
    DnsClient(boost::asio::io_context& io, ResolverConfig config, Options options);
    ~DnsClient(); // outstanding callbacks are dropped
    DnsClient(const DnsClient&) = delete;
    DnsClient& operator=(const DnsClient&) = delete;

    // Asks for `type` records of `name` (a valid_query_name()); the callback
    // runs later on the io_context, never inside query().
    void query(std::string name, std::uint16_t type, Callback callback);

    std::size_t in_flight() const;
    const DnsClientStats& stats() const;
    const ResolverConfig& config() const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

} // namespace psm::dnsblog
