// Version string compiled in from the CMake project version.
#include "psm/global/version.hpp"

namespace psm {

const char* psmaster_version() { return PSM_VERSION; }

} // namespace psm
