// postscreen's side of the DNSBL lookups: one weighted request per client
// address to our dnsblog (psm/global/dnsblog_protocol.hpp), carrying
// postscreen's own postscreen_dnsbl_sites, min/max TTL and a deadline, on a
// persistent connection to private/<dnsblog_service_name> where requests are
// pipelined and matched to replies by label.
//
// As in stock (postscreen.md §7.4), concurrent sessions of one client IP
// share one pending score: the first session starts the request, later ones
// join it; every waiting session is notified (on the io_context, never
// inside request()) when the reply is in, also one that joins after that.
// The score is forgotten when the last session has retrieved it.
//
// Failures never leave a session waiting: dnsblog unreachable (warning
// "psc_dnsbl_request: connect to private/dnsblog service: %m"), a write
// error ("psc_dnsbl_request: error sending to private/dnsblog service: %m"),
// a lost connection, an error/overload reply, or no reply within
// postscreen_dnsbl_timeout ("dnsblog reply timeout %ds for %s", once per
// DNSBL domain, as stock) all complete the lookup without a score (0, TTL =
// postscreen_dnsbl_min_ttl), which is what stock's partial score amounts to.
#pragma once

#include "core_settings.hpp"
#include "timer_queue.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace psm::postscreen {

class DnsblClient {
public:
    struct Result {
        bool answered = false; // dnsblog replied (else score 0, ttl min_ttl)
        int score = 0;
        int ttl = 0;            // seconds, clamped to [min_ttl, max_ttl]
        std::string dnsbl_name; // the reported (real) DNSBL domain, "" if none
    };

    struct Entry; // one client address's shared lookup

    // A session's membership in a lookup. Keep it alive (and unmoved) while
    // joined; leave() or retrieve() before destroying it.
    class Waiter {
    public:
        using Callback = void (*)(void* context);
        Waiter() = default;
        ~Waiter();
        Waiter(const Waiter&) = delete;
        Waiter& operator=(const Waiter&) = delete;
        bool joined() const { return entry_ != nullptr; }

    private:
        friend class DnsblClient;
        Entry* entry_ = nullptr;
        DnsblClient* client_ = nullptr;
        Callback callback_ = nullptr;
        void* context_ = nullptr;
        bool notified_ = false;
    };

    DnsblClient(boost::asio::io_context& io, TimerQueue& timers, const CoreSettings& settings);
    ~DnsblClient();
    DnsblClient(const DnsblClient&) = delete;
    DnsblClient& operator=(const DnsblClient&) = delete;

    // Joins (or starts) the lookup for client_addr. deadline: how long the
    // first session can wait (its remaining greet wait); dnsblog answers
    // with what it has by then. callback(context) runs once, later, when
    // the result is in.
    void join(Waiter& waiter, const std::string& client_addr, std::chrono::milliseconds deadline,
              Waiter::Callback callback, void* context);

    // Whether the lookup this waiter joined has completed.
    bool complete(const Waiter& waiter) const;
    // Whether a reply is still expected (not complete and not abandoned).
    bool pending(const Waiter& waiter) const { return !complete(waiter); }

    // The result so far (score 0 if the reply is not in yet, as stock's
    // partial score), and leaves the lookup.
    Result retrieve(Waiter& waiter);
    // Leaves without looking at the result.
    void leave(Waiter& waiter);

    // Statistics for tests.
    std::size_t lookups() const { return by_address_.size(); }
    unsigned long requests_sent() const { return requests_sent_; }
    // Requests dropped unwritten because every session had left.
    unsigned long requests_skipped() const { return requests_skipped_; }

private:
    class Connection;
    friend class Connection;

    void start_request(const std::shared_ptr<Entry>& entry, std::chrono::milliseconds deadline);
    void on_reply(const std::string& label, Result result, const std::string& client_addr,
                  const std::vector<std::string>& unanswered);
    void on_connection_lost(Connection& conn);
    void complete_entry(const std::shared_ptr<Entry>& entry, Result result);
    void notify_later(const std::shared_ptr<Entry>& entry);
    void drop_if_unused(Entry& entry);
    void forget(const std::shared_ptr<Entry>& entry);
    static void on_timeout(void* context);

    boost::asio::io_context& io_;
    TimerQueue& timers_;
    const CoreSettings& settings_;
    std::unordered_map<std::string, std::shared_ptr<Entry>> by_address_;
    std::unordered_map<std::string, std::shared_ptr<Entry>> by_label_; // replies still expected
    std::shared_ptr<Connection> conn_;
    unsigned long next_label_ = 0;
    unsigned long requests_sent_ = 0;
    unsigned long requests_skipped_ = 0;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

} // namespace psm::postscreen
