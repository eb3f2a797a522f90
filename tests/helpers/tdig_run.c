/* tdig_run.c - `vantage-probe --run` with evtdig linked in for certain:
 * the engine refers to vt_tdig_start weakly, which does not pull tdig.o
 * out of the probe library by itself; this program refers to it. */
#include "probe/measure/measure.h"
#include "probe/measure/run.h"

int main(int argc, char **argv)
{
	int (*volatile start)(struct vt_measure_ctx *, const char *,
			      vt_measure_done_cb, void *) = vt_tdig_start;

	(void)start;
	return vt_probe_run_main(argc, argv);
}
