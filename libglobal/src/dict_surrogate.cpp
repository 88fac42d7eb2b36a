// Unusable-table stand-in for a table that failed to open (see
// dict_surrogate.hpp).
#include "dict_surrogate.hpp"

#include "psm/util/error.hpp"
#include "psm/util/log.hpp"

#include <utility>

namespace psm::dict_types {

namespace {

class SurrogateDict final : public Dict {
public:
    SurrogateDict(std::string_view type_and_name, std::string reason)
        : Dict(std::string(type_and_name)), reason_(std::move(reason)) {}

    DictLookup lookup(std::string_view) override {
        complain();
        DictLookup result;
        result.status = DictStatus::error;
        return result;
    }
    DictStatus update(std::string_view, std::string_view) override { return complain(); }
    DictStatus remove(std::string_view) override { return complain(); }
    DictStatus sequence(bool, std::string&, std::string&) override { return complain(); }

private:
    DictStatus complain() const {
        msg_warn("%s is unavailable. %s", name().c_str(), reason_.c_str());
        return DictStatus::error;
    }
    std::string reason_;
};

} // namespace

std::unique_ptr<Dict> make_surrogate(std::string_view type_and_name, std::string reason) {
    msg_error("%s", reason.c_str());
    return std::make_unique<SurrogateDict>(type_and_name, std::move(reason));
}

std::unique_ptr<Dict> open_failure(std::string_view type_and_name, const DictOpenOptions& options, std::string reason) {
    if (!options.allow_surrogate) throw ConfigError(reason);
    return make_surrogate(type_and_name, std::move(reason));
}

} // namespace psm::dict_types
