// DnsblClient: shared per-address lookups and the pipelined connection to
// our dnsblog (see dnsbl_client.hpp).
#include "dnsbl_client.hpp"

#include "psm/global/attr.hpp"
#include "psm/global/dnsblog_protocol.hpp"
#include "psm/util/log.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <utility>

namespace psm::postscreen {

namespace asio = boost::asio;

struct DnsblClient::Entry {
    std::string address;
    std::string label; // non-empty while a reply is expected
    bool done = false;
    bool notify_posted = false;
    Result result;
    std::vector<Waiter*> waiters;
    TimerQueue::Entry timeout;
    DnsblClient* client = nullptr;
    // The request's deadline is postscreen_dnsbl_timeout: dnsblog's partial
    // reply then stands for stock's "no reply within the timeout".
    bool timeout_deadline = false;
    // Every session left before the request was written (a zombie dropped
    // at once): it is not sent at all.
    bool abandoned = false;
    std::chrono::steady_clock::time_point sent;
};

namespace {

// Bytes handed to one write: requests that wait beyond it stay separate, so
// that the ones whose sessions have all left meanwhile can be dropped, and
// no buffer grows with a backlog.
constexpr std::size_t kWriteChunk = 64 * 1024;

} // namespace

// One persistent connection to dnsblog: requests are written in order as
// they come (the ones nobody waits for any more are skipped), replies are
// read continuously and dispatched by label.
class DnsblClient::Connection : public std::enable_shared_from_this<DnsblClient::Connection> {
public:
    Connection(DnsblClient& owner) : owner_(owner), socket_(owner.io_) {}

