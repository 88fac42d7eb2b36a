// DnsClient: queries, UDP socket pool, answer matching, glibc-style retries
// and the TCP fallback (see dns_client.hpp).
#include "dns_client.hpp"

#include "timer_heap.hpp"

#include "psm/util/log.hpp"
#include "psm/util/secure_random.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace psm::dnsblog {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxDatagram = 65536;
constexpr int kReadsPerWakeup = 256;
constexpr std::size_t kMaxPendingPerSocket = 30000;

std::uint32_t random_u32() {
    return secure_random_u32();
}

struct UdpSocket {
    explicit UdpSocket(asio::io_context& io) : socket(io) {}
    udp::socket socket;
    std::unordered_map<std::uint16_t, std::uint64_t> pending; // query id -> query serial
    std::size_t uses = 0;
    bool retiring = false;
};
using UdpSocketPtr = std::shared_ptr<UdpSocket>;

// One TCP exchange after a truncated answer: connect, send the query with
// its length prefix, read one length-prefixed answer.
struct TcpExchange : std::enable_shared_from_this<TcpExchange> {
    using Done = std::function<void(bool ok, std::vector<std::uint8_t>& answer)>;
    TcpExchange(asio::io_context& io, std::vector<std::uint8_t> query, Done done)
        : socket(io), out(std::move(query)), done(std::move(done)) {
        std::uint16_t len = static_cast<std::uint16_t>(out.size());
        out.insert(out.begin(), {static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len & 0xff)});
    }
    void start(const tcp::endpoint& server) {
        socket.async_connect(server, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec) return self->finish(false);
            asio::async_write(self->socket, asio::buffer(self->out),
                              [self](const boost::system::error_code& e, std::size_t) {
                                  if (e) return self->finish(false);
                                  self->read_length();
                              });
        });
    }
    void read_length() {
        asio::async_read(
            socket, asio::buffer(length), [self = shared_from_this()](const boost::system::error_code& e, std::size_t) {
                if (e) return self->finish(false);
                self->in.resize(static_cast<std::size_t>((self->length[0] << 8) | self->length[1]));
                asio::async_read(self->socket, asio::buffer(self->in),
                                 [self](const boost::system::error_code& e2, std::size_t) { self->finish(!e2); });
            });
    }
    void finish(bool ok) {
        if (!done) return;
        Done d = std::move(done);
        done = nullptr;
        boost::system::error_code ignored;
        socket.close(ignored);
        d(ok, in);
    }
    void abort() {
        done = nullptr;
        boost::system::error_code ignored;
        socket.close(ignored);
    }
    tcp::socket socket;
    std::vector<std::uint8_t> out;
    std::array<std::uint8_t, 2> length{};
    std::vector<std::uint8_t> in;
    Done done;
};

} // namespace

struct DnsClient::Impl : std::enable_shared_from_this<DnsClient::Impl> {
    struct Slot { // the query's id on one socket of one address family
        UdpSocketPtr socket;
        std::uint16_t id = 0;
    };
    struct Query {
        std::uint64_t serial = 0;
        std::string name;
        std::uint16_t type = 0;
        std::vector<std::uint8_t> wire;
        std::array<Slot, 2> slots; // [0] IPv4, [1] IPv6
        std::size_t step = 0;      // position in attempts x servers
        std::size_t offset = 0;    // rotation
        std::uint32_t tried = 0;   // servers this query was sent to (bit per index)
        std::uint32_t tag = 0;     // identifies the current wait
        int error_rcode = -1;      // last SERVFAIL/REFUSED/NOTIMP seen
        std::shared_ptr<TcpExchange> tcp;
        Callback callback;
    };

    Impl(asio::io_context& io_, ResolverConfig config_, Options options_)
        : io(io_), config(std::move(config_)), options(options_),
          timers(io_, [this](std::uint64_t key, std::uint32_t tag) { expired(key, tag); }) {
        if (options.sockets == 0) options.sockets = 1;
        if (options.uses_per_socket == 0) options.uses_per_socket = 1;
        pools[0].resize(options.sockets);
        pools[1].resize(options.sockets);
    }

    ~Impl() {
        for (auto& [serial, q] : queries)
            if (q.tcp) q.tcp->abort();
        for (auto& pool : pools)
            for (auto& s : pool)
                if (s) close(*s);
        for (auto& s : retiring)
            close(*s);
    }

