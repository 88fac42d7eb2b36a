// psm-echod: a minimal daemon on the psmaster skeleton, for tests under a
// stock master or stand-alone (-S, -L). Each input line is answered with the
// same line; "pid" answers the process id, "uid" the effective user id,
// "cwd" the working directory, "quit" closes the connection. A trailing
// argument "single" makes it a single server (one client at a time, like
// dnsblog) instead of an event server (like postscreen).
#include "psm/global/daemon.hpp"
#include "psm/util/log.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <climits>
#include <cstring>
#include <memory>
#include <string>

namespace {

namespace asio = boost::asio;

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(asio::io_context& io, psm::Connection conn)
        : conn_(std::move(conn)), socket_(conn_.take_socket(io)), in_(1024) {}

    void read() {
        asio::async_read_until(socket_, in_, '\n',
                               [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                   if (ec) return; // EOF, error or overlong line: the session ends
                                   std::string line(asio::buffers_begin(self->in_.data()),
                                                    asio::buffers_begin(self->in_.data()) + static_cast<long>(n));
                                   self->in_.consume(n);
                                   while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
                                       line.pop_back();
                                   self->answer(line);
                               });
    }

private:
    void answer(const std::string& line) {
        if (line == "quit") return;
        std::string reply = line;
        if (line == "pid") reply = std::to_string(::getpid());
        if (line == "uid") reply = std::to_string(::geteuid());
        if (line == "cwd") {
            char buf[PATH_MAX];
            reply = ::getcwd(buf, sizeof(buf)) ? buf : "?";
        }
        out_ = reply + "\n";
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              if (!ec) self->read();
                          });
    }

    psm::Connection conn_; // its slot
    psm::Connection::Socket socket_;
    asio::streambuf in_;
    std::string out_;
};

class Echo : public psm::Daemon {
public:
    explicit Echo(psm::DaemonHost& host) : host_(host) {}
    void post_jail() override { psm::msg_info("echo service %s ready", host_.service_name().c_str()); }
    void accept(psm::Connection connection) override {
        std::make_shared<Session>(host_.io(), std::move(connection))->read();
    }

private:
    psm::DaemonHost& host_;
};

} // namespace

int main(int argc, char** argv) {
    psm::DaemonSpec spec;
    spec.accepts_arguments = true;
    if (argc > 1 && std::strcmp(argv[argc - 1], "single") == 0) spec.kind = psm::DaemonSpec::Kind::single;
    return psm::daemon_main(argc, argv, spec, [](psm::DaemonHost& host) { return std::make_unique<Echo>(host); });
}
