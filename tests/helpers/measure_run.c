/* measure_run.c - the `vantage-probe --run` mode as a stand-alone program,
 * so the measurement tests do not depend on the rest of the probe. */
#include "probe/measure/run.h"

int main(int argc, char **argv)
{
	return vt_probe_run_main(argc, argv);
}
