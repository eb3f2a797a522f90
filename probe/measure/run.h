/* run.h - `vantage-probe --run '<command line>'`: run one measurement and
 * print its RESULT line, for people and for tests. */
#ifndef VT_PROBE_RUN_H
#define VT_PROBE_RUN_H

/* Entry point for the --run mode; argv is the whole command line of
 * vantage-probe.  Returns the process exit status. */
int vt_probe_run_main(int argc, char **argv);

#endif
