// tlsproxy(8): server-side STARTTLS for postscreen's SMTP engine. See
// proto/man/tlsproxy.8 and tlsproxy.hpp.
#include "tlsproxy.hpp"

#include "psm/util/signals.hpp"

int main(int argc, char** argv) {
    psm::ignore_sigpipe();
    psm::DaemonSpec spec;
    spec.kind = psm::DaemonSpec::Kind::event;
    spec.process_limit = psm::DaemonSpec::Limit::zero;
    return psm::daemon_main(argc, argv, spec,
                            [](psm::DaemonHost& host) { return std::make_unique<psm::tlsproxy::TlsProxy>(host); });
}
