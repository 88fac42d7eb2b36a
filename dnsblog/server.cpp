// DnsblogDaemon and its client connections: reading attribute lists,
// telling the two request forms apart by the first attribute, writing
// replies, backpressure, idle timeout and draining (server.hpp).
#include "server.hpp"

#include "psm/global/dnsblog_protocol.hpp"
#include "psm/util/deadline.hpp"
#include "psm/util/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace psm::dnsblog {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kStockService = "dnsblog socket";
constexpr std::size_t kMaxPendingRequests = 10000; // per connection, then reading pauses
constexpr std::size_t kMaxOutput = 1 << 20;        // bytes of unsent replies, then reading pauses

} // namespace

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
public:
    ClientConnection(DnsblogDaemon& daemon, Connection connection, std::uint64_t id)
        : daemon_(daemon), alive_(daemon.alive_), conn_(std::move(connection)),
          socket_(conn_.take_socket(daemon.host_.io())), id_(id), idle_(daemon.host_.io()) {}

    ~ClientConnection() = default;

    void start() {
        if (!socket_.is_open()) return close();
        arm_idle();
        read();
    }

    // Master went away: finish what is pending, accept nothing new.
    void drain() {
        draining_ = true;
        maybe_close();
    }

private:
    Engine& engine() { return daemon_.engine(); }

    void arm_idle() {
        idle_.arm(engine().settings().idle_timeout, [this] {
            if (pending_ > 0 || closed_) return;
            // A request that never completed is reported as stock reports a
            // read timeout; an idle persistent connection just closes.
            if (decoder_.started() || requests_ == 0) {
                decoder_.finish(true);
                msg_warn("%s", decoder_.message(kStockService).c_str());
            }
            close();
        });
    }

    bool paused() const { return pending_ >= kMaxPendingRequests || out_.size() + writing_.size() >= kMaxOutput; }

    void read() {
        if (reading_ || closed_ || eof_ || stop_reading_ || draining_ || paused()) return;
        reading_ = true;
        socket_.async_read_some(asio::buffer(buf_),
                                [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                    self->reading_ = false;
                                    self->on_read(ec, n);
                                });
    }

    void on_read(const boost::system::error_code& ec, std::size_t n) {
        if (closed_) return;
        if (ec) {
            if (ec == asio::error::eof) {
                eof_ = true;
                // EOF inside a list, or before the first request: stock's warning.
                if (decoder_.started() || requests_ == 0) {
                    decoder_.finish();
                    msg_warn("%s", decoder_.message(kStockService).c_str());
                }
                return maybe_close();
            }
            return close();
        }
        std::string_view input(buf_.data(), n);
        while (!input.empty() && !closed_ && !stop_reading_) {
            input.remove_prefix(decoder_.feed(input));
            if (decoder_.status() == AttrDecoder::Status::complete) {
                handle(decoder_.take());
            } else if (decoder_.status() == AttrDecoder::Status::error) {
                return protocol_error();
            }
        }
        arm_idle();
        read();
    }

    // A list that cannot be decoded: the stream is out of step.
    void protocol_error() {
        msg_warn("%s", decoder_.message(kStockService).c_str());
        stop_reading_ = true;
        if (weighted_) send(Engine::error_reply("", "malformed attribute list"));
        maybe_close();
    }

    void handle(AttrList list) {
        ++requests_;
        const bool weighted =
            !list.empty() && list.front().kind == Attr::Kind::text && list.front().name == kRequestAttr;
        if (!weighted) {
            // The stock form: one request per connection, then close.
            stop_reading_ = true;
            ++pending_;
            bool ok = engine().stock_request(
                list,
                [weak = weak_from_this()](std::string reply) {
                    if (auto self = weak.lock()) self->replied(std::move(reply));
                },
                weak_from_this());
            if (!ok) {
                --pending_;
                maybe_close();
            }
            return;
        }
        weighted_ = true;
        ++pending_;
        if (!is_score_request(list)) {
            msg_warn("dnsblog: unknown request: %s", list.front().value.c_str());
            return replied(Engine::error_reply(request_label(list), "unknown request: " + list.front().value));
        }
        engine().score_request(list, [weak = weak_from_this()](std::string reply) {
            if (auto self = weak.lock()) self->replied(std::move(reply));
        });
    }

    void replied(std::string reply) {
        --pending_;
        send(std::move(reply));
        arm_idle();
    }

    // One encoded reply.
    void send(std::string reply) {
        if (closed_) return;
        if (out_.empty())
            out_ = std::move(reply);
        else
            out_ += reply;
        flush();
    }

    void flush() {
        if (writing_active_ || out_.empty() || closed_) return;
        writing_active_ = true;
        writing_.swap(out_);
        asio::async_write(socket_, asio::buffer(writing_),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                              self->writing_active_ = false;
                              self->writing_.clear();
                              if (ec) return self->close();
                              self->flush();
                              self->maybe_close();
                              self->read();
                          });
    }

    // Closes once nothing is due any more, when the peer is done, the
    // stock request is answered, or the daemon drains.
    void maybe_close() {
        if (closed_ || pending_ > 0 || writing_active_ || !out_.empty()) return;
        if (eof_ || stop_reading_ || draining_) close();
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        idle_.cancel();
        boost::system::error_code ignored;
        socket_.close(ignored);
        conn_.slot.release();
        // The daemon holds the last reference: drop it outside this call.
        asio::post(daemon_.host_.io(), [daemon = &daemon_, alive = alive_, id = id_] {
            if (*alive) daemon->forget(id);
        });
    }

    DnsblogDaemon& daemon_;
    std::shared_ptr<bool> alive_; // the daemon's
    Connection conn_;             // its slot
    Connection::Socket socket_;
    std::uint64_t id_;
    Deadline idle_;
    AttrDecoder decoder_;
    std::array<char, 4096> buf_{};
    std::string out_;     // encoded replies not yet written
    std::string writing_; // the buffer being written
    std::size_t pending_ = 0;
    std::uint64_t requests_ = 0;
    bool reading_ = false;
    bool writing_active_ = false;
    bool eof_ = false;
    bool stop_reading_ = false;
    bool weighted_ = false;
    bool draining_ = false;
    bool closed_ = false;
};

DnsblogDaemon::DnsblogDaemon(DaemonHost& host) : DnsblogDaemon(host, read_settings(host.config())) {}

DnsblogDaemon::DnsblogDaemon(DaemonHost& host, Settings settings)
    : host_(host), engine_(host.io(), std::move(settings)) {}

DnsblogDaemon::~DnsblogDaemon() {
    *alive_ = false;
}

void DnsblogDaemon::post_jail() {
    engine_.start();
}

void DnsblogDaemon::accept(Connection connection) {
    const std::uint64_t id = next_id_++;
    auto client = std::make_shared<ClientConnection>(*this, std::move(connection), id);
    connections_.emplace(id, client);
    client->start();
    if (draining_) client->drain();
}

bool DnsblogDaemon::drain() {
    draining_ = true;
    // Copy: connections are forgotten (later) as they close.
    std::vector<std::shared_ptr<ClientConnection>> live;
    for (auto& [id, c] : connections_)
        live.push_back(c);
    for (auto& c : live)
        c->drain();
    return true;
}

DaemonSpec dnsblog_spec() {
    DaemonSpec spec;
    spec.kind = DaemonSpec::Kind::event;
    spec.process_limit = DaemonSpec::Limit::zero;
    spec.unlimited_use = true;
    return spec;
}

} // namespace psm::dnsblog
