/* vtime.h - clocks. */
#ifndef VT_VTIME_H
#define VT_VTIME_H

#include <stdint.h>

/* Wall clock, milliseconds since the epoch. */
int64_t vt_now_ms(void);
/* Monotonic clock, milliseconds since an arbitrary point. */
int64_t vt_mono_ms(void);
/* Monotonic clock, microseconds. */
int64_t vt_mono_us(void);

#endif
