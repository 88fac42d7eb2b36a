// EngineSettings::from_config: the SMTP engine's view of main.cf, read once
// at start-up as stock 3.7's psc_smtpd_pre_jail_init()/psc_smtpd_init() and
// postscreen.c's parameter tables do.
#include "smtp_engine.hpp"

#include "engine_text.hpp"
#include "lookup_maps.hpp"
#include "string_match_list.hpp"

#include "psm/global/dict.hpp"
#include "psm/global/main_cf.hpp"
#include "psm/util/error.hpp"
#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <algorithm>

namespace psm::postscreen {

namespace {

// "drop", "enforce", "ignore" or the legacy "continue" (any case, as
// stock's name_code()).
Action action_from_config(const Config& config, const char* parameter) {
    const std::string value = config.get_str(parameter);
    if (iequals(value, "drop")) return Action::drop;
    if (iequals(value, "enforce")) return Action::enforce;
    if (iequals(value, "ignore") || iequals(value, "continue")) return Action::ignore;
    throw ConfigError(std::string("bad ") + parameter + " value: " + value);
}

// postscreen_tls_security_level overrides postscreen_use_tls and
// postscreen_enforce_tls when set.
void tls_from_config(const Config& config, EngineSettings& s) {
    s.use_tls = config.get_bool("postscreen_use_tls");
    s.enforce_tls = config.get_bool("postscreen_enforce_tls");
    const std::string level = config.get_str("postscreen_tls_security_level");
    if (!level.empty()) {
        if (iequals(level, "none")) {
            s.use_tls = s.enforce_tls = false;
        } else if (iequals(level, "may")) {
            s.use_tls = true;
            s.enforce_tls = false;
        } else if (iequals(level, "encrypt")) {
            s.use_tls = s.enforce_tls = true;
        } else if (iequals(level, "secure") || iequals(level, "verify") || iequals(level, "fingerprint")) {
            msg_warn("postscreen_tls_security_level: unsupported TLS level \"%s\", using \"encrypt\"", level.c_str());
            s.use_tls = s.enforce_tls = true;
        } else {
            throw ConfigError("Invalid TLS level \"" + level + "\"");
        }
    }
    s.use_tls = s.use_tls || s.enforce_tls;
}

} // namespace

EngineSettings EngineSettings::from_config(const Config& config) {
    EngineSettings s;
    s.myhostname = config.get_str("myhostname");
    s.greeting = "220 " + config.get_str("smtpd_banner");
    s.timeout_reply = "421 4.4.2 " + s.myhostname + " Error: timeout exceeded";
    s.generic_421 = "421 " + s.myhostname + " Service unavailable - try again later";

    s.pipelining_action = action_from_config(config, "postscreen_pipelining_action");
    s.non_smtp_action = action_from_config(config, "postscreen_non_smtp_command_action");
    s.bare_newline_action = action_from_config(config, "postscreen_bare_newline_action");
    s.pipelining_ttl = config.get_time("postscreen_pipelining_ttl");
    s.non_smtp_ttl = config.get_time("postscreen_non_smtp_command_ttl");
    s.bare_newline_ttl = config.get_time("postscreen_bare_newline_ttl");
    s.min_ttl = std::min({config.get_time("postscreen_greet_ttl"), config.get_time("postscreen_dnsbl_min_ttl"),
                          s.pipelining_ttl, s.non_smtp_ttl, s.bare_newline_ttl});

    s.command_count_limit = static_cast<int>(config.get_int("postscreen_command_count_limit"));
    s.command_time_limit_normal = config.get_time("postscreen_command_time_limit");
    s.command_time_limit_stress = config.get_time("postscreen_command_time_limit", {{"stress", "yes"}});
    s.line_length_limit = static_cast<std::size_t>(config.get_int("line_length_limit"));

    s.helo_required = config.get_bool("postscreen_helo_required");
    s.vrfy_command_disabled = config.get_bool("postscreen_disable_vrfy_command");
    s.vrfy_keyword_disabled = config.get_bool("disable_vrfy_command");
    s.message_size_limit = config.get_int("message_size_limit");
    s.smtputf8 = config.get_bool("smtputf8_enable");
    tls_from_config(config, s);

    DictOpenOptions tables;
    tables.allow_surrogate = true;
    tables.utf8 = s.smtputf8;
    s.ehlo_discard_mask = ehlo_mask(config.get_str("postscreen_discard_ehlo_keywords"));
    if (std::string maps = config.get_str("postscreen_discard_ehlo_keyword_address_maps"); !maps.empty()) {
        DictOpenOptions exact = tables; // stock opens these without case folding
        exact.fold_case = false;
        s.ehlo_discard_maps = std::make_shared<LookupMaps>("postscreen_discard_ehlo_keyword_address_maps", maps, exact);
    }
    if (std::string filter = config.get_str("postscreen_command_filter"); !filter.empty())
        s.command_filter = std::shared_ptr<Dict>(dict_open(filter, tables));
    if (std::string forbidden = config.get_str("postscreen_forbidden_commands"); !forbidden.empty())
        s.forbidden_commands = std::make_shared<StringMatchList>("postscreen_forbidden_commands", forbidden, tables);

    s.address_form_value = config.get_str("info_log_address_format");
    s.address_form = iequals(s.address_form_value, "external")   ? AddressForm::external
                     : iequals(s.address_form_value, "internal") ? AddressForm::internal
                                                                 : AddressForm::invalid;
    return s;
}

} // namespace psm::postscreen
