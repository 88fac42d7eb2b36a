// The master process: command line, logging, detaching (-d, -w), lock
// files, the supervisor and its signals (SIGHUP reload, SIGCHLD reap,
// SIGTERM/SIGINT/SIGQUIT stop), start-up and reload log lines as stock's.
#pragma once

namespace psm::master {

// main() of the master executable; returns the exit status (or exits).
int master_main(int argc, char** argv);

} // namespace psm::master