    // Non-blocking connect (a UNIX-domain socket either connects at once or
    // fails). Returns 0 or an errno value.
    int open(const std::string& path) {
        sockaddr_un sun{};
        if (path.size() >= sizeof(sun.sun_path)) return ENAMETOOLONG;
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return errno;
        sun.sun_family = AF_UNIX;
        std::memcpy(sun.sun_path, path.data(), path.size());
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) < 0) {
            int err = errno;
            ::close(fd);
            return err;
        }
        boost::system::error_code ec;
        socket_.assign(asio::local::stream_protocol(), fd, ec);
        if (ec) {
            ::close(fd);
            return ec.value();
        }
        read();
        return 0;
    }

    bool broken() const { return broken_; }

    void send(const std::shared_ptr<Entry>& entry, std::string request) {
        unsent_.emplace_back(entry, std::move(request));
        if (!writing_) write();
    }

    void close() {
        broken_ = true;
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

private:
    void write() {
        in_flight_.clear();
        while (!unsent_.empty() && in_flight_.size() < kWriteChunk) {
            auto [weak, bytes] = std::move(unsent_.front());
            unsent_.pop_front();
            std::shared_ptr<Entry> entry = weak.lock();
            if (!entry || entry->done) continue;
            if (entry->abandoned) {
                owner_.forget(entry);
                continue;
            }
            in_flight_ += bytes;
        }
        if (in_flight_.empty()) return;
        writing_ = true;
        asio::async_write(socket_, asio::buffer(in_flight_),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                              self->writing_ = false;
                              self->in_flight_.clear();
                              if (self->broken_) return;
                              if (ec) {
                                  msg_warn("psc_dnsbl_request: error sending to %s service: %s",
                                           self->owner_.settings_.dnsblog_service.c_str(), ec.message().c_str());
                                  return self->lost();
                              }
                              if (!self->unsent_.empty()) self->write();
                          });
    }

    void read() {
        socket_.async_read_some(
            asio::buffer(buf_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                if (self->broken_) return;
                if (ec) {
                    // dnsblog closing an idle connection (it exits on stop or
                    // reload) is normal: stock, with one connection per
                    // request, has nothing to report then.
                    if (ec == asio::error::eof && !self->reader_.started() && self->owner_.by_label_.empty())
                        return self->lost();
                    if (ec == asio::error::eof) self->reader_.finish();
                    if (self->reader_.status() == AttrDecoder::Status::error)
                        msg_warn("%s", self->reader_.message(self->owner_.settings_.dnsblog_service).c_str());
                    else if (ec != asio::error::eof || !self->owner_.by_label_.empty())
                        msg_warn("read from %s service: %s", self->owner_.settings_.dnsblog_service.c_str(),
                                 ec == asio::error::eof ? "unexpected end of input" : ec.message().c_str());
                    return self->lost();
                }
                // The replies are read in place (Attr0Reader): no string
                // per attribute of the 30 or so of a three-list reply.
                self->reader_.append(std::string_view(self->buf_.data(), n));
                // Bounded: each complete list takes its bytes from the buffer.
                for (;;) {
                    if (self->reader_.status() == AttrDecoder::Status::error) {
                        msg_warn("%s", self->reader_.message(self->owner_.settings_.dnsblog_service).c_str());
                        return self->lost();
                    }
                    if (self->reader_.status() != AttrDecoder::Status::complete) break;
                    if (!self->dispatch(self->reader_.items())) return self->lost();
                    if (self->broken_) return;
                    self->reader_.next();
                }
                self->read();
            });
    }

    // One complete reply list. false: the peer does not speak the protocol.
    bool dispatch(std::span<const AttrView> list) {
        std::string why;
        std::optional<dnsblog::ScoreReply> reply = dnsblog::decode_reply(list, &why);
        if (!reply) {
            msg_warn("malformed reply from %s service: %s", owner_.settings_.dnsblog_service.c_str(), why.c_str());
            return false;
        }
        Result result;
        if (reply->status == dnsblog::ReplyStatus::ok) {
            result.answered = true;
            result.score = reply->score;
            result.ttl = reply->ttl;
            result.dnsbl_name = std::move(reply->dnsbl_name);
        } else {
            msg_warn("%s service: %s reply for %s: %s", owner_.settings_.dnsblog_service.c_str(),
                     std::string(dnsblog::to_string(reply->status)).c_str(), reply->client_address.c_str(),
                     reply->reason.c_str());
        }
        std::vector<std::string> unanswered; // sites dnsblog has no answer for
        for (const dnsblog::SiteResult& site : reply->sites)
            if (site.status == dnsblog::SiteStatus::failed && site.reason == "timeout")
                unanswered.push_back(site.domain);
        owner_.on_reply(reply->label, std::move(result), reply->client_address, unanswered);
        return true;
    }

    void lost() {
        if (broken_) return;
        close();
        owner_.on_connection_lost(*this);
    }

    DnsblClient& owner_;
    asio::local::stream_protocol::socket socket_;
    std::deque<std::pair<std::weak_ptr<Entry>, std::string>> unsent_;
    std::string in_flight_;
    bool writing_ = false;
    bool broken_ = false;
    Attr0Reader reader_;
    std::array<char, 4096> buf_{};
};

// ---------------------------------------------------------------- Waiter

DnsblClient::Waiter::~Waiter() {
    if (entry_ && client_) client_->leave(*this);
}

// ---------------------------------------------------------------- DnsblClient

DnsblClient::DnsblClient(asio::io_context& io, TimerQueue& timers, const CoreSettings& settings)
    : io_(io), timers_(timers), settings_(settings) {}

DnsblClient::~DnsblClient() {
    if (conn_) conn_->close();
    for (auto& [addr, entry] : by_address_)
        for (Waiter* w : entry->waiters)
            w->entry_ = nullptr;
}

