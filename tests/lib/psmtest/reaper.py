"""Watchdog that cleans up after a test process that died without doing it.

`python3 -m psmtest.reaper FD RUN_DIR` detaches (double fork, so it is no
child of the test process and survives a process-tree kill), then blocks
reading pipe FD whose write end only the test process holds. EOF means the
test process is gone, however it died (SIGKILL, ctest timeout): the reaper
then SIGKILLs the process groups recorded in RUN_DIR/pgids (checking that
each leader is still the process that was started) and removes RUN_DIR
(unless it holds a `keep` file). Started once per test process by
`procs.Background`; it is needed because Postfix's master clears the
parent-death signal when it changes credentials.
"""

import os
import sys


def main():
    fd = int(sys.argv[1])
    run_dir = sys.argv[2]
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(devnull, std)
    while True:
        try:
            if not os.read(fd, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    if os.path.isdir(run_dir):
        from psmtest import env
        env.kill_recorded_groups(run_dir)
        env.remove_run_dir(run_dir)


if __name__ == "__main__":
    main()