    static void close(UdpSocket& s) {
        boost::system::error_code ignored;
        s.socket.close(ignored);
    }

    asio::io_context& io;
    ResolverConfig config;
    Options options;
    TimerHeap timers;
    DnsClientStats stats;
    std::unordered_map<std::uint64_t, Query> queries;
    std::uint64_t next_serial = 1;
    std::array<std::vector<UdpSocketPtr>, 2> pools;
    std::array<std::size_t, 2> next_socket{0, 0};
    std::vector<UdpSocketPtr> retiring;
    std::array<bool, 2> open_failed_logged{false, false};
    std::array<std::uint8_t, kMaxDatagram> buffer{};

    // ---- sockets

    UdpSocketPtr open_socket(int family) {
        auto s = std::make_shared<UdpSocket>(io);
        boost::system::error_code ec;
        s->socket.open(family == 0 ? udp::v4() : udp::v6(), ec);
        if (!ec) s->socket.bind(udp::endpoint(family == 0 ? udp::v4() : udp::v6(), 0), ec); // random ephemeral port
        if (!ec) s->socket.non_blocking(true, ec);
        if (!ec) want_unreachable_reports(*s, family);
        if (ec) {
            if (!open_failed_logged[static_cast<std::size_t>(family)]) {
                msg_warn("dnsblog: cannot open %s UDP socket: %s", family == 0 ? "IPv4" : "IPv6", ec.message().c_str());
                open_failed_logged[static_cast<std::size_t>(family)] = true;
            }
            return nullptr;
        }
        ++stats.sockets;
        wait_readable(s);
        return s;
    }