void DnsblClient::join(Waiter& waiter, const std::string& client_addr, std::chrono::milliseconds deadline,
                       Waiter::Callback callback, void* context) {
    if (waiter.entry_) leave(waiter);
    std::shared_ptr<Entry>& slot = by_address_[client_addr];
    std::shared_ptr<Entry> entry = slot;
    if (!entry) {
        entry = slot = std::make_shared<Entry>();
        entry->address = client_addr;
        entry->client = this;
        start_request(entry, deadline);
    }
    waiter.entry_ = entry.get();
    waiter.client_ = this;
    waiter.callback_ = callback;
    waiter.context_ = context;
    waiter.notified_ = false;
    entry->waiters.push_back(&waiter);
    if (entry->done) notify_later(entry);
}

bool DnsblClient::complete(const Waiter& waiter) const {
    return waiter.entry_ && waiter.entry_->done;
}

DnsblClient::Result DnsblClient::retrieve(Waiter& waiter) {
    Result result;
    if (waiter.entry_ && waiter.entry_->done) {
        result = waiter.entry_->result;
    } else {
        // Stock's partial score: what arrived so far (nothing, with one
        // request for all sites), and the minimum TTL.
        result.ttl = static_cast<int>(settings_.dnsbl_min_ttl);
    }
    leave(waiter);
    return result;
}

void DnsblClient::leave(Waiter& waiter) {
    Entry* entry = waiter.entry_;
    if (!entry) return;
    waiter.entry_ = nullptr;
    auto it = std::find(entry->waiters.begin(), entry->waiters.end(), &waiter);
    if (it != entry->waiters.end()) entry->waiters.erase(it);
    drop_if_unused(*entry);
}

void DnsblClient::drop_if_unused(Entry& entry) {
    if (!entry.waiters.empty()) return;
    // Forgotten once nobody waits; a reply still on its way is recognised by
    // its label and ignored, and its timeout is still reported.
    auto it = by_address_.find(entry.address);
    if (it != by_address_.end() && it->second.get() == &entry) {
        entry.abandoned = true; // before the erase, which may destroy it
        by_address_.erase(it);
    }
}

void DnsblClient::forget(const std::shared_ptr<Entry>& entry) {
    Result none;
    none.ttl = static_cast<int>(settings_.dnsbl_min_ttl);
    complete_entry(entry, none); // nobody waits: no notification
    ++requests_skipped_;
}

void DnsblClient::start_request(const std::shared_ptr<Entry>& entry, std::chrono::milliseconds deadline) {
    if (!conn_ || conn_->broken()) {
        auto conn = std::make_shared<Connection>(*this);
        if (int err = conn->open(settings_.dnsblog_service); err != 0) {
            msg_warn("psc_dnsbl_request: connect to %s service: %s", settings_.dnsblog_service.c_str(),
                     std::strerror(err));
            Result none;
            none.ttl = static_cast<int>(settings_.dnsbl_min_ttl);
            complete_entry(entry, none);
            return;
        }
        conn_ = std::move(conn);
    }
    dnsblog::ScoreRequest request;
    request.label = std::to_string(next_label_++);
    request.client_address = entry->address;
    request.sites = settings_.dnsbl_sites_text;
    request.min_ttl = static_cast<int>(std::min<long>(settings_.dnsbl_min_ttl, dnsblog::kMaxTtlValue));
    request.max_ttl = static_cast<int>(std::min<long>(settings_.dnsbl_max_ttl, dnsblog::kMaxTtlValue));
    // dnsblog answers by the deadline with what it has: stock's partial
    // score at the end of the greet wait. Stock abandons a lookup after
    // postscreen_dnsbl_timeout whatever the greet wait.
    long ms = std::min<long>(deadline.count(), settings_.dnsbl_timeout * 1000L);
    request.deadline_ms = static_cast<int>(std::clamp<long>(ms, 1, dnsblog::kMaxDeadlineMs));
    entry->timeout_deadline = ms == settings_.dnsbl_timeout * 1000L;
    entry->sent = std::chrono::steady_clock::now();
    entry->label = request.label;
    by_label_[entry->label] = entry;
    timers_.arm(entry->timeout, std::chrono::seconds(settings_.dnsbl_timeout), &DnsblClient::on_timeout, entry.get());
    std::string bytes;
    dnsblog::encode_request(bytes, request);
    conn_->send(entry, std::move(bytes));
    ++requests_sent_;
}

