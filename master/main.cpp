// master: psmaster's supervisor (stock master(8)'s command line and
// master.cf semantics); see master_main.hpp.
#include "master_main.hpp"

int main(int argc, char** argv) {
    return psm::master::master_main(argc, argv);
}
