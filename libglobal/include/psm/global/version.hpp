// The suite's version, as logged by master ("daemon started -- version ...")
// and reported by psconf's mail_version.
#pragma once

namespace psm {

// e.g. "0.1.0"; set from the CMake project version.
const char* psmaster_version();

} // namespace psm
