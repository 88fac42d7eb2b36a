// The weighted dnsbl_score request (proto/dnsblog-protocol.md): every site
// of the request's postscreen_dnsbl_sites looked up in parallel, scored as
// stock postscreen scores dnsblog replies (psm::DnsblScorer, in arrival
// order), answered when all sites are in or at the deadline, whichever
// comes first; failed sites are reported with their reason.
#include "engine.hpp"

#include "psm/global/dnsblog_protocol.hpp"
#include "psm/util/inet_addr.hpp"
#include "psm/util/log.hpp"

#include <cstdint>

namespace psm::dnsblog {

struct Engine::ScoreJob {
    ScoreJob(std::shared_ptr<const DnsblSites> s, DnsblScorer::Options options)
        : sites(std::move(s)), scorer(*sites, options) {}

    std::uint64_t serial = 0;
    Reply reply;
    std::shared_ptr<const DnsblSites> sites; // the scorer refers to it
    DnsblScorer scorer;
    ScoreReply out;
    std::vector<bool> done; // per site
    std::size_t outstanding = 0;
    int min_ttl = 0;
    int max_ttl = 0;
    int deadline_ms = 0;
};

namespace {

void log_listed(const std::string& address, const std::string& domain, const LookupResult& r) {
    for (const auto& a : r.addresses)
        if (!is_refusal_code(a))
            msg_info("addr %s listed by domain %s as %s", address.c_str(), domain.c_str(),
                     InetAddr::v4(a).to_string().c_str());
}

} // namespace

void Engine::score_request(const AttrList& request, Reply reply) {
    std::string why;
    auto req = decode_request(request, &why);
    if (!req) {
        msg_warn("dnsblog: bad dnsbl_score request: %s", why.c_str());
        return send(std::move(reply), error_reply(request_label(request), why));
    }
    auto address = InetAddr::parse(req->client_address);
    if (!address) {
        why = "bad client address: " + req->client_address;
        msg_warn("dnsblog: bad dnsbl_score request: %s", why.c_str());
        return send(std::move(reply), error_reply(req->label, why));
    }
    auto sites = sites_for(req->sites.value_or(settings_.sites), &why);
    if (!sites) {
        msg_warn("dnsblog: bad dnsbl_score request: %s", why.c_str());
        return send(std::move(reply), error_reply(req->label, why));
    }
    if (sites->domains().size() > kMaxSites) {
        why = "more than " + std::to_string(kMaxSites) + " DNSBL domains";
        msg_warn("dnsblog: bad dnsbl_score request: %s", why.c_str());
        return send(std::move(reply), error_reply(req->label, why));
    }

    DnsblScorer::Options options;
    options.ignore_127_255_255 = true;
    auto job = std::make_shared<ScoreJob>(sites, options);
    job->min_ttl = req->min_ttl.value_or(settings_.min_ttl);
    job->max_ttl = req->max_ttl.value_or(settings_.max_ttl);
    job->deadline_ms = req->deadline_ms.value_or(static_cast<int>(settings_.deadline.count()));
    job->out.label = req->label;
    job->out.client_address = req->client_address;
    for (const auto& d : sites->domains()) {
        SiteResult s;
        s.domain = d.domain;
        s.status = SiteStatus::failed;
        s.reason = "timeout";
        job->out.sites.push_back(std::move(s));
    }
    job->done.assign(job->out.sites.size(), false);
    job->outstanding = job->out.sites.size();
    job->reply = std::move(reply);

    if (!lookups_.can_accept(job->outstanding)) {
        if (overload_warning_.allow())
            msg_warn("dnsblog: lookup queue full: replying \"overload\" for client %s (%llu more since the last "
                     "warning)",
                     req->client_address.c_str(), static_cast<unsigned long long>(overload_warning_.suppressed()));
        ScoreReply r;
        r.label = req->label;
        r.status = ReplyStatus::overload;
        r.reason = "dnsblog lookup queue full";
        r.client_address = req->client_address;
        return send(std::move(job->reply), r);
    }

    job->serial = next_job_++;
    jobs_.emplace(job->serial, job);
    if (job->outstanding == 0) return deadline(job->serial);
    deadlines_.schedule(TimerHeap::Clock::now() + std::chrono::milliseconds(job->deadline_ms), job->serial);

    std::weak_ptr<ScoreJob> weak = job;
    for (std::size_t i = 0; i < job->out.sites.size(); ++i) {
        const std::string& domain = job->out.sites[i].domain;
        lookups_.lookup(
            domain, *address,
            [this, alive = alive_, weak, i](const LookupResult& r) {
                auto job = weak.lock();
                if (!*alive || !job || job->done[i]) return;
                job->done[i] = true;
                SiteResult& site = job->out.sites[i];
                const int before = job->scorer.total();
                switch (r.status) {
                case LookupResult::Status::listed:
                    log_listed(job->out.client_address, site.domain, r);
                    site.status = SiteStatus::listed;
                    site.addresses = r.addresses_text();
                    site.ttl = r.ttl;
                    site.reason.clear();
                    job->scorer.add_reply(site.domain, site.addresses, r.ttl);
                    break;
                case LookupResult::Status::not_listed:
                    site.status = SiteStatus::not_listed;
                    site.ttl = r.ttl;
                    site.reason.clear();
                    job->scorer.add_reply(site.domain, "", r.ttl);
                    break;
                case LookupResult::Status::failed:
                case LookupResult::Status::disabled:
                case LookupResult::Status::overload:
                    if (r.status == LookupResult::Status::failed)
                        msg_warn("dnsblog_query: lookup error for DNS query %s: %s", r.query.c_str(), r.why.c_str());
                    site.status =
                        r.status == LookupResult::Status::disabled ? SiteStatus::disabled : SiteStatus::failed;
                    site.addresses = r.addresses_text();
                    site.ttl = -1;
                    site.reason = r.reason;
                    // As stock postscreen counts a dnsblog lookup-error reply.
                    job->scorer.add_reply(site.domain, "", -1);
                    break;
                }
                // The score wraps as a C int (see DnsblScorer); so does this difference.
                site.weight = static_cast<int>(static_cast<std::uint32_t>(job->scorer.total()) -
                                               static_cast<std::uint32_t>(before));
                if (--job->outstanding == 0) deadline(job->serial);
            },
            job);
    }
}

// All sites are in, or the deadline passed: reply with what is there.
void Engine::deadline(std::uint64_t serial) {
    auto it = jobs_.find(serial);
    if (it == jobs_.end()) return;
    std::shared_ptr<ScoreJob> job = std::move(it->second);
    jobs_.erase(it);
    if (job->outstanding > 0) {
        std::string missing;
        for (std::size_t i = 0; i < job->done.size(); ++i)
            if (!job->done[i]) missing += (missing.empty() ? "" : ", ") + job->out.sites[i].domain;
        if (deadline_warning_.allow())
            msg_warn("dnsblog: no answer within %d ms for client %s from %s -- reporting a partial score "
                     "(%llu more since the last warning)",
                     job->deadline_ms, job->out.client_address.c_str(), missing.c_str(),
                     static_cast<unsigned long long>(deadline_warning_.suppressed()));
    }
    job->out.score = job->scorer.total();
    job->out.ttl = job->scorer.ttl(job->min_ttl, job->max_ttl);
    job->out.dnsbl_name = job->scorer.reported_domain();
    send(std::move(job->reply), job->out);
}

} // namespace psm::dnsblog