    // An unconnected socket hears of ICMP errors (port unreachable: no
    // server there) only with IP_RECVERR; each report carries the datagram
    // that caused it, so the query can move on at once, as the resolver
    // does with its connected socket, instead of waiting for the timeout.
    static void want_unreachable_reports(UdpSocket& s, int family) {
        const int on = 1;
        if (family == 0)
            ::setsockopt(s.socket.native_handle(), IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
        else
            ::setsockopt(s.socket.native_handle(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
    }

    // A socket of the family where `id` (or another free id) can be used.
    UdpSocketPtr pick_socket(int family) {
        auto& pool = pools[static_cast<std::size_t>(family)];
        for (std::size_t tries = 0; tries < pool.size(); ++tries) {
            std::size_t i = next_socket[static_cast<std::size_t>(family)]++ % pool.size();
            auto& s = pool[i];
            if (s && s->uses >= options.uses_per_socket) retire(s);
            if (!s) s = open_socket(family);
            if (!s) return nullptr;
            if (s->pending.size() < kMaxPendingPerSocket) return s;
        }
        return nullptr;
    }

    void retire(UdpSocketPtr& s) {
        s->retiring = true;
        if (s->pending.empty()) {
            close(*s);
        } else {
            retiring.push_back(s);
        }
        s.reset();
    }

    void release_slot(Slot& slot) {
        if (!slot.socket) return;
        slot.socket->pending.erase(slot.id);
        if (slot.socket->retiring && slot.socket->pending.empty()) {
            close(*slot.socket);
            std::erase(retiring, slot.socket);
        }
        slot.socket.reset();
    }

    void wait_readable(const UdpSocketPtr& s) {
        s->socket.async_wait(udp::socket::wait_read, [weak = weak_from_this(), s](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (!self || ec || !s->socket.is_open()) return;
            self->drain(s);
            if (s->socket.is_open()) self->wait_readable(s);
        });
    }

    void drain(const UdpSocketPtr& s) {
        for (int n = 0; n < kReadsPerWakeup && s->socket.is_open(); ++n) {
            sockaddr_storage from{};
            socklen_t from_len = sizeof(from);
            ssize_t got = ::recvfrom(s->socket.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &from_len);
            if (got < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                drain_error_reports(s);
                continue;
            }
            ++stats.received;
            udp::endpoint sender;
            if (from_len <= sender.capacity()) {
                std::memcpy(sender.data(), &from, from_len);
                sender.resize(from_len);
            }
            received(s, sender, std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(got)));
        }
    }

    // Reads the socket's queued ICMP reports; a "destination unreachable"
    // for a server a query waits on fails that step now.
    void drain_error_reports(const UdpSocketPtr& s) {
        for (int n = 0; n < kReadsPerWakeup && s->socket.is_open(); ++n) {
            sockaddr_storage to{};
            std::array<std::uint8_t, 512> control{};
            iovec iov{buffer.data(), buffer.size()};
            msghdr msg{};
            msg.msg_name = &to;
            msg.msg_namelen = sizeof(to);
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.data();
            msg.msg_controllen = control.size();
            ssize_t got = ::recvmsg(s->socket.native_handle(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
            if (got < 0) {
                if (errno == EINTR) continue;
                return;
            }
            bool unreachable = false;
            for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
                    sock_extended_err report{};
                    std::memcpy(&report, CMSG_DATA(c), sizeof(report));
                    unreachable = report.ee_errno == ECONNREFUSED || report.ee_errno == EHOSTUNREACH ||
                                  report.ee_errno == ENETUNREACH;
                }
            }
            if (!unreachable || got < 2 || msg.msg_namelen > sizeof(to)) continue;
            udp::endpoint server;
            std::memcpy(server.data(), &to, msg.msg_namelen);
            server.resize(msg.msg_namelen);
            unreachable_server(s, server,
                               message_id(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(got))));
        }
    }

    void unreachable_server(const UdpSocketPtr& s, const udp::endpoint& server, std::uint16_t id) {
        auto pending = s->pending.find(id);
        if (pending == s->pending.end()) return;
        auto it = queries.find(pending->second);
        if (it == queries.end()) return;
        Query& q = it->second;
        if (q.tcp || q.step >= total_steps() || config.servers[server_index(q)] != server) return;
        ++stats.unreachable;
        ++q.step;
        send_step(q);
    }

    // ---- queries

    void start(std::string name, std::uint16_t type, Callback callback) {
        ++stats.queries;
        const std::uint64_t serial = next_serial++;
        Query& q = queries[serial];
        q.serial = serial;
        q.name = std::move(name);
        q.type = type;
        q.callback = std::move(callback);
        q.wire = build_query(0, q.name, type);
        if (config.rotate && config.servers.size() > 1) q.offset = random_u32() % config.servers.size();
        if (q.wire.empty()) { // ldns refused the name: no server can answer
            q.step = total_steps();
        }
        send_step(q);
    }

    std::size_t total_steps() const { return static_cast<std::size_t>(config.attempts) * config.servers.size(); }

    std::size_t server_index(const Query& q) const {
        return (q.step % config.servers.size() + q.offset) % config.servers.size();
    }

    // Sends the query to the server of the current step, or gives up.
    void send_step(Query& q) {
        const std::size_t n = config.servers.size();
        while (q.step < total_steps()) {
            const std::size_t index = server_index(q);
            const udp::endpoint& server = config.servers[index];
            const int family = server.address().is_v4() ? 0 : 1;
            Slot& slot = q.slots[static_cast<std::size_t>(family)];
            if (!slot.socket) {
                slot.socket = pick_socket(family);
                if (slot.socket) {
                    std::uint16_t id = 0;
                    for (int tries = 0; tries < 64; ++tries) {
                        id = static_cast<std::uint16_t>(random_u32());
                        if (!slot.socket->pending.contains(id)) break;
                    }
                    slot.id = id;
                    slot.socket->pending[id] = q.serial;
                    ++slot.socket->uses;
                }
            }
            ++q.tag;
            if (slot.socket) {
                q.wire[0] = static_cast<std::uint8_t>(slot.id >> 8);
                q.wire[1] = static_cast<std::uint8_t>(slot.id & 0xff);
                ssize_t sent = ::sendto(slot.socket->socket.native_handle(), q.wire.data(), q.wire.size(), MSG_DONTWAIT,
                                        server.data(), static_cast<socklen_t>(server.size()));
                // A failed send (full buffer, unreachable network) counts as a
                // lost datagram: the wait below moves on.
                if (sent >= 0) ++stats.sent;
                q.tried |= 1u << index;
            }
            timers.schedule(TimerHeap::Clock::now() + config.server_timeout(index % n), q.serial, q.tag);
            return;
        }
        finish(q.serial, nullptr);
    }

    void expired(std::uint64_t serial, std::uint32_t tag) {
        auto it = queries.find(serial);
        if (it == queries.end() || it->second.tag != tag) return;
        Query& q = it->second;
        ++stats.timeouts;
        if (q.tcp) {
            q.tcp->abort();
            q.tcp.reset();
        }
        ++q.step;
        send_step(q);
    }

    void received(const UdpSocketPtr& s, const udp::endpoint& sender, std::span<const std::uint8_t> message) {
        auto pending = s->pending.find(message_id(message));
        if (message.size() < 2 || pending == s->pending.end()) {
            ++stats.ignored;
            return;
        }
        auto it = queries.find(pending->second);
        if (it == queries.end()) {
            ++stats.ignored;
            return;
        }
        Query& q = it->second;
        std::size_t index = 0;
        while (index < config.servers.size() && config.servers[index] != sender)
            ++index;
        DnsAnswer answer;
        if (index == config.servers.size() || !(q.tried & (1u << index)) || q.tcp ||
            parse_answer(message, pending->first, q.name, q.type, answer) != AnswerCheck::ok) {
            ++stats.ignored;
            return;
        }
        if (answer.truncated) return start_tcp(q, index);
        answered(q, std::move(answer));
    }

    void answered(Query& q, DnsAnswer&& answer) {
        if (answer.rcode == kRcodeServFail || answer.rcode == kRcodeRefused || answer.rcode == kRcodeNotImp) {
            q.error_rcode = answer.rcode;
            ++q.step;
            return send_step(q);
        }
        finish(q.serial, &answer);
    }

    void start_tcp(Query& q, std::size_t index) {
        ++stats.tcp;
        ++q.tag;
        const udp::endpoint& server = config.servers[index];
        const int family = server.address().is_v4() ? 0 : 1;
        const std::uint16_t id = q.slots[static_cast<std::size_t>(family)].id;
        const std::uint64_t serial = q.serial;
        const std::uint32_t tag = q.tag;
        q.tcp = std::make_shared<TcpExchange>(
            io, q.wire, [weak = weak_from_this(), serial, tag, id](bool ok, std::vector<std::uint8_t>& bytes) {
                auto self = weak.lock();
                if (!self) return;
                auto it = self->queries.find(serial);
                if (it == self->queries.end() || it->second.tag != tag) return;
                Query& query = it->second;
                query.tcp.reset();
                DnsAnswer answer;
                if (ok && parse_answer(bytes, id, query.name, query.type, answer) == AnswerCheck::ok) {
                    answer.truncated = false;
                    return self->answered(query, std::move(answer));
                }
                ++query.step; // TCP failed: the next server
                self->send_step(query);
            });
        q.tcp->start(tcp::endpoint(server.address(), server.port()));
        timers.schedule(TimerHeap::Clock::now() + config.server_timeout(index), q.serial, q.tag);
    }

    void finish(std::uint64_t serial, DnsAnswer* answer) {
        auto it = queries.find(serial);
        if (it == queries.end()) return;
        Query& q = it->second;
        DnsResult result;
        if (answer) {
            result.status = DnsResult::Status::answer;
            result.answer = std::move(*answer);
        } else if (q.error_rcode >= 0) {
            result.status = DnsResult::Status::answer;
            result.answer.rcode = q.error_rcode;
        }
        for (auto& slot : q.slots)
            release_slot(slot);
        Callback callback = std::move(q.callback);
        queries.erase(it);
        callback(std::move(result));
    }
};

DnsClient::DnsClient(asio::io_context& io, ResolverConfig config) : DnsClient(io, std::move(config), Options()) {}

DnsClient::DnsClient(asio::io_context& io, ResolverConfig config, Options options)
    : impl_(std::make_shared<Impl>(io, std::move(config), options)) {
    if (impl_->config.servers.empty()) impl_->config = parse_resolv_conf("");
}

DnsClient::~DnsClient() = default;

void DnsClient::query(std::string name, std::uint16_t type, Callback callback) {
    // Never complete inside the call: callers may hold state they update after it.
    asio::post(impl_->io,
               [weak = std::weak_ptr<Impl>(impl_), name = std::move(name), type, cb = std::move(callback)]() mutable {
                   if (auto impl = weak.lock()) impl->start(std::move(name), type, std::move(cb));
               });
}

std::size_t DnsClient::in_flight() const {
    return impl_->queries.size();
}

const DnsClientStats& DnsClient::stats() const {
    return impl_->stats;
}

const ResolverConfig& DnsClient::config() const {
    return impl_->config;
}

} // namespace psm::dnsblog