void DnsblClient::on_timeout(void* context) {
    Entry& entry = *static_cast<Entry*>(context);
    DnsblClient& self = *entry.client;
    auto it = self.by_label_.find(entry.label);
    if (it == self.by_label_.end()) return;
    std::shared_ptr<Entry> keep = it->second;
    // Stock logs this once per DNSBL domain, even after the session ended.
    for (const DnsblDomain& d : self.settings_.dnsbl_sites.domains())
        msg_warn("dnsblog reply timeout %lds for %s", self.settings_.dnsbl_timeout, d.domain.c_str());
    Result none;
    none.ttl = static_cast<int>(self.settings_.dnsbl_min_ttl);
    self.complete_entry(keep, none);
}

void DnsblClient::on_reply(const std::string& label, Result result, const std::string& client_addr,
                           const std::vector<std::string>& unanswered) {
    auto it = by_label_.find(label);
    if (it == by_label_.end()) return; // abandoned (timeout) or unknown: ignored, as stock
    std::shared_ptr<Entry> entry = it->second;
    if (entry->address != client_addr) return; // not ours: ignored, as stock
    // A partial reply at the postscreen_dnsbl_timeout deadline comes at the
    // moment our own timer would fire: warn as stock does for the domains
    // without an answer, whichever of the two comes first.
    const auto timeout = std::chrono::seconds(settings_.dnsbl_timeout);
    if (entry->timeout_deadline && std::chrono::steady_clock::now() - entry->sent >= timeout)
        for (const std::string& domain : unanswered)
            msg_warn("dnsblog reply timeout %lds for %s", settings_.dnsbl_timeout, domain.c_str());
    if (!result.answered) result.ttl = static_cast<int>(settings_.dnsbl_min_ttl);
    complete_entry(entry, std::move(result));
}

void DnsblClient::on_connection_lost(Connection& conn) {
    if (conn_.get() != &conn) return;
    std::shared_ptr<Connection> keep = std::move(conn_); // handlers still hold it
    // Every reply still expected came on this connection: complete them
    // without a score rather than leave sessions waiting.
    std::vector<std::shared_ptr<Entry>> orphans;
    orphans.reserve(by_label_.size());
    for (auto& [label, entry] : by_label_)
        orphans.push_back(entry);
    Result none;
    none.ttl = static_cast<int>(settings_.dnsbl_min_ttl);
    for (auto& entry : orphans)
        complete_entry(entry, none);
}

void DnsblClient::complete_entry(const std::shared_ptr<Entry>& entry, Result result) {
    if (entry->done) return;
    entry->done = true;
    entry->result = std::move(result);
    entry->timeout.cancel();
    if (!entry->label.empty()) {
        auto it = by_label_.find(entry->label);
        if (it != by_label_.end() && it->second == entry) by_label_.erase(it);
        entry->label.clear();
    }
    if (!entry->waiters.empty()) notify_later(entry);
}

void DnsblClient::notify_later(const std::shared_ptr<Entry>& entry) {
    if (entry->notify_posted) return;
    entry->notify_posted = true;
    asio::post(io_, [entry, alive = std::weak_ptr<int>(alive_)] {
        if (alive.expired()) return;
        entry->notify_posted = false;
        // A callback may make any waiter leave (or join): walk a snapshot
        // and skip those that left meanwhile.
        std::vector<Waiter*> snapshot = entry->waiters;
        for (Waiter* w : snapshot) {
            if (std::find(entry->waiters.begin(), entry->waiters.end(), w) == entry->waiters.end()) continue;
            if (w->notified_) continue;
            w->notified_ = true;
            w->callback_(w->context_);
            if (alive.expired()) return;
        }
    });
}

} // namespace psm::postscreen
